"""A small, fast CNN for 32 px 3-channel images (tests, benchmarks, the Fashion-MNIST demo)."""

from __future__ import annotations

from torch import nn

from robustbench_dm.models.registry import register_model


class SmallCNN(nn.Module):
    """Four conv3x3-BN-ReLU stages of 16, 32, 64, 128 channels with 2x2 max-pooling between
    them (32 -> 16 -> 8 -> 4 px), global average pooling and a linear classifier.

    About 0.1 M parameters and 5 M multiply-adds per 32 px image: channels stay few where the
    image is large, which keeps CPU training of Fashion-MNIST to minutes per epoch.
    """

    def __init__(self, num_classes: int = 10, widths: tuple[int, ...] = (16, 32, 64, 128)):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for i, width in enumerate(widths):
            if i:
                layers.append(nn.MaxPool2d(2))
            layers += [nn.Conv2d(c_in, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
                       nn.ReLU(inplace=True)]
            c_in = width
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x):
        return self.fc(self.features(x))


@register_model("small_cnn", "small fast CNN for 32 px inputs (0.1 M parameters)")
def small_cnn(num_classes: int) -> nn.Module:
    """Small fast CNN for 32 px inputs (0.1 M parameters)."""
    return SmallCNN(num_classes)
