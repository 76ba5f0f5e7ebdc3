"""Input checks shared by the metric functions: each failure is a ``UserError`` naming the value."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from robustbench_dm.errors import UserError


def float_array(
    values, what: str, *, ndim: int | None = None, unit_interval: bool = False
) -> np.ndarray:
    """``values`` as a finite float64 array (optionally of ``ndim`` dims and inside [0, 1])."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise UserError(f"{what}: expected numbers, got {values!r:.80}") from err
    if ndim is not None and array.ndim != ndim:
        raise UserError(f"{what}: expected a {ndim}-d array, got shape {array.shape}")
    if array.size == 0:
        raise UserError(f"{what}: expected at least one value, got an empty array")
    if not np.isfinite(array).all():
        raise UserError(f"{what}: expected finite values, found NaN or inf")
    if unit_interval and ((array < 0).any() or (array > 1).any()):
        raise UserError(
            f"{what}: expected fractions in [0, 1], got values in "
            f"[{array.min():.6g}, {array.max():.6g}]"
        )
    return array


def int_array(values, what: str, *, ndim: int) -> np.ndarray:
    """``values`` as a non-negative integer array of ``ndim`` dims (dtype kept)."""
    array = np.asarray(values)
    if array.dtype.kind not in "iu":
        raise UserError(
            f"{what}: expected an integer array of class indices, got dtype {array.dtype}"
        )
    if array.ndim != ndim:
        raise UserError(f"{what}: expected a {ndim}-d array, got shape {array.shape}")
    if array.size == 0:
        raise UserError(f"{what}: expected at least one value, got shape {array.shape}")
    if array.dtype.kind == "i" and (array < 0).any():
        raise UserError(f"{what}: expected class indices >= 0, found {array.min()}")
    return array


def severity_errors(values, what: str) -> np.ndarray:
    """Five per-severity error fractions."""
    array = float_array(values, what, ndim=1, unit_interval=True)
    if array.shape != (5,):
        raise UserError(f"{what}: expected 5 per-severity errors, got {array.shape[0]}")
    return array


def require_names(mapping: Mapping, names, what: str) -> None:
    """Raise naming every entry of ``names`` that ``mapping`` lacks."""
    missing = [name for name in names if name not in mapping]
    if missing:
        raise UserError(f"{what}: missing {', '.join(missing)}")


def positive(value: float, what: str) -> float:
    """A denominator that must be > 0."""
    if not value > 0:
        raise UserError(f"{what}: expected a value > 0 to divide by, got {value!r}")
    return value
