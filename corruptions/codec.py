"""JPEG coding across the supported torchvision range, in one place.

Where this torchvision has ``torchvision.io.encode_jpeg`` / ``decode_jpeg`` (libjpeg-turbo on the
CPU, nvJPEG on CUDA), they are used: batched, and the only GPU codec. torchvision 0.29
deprecates them in favour of TorchCodec and a later release removes them; there the CPU paths
fall back to Pillow, which wraps the same libjpeg-turbo (the same bytes and pixels: tested), and
:func:`has_device_jpeg` is false so callers take the CPU path on every device. The deprecation
warning is left as torchvision raises it (Python shows it where a user asks for deprecations).
"""

from __future__ import annotations

import functools
import io
import os

import numpy as np
import torch
from PIL import Image


@functools.cache
def torchvision_jpeg() -> tuple | None:
    """``(ImageReadMode, decode_jpeg, encode_jpeg)`` of ``torchvision.io``, or None where this
    torchvision no longer has them. Imported on first use: importing torchvision costs every
    process about a second of CPU, which a command that never codes JPEG need not pay."""
    try:  # torchvision <= 0.29 (deprecated from 0.29); absent where a later torchvision removed it
        from torchvision.io import ImageReadMode, decode_jpeg, encode_jpeg
    except ImportError:  # pragma: no cover - depends on the installed torchvision
        return None
    return ImageReadMode, decode_jpeg, encode_jpeg


def has_device_jpeg() -> bool:
    """Whether JPEG can be encoded and decoded on a CUDA device (nvJPEG through torchvision)."""
    return torchvision_jpeg() is not None


def encode_jpeg(images: list[torch.Tensor], quality: int) -> list[torch.Tensor]:
    """Baseline JPEG bytes (uint8 1-D tensors) of uint8 C x H x W images (C = 1 or 3), 4:2:0,
    as Pillow's ``save(..., "JPEG", quality=quality)`` writes them. CPU images are encoded by
    libjpeg-turbo; images on a CUDA device by nvJPEG (other bytes) where available."""
    tv = torchvision_jpeg()
    if tv is not None:
        return tv[2](images, quality=quality)
    return [pillow_jpeg(image.cpu().numpy(), quality) for image in images]


def pillow_jpeg(planes: np.ndarray, quality: int) -> torch.Tensor:
    """The JPEG bytes of uint8 C x H x W ``planes`` by Pillow (planes merged without a copy)."""
    pil = (Image.fromarray(planes[0]) if len(planes) == 1
           else Image.merge("RGB", [Image.fromarray(p) for p in planes]))
    buffer = io.BytesIO()
    pil.save(buffer, "JPEG", quality=quality)
    return torch.frombuffer(bytearray(buffer.getbuffer()), dtype=torch.uint8)


def decode_jpeg(data: list[torch.Tensor], *, rgb: bool = False,
                device: torch.device | str = "cpu") -> list[torch.Tensor]:
    """Decode JPEG bytes (uint8 1-D CPU tensors) to uint8 C x H x W images on ``device`` (C as
    stored, or 3 with ``rgb``). CUDA decodes with nvJPEG and needs :func:`has_device_jpeg`."""
    device = torch.device(device)
    tv = torchvision_jpeg()
    if tv is not None:
        read_mode, decode, _ = tv
        if device.type == "cuda":
            # torchvision allocates the outputs on the current stream but writes them on a stream
            # of its own that does not wait for it: memory that kernels queued on the current
            # stream still read could be overwritten (pytorch/vision#9606). Let them finish first.
            torch.cuda.current_stream(device).synchronize()
        return decode(data, mode=read_mode.RGB if rgb else read_mode.UNCHANGED, device=device)
    if device.type != "cpu":
        raise RuntimeError("this torchvision has no JPEG codec for devices; decode on the CPU")
    return [_pillow_decode(bytes(d.numpy()), rgb) for d in data]


def _pillow_decode(data: bytes, rgb: bool) -> torch.Tensor:
    image = Image.open(io.BytesIO(data))
    if rgb:
        image = image.convert("RGB")
    array = np.asarray(image)
    array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    return torch.from_numpy(np.require(array, requirements=("C", "W")))  # PIL arrays are read-only


def read_bytes(path: str | os.PathLike) -> torch.Tensor:
    """A file's bytes as a uint8 1-D tensor (the input of :func:`decode_jpeg`)."""
    with open(path, "rb") as f:
        return torch.frombuffer(bytearray(f.read()), dtype=torch.uint8)
