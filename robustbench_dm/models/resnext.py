"""ResNeXt-29 for CIFAR as used by AugMix (``third_party/ResNeXt_DenseNet/models/resnext.py``,
from D-X-Y/ResNeXt-DenseNet; Xie et al., arXiv:1611.05431).

``resnext29_32x4d`` (cardinality 32, width 4) is the model the AugMix and Dynamic Mixup
papers name and RobustBench's Hendrycks2020AugMix_ResNeXt (4,775,754 parameters with 10
classes); ``resnext29_4x32d`` (cardinality 4, width 32) is the AugMix repository default
(6,807,882). 8x8 average pool: 32x32 input. State-dict keys match the reference.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from robustbench_dm.models.init_weights import init_cifar_weights
from robustbench_dm.models.registry import register_model


class ResNeXtBottleneck(nn.Module):
    """Type-C bottleneck: conv1x1 -> grouped conv3x3 -> conv1x1 (x4), post-activation."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, cardinality: int, base_width: int,
                 stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        dim = int(math.floor(planes * (base_width / 64.0))) * cardinality
        self.conv_reduce = nn.Conv2d(inplanes, dim, 1, stride=1, padding=0, bias=False)
        self.bn_reduce = nn.BatchNorm2d(dim)
        self.conv_conv = nn.Conv2d(dim, dim, 3, stride=stride, padding=1, groups=cardinality,
                                   bias=False)
        self.bn = nn.BatchNorm2d(dim)
        self.conv_expand = nn.Conv2d(dim, planes * 4, 1, stride=1, padding=0, bias=False)
        self.bn_expand = nn.BatchNorm2d(planes * 4)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn_reduce(self.conv_reduce(x)))
        out = F.relu(self.bn(self.conv_conv(out)))
        out = self.bn_expand(self.conv_expand(out))
        residual = x if self.downsample is None else self.downsample(x)
        return F.relu(residual + out)


class CifarResNeXt(nn.Module):
    """Stem conv3x3 (64) then three stages of (depth - 2) / 9 bottlenecks, widths
    64/128/256 (x4 out), strides 1, 2, 2; 8x8 average pool; linear."""

    def __init__(self, depth: int, cardinality: int, base_width: int, num_classes: int):
        super().__init__()
        if (depth - 2) % 9 != 0:
            raise ValueError(f"CifarResNeXt depth must be 9n + 2, got {depth}")
        blocks = (depth - 2) // 9
        self.cardinality = cardinality
        self.base_width = base_width
        self.conv_1_3x3 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn_1 = nn.BatchNorm2d(64)
        self.inplanes = 64
        self.stage_1 = self._stage(64, blocks, 1)
        self.stage_2 = self._stage(128, blocks, 2)
        self.stage_3 = self._stage(256, blocks, 2)
        self.classifier = nn.Linear(256 * ResNeXtBottleneck.expansion, num_classes)
        init_cifar_weights(self, kaiming_linear=True)

    def _stage(self, planes: int, blocks: int, stride: int) -> nn.Sequential:
        out_planes = planes * ResNeXtBottleneck.expansion
        downsample = None
        if stride != 1 or self.inplanes != out_planes:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, out_planes, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_planes))
        layers = [ResNeXtBottleneck(self.inplanes, planes, self.cardinality, self.base_width,
                                    stride, downsample)]
        self.inplanes = out_planes
        layers += [ResNeXtBottleneck(out_planes, planes, self.cardinality, self.base_width)
                   for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn_1(self.conv_1_3x3(x)))
        x = self.stage_3(self.stage_2(self.stage_1(x)))
        return self.classifier(F.avg_pool2d(x, 8).flatten(1))


@register_model("resnext29_32x4d")
def resnext29_32x4d(num_classes: int) -> nn.Module:
    """ResNeXt-29 32x4d (the papers' ResNeXt, 4.78M params, 32 px)."""
    return CifarResNeXt(29, 32, 4, num_classes)


@register_model("resnext29_4x32d")
def resnext29_4x32d(num_classes: int) -> nn.Module:
    """ResNeXt-29 4x32d (the AugMix repository default, 6.81M params, 32 px)."""
    return CifarResNeXt(29, 4, 32, num_classes)
