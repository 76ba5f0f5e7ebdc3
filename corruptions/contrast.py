"""Contrast corruption: scale each channel around its spatial mean."""

from __future__ import annotations

import torch

from corruptions.color import to_uint8
from corruptions.registry import register_corruption

CONTRAST = {
    "imagenet": (0.4, 0.3, 0.2, 0.1, 0.05),
    "tinyimagenet": (0.4, 0.3, 0.2, 0.1, 0.05),
    "cifar": (0.75, 0.5, 0.4, 0.3, 0.15),
}


@register_corruption("contrast")
def contrast(images: torch.Tensor, severity: int, preset: str,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """``(x - m) * c + m`` with ``m`` the per-image, per-channel mean (deterministic).

    Float32 (the reference computes in float64): identical bytes on every stored reference output.
    """
    c = CONTRAST[preset][severity - 1]
    x = images.to(torch.float32) / 255.0
    means = x.mean(dim=(2, 3), keepdim=True)
    return to_uint8(((x - means) * c + means).clamp(0, 1) * 255)
