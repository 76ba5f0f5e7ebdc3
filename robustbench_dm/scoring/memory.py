"""Results held in memory: what :func:`robustbench_dm.scoring.score` returns with ``out_dir=None``.

Same interface as a results file (:class:`~robustbench_dm.scoring.results.Results`), so
summaries, tables and reports treat both alike; :meth:`MemoryResults.save` writes the file
``robust-eval score`` would have written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from robustbench_dm.errors import UserError
from robustbench_dm.scoring.results import CELL_ARRAYS, Cell, CellRecord, Results
from robustbench_dm.scoring.results_writer import write_results

MEMORY_PATH = Path("<in memory>")


class MemoryResults(Results):
    """Scored cells kept as numpy arrays; nothing touches the disk until :meth:`save`."""

    def __init__(self, attrs: Mapping[str, Any]):
        super().__init__(MEMORY_PATH, dict(attrs), [])
        self._arrays: dict[Cell, tuple[dict[str, np.ndarray], str | None]] = {}

    def add(self, name: str, level: int, arrays: Mapping[str, np.ndarray], *,
            fingerprint: str | None = None, attrs: Mapping[str, Any] | None = None) -> None:
        """Keep one finished cell (replacing an earlier one of the same name and level);
        ``attrs``, when given, become the results' attributes (as a file's are on each cell)."""
        self.version += 1
        if attrs is not None:
            self.attrs = dict(attrs)
        cell = (name, int(level))
        if cell not in self._arrays:
            self._cells.append(cell)
        self._arrays[cell] = ({k: np.asarray(v) for k, v in arrays.items()}, fingerprint)

    def cell(self, name: str, level: int) -> CellRecord:
        """The arrays of cell ``(name, level)``."""
        if (name, level) not in self._arrays:
            raise UserError(f"the in-memory results have no cell {name}/{level}")
        arrays = self._arrays[(name, level)][0]
        return CellRecord(name=name, level=int(level),
                          **{key: arrays.get(key) for key in CELL_ARRAYS})

    def damaged_cells(self) -> list[Cell]:
        """Always empty: arrays in memory carry no checksums to fail."""
        return []

    def save(self, path: str | os.PathLike) -> Path:
        """Write these results as a results file at ``path`` (atomically; an existing file is
        an error, so nothing is overwritten)."""
        path = Path(path)
        if path.exists():
            raise UserError(f"results file {path} already exists; choose another folder")
        write_results(path, self.attrs, ((name, level, *self._arrays[(name, level)])
                                         for name, level in self._cells))
        return path
