"""Per-image tone kernels with PIL ``ImageOps`` semantics, batched with per-sample parameters.

Histograms are computed per image and channel with one ``bincount`` over the whole batch, and the
resulting per-row lookup tables are applied with one row-wise gather.
"""

from __future__ import annotations

import functools

import torch


def _rows(images: torch.Tensor) -> torch.Tensor:
    """Flatten to (N*C) x HW int64 pixel values (the LUT gather index)."""
    n, c, h, w = images.shape
    return images.reshape(n * c, h * w).long()


@functools.lru_cache(maxsize=32)
def _levels(device: torch.device, dtype: torch.dtype, rows: int = 0) -> torch.Tensor:
    """``0..255`` as a 1 x 256 row; with ``rows``, the row offsets ``256 * r`` (rows x 1)."""
    if rows:
        return torch.arange(rows, device=device).view(-1, 1) * 256
    return torch.arange(256, device=device, dtype=dtype).view(1, -1)


def _apply_lut(images: torch.Tensor, lut: torch.Tensor, flat: torch.Tensor) -> torch.Tensor:
    """Map each row of ``flat`` through its own 256-entry row of ``lut``."""
    return lut.to(torch.uint8).gather(1, flat).view(images.shape)


def autocontrast_image(images: torch.Tensor) -> torch.Tensor:
    """``ImageOps.autocontrast(img)`` (cutoff 0) per image and channel: map [lo, hi] to [0, 255]
    with ``int(v * scale - lo * scale)`` in double precision; constant channels unchanged."""
    n, c, h, w = images.shape
    lo, hi = torch.aminmax(images.reshape(n * c, h * w), dim=1)
    lo, hi = lo.double().unsqueeze(1), hi.double().unsqueeze(1)
    scale = (hi - lo).clamp_min_(1.0).reciprocal_().mul_(255.0)  # 255 / (hi - lo), as torch
    offset = -lo * scale
    values = _levels(images.device, torch.float64)
    lut = (values * scale + offset).trunc().clamp_(0, 255)
    lut = torch.where(hi > lo, lut, values)
    return _apply_lut(images, lut, _rows(images))


def equalize_image(images: torch.Tensor) -> torch.Tensor:
    """``ImageOps.equalize(img)`` per image and channel: ``step = (total - count of the last
    non-empty bin) // 255`` (as Pillow 13.0 computes it);
    ``lut[i] = (step // 2 + sum(hist[:i])) // step``; identity when ``step == 0``."""
    n, c, h, w = images.shape
    flat = _rows(images)
    offsets = _levels(images.device, torch.int64, n * c)
    hist = torch.bincount((flat + offsets).view(-1), minlength=n * c * 256).view(n * c, 256)
    bins = _levels(images.device, torch.int64)
    last = ((hist > 0) * bins).amax(dim=1, keepdim=True)
    step = torch.rsub(hist.gather(1, last), h * w).floor_divide_(255)
    before = hist.cumsum(dim=1) - hist
    lut = (before + step.floor_divide(2)).floor_divide_(step.clamp_min(1)).clamp_(0, 255)
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
    return images ^ (images >= thresholds).to(torch.uint8).neg_()  # 255 - v = v ^ 255


__all__ = ["autocontrast_image", "equalize_image", "posterize_image", "solarize_image"]
