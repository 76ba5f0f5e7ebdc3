"""Opening released ``.npy`` arrays memory-mapped, with one clear error per defect."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from robustbench_dm.errors import UserError


def open_npy(path: Path, expected: str) -> np.ndarray:
    """``np.load(path, mmap_mode="r")``; missing, unreadable or truncated -> ``UserError``.

    ``expected`` describes the array the caller wants (named in the error message).
    """
    if not path.is_file():
        raise UserError(f"missing file {path}; expected {expected}")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as err:
        reason = "truncated" if "mmap length" in str(err) or "larger than" in str(err) else str(err)
        raise UserError(f"{path} is not a valid .npy file ({reason}); expected {expected}") from None
    except (OSError, EOFError) as err:
        raise UserError(f"{path} is not readable ({err}); expected {expected}") from None
    if not isinstance(array, np.ndarray):
        raise UserError(f"{path} is not a single .npy array; expected {expected}")
    return array


def check_array(array: np.ndarray, path: Path, dtype: type, shape: tuple, expected: str) -> None:
    """Check dtype and shape (``None`` in ``shape`` matches any size) or raise ``UserError``."""
    ok_shape = array.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, array.shape))
    if array.dtype != dtype or not ok_shape:
        raise UserError(f"{path} holds {array.dtype} {tuple(array.shape)}; expected {expected}")


def read_labels(path: Path, length: int, num_classes: int) -> np.ndarray:
    """An integer label vector of ``length`` entries in 0..num_classes-1 (as int64)."""
    expected = f"{length} integer labels in 0..{num_classes - 1}"
    array = open_npy(path, expected)
    if array.ndim != 1 or array.shape[0] != length or not np.issubdtype(array.dtype, np.integer):
        raise UserError(f"{path} holds {array.dtype} {tuple(array.shape)}; expected {expected}")
    labels = np.asarray(array, dtype=np.int64)
    if length and (labels.min() < 0 or labels.max() >= num_classes):
        raise UserError(f"{path}: labels out of range ({labels.min()}..{labels.max()}); expected {expected}")
    return labels
