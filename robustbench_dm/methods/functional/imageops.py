"""Per-image tone kernels with PIL ``ImageOps`` semantics, batched with per-sample parameters.

Histograms are computed per image and channel with one ``bincount`` over the whole batch, and the
resulting per-row lookup tables are applied with one row-wise gather.
"""

from __future__ import annotations

import torch


def _rows(images: torch.Tensor) -> torch.Tensor:
    """Flatten to (N*C) x HW int64 pixel values (the LUT gather index)."""
    n, c, h, w = images.shape
    return images.reshape(n * c, h * w).long()


def _apply_lut(images: torch.Tensor, lut: torch.Tensor, flat: torch.Tensor) -> torch.Tensor:
    """Map each row of ``flat`` through its own 256-entry row of ``lut``."""
    return lut.to(torch.uint8).gather(1, flat).view(images.shape)


def autocontrast_image(images: torch.Tensor) -> torch.Tensor:
    """``ImageOps.autocontrast(img)`` (cutoff 0) per image and channel: map [lo, hi] to [0, 255]
    with ``int(v * scale - lo * scale)`` in double precision; constant channels unchanged."""
    n, c, h, w = images.shape
    rows = images.reshape(n * c, h * w)
    lo = rows.amin(dim=1).double()
    hi = rows.amax(dim=1).double()
    scale = 255.0 / (hi - lo).clamp_min(1.0)
    offset = -lo * scale
    values = torch.arange(256, device=images.device, dtype=torch.float64)
    lut = (values.view(1, -1) * scale.view(-1, 1) + offset.view(-1, 1)).trunc().clamp_(0, 255)
    lut = torch.where((hi > lo).view(-1, 1), lut, values.view(1, -1))
    return _apply_lut(images, lut, _rows(images))


def equalize_image(images: torch.Tensor) -> torch.Tensor:
    """``ImageOps.equalize(img)`` per image and channel: ``step = (total - count of the last
    non-empty bin) // 255`` (as Pillow 13.0 computes it);
    ``lut[i] = (step // 2 + sum(hist[:i])) // step``; identity when ``step == 0``."""
    n, c, h, w = images.shape
    flat = _rows(images)
    offsets = torch.arange(n * c, device=images.device).view(-1, 1) * 256
    hist = torch.bincount((flat + offsets).view(-1), minlength=n * c * 256).view(n * c, 256)
    bins = torch.arange(256, device=images.device)
    last = ((hist > 0) * bins).amax(dim=1, keepdim=True)
    step = (h * w - hist.gather(1, last)) // 255
    before = hist.cumsum(dim=1) - hist
    lut = ((step // 2 + before) // step.clamp_min(1)).clamp_(0, 255)
    lut = torch.where(step > 0, lut, bins.view(1, -1))
    return _apply_lut(images, lut, flat)


def posterize_image(images: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
    """``ImageOps.posterize(img, bits)``: keep the ``bits`` (per sample, 1..8) high bits."""
    bits = bits.to(device=images.device, dtype=torch.int64).view(-1, 1, 1, 1)
    mask = (255 - ((1 << (8 - bits)) - 1)).to(torch.uint8)
    return images & mask


def solarize_image(images: torch.Tensor, thresholds: torch.Tensor) -> torch.Tensor:
    """``ImageOps.solarize(img, threshold)``: invert every value ``>= threshold`` (per sample)."""
    thresholds = thresholds.to(images.device).view(-1, 1, 1, 1)
    return torch.where(images >= thresholds, 255 - images, images)


__all__ = ["autocontrast_image", "equalize_image", "posterize_image", "solarize_image"]
