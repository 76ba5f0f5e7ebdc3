"""CIFAR-10-P / CIFAR-100-P in the released format: ``<root>/<perturbation>.npy``.

Each file is uint8 (N, T, 32, 32, 3) (videos, frames, H, W, C); T is read from the array (31 for
most sequences, 21 for motion_blur, 16 for translate). Noise difficulties 2 and 3 are separate
files ``<perturbation>_2.npy`` / ``_3.npy``; for other perturbations the difficulty is only the
comparison stride, so every difficulty reads the same file. The release has no labels: they come
from the CIFAR pickle test set (``clean_root``), or from ``<root>/labels.npy`` when present
(``make-suite`` writes one), else they are -1. The same arrays may be datasets of one
``suite.h5`` (``make-suite --format h5``, see ``h5.py``), with labels from its ``labels``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from corruptions import PERTURBATIONS
from robustbench_dm.errors import UserError
from robustbench_dm.metrics import is_noise_perturbation
from robustbench_dm.suites.base import Batch, Suite, check_limit, select_difficulties, select_names
from robustbench_dm.suites.cifar_c import generated_cifar
from robustbench_dm.suites.clean import load_clean
from robustbench_dm.suites.h5 import h5_dataset, h5_labels, open_array_root
from robustbench_dm.suites.npy import check_array, open_npy, read_labels
from robustbench_dm.suites.provenance import files_size, manifest_key, released_key, rows_fingerprint
from robustbench_dm.suites.registry import register_suite
from robustbench_dm.suites.written import Written, stored_provenance, stored_subset

PREPROCESSING = "as stored (32x32 frames, no resize)"

# HR ImageNet-P/cifar-p-eval.py: spatter (not snow) is in the CIFAR-P test list.
CIFAR_P_TEST = ("gaussian_noise", "shot_noise", "motion_blur", "zoom_blur", "spatter",
                "brightness", "translate", "rotate", "tilt", "scale")


def sequence_name(perturbation: str, difficulty: int) -> str:
    """Array name of a perturbation at a difficulty: ``_<d>`` suffix only for noise, d > 1."""
    return f"{perturbation}_{difficulty}" if difficulty > 1 and is_noise_perturbation(perturbation) else perturbation


def sequence_file(root: Path, perturbation: str, difficulty: int, ext: str = "npy") -> Path:
    """File of a perturbation at a difficulty (named by ``sequence_name``)."""
    return root / f"{sequence_name(perturbation, difficulty)}.{ext}"


class CifarPSuite(Suite):
    """A CIFAR-P-format folder of ``<perturbation>.npy`` video arrays (memory-mapped) or a ``suite.h5``."""

    kind = "p"

    def __init__(self, name: str, dataset: str, num_classes: int, data_root, *, limit=None,
                 corruptions=None, severities=None, difficulty=None, clean_root=None):
        self.root, self.h5 = open_array_root(name, data_root, "<perturbation>.npy files")
        self.data_root = str(data_root)
        self.name, self.dataset, self.num_classes = name, dataset, num_classes
        self.limit = check_limit(limit)
        self.written = Written.open(data_root, name)
        benchmark = [(p, 1) for p in CIFAR_P_TEST]
        if self.written is not None and self.written.cells is not None:
            levels = None if severities is None and difficulty is None else select_difficulties(severities, difficulty)
            self._cells = self.written.select(corruptions, levels, PERTURBATIONS, (1, 2, 3),
                                              "perturbation", "difficulty")
            self._complete = self.written.complete(self._cells, benchmark, limit)
        else:
            names = select_names(corruptions, CIFAR_P_TEST, PERTURBATIONS, "perturbation")
            self._cells = [(p, d) for p in names for d in select_difficulties(severities, difficulty)]
            self._complete = self._cells == benchmark and (
                self.written is None or self.written.manifest.get("limit") is None)
        self.perturbations = list(dict.fromkeys(p for p, _ in self._cells))
        self.difficulties = sorted({d for _, d in self._cells})
        self._fingerprints: dict[tuple[str, int], str] = {}
        self.arrays = {cell: self._open(*cell) for cell in self.cells()}
        counts = {a.shape[0] for a in self.arrays.values()}
        if len(counts) != 1:
            sizes = {f"{p}/{d}": a.shape[0] for (p, d), a in self.arrays.items()}
            raise UserError(f"perturbation files under {self.root} differ in video count: {sizes}")
        self.n = counts.pop()
        self.clean_root = Path(clean_root) if clean_root is not None else None
        self.clean_root_given = None if clean_root is None else str(clean_root)
        self.labels, self.label_source = self._labels()

    def _open(self, perturbation: str, difficulty: int):
        expected = "uint8 (N, T, 32, 32, 3): N videos of T 32x32 RGB frames"
        if self.h5 is not None:
            name = sequence_name(perturbation, difficulty)
            path = f"{self.h5.filename}:/{name}"
            array = h5_dataset(self.h5, name, np.uint8, (None, None, 32, 32, 3), expected)
        else:
            path = sequence_file(self.root, perturbation, difficulty)
            array = open_npy(path, expected)
            check_array(array, path, np.uint8, (None, None, 32, 32, 3), expected)
        if array.shape[0] == 0 or array.shape[1] < 2:
            raise UserError(f"{path} holds {tuple(array.shape)}; expected {expected} with N >= 1, T >= 2")
        return array

    def _labels(self) -> tuple[np.ndarray, str]:
        if self.clean_root is not None:
            labels = load_clean(self.dataset, self.clean_root, "test")[1].numpy()
            if len(labels) != self.n:
                raise UserError(f"clean {self.dataset} test set under {self.clean_root} has {len(labels)} "
                                f"labels; expected {self.n}, one per video in {self.root}")
            return labels, str(self.clean_root_given)
        if self.h5 is not None and "labels" in self.h5:
            return h5_labels(self.h5, self.n, self.num_classes), f"{self.h5.filename}:/labels"
        if self.h5 is None and (self.root / "labels.npy").is_file():
            return read_labels(self.root / "labels.npy", self.n, self.num_classes), str(self.root / "labels.npy")
        return np.full(self.n, -1, dtype=np.int64), "none (labels are -1)"

    def cells(self) -> list[tuple[str, int]]:
        return list(self._cells)

    def cell_size(self, name: str, level: int) -> int:
        self._check_cell(name, level)
        return min(self.limit or self.n, self.n)

    def _share(self, name: str, level: int, lo: int, hi: int, batch_size: int) -> Iterator[Batch]:
        array = self.arrays[(name, level)]
        for start in range(lo, hi, batch_size):
            stop = min(start + batch_size, hi)
            videos = torch.from_numpy(np.array(array[start:stop])).permute(0, 1, 4, 2, 3)
            yield (videos.contiguous(), torch.from_numpy(self.labels[start:stop].astype(np.int64)),
                   torch.arange(start, stop, dtype=torch.int64))

    def cell_fingerprint(self, name: str, level: int) -> str | None:
        """Videos of the cell (after ``limit``) and their labels, hashed in full."""
        count = self.cell_size(name, level)
        if (name, level) not in self._fingerprints:
            self._fingerprints[(name, level)] = rows_fingerprint(self.arrays[(name, level)], 0, count, self.labels)
        return self._fingerprints[(name, level)]

    def _files(self) -> list[Path]:
        """The files this suite reads (a clean set giving labels not included)."""
        if self.h5 is not None:
            return [Path(self.h5.filename)]
        files = [sequence_file(self.root, p, d) for p, d in self._cells]
        return files + ([self.root / "labels.npy"] if self.label_source == str(self.root / "labels.npy") else [])

    def _released_key(self) -> str:
        """``released_key`` over every perturbation array of the data root (selected or not)."""
        count, cells = min(self.limit or self.n, self.n), {}
        for perturbation in PERTURBATIONS:
            for difficulty in (1, 2, 3) if is_noise_perturbation(perturbation) else (1,):
                array = self.arrays.get((perturbation, difficulty))
                name = sequence_name(perturbation, difficulty)
                if array is None and (name in self.h5 if self.h5 is not None
                                      else sequence_file(self.root, perturbation, difficulty).is_file()):
                    try:
                        array = self._open(perturbation, difficulty)
                    except UserError:
                        continue  # not readable as a cell of this suite: holds none of its videos
                if array is not None and array.shape[0] == self.n:
                    cells[f"{perturbation}/{difficulty}"] = rows_fingerprint(array, 0, count, self.labels)
        return released_key(cells)

    def images_key(self) -> str:
        """Images key (docs/internals.md): from the manifest of a written suite, else from the files."""
        if getattr(self, "_images_key", None) is None:
            key = None
            if self.written is not None:
                key = manifest_key(self.written.manifest, min(self.limit or self.n, self.n), stored="exact")
            self._images_key = key or self._released_key()
        return self._images_key

    def metadata(self) -> dict:
        return {
            "suite": self.name,
            "data_root": self.data_root,
            "preprocessing": PREPROCESSING,
            "subset": stored_subset(self, self.perturbations, self.difficulties),
            "labels": self.label_source,
            "frames": {f"{p}/{d}": int(a.shape[1]) for (p, d), a in self.arrays.items()},
            "provenance": stored_provenance(self, files_size(self._files())),
            "images_key": self.images_key(),
        }


def _open(name: str, dataset: str, num_classes: int, data_root, limit, corruptions, severities, difficulty,
          clean_root, generate, seed, device) -> Suite:
    if not generate:
        return CifarPSuite(name, dataset, num_classes, data_root, limit=limit, corruptions=corruptions,
                           severities=severities, difficulty=difficulty, clean_root=clean_root)
    names = select_names(corruptions, CIFAR_P_TEST, PERTURBATIONS, "perturbation")
    levels = select_difficulties(severities, difficulty)
    return generated_cifar(name, "p", dataset, num_classes, data_root, clean_root, names=names, levels=levels,
                           complete=names == list(CIFAR_P_TEST) and levels == [1], limit=limit,
                           seed=seed, device=device, preprocessing=PREPROCESSING)


@register_suite("cifar10-p", "CIFAR-10-P: <root>/<perturbation>.npy videos (N, T, 32, 32, 3); labels via clean_root "
                "(or made on the fly from the CIFAR-10 pickle)")
def cifar10_p(data_root=None, *, limit=None, corruptions=None, severities=None, difficulty=None,
              clean_root=None, generate=False, seed=0, device="cpu") -> Suite:
    """CIFAR-10-P. ``severities``/``difficulty`` select difficulties (default 1); ``clean_root``
    (CIFAR-10 pickle folder) supplies labels, or is the source with ``generate=True`` (the
    sequences ``make-suite cifar10-p`` writes, made on ``device`` with ``seed``)."""
    return _open("cifar10-p", "cifar10", 10, data_root, limit, corruptions, severities, difficulty,
                 clean_root, generate, seed, device)


@register_suite("cifar100-p", "CIFAR-100-P: <root>/<perturbation>.npy videos (N, T, 32, 32, 3); labels via clean_root "
                "(or made on the fly from the CIFAR-100 pickle)")
def cifar100_p(data_root=None, *, limit=None, corruptions=None, severities=None, difficulty=None,
               clean_root=None, generate=False, seed=0, device="cpu") -> Suite:
    """CIFAR-100-P; options as for ``cifar10-p``."""
    return _open("cifar100-p", "cifar100", 100, data_root, limit, corruptions, severities, difficulty,
                 clean_root, generate, seed, device)
