"""AllConvNet as trained by AugMix (google-research/augmix ``models/cifar/allconv.py``).

Springenberg et al., arXiv:1412.6806, in AugMix's variant: every conv is followed by
BatchNorm and the sigmoid-approximated GELU ``x * sigmoid(1.702 x)``; the two 1x1 "NIN"
convs keep the reference's padding of 1 (6 -> 8 -> 10 px) and the 8x8 average pool with
stride 8 therefore pools only the top-left 8x8 of the 10x10 map. Assumes 32x32 input.
1,409,674 parameters with 10 classes; state-dict keys match the reference.
"""

from __future__ import annotations

import torch
from torch import nn

from robustbench_dm.models.init_weights import init_cifar_weights
from robustbench_dm.models.registry import register_model


class SigmoidGELU(nn.Module):
    """GELU approximated as ``x * sigmoid(1.702 x)`` (AugMix's AllConvNet activation)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(1.702 * x) * x


def _conv_bn_gelu(in_channels: int, out_channels: int, kernel_size: int,
                  padding: int) -> list[nn.Module]:
    return [nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding),
            nn.BatchNorm2d(out_channels), SigmoidGELU()]


class AllConvNet(nn.Module):
    """96-96-96 / 192-192-192 3x3 convs with max-pool + dropout 0.5 between, a 3x3 conv
    without padding, two 1x1 convs with padding 1, average pool 8, linear 192 -> classes."""

    def __init__(self, num_classes: int):
        super().__init__()
        w1, w2 = 96, 96 * 2
        layers: list[nn.Module] = []
        layers += _conv_bn_gelu(3, w1, 3, 1) + _conv_bn_gelu(w1, w1, 3, 1)
        layers += _conv_bn_gelu(w1, w1, 3, 1)
        layers += [nn.MaxPool2d(kernel_size=2, stride=2), nn.Dropout(p=0.5)]
        layers += _conv_bn_gelu(w1, w2, 3, 1) + _conv_bn_gelu(w2, w2, 3, 1)
        layers += _conv_bn_gelu(w2, w2, 3, 1)
        layers += [nn.MaxPool2d(kernel_size=2, stride=2), nn.Dropout(p=0.5)]
        layers += _conv_bn_gelu(w2, w2, 3, 0)
        layers += _conv_bn_gelu(w2, w2, 1, 1) + _conv_bn_gelu(w2, w2, 1, 1)
        layers += [nn.AvgPool2d(kernel_size=8)]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(w2, num_classes)
        init_cifar_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


@register_model("allconvnet")
def allconvnet(num_classes: int) -> nn.Module:
    """AllConvNet (AugMix's CIFAR variant, 1.41M params, 32 px)."""
    return AllConvNet(num_classes)
