"""JPEG compression corruption: encode at the severity's quality and decode.

The reference uses Pillow's encoder (libjpeg-turbo, 4:2:0 chroma subsampling, no optimisation)
and decodes with Pillow. Here Pillow encodes too (the same bytes; its encoder is faster than
torchvision's ``encode_jpeg`` on this build, which also gives the same bytes) and torchvision's
``decode_jpeg`` decodes the whole batch (the same libjpeg-turbo decoder, at half of Pillow's
cost per image). Planes go to Pillow without a transposing copy (``Image.merge``) and come back
as one. Both ends run on the CPU on every device, so the bytes match the reference everywhere
(nvJPEG on a GPU is a different codec). The cost is that of libjpeg-turbo itself, as in the
reference. torchvision 0.29 deprecates ``decode_jpeg`` in favour of TorchCodec; the project
pins 0.29 and the tests check the outputs against Pillow, so the deprecation warning is
silenced here.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch
from PIL import Image
from torchvision.io import decode_jpeg

from corruptions.registry import register_corruption

JPEG_QUALITY = {
    "imagenet": (25, 18, 15, 10, 7),
    "tinyimagenet": (65, 58, 50, 40, 25),
    "cifar": (80, 65, 58, 50, 40),
}


def jpeg_roundtrip(images: torch.Tensor, quality: int) -> torch.Tensor:
    """Encode each uint8 C x H x W image (C = 1 or 3) as a baseline JPEG of ``quality``, decode."""
    encoded = []
    for planes in images.cpu().numpy():
        pil = (Image.fromarray(planes[0]) if len(planes) == 1
               else Image.merge("RGB", [Image.fromarray(p) for p in planes]))
        buffer = io.BytesIO()
        pil.save(buffer, "JPEG", quality=quality)
        encoded.append(torch.frombuffer(bytearray(buffer.getbuffer()), dtype=torch.uint8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        decoded = decode_jpeg(encoded)
    hwc = torch.stack([d.permute(1, 2, 0) for d in decoded]).numpy()
    return torch.from_numpy(np.ascontiguousarray(hwc.transpose(0, 3, 1, 2))).to(images.device)


@register_corruption("jpeg_compression")
def jpeg_compression(images: torch.Tensor, severity: int, preset: str,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """JPEG round trip at the preset's quality for ``severity`` (deterministic, exact)."""
    return jpeg_roundtrip(images, JPEG_QUALITY[preset][severity - 1])
