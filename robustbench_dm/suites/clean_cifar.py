"""CIFAR-10 / CIFAR-100 in the python pickle format (``cifar-10-batches-py/test_batch``)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch

from robustbench_dm.errors import UserError

# folder name, file names per split, label key, class count
_LAYOUT = {
    "cifar10": ("cifar-10-batches-py", {"test": ["test_batch"],
                                        "train": [f"data_batch_{i}" for i in range(1, 6)]},
                "labels", 10),
    "cifar100": ("cifar-100-python", {"test": ["test"], "train": ["train"]}, "fine_labels", 100),
}

# The pickles hold plain dicts of numpy arrays and lists: nothing else may be unpickled.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # how protocol-2 pickles written by Python 3 store bytes
}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def _batch_files(dataset: str, data_root: Path, split: str) -> list[Path]:
    folder, splits, _, _ = _LAYOUT[dataset]
    names = splits[split]
    for base in (data_root / folder, data_root):
        if all((base / n).is_file() for n in names):
            return [base / n for n in names]
    if data_root.is_file() and data_root.name in names and len(names) == 1:
        return [data_root]
    raise UserError(
        f"no {dataset} {split} set under {data_root}: expected "
        f"{data_root / folder / names[0]} (the python pickle release)"
    )


def _read_batch(path: Path, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as f:
            raw = _ArrayUnpickler(f, encoding="bytes").load()
    except Exception as err:  # any unpickling failure is a bad file
        raise UserError(f"{path} is not a readable CIFAR python pickle batch ({err})") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path}: expected a dict with 'data' and '{label_key}', got {type(raw).__name__}")
    batch = {(k.decode() if isinstance(k, bytes) else k): v for k, v in raw.items()}
    if "data" not in batch or label_key not in batch:
        raise UserError(f"{path}: expected keys 'data' and '{label_key}', got {sorted(batch)}")
    data = np.asarray(batch["data"])
    labels = np.asarray(batch[label_key], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise UserError(f"{path}: expected uint8 data of shape (n, 3072), got {data.dtype} {data.shape}")
    if labels.shape != (data.shape[0],):
        raise UserError(f"{path}: expected {data.shape[0]} labels, got shape {labels.shape}")
    return data.reshape(-1, 3, 32, 32), labels


def load_cifar(dataset: str, data_root: str | Path, split: str = "test") -> tuple[torch.Tensor, torch.Tensor]:
    """CIFAR-10/100 ``split`` as (uint8 N x 3 x 32 x 32, int64 labels), in the file's order."""
    root = Path(data_root)
    if not root.exists():
        raise UserError(f"data root {root} does not exist; expected the folder holding {_LAYOUT[dataset][0]}")
    if split not in _LAYOUT[dataset][1]:
        raise UserError(f"unknown split {split!r} for {dataset}; expected test or train")
    label_key, num_classes = _LAYOUT[dataset][2], _LAYOUT[dataset][3]
    parts = [_read_batch(p, label_key) for p in _batch_files(dataset, root, split)]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise UserError(f"{dataset} labels under {root} out of range: expected 0..{num_classes - 1}")
    return torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(labels)
