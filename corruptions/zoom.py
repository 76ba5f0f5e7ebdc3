"""zoom_blur and ``clipped_zoom`` (HR), with ``scipy.ndimage.zoom(order=1)``'s sampling grid.

``clipped_zoom(x, z)`` crops the centre ``ceil(H / z)`` rows (from ``(H - ch) // 2``), zooms the
crop by ``z`` to ``round(ch * z)`` rows with scipy's ``grid_mode=False`` convention (output
row ``o`` samples input row ``o * (ch - 1) / (out - 1)``, linear interpolation) and keeps ``H``
rows from ``(out - H) // 2``; the same on the columns. It is separable, so it runs as two
batched two-tap gathers per factor.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch

from corruptions.registry import register_corruption

# Images up to this side sum their zooms by matrix products; larger ones by gathers, in chunks
# of this many images on the CPU (in cache), all at once elsewhere.
_MATMUL_SIZE = 96
_CHUNK_IMAGES = 2

# Zoom factors per severity: the exact float64 outputs of numpy.arange in HR's tables.
_CIFAR_ZOOMS = (
    (1.0, 1.01, 1.02, 1.03, 1.04, 1.05, 1.06),  # arange(1, 1.06, .01)
    (1.0, 1.01, 1.02, 1.03, 1.04, 1.05, 1.06, 1.07, 1.08, 1.09, 1.1, 1.11),  # arange(1, 1.11, .01)
    (1.0, 1.01, 1.02, 1.03, 1.04, 1.05, 1.06, 1.07, 1.08, 1.09, 1.1, 1.11, 1.12,
     1.1300000000000001, 1.1400000000000001, 1.1500000000000001),  # arange(1, 1.16, .01)
    (1.0, 1.01, 1.02, 1.03, 1.04, 1.05, 1.06, 1.07, 1.08, 1.09, 1.1, 1.11, 1.12,
     1.1300000000000001, 1.1400000000000001, 1.1500000000000001, 1.1600000000000001,
     1.1700000000000002, 1.1800000000000002, 1.1900000000000002,
     1.2000000000000002),  # arange(1, 1.21, .01)
    (1.0, 1.01, 1.02, 1.03, 1.04, 1.05, 1.06, 1.07, 1.08, 1.09, 1.1, 1.11, 1.12,
     1.1300000000000001, 1.1400000000000001, 1.1500000000000001, 1.1600000000000001,
     1.1700000000000002, 1.1800000000000002, 1.1900000000000002, 1.2000000000000002,
     1.2100000000000002, 1.2200000000000002, 1.2300000000000002, 1.2400000000000002,
     1.2500000000000002),  # arange(1, 1.26, .01)
)
ZOOM_BLUR = {
    "imagenet": (
        (1.0, 1.01, 1.02, 1.03, 1.04, 1.05, 1.06, 1.07, 1.08, 1.09, 1.1, 1.11),  # arange(1, 1.11, .01)
        (1.0, 1.01, 1.02, 1.03, 1.04, 1.05, 1.06, 1.07, 1.08, 1.09, 1.1, 1.11, 1.12,
         1.1300000000000001, 1.1400000000000001, 1.1500000000000001),  # arange(1, 1.16, .01)
        (1.0, 1.02, 1.04, 1.06, 1.08, 1.1, 1.12, 1.1400000000000001, 1.1600000000000001,
         1.1800000000000002, 1.2000000000000002),  # arange(1, 1.21, .02)
        (1.0, 1.02, 1.04, 1.06, 1.08, 1.1, 1.12, 1.1400000000000001, 1.1600000000000001,
         1.1800000000000002, 1.2000000000000002, 1.2200000000000002,
         1.2400000000000002),  # arange(1, 1.26, .02)
        (1.0, 1.03, 1.06, 1.09, 1.12, 1.1500000000000001, 1.1800000000000002,
         1.2100000000000002, 1.2400000000000002, 1.2700000000000002,
         1.3000000000000003),  # arange(1, 1.31, .03)
    ),
    "tinyimagenet": _CIFAR_ZOOMS,
    "cifar": _CIFAR_ZOOMS,
}


def _axis_taps(size: int, factor: float, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Source indices (i0, i1) and weight of i1 for the ``size`` kept outputs along one axis."""
    crop = int(math.ceil(size / factor))
    top = (size - crop) // 2
    out = int(round(crop * factor))
    trim = (out - size) // 2
    o = torch.arange(trim, trim + size, dtype=torch.float64, device=device)
    coord = o * ((crop - 1) / (out - 1)) if out > 1 else o * 0.0
    i0 = coord.floor().clamp(0, crop - 1)
    frac = coord - i0
    i1 = (i0 + 1).clamp(max=crop - 1)
    return (i0.long() + top), (i1.long() + top), frac


def clipped_zoom(x: torch.Tensor, factor: float) -> torch.Tensor:
    """HR ``clipped_zoom`` of a float N x C x H x W tensor by ``factor`` >= 1 (same shape out)."""
    if factor < 1:
        raise ValueError(f"clipped_zoom needs a zoom factor >= 1, got {factor}")
    _, _, h, w = x.shape
    r0, r1, fy = _axis_taps(h, factor, x.device)
    c0, c1, fx = _axis_taps(w, factor, x.device)
    fy = fy.to(x.dtype)[:, None]
    fx = fx.to(x.dtype)
    rows = x.index_select(2, r0) * (1 - fy) + x.index_select(2, r1) * fy
    return rows.index_select(3, c0) * (1 - fx) + rows.index_select(3, c1) * fx


def _axis_matrix(size: int, factor: float) -> torch.Tensor:
    """The float64 ``size`` x ``size`` matrix of one axis of ``clipped_zoom`` (two taps per row)."""
    i0, i1, frac = _axis_taps(size, factor, None)
    rows = torch.arange(size)
    matrix = torch.zeros(size, size, dtype=torch.float64)
    matrix.index_put_((rows, i0), 1 - frac, accumulate=True)
    return matrix.index_put_((rows, i1), frac, accumulate=True)


@lru_cache(maxsize=64)
def _stacked_matrices(height: int, width: int, factors: tuple[float, ...], dtype: torch.dtype,
                      device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """All factors' axis matrices side by side: rows H x (H * m) (index h * m + z), cols
    W x (m * W) (the transposed column matrices, factor-major)."""
    rows = torch.stack([_axis_matrix(height, z) for z in factors], 2).reshape(height, -1)
    cols = torch.cat([_axis_matrix(width, z).T for z in factors], 1)
    return rows.to(dtype=dtype, device=device), cols.to(dtype=dtype, device=device)


def _zoom_sum_matmul(x: torch.Tensor, factors: tuple[float, ...]) -> torch.Tensor:
    """``sum_z clipped_zoom(x, z)`` as two matrix products (all factors at once)."""
    n, c, h, w = x.shape
    rows, cols = _stacked_matrices(h, w, factors, x.dtype, x.device)
    y = (x.reshape(n * c * h, w) @ cols).reshape(n * c, h * len(factors), w)
    return torch.matmul(rows, y).reshape(n, c, h, w)


@register_corruption("zoom_blur")
def zoom_blur(images: torch.Tensor, severity: int, preset: str,
              generator: torch.Generator | None) -> torch.Tensor:
    """HR zoom_blur: (x + sum_z clipped_zoom(x, z)) / (len(z) + 1), float32 as the reference.

    Small images sum the zooms with two matrix products; large ones zoom factor by factor with
    two-tap gathers (the dense matrices would cost ~H flops per value), a few images at a time
    on the CPU.
    """
    factors = ZOOM_BLUR[preset][severity - 1]
    x = images.to(torch.float32) / 255.0
    if max(x.shape[-2:]) <= _MATMUL_SIZE:
        out = _zoom_sum_matmul(x, factors)
    else:
        step = _CHUNK_IMAGES if x.device.type == "cpu" else len(x)
        out = torch.cat([_zoom_sum_gather(part, factors) for part in x.split(step)])
    x = (x + out) / (len(factors) + 1)
    return (x.clamp(0, 1) * 255).to(torch.uint8)


def _zoom_sum_gather(x: torch.Tensor, factors: tuple[float, ...]) -> torch.Tensor:
    out = torch.zeros_like(x)
    for factor in factors:
        out += clipped_zoom(x, factor)
    return out
