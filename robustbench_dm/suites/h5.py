"""Suites stored as one HDF5 file (``make-suite --format h5``): ``suite.h5``.

Layout: one uint8 dataset per corruption or perturbation, shaped exactly like the npy format
(``<corruption>`` (5n, H, W, 3) for -C; ``<perturbation>[_<d>]`` (n, T, H, W, 3) for -P), plus
``labels`` (5n or n, as ``labels.npy``), chunked one image (video) per chunk and gzip-compressed.
Root attributes record suite, seed, generator_version, preset, source, limit (0 = all). Only
finished datasets carry their final name; unfinished ones end in ``.tmp`` and are never read.
Readers slice datasets per batch (nothing is loaded whole).
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from robustbench_dm.errors import UserError
from robustbench_dm.suites.npy import check_array

H5_FILE = "suite.h5"
H5_SUFFIXES = (".h5", ".hdf5")
TMP_SUFFIX = ".tmp"


def h5_file(data_root) -> Path | None:
    """The suite file ``data_root`` names (an .h5 file, or a folder holding ``suite.h5``), else None."""
    if data_root is None:
        return None
    root = Path(data_root)
    if root.suffix.lower() in H5_SUFFIXES and not root.is_dir():
        return root
    return root / H5_FILE if (root / H5_FILE).is_file() else None


def open_h5(path: Path) -> h5py.File:
    """Open a suite file read-only; missing or not HDF5 -> ``UserError``."""
    if not path.is_file():
        raise UserError(f"missing file {path}; expected a suite written by make-suite in the h5 format")
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise UserError(f"{path} is not a readable HDF5 file ({err}); expected a suite written by "
                        "make-suite in the h5 format") from None


def open_array_root(suite: str, data_root, expected: str) -> tuple[Path, h5py.File | None]:
    """The root of an npy-or-h5 suite and its open ``suite.h5`` (None for an npy folder);
    ``expected`` says what the folder should hold, for the error when it is missing."""
    if data_root is None:
        raise UserError(f"suite {suite!r} needs a data root (the folder of {expected})")
    root = Path(data_root)
    path = h5_file(root)
    if path is None and not root.is_dir():
        raise UserError(f"data root {root} does not exist; expected a folder of "
                        f"{suite.upper()} {expected}, or a suite.h5")
    return root, open_h5(path) if path is not None else None


def h5_dataset(file: h5py.File, name: str, dtype: type, shape: tuple, expected: str) -> h5py.Dataset:
    """Dataset ``name`` of ``file`` checked for dtype and shape (``None`` matches any size)."""
    where = f"{file.filename}:/{name}"
    if name not in file:
        unfinished = " (only an unfinished copy: run make-suite again)" if name + TMP_SUFFIX in file else ""
        raise UserError(f"missing dataset /{name} in {file.filename}{unfinished}; expected {expected}")
    dataset = file[name]
    if not isinstance(dataset, h5py.Dataset):
        raise UserError(f"{where} is a group; expected {expected}")
    check_array(dataset, where, dtype, shape, expected)
    return dataset


def h5_labels(file: h5py.File, length: int, num_classes: int) -> np.ndarray:
    """The ``labels`` dataset: ``length`` integers in 0..num_classes-1 (as int64)."""
    expected = f"{length} integer labels in 0..{num_classes - 1}"
    where = f"{file.filename}:/labels"
    if "labels" not in file or not isinstance(file["labels"], h5py.Dataset):
        raise UserError(f"missing dataset /labels in {file.filename}; expected {expected}")
    dataset = file["labels"]
    if dataset.ndim != 1 or dataset.shape[0] != length or not np.issubdtype(dataset.dtype, np.integer):
        raise UserError(f"{where} holds {dataset.dtype} {tuple(dataset.shape)}; expected {expected}")
    labels = dataset[()].astype(np.int64)
    if length and (labels.min() < 0 or labels.max() >= num_classes):
        raise UserError(f"{where}: labels out of range ({labels.min()}..{labels.max()}); expected {expected}")
    return labels
