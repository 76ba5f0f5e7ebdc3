"""DenseNet for CIFAR as used by AugMix (``third_party/ResNeXt_DenseNet/models/densenet.py``,
from D-X-Y/ResNeXt-DenseNet).

Two registered variants (see AUGMENTATIONS.md section 4 on the naming mismatch):
``densenet_bc_100_12`` is DenseNet-BC (k = 12, depth 100, bottleneck, compression 0.5), the
model the AugMix and Dynamic Mixup papers name (769,162 parameters with 10 classes);
``densenet40_12`` is the AugMix repository's default (depth 40, k = 12, no bottleneck,
no compression; 1,059,298 parameters). Both end in an 8x8 average pool: 32x32 input.
State-dict keys match the reference.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from robustbench_dm.models.init_weights import init_cifar_weights
from robustbench_dm.models.registry import register_model


class DenseBottleneck(nn.Module):
    """BN-ReLU-conv1x1 (4k) - BN-ReLU-conv3x3 (k), concatenated to the input."""

    def __init__(self, channels: int, growth_rate: int):
        super().__init__()
        inter = 4 * growth_rate
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv1 = nn.Conv2d(channels, inter, kernel_size=1, bias=False)
        self.bn2 = nn.BatchNorm2d(inter)
        self.conv2 = nn.Conv2d(inter, growth_rate, kernel_size=3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        return torch.cat((x, out), 1)


class DenseSingleLayer(nn.Module):
    """BN-ReLU-conv3x3 (k), concatenated to the input."""

    def __init__(self, channels: int, growth_rate: int):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv1 = nn.Conv2d(channels, growth_rate, kernel_size=3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((x, self.conv1(F.relu(self.bn1(x)))), 1)


class Transition(nn.Module):
    """BN-ReLU-conv1x1 then 2x2 average pool."""

    def __init__(self, channels: int, out_channels: int):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv1 = nn.Conv2d(channels, out_channels, kernel_size=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(self.conv1(F.relu(self.bn1(x))), 2)


class DenseNet(nn.Module):
    """Three dense blocks with transitions; ``reduction`` is the compression factor."""

    def __init__(self, growth_rate: int, depth: int, reduction: float, num_classes: int,
                 bottleneck: bool):
        super().__init__()
        blocks = (depth - 4) // 6 if bottleneck else (depth - 4) // 3
        channels = 2 * growth_rate
        self.conv1 = nn.Conv2d(3, channels, kernel_size=3, padding=1, bias=False)
        self.dense1 = self._dense(channels, growth_rate, blocks, bottleneck)
        channels += blocks * growth_rate
        out_channels = int(math.floor(channels * reduction))
        self.trans1 = Transition(channels, out_channels)
        channels = out_channels
        self.dense2 = self._dense(channels, growth_rate, blocks, bottleneck)
        channels += blocks * growth_rate
        out_channels = int(math.floor(channels * reduction))
        self.trans2 = Transition(channels, out_channels)
        channels = out_channels
        self.dense3 = self._dense(channels, growth_rate, blocks, bottleneck)
        channels += blocks * growth_rate
        self.bn1 = nn.BatchNorm2d(channels)
        self.fc = nn.Linear(channels, num_classes)
        init_cifar_weights(self)

    @staticmethod
    def _dense(channels: int, growth_rate: int, blocks: int, bottleneck: bool) -> nn.Sequential:
        layer = DenseBottleneck if bottleneck else DenseSingleLayer
        return nn.Sequential(*[layer(channels + i * growth_rate, growth_rate)
                               for i in range(blocks)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.trans1(self.dense1(self.conv1(x)))
        out = self.trans2(self.dense2(out))
        out = F.avg_pool2d(F.relu(self.bn1(self.dense3(out))), 8)
        return self.fc(out.flatten(1))


@register_model("densenet_bc_100_12")
def densenet_bc_100_12(num_classes: int) -> nn.Module:
    """DenseNet-BC k=12 d=100 (the papers' DenseNet, 0.77M params, 32 px)."""
    return DenseNet(12, 100, 0.5, num_classes, bottleneck=True)


@register_model("densenet40_12")
def densenet40_12(num_classes: int) -> nn.Module:
    """DenseNet-40 k=12, no bottleneck (the AugMix repository default, 1.06M params)."""
    return DenseNet(12, 40, 1.0, num_classes, bottleneck=False)
