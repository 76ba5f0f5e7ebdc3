"""Elastic transform: a random affine warp followed by a smoothed random displacement field.

Follows the reference (Hendrycks' ``elastic_transform``, after erniejunior's gist) step by step:

1. Three points around the centre (centre +- min(H, W) // 3, in the reference's (row, col)
   order handed to OpenCV as (x, y)) each move by U(-jitter, jitter); the affine map between
   them is applied like ``cv2.warpAffine(..., borderMode=BORDER_REFLECT_101)`` (OpenCV 5, which
   made the reference: inverse map, float source coordinates, bilinear taps reflected without
   repeating the edge). This is one ``grid_sample`` with ``align_corners=True`` and
   ``padding_mode="reflection"``, which is exactly BORDER_REFLECT_101 for bilinear taps.
2. Displacements dx, dy: U(-1, 1) fields smoothed like ``skimage.filters.gaussian(sigma,
   mode='reflect', truncate=3)``, times alpha; resampled like ``scipy.ndimage.map_coordinates(
   order=1, mode='reflect')``, i.e. one ``grid_sample`` with ``align_corners=False`` and
   ``padding_mode="reflection"`` (half-sample symmetric, as scipy's 'reflect').

Parameters are (alpha, sigma, jitter) times the preset's size factor; ImageNet keeps the
reference's 244 (its source comment: "244 should have been 224").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from corruptions.color import to_uint8
from corruptions.gaussian import gaussian_filter
from corruptions.noise import resolve_generator
from corruptions.presets import scale_length
from corruptions.registry import register_corruption

# (alpha, sigma, affine jitter), multiplied by SIZE_FACTOR[preset]
ELASTIC = {
    "imagenet": ((2, 0.7, 0.1), (2, 0.08, 0.2), (0.05, 0.01, 0.02), (0.07, 0.01, 0.02),
                 (0.12, 0.01, 0.02)),
    "tinyimagenet": ((0, 0, 0.08), (0.05, 0.3, 0.06), (0.1, 0.08, 0.06), (0.1, 0.03, 0.03),
                     (0.16, 0.03, 0.02)),
    "cifar": ((0, 0, 0.08), (0.05, 0.2, 0.07), (0.08, 0.06, 0.06), (0.1, 0.04, 0.05),
              (0.1, 0.03, 0.03)),
}
SIZE_FACTOR = {"imagenet": 244, "tinyimagenet": 64, "cifar": 32}


def elastic_parameters(severity: int, preset: str) -> tuple[float, float, float]:
    """(alpha, sigma, jitter) in pixels for ``severity`` at ``preset``."""
    factor = SIZE_FACTOR[preset]
    return tuple(scale_length(factor * p, preset) for p in ELASTIC[preset][severity - 1])


def _anchor_points(height: int, width: int, device) -> torch.Tensor:
    """The reference's three float32 anchor points (3 x 2) around the image centre."""
    cy, cx = float(height // 2), float(width // 2)
    side = min(height, width) // 3
    return torch.tensor([[cy + side, cx + side], [cy + side, cx - side], [cy - side, cx - side]],
                        dtype=torch.float32, device=device)


def _inverse_affine(src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    """OpenCV's ``invertAffineTransform(getAffineTransform(src, dst))`` for N x 3 x 2 points."""
    ones = torch.ones(*src.shape[:-1], 1, dtype=torch.float64, device=src.device)
    a = torch.cat([src.double(), ones], -1)
    m = torch.linalg.solve(a, dst.double()).transpose(1, 2)  # N x 2 x 3, forward map
    det = m[:, 0, 0] * m[:, 1, 1] - m[:, 0, 1] * m[:, 1, 0]
    d = torch.where(det != 0, 1.0 / det, torch.zeros_like(det))
    a11, a22 = m[:, 1, 1] * d, m[:, 0, 0] * d
    a12, a21 = -m[:, 0, 1] * d, -m[:, 1, 0] * d
    b1 = -a11 * m[:, 0, 2] - a12 * m[:, 1, 2]
    b2 = -a21 * m[:, 0, 2] - a22 * m[:, 1, 2]
    return torch.stack([torch.stack([a11, a12, b1], -1), torch.stack([a21, a22, b2], -1)], 1)


def _warp_source(inv: torch.Tensor, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Source (x, y) of every destination pixel under the inverse affine map (N x H x W each)."""
    xs = torch.arange(width, dtype=torch.float64, device=inv.device)[None, None, :]
    ys = torch.arange(height, dtype=torch.float64, device=inv.device)[None, :, None]
    m = inv[:, :, :, None, None]
    sx = m[:, 0, 0] * xs + m[:, 0, 1] * ys + m[:, 0, 2]
    sy = m[:, 1, 0] * xs + m[:, 1, 1] * ys + m[:, 1, 2]
    return sx, sy


def _sample(images: torch.Tensor, sx: torch.Tensor, sy: torch.Tensor,
            align_corners: bool) -> torch.Tensor:
    """Bilinear ``grid_sample`` at pixel coordinates (sx, sy), reflecting at the borders."""
    h, w = images.shape[-2:]
    if align_corners:
        gx, gy = sx * (2.0 / max(w - 1, 1)) - 1, sy * (2.0 / max(h - 1, 1)) - 1
    else:
        gx, gy = (2 * sx + 1) / w - 1, (2 * sy + 1) / h - 1
    grid = torch.stack([gx, gy], -1).to(images.dtype)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection",
                         align_corners=align_corners)


def smooth_reflect(fields: torch.Tensor, sigma: float, truncate: float = 3.0) -> torch.Tensor:
    """``scipy.ndimage.gaussian_filter(mode='reflect')`` over the last two dims of N x C x H x W.

    :func:`corruptions.gaussian.gaussian_filter`: each axis is one banded matrix product with
    the 'reflect' boundary folded in, which also covers kernels wider than the image (ImageNet
    severity 1 has a 1025-tap kernel on 224 px).
    """
    if sigma <= 0:
        return fields
    return gaussian_filter(fields, sigma, mode="reflect", truncate=truncate)


def draw_elastic(n: int, severity: int, preset: str, height: int, width: int,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The reference's draws: anchor jitter U(-j, j) (N x 3 x 2) and two U(-1, 1) fields."""
    device = generator.device
    jitter = elastic_parameters(severity, preset)[2]
    moves = (torch.rand(n, 3, 2, generator=generator, device=device, dtype=torch.float64)
             * (2 * jitter) - jitter).to(torch.float32)
    fields = torch.rand(n, 2, height, width, generator=generator, device=device,
                        dtype=torch.float64) * 2 - 1
    return moves, fields[:, 0], fields[:, 1]


def elastic_apply(images: torch.Tensor, severity: int, preset: str, moves: torch.Tensor,
                  field_x: torch.Tensor, field_y: torch.Tensor) -> torch.Tensor:
    """Elastic transform for given draws (``moves`` N x 3 x 2; fields N x H x W in [-1, 1])."""
    alpha, sigma, _ = elastic_parameters(severity, preset)
    n, _, h, w = images.shape
    x = images.to(torch.float32) / 255.0
    anchors = _anchor_points(h, w, images.device).expand(n, 3, 2)
    inv = _inverse_affine(anchors, anchors + moves.to(images.device))
    x = _sample(x, *_warp_source(inv, h, w), align_corners=True)
    fields = torch.stack([field_x, field_y], 1).to(images.device, torch.float64)
    disp = (smooth_reflect(fields, sigma) * alpha).float()
    cols = torch.arange(w, device=images.device, dtype=torch.float32)
    rows = torch.arange(h, device=images.device, dtype=torch.float32)[:, None]
    x = _sample(x, cols + disp[:, 0], rows + disp[:, 1], align_corners=False)
    return to_uint8(x.clamp(0, 1) * 255)


@register_corruption("elastic_transform")
def elastic_transform(images: torch.Tensor, severity: int, preset: str,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """Random affine warp plus smoothed elastic displacement (random)."""
    generator = resolve_generator(generator, images.device)
    draws = draw_elastic(images.shape[0], severity, preset, *images.shape[-2:], generator)
    return elastic_apply(images, severity, preset, *draws)
