"""The shared base transform every built-in method applies first (batched, on device).

CIFAR scale: random crop with 4 px zero padding and random horizontal flip (AugMix ``cifar.py``).
ImageNet scale: the data loader already did RandomResizedCrop(224), so only the random flip.
"""

from __future__ import annotations

import torch

from robustbench_dm.methods.functional import crop_padded_image, hflip_image

CROP_PADDING = 4


def random_crop(images: torch.Tensor, generator: torch.Generator, padding: int = CROP_PADDING):
    """torchvision ``RandomCrop(size, padding)`` with per-sample offsets (uint8 NCHW)."""
    n = images.shape[0]
    offsets = torch.randint(
        0, 2 * padding + 1, (2, n), generator=generator, device=generator.device
    )
    return crop_padded_image(images, offsets[0], offsets[1], padding)


def random_hflip(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2."""
    flip = torch.rand(images.shape[0], generator=generator, device=generator.device) < 0.5
    return torch.where(flip.to(images.device).view(-1, 1, 1, 1), hflip_image(images), images)


def base_transform(images: torch.Tensor, scale: str, generator: torch.Generator) -> torch.Tensor:
    """Crop (``cifar`` scale only) and flip a uint8 batch."""
    if scale == "cifar":
        images = random_crop(images, generator)
    return random_hflip(images, generator)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 0..255 -> float32 in [0, 1] (what models take)."""
    return images.float().div_(255.0)


__all__ = ["CROP_PADDING", "base_transform", "random_crop", "random_hflip", "to_float"]
