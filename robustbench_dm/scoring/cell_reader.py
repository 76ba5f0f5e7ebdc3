"""Read one share ``[lo, hi)`` of a cell: the images a rank scores, decoded where it pays.

Every suite streams a cell through ``Suite.iter_cell``; a share of it is taken by slicing that
stream (the batches before ``lo`` are still produced, and dropped). Folder suites (ImageNet-C,
Tiny-ImageNet-C, ImageNet-3DCC) list their files per cell, so a rank decodes only its own
files, with the suite's own decoder on the CPU, or with torchvision's batched nvJPEG
``decode_jpeg(device="cuda")`` for JPEG cells fed as stored. The whole cell on the CPU is read
exactly as ``iter_cell`` yields it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import torch

from corruptions.codec import HAS_DEVICE_JPEG
from robustbench_dm.errors import UserError
from robustbench_dm.suites.base import Batch
from robustbench_dm.suites.folders import decode_batch
from robustbench_dm.suites.image_folder_c import ImageFolderCSuite

JPEG_SUFFIXES = (".jpeg", ".jpg")


@dataclass(frozen=True)
class FolderCell:
    """The files of one folder-suite cell (after the suite's ``limit``) and how to feed them."""

    paths: list[Path]
    labels: torch.Tensor
    preprocessing: str
    size: tuple[int, int] | None

    @property
    def jpeg_as_stored(self) -> bool:
        """Whether every file is a JPEG fed without resizing (what nvJPEG can decode)."""
        return self.preprocessing == "none" and all(
            p.suffix.lower() in JPEG_SUFFIXES for p in self.paths)


def folder_cell(suite, name: str, level: int) -> FolderCell | None:
    """The file listing of cell ``(name, level)`` of a folder suite (``None`` for other suites).

    Mirrors ``ImageFolderCSuite.iter_cell``: the clean cell gets AugMix's Resize + CenterCrop,
    the corrupted cells the suite's preprocessing; labels follow the suite's (stem, wnid) keys.
    """
    if not isinstance(suite, ImageFolderCSuite):
        return None
    total = suite.cell_size(name, level)
    if name == "clean":
        paths, preprocessing, size = list(suite.clean[:total]), "augmix", (224, 224)
    else:
        paths = [p for _, _, p in suite._listing(name, level)[:total]]
        preprocessing, size = suite.preprocessing, suite.size
    labels = torch.tensor([suite._class_index[w] for _, w in suite.keys[:total]], dtype=torch.int64)
    return FolderCell(paths, labels, preprocessing, size)


def can_gpu_decode(suite) -> bool:
    """Whether the corrupted cells of ``suite`` are JPEGs fed as stored (and this torchvision
    can decode them on a device)."""
    if not HAS_DEVICE_JPEG:
        return False
    cells = [c for c in suite.cells() if c[0] != "clean"]
    if not cells:
        return False
    first = folder_cell(suite, *cells[0])
    return first is not None and first.jpeg_as_stored


def _slice_stream(batches: Iterable[Batch], lo: int, hi: int) -> Iterator[Batch]:
    """The items ``[lo, hi)`` of a stream of batches (stops reading once past ``hi``)."""
    position = 0
    for data, labels, index in batches:
        n = int(labels.shape[0])
        a, b = max(lo - position, 0), min(hi - position, n)
        if a < b:
            yield (data, labels, index) if (a, b) == (0, n) else (data[a:b], labels[a:b], index[a:b])
        position += n
        if position >= hi:
            return


def _decode_nvjpeg(paths: list[Path], device: torch.device, size, stream) -> torch.Tensor:
    """Batched nvJPEG decode of ``paths`` on ``stream`` (synchronised before returning)."""
    from corruptions.codec import decode_jpeg, read_bytes

    data = [read_bytes(p) for p in paths]
    with torch.cuda.stream(stream):
        images = decode_jpeg(data, rgb=True, device=device)
        for path, image in zip(paths, images):
            if size is not None and tuple(image.shape[-2:]) != tuple(size):
                raise UserError(f"{path} is {image.shape[-1]}x{image.shape[-2]} px; expected "
                                f"{size[1]}x{size[0]} like the rest of the suite")
        batch = torch.stack(images)
    stream.synchronize()
    return batch


def _folder_batches(cell: FolderCell, lo: int, hi: int, batch_size: int,
                    gpu: torch.device | None) -> Iterator[Batch]:
    stream = torch.cuda.Stream(gpu) if gpu is not None else None
    for start in range(lo, hi, batch_size):
        stop = min(start + batch_size, hi)
        paths = cell.paths[start:stop]
        if gpu is not None:
            try:
                images = _decode_nvjpeg(paths, gpu, cell.size, stream)
            except RuntimeError:  # a JPEG nvJPEG cannot read: PIL decodes it (or says why not)
                images = decode_batch(paths, cell.preprocessing, cell.size)
        else:
            images = decode_batch(paths, cell.preprocessing, cell.size)
        yield images, cell.labels[start:stop], torch.arange(start, stop, dtype=torch.int64)


def read_share(suite, name: str, level: int, batch_size: int, lo: int, hi: int, *,
               gpu_decode: torch.device | None = None) -> Iterator[Batch]:
    """Batches of the items ``[lo, hi)`` of cell ``(name, level)`` (images, labels, index).

    ``gpu_decode``: the CUDA device on which to decode the JPEG cells of a folder suite that
    are fed as stored (other cells decode on the CPU).
    """
    total = suite.cell_size(name, level)
    if not 0 <= lo <= hi <= total:
        raise ValueError(f"share [{lo}, {hi}) outside cell {name}/{level} of {total} items")
    whole = (lo, hi) == (0, total)
    if whole and gpu_decode is None:
        return iter(suite.iter_cell(name, level, batch_size))
    cell = folder_cell(suite, name, level)
    if cell is not None:
        gpu = gpu_decode if cell.jpeg_as_stored else None
        return _folder_batches(cell, lo, hi, batch_size, gpu)
    return _slice_stream(suite.iter_cell(name, level, batch_size), lo, hi)
