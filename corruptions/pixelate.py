"""Pixelate corruption: Pillow BOX downscale by the severity factor, then BOX upscale back.

Reproduces Pillow's ``Image.resize(..., BOX)`` bit for bit: the same per-output-pixel box
coefficients (``precompute_coeffs`` with support 0.5 scaled by the reduction factor), converted
to 22-bit fixed point, a horizontal pass rounded to uint8, then a vertical pass rounded to
uint8. Each pass sums the few taps of every output pixel in int32, as Pillow does.
Bit-exact at every preset's own (square) size; for other rectangular resizes Pillow 13
sometimes runs its vertical pass first (rule not determined) and a few pixels differ by 1.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from PIL import Image

from corruptions.registry import register_corruption

PIXELATE = {
    "imagenet": (0.6, 0.5, 0.4, 0.3, 0.25),
    "tinyimagenet": (0.9, 0.8, 0.7, 0.6, 0.5),
    "cifar": (0.95, 0.9, 0.85, 0.75, 0.65),
}

_PRECISION_BITS = 32 - 8 - 2
# On the CPU, images of at least this many pixels are pixelated by Pillow itself (faster there).
_PILLOW_MIN_PIXELS = 64 * 64


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


def _pillow_pixelate(images: torch.Tensor, small: tuple[int, int]) -> torch.Tensor:
    """The reference's BOX downscale by Pillow, plane by plane (8-bit planes, no channel
    interleaving), then its BOX upscale as the copy it is: with a reduction factor below 1 each
    output pixel has one tap of weight 1, the source pixel ``start`` of :func:`box_coefficients`
    (CPU tensors). The upscale copies columns first, then whole rows."""
    h, w = images.shape[-2:]
    planes = images.contiguous().reshape(-1, h, w).numpy()
    down = np.empty((len(planes), *small), dtype=np.uint8)
    for plane, out in zip(planes, down):
        out[...] = Image.fromarray(plane).resize((small[1], small[0]), Image.BOX)
    rows, cols = box_coefficients(small[0], h)[0], box_coefficients(small[1], w)[0]
    out = np.take(np.take(down, cols, axis=2), rows, axis=1)
    return torch.from_numpy(out).reshape(images.shape)


@register_corruption("pixelate")
def pixelate(images: torch.Tensor, severity: int, preset: str,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """BOX-downscale to ``int(W c) x int(H c)`` and BOX-upscale back (deterministic, exact).

    On the CPU, for images of 64 x 64 pixels or more, Pillow downscales each plane and the
    upscale is one gather: there Pillow's uint8 kernels beat the batched tensor passes (about 3x
    at 224 px, one thread; the tensor passes win at 32 px) and are exact for every shape.
    Otherwise :func:`box_resize` runs the same arithmetic as batched tensor passes.
    """
    c = PIXELATE[preset][severity - 1]
    h, w = images.shape[-2:]
    small = (max(int(h * c), 1), max(int(w * c), 1))
    if images.device.type == "cpu" and h * w >= _PILLOW_MIN_PIXELS:
        return _pillow_pixelate(images, small)
    return box_resize(box_resize(images, *small), h, w)
