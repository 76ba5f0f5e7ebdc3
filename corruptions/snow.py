"""Snow corruption: a zoomed, thresholded, motion-blurred noise layer over a whitened image.

Follows the reference: a N(loc, scale) layer (H x W), ``clipped_zoom`` by the zoom parameter,
values below the threshold set to 0, clipped to [0, 1] and stored as 8-bit (truncation); the
ImageMagick motion blur (radius, sigma) at an angle U(-135, -45) as the batched port in
:mod:`corruptions.motion`, its output truncated to 8 bit (matches the reference's PNG round trip
best: max abs diff 1 given the same draws);
then ``x <- blend x + (1 - blend) max(x, gray(x) 1.5 + 0.5)`` (OpenCV RGB2GRAY weights) and
``clip(x + layer + rot180(layer))``.
"""

from __future__ import annotations

import torch

from corruptions.color import as_rgb, from_rgb, to_uint8
from corruptions.motion import motion_blur_batch, random_angles
from corruptions.noise import normal_layers, resolve_generator
from corruptions.presets import scale_count, scale_length
from corruptions.registry import register_corruption
from corruptions.zoom import clipped_zoom

# (loc, scale, zoom, threshold, blur radius, blur sigma, blend)
SNOW = {
    "imagenet": ((0.1, 0.3, 3, 0.5, 10, 4, 0.8), (0.2, 0.3, 2, 0.5, 12, 4, 0.7),
                 (0.55, 0.3, 4, 0.9, 12, 8, 0.7), (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65),
                 (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55)),
    "tinyimagenet": ((0.1, 0.2, 1, 0.6, 8, 3, 0.8), (0.1, 0.2, 1, 0.5, 10, 4, 0.8),
                     (0.15, 0.3, 1.75, 0.55, 10, 4, 0.7), (0.25, 0.3, 2.25, 0.6, 12, 6, 0.65),
                     (0.3, 0.3, 1.25, 0.65, 14, 12, 0.6)),
    "cifar": ((0.1, 0.2, 1, 0.6, 8, 3, 0.95), (0.1, 0.2, 1, 0.5, 10, 4, 0.9),
              (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9), (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85),
              (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8)),
}
# OpenCV COLOR_RGB2GRAY weights
_GRAY = (0.299, 0.587, 0.114)


def snow_layer(noise: torch.Tensor, angles: torch.Tensor, severity: int,
               preset: str) -> torch.Tensor:
    """The blurred snow layer in [0, 1] (float32 N x 1 x H x W) from a N(loc, scale) layer."""
    _, _, zoom, threshold, radius, sigma, _ = SNOW[preset][severity - 1]
    zoom, sigma = scale_length(zoom, preset), scale_length(sigma, preset)  # flake size, blur
    radius = scale_count(radius, preset)
    layer = clipped_zoom(noise[:, None].to(torch.float64), float(zoom))
    layer = torch.where(layer < threshold, 0.0, layer)
    layer = torch.trunc(layer.clamp(0, 1) * 255).to(torch.float32)
    blurred = motion_blur_batch(layer, radius, sigma, angles)
    return torch.trunc(blurred).clamp(0, 255) / 255.0


def snow_apply(images: torch.Tensor, severity: int, preset: str, noise: torch.Tensor,
               angles: torch.Tensor) -> torch.Tensor:
    """Snow for given draws: the N(loc, scale) layer (N x H x W) and blur angles (N, degrees)."""
    blend = SNOW[preset][severity - 1][6]
    rgb, gray_input = as_rgb(images)
    x = rgb.to(torch.float32) / 255.0
    layer = snow_layer(noise.to(images.device), angles.to(images.device), severity, preset)
    weights = torch.tensor(_GRAY, dtype=torch.float32, device=images.device).view(1, 3, 1, 1)
    gray = (x * weights).sum(1, keepdim=True)
    x = blend * x + (1 - blend) * torch.maximum(x, gray * 1.5 + 0.5)
    out = (x + layer + layer.flip(-2, -1)).clamp(0, 1)
    return from_rgb(to_uint8(out * 255), gray_input)


@register_corruption("snow")
def snow(images: torch.Tensor, severity: int, preset: str,
         generator: torch.Generator | None = None) -> torch.Tensor:
    """Falling snow: random noise layer and a random blur angle per image (random)."""
    loc, scale = SNOW[preset][severity - 1][:2]
    generator = resolve_generator(generator, images.device)
    noise = normal_layers(images, loc, scale, generator, torch.float64)
    angles = random_angles(images.shape[0], -135.0, -45.0, generator, images.device)
    return snow_apply(images, severity, preset, noise, angles)
