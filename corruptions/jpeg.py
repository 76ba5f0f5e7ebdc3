"""JPEG compression corruption: encode at the severity's quality and decode.

The reference uses Pillow's encoder (libjpeg-turbo, 4:2:0 chroma subsampling, no optimisation).
torchvision's ``encode_jpeg`` drives the same libjpeg-turbo with the same settings and produces
byte-identical files (checked against Pillow in the tests) at about a third of Pillow's cost per
image, and takes the whole batch as a list. Encoding always runs on the CPU so the bytes match
the reference on every device (nvJPEG on a GPU is a different encoder). torchvision 0.29
deprecates these functions in favour of TorchCodec; the project pins 0.29 and the tests check
the bytes against Pillow, so the deprecation warning is silenced here.
"""

from __future__ import annotations

import warnings

import torch
from torchvision.io import decode_jpeg, encode_jpeg

from corruptions.registry import register_corruption

JPEG_QUALITY = {
    "imagenet": (25, 18, 15, 10, 7),
    "tinyimagenet": (65, 58, 50, 40, 25),
    "cifar": (80, 65, 58, 50, 40),
}


def jpeg_roundtrip(images: torch.Tensor, quality: int) -> torch.Tensor:
    """Encode each uint8 C x H x W image as a baseline JPEG of ``quality`` and decode it."""
    cpu = list(images.cpu().contiguous())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        decoded = decode_jpeg(encode_jpeg(cpu, quality=quality))
    return torch.stack(decoded).to(images.device)


@register_corruption("jpeg_compression")
def jpeg_compression(images: torch.Tensor, severity: int, preset: str,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """JPEG round trip at the preset's quality for ``severity`` (deterministic, exact)."""
    return jpeg_roundtrip(images, JPEG_QUALITY[preset][severity - 1])
