"""Noise sequences: the clean image, then 30 frames with fresh noise each (gaussian, shot, speckle).

Per difficulty 1/2/3 (the released ``<name>``, ``<name>_2``, ``<name>_3`` sequences):
CIFAR-10-P (make_cifar_p.py) gaussian sigma .02/.04/.06, shot rate 700/400/200, speckle sigma
.05/.07/.1; ImageNet-P (make_imagenet_p.py) gaussian .03/.05/.08, shot 300/120/60, speckle
.05/.10/.15. Gaussian noise follows the reference's torch arithmetic (float32
``clamp(x + sigma * randn)``, truncated); with a CPU generator seeded like the reference's
``torch.manual_seed`` the frames are the reference's bytes. Shot and speckle noise follow its
numpy float64 arithmetic (the noise.py kernels), with draws from the torch generator.
Noise for an image is drawn as one N x 30 x C x H x W tensor, image by image in order.
"""

from __future__ import annotations

import torch

from corruptions.noise import apply_shot_noise, apply_speckle_noise, resolve_generator
from corruptions.sequences.frames import register_kernel

GAUSSIAN_NOISE = {
    "imagenet": (0.03, 0.05, 0.08),
    "tinyimagenet": (0.03, 0.05, 0.08),
    "cifar": (0.02, 0.04, 0.06),
}
SHOT_NOISE = {
    "imagenet": (300, 120, 60),
    "tinyimagenet": (300, 120, 60),
    "cifar": (700, 400, 200),
}
SPECKLE_NOISE = {
    "imagenet": (0.05, 0.10, 0.15),
    "tinyimagenet": (0.05, 0.10, 0.15),
    "cifar": (0.05, 0.07, 0.1),
}
NOISY_FRAMES = 30


def with_clean_first(images: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
    """Prepend the clean images (N x C x H x W) to frames (N x T x C x H x W)."""
    return torch.cat((images[:, None], frames), 1)


def _repeat(images: torch.Tensor) -> torch.Tensor:
    return images[:, None].expand(-1, NOISY_FRAMES, -1, -1, -1)


def gaussian_noise_frames(images: torch.Tensor, std: float, normal: torch.Tensor) -> torch.Tensor:
    """Clean frame + ``uint8(clamp(x + std * normal, 0, 1) * 255)`` in float32.

    ``normal`` holds standard normal draws, N x 30 x C x H x W.
    """
    x = images.to(torch.float32).div(255)[:, None]
    noisy = torch.clamp(x + std * normal.to(torch.float32), 0, 1).mul(255).to(torch.uint8)
    return with_clean_first(images, noisy)


def shot_noise_frames(images: torch.Tensor, rate: float, counts: torch.Tensor) -> torch.Tensor:
    """Clean frame + ``uint8(255 clip(counts / rate, 0, 1))``.

    ``counts`` ~ Poisson(x rate), N x 30 x C x H x W.
    """
    return with_clean_first(images, apply_shot_noise(counts, rate))


def speckle_noise_frames(images: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Clean frame + ``uint8(255 clip(x + x noise, 0, 1))``.

    ``noise`` = std * N(0, 1), N x 30 x C x H x W (float64).
    """
    return with_clean_first(images, apply_speckle_noise(_repeat(images), noise))


def _draw_shape(images: torch.Tensor) -> tuple[int, ...]:
    n, c, h, w = images.shape
    return (n, NOISY_FRAMES, c, h, w)


@register_kernel("gaussian_noise")
def gaussian_noise(images: torch.Tensor, difficulty: int, preset: str,
                   generator: torch.Generator | None) -> torch.Tensor:
    """Clean frame, then 30 frames of x + N(0, sigma) (sigma by difficulty)."""
    generator = resolve_generator(generator, images.device)
    normal = torch.randn(_draw_shape(images), generator=generator, device=images.device,
                         dtype=torch.float32)
    return gaussian_noise_frames(images, GAUSSIAN_NOISE[preset][difficulty - 1], normal)


@register_kernel("shot_noise")
def shot_noise(images: torch.Tensor, difficulty: int, preset: str,
               generator: torch.Generator | None) -> torch.Tensor:
    """Clean frame, then 30 frames of Poisson(x c) / c (rate c by difficulty)."""
    rate = SHOT_NOISE[preset][difficulty - 1]
    generator = resolve_generator(generator, images.device)
    rates = _repeat(images).to(torch.float64) / 255.0 * rate
    return shot_noise_frames(images, rate, torch.poisson(rates, generator=generator))


@register_kernel("speckle_noise")
def speckle_noise(images: torch.Tensor, difficulty: int, preset: str,
                  generator: torch.Generator | None) -> torch.Tensor:
    """Clean frame, then 30 frames of x + x N(0, sigma) (sigma by difficulty)."""
    std = SPECKLE_NOISE[preset][difficulty - 1]
    generator = resolve_generator(generator, images.device)
    noise = torch.randn(_draw_shape(images), generator=generator, device=images.device,
                        dtype=torch.float64) * std
    return speckle_noise_frames(images, noise)
