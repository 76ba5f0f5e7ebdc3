"""zoom_blur and ``clipped_zoom`` (HR), with ``scipy.ndimage.zoom(order=1)``'s sampling grid.

``clipped_zoom(x, z)`` crops the centre ``ceil(H / z)`` rows (from ``(H - ch) // 2``), zooms the
crop by ``z`` to ``round(ch * z)`` rows with scipy's ``grid_mode=False`` convention (output
row ``o`` samples input row ``o * (ch - 1) / (out - 1)``, linear interpolation) and keeps ``H``
rows from ``(out - H) // 2``; the same on the columns. It is separable, so it runs as two
batched two-tap gathers per factor.
"""

from __future__ import annotations

import math

import torch

from corruptions.registry import register_corruption

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


@register_corruption("zoom_blur")
def zoom_blur(images: torch.Tensor, severity: int, preset: str,
              generator: torch.Generator | None) -> torch.Tensor:
    """HR zoom_blur: (x + sum_z clipped_zoom(x, z)) / (len(z) + 1), float32 as the reference."""
    factors = ZOOM_BLUR[preset][severity - 1]
    x = images.to(torch.float32) / 255.0
    out = torch.zeros_like(x)
    for factor in factors:
        out += clipped_zoom(x, factor)
    x = (x + out) / (len(factors) + 1)
    return (x.clamp(0, 1) * 255).to(torch.uint8)
