"""Image corruptions (ImageNet-C style) and perturbation sequences (ImageNet-P style).

Batched, device-agnostic torch implementations of Hendrycks & Dietterich's corruptions with the
published severity tables. Depends on torch/numpy/scipy only (never on robustbench_dm).
"""

from __future__ import annotations

import numpy as np
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


def get_corruption_names(subset: str = "common") -> list[str]:
    """Corruption names of ``subset``, as ``imagecorruptions.get_corruption_names``: ``common``
    (the 15 of ImageNet-C), ``validation`` (the 4 extra), ``all`` (all 19: the order
    ``corruption_number`` counts in), or one group: ``noise``, ``blur``, ``weather``, ``digital``."""
    subsets = {"common": CORRUPTIONS, "validation": EXTRA, "all": CORRUPTIONS + EXTRA, **GROUPS}
    if subset not in subsets:
        raise ValueError(f"unknown subset {subset!r}; expected one of: {', '.join(subsets)}")
    return list(subsets[subset])


def corrupt(
    image,
    corruption_name: str | None = None,
    severity: int = 1,
    corruption_number: int = -1,
    *,
    preset: str = "auto",
    generator: torch.Generator | None = None,
):
    """Corrupt ``image`` with corruption ``corruption_name`` (or number ``corruption_number`` of
    ``get_corruption_names("all")``) at ``severity`` (1..5); the call of ``imagecorruptions``.

    ``image`` is what ``imagecorruptions.corrupt`` takes, a numpy uint8 ``H x W x 3``,
    ``H x W x 1`` or ``H x W`` array, or a PIL image (mode ``RGB`` or ``L``), or a uint8 torch
    tensor ``C x H x W`` or ``N x C x H x W`` (C = 1 or 3) on any device; the result has the
    input's type, shape and device (grey images are corrupted as one channel).

    ``preset`` selects the published severity table (``imagenet``, ``tinyimagenet``, ``cifar``,
    or ``auto`` by image size). Randomness comes only from ``generator`` (on the image's
    device; ``None``: a freshly seeded one): every input form is corrupted by the same batched
    kernel, so the same generator state gives the same bytes as the N x C x H x W call.
    """
    name = _corruption_name(corruption_name, corruption_number)
    if isinstance(image, torch.Tensor):
        if image.ndim not in (3, 4):
            raise ValueError(
                "expected a uint8 C x H x W or N x C x H x W tensor, "
                f"got {image.dtype} tensor of shape {tuple(image.shape)}"
            )
        if image.ndim == 3:
            return _corrupt_batch(image.unsqueeze(0), name, severity, preset, generator)[0]
        return _corrupt_batch(image, name, severity, preset, generator)
    if isinstance(image, np.ndarray):
        return _corrupt_array(image, name, severity, preset, generator)
    pil = _pil_image_module(image)
    if pil is not None:
        if image.mode not in ("RGB", "L"):
            raise ValueError(f"expected a PIL image of mode RGB or L, got mode {image.mode!r}")
        out = _corrupt_array(np.asarray(image), name, severity, preset, generator)
        return pil.fromarray(out, mode=image.mode)
    raise ValueError(
        "expected a numpy uint8 array, a PIL image or a uint8 torch tensor, "
        f"got {type(image).__name__}"
    )


def _corruption_name(corruption_name: str | None, corruption_number: int) -> str:
    names = get_corruption_names("all")
    if corruption_name is not None:
        if not isinstance(corruption_name, str):
            raise ValueError(
                f"corruption_name must be a name such as 'fog', got {corruption_name!r} "
                "(imagecorruptions takes (image, severity, corruption_name) in that order: "
                "pass them by keyword)"
            )
        return corruption_name
    if corruption_number == -1:
        raise ValueError("either corruption_name or corruption_number must be passed")
    if not isinstance(corruption_number, int) or not 0 <= corruption_number < len(names):
        raise ValueError(
            f"corruption_number must be an integer in 0..{len(names) - 1}, got {corruption_number!r}"
        )
    return names[corruption_number]


def _pil_image_module(image):
    """``PIL.Image`` if ``image`` is a PIL image, else ``None`` (PIL is imported only then)."""
    if not type(image).__module__.startswith("PIL."):
        return None
    from PIL import Image

    return Image if isinstance(image, Image.Image) else None


def _corrupt_array(
    image: np.ndarray, name: str, severity: int, preset: str, generator
) -> np.ndarray:
    """A numpy H x W (x C) uint8 image through the batched kernel, back in the same shape."""
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (
        image.ndim == 3 and image.shape[2] not in (1, 3)
    ):
        raise ValueError(
            "expected a numpy uint8 H x W x 3, H x W x 1 or H x W array, "
            f"got {image.dtype} array of shape {image.shape}"
        )
    hwc = image if image.ndim == 3 else image[:, :, None]
    batch = torch.from_numpy(np.require(hwc, requirements=["C", "W"])).permute(2, 0, 1)[None]
    out = _corrupt_batch(batch, name, severity, preset, generator)[0].permute(1, 2, 0).numpy()
    return np.ascontiguousarray(out if image.ndim == 3 else out[:, :, 0])


def _corrupt_batch(
    images: torch.Tensor, name: str, severity: int, preset: str, generator
) -> torch.Tensor:
    """Corrupt a uint8 N x C x H x W batch (the one path every input form takes)."""
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
    "corrupt", "get_corruption_names", "sequence", "resolve_preset",
]
