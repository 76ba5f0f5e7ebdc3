"""Wide ResNet (Zagoruyko & Komodakis) as used by AugMix
(``third_party/WideResNet_pytorch/wideresnet.py``, from xternalz/WideResNet-pytorch).

Pre-activation basic blocks, widths 16, 16k, 32k, 64k, final BN + ReLU, 8x8 average pool
(assumes 32x32 input). WRN-40-2 has 2,243,546 parameters with 10 classes. State-dict keys
match the reference (and RobustBench's ``Hendrycks2020AugMix_WRN``), so released weights load.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from robustbench_dm.models.init_weights import init_cifar_weights
from robustbench_dm.models.registry import register_model


class WideBasicBlock(nn.Module):
    """BN-ReLU-conv3x3-BN-ReLU-(dropout)-conv3x3 with identity or 1x1-conv shortcut; when
    the width changes the shortcut takes the pre-activated input, as in the reference."""

    def __init__(self, in_planes: int, out_planes: int, stride: int, drop_rate: float = 0.0):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.conv2 = nn.Conv2d(out_planes, out_planes, 3, stride=1, padding=1, bias=False)
        self.drop_rate = drop_rate
        self.equal_in_out = in_planes == out_planes
        self.convShortcut = None if self.equal_in_out else nn.Conv2d(
            in_planes, out_planes, 1, stride=stride, padding=0, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = F.relu(self.bn1(x))
        out = F.relu(self.bn2(self.conv1(act)))
        if self.drop_rate > 0:
            out = F.dropout(out, p=self.drop_rate, training=self.training)
        out = self.conv2(out)
        residual = x if self.convShortcut is None else self.convShortcut(act)
        return residual + out


class NetworkBlock(nn.Module):
    """A group of blocks held as ``.layer`` (the reference's state_dict keys)."""

    def __init__(self, layers: list[nn.Module]):
        super().__init__()
        self.layer = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


class WideResNet(nn.Module):
    """WRN-depth-widen: three groups of (depth - 4) / 6 blocks, strides 1, 2, 2."""

    def __init__(self, depth: int, num_classes: int, widen_factor: int = 1,
                 drop_rate: float = 0.0):
        super().__init__()
        if (depth - 4) % 6 != 0:
            raise ValueError(f"WideResNet depth must be 6n + 4, got {depth}")
        n = (depth - 4) // 6
        widths = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.conv1 = nn.Conv2d(3, widths[0], 3, stride=1, padding=1, bias=False)
        self.block1 = self._group(n, widths[0], widths[1], 1, drop_rate)
        self.block2 = self._group(n, widths[1], widths[2], 2, drop_rate)
        self.block3 = self._group(n, widths[2], widths[3], 2, drop_rate)
        self.bn1 = nn.BatchNorm2d(widths[3])
        self.fc = nn.Linear(widths[3], num_classes)
        init_cifar_weights(self)

    @staticmethod
    def _group(n: int, in_planes: int, out_planes: int, stride: int,
               drop_rate: float) -> NetworkBlock:
        return NetworkBlock([
            WideBasicBlock(in_planes if i == 0 else out_planes, out_planes,
                           stride if i == 0 else 1, drop_rate)
            for i in range(n)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block3(self.block2(self.block1(self.conv1(x))))
        out = F.avg_pool2d(F.relu(self.bn1(out)), 8)
        return self.fc(out.flatten(1))


@register_model("wrn40_2")
def wrn40_2(num_classes: int) -> nn.Module:
    """WRN-40-2, dropout 0 (AugMix's CIFAR default, 2.24M params, 32 px)."""
    return WideResNet(40, num_classes, widen_factor=2, drop_rate=0.0)
