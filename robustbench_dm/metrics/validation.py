"""Input checks shared by the metric functions: each failure is a ``UserError`` naming the value."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from robustbench_dm.errors import UserError


def float_array(
    values,
    what: str,
    *,
    ndim: int | None = None,
    unit_interval: bool = False,
    replicates: bool = False,
) -> np.ndarray:
    """``values`` as a finite float64 array (optionally of ``ndim`` dims and inside [0, 1]).

    With ``replicates=True`` the array may also carry one leading replicate axis (``ndim + 1``
    dims), whose rows may hold NaN (a bootstrap replicate that drew no image of a cell): NaN
    propagates to that replicate's result.
    """
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise UserError(f"{what}: expected numbers, got {values!r:.80}") from err
    replicated = replicates and ndim is not None and array.ndim == ndim + 1
    if ndim is not None and array.ndim != ndim and not replicated:
        extra = f" (or {ndim + 1}-d with a leading replicate axis)" if replicates else ""
        raise UserError(f"{what}: expected a {ndim}-d array{extra}, got shape {array.shape}")
    if array.size == 0:
        raise UserError(f"{what}: expected at least one value, got an empty array")
    checked = array[~np.isnan(array)] if replicated else array
    if not np.isfinite(checked).all():
        raise UserError(f"{what}: expected finite values, found NaN or inf")
    if unit_interval and ((checked < 0).any() or (checked > 1).any()):
        raise UserError(
            f"{what}: expected fractions in [0, 1], got values in "
            f"[{checked.min():.6g}, {checked.max():.6g}]"
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


def severity_errors(values, what: str, *, replicates: bool = False) -> np.ndarray:
    """Five per-severity error fractions (``replicates``: also replicates x 5)."""
    array = float_array(values, what, ndim=1, unit_interval=True, replicates=replicates)
    if array.shape[-1] != 5:
        raise UserError(f"{what}: expected 5 per-severity errors, got {array.shape[-1]}")
    return array


def mean_over_names(values: list) -> float | np.ndarray:
    """Equal-weight mean of per-name values (floats, or arrays over replicates)."""
    mean = np.mean(np.stack(values, axis=-1), axis=-1)
    return float(mean) if mean.ndim == 0 else mean


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
