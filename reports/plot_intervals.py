"""95% bootstrap intervals of what the figures draw, with the resampling of the tables
(`reports.bootstrap`: test images drawn with replacement, one draw shared by every cell):

- per corruption: CE (or FR, a ratio to the baseline) when ``ratio``, else the mean over levels;
- per severity: the mean over the corruptions that enter the mean error (`mean_set`), 0 = clean;
- per cell: the cell mean.

Each point estimate is what the figure draws, computed by the same `Measure` as its interval.
All of a run's quantities come from one bootstrap (`run_intervals`).
"""

from __future__ import annotations

import weakref
from collections import OrderedDict

from reports import bootstrap
from reports.bootstrap import Interval
from reports.load import CellKey, ScoredRun
from reports.measures import (
    Baseline,
    Measure,
    mean_over_cells,
    mean_set,
    ratio_measure,
)
from robustbench_dm import metrics

#: (id(run), id(baseline), value, n_boot, seed) -> (a weak reference to the run, baseline,
#: intervals): a report draws each run several times; the memo keeps no run (nor its per-image
#: arrays) alive after the report is done.
_MEMO: OrderedDict[tuple, tuple[weakref.ref[ScoredRun], Baseline | None, dict[str, Interval]]] = (
    OrderedDict())
MEMO_SIZE = 64   # runs whose figure intervals are kept


def _measures(run: ScoredRun, baseline: Baseline | None, value: str) -> list[Measure]:
    """Every figure quantity of ``run``: "mean/NAME", "ratio/NAME" (when ``baseline`` covers
    NAME), "severity/S" and "cell/NAME/LEVEL"."""
    out = []
    for name in run.cell_names():
        cols = tuple(((name, level), value) for level in run.levels(name))
        out.append(Measure(f"mean/{name}", name, cols, mean_over_cells))
        ratio = ratio_measure(run, baseline, name, value, key=f"ratio/{name}")
        if ratio is not None:
            out.append(ratio)
    if ("clean", 0) in run.cells:
        out.append(Measure("severity/0", "clean", ((("clean", 0), value),), mean_over_cells))
    names = mean_set(run)
    for level in metrics.SEVERITIES:
        cols = tuple(((n, level), value) for n in names if (n, level) in run.cells)
        if cols:
            out.append(Measure(f"severity/{level}", f"severity {level}", cols, mean_over_cells))
    out += [Measure(f"cell/{name}/{level}", name, (((name, level), value),), mean_over_cells)
            for name, level in run.cells]
    return out


def run_intervals(run: ScoredRun, baseline: Baseline | None, *, value: str = "error",
                  n_boot: int = 1000, seed: int = 0) -> dict[str, Interval]:
    """Every interval the figures draw for ``run`` (keys of `_measures`) from one bootstrap;
    remembered for the last `MEMO_SIZE` (run, baseline, value, n_boot, seed)."""
    key = (id(run), id(baseline), value, n_boot, seed)
    hit = _MEMO.get(key)
    if hit is not None and hit[0]() is run and hit[1] is baseline:
        _MEMO.move_to_end(key)
        return hit[2]
    measures = _measures(run, baseline, value)
    reps = bootstrap.replicates([run], {run.label: measures}, n_boot=n_boot, seed=seed)[run.label]
    found = {m.key: bootstrap.interval(m.point(run), reps[m.key]) for m in measures}
    _MEMO[key] = (weakref.ref(run), baseline, found)
    while len(_MEMO) > MEMO_SIZE:
        _MEMO.popitem(last=False)
    return found


def per_corruption(run: ScoredRun, baseline: Baseline | None, *, value: str = "error",
                   ratio: bool = False, n_boot: int = 1000, seed: int = 0) -> dict[str, Interval]:
    """{corruption: interval} of the ratio to ``baseline`` (names the baseline covers) when
    ``ratio``, else of the mean of ``value`` over the levels scored."""
    prefix = "ratio/" if ratio else "mean/"
    found = run_intervals(run, baseline, value=value, n_boot=n_boot, seed=seed)
    return {k[len(prefix):]: v for k, v in found.items() if k.startswith(prefix)}


def per_severity(run: ScoredRun, baseline: Baseline | None = None, *, value: str = "error",
                 n_boot: int = 1000, seed: int = 0) -> dict[int, Interval]:
    """{severity: interval} of the mean of ``value`` over the corruptions of `mean_set` at each
    severity scored; severity 0 is the clean cell when there is one. (``baseline`` only shares
    the bootstrap with `per_corruption`.)"""
    found = run_intervals(run, baseline, value=value, n_boot=n_boot, seed=seed)
    return {int(k.split("/")[1]): v for k, v in found.items() if k.startswith("severity/")}


def per_cell(run: ScoredRun, baseline: Baseline | None = None, *, value: str = "error",
             n_boot: int = 1000, seed: int = 0) -> dict[CellKey, Interval]:
    """{(name, level): interval} of each cell's mean of ``value`` (``baseline`` as above)."""
    found = run_intervals(run, baseline, value=value, n_boot=n_boot, seed=seed)
    return {(k.split("/")[1], int(k.split("/")[2])): v for k, v in found.items()
            if k.startswith("cell/")}
