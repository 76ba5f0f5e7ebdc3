"""Spatter corruption: water drops (severities 1-3 of the tables) or mud (4-5).

A liquid layer N(loc, scale) (drawn in float32 from the generator; ``spatter_apply`` also takes
the reference's float64 draw) is blurred (skimage ``gaussian``, mode 'nearest') and thresholded.

* Water reproduces the reference's OpenCV chain without OpenCV: the layer as uint8 without
  clipping (wrap-around, like numpy's cast), Canny edges (3x3 Sobel with replicated borders, L1
  magnitude, OpenCV's fixed-point direction sectors, hysteresis over 8-connected components), the
  5x5 chamfer distance transform to the nearest edge (OpenCV's DIST_L2 mask-5 weights and its
  two raster passes in float32, tall images in overlapping strips batched together), 3x3 box
  blur, histogram equalisation, a 3x3 emboss kernel with saturating uint8 output and a last 3x3
  box blur. The drops are pale turquoise, R, G, B = 175, 238, 238.
* Mud blurs the binary mask (layer > threshold) with sigma = intensity, drops values < 0.8 and
  blends in mud brown, R, G, B = 63, 42, 20.

On the CPU, whole-image passes run on groups of about ``_PART_PIXELS`` pixels (a few images at
224 px) so their tensors stay in the cache; only the chamfer rows walk the whole batch at once.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from corruptions.chunks import items_per_chunk
from corruptions.color import as_rgb, from_rgb
from corruptions.gaussian import gaussian_filter
from corruptions.noise import resolve_generator
from corruptions.presets import scale_length
from corruptions.registry import register_corruption

# (loc, scale, sigma, threshold, intensity, mode 0 = water / 1 = mud)
SPATTER = {
    "imagenet": ((0.65, 0.3, 4, 0.69, 0.6, 0), (0.65, 0.3, 3, 0.68, 0.6, 0),
                 (0.65, 0.3, 2, 0.68, 0.5, 0), (0.65, 0.3, 1, 0.65, 1.5, 1),
                 (0.67, 0.4, 1, 0.65, 1.5, 1)),
    "tinyimagenet": ((0.62, 0.1, 0.7, 0.7, 0.6, 0), (0.65, 0.1, 0.8, 0.7, 0.6, 0),
                     (0.65, 0.3, 1, 0.69, 0.6, 0), (0.65, 0.1, 0.7, 0.68, 0.6, 1),
                     (0.65, 0.1, 0.5, 0.67, 0.6, 1)),
    "cifar": ((0.62, 0.1, 0.7, 0.7, 0.5, 0), (0.65, 0.1, 0.8, 0.7, 0.5, 0),
              (0.65, 0.3, 1, 0.69, 0.5, 0), (0.65, 0.1, 0.7, 0.69, 0.6, 1),
              (0.65, 0.1, 0.5, 0.68, 0.6, 1)),
}
WATER = (175 / 255.0, 238 / 255.0, 238 / 255.0)
MUD = (63 / 255.0, 42 / 255.0, 20 / 255.0)

# OpenCV's tan(22.5 deg) in 15-bit fixed point (13573), as the exact float 13573 / 2^15.
_TG22 = int(0.4142135623730950488016887242097 * (1 << 15) + 0.5) / (1 << 15)
# DIST_L2 mask-5 weights (axial, diagonal, knight's move), float32 as in OpenCV 5.
_CHAMFER = (1.0, 1.4, 2.1969)
_HYSTERESIS_ROUNDS = 32
_PART_PIXELS = 1 << 17
_FAR = 1e9  # chamfer value of pixels with no edge yet (and outside the image)
_EMBOSS = torch.tensor([[-2.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 1.0, 2.0]])


def _correlate3x3(x: torch.Tensor, kernel: torch.Tensor, border: str) -> torch.Tensor:
    """3x3 correlation (OpenCV ``filter2D``) of an N x 1 x H x W float tensor, as a sum of
    shifted slices (exact for integer-valued inputs and kernels)."""
    h, w = x.shape[-2:]
    padded = F.pad(x, (1, 1, 1, 1), mode=border)
    out = torch.zeros_like(x)
    for (i, j), weight in zip(((i, j) for i in range(3) for j in range(3)),
                              kernel.flatten().tolist()):
        if weight:
            out.add_(padded[..., i:i + h, j:j + w], alpha=weight)
    return out


def _box3(x: torch.Tensor) -> torch.Tensor:
    """``cv2.blur(x, (3, 3))``: 3x3 mean with BORDER_REFLECT_101 (unrounded); column sums of
    row sums, then / 9."""
    h, w = x.shape[-2:]
    padded = F.pad(x, (1, 1, 1, 1), mode="reflect")
    rows = padded[..., 0:h, :] + padded[..., 1:h + 1, :] + padded[..., 2:h + 2, :]
    return (rows[..., 0:w] + rows[..., 1:w + 1] + rows[..., 2:w + 2]) / 9


def _canny_candidates(layer: torch.Tensor, low: int = 50,
                      high: int = 150) -> tuple[torch.Tensor, torch.Tensor]:
    """Canny's candidate and strong edge masks (before hysteresis), N x 1 x H x W bool; with
    :func:`_hysteresis` this is ``cv2.Canny(layer, low, high)`` (aperture 3, L1 gradient).

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


def _hysteresis(candidate: torch.Tensor, strong: torch.Tensor) -> torch.Tensor:
    """Candidates 8-connected (through candidates) to a strong pixel, per image.

    Weak candidates (not strong) are few: they join the edges in rounds, each taking the weak
    pixels next to a kept one (gathers over the weak pixels only), until a round adds none.
    After ``_HYSTERESIS_ROUNDS`` rounds (a long weak chain) the connected components decide
    instead (:func:`_label_hysteresis`).
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
    for _ in range(_HYSTERESIS_ROUNDS):
        reached = flat[pending[:, None] + offsets].any(1)
        if not bool(reached.any()):
            return kept[:, None, 1:-1, 1:-1]
        flat[pending[reached]] = True
        pending = pending[~reached]
    return _label_hysteresis(candidate, strong)


def _label_hysteresis(candidate: torch.Tensor, strong: torch.Tensor) -> torch.Tensor:
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


def _raster_pass(buf: torch.Tensor, rows: range, step: int) -> None:
    """One of OpenCV's two raster passes with the mask-5 weights (forward: ``step`` 1, rows top
    down; backward: -1, bottom up), in place on a float32 M x (R + 4) x (W + 4) buffer whose
    2-pixel border is far from any edge.

    Each row takes every pixel's candidates from the two rows before it in one vectorised step
    (float32 sums); the run along the row, ``d[x] = min(c[x], d[x - step] + 1)``, is ``x +
    cummin(c - x)`` (mirrored backward) in float64 (exact) rounded to float32 once.
    """
    w = buf.shape[2] - 4
    hv, diag, knight = _CHAMFER
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


def equalize_hist(x: torch.Tensor) -> torch.Tensor:
    """``cv2.equalizeHist`` of uint8 N x 1 x H x W (per image)."""
    n = x.shape[0]
    flat = x.reshape(n, -1).to(torch.int64)
    hist = torch.zeros(n, 256, dtype=torch.int64, device=x.device)
    hist.scatter_add_(1, flat, torch.ones_like(flat))
    total = flat.shape[1]
    levels = torch.arange(256, device=x.device)
    first = torch.where(hist > 0, levels, 256).amin(1, keepdim=True)
    first_count = hist.gather(1, first)
    scale = (255.0 / (total - first_count).clamp(min=1).to(torch.float32))
    cum = torch.where(levels > first, hist, 0).cumsum(1)
    lut = torch.round(cum.to(torch.float32) * scale).clamp(0, 255)
    lut = torch.where(levels == first, 0.0, lut)
    constant = first_count == total
    lut = torch.where(constant, first.to(torch.float32), lut)
    return lut.gather(1, flat).to(torch.uint8).reshape(x.shape)


def _parts(x: torch.Tensor) -> list[slice]:
    """Batch slices of about ``_PART_PIXELS`` pixels on the CPU, so whole-image passes stay in
    the cache; one slice on other devices (where each pass is one kernel launch)."""
    n, _, h, w = x.shape
    step = items_per_chunk(n, h * w, _PART_PIXELS, x.device)
    return [slice(i, i + step) for i in range(0, max(n, 1), step)]  # one, empty, for n = 0


def _water_mask(liquid: torch.Tensor, limit: float = 20) -> torch.Tensor:
    """Water drop mask (float32 N x 1 x H x W, max 1 per image) from the thresholded layer
    (``limit``: the distance, in pixels, the reference truncates the edge distance at).

    Runs image group by image group (:func:`_parts`), except the chamfer distance, which walks
    the rows of the whole batch at once.
    """
    parts = _parts(liquid)
    # numpy's uint8 cast of the unclipped layer: truncate, keep the low 8 bits (wrap-around)
    layers = [(liquid[p] * 255).to(torch.int32).bitwise_and_(255).to(torch.uint8) for p in parts]
    edges = _hysteresis(*(torch.cat(masks) for masks in zip(*map(_canny_candidates, layers))))
    dist = chamfer_distance(edges, limit)
    return torch.cat([_drops(layer, dist[p]) for layer, p in zip(layers, parts)])


def _drops(layer: torch.Tensor, dist: torch.Tensor) -> torch.Tensor:
    """The reference's chain from the truncated distance to the normalised drop mask."""
    dist = equalize_hist(_box3(dist).to(torch.uint8))
    dist = _correlate3x3(dist.to(torch.float32), _EMBOSS, "reflect").round().clamp(0, 255)
    dist = torch.round(_box3(dist))
    mask = layer.to(torch.float32) * dist
    peak = mask.amax(dim=(2, 3), keepdim=True)
    return mask.div_(torch.where(peak > 0, peak, 1))  # an all-zero mask has peak 0: stays 0


def spatter_apply(images: torch.Tensor, severity: int, preset: str,
                  layer: torch.Tensor) -> torch.Tensor:
    """Spatter for a given N(loc, scale) layer (float N x H x W, e.g. the reference's draw)."""
    _, _, sigma, threshold, intensity, mode = SPATTER[preset][severity - 1]
    sigma = scale_length(sigma, preset)  # drop size
    rgb, gray_input = as_rgb(images)
    layer = layer[:, None].to(images.device, torch.float32)
    parts = _parts(rgb)
    liquid = torch.cat([gaussian_filter(layer[p], sigma) for p in parts])
    liquid = liquid.masked_fill_(liquid < threshold, 0.0)
    if mode == 0:
        mask = _water_mask(liquid, scale_length(20, preset))
        colour = torch.tensor(WATER, dtype=torch.float32, device=images.device).view(1, 3, 1, 1)
    else:
        mud_sigma = scale_length(intensity, preset)  # mud: the intensity is a blur sigma
        mask = torch.cat([gaussian_filter((liquid[p] > threshold).to(torch.float32), mud_sigma)
                          for p in parts])
        mask = mask.masked_fill_(mask < 0.8, 0.0)
        colour = torch.tensor(MUD, dtype=torch.float32, device=images.device).view(1, 3, 1, 1)
    out = torch.empty_like(rgb)
    for p in parts:
        x = rgb[p].to(torch.float32).div_(255.0)
        if mode == 0:
            x.add_(mask[p] * intensity * colour)
        else:
            x.mul_(1 - mask[p]).add_(colour * mask[p])
        out[p] = x.clamp_(0, 1).mul_(255)  # in [0, 255]: the uint8 cast truncates
    return from_rgb(out, gray_input)


@register_corruption("spatter")
def spatter(images: torch.Tensor, severity: int, preset: str,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """Water or mud spatter from a random liquid layer (random)."""
    loc, scale = SPATTER[preset][severity - 1][:2]
    generator = resolve_generator(generator, images.device)
    n, _, h, w = images.shape
    layer = torch.randn(n, h, w, generator=generator, device=images.device,
                        dtype=torch.float32).mul_(scale).add_(loc)
    return spatter_apply(images, severity, preset, layer)
