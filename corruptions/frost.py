"""Frost corruption: a random crop of one of the release's frost textures blended over the image.

Textures ship in ``corruptions/frost/`` (Apache-2.0 data files of the ImageNet-C release, see the
README there). As in the reference, the texture index is drawn from ``randint(5)`` (frost1 ..
frost5; frost6.jpg is never used), the texture is resized by the preset's factor with OpenCV's
``INTER_LINEAR`` arithmetic (reproduced bit for bit, see :func:`cv2_linear_resize`), and an
H x W crop starts at ``randint(0, H_frost - H)``, ``randint(0, W_frost - W)``. Decoded and resized
textures are cached per preset and device (channels first, so a crop is a plain slice). The blend
``uint8(clip(c0 * x + c1 * frost, 0, 255))`` of two uint8 values takes one of 65,536 results: it is
a lookup in a table computed once per severity with the reference's own float64 arithmetic.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from corruptions.color import as_rgb, from_rgb, to_uint8
from corruptions.noise import resolve_generator
from corruptions.presets import spatial_scale
from corruptions.registry import register_corruption

FROST_DIR = Path(__file__).with_name("frost")
FROST_FILES = ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg")
# (image weight, frost weight)
FROST = {
    "imagenet": ((1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75)),
    "tinyimagenet": ((1, 0.3), (0.9, 0.4), (0.8, 0.45), (0.75, 0.5), (0.7, 0.55)),
    "cifar": ((1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45)),
}
# cv2.resize factor applied to the texture file (None: used at full size)
FROST_SCALE = {"imagenet": None, "tinyimagenet": 0.3, "cifar": 0.2}

_COEF_BITS = 11


def _linear_taps(in_size: int, out_size: int, factor: float):
    """OpenCV INTER_LINEAR source taps and 11-bit weights along one axis."""
    pos = ((np.arange(out_size) + 0.5) * (1.0 / factor) - 0.5).astype(np.float32)
    first = np.floor(pos).astype(np.int64)
    frac = pos - first
    frac = np.where(first < 0, np.float32(0), frac)
    first = np.maximum(first, 0)
    at_end = first >= in_size - 1
    frac = np.where(at_end, np.float32(0), frac)
    first = np.where(at_end, in_size - 1, first)
    second = np.minimum(first + 1, in_size - 1)
    w1 = np.rint(frac * (1 << _COEF_BITS)).astype(np.int64)
    w0 = np.rint((np.float32(1) - frac) * (1 << _COEF_BITS)).astype(np.int64)
    return first, second, w0, w1


def cv2_linear_resize(image: np.ndarray, factor: float) -> np.ndarray:
    """``cv2.resize(image, (0, 0), fx=factor, fy=factor)`` for a uint8 H x W x C array.

    Output size ``round(W * factor) x round(H * factor)``; half-pixel source coordinates; 11-bit
    fixed-point weights; the vertical pass rounds as OpenCV's SIMD path does.
    """
    h, w = image.shape[:2]
    ys, ys1, b0, b1 = _linear_taps(h, round(h * factor), factor)
    xs, xs1, a0, a1 = _linear_taps(w, round(w * factor), factor)
    pix = image.astype(np.int64)
    rows = pix[:, xs] * a0[None, :, None] + pix[:, xs1] * a1[None, :, None]
    top = ((rows[ys] >> 4) * b0[:, None, None]) >> 16
    bottom = ((rows[ys1] >> 4) * b1[:, None, None]) >> 16
    return np.clip((top + bottom + 2) >> 2, 0, 255).astype(np.uint8)


@lru_cache(maxsize=None)
def frost_textures(preset: str, scale: float = 1.0) -> tuple[np.ndarray, ...]:
    """The five frost textures as uint8 H x W x 3 RGB arrays, resized for ``preset`` (and by
    the spatial ``scale`` on top of the preset's factor, with the same resize)."""
    textures = []
    for name in FROST_FILES:
        with Image.open(FROST_DIR / name) as im:
            rgb = np.asarray(im.convert("RGB"))
        factor = FROST_SCALE[str(preset)]
        if scale != 1.0:
            factor = (factor or 1.0) * scale
        textures.append(rgb if factor is None else cv2_linear_resize(rgb, factor))
    return tuple(textures)


def _texture_stack(preset: str, device: str) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    """The textures as uint8 3 x H x W tensors on ``device``, and their 5 x 2 sizes (cached per
    preset name, spatial scale and device)."""
    return _cached_stack(str(preset), spatial_scale(preset), device)


@lru_cache(maxsize=None)
def _cached_stack(preset: str, scale: float, device: str) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    textures = frost_textures(preset, scale)
    chw = tuple(torch.from_numpy(np.ascontiguousarray(t.transpose(2, 0, 1))).to(device)
                for t in textures)
    sizes = torch.tensor([t.shape[:2] for t in textures], device=device)
    return chw, sizes


@lru_cache(maxsize=None)
def _blend_table(image_weight: float, frost_weight: float, device: str) -> torch.Tensor:
    """``uint8(clip(image_weight * x + frost_weight * f, 0, 255))`` at index ``256 x + f``,
    in float64 as the reference computes it."""
    values = torch.arange(256, dtype=torch.float64)
    table = image_weight * values[:, None] + frost_weight * values[None, :]
    return to_uint8(table).flatten().to(device)


def frost_crops(preset: str, index: torch.Tensor, top: torch.Tensor, left: torch.Tensor,
                height: int, width: int) -> list[torch.Tensor]:
    """Crops of the textures ``index`` at (``top``, ``left``): N uint8 3 x height x width views."""
    textures, _ = _texture_stack(preset, str(index.device))
    return [textures[i][:, t:t + height, x:x + width]
            for i, t, x in zip(index.tolist(), top.tolist(), left.tolist())]


def draw_frost(n: int, preset: str, height: int, width: int,
               generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-image texture index and crop offsets, drawn like the reference's three ``randint``."""
    device = generator.device
    _, sizes = _texture_stack(preset, str(device))
    room = sizes - torch.tensor([height, width], device=device)
    if bool((room < 1).any()):
        smallest = sizes.amin(0).tolist()
        raise ValueError(
            f"frost at preset {preset!r} needs images smaller than its textures "
            f"({smallest[0] - 1} x {smallest[1] - 1} at most), got {height} x {width}")
    u = torch.rand(n, 3, generator=generator, device=device, dtype=torch.float64)
    index = (u[:, 0] * len(FROST_FILES)).long()
    top = (u[:, 1] * room[index, 0]).long()
    left = (u[:, 2] * room[index, 1]).long()
    return index, top, left


def frost_blend(images: torch.Tensor, severity: int, preset: str, index: torch.Tensor,
                top: torch.Tensor, left: torch.Tensor) -> torch.Tensor:
    """``clip(c0 * x + c1 * frost_crop, 0, 255)`` truncated to uint8, for given draws."""
    table = _blend_table(*FROST[preset][severity - 1], str(images.device))
    rgb, gray_input = as_rgb(images)
    crops = frost_crops(preset, index.to(images.device), top.to(images.device),
                        left.to(images.device), *images.shape[-2:])
    keys = rgb.to(torch.int32).bitwise_left_shift_(8)
    for key, crop in zip(keys, crops):
        key += crop
    return from_rgb(table.index_select(0, keys.flatten()).view(keys.shape), gray_input)


@register_corruption("frost")
def frost(images: torch.Tensor, severity: int, preset: str,
          generator: torch.Generator | None = None) -> torch.Tensor:
    """Blend a random frost-texture crop over each image (random)."""
    generator = resolve_generator(generator, images.device)
    draws = draw_frost(images.shape[0], preset, *images.shape[-2:], generator)
    return frost_blend(images, severity, preset, *draws)
