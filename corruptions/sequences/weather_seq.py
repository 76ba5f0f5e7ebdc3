"""Weather sequences: snow drifting, brightness sweeping, spatter flowing down.

* snow: one snow layer per video (N(.05, .3), ``clipped_zoom`` by 2 for CIFAR-10-P / 3 for
  ImageNet-P, values < .5 set to 0, stored as 8 bit), motion-blurred for frame i at angle
  4 i - 150 (radius 10, sigma 2 / radius 14, sigma 4; the port in :mod:`corruptions.motion`,
  quantised like ImageMagick's 8-bit output, see ``blur_seq.imagemagick_8bit``), over the
  whitened image .85 x + .15 max(x, 1.5 gray(x) + .5) (float64, gray in float32 with OpenCV's
  RGB2GRAY weights), plus the layer and its 180-degree rotation. Known deviation: at -150 and
  -30 degrees with radius 10 (CIFAR-10-P frames 0 and 30) corruptions.motion rounds two tap
  offsets differently from ImageMagick (exact half-pixel ties), shifting those streaks by one
  pixel (PSNR ~33 dB against the reference frame; every other frame is exact).
* brightness: the reference's HSV brightness (skimage conversions, :mod:`corruptions.color`)
  with V shifted by (i - 15) 1.5 / 100 (CIFAR-10-P) or (i - 15) 2 / 100 (ImageNet-P).
* spatter: one liquid layer per video (N(.6, .265), skimage gaussian sigma 1.75, values < .7
  set to 0 for CIFAR-10-P; N(.65, .27), sigma 3.7, threshold .69 for ImageNet-P) drawn as the
  water drops of :mod:`corruptions.spatter` (intensity .6, pale turquoise); after each frame
  every column of the layer is convolved (numpy ``mode='same'``) with [.2, .8] (CIFAR-10-P) or
  [.05, .1, .15, .7] (ImageNet-P), so the drops run down the image.

Only the layers of snow and spatter are random (one per video, from the generator); the
difficulty does not change the frames (it is a comparison stride at evaluation time).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from corruptions.color import as_rgb, exact_constant, from_rgb, hsv_to_rgb, rgb_to_hsv, to_uint8
from corruptions.gaussian import gaussian_filter
from corruptions.motion import motion_blur_batch
from corruptions.noise import resolve_generator
from corruptions.sequences.blur_seq import imagemagick_8bit
from corruptions.sequences.frames import register_kernel
from corruptions.snow import _GRAY
from corruptions.spatter import WATER, _water_mask
from corruptions.zoom import clipped_zoom

# (loc, scale, zoom, threshold, blur radius, blur sigma, blend, angles per frame)
SNOW = {
    "imagenet": (0.05, 0.3, 3, 0.5, 14, 4, 0.85, tuple(float(i * 4 - 150) for i in range(31))),
    "tinyimagenet": (0.05, 0.3, 3, 0.5, 14, 4, 0.85,
                     tuple(float(i * 4 - 150) for i in range(31))),
    "cifar": (0.05, 0.3, 2, 0.5, 10, 2, 0.85, tuple(float(i * 4 - 150) for i in range(31))),
}
BRIGHTNESS = {
    "imagenet": tuple((i - 15) * 2 / 100.0 for i in range(31)),
    "tinyimagenet": tuple((i - 15) * 2 / 100.0 for i in range(31)),
    "cifar": tuple((i - 15) * 1.5 / 100.0 for i in range(31)),
}
# (loc, scale, sigma, threshold, drift kernel along the rows)
SPATTER = {
    "imagenet": (0.65, 0.27, 3.7, 0.69, (0.05, 0.1, 0.15, 0.7)),
    "tinyimagenet": (0.65, 0.27, 3.7, 0.69, (0.05, 0.1, 0.15, 0.7)),
    "cifar": (0.6, 0.265, 1.75, 0.7, (0.2, 0.8)),
}
SPATTER_FRAMES = 31
SPATTER_INTENSITY = 0.6


def _layer_draw(images: torch.Tensor, loc: float, scale: float,
                generator: torch.Generator | None) -> torch.Tensor:
    """One N(loc, scale) H x W layer per image (float64 N x H x W)."""
    generator = resolve_generator(generator, images.device)
    n, _, h, w = images.shape
    return torch.randn(n, h, w, generator=generator, device=images.device,
                       dtype=torch.float64) * scale + loc


def snow_frames(images: torch.Tensor, preset: str, layer: torch.Tensor) -> torch.Tensor:
    """Snow sequence for a given N(loc, scale) layer (N x H x W): uint8 N x 31 x C x H x W."""
    _, _, zoom, threshold, radius, sigma, blend, angles = SNOW[preset]
    rgb, gray_input = as_rgb(images)
    n, c, h, w = rgb.shape
    t = len(angles)
    flakes = clipped_zoom(layer[:, None].to(images.device, torch.float64), float(zoom))
    flakes = torch.where(flakes < threshold, 0.0, flakes)
    flakes = torch.trunc(flakes.clamp(0, 1) * 255)
    flakes = flakes[:, None].expand(n, t, 1, h, w).reshape(n * t, 1, h, w)
    per_frame = torch.tensor(angles, dtype=torch.float64, device=images.device).repeat(n)
    blurred = motion_blur_batch(flakes, radius, sigma, per_frame)
    blurred = imagemagick_8bit(blurred).div(255).reshape(n, t, 1, h, w)
    x = rgb.to(torch.float64) / 255.0
    weights = torch.tensor(_GRAY, dtype=torch.float32, device=images.device).view(1, 3, 1, 1)
    gray = (x.to(torch.float32) * weights).sum(1, keepdim=True) * 1.5 + 0.5
    x = blend * x + (1 - blend) * torch.maximum(x, gray.to(torch.float64))
    out = (x[:, None] + blurred + blurred.flip(-2, -1)).clamp(0, 1) * 255
    return from_rgb(to_uint8(out).reshape(n * t, c, h, w), gray_input).reshape(n, t, -1, h, w)


@register_kernel("snow")
def snow(images: torch.Tensor, difficulty: int, preset: str,
         generator: torch.Generator | None) -> torch.Tensor:
    """Snow layer blurred at a sweeping angle (random layer; difficulty ignored)."""
    loc, scale = SNOW[preset][:2]
    return snow_frames(images, preset, _layer_draw(images, loc, scale, generator))


@register_kernel("brightness")
def brightness(images: torch.Tensor, difficulty: int, preset: str,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """V channel sweep in HSV (deterministic; difficulty ignored)."""
    rgb, gray_input = as_rgb(images)
    n, c, h, w = rgb.shape
    shifts = torch.tensor(BRIGHTNESS[preset], dtype=torch.float64, device=images.device)
    t = shifts.numel()
    x = rgb.to(torch.float64)
    hsv = rgb_to_hsv(x / exact_constant(255.0, x))[:, None].repeat(1, t, 1, 1, 1)
    hsv[:, :, 2] = (hsv[:, :, 2] + shifts.view(1, t, 1, 1)).clamp(0, 1)
    out = to_uint8(hsv_to_rgb(hsv.reshape(n * t, 3, h, w)) * 255)
    return from_rgb(out, gray_input).reshape(n, t, -1, h, w)


def drift(liquid: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """numpy ``convolve(column, kernel, mode='same')`` of every column of N x 1 x H x W."""
    k = kernel.numel()
    shift = (k - 1) // 2
    padded = F.pad(liquid, (0, 0, k - 1 - shift, shift))
    return F.conv2d(padded, kernel.flip(0).view(1, 1, k, 1))


def spatter_frames(images: torch.Tensor, preset: str, layer: torch.Tensor) -> torch.Tensor:
    """Spatter sequence for a given N(loc, scale) layer (N x H x W): uint8 N x 31 x C x H x W."""
    _, _, sigma, threshold, drift_kernel = SPATTER[preset]
    rgb, gray_input = as_rgb(images)
    n, c, h, w = rgb.shape
    liquid = gaussian_filter(layer[:, None].to(images.device, torch.float64), sigma)
    liquid = torch.where(liquid < threshold, 0.0, liquid)
    kernel = torch.tensor(drift_kernel, dtype=torch.float64, device=images.device)
    states = [liquid]
    for _ in range(SPATTER_FRAMES - 1):
        states.append(drift(states[-1], kernel))
    liquid = torch.stack(states, 1).reshape(n * SPATTER_FRAMES, 1, h, w)
    mask = (_water_mask(liquid) * SPATTER_INTENSITY).reshape(n, SPATTER_FRAMES, 1, h, w)
    colour = torch.tensor(WATER, dtype=torch.float32, device=images.device).view(1, 1, 3, 1, 1)
    x = rgb.to(torch.float32)[:, None] / 255.0
    out = to_uint8((x + mask * colour).clamp(0, 1) * 255).reshape(n * SPATTER_FRAMES, c, h, w)
    return from_rgb(out, gray_input).reshape(n, SPATTER_FRAMES, -1, h, w)


@register_kernel("spatter")
def spatter(images: torch.Tensor, difficulty: int, preset: str,
            generator: torch.Generator | None) -> torch.Tensor:
    """Water drops running down (random layer; difficulty ignored)."""
    loc, scale = SPATTER[preset][:2]
    return spatter_frames(images, preset, _layer_draw(images, loc, scale, generator))
