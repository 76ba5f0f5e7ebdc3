"""JPEG compression corruption: encode at the severity's quality and decode.

The reference uses Pillow's encoder (libjpeg-turbo, 4:2:0 chroma subsampling, no optimisation)
and decodes with Pillow. Pillow and torchvision's ``encode_jpeg`` give the same bytes (checked
in the tests); torchvision encodes a list of small images faster (one call), Pillow large ones
(its libjpeg-turbo build is faster here; the crossover is near 128 x 128). torchvision's
``decode_jpeg`` decodes the whole batch (the same libjpeg-turbo decoder, at about half of
Pillow's cost per image). Both ends run on the CPU on every device, so the bytes match the
reference everywhere (nvJPEG on a GPU is a different codec). The codec calls go through
:mod:`corruptions.codec`, which falls back to Pillow where a torchvision no longer has them.
"""

from __future__ import annotations

import numpy as np
import torch

from corruptions.codec import decode_jpeg, encode_jpeg, pillow_jpeg
from corruptions.registry import register_corruption

JPEG_QUALITY = {
    "imagenet": (25, 18, 15, 10, 7),
    "tinyimagenet": (65, 58, 50, 40, 25),
    "cifar": (80, 65, 58, 50, 40),
}


# Images of at least this many pixels are encoded by Pillow, smaller ones by torchvision.
_PILLOW_MIN_PIXELS = 128 * 128


def jpeg_roundtrip(images: torch.Tensor, quality: int) -> torch.Tensor:
    """Encode each uint8 C x H x W image (C = 1 or 3) as a baseline JPEG of ``quality``, decode."""
    cpu = images.cpu().contiguous()
    if cpu.shape[-2] * cpu.shape[-1] < _PILLOW_MIN_PIXELS:
        encoded = encode_jpeg(list(cpu), quality=quality)
    else:
        encoded = [pillow_jpeg(planes, quality) for planes in cpu.numpy()]
    decoded = decode_jpeg(encoded)
    hwc = torch.stack([d.permute(1, 2, 0) for d in decoded]).numpy()
    return torch.from_numpy(np.ascontiguousarray(hwc.transpose(0, 3, 1, 2))).to(images.device)


@register_corruption("jpeg_compression")
def jpeg_compression(images: torch.Tensor, severity: int, preset: str,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """JPEG round trip at the preset's quality for ``severity`` (deterministic, exact)."""
    return jpeg_roundtrip(images, JPEG_QUALITY[preset][severity - 1])
