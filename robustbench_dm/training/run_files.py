"""The files a training run writes next to its checkpoint: ``config.json`` and ``log.csv``.

Both are rewritten atomically (temporary file, then rename), so an interrupted run never
leaves a half-written line; a resumed run drops log rows past its checkpoint's epoch.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Sequence

from robustbench_dm.atomic import write_text_atomic

LOG_COLUMNS = ("epoch", "lr", "loss", "train_acc", "test_acc", "seconds", "images_per_s")


def write_log(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """Write ``rows`` (dicts keyed by :data:`LOG_COLUMNS`) as ``log.csv``."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=LOG_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, buffer.getvalue())


def read_log(path: Path, up_to_epoch: int) -> list[dict[str, Any]]:
    """The rows of an existing ``log.csv`` with ``epoch <= up_to_epoch`` (none if absent)."""
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [row for row in csv.DictReader(f) if int(row["epoch"]) <= up_to_epoch]
