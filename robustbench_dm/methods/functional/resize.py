"""Downscale-and-restore kernel (Dynamic Mixup's ``downscale`` operation, AUGMENTATIONS.md §5.3)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def downscale_image(images: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """Resize each image to ``(max(1, round(f H)), max(1, round(f W)))`` with bilinear,
    antialiased interpolation, then back to ``H x W`` bilinearly; rounded to uint8.

    Images sharing a target size are resized together (one call per distinct size)."""
    _, _, h, w = images.shape
    factors = factors.to(images.device).double()
    heights = (factors * h).round().clamp_min(1).long()
    widths = (factors * w).round().clamp_min(1).long()
    keys = heights * (w + 1) + widths
    out = torch.empty_like(images)
    for key in torch.unique(keys).tolist():
        idx = (keys == key).nonzero().squeeze(1)
        size = (key // (w + 1), key % (w + 1))
        small = F.interpolate(
            images[idx].float(), size=size, mode="bilinear", antialias=True, align_corners=False
        )
        back = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
        out[idx] = back.round_().clamp_(0, 255).to(torch.uint8)
    return out


__all__ = ["downscale_image"]
