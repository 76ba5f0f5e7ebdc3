"""Canny edges as ``cv2.Canny(layer, 50, 150)`` computes them (aperture 3, L1 gradient), for
the water drops of :mod:`corruptions.spatter`: candidate and strong masks by whole-image
comparisons, then hysteresis over 8-connected components.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

# OpenCV's tan(22.5 deg) in 15-bit fixed point (13573), as the exact float 13573 / 2^15.
_TG22 = int(0.4142135623730950488016887242097 * (1 << 15) + 0.5) / (1 << 15)
HYSTERESIS_ROUNDS = 32


def canny_candidates(layer: torch.Tensor, low: int = 50,
                     high: int = 150) -> tuple[torch.Tensor, torch.Tensor]:
    """Canny's candidate and strong edge masks (before hysteresis), N x 1 x H x W bool; with
    :func:`hysteresis` this is ``cv2.Canny(layer, low, high)`` (aperture 3, L1 gradient).

    Exact integer arithmetic in float32: separable Sobel sums (replicated borders), OpenCV's
    fixed-point sector tests as ``|gy| < |gx| tg22`` and ``|gy| - 2 |gx| > |gx| tg22`` (``tg22 =
    13573 / 2^15``, products exact), one neighbour pair per pixel picked by sector (the diagonal
    pair strict).
    """
    p = F.pad(layer.to(torch.float32), (1, 1, 1, 1), mode="replicate")
    dx = p[..., 2:] - p[..., :-2]
    gx = (dx[..., :-2, :] + dx[..., 2:, :]).add_(dx[..., 1:-1, :], alpha=2)
    sy = (p[..., :-2] + p[..., 2:]).add_(p[..., 1:-1], alpha=2)
    gy = sy[..., 2:, :] - sy[..., :-2, :]
    mag = F.pad(gx.abs() + gy.abs(), (1, 1, 1, 1))  # zero outside the image, as OpenCV
    return _suppress_non_maxima(gx, gy, mag, low, high)


def _sectors(gx: torch.Tensor, gy: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """(horizontal, vertical, same gradient signs) masks of OpenCV's Canny direction sectors.

    Diagonal pixels have both gradients non-zero, so ``gx * gy > 0`` is OpenCV's sign test.
    """
    ax, ay = gx.abs(), gy.abs()
    tg22 = ax * _TG22
    return ay < tg22, torch.sub(ay, ax, alpha=2) > tg22, gx * gy > 0


def _suppress_non_maxima(gx: torch.Tensor, gy: torch.Tensor, mag: torch.Tensor, low: int,
                         high: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Candidate and strong masks (N x 1 x H x W) by whole-image comparisons (booleans only);
    ``mag`` zero-padded by one pixel.

    A local maximum beats its first neighbour (left, up) and is not beaten by the second
    (right, down); on the diagonals it beats both. Same gradient signs: neighbours (row-1,
    col-1), (row+1, col+1); else (row-1, col+1), (row+1, col-1). One comparison per pair of
    pixels serves both sides of the horizontal and vertical tests.
    """
    horizontal, vertical, same_sign = _sectors(gx, gy)
    centre = mag[..., 1:-1, 1:-1]
    rising = mag[..., 1:-1, 1:] > mag[..., 1:-1, :-1]  # each pixel above its left neighbour
    along = rising[..., :-1] & ~rising[..., 1:]
    rising = mag[..., 1:, 1:-1] > mag[..., :-1, 1:-1]  # each pixel above the one over it
    across = rising[..., :-1, :] & ~rising[..., 1:, :]
    main = (centre > mag[..., :-2, :-2]) & (centre > mag[..., 2:, 2:])
    anti = (centre > mag[..., :-2, 2:]) & (centre > mag[..., 2:, :-2])
    diagonal = ((same_sign & main) | (anti & ~same_sign)) & ~(horizontal | vertical)
    candidate = ((horizontal & along) | (vertical & across) | diagonal) & (centre > low)
    return candidate, candidate & (centre > high)


def hysteresis(candidate: torch.Tensor, strong: torch.Tensor) -> torch.Tensor:
    """Candidates 8-connected (through candidates) to a strong pixel, per image.

    Weak candidates (not strong) are few: they join the edges in rounds, each taking the weak
    pixels next to a kept one (gathers over the weak pixels only), until a round adds none.
    After ``HYSTERESIS_ROUNDS`` rounds (a long weak chain) the connected components decide
    instead (:func:`label_hysteresis`).
    """
    n, _, h, w = candidate.shape
    row = w + 2
    kept = torch.zeros(n, h + 2, w + 2, dtype=torch.bool, device=candidate.device)
    kept[:, 1:-1, 1:-1] = strong[:, 0]
    weak = torch.zeros_like(kept)
    weak[:, 1:-1, 1:-1] = candidate[:, 0] & ~strong[:, 0]
    pending = weak.flatten().nonzero().squeeze(1)  # interior of the zero-bordered planes
    offsets = torch.tensor([-row - 1, -row, -row + 1, -1, 1, row - 1, row, row + 1],
                           device=candidate.device)
    flat = kept.view(-1)
    for _ in range(HYSTERESIS_ROUNDS):
        reached = flat[pending[:, None] + offsets].any(1)
        if not bool(reached.any()):
            return kept[:, None, 1:-1, 1:-1]
        flat[pending[reached]] = True
        pending = pending[~reached]
    return label_hysteresis(candidate, strong)


def label_hysteresis(candidate: torch.Tensor, strong: torch.Tensor) -> torch.Tensor:
    """Candidates 8-connected (through candidates) to a strong pixel, per image.

    One ``scipy.ndimage.label`` call labels the 8-connected components of every image of the
    batch (a 3-D structure that links nothing across images); a component is kept when it
    holds a strong pixel. Runs on the CPU (a boolean mask each way) on every device.
    """
    structure = np.zeros((3, 3, 3), dtype=bool)
    structure[1] = True
    labels, count = ndimage.label(candidate[:, 0].cpu().numpy(), structure=structure)
    keep = np.zeros(count + 1, dtype=bool)
    keep[labels[strong[:, 0].cpu().numpy()]] = True
    keep[0] = False
    return torch.from_numpy(keep[labels]).to(candidate.device)[:, None]
