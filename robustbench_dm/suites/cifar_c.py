"""CIFAR-10-C / CIFAR-100-C in the released format: ``<root>/<corruption>.npy`` + ``labels.npy``
(or the same arrays as datasets of one ``suite.h5``, see ``h5.py``).

Each corruption file is uint8 (5n, 32, 32, 3); severity s is rows [(s-1)n, sn), each block the n
test images in the CIFAR test order; ``labels.npy`` holds 5n labels (the n test labels 5 times).
Arrays are memory-mapped and streamed. ``generate=True`` makes the same suite on the fly from the
clean pickle test set instead (see ``generated.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from corruptions import CORRUPTIONS, EXTRA
from robustbench_dm.errors import UserError
from robustbench_dm.suites.base import Batch, Suite, check_limit, select_levels, select_names
from robustbench_dm.suites.provenance import (clean_fingerprint, files_size, released_key, rows_fingerprint)
from robustbench_dm.suites.clean import load_clean
from robustbench_dm.suites.clean_cifar import load_cifar
from robustbench_dm.suites.generated import GeneratedSuite
from robustbench_dm.suites.h5 import h5_dataset, h5_labels, open_array_root
from robustbench_dm.suites.npy import check_array, open_npy, read_labels
from robustbench_dm.suites.registry import register_suite
from robustbench_dm.suites.written import Written, stored_provenance, stored_subset, written_images_key

SEVERITIES = (1, 2, 3, 4, 5)
PREPROCESSING = "as stored (32x32, no resize)"


def default_corruptions(root: Path, h5=None) -> list[str]:
    """The 15 benchmark corruptions plus those of the 4 extras whose files (h5 datasets) exist."""
    return list(CORRUPTIONS) + [c for c in EXTRA if (c in h5 if h5 is not None else (root / f"{c}.npy").is_file())]


class CifarCSuite(Suite):
    """A CIFAR-C-format folder of ``<corruption>.npy`` arrays (memory-mapped) or a ``suite.h5``."""

    kind = "c"

    def __init__(self, name: str, dataset: str, num_classes: int, data_root, *, limit=None,
                 corruptions=None, severities=None, clean_root=None):
        self.root, self.h5 = open_array_root(name, data_root, "<corruption>.npy files and labels.npy")
        self.data_root = str(data_root)
        self.name, self.dataset, self.num_classes = name, dataset, num_classes
        self.limit = check_limit(limit)
        self.written = Written.open(data_root, name)
        if self.written is not None and self.written.cells is not None:
            cells = self.written.select(corruptions, severities, CORRUPTIONS + EXTRA, SEVERITIES,
                                        "corruption", "severity")
            self.corruptions = list(dict.fromkeys(c for c, _ in cells))
            self.severities = sorted({s for _, s in cells})
            self._complete = self.written.complete(cells, [(c, s) for c in CORRUPTIONS for s in SEVERITIES], limit)
        else:
            default = default_corruptions(self.root, self.h5)
            self.corruptions = select_names(corruptions, default, CORRUPTIONS + EXTRA, "corruption")
            self.severities = select_levels(severities, SEVERITIES, "severity")
            self._complete = self.corruptions == default and self.severities == list(SEVERITIES)
            if self.written is not None:
                self._complete = self._complete and self.written.manifest.get("limit") is None
        self._fingerprints: dict[tuple[str, int], str | None] = {}
        self.arrays = {c: self._open(c) for c in self.corruptions}
        rows = {a.shape[0] for a in self.arrays.values()}
        if len(rows) != 1:
            sizes = {c: a.shape[0] for c, a in self.arrays.items()}
            raise UserError(f"corruption files under {self.root} differ in length: {sizes}")
        self.n = rows.pop() // 5
        if self.h5 is not None:
            self.labels_where = f"{self.h5.filename}:/labels"
            self.labels = h5_labels(self.h5, 5 * self.n, num_classes)
        else:
            self.labels_where = str(self.root / "labels.npy")
            self.labels = read_labels(self.root / "labels.npy", 5 * self.n, num_classes)
        blocks = self.labels.reshape(5, self.n)
        if not (blocks == blocks[0]).all():
            raise UserError(f"{self.labels_where}: the 5 severity blocks hold different "
                            "labels; expected the test labels repeated 5 times")
        self.clean_root = Path(clean_root) if clean_root is not None else None
        self.clean_root_given = None if clean_root is None else str(clean_root)
        self.clean_source_fingerprint = None
        self.clean = self._load_clean() if self.clean_root is not None else None

    def _open(self, corruption: str):
        expected = "uint8 (5n, 32, 32, 3): 5 severity blocks of n 32x32 RGB images"
        if self.h5 is not None:
            path = f"{self.h5.filename}:/{corruption}"
            array = h5_dataset(self.h5, corruption, np.uint8, (None, 32, 32, 3), expected)
        else:
            path = self.root / f"{corruption}.npy"
            array = open_npy(path, expected)
            check_array(array, path, np.uint8, (None, 32, 32, 3), expected)
        if array.shape[0] == 0 or array.shape[0] % 5:
            raise UserError(f"{path} has {array.shape[0]} rows; expected {expected}")
        return array

    def _load_clean(self) -> torch.Tensor:
        images, labels = load_clean(self.dataset, self.clean_root, "test")
        # A suite written from the first n test images (make-suite --limit) pairs with them.
        if len(labels) < self.n or not np.array_equal(labels[:self.n].numpy(), self.labels[:self.n]):
            raise UserError(f"clean {self.dataset} test set under {self.clean_root} does not match "
                            f"{self.labels_where}: expected its first {self.n} labels in the same order")
        if self.written is not None:  # does the clean cell hold the suite's source images?
            self.clean_source_fingerprint = clean_fingerprint(images, labels)
        images = images[:self.n]
        if tuple(images.shape[1:]) != (3, 32, 32):
            raise UserError(f"clean {self.dataset} images under {self.clean_root} are {tuple(images.shape[1:])}; "
                            "expected 3 x 32 x 32")
        return images

    def cells(self) -> list[tuple[str, int]]:
        first = [("clean", 0)] if self.clean is not None else []
        return first + [(c, s) for c in self.corruptions for s in self.severities]

    def cell_size(self, name: str, level: int) -> int:
        self._check_cell(name, level)
        return min(self.limit or self.n, self.n)

    def _share(self, name: str, level: int, lo: int, hi: int, batch_size: int) -> Iterator[Batch]:
        for start in range(lo, hi, batch_size):
            stop = min(start + batch_size, hi)
            if name == "clean":
                images = self.clean[start:stop]
            else:
                offset = (level - 1) * self.n
                block = np.array(self.arrays[name][offset + start:offset + stop])
                images = torch.from_numpy(block).permute(0, 3, 1, 2).contiguous()
            labels = torch.from_numpy(self.labels[start:stop].copy())
            yield images, labels, torch.arange(start, stop, dtype=torch.int64)

    def cell_fingerprint(self, name: str, level: int) -> str | None:
        """Rows of the cell (after ``limit``) and their labels, hashed in full."""
        count = self.cell_size(name, level)
        if (name, level) not in self._fingerprints:
            if name == "clean":
                fingerprint = rows_fingerprint(self.clean, 0, count, self.labels)
            else:
                fingerprint = rows_fingerprint(self.arrays[name], (level - 1) * self.n,
                                               (level - 1) * self.n + count, self.labels)
            self._fingerprints[(name, level)] = fingerprint
        return self._fingerprints[(name, level)]

    def _files(self) -> list[Path]:
        """The files this suite reads (the clean set's files not included)."""
        if self.h5 is not None:
            return [Path(self.h5.filename)]
        return [self.root / f"{c}.npy" for c in self.corruptions] + [self.root / "labels.npy"]

    def _released_key(self) -> str:
        """``released_key`` over every corruption array of the data root (selected or not)."""
        count, cells = min(self.limit or self.n, self.n), {}
        for corruption in CORRUPTIONS + EXTRA:
            array = self.arrays.get(corruption)
            if array is None and (corruption in self.h5 if self.h5 is not None
                                  else (self.root / f"{corruption}.npy").is_file()):
                try:
                    array = self._open(corruption)
                except UserError:
                    continue  # not readable as a cell of this suite: holds none of its images
            if array is None or array.shape[0] != 5 * self.n:
                continue
            for level in SEVERITIES:
                start = (level - 1) * self.n
                cells[f"{corruption}/{level}"] = rows_fingerprint(array, start, start + count, self.labels)
        return released_key(cells)

    def images_key(self) -> str:
        """Images key (docs/internals.md): from the manifest of a written suite, else from the files."""
        if getattr(self, "_images_key", None) is None:
            self._images_key = written_images_key(self, min(self.limit or self.n, self.n),
                                                  stored="exact", released=self._released_key)
        return self._images_key

    def metadata(self) -> dict:
        return {
            "suite": self.name,
            "data_root": self.data_root,
            "clean_root": self.clean_root_given,
            "preprocessing": PREPROCESSING,
            "subset": stored_subset(self, self.corruptions, self.severities),
            "images_per_severity": self.n,
            "provenance": stored_provenance(self, files_size(self._files())),
            "images_key": self.images_key(),
        }


def generated_cifar(name: str, kind: str, dataset: str, num_classes: int, data_root, clean_root, *,
                    names: list[str], levels: list[int], complete: bool, limit, seed: int, device,
                    preprocessing: str) -> GeneratedSuite:
    """A CIFAR -C (``kind="c"``) or -P (``"p"``) suite made on the fly from the pickle test set in
    ``clean_root`` (else ``data_root``): the arrays ``make-suite`` writes for the same settings."""
    root = clean_root if clean_root is not None else data_root
    if root is None:
        raise UserError(f"generate=True needs clean_root: the folder holding the {dataset} pickle test set",
                        params=("generate", "clean_root"))
    images, labels = load_cifar(dataset, root, "test")
    return GeneratedSuite(
        name, kind, images, labels, num_classes, names=names, levels=levels, complete=complete,
        limit=check_limit(limit), seed=seed, preset="cifar", device=device,
        source={"dataset": dataset, "data_root": str(root), "preprocessing": preprocessing},
    )


def _open(name: str, dataset: str, num_classes: int, data_root, limit, corruptions, severities,
          clean_root, generate, seed, device) -> Suite:
    if not generate:
        return CifarCSuite(name, dataset, num_classes, data_root, limit=limit,
                           corruptions=corruptions, severities=severities, clean_root=clean_root)
    names = select_names(corruptions, CORRUPTIONS, CORRUPTIONS + EXTRA, "corruption")
    levels = select_levels(severities, SEVERITIES, "severity")
    return generated_cifar(name, "c", dataset, num_classes, data_root, clean_root, names=names, levels=levels,
                           complete=names == list(CORRUPTIONS) and levels == list(SEVERITIES), limit=limit,
                           seed=seed, device=device, preprocessing=PREPROCESSING)


@register_suite("cifar10-c", "CIFAR-10-C: <root>/<corruption>.npy + labels.npy "
                "(or made on the fly from the CIFAR-10 pickle)")
def cifar10_c(data_root=None, *, limit=None, corruptions=None, severities=None, clean_root=None,
              generate=False, seed=0, device="cpu") -> Suite:
    """CIFAR-10-C. Options: ``clean_root`` (CIFAR-10 pickle folder: adds the clean cell, or is
    the source with ``generate=True``), ``generate``, ``seed``, ``device`` (generation only)."""
    return _open("cifar10-c", "cifar10", 10, data_root, limit, corruptions, severities,
                 clean_root, generate, seed, device)


@register_suite("cifar100-c", "CIFAR-100-C: <root>/<corruption>.npy + labels.npy "
                "(or made on the fly from the CIFAR-100 pickle)")
def cifar100_c(data_root=None, *, limit=None, corruptions=None, severities=None, clean_root=None,
               generate=False, seed=0, device="cpu") -> Suite:
    """CIFAR-100-C; options as for ``cifar10-c``."""
    return _open("cifar100-c", "cifar100", 100, data_root, limit, corruptions, severities,
                 clean_root, generate, seed, device)
