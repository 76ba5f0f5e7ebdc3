"""Noise corruptions: gaussian_noise, shot_noise, impulse_noise, speckle_noise (HR formulas).

Each kernel draws its noise from the given ``torch.Generator`` and applies it with a pure
function (``apply_*``) that also accepts the reference's own draws, so the arithmetic can be
checked against the reference pixel for pixel. The arithmetic is done in float64 on
``x = images / 255`` exactly as the reference, including ``np.uint8(clip(.) * 255)`` truncation.
"""

from __future__ import annotations

import torch

from corruptions.registry import register_corruption

GAUSSIAN_NOISE = {
    "imagenet": (0.08, 0.12, 0.18, 0.26, 0.38),
    "tinyimagenet": (0.04, 0.08, 0.12, 0.15, 0.18),
    "cifar": (0.04, 0.06, 0.08, 0.09, 0.10),
}
SHOT_NOISE = {
    "imagenet": (60, 25, 12, 5, 3),
    "tinyimagenet": (250, 100, 50, 30, 15),
    "cifar": (500, 250, 100, 75, 50),
}
IMPULSE_NOISE = {
    "imagenet": (0.03, 0.06, 0.09, 0.17, 0.27),
    "tinyimagenet": (0.01, 0.02, 0.05, 0.08, 0.14),
    "cifar": (0.01, 0.02, 0.03, 0.05, 0.07),
}
SPECKLE_NOISE = {
    "imagenet": (0.15, 0.2, 0.35, 0.45, 0.6),
    "tinyimagenet": (0.15, 0.2, 0.25, 0.3, 0.35),
    "cifar": (0.06, 0.1, 0.12, 0.16, 0.2),
}


def resolve_generator(generator: torch.Generator | None, device: torch.device) -> torch.Generator:
    """``generator`` itself, or a freshly (non-deterministically) seeded one on ``device``."""
    if generator is not None:
        return generator
    fresh = torch.Generator(device=device)
    fresh.seed()
    return fresh


def _unit(images: torch.Tensor) -> torch.Tensor:
    return images.to(torch.float64) / 255.0


def _to_uint8(x01: torch.Tensor) -> torch.Tensor:
    """``np.uint8(np.clip(x, 0, 1) * 255)``: truncation, not rounding."""
    return (x01.clamp(0.0, 1.0) * 255.0).to(torch.uint8)


def apply_gaussian_noise(images: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """``uint8(clip(x + noise, 0, 1) * 255)`` with ``noise`` already scaled by the std."""
    return _to_uint8(_unit(images) + noise.to(torch.float64))


def apply_shot_noise(counts: torch.Tensor, rate: float) -> torch.Tensor:
    """``uint8(clip(counts / rate, 0, 1) * 255)`` where counts ~ Poisson(x * rate)."""
    return _to_uint8(counts.to(torch.float64) / float(rate))


def apply_speckle_noise(images: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """``uint8(clip(x + x * noise, 0, 1) * 255)`` with ``noise`` already scaled by the std."""
    x = _unit(images)
    return _to_uint8(x + x * noise.to(torch.float64))


def apply_impulse_noise(images: torch.Tensor, uniform: torch.Tensor, amount: float) -> torch.Tensor:
    """Salt and pepper (skimage ``random_noise(mode='s&p', salt_vs_pepper=0.5)``) per value.

    A value is flipped with probability ``amount`` (``uniform < amount``); flipped values become
    salt (1) for ``uniform < amount / 2`` and pepper (0) otherwise.
    """
    x = _unit(images)
    x = torch.where(uniform < amount / 2.0, 1.0, torch.where(uniform < amount, 0.0, x))
    return _to_uint8(x)


def _normal(images: torch.Tensor, std: float, generator: torch.Generator | None) -> torch.Tensor:
    generator = resolve_generator(generator, images.device)
    return torch.randn(images.shape, generator=generator, device=images.device,
                       dtype=torch.float64) * std


@register_corruption("gaussian_noise")
def gaussian_noise(images: torch.Tensor, severity: int, preset: str,
                   generator: torch.Generator | None) -> torch.Tensor:
    """HR gaussian_noise: x + N(0, c)."""
    std = GAUSSIAN_NOISE[preset][severity - 1]
    return apply_gaussian_noise(images, _normal(images, std, generator))


@register_corruption("shot_noise")
def shot_noise(images: torch.Tensor, severity: int, preset: str,
               generator: torch.Generator | None) -> torch.Tensor:
    """HR shot_noise: Poisson(x * c) / c."""
    rate = SHOT_NOISE[preset][severity - 1]
    generator = resolve_generator(generator, images.device)
    counts = torch.poisson(_unit(images) * rate, generator=generator)
    return apply_shot_noise(counts, rate)


@register_corruption("impulse_noise")
def impulse_noise(images: torch.Tensor, severity: int, preset: str,
                  generator: torch.Generator | None) -> torch.Tensor:
    """HR impulse_noise: salt-and-pepper with amount c, independently per value."""
    amount = IMPULSE_NOISE[preset][severity - 1]
    generator = resolve_generator(generator, images.device)
    uniform = torch.rand(images.shape, generator=generator, device=images.device,
                         dtype=torch.float64)
    return apply_impulse_noise(images, uniform, amount)


@register_corruption("speckle_noise")
def speckle_noise(images: torch.Tensor, severity: int, preset: str,
                  generator: torch.Generator | None) -> torch.Tensor:
    """HR speckle_noise: x + x * N(0, c)."""
    std = SPECKLE_NOISE[preset][severity - 1]
    return apply_speckle_noise(images, _normal(images, std, generator))
