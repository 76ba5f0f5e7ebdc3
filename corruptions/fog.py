"""Fog corruption: a diamond-square plasma fractal added to the image, then renormalised.

The plasma fractal keeps the reference's structure exactly (``plasma_fractal`` in Hendrycks'
scripts, after FLHerne/mapgen): square step, then the two diamond steps, each new value the
quarter-sum of its neighbours (with the same wrap-around ``roll`` neighbours) plus
``wibble * U(-wibble, wibble)``; ``wibble`` starts at 100 and is divided by ``wibbledecay`` per
level; the map is shifted to min 0 and divided by its max. It is built for the whole batch at
once (one N x M x M map, uniform draws as N x k x k tensors per step).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from corruptions.color import to_uint8
from corruptions.noise import resolve_generator
from corruptions.presets import spatial_scale
from corruptions.registry import register_corruption

# (strength, wibbledecay)
FOG = {
    "imagenet": ((1.5, 2), (2, 2), (2.5, 1.7), (2.5, 1.5), (3, 1.4)),
    "tinyimagenet": ((0.4, 3), (0.7, 3), (1, 2.5), (1.5, 2), (2, 1.75)),
    "cifar": ((0.2, 3), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75)),
}
MAPSIZE = {"imagenet": 256, "tinyimagenet": 64, "cifar": 32}


def plasma_fractal(n: int, mapsize: int, wibbledecay: float,
                   uniform: Callable[[tuple[int, ...]], torch.Tensor],
                   device: torch.device | str = "cpu",
                   dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``n`` independent plasma maps (N x mapsize x mapsize, values in [0, 1]).

    ``uniform(shape)`` supplies the U[0, 1) draws (on ``device``, of ``dtype``), one N x k x k
    tensor per fill step: the square step, then the two diamond steps, level by level.
    """
    if mapsize < 2 or mapsize & (mapsize - 1):
        raise ValueError(f"plasma mapsize must be a power of two >= 2, got {mapsize}")
    maps = torch.zeros(n, mapsize, mapsize, dtype=dtype, device=device)
    step, wibble = mapsize, 100.0

    def wibbled_mean(total: torch.Tensor) -> torch.Tensor:
        return total / 4 + wibble * (-wibble + 2 * wibble * uniform(tuple(total.shape)))

    while step >= 2:
        half = step // 2
        corners = maps[:, 0::step, 0::step]
        squares = corners + corners.roll(-1, 1)
        squares = squares + squares.roll(-1, 2)
        maps[:, half::step, half::step] = wibbled_mean(squares)
        centres = maps[:, half::step, half::step]
        corners = maps[:, 0::step, 0::step]
        left = centres + centres.roll(1, 1) + corners + corners.roll(-1, 2)
        maps[:, 0::step, half::step] = wibbled_mean(left)
        top = centres + centres.roll(1, 2) + corners + corners.roll(-1, 1)
        maps[:, half::step, 0::step] = wibbled_mean(top)
        step //= 2
        wibble /= wibbledecay
    maps = maps - maps.amin(dim=(1, 2), keepdim=True)
    return maps / maps.amax(dim=(1, 2), keepdim=True)


def _mapsize(preset: str, height: int, width: int) -> int:
    """The preset's plasma size, grown to the next power of two for larger images."""
    size = MAPSIZE[preset]
    while size < max(height, width):
        size *= 2
    return size


@register_corruption("fog")
def fog(images: torch.Tensor, severity: int, preset: str,
        generator: torch.Generator | None = None) -> torch.Tensor:
    """Add ``strength * plasma[:H, :W]`` and rescale by ``max / (max + strength)`` (random)."""
    decay = FOG[preset][severity - 1][1]
    generator = resolve_generator(generator, images.device)
    n, _, h, w = images.shape

    def uniform(shape: tuple[int, ...]) -> torch.Tensor:
        return torch.rand(shape, generator=generator, device=images.device)

    scale = spatial_scale(preset)
    if scale == 1.0:
        plasma = plasma_fractal(n, _mapsize(preset, h, w), decay, uniform, images.device)
    else:  # the preset-size fog, resampled to the image: the same fog over the same scene
        ph, pw = max(1, round(h / scale)), max(1, round(w / scale))
        plasma = plasma_fractal(n, _mapsize(preset, ph, pw), decay, uniform, images.device)
        plasma = F.interpolate(plasma[:, None, :ph, :pw], size=(h, w), mode="bilinear",
                               align_corners=False, antialias=scale < 1.0)[:, 0]
    return fog_blend(images, severity, preset, plasma)


def fog_blend(images: torch.Tensor, severity: int, preset: str,
              plasma: torch.Tensor) -> torch.Tensor:
    """Blend given plasma maps (N x M x M', M >= H, M' >= W) into the images like the reference."""
    strength, _ = FOG[preset][severity - 1]
    h, w = images.shape[-2:]
    x = images.to(plasma.dtype).div_(255.0)
    peak = x.amax(dim=(1, 2, 3), keepdim=True)
    x.add_(strength * plasma[:, None, :h, :w])
    return to_uint8(x.mul_(peak).div_(peak + strength).clamp_(0, 1).mul_(255))
