"""Read one share ``[lo, hi)`` of a cell: the images a rank scores, decoded where it pays.

Every suite answers ``Suite.iter_share`` with random access (array slices, file listings,
generated chunks by their key, videos by index), so a rank reads or makes only its own items.
Folder suites of JPEGs fed as stored can decode on a CUDA device with torchvision's batched
nvJPEG (``gpu_decode``).
"""

from __future__ import annotations

from typing import Iterator

import torch

from corruptions.codec import has_device_jpeg
from robustbench_dm.suites.base import Batch


def can_gpu_decode(suite) -> bool:
    """Whether the corrupted cells of ``suite`` are JPEGs fed as stored (and this torchvision
    can decode them on a device)."""
    jpeg_as_stored = getattr(suite, "jpeg_as_stored", None)
    if not has_device_jpeg() or jpeg_as_stored is None:
        return False
    cells = [c for c in suite.cells() if c[0] != "clean"]
    return bool(cells) and jpeg_as_stored(*cells[0])


def read_share(suite, name: str, level: int, batch_size: int, lo: int, hi: int, *,
               gpu_decode: torch.device | None = None) -> Iterator[Batch]:
    """Batches of the items ``[lo, hi)`` of cell ``(name, level)`` (images, labels, index).

    ``gpu_decode``: the CUDA device on which to decode the JPEG cells of a folder suite that
    are fed as stored (other cells decode on the CPU).
    """
    return suite.iter_share(name, level, lo, hi, batch_size, gpu_decode=gpu_decode)
