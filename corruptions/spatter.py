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

import torch
import torch.nn.functional as F

from corruptions._canny import canny_candidates, hysteresis
from corruptions._chamfer import chamfer_distance
from corruptions.chunks import items_per_chunk
from corruptions.color import as_rgb, from_rgb
from corruptions.gaussian import gaussian_filter
from corruptions.noise import normal_layers
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

_PART_PIXELS = 1 << 17
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
    edges = hysteresis(*(torch.cat(masks) for masks in zip(*map(canny_candidates, layers))))
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
    layer = normal_layers(images, loc, scale, generator, torch.float32)
    return spatter_apply(images, severity, preset, layer)
