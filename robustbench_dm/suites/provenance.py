"""Provenance of a suite's images: fingerprints of what a cell reads, the images key, the manifest.

Every suite's ``metadata()`` carries ``provenance`` ({source, manifest, data}) and ``images_key``;
every suite has ``cell_fingerprint(name, level)`` (docs/internals.md, "Suites"). The helpers that
hash data and build these entries live here, so every suite computes them the same way:

- ``rows_fingerprint``: rows [start, stop) of an array (npy memmap, h5 dataset, tensor) and their
  labels: dtype, row shape, count and every byte.
- ``files_fingerprint``: a list of files: relative names and sizes of all, full bytes of the first
  ``FULL_FILES`` (cheap for folders of 50 000 JPEGs, exact for renamed, added or resized files).
- ``generated_key``: the images key of a suite made by the ``corruptions`` library (on the fly,
  or written by ``make-suite``): what determines its bytes, never a path or the cell selection.
- ``released_key``: the images key of released files: the fingerprints of every cell the data
  root holds (not only the selected ones).
- ``manifest_key``: ``generated_key`` of a make-suite folder, from its manifest (``written.py``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import torch

from robustbench_dm.errors import UserError

FULL_FILES = 8  # files of a folder cell hashed in full (the rest by name and size)
BLOCK_ROWS = 4096  # rows hashed per read, so big arrays are never loaded whole

def sha256_json(value: Any) -> str:
    """sha256 hex of ``value`` as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _as_numpy(part) -> np.ndarray:
    if isinstance(part, torch.Tensor):
        part = part.cpu().numpy()
    return np.ascontiguousarray(part)


def rows_fingerprint(images, start: int, stop: int, labels=None, label_start: int = 0) -> str:
    """sha256 hex of rows ``[start, stop)`` of ``images`` (dtype, row shape, count, bytes) and of
    ``labels[label_start : label_start + stop - start]`` as int64 (when given)."""
    digest = hashlib.sha256()
    dtype = _as_numpy(images[:0]).dtype.str
    digest.update(f"rows {dtype} {tuple(images.shape[1:])} {stop - start}\n".encode())
    for first in range(start, stop, BLOCK_ROWS):
        digest.update(memoryview(_as_numpy(images[first:min(first + BLOCK_ROWS, stop)])).cast("B"))
    if labels is not None:
        part = _as_numpy(labels[label_start:label_start + stop - start]).astype(np.int64)
        digest.update(b"labels\n" + part.tobytes())
    return digest.hexdigest()


def files_fingerprint(root: Path, paths: Sequence[Path], full: int = FULL_FILES) -> str:
    """sha256 hex of ``paths``: names relative to ``root`` and sizes of all, in order, plus the
    full bytes of the first ``full`` files. A file that cannot be read is a ``UserError``."""
    digest = hashlib.sha256()
    try:
        for path in paths:
            digest.update(f"{Path(path).relative_to(root).as_posix()}\0{Path(path).stat().st_size}\n".encode())
        for path in paths[:full]:
            digest.update(Path(path).read_bytes())
    except OSError as err:
        raise UserError(f"cannot read {err.filename} ({err.strerror}) while fingerprinting {root}; "
                        "expected the suite's files to stay in place") from None
    return digest.hexdigest()


def clean_fingerprint(images, labels) -> str:
    """Fingerprint of a whole clean set: the arrays of an in-memory set (tensor N x C x H x W
    and labels), or the files of a streamed folder (an object with ``root`` and ``files`` of
    ``(stem, wnid, path)``, e.g. ``ImageNetFolder``)."""
    if hasattr(images, "files") and hasattr(images, "root"):
        return files_fingerprint(Path(images.root), [path for _, _, path in images.files])
    return rows_fingerprint(images, 0, len(labels), labels)


def clean_cell_fingerprint(images, labels, count: int) -> str:
    """``cell_fingerprint("clean", 0)`` of a suite whose clean cell is the first ``count`` images
    of ``images`` (same kinds as ``clean_fingerprint``; a list of paths is read as files)."""
    if hasattr(images, "files") and hasattr(images, "root"):
        return files_fingerprint(Path(images.root), [path for _, _, path in images.files[:count]])
    return rows_fingerprint(images, 0, count, labels)


def files_size(paths: Iterable[Path]) -> dict:
    """``{"files": n, "bytes": total size}`` of ``paths`` (each counted once)."""
    unique = list(dict.fromkeys(Path(p) for p in paths))
    try:
        size = sum(p.stat().st_size for p in unique)
    except OSError as err:
        raise UserError(f"cannot read {err.filename} ({err.strerror}); expected the suite's files") from None
    return {"files": len(unique), "bytes": int(size)}


def generated_key(*, suite: str, dataset: str | None, clean: str, seed: int, generator_version: str,
                  count: int, preset: str, chunk_size: int, stored: str = "exact", read: str = "none",
                  clean_cell: str | None = None, device: str = "cpu") -> str:
    """Images key of a suite made by the ``corruptions`` library from a clean set.

    ``clean`` is ``clean_fingerprint`` of the whole source set and ``count`` the images per cell
    (the limit as a number); ``stored`` says how the bytes were stored ("exact" for arrays and on
    the fly, "jpeg-q85" for make-suite folders), ``read`` the preprocessing applied when read.
    ``clean_cell`` is the fingerprint of a clean cell read from another set than the source.
    ``device`` is the type of device that made the images: random corruptions draw other numbers
    on CUDA than on the CPU (a CPU-made suite keeps the key it had before this field existed).
    """
    fields = {"images": "generated", "suite": suite, "dataset": dataset, "clean": clean, "seed": int(seed),
              "generator_version": generator_version, "count": int(count), "preset": preset,
              "chunk_size": int(chunk_size), "stored": stored, "read": read}
    if clean_cell is not None:
        fields["clean_cell"] = clean_cell
    if device != "cpu":
        fields["device"] = device
    return sha256_json(fields)


def options_key(key: str, options: Mapping | None) -> str:
    """``key`` of images made with byte-changing ``options`` (the non-default settings of a
    generated suite, e.g. {"resolution": 384}): ``key`` itself when there are none."""
    return sha256_json({"key": key, "options": dict(options)}) if options else key


def released_key(cells: Mapping[str, str], read: str = "none") -> str:
    """Images key of released files: ``cells`` maps ``"<name>/<level>"`` of every corrupted cell
    the data root holds to its fingerprint (so selecting cells does not change the key)."""
    return sha256_json({"images": "released", "cells": dict(cells), "read": read})


def provenance(source: str, manifest: dict | None = None, data: dict | None = None) -> dict:
    """The ``provenance`` entry of ``Suite.metadata()``."""
    if source not in ("released", "written", "generated"):
        raise ValueError(f"unknown provenance source {source!r}")
    return {"source": source, "manifest": manifest, "data": data}


def manifest_key(manifest: dict, count: int, *, stored: str, read: str = "none",
                 clean_cell: str | None = None) -> str | None:
    """Images key of a written suite from its manifest (None when the manifest predates the
    recorded clean fingerprint: then the files themselves must be fingerprinted)."""
    if not manifest.get("clean_fingerprint"):
        return None
    key = generated_key(suite=manifest["suite"], dataset=manifest.get("source"),
                        clean=manifest["clean_fingerprint"], seed=manifest.get("seed", 0),
                        generator_version=manifest.get("generator_version"), count=count,
                        preset=manifest.get("preset"), chunk_size=manifest.get("chunk_size", 0),
                        stored=stored, read=read, clean_cell=clean_cell,
                        device=manifest.get("device", "cpu"))
    return options_key(key, manifest.get("options"))
