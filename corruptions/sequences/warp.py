"""Batched geometric warps with the reference's resamplers: PIL's affine and cv2's perspective.

Both take uint8 N x C x H x W images and T per-frame matrices and return uint8
N x T x C x H x W, all frames at once, in float64 like the references' double arithmetic:
the affine warp as four batched tap gathers with PIL's own interpolation formula (bit-exact),
the perspective warp as one ``grid_sample`` (cv2 rounds, so the summation order is immaterial).

* :func:`pil_affine` is ``PIL.Image.transform(size, AFFINE, matrix, resample)`` as called by
  torchvision's ``F.affine`` on PIL images: output pixel ``(x, y)`` reads the input at
  ``matrix @ (x + 0.5, y + 0.5, 1)`` in pixel-edge coordinates; a sample point outside
  ``[0, W) x [0, H)`` gives the fill 0; bilinear clamps its taps to the edge and truncates to
  uint8; nearest takes ``floor`` of the coordinate.
* :func:`cv_warp_perspective` is ``cv2.warpPerspective(x, M, (W, H))`` with the defaults
  (INTER_LINEAR, BORDER_CONSTANT 0): ``M`` maps source to destination and is inverted; pixel
  centres are integers; taps outside the image read 0; the result is rounded.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def pil_affine_matrices(height: int, width: int, *, angle=0.0, translate=(0.0, 0.0),
                        scale=1.0, shear=0.0, device=None) -> torch.Tensor:
    """Inverse affine matrices (T x 6, float64) of torchvision ``F.affine`` on a PIL image.

    Each argument is a number or a length-T sequence/tensor (angle and shear in degrees,
    ``translate`` as a pair of those, ``scale`` > 0). The rotation and shear are about the
    image centre ``(W / 2, H / 2)``; the shear is parallel to the x axis.
    """
    def col(v):
        return torch.as_tensor(v, dtype=torch.float64, device=device).reshape(-1)

    rot, sx = torch.deg2rad(col(angle)), torch.deg2rad(col(shear))
    tx, ty, s = col(translate[0]), col(translate[1]), col(scale)
    rot, sx, tx, ty, s = torch.broadcast_tensors(rot, sx, tx, ty, s)
    cx, cy = width * 0.5, height * 0.5
    # Forward rotation-shear [[a, b], [c, d]] (determinant 1); its inverse divided by the scale.
    a, c = torch.cos(rot), torch.sin(rot)
    b = -torch.cos(rot) * torch.tan(sx) - torch.sin(rot)
    d = -torch.sin(rot) * torch.tan(sx) + torch.cos(rot)
    m0, m1, m3, m4 = d / s, -b / s, -c / s, a / s
    m2 = m0 * (-cx - tx) + m1 * (-cy - ty) + cx
    m5 = m3 * (-cx - tx) + m4 * (-cy - ty) + cy
    return torch.stack((m0, m1, m2, m3, m4, m5), 1)


def _pixel_grid(height: int, width: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    ys = torch.arange(height, dtype=torch.float64, device=device)[:, None].expand(height, width)
    xs = torch.arange(width, dtype=torch.float64, device=device)[None, :].expand(height, width)
    return xs, ys


def _sample(images: torch.Tensor, px: torch.Tensor, py: torch.Tensor, mode: str,
            padding: str) -> torch.Tensor:
    """Sample every image at T grids of pixel-centre coordinates (T x H x W): N x T x C x H x W.

    ``px = 0`` is the centre of the first column (grid_sample's ``align_corners=False`` grid).
    """
    n, ch, h, w = images.shape
    t = px.shape[0]
    grid = torch.stack(((2 * px + 1) / w - 1, (2 * py + 1) / h - 1), -1)
    x = images.to(torch.float64)[:, None].expand(n, t, ch, h, w).reshape(n * t, ch, h, w)
    grid = grid[None].expand(n, t, h, w, 2).reshape(n * t, h, w, 2)
    out = F.grid_sample(x, grid, mode=mode, padding_mode=padding, align_corners=False)
    return out.reshape(n, t, ch, h, w)


def pil_affine(images: torch.Tensor, matrices: torch.Tensor, interpolation: str) -> torch.Tensor:
    """PIL's affine transform of every image by each of T inverse matrices (T x 6).

    ``interpolation`` is ``"nearest"`` or ``"bilinear"``; areas mapped from outside the image are
    0. Returns uint8 N x T x C x H x W. The sampling is a batched row gather over all frames with
    PIL's own arithmetic (``a + (b - a) * d`` per axis, then truncation): grid_sample forms the
    same bilinear value as a weighted sum whose different rounding, after truncation, changes
    0.1-0.3 % of the pixels of a scale sequence by one grey level.
    """
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"interpolation must be 'nearest' or 'bilinear', got {interpolation!r}")
    n, ch, h, w = images.shape
    m = matrices.to(device=images.device, dtype=torch.float64)[:, :, None, None]
    xs, ys = _pixel_grid(h, w, images.device)
    u = m[:, 0] * (xs + 0.5) + m[:, 1] * (ys + 0.5) + m[:, 2]
    v = m[:, 3] * (xs + 0.5) + m[:, 4] * (ys + 0.5) + m[:, 5]
    inside = ((u >= 0) & (u < w) & (v >= 0) & (v < h))[None, :, :, :, None]
    # Channels-last rows: one row gather per tap is much faster than gathering along the last dim.
    pixels = images.permute(0, 2, 3, 1).reshape(n * h * w, ch)
    first = torch.arange(n, device=images.device)[:, None] * (h * w)

    def tap(rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        index = (rows.clamp(0, h - 1) * w + cols.clamp(0, w - 1)).reshape(1, -1) + first
        taps = pixels.index_select(0, index.reshape(-1)).to(torch.float64)
        return taps.reshape(n, *rows.shape, ch)

    if interpolation == "nearest":
        out = tap(v.floor().long(), u.floor().long())
    else:
        u, v = u - 0.5, v - 0.5
        x0, y0 = u.floor(), v.floor()
        dx, dy = (u - x0)[None, ..., None], (v - y0)[None, ..., None]
        x0, y0 = x0.long(), y0.long()
        top_left, top_right = tap(y0, x0), tap(y0, x0 + 1)
        bottom_left, bottom_right = tap(y0 + 1, x0), tap(y0 + 1, x0 + 1)
        upper = top_left + (top_right - top_left) * dx
        lower = bottom_left + (bottom_right - bottom_left) * dx
        out = upper + (lower - upper) * dy
    out = torch.where(inside, out, 0.0).to(torch.uint8)  # truncation, values already in 0..255
    return out.permute(0, 1, 4, 2, 3).contiguous()


def cv_warp_perspective(images: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
    """``cv2.warpPerspective(img, M, (W, H))`` of every image by each of T 3 x 3 matrices.

    ``matrices`` (T x 3 x 3) map source to destination pixel coordinates, as cv2 takes them.
    Bilinear, taps outside the image read 0, rounded to uint8. Returns N x T x C x H x W.
    """
    _, _, h, w = images.shape
    inv = torch.linalg.inv(matrices.to(device=images.device, dtype=torch.float64))
    inv = inv[:, :, :, None, None]
    xs, ys = _pixel_grid(h, w, images.device)
    den = inv[:, 2, 0] * xs + inv[:, 2, 1] * ys + inv[:, 2, 2]
    den = torch.where(den == 0, math.inf, den)
    px = (inv[:, 0, 0] * xs + inv[:, 0, 1] * ys + inv[:, 0, 2]) / den
    py = (inv[:, 1, 0] * xs + inv[:, 1, 1] * ys + inv[:, 1, 2]) / den
    out = _sample(images, px, py, "bilinear", "zeros")
    return torch.round(out).clamp(0, 255).to(torch.uint8)
