"""HSV colour corruptions: brightness (V shift) and saturate (S scale and shift).

The colour conversions reproduce ``skimage.color.rgb2hsv`` / ``hsv2rgb`` exactly, including
skimage's tie-breaking for the hue (blue beats green beats red when channels are equal) and its
``floor(6 h) % 6`` sector choice. The arithmetic is float64, as in the reference: the final
``np.uint8`` truncation makes float32 rounding visible on many pixels. Divisions by constants
divide by a tensor on the images' device: CUDA turns a division by a Python number into a
multiplication by its reciprocal, which rounds differently.
"""

from __future__ import annotations

import torch

from corruptions.registry import register_corruption

BRIGHTNESS = {
    "imagenet": (0.1, 0.2, 0.3, 0.4, 0.5),
    "tinyimagenet": (0.1, 0.2, 0.3, 0.4, 0.5),
    "cifar": (0.05, 0.1, 0.15, 0.2, 0.3),
}
# (S multiplier, S offset)
SATURATE = {
    "imagenet": ((0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2)),
    "tinyimagenet": ((0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (30, 0.2)),
    "cifar": ((0.3, 0), (0.1, 0), (1.5, 0), (2, 0.1), (2.5, 0.2)),
}


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Clip a float tensor on the 0..255 scale and truncate: ``np.uint8(np.clip(x, 0, 255))``."""
    return x.clamp(0, 255).to(torch.uint8)


def as_rgb(images: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """Return 3-channel images (grayscale stacked to RGB) and whether the input was grayscale."""
    if images.shape[1] == 1:
        return images.expand(-1, 3, -1, -1), True
    return images, False


def from_rgb(images: torch.Tensor, gray_input: bool) -> torch.Tensor:
    """Undo :func:`as_rgb`: back to one channel with Pillow's ``convert('L')`` luma weights."""
    if not gray_input:
        return images
    r, g, b = images.to(torch.int32).unbind(1)
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).to(torch.uint8).unsqueeze(1)


def exact_constant(value: float, like: torch.Tensor) -> torch.Tensor:
    """``value`` as a 0-d tensor of ``like``'s dtype and device (an IEEE divisor on CUDA)."""
    return torch.tensor(value, dtype=like.dtype, device=like.device)


def rgb_to_hsv(rgb: torch.Tensor) -> torch.Tensor:
    """``skimage.color.rgb2hsv`` for float N x 3 x H x W tensors in [0, 1] (channel dim 1)."""
    r, g, b = rgb.unbind(1)
    v = rgb.amax(1)
    delta = v - rgb.amin(1)
    gray = delta == 0
    safe = torch.where(gray, torch.ones_like(delta), delta)
    s = torch.where(gray, torch.zeros_like(v), delta / torch.where(v == 0, torch.ones_like(v), v))
    h = (g - b) / safe
    h = torch.where(g == v, 2.0 + (b - r) / safe, h)
    h = torch.where(b == v, 4.0 + (r - g) / safe, h)
    h = torch.remainder(h / exact_constant(6.0, h), 1.0)
    h = torch.where(gray, torch.zeros_like(h), h)
    return torch.stack((h, s, v), 1)


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """``skimage.color.hsv2rgb`` for float N x 3 x H x W tensors (channel dim 1)."""
    h, s, v = hsv.unbind(1)
    hi = torch.floor(h * 6)
    f = h * 6 - hi
    p = v * (1 - s)
    q = v * (1 - f * s)
    t = v * (1 - (1 - f) * s)
    sector = torch.remainder(hi.to(torch.int64), 6)
    # which of (v, t, p, q) each of R, G, B takes in sectors 0..5 (skimage's table)
    index = _HSV_SECTORS.to(sector.device)[sector].movedim(-1, 1)  # N x 3 x H x W
    return torch.stack((v, t, p, q), 1).gather(1, index)


# Rows: sector 0..5; columns: R, G, B; entries index (v, t, p, q).
_HSV_SECTORS = torch.tensor([[0, 1, 2], [3, 0, 2], [2, 0, 1], [2, 3, 0], [1, 2, 0], [0, 2, 3]])


def _hsv_adjust(images: torch.Tensor, channel: int, scale: float, shift: float) -> torch.Tensor:
    rgb, gray_input = as_rgb(images)
    x = rgb.to(torch.float64)
    hsv = rgb_to_hsv(x / exact_constant(255.0, x))
    hsv[:, channel] = (hsv[:, channel] * scale + shift).clamp(0, 1)
    out = to_uint8(hsv_to_rgb(hsv).clamp(0, 1) * 255)
    return from_rgb(out, gray_input)


@register_corruption("brightness")
def brightness(images: torch.Tensor, severity: int, preset: str,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """Add the severity's constant to V in HSV (deterministic)."""
    return _hsv_adjust(images, 2, 1.0, BRIGHTNESS[preset][severity - 1])


@register_corruption("saturate")
def saturate(images: torch.Tensor, severity: int, preset: str,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """Scale and shift S in HSV (deterministic); severities 1-2 desaturate, 3-5 oversaturate."""
    scale, shift = SATURATE[preset][severity - 1]
    return _hsv_adjust(images, 1, scale, shift)
