"""Pixelate corruption: Pillow BOX downscale by the severity factor, then BOX upscale back.

Reproduces Pillow's ``Image.resize(..., BOX)`` bit for bit: the same per-output-pixel box
coefficients (``precompute_coeffs`` with support 0.5 scaled by the reduction factor), converted
to 22-bit fixed point, a horizontal pass rounded to uint8, then a vertical pass rounded to
uint8. Each pass sums the few taps of every output pixel in int32, as Pillow does. Checked
bit for bit against Pillow at every preset's size and on odd rectangular shapes.

Downscaling, the box taps of an output pixel are a run of consecutive source pixels of equal
weight. On the CPU each pass therefore runs along rows: the planes are transposed, the run's
rows gathered and added (whole contiguous rows, vectorised), then transposed back for the
vertical pass.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from corruptions.presets import spatial_scale
from corruptions.registry import register_corruption

PIXELATE = {
    "imagenet": (0.6, 0.5, 0.4, 0.3, 0.25),
    "tinyimagenet": (0.9, 0.8, 0.7, 0.6, 0.5),
    "cifar": (0.95, 0.9, 0.85, 0.75, 0.65),
}

_PRECISION_BITS = 32 - 8 - 2


@lru_cache(maxsize=64)
def box_coefficients(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pillow's BOX taps for each output pixel: (first source index, fixed-point weights).

    Returns ``start`` (out_size,) and ``weights`` (out_size x K) int64, K the widest support;
    weights past a pixel's support are 0 (and their taps clamped into the image).
    """
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = 0.5 * filterscale
    starts, rows = [], []
    for xx in range(out_size):
        center = (xx + 0.5) * scale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size)
        u = (np.arange(xmin, xmax) - center + 0.5) * (1.0 / filterscale)
        k = ((u > -0.5) & (u <= 0.5)).astype(np.float64)
        total = k.sum()
        if total != 0.0:
            k = k / total
        starts.append(xmin)
        rows.append(np.floor(0.5 + k * (1 << _PRECISION_BITS)).astype(np.int64))
    weights = np.zeros((out_size, max(len(r) for r in rows)), dtype=np.int64)
    for xx, r in enumerate(rows):
        weights[xx, : len(r)] = r
    return np.asarray(starts, dtype=np.int64), weights


def _resize_axis(x: torch.Tensor, out_size: int, axis: int) -> torch.Tensor:
    """One Pillow pass along ``axis`` (-1 or -2) of a tensor holding uint8 values.

    Integer arithmetic as Pillow's: 255 times the weights (summing to about 2^22) fits int32.
    Enlarging, every output pixel has one tap of weight 2^22 (reduction factor below 1), so the
    pass is a copy of the source pixels ``start`` and keeps the dtype; reducing returns int32.
    """
    n = x.shape[axis]
    starts, weights = box_coefficients(n, out_size)
    if out_size > n:
        return x.index_select(x.ndim + axis, torch.from_numpy(starts).to(x.device))
    x = x.to(torch.int32)
    shape = [1] * x.ndim
    shape[axis] = out_size
    acc = torch.full((), 1 << (_PRECISION_BITS - 1), dtype=torch.int32, device=x.device)
    for k in range(weights.shape[1]):
        index = torch.from_numpy(np.minimum(starts + k, n - 1)).to(x.device)
        w = torch.from_numpy(weights[:, k]).to(x.device, torch.int32).view(shape)
        acc = acc + x.index_select(x.ndim + axis, index) * w
    return (acc >> _PRECISION_BITS).clamp(0, 255)


def box_resize(images: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Resize uint8 N x C x H x W images like Pillow ``resize((width, height), Image.BOX)``."""
    x = images
    if width != x.shape[-1]:
        x = _resize_axis(x, width, -1)
    if height != x.shape[-2]:
        x = _resize_axis(x, height, -2)
    return x.to(torch.uint8)


@lru_cache(maxsize=64)
def _row_taps(in_size: int, out_size: int):
    """Per extra tap ``k`` of a downscale: (source row of every output row, 0/1 mask of the
    output rows whose run is that long), and the rounding: int32 fixed-point weights
    (1 x out x 1), or, where every run has 1, 2 or 4 taps (weights 2^22 / c exactly), the
    equivalent uint16 shifts ``log2(c)``."""
    starts, weights = box_coefficients(in_size, out_size)
    counts = (weights > 0).sum(1)
    extra = [(np.minimum(starts + k, in_size - 1), (counts > k).astype(np.uint8)[None, :, None])
             for k in range(1, int(counts.max()))]
    if set(counts.tolist()) <= {1, 2, 4}:
        return starts, extra, np.log2(counts).astype(np.uint16)[None, :, None]
    return starts, extra, weights[:, 0].astype(np.int32)[None, :, None]


def _box_down_rows(planes: np.ndarray, out_size: int) -> np.ndarray:
    """Pillow's BOX downscale of M x N x L uint8 planes along axis 1 to ``out_size`` rows."""
    starts, extra, rounding = _row_taps(planes.shape[1], out_size)
    shifts = rounding.dtype == np.uint16  # (S * 2^22 / 2^k + 2^21) >> 22 == (S + 2^k / 2) >> k
    acc = np.take(planes, starts, axis=1).astype(np.uint16 if shifts else np.int32)
    for rows, keep in extra:
        tap = np.take(planes, rows, axis=1)
        if not keep.all():
            tap *= keep
        acc += tap
    if shifts:
        acc += (1 << rounding) >> 1
        acc >>= rounding
    else:
        acc *= rounding
        acc += 1 << (_PRECISION_BITS - 1)
        acc >>= _PRECISION_BITS
    return acc.astype(np.uint8)


def _numpy_pixelate(images: torch.Tensor, small: tuple[int, int]) -> torch.Tensor:
    """BOX downscale to ``small`` (horizontal pass on the transposed planes, then the vertical
    one) and BOX upscale back as the copy it is: with a reduction factor below 1 each output
    pixel has one tap of weight 1, the source pixel ``start`` of :func:`box_coefficients`;
    columns first, then whole rows (CPU tensors)."""
    h, w = images.shape[-2:]
    planes = images.contiguous().reshape(-1, h, w).numpy()
    narrow = _box_down_rows(np.ascontiguousarray(planes.transpose(0, 2, 1)), small[1])
    down = _box_down_rows(np.ascontiguousarray(narrow.transpose(0, 2, 1)), small[0])
    rows, cols = box_coefficients(small[0], h)[0], box_coefficients(small[1], w)[0]
    out = np.take(np.take(down, cols, axis=2), rows, axis=1)
    return torch.from_numpy(out).reshape(images.shape)


@register_corruption("pixelate")
def pixelate(images: torch.Tensor, severity: int, preset: str,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """BOX-downscale to ``int(W c) x int(H c)`` and BOX-upscale back (deterministic, exact).

    On the CPU the passes run along rows (:func:`_numpy_pixelate`); on other devices
    :func:`box_resize` runs the same arithmetic as batched tensor passes.
    """
    c = PIXELATE[preset][severity - 1]
    scale = spatial_scale(preset)
    c = c if scale == 1.0 else c / scale  # blocks of 1/c preset pixels: the same blocks of the scene
    h, w = images.shape[-2:]
    small = (max(int(h * c), 1), max(int(w * c), 1))
    if images.device.type == "cpu":
        return _numpy_pixelate(images, small)
    return box_resize(box_resize(images, *small), h, w)
