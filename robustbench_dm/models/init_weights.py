"""The weight initialisation the AugMix CIFAR architectures share."""

from __future__ import annotations

import math

from torch import nn


def init_cifar_weights(model: nn.Module, *, kaiming_linear: bool = False) -> None:
    """Conv weights ~ N(0, 2 / fan_out) (He, fan-out), BatchNorm to (1, 0), Linear bias 0
    (and Linear weights He-normal where ``kaiming_linear``, as the ResNeXt reference does)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_out))
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            if kaiming_linear:
                nn.init.kaiming_normal_(m.weight)
            nn.init.zeros_(m.bias)
