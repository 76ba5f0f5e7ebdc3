"""``merge``: combine the partial results files of ``--shard I/N`` runs into one.

The parts must come from one scoring run split into shards: the same checkpoint (sha256),
suite, subset, seed, settings, package versions and shard count. Paths (checkpoint path, data
roots) may differ, as they do between cluster nodes. Every cell of the suite must be held by
exactly one part; missing and duplicated cells are reported together, and nothing is written
unless the merge is complete. Cell arrays are copied unchanged, so the merged file equals the
file of one unsharded run array for array.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from robustbench_dm.errors import UserError
from robustbench_dm.scoring.baseline import check_baseline_suite
from robustbench_dm.scoring.fast_path import DEFAULT_SETTINGS
from robustbench_dm.scoring.results import Results, read_cell
from robustbench_dm.scoring.results_writer import write_results
from robustbench_dm.scoring.score import RESULTS_NAME, SUMMARY_NAME
from robustbench_dm.scoring.shards import shard_cells
from robustbench_dm.scoring.summary import write_summary
_PATH_KEYS = {"checkpoint": ("path",), "metadata": ("data_root", "clean_root")}


def _open_part(path: str | os.PathLike) -> Results:
    path = Path(path)
    part = Results.load(path / RESULTS_NAME if path.is_dir() else path)
    if part.attrs.get("shard") is None:
        raise UserError(f"{part.path} is not a shard (it was scored whole, without a shard "
                        "I/N); merge combines the partial results files of sharded runs")
    return part


def _identity(part: Results) -> dict[str, Any]:
    """What must agree between the parts of one run, paths left out."""
    attrs = part.attrs
    identity = {key: attrs.get(key) for key in ("kind", "suite", "num_classes", "seed",
                                                  "versions", "schema")}
    for key, ignored in _PATH_KEYS.items():
        identity[key] = {k: v for k, v in (attrs.get(key) or {}).items() if k not in ignored}
    identity["settings"] = attrs.get("settings", DEFAULT_SETTINGS)
    identity["shard count"] = attrs["shard"]["count"]
    identity["suite cells"] = attrs["shard"]["cells"]
    return identity


def _check_same_run(parts: Sequence[Results]) -> None:
    first = _identity(parts[0])
    for part in parts[1:]:
        ours = _identity(part)
        for key, value in first.items():
            if ours[key] != value:
                if isinstance(value, dict):
                    keys = sorted(set(value) | set(ours[key]))
                    detail = "; ".join(f"{k}: {value.get(k)!r} vs {ours[key].get(k)!r}"
                                       for k in keys if value.get(k) != ours[key].get(k))
                else:
                    detail = f"{value!r} vs {ours[key]!r}"
                raise UserError(f"{parts[0].path} and {part.path} differ in {key} ({detail}); "
                                "merge only the shards of one scoring run")


def _check_cells(parts: Sequence[Results]) -> list[tuple[str, int]]:
    """Every cell of the suite, in order; refuse missing or duplicated ones."""
    shard = parts[0].attrs["shard"]
    cells = [(name, int(level)) for name, level in shard["cells"]]
    holders: dict[tuple[str, int], list[Results]] = {}
    for part in parts:
        for cell in part.cells():
            holders.setdefault(cell, []).append(part)
    problems = []
    unexpected = [c for c in holders if c not in cells]
    if unexpected:
        problems.append("cells outside the suite: " + ", ".join(f"{n}/{lv}" for n, lv in unexpected))
    duplicated = [c for c in cells if len(holders.get(c, [])) > 1]
    if duplicated:
        problems.append("duplicated cells: " + "; ".join(
            f"{n}/{lv} in {', '.join(str(p.path) for p in holders[(n, lv)])}" for n, lv in duplicated))
    missing = [c for c in cells if c not in holders]
    if missing:
        count = int(shard["count"])
        owner = {c: i for i in range(1, count + 1) for c in shard_cells(cells, i, count)}
        problems.append("missing cells: " + ", ".join(
            f"{n}/{lv} (shard {owner[(n, lv)]}/{count})" for n, lv in missing))
    if problems:
        raise UserError(f"cannot merge {len(parts)} parts: " + "; ".join(problems)
                        + ". Re-run the shards named, or drop the extra parts")
    return cells


def merge(parts: Sequence[str | os.PathLike], out_dir: str | os.PathLike, *,
          baseline: "Results | str | os.PathLike | None" = None) -> Results:
    """Merge the sharded results files ``parts`` (files or their folders) into
    ``out_dir/results.h5`` and ``out_dir/summary.json`` (normalised by ``baseline``)."""
    if not parts:
        raise UserError("merge needs the partial results files of a sharded run")
    opened = [_open_part(p) for p in parts]
    _check_same_run(opened)
    cells = _check_cells(opened)
    if baseline is not None and not isinstance(baseline, Results):
        baseline = Results.load(baseline)
    if baseline is not None:
        check_baseline_suite(baseline.path, baseline.suite, [opened[0].suite])
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UserError(f"output folder {out} exists and is not a folder")
    path = out / RESULTS_NAME
    if path.exists():
        raise UserError(f"{path} already exists: merge into another out_dir or delete it",
                        params=("out_dir",))
    holder = {cell: part for part in opened for cell in part.cells()}
    attrs = {k: v for k, v in opened[0].attrs.items() if k != "shard"}

    def arrays() -> Iterator[tuple[str, int, Mapping[str, np.ndarray], str | None]]:
        for name, level in cells:
            yield name, level, *read_cell(holder[(name, level)].path, name, level)

    out.mkdir(parents=True, exist_ok=True)
    write_results(path, attrs, arrays())
    results = Results.load(path)
    write_summary(out / SUMMARY_NAME, results.summary(baseline))
    return results
