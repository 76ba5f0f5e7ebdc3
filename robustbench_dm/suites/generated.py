"""Suites made on the fly from a clean set with the ``corruptions`` library (seeded).

Determinism: images are corrupted in fixed chunks of ``chunk_size`` consecutive clean images
(a function of the image size only, recorded in the metadata). Chunk k of cell (name, level) uses
``torch.Generator(device).manual_seed(derive_seed(seed, name, level, k))``; ``iter_share`` makes
only the chunks overlapping its share and re-batches them. So the bytes depend on the seed only --
not on ``batch_size``, the share, or ``limit`` (a chunk cut by ``limit`` is still computed whole,
then sliced); ranks share a cell in whole chunks. For -P suites, only noise perturbations have
per-difficulty videos; other perturbations give the same videos at every difficulty (the
difficulty is then only the comparison stride, as in ImageNet-P).
"""

from __future__ import annotations

import hashlib
from importlib.metadata import version
from typing import Iterator, Sequence

import torch

import corruptions
from corruptions.presets import scaled_preset
from corruptions.registry import corruption_kernel, sequence_kernel
from robustbench_dm.devices import resolve_device
from robustbench_dm.errors import UserError
from robustbench_dm.metrics import is_noise_perturbation
from robustbench_dm.suites.base import Batch, Suite, subset_metadata
from robustbench_dm.suites.provenance import clean_cell_fingerprint, clean_fingerprint, generated_key, provenance

CHUNK_PIXELS_C = 2 ** 20  # 1024 images per chunk at 32 px
CHUNK_PIXELS_P = 2 ** 16  # 64 videos per chunk at 32 px


def derive_seed(seed: int, name: str, level: int, chunk: int) -> int:
    """A 63-bit seed for one chunk of one cell, stable across runs, platforms and versions."""
    digest = hashlib.sha256(f"{int(seed)}/{name}/{int(level)}/{int(chunk)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & (2 ** 63 - 1)


def generator_version() -> str:
    """Version of the distribution that ships the ``corruptions`` library."""
    return version("robustbench_dm")


def check_available(names: Sequence[str], kind: str) -> None:
    """Every name must have a registered kernel (``kind`` "c" or "p")."""
    lookup = corruption_kernel if kind == "c" else sequence_kernel
    for name in names:
        try:
            lookup(name)
        except ValueError as err:
            raise UserError(f"cannot generate {name!r}: {err}") from None


def _rebatch(chunks: Iterator[Batch], batch_size: int) -> Iterator[Batch]:
    """Re-cut a stream of (images, labels, index) chunks into batches of ``batch_size``."""
    buffer: Batch | None = None
    for chunk in chunks:
        buffer = chunk if buffer is None else tuple(torch.cat([b, c]) for b, c in zip(buffer, chunk))
        start, total = 0, len(buffer[1])
        while total - start >= batch_size:
            yield tuple(b[start:start + batch_size] for b in buffer)
            start += batch_size
        buffer = tuple(b[start:] for b in buffer) if start < total else None
    if buffer is not None:
        yield buffer


class GeneratedSuite(Suite):
    """A -C (``kind="c"``) or -P (``kind="p"``) suite corrupted on the fly from clean images.

    ``images`` is a uint8 N x 3 x H x W tensor or anything that slices like one into tensors
    (e.g. ``ImageNetFolder``, which decodes on demand).
    """

    def __init__(
        self,
        name: str,
        kind: str,
        images,
        labels: torch.Tensor,
        num_classes: int,
        *,
        names: Sequence[str],
        levels: Sequence[int],
        complete: bool,
        limit: int | None,
        seed: int,
        preset: str,
        source: dict,
        device: str = "cpu",
        rescale: bool = False,
        options: dict | None = None,
    ):
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise UserError(f"invalid seed {seed!r}; expected an integer")
        check_available(names, kind)
        self.device = resolve_device(device)
        self.name, self.kind, self.num_classes = name, kind, num_classes
        self.images, self.labels = images, labels
        self.names, self.levels = list(names), list(levels)
        self.limit, self.seed, self.preset, self.source = limit, seed, preset, source
        self._complete = complete
        self.rescale = bool(rescale)  # spatial parameters scaled to the image size (docs/resolution.md)
        self.options = dict(options or {})  # byte-changing options beyond today's defaults
        pixels = images[0:1].shape[-2] * images[0:1].shape[-1]
        self.chunk_size = max(1, (CHUNK_PIXELS_C if kind == "c" else CHUNK_PIXELS_P) // pixels)

    def cells(self) -> list[tuple[str, int]]:
        first = [("clean", 0)] if self.kind == "c" else []
        return first + [(n, lv) for n in self.names for lv in self.levels]

    def cell_size(self, name: str, level: int) -> int:
        self._check_cell(name, level)
        return min(self.limit or len(self.labels), len(self.labels))

    def _make(self, name: str, level: int, chunk: int, images: torch.Tensor) -> torch.Tensor:
        if name == "clean":
            return images
        if self.kind == "p" and not is_noise_perturbation(name):
            level = 1  # only noise has per-difficulty videos; otherwise difficulty is a stride
        gen = torch.Generator(device=self.device).manual_seed(derive_seed(self.seed, name, level, chunk))
        images = images.to(self.device)
        if self.kind == "c":
            preset = scaled_preset(self.preset, *images.shape[-2:]) if self.rescale else self.preset
            return corruptions.corrupt(images, name, level, preset=preset, generator=gen)
        return corruptions.sequence(images, name, difficulty=level, preset=self.preset, generator=gen)

    def _chunks(self, name: str, level: int, lo: int, hi: int) -> Iterator[Batch]:
        """The chunks overlapping ``[lo, hi)``, each made whole (by its key) then cut to it."""
        size = self.chunk_size
        if lo >= hi:
            return
        for chunk in range(lo // size, (hi - 1) // size + 1):
            start, stop = chunk * size, min((chunk + 1) * size, len(self.labels))
            out = self._make(name, level, chunk, self.images[start:stop])
            a, b = max(lo, start), min(hi, stop)
            index = torch.arange(a, b, dtype=torch.int64)
            yield out[a - start:b - start], self.labels[a:b], index

    def _share_unit(self) -> int:
        return self.chunk_size

    def _share(self, name: str, level: int, lo: int, hi: int, batch_size: int) -> Iterator[Batch]:
        return _rebatch(self._chunks(name, level, lo, hi), batch_size)

    def source_fingerprint(self) -> str:
        """``clean_fingerprint`` of the whole clean source set (computed once)."""
        if getattr(self, "_source_fingerprint", None) is None:
            self._source_fingerprint = clean_fingerprint(self.images, self.labels)
        return self._source_fingerprint

    def images_key(self) -> str:
        """``generated_key`` of this suite: a make-suite folder of the same settings shares it."""
        return generated_key(suite=self.name, dataset=self.source.get("dataset"), clean=self.source_fingerprint(),
                             seed=self.seed, generator_version=generator_version(),
                             count=min(self.limit or len(self.labels), len(self.labels)),
                             preset=self.preset, chunk_size=self.chunk_size, device=self.device.type)

    def cell_fingerprint(self, name: str, level: int) -> str | None:
        """The clean cell's images (read, not made); None for the cells made on the fly."""
        self._check_cell(name, level)
        if name != "clean":
            return None
        return clean_cell_fingerprint(self.images, self.labels, self.cell_size(name, level))

    def metadata(self) -> dict:
        return {
            "suite": self.name,
            "data_root": self.source.get("data_root"),
            "preprocessing": self.source.get("preprocessing", "as loaded"),
            "subset": subset_metadata(self.limit, self.names, self.levels, self._complete),
            "generated": True,
            "provenance": provenance("generated"),
            "images_key": self.images_key(),
            "source": self.source,
            "seed": self.seed,
            "generator": {
                "library": "corruptions",
                "version": generator_version(),
                "preset": self.preset,
                "chunk_size": self.chunk_size,
                "seeding": "sha256(seed/name/level/chunk) per chunk of chunk_size clean images",
                "device": str(self.device),
            },
        }
