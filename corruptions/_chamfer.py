"""The 5x5 chamfer distance transform of OpenCV (``DIST_L2``, mask 5) for the water drops of
:mod:`corruptions.spatter`: its two raster passes in float32, tall images in overlapping strips.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# DIST_L2 mask-5 weights (axial, diagonal, knight's move), float32 as in OpenCV 5.
CHAMFER = (1.0, 1.4, 2.1969)
_FAR = 1e9  # chamfer value of pixels with no edge yet (and outside the image)


def _raster_pass(buf: torch.Tensor, rows: range, step: int) -> None:
    """One of OpenCV's two raster passes with the mask-5 weights (forward: ``step`` 1, rows top
    down; backward: -1, bottom up), in place on a float32 M x (R + 4) x (W + 4) buffer whose
    2-pixel border is far from any edge.

    Each row takes every pixel's candidates from the two rows before it in one vectorised step
    (float32 sums); the run along the row, ``d[x] = min(c[x], d[x - step] + 1)``, is ``x +
    cummin(c - x)`` (mirrored backward) in float64 (exact) rounded to float32 once.
    """
    w = buf.shape[2] - 4
    hv, diag, knight = CHAMFER
    ramp = torch.arange(w, dtype=torch.float64, device=buf.device)
    for r in rows:
        near, far = buf[:, r - step], buf[:, r - 2 * step]
        # min(a + k, b + k) == min(a, b) + k in float32 (rounding is monotone).
        c = torch.minimum(torch.minimum(far[:, 1:w + 1], far[:, 3:w + 3]),
                          torch.minimum(near[:, 0:w], near[:, 4:w + 4])).add_(knight)
        c = torch.minimum(c, torch.minimum(near[:, 1:w + 1], near[:, 3:w + 3]).add_(diag))
        c = torch.minimum(c, near[:, 2:w + 2] + hv)
        c = torch.minimum(c, buf[:, r, 2:w + 2])
        if step == 1:  # float32 -/+ float64 promotes: exact
            run = torch.cummin(torch.sub(c, ramp), 1).values.add_(ramp)
        else:
            run = torch.cummin(torch.add(c, ramp).flip(1), 1).values.flip(1).sub_(ramp)
        buf[:, r, 2:w + 2] = run


def chamfer_distance(edges: torch.Tensor, limit: float) -> torch.Tensor:
    """``cv2.distanceTransform(255 - edges, DIST_L2, 5)`` truncated at ``limit``: float32 N x 1 x
    H x W.

    OpenCV's own two raster passes in float32 (outside the image counts as far from any edge).
    Tall images are cut into horizontal strips, each with ``halo = ceil(limit) + 2`` extra rows
    above and below, and all strips run as one batch (fewer sequential rows). This is exact
    after truncation: every pass is monotone, so a strip's values are never below the whole
    image's, and a value <= limit comes from an edge at most ``limit`` rows away (each row
    crossed costs >= 1) through pixels the strip holds, so it is reproduced bit for bit.
    """
    n, _, h, w = edges.shape
    halo = math.ceil(limit) + 2
    strips = max(1, round(h / (4 * halo)))
    if strips == 1:
        halo = 0
    rows = -(-h // strips)
    span = rows + 2 * halo
    field = F.pad(torch.where(edges[:, 0], 0.0, _FAR),
                  (2, 2, halo, strips * rows - h + halo), value=_FAR)
    windows = field.unfold(1, span, rows).transpose(2, 3)  # n x strips x span x (w + 4)
    buf = F.pad(windows, (0, 0, 2, 2), value=_FAR).reshape(n * strips, span + 4, w + 4)
    _raster_pass(buf, range(2, span + 2), 1)
    _raster_pass(buf, range(span + 1, halo + 1, -1), -1)  # rows above the strip no longer matter
    core = buf[:, 2 + halo:2 + halo + rows, 2:w + 2].clamp(max=limit)
    return core.reshape(n, 1, strips * rows, w)[:, :, :h]
