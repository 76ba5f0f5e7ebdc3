"""Spatter corruption: water drops (severities 1-3 of the tables) or mud (4-5).

A liquid layer N(loc, scale) is blurred (skimage ``gaussian``, mode 'nearest') and thresholded.

* Water reproduces the reference's OpenCV chain without OpenCV: the layer as uint8 without
  clipping (wrap-around, like numpy's cast), Canny edges (3x3 Sobel with replicated borders, L1
  magnitude, OpenCV's fixed-point direction sectors, hysteresis over 8-connected components), the
  5x5 chamfer distance transform to the nearest edge (OpenCV's DIST_L2 mask-5 weights and its
  two raster passes in float32),
  3x3 box blur, histogram equalisation, a 3x3 emboss kernel with saturating uint8 output and a
  last 3x3 box blur. The drops are pale turquoise, R, G, B = 175, 238, 238.
* Mud blurs the binary mask (layer > threshold) with sigma = intensity, drops values < 0.8 and
  blends in mud brown, R, G, B = 63, 42, 20.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from corruptions.color import as_rgb, from_rgb, to_uint8
from corruptions.gaussian import gaussian_filter
from corruptions.noise import resolve_generator
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

_CANNY_SHIFT = 15
_TG22 = int(0.4142135623730950488016887242097 * (1 << _CANNY_SHIFT) + 0.5)
# DIST_L2 mask-5 weights (axial, diagonal, knight's move), float32 as in OpenCV 5.
_CHAMFER = (1.0, 1.4, 2.1969)
_SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
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


def canny(layer: torch.Tensor, low: int = 50, high: int = 150) -> torch.Tensor:
    """``cv2.Canny(layer, low, high)`` (aperture 3, L1 gradient) of uint8 N x 1 x H x W -> bool."""
    h, w = layer.shape[-2:]
    padded = F.pad(layer.to(torch.float32), (1, 1, 1, 1), mode="replicate")
    gx = _correlate3x3(padded, _SOBEL_X, "constant")[..., 1:-1, 1:-1].to(torch.int32)
    gy = _correlate3x3(padded, _SOBEL_X.T, "constant")[..., 1:-1, 1:-1].to(torch.int32)
    ax, ay = gx.abs(), gy.abs()
    mag = ax + ay
    tg22 = ax * _TG22
    ay = ay << _CANNY_SHIFT
    tg67 = tg22 + (ax << (_CANNY_SHIFT + 1))
    padded = F.pad(mag, (1, 1, 1, 1))  # zero magnitude outside the image, as OpenCV

    def at(dy: int, dx: int) -> torch.Tensor:
        return padded[..., 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]

    horizontal = (mag > at(0, -1)) & (mag >= at(0, 1))
    vertical = (mag > at(-1, 0)) & (mag >= at(1, 0))
    # gradient signs equal: neighbours (row-1, col-1), (row+1, col+1); else (row-1, col+1), ...
    same_sign = (gx < 0) == (gy < 0)
    diagonal = torch.where(same_sign, (mag > at(-1, -1)) & (mag > at(1, 1)),
                           (mag > at(-1, 1)) & (mag > at(1, -1)))
    local_max = torch.where(ay < tg22, horizontal, torch.where(ay > tg67, vertical, diagonal))
    candidate = local_max & (mag > low)
    return _hysteresis(candidate, candidate & (mag > high))


def _hysteresis(candidate: torch.Tensor, strong: torch.Tensor) -> torch.Tensor:
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


def chamfer_distance(edges: torch.Tensor, limit: float) -> torch.Tensor:
    """``cv2.distanceTransform(255 - edges, DIST_L2, 5)`` truncated at ``limit``: float32 N x 1 x
    H x W.

    OpenCV's own two raster passes with the mask-5 weights in float32 (outside the image counts
    as far from any edge): each pass walks the rows, taking every pixel's candidates from the
    two rows before it in one vectorised step; the run along the row, ``d[x] = min(c[x],
    d[x - 1] + 1)``, is ``x + cummin(c - x)`` in float64 (exact) rounded to float32 once.
    """
    big = 1e9
    n, _, h, w = edges.shape
    hv, diag, knight = _CHAMFER
    buf = torch.full((n, h + 4, w + 4), big, dtype=torch.float32, device=edges.device)
    buf[:, 2:h + 2, 2:w + 2] = torch.where(edges[:, 0], 0.0, big)
    ramp = torch.arange(w, dtype=torch.float64, device=edges.device)
    for rows, step in ((range(2, h + 2), 1), (range(h + 1, 1, -1), -1)):
        for r in rows:
            near, far = buf[:, r - step], buf[:, r - 2 * step]
            # min(a + k, b + k) == min(a, b) + k in float32 (rounding is monotone).
            c = torch.minimum(torch.minimum(far[:, 1:w + 1], far[:, 3:w + 3]),
                              torch.minimum(near[:, 0:w], near[:, 4:w + 4])).add_(knight)
            c = torch.minimum(c, torch.minimum(near[:, 1:w + 1], near[:, 3:w + 3]).add_(diag))
            c = torch.minimum(c, near[:, 2:w + 2] + hv)
            c = torch.minimum(c, buf[:, r, 2:w + 2]).to(torch.float64)
            if step == 1:
                run = torch.cummin(c.sub_(ramp), 1).values.add_(ramp)
            else:
                run = torch.cummin(c.add_(ramp).flip(1), 1).values.flip(1).sub_(ramp)
            buf[:, r, 2:w + 2] = run
    return buf[:, None, 2:h + 2, 2:w + 2].clamp(max=limit)


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


def _water_mask(liquid: torch.Tensor) -> torch.Tensor:
    """Water drop mask (float32 N x 1 x H x W, max 1 per image) from the thresholded layer."""
    layer = torch.remainder(torch.trunc(liquid * 255), 256).to(torch.uint8)
    dist = chamfer_distance(canny(layer), 20)
    dist = equalize_hist(_box3(dist).to(torch.uint8))
    dist = _correlate3x3(dist.to(torch.float32), _EMBOSS, "reflect").round().clamp(0, 255)
    dist = torch.round(_box3(dist))
    mask = layer.to(torch.float32) * dist
    peak = mask.amax(dim=(2, 3), keepdim=True)
    return torch.where(peak > 0, mask / torch.where(peak > 0, peak, 1), 0)


def spatter_apply(images: torch.Tensor, severity: int, preset: str,
                  layer: torch.Tensor) -> torch.Tensor:
    """Spatter for a given N(loc, scale) layer (float64 N x H x W) drawn like the reference."""
    _, _, sigma, threshold, intensity, mode = SPATTER[preset][severity - 1]
    rgb, gray_input = as_rgb(images)
    x = rgb.to(torch.float32).div_(255.0)
    liquid = gaussian_filter(layer[:, None].to(images.device, torch.float32), sigma)
    liquid = torch.where(liquid < threshold, 0.0, liquid)
    if mode == 0:
        mask = _water_mask(liquid) * intensity
        colour = torch.tensor(WATER, dtype=torch.float32, device=images.device).view(1, 3, 1, 1)
        out = x.add_(mask * colour).clamp_(0, 1)
    else:
        mud = gaussian_filter((liquid > threshold).to(torch.float32), intensity)
        mud = torch.where(mud < 0.8, 0.0, mud)
        colour = torch.tensor(MUD, dtype=torch.float32, device=images.device).view(1, 3, 1, 1)
        out = x.mul_(1 - mud).add_(colour * mud).clamp_(0, 1)
    return from_rgb(to_uint8(out.mul_(255)), gray_input)


@register_corruption("spatter")
def spatter(images: torch.Tensor, severity: int, preset: str,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """Water or mud spatter from a random liquid layer (random)."""
    loc, scale = SPATTER[preset][severity - 1][:2]
    generator = resolve_generator(generator, images.device)
    n, _, h, w = images.shape
    layer = torch.randn(n, h, w, generator=generator, device=images.device,
                        dtype=torch.float64) * scale + loc
    return spatter_apply(images, severity, preset, layer)
