"""``cells.csv``: long format, one row per (model, suite, cell)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from reports.analysis import Analysis
from reports.coverage import compatibility, subset_phrase

COLUMNS = ["model", "suite", "kind", "corruption", "severity", "n", "error",
           "rms_calibration_error", "flip_probability", "top5_distance", "results_file",
           "at_chance", "subset", "compatibility", "flags"]


def cells_frame(analysis: Analysis) -> pd.DataFrame:
    """Every cell of every run; -P cells put the difficulty in ``severity`` and have no error."""
    records = []
    for sa in analysis.suites:
        for ra in sa.runs:
            run = ra.run
            per_run = {      # the same in every cell of the run: worked out once
                "model": run.label, "suite": run.suite, "kind": run.kind,
                "results_file": run.shown_path,
                "at_chance": ra.chance is not None,
                "subset": subset_phrase(run) is not None,
                "compatibility": compatibility(run)[0],
                "flags": "; ".join(ra.flags),
            }
            for key, cell in run.cells.items():
                values = cell.values
                records.append({
                    **per_run,
                    "corruption": key[0], "severity": key[1], "n": cell.n,
                    "error": float(np.mean(values["error"])) if "error" in values else np.nan,
                    "rms_calibration_error": _none_nan(ra.calibration.get(key)),
                    "flip_probability": float(np.mean(values["flip"])) if "flip" in values else np.nan,
                    "top5_distance": float(np.mean(values["t5d"])) if "t5d" in values else np.nan,
                })
    return pd.DataFrame.from_records(records, columns=COLUMNS)


def write_cells_csv(analysis: Analysis, path: Path) -> None:
    cells_frame(analysis).to_csv(path, index=False, float_format="%.10g", encoding="utf-8")


def _none_nan(value) -> float:
    return np.nan if value is None else float(value)
