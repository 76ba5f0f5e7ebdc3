"""Cell-level shards: ``--shard I/N`` scores an even share of a suite's cells.

For clusters without a shared process group (e.g. a Slurm job array): shard I of N (1-based)
takes the I-th of N contiguous, equally sized (+-1) runs of ``suite.cells()`` and writes a
partial results file whose ``shard`` attribute names I, N and every cell of the suite, so that
``robust-eval merge`` can tell missing and duplicated cells apart.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from robustbench_dm.errors import UserError

Cell = tuple[str, int]


def parse_shard(value: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """``"I/N"`` (or ``(I, N)``) -> ``(I, N)`` with ``1 <= I <= N``; ``None`` and ``1/1``
    (the whole suite) -> ``None``."""
    if value is None:
        return None
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value)
        if not match:
            raise UserError(f"shard={value!r}: expected I/N, e.g. 2/8 for the second of 8 shards",
                            params=("shard",))
        index, count = int(match.group(1)), int(match.group(2))
    else:
        index, count = (int(v) for v in value)
    if not 1 <= index <= count:
        raise UserError(f"shard={index}/{count}: expected 1 <= I <= N (shards count from 1)",
                        params=("shard",))
    return None if count == 1 else (index, count)


def shard_cells(cells: Sequence[Cell], index: int, count: int) -> list[Cell]:
    """The cells of shard ``index`` (1-based) of ``count``: a contiguous run, sizes +-1."""
    n = len(cells)
    return list(cells[n * (index - 1) // count:n * index // count])


def shard_attr(cells: Sequence[Cell], index: int, count: int) -> dict[str, Any]:
    """The ``shard`` attribute of a partial results file."""
    return {"index": index, "count": count, "cells": [[name, int(level)] for name, level in cells]}
