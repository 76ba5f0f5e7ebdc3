"""Noise corruptions: gaussian_noise, shot_noise, impulse_noise, speckle_noise (HR formulas).

Each kernel draws its noise from the given ``torch.Generator`` and applies it with a pure
function (``apply_*``) that also accepts the reference's own draws, so the arithmetic can be
checked against the reference pixel for pixel. The reference works in float64 on ``x / 255``
and truncates with ``np.uint8(clip(.) * 255)``; the Gaussian and speckle kernels do the same
arithmetic in float32 on the 0..255 scale (within the exact bar: a value flips only when it lies
within ~1e-5 of an integer), shot noise keeps the float64 formula through a 0..rate lookup table.

shot_noise samples without a Poisson draw per value: the input is uint8, so for each of the 256
input levels the output byte ``uint8(255 clip(k / rate, 0, 1))`` with k ~ Poisson(x rate) has a
256-bin distribution. It is computed once per rate in float64 and sampled by the alias method
(one float64 uniform and two table lookups per value), which is the same distribution as the
reference's ``np.random.poisson`` followed by its arithmetic.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch

from corruptions.chunks import items_per_chunk
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


# Values per chunk of work for the memory-bound samplers (keeps temporaries in cache).
_CHUNK = 1 << 16


def resolve_generator(generator: torch.Generator | None, device: torch.device) -> torch.Generator:
    """``generator`` itself, or a freshly (non-deterministically) seeded one on ``device``."""
    if generator is not None:
        return generator
    fresh = torch.Generator(device=device)
    fresh.seed()
    return fresh


def normal_layers(images: torch.Tensor, loc: float, scale: float, generator: torch.Generator | None,
                  dtype: torch.dtype) -> torch.Tensor:
    """One ``N(loc, scale)`` layer per image, ``(n, h, w)`` in ``dtype`` on the images' device: the
    random liquid of spatter and the snow layer."""
    n, _, h, w = images.shape
    generator = resolve_generator(generator, images.device)
    return torch.randn(n, h, w, generator=generator, device=images.device, dtype=dtype).mul_(scale).add_(loc)


def _to_uint8_255(x: torch.Tensor) -> torch.Tensor:
    """``np.uint8(np.clip(x, 0, 255))`` for a float tensor on the 0..255 scale (in place)."""
    return x.clamp_(0.0, 255.0).to(torch.uint8)


def apply_gaussian_noise(images: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """``uint8(clip(x + noise, 0, 1) * 255)`` with ``noise`` already scaled by the std."""
    out = noise.to(device=images.device, dtype=torch.float32).mul(255.0).add_(images)
    return _to_uint8_255(out)


@lru_cache(maxsize=64)
def _shot_levels(rate: float, device: torch.device) -> torch.Tensor:
    """``uint8(clip(k / rate, 0, 1) * 255)`` for k = 0 .. ceil(rate) in float64 (as the reference)."""
    k = torch.arange(int(math.ceil(rate)) + 1, dtype=torch.float64)
    return (k / float(rate)).clamp(0.0, 1.0).mul(255.0).to(torch.uint8).to(device)


def apply_shot_noise(counts: torch.Tensor, rate: float) -> torch.Tensor:
    """``uint8(clip(counts / rate, 0, 1) * 255)`` where counts ~ Poisson(x * rate)."""
    levels = _shot_levels(float(rate), counts.device)
    index = counts.clamp(0, levels.numel() - 1).to(torch.long)
    return levels[index]


@lru_cache(maxsize=64)
def _shot_alias_table(rate: float, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Alias tables (acceptance probability, alias byte) of the shot-noise output per input byte.

    Row ``v`` is the distribution of ``uint8(255 clip(k / rate, 0, 1))`` for k ~ Poisson(
    (v / 255) * rate), from the Poisson pmf in float64 (support cut where the tail is < 1e-300).
    Both tables are flat, 256 * 256 entries, indexed ``v * 256 + bin``.
    """
    lam = torch.arange(256, dtype=torch.float64) / 255.0 * float(rate)
    kmax = int(math.ceil(rate + 40 * math.sqrt(rate) + 60))
    k = torch.arange(kmax + 1, dtype=torch.float64)
    logpmf = k * torch.log(lam[:, None].clamp(min=1e-300)) - lam[:, None] - torch.lgamma(k + 1)
    pmf = torch.exp(logpmf)  # row 0 (lambda = 0): 1 at k = 0, exp(-690 k) = 0 elsewhere
    levels = (k / float(rate)).clamp(0.0, 1.0).mul(255.0).to(torch.long)
    probs = torch.zeros(256, 256, dtype=torch.float64).index_add_(1, levels, pmf)
    probs = (probs / probs.sum(1, keepdim=True)).numpy()
    accept = torch.ones(256, 256, dtype=torch.float64)
    alias = torch.arange(256).repeat(256, 1)
    for v in range(256):  # Vose's alias method, one row per input byte
        scaled = list(probs[v] * 256)
        small = [b for b in range(256) if scaled[b] < 1.0]
        large = [b for b in range(256) if scaled[b] >= 1.0]
        while small and large:
            s, g = small.pop(), large.pop()
            accept[v, s] = scaled[s]
            alias[v, s] = g
            scaled[g] = (scaled[g] + scaled[s]) - 1.0
            (small if scaled[g] < 1.0 else large).append(g)
    return accept.reshape(-1).to(device), alias.reshape(-1).to(torch.uint8).to(device)


def sample_shot_noise(images: torch.Tensor, rate: float, uniform: torch.Tensor) -> torch.Tensor:
    """Shot-noise output bytes for uint8 ``images`` from float64 uniforms in [0, 1) (same shape)."""
    accept, alias = _shot_alias_table(float(rate), images.device)
    scaled = uniform * 256.0
    column = scaled.floor()
    index = images.to(torch.float64).mul_(256.0).add_(column).to(torch.long)
    keep = scaled.sub_(column) < accept[index]
    return torch.where(keep, column.to(torch.uint8), alias[index])


def apply_speckle_noise(images: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """``uint8(clip(x + x * noise, 0, 1) * 255)`` with ``noise`` already scaled by the std."""
    out = noise.to(device=images.device, dtype=torch.float32).add(1.0).mul_(images)
    return _to_uint8_255(out)


def apply_impulse_noise(images: torch.Tensor, uniform: torch.Tensor, amount: float) -> torch.Tensor:
    """Salt and pepper (skimage ``random_noise(mode='s&p', salt_vs_pepper=0.5)``) per value.

    A value is flipped with probability ``amount`` (``uniform < amount``); flipped values become
    salt (255) for ``uniform < amount / 2`` and pepper (0) otherwise.
    """
    salt = torch.full((), 255, dtype=torch.uint8, device=images.device)
    pepper = torch.zeros((), dtype=torch.uint8, device=images.device)
    return torch.where(uniform < amount / 2.0, salt,
                       torch.where(uniform < amount, pepper, images))


def _normal(images: torch.Tensor, std: float, generator: torch.Generator | None) -> torch.Tensor:
    generator = resolve_generator(generator, images.device)
    return torch.randn(images.shape, generator=generator, device=images.device,
                       dtype=torch.float32).mul_(std)


@register_corruption("gaussian_noise")
def gaussian_noise(images: torch.Tensor, severity: int, preset: str,
                   generator: torch.Generator | None) -> torch.Tensor:
    """HR gaussian_noise: x + N(0, c)."""
    std = GAUSSIAN_NOISE[preset][severity - 1]
    return apply_gaussian_noise(images, _normal(images, std, generator))


@register_corruption("shot_noise")
def shot_noise(images: torch.Tensor, severity: int, preset: str,
               generator: torch.Generator | None) -> torch.Tensor:
    """HR shot_noise: Poisson(x * c) / c (sampled per input byte, see the module docstring).

    Works through the batch a few images at a time so the float64 temporaries stay in cache;
    the uniforms are drawn image by image in order either way.
    """
    rate = SHOT_NOISE[preset][severity - 1]
    generator = resolve_generator(generator, images.device)
    step = items_per_chunk(len(images), images[0].numel(), _CHUNK, images.device)
    parts = []
    for chunk in images.split(step):
        uniform = torch.rand(chunk.shape, generator=generator, device=images.device,
                             dtype=torch.float64)
        parts.append(sample_shot_noise(chunk, rate, uniform))
    return torch.cat(parts)


@register_corruption("impulse_noise")
def impulse_noise(images: torch.Tensor, severity: int, preset: str,
                  generator: torch.Generator | None) -> torch.Tensor:
    """HR impulse_noise: salt-and-pepper with amount c, independently per value."""
    amount = IMPULSE_NOISE[preset][severity - 1]
    generator = resolve_generator(generator, images.device)
    uniform = torch.rand(images.shape, generator=generator, device=images.device,
                         dtype=torch.float32)
    return apply_impulse_noise(images, uniform, amount)


@register_corruption("speckle_noise")
def speckle_noise(images: torch.Tensor, severity: int, preset: str,
                  generator: torch.Generator | None) -> torch.Tensor:
    """HR speckle_noise: x + x * N(0, c)."""
    std = SPECKLE_NOISE[preset][severity - 1]
    return apply_speckle_noise(images, _normal(images, std, generator))
