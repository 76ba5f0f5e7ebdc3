"""The results file: one HDF5 file per scored checkpoint and suite (layout: docs/internals.md),
read as :class:`Results` and :class:`CellRecord` (written by :mod:`.results_writer`).

Each cell carries the checksum of its arrays (:mod:`.integrity`), so a file damaged after it
was written is detected on load and its damaged cells named.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import h5py
import numpy as np
import pandas as pd

from robustbench_dm.errors import UserError
from robustbench_dm.scoring.integrity import FINGERPRINT, list_cell_groups, read_arrays
from robustbench_dm.scoring.summary import cell_calibration, summarize

SCHEMA = 1
CELL_ARRAYS = ("labels", "index", "topk", "topk_prob", "logits")
JSON_ATTRS = ("metadata", "checkpoint", "versions", "settings", "shard", "compatibility")
Cell = tuple[str, int]


@dataclass(frozen=True)
class CellRecord:
    """The stored arrays of one cell; ``logits`` is ``None`` when more than 100 classes."""

    name: str
    level: int
    labels: np.ndarray
    index: np.ndarray
    topk: np.ndarray
    topk_prob: np.ndarray
    logits: np.ndarray | None

    @property
    def n(self) -> int:
        """Number of images (or videos) in the cell."""
        return int(self.labels.shape[0])

    @property
    def predictions(self) -> np.ndarray:
        """Top-1 classes: (n,) for -C cells, (n, T) for -P cells."""
        return self.topk[..., 0]

    @property
    def confidence(self) -> np.ndarray:
        """Top-1 softmax probability, same shape as :attr:`predictions`."""
        return self.topk_prob[..., 0]

    @property
    def correct(self) -> np.ndarray:
        """Whether the top-1 prediction equals the label (-C cells)."""
        return self.predictions == self.labels

    @property
    def error(self) -> float:
        """Top-1 error fraction (-C cells)."""
        return float(1.0 - self.correct.mean())


def _decode_attrs(raw: Mapping[str, Any], path: Path) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, bytes):
            value = value.decode()
        if isinstance(value, np.generic):
            value = value.item()
        if key in JSON_ATTRS and isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as err:
                raise UserError(f"{path}: attribute {key!r} is not valid JSON") from err
        attrs[key] = value
    return attrs


class Results:
    """A results file opened for reading. Arrays are read per cell on demand."""

    def __init__(self, path: Path, attrs: dict[str, Any], cells: list[Cell],
                 damaged: Mapping[Cell, str] | None = None):
        self.path = path
        self.attrs = attrs
        self.damage: dict[Cell, str] = dict(damaged or {})  # damaged cell -> why (at load)
        self._cells = [c for c in cells if c not in self.damage]
        self.notes: list[str] = []  # what score() told the user (warnings, hints), in order
        self.version = 0  # bumped whenever the cells change (in-memory results)
        self._summary_memo: tuple[Results | None, int, int, dict[str, Any]] | None = None

    @classmethod
    def load(cls, path: str | os.PathLike, *, allow_damaged: bool = False) -> "Results":
        """Open ``path``; a missing, unreadable or foreign file is a :class:`UserError`, and so
        is a damaged one (a cell whose arrays fail their checksum or structure), naming the
        damaged cells, unless ``allow_damaged``: then :meth:`cells` lists the intact cells and
        :meth:`damaged_cells` the others."""
        path = Path(path)
        if not path.is_file():
            raise UserError(f"results file {path} does not exist")
        attrs, cells, damaged = _read_file(path)
        missing = [k for k in ("schema", "kind", "suite", "num_classes") if k not in attrs]
        if missing:
            raise UserError(f"{path} is not a robustbench_dm results file (no {missing} attributes)")
        if attrs["schema"] != SCHEMA:
            raise UserError(f"{path}: results schema {attrs['schema']}, expected {SCHEMA}")
        if damaged and not allow_damaged:
            raise UserError(f"results file {path} is damaged: {describe_damage(damaged)}; re-run "
                            "score into its folder to re-score just those cells")
        return cls(path, attrs, cells, damaged)

    def damaged_cells(self) -> list[Cell]:
        """Cells whose arrays fail their checksum or structure, re-verified in the file now."""
        self.damage = _read_file(self.path)[2]
        return list(self.damage)

    @property
    def kind(self) -> str:
        """``"c"`` (image cells) or ``"p"`` (video cells)."""
        return str(self.attrs["kind"])

    @property
    def suite(self) -> str:
        """Name of the scored suite: a registered name, or imagenet-c-<R>px for ImageNet-C made at R px."""
        return str(self.attrs["suite"])

    @property
    def num_classes(self) -> int:
        """Class count of model and suite."""
        return int(self.attrs["num_classes"])

    def cells(self) -> list[tuple[str, int]]:
        """Finished cells: clean first, then in scoring order, levels ascending."""
        return list(self._cells)

    def cell(self, name: str, level: int) -> CellRecord:
        """The arrays of cell ``(name, level)``."""
        if (name, level) not in self._cells:
            raise UserError(f"{self.path} has no cell {name}/{level}")
        with h5py.File(self.path, "r") as f:
            group = f[f"cells/{name}/{level}"]
            arrays = {key: group[key][()] if key in group else None for key in CELL_ARRAYS}
        return CellRecord(name=name, level=int(level), **arrays)

    def iter_cells(self) -> Iterator[CellRecord]:
        """Every finished cell's record, in :meth:`cells` order."""
        for name, level in self._cells:
            yield self.cell(name, level)

    def errors(self) -> pd.DataFrame:
        """-C results per cell: corruption, severity, n, error, rms_calibration_error
        (``NaN`` where a cell has fewer images than one calibration bin)."""
        if self.kind != "c":
            raise UserError(f"{self.path} holds -P results: there is no top-1 error per cell")
        rows = [{"corruption": rec.name, "severity": rec.level, "n": rec.n, "error": rec.error,
                 "rms_calibration_error": _nan_if_none(cell_calibration(rec))}
                for rec in self.iter_cells()]
        return pd.DataFrame(rows, columns=["corruption", "severity", "n", "error",
                                           "rms_calibration_error"])

    def summary(self, baseline: "Results | str | os.PathLike | None" = None) -> dict[str, Any]:
        """The summary.json dict, normalised by ``baseline`` (another results file) if given.
        Asked again with the same baseline object (or none) and neither changed since, it is a
        copy of the first answer."""
        if baseline is not None and not isinstance(baseline, Results):
            baseline = Results.load(baseline)
        versions = (self.version, baseline.version if baseline is not None else 0)
        memo = self._summary_memo
        if memo is None or memo[0] is not baseline or memo[1:3] != versions:
            memo = self._summary_memo = (baseline, *versions, summarize(self, baseline))
        return copy.deepcopy(memo[3])


def _nan_if_none(value: float | None) -> float:
    return float("nan") if value is None else value


def _read_file(path: Path) -> tuple[dict[str, Any], list[Cell], dict[Cell, str]]:
    """Attributes, cells and damaged cells (with the reason) of the results file ``path``."""
    try:
        with h5py.File(path, "r") as f:
            attrs = _decode_attrs(f.attrs, path)
            cells, damaged = list_cell_groups(f)
    except UserError:
        raise
    except Exception as err:  # h5py: OSError, KeyError, RuntimeError... on overwritten bytes
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserError(f"results file {path} cannot be read: it is not a readable HDF5 results "
                        f"file ({reason}), so it is damaged or was never one; move it away to "
                        "score again from scratch") from None
    return attrs, cells, damaged


def describe_damage(damaged: Mapping[Cell, str]) -> str:
    """``"cells fog/1 (checksum mismatch), snow/2 (no topk array)"``."""
    items = [f"{name}/{level} ({why})" if level >= 0 else f"{name} ({why})"
             for (name, level), why in damaged.items()]
    return f"cell{'s' if len(items) > 1 else ''} " + ", ".join(items)


def _fingerprint(group: h5py.Group) -> str | None:
    """The data fingerprint stored with a cell group (None if not recorded)."""
    fingerprint = group.attrs.get(FINGERPRINT)
    if isinstance(fingerprint, bytes):
        fingerprint = fingerprint.decode()
    return (str(fingerprint) or None) if fingerprint is not None else None


def read_cell(path: Path, name: str, level: int) -> tuple[dict[str, np.ndarray], str | None]:
    """The stored arrays and data fingerprint (None if not recorded) of one cell of ``path``."""
    with h5py.File(path, "r") as f:
        group = f[f"cells/{name}/{level}"]
        return read_arrays(group), _fingerprint(group)


def read_fingerprints(path: Path, cells: Iterable[Cell]) -> dict[Cell, str | None]:
    """The data fingerprints (None where not recorded) of ``cells`` of ``path``, without
    reading their arrays."""
    with h5py.File(path, "r") as f:
        return {(name, level): _fingerprint(f[f"cells/{name}/{level}"]) for name, level in cells}
