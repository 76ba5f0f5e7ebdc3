"""gaussian_blur (HR extra corruption): skimage ``gaussian(x / 255, sigma=c)`` per channel."""

from __future__ import annotations

import torch

from corruptions.gaussian import gaussian_filter
from corruptions.presets import scale_length
from corruptions.registry import register_corruption

GAUSSIAN_BLUR = {
    "imagenet": (1, 2, 3, 4, 6),
    "tinyimagenet": (0.5, 0.75, 1, 1.25, 1.5),
    "cifar": (0.4, 0.6, 0.7, 0.8, 1),
}


@register_corruption("gaussian_blur")
def gaussian_blur(images: torch.Tensor, severity: int, preset: str,
                  generator: torch.Generator | None) -> torch.Tensor:
    """HR gaussian_blur: truncate 4, mode 'nearest', float32 (within the exact bar); truncating cast."""
    sigma = scale_length(GAUSSIAN_BLUR[preset][severity - 1], preset)
    x = gaussian_filter(images.to(torch.float32) / 255.0, sigma)
    return (x.clamp(0, 1) * 255).to(torch.uint8)
