"""Image corruptions (ImageNet-C style) and perturbation sequences (ImageNet-P style).

Batched, device-agnostic torch implementations of Hendrycks & Dietterich's corruptions with the
published severity tables. Depends on torch/numpy/scipy only (never on robustbench_dm).
"""

from __future__ import annotations

import torch

from corruptions.presets import PRESETS, resolve_preset
from corruptions.registry import corruption_kernel, sequence_kernel

# Kernel modules register themselves on import.
# -- kernels: noise, blur, zoom, glass, sequences --
import corruptions.sequences  # noqa: F401
import corruptions.noise  # noqa: F401
import corruptions.defocus  # noqa: F401
import corruptions.glass  # noqa: F401
import corruptions.motion  # noqa: F401
import corruptions.zoom  # noqa: F401
import corruptions.gaussian_blur  # noqa: F401
# -- kernels: weather, digital, motion --
import corruptions.snow  # noqa: F401
import corruptions.frost  # noqa: F401
import corruptions.fog  # noqa: F401
import corruptions.color  # noqa: F401
import corruptions.contrast  # noqa: F401
import corruptions.elastic  # noqa: F401
import corruptions.pixelate  # noqa: F401
import corruptions.jpeg  # noqa: F401
import corruptions.spatter  # noqa: F401

CORRUPTIONS = (
    "gaussian_noise", "shot_noise", "impulse_noise",
    "defocus_blur", "glass_blur", "motion_blur", "zoom_blur",
    "snow", "frost", "fog", "brightness",
    "contrast", "elastic_transform", "pixelate", "jpeg_compression",
)
EXTRA = ("speckle_noise", "gaussian_blur", "spatter", "saturate")
PERTURBATIONS = (
    "gaussian_noise", "shot_noise", "motion_blur", "zoom_blur", "snow", "brightness",
    "translate", "rotate", "tilt", "scale",
    "speckle_noise", "gaussian_blur", "spatter", "shear",
)
GROUPS = {
    "noise": CORRUPTIONS[0:3],
    "blur": CORRUPTIONS[3:7],
    "weather": CORRUPTIONS[7:11],
    "digital": CORRUPTIONS[11:15],
}


def _check_images(images: torch.Tensor) -> None:
    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or images.ndim != 4:
        got = f"{images.dtype} tensor of shape {tuple(images.shape)}" if isinstance(
            images, torch.Tensor) else type(images).__name__
        raise ValueError(f"expected a uint8 N x C x H x W tensor, got {got}")
    if images.shape[1] not in (1, 3):
        raise ValueError(f"expected 1 or 3 channels (N x C x H x W), got shape {tuple(images.shape)}")


def corrupt(
    images: torch.Tensor,
    name: str,
    severity: int,
    *,
    preset: str = "auto",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Corrupt a uint8 N x C x H x W batch with corruption ``name`` at ``severity`` (1..5).

    ``preset`` selects the published severity table (``imagenet``, ``tinyimagenet``, ``cifar``,
    or ``auto`` by image size). Randomness comes only from ``generator``: the same generator
    state gives the same bytes on the same device.
    """
    kernel = corruption_kernel(name)
    _check_images(images)
    if int(severity) != severity or not 1 <= severity <= 5:
        raise ValueError(f"severity must be an integer in 1..5, got {severity!r}")
    resolved = resolve_preset(preset, images.shape[-2], images.shape[-1])
    if images.shape[0] == 0:
        return images.clone()
    return kernel(images, int(severity), resolved, generator)


def sequence(
    images: torch.Tensor,
    name: str,
    *,
    difficulty: int = 1,
    preset: str = "auto",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Perturbation sequences (ImageNet-P style): uint8 N x C x H x W -> N x T x C x H x W."""
    kernel = sequence_kernel(name)
    _check_images(images)
    if difficulty not in (1, 2, 3):
        raise ValueError(f"difficulty must be 1, 2 or 3, got {difficulty!r}")
    resolved = resolve_preset(preset, images.shape[-2], images.shape[-1])
    return kernel(images, difficulty, resolved, generator)


__all__ = [
    "CORRUPTIONS", "EXTRA", "PERTURBATIONS", "GROUPS", "PRESETS",
    "corrupt", "sequence", "resolve_preset",
]
