"""95% bootstrap intervals of what the figures draw, with the resampling of the tables
(`reports.bootstrap`: test images drawn with replacement, one draw shared by every cell):

- per corruption: CE (or FR, a ratio to the baseline) when ``ratio``, else the mean over levels;
- per severity: the mean over the corruptions that enter the mean error (`mean_set`), 0 = clean;
- per cell: the cell mean.

Each point estimate equals what the figure draws, so an interval always brackets its bar or point.
"""

from __future__ import annotations

from reports import bootstrap
from reports.bootstrap import Interval
from reports.load import CellKey, ScoredRun
from reports.measures import (
    Baseline,
    Measure,
    _grouped_ratio,
    _mean,
    _ratio_columns,
    mean_set,
)


def _intervals(run: ScoredRun, measures: list[Measure], n_boot: int, seed: int
               ) -> dict[str, Interval]:
    if not measures:
        return {}
    reps = bootstrap.replicates([run], {run.label: measures}, n_boot=n_boot, seed=seed)[run.label]
    return {m.key: bootstrap.interval(m.point(run), reps[m.key]) for m in measures}


def per_corruption(run: ScoredRun, baseline: Baseline | None, *, value: str = "error",
                   ratio: bool = False, n_boot: int = 1000, seed: int = 0) -> dict[str, Interval]:
    """{corruption: interval} of the ratio to ``baseline`` (names the baseline covers) when
    ``ratio``, else of the mean of ``value`` over the levels scored."""
    measures = []
    for name in run.cell_names():
        if ratio:
            found = _ratio_columns(run, baseline, [name], value)
            if found is not None:
                cols, groups, denominators = found
                measures.append(Measure(name, name, cols, _grouped_ratio(groups, denominators)))
        else:
            cols = tuple(((name, level), value) for level in run.levels(name))
            measures.append(Measure(name, name, cols, _mean))
    return _intervals(run, measures, n_boot, seed)


def per_severity(run: ScoredRun, names: list[str] | None = None, *, value: str = "error",
                 n_boot: int = 1000, seed: int = 0) -> dict[int, Interval]:
    """{severity: interval} of the mean of ``value`` over ``names`` (default `mean_set`) at each
    severity scored; severity 0 is the clean cell when there is one."""
    names = mean_set(run) if names is None else names
    measures = []
    if ("clean", 0) in run.cells:
        measures.append(Measure("0", "clean", ((("clean", 0), value),), _mean))
    for level in range(1, 6):
        cols = tuple(((n, level), value) for n in names if (n, level) in run.cells)
        if cols:
            measures.append(Measure(str(level), f"severity {level}", cols, _mean))
    return {int(k): v for k, v in _intervals(run, measures, n_boot, seed).items()}


def per_cell(run: ScoredRun, *, value: str = "error", n_boot: int = 1000, seed: int = 0
             ) -> dict[CellKey, Interval]:
    """{(name, level): interval} of each cell's mean of ``value``."""
    measures = [Measure(f"{name}/{level}", name, (((name, level), value),), _mean)
                for name, level in run.cells]
    return {(k.rsplit("/", 1)[0], int(k.rsplit("/", 1)[1])): v
            for k, v in _intervals(run, measures, n_boot, seed).items()}
