"""Frames per perturbation sequence and the registration helper shared by the sequence kernels.

Frame counts are those of Hendrycks' generators: 31 everywhere (noise sequences: the clean image
then 30 noisy frames), except translate (CIFAR 16, ImageNet 41) and CIFAR motion_blur (21).
``tinyimagenet`` follows the ImageNet recipe (make_imagenet_p.py) at the input's size.
"""

from __future__ import annotations

from typing import Callable

import torch

from corruptions.registry import CorruptionFn, register_sequence

_DEFAULT = {"imagenet": 31, "tinyimagenet": 31, "cifar": 31}
FRAMES = {
    "gaussian_noise": _DEFAULT, "shot_noise": _DEFAULT, "speckle_noise": _DEFAULT,
    "motion_blur": {"imagenet": 31, "tinyimagenet": 31, "cifar": 21},
    "zoom_blur": _DEFAULT, "gaussian_blur": _DEFAULT,
    "snow": _DEFAULT, "brightness": _DEFAULT, "spatter": _DEFAULT,
    "translate": {"imagenet": 41, "tinyimagenet": 41, "cifar": 16},
    "rotate": _DEFAULT, "tilt": _DEFAULT, "scale": _DEFAULT, "shear": _DEFAULT,
}


def frame_count(name: str, preset: str) -> int:
    """Number of frames T of perturbation ``name`` under a resolved ``preset``."""
    try:
        return FRAMES[name][preset]
    except KeyError:
        raise ValueError(
            f"no frame count for perturbation {name!r} with preset {preset!r}") from None


def register_kernel(name: str) -> Callable[[CorruptionFn], CorruptionFn]:
    """``register_sequence(name)``, with an empty batch answered by an empty N x T x C x H x W."""

    def wrap(fn: CorruptionFn) -> CorruptionFn:
        def kernel(images: torch.Tensor, difficulty: int, preset: str,
                   generator: torch.Generator | None) -> torch.Tensor:
            if images.shape[0] == 0:
                _, c, h, w = images.shape
                return images.new_empty((0, frame_count(name, preset), c, h, w))
            return fn(images, difficulty, preset, generator)

        kernel.__name__, kernel.__doc__ = fn.__name__, fn.__doc__
        register_sequence(name)(kernel)
        return fn

    return wrap
