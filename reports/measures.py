"""The aggregate numbers a report states per run (mean error, mCE, mFR, ...), as functions of
cell means, so the same definition gives the point estimate and every bootstrap replicate.

A `Measure` reads a fixed list of (cell, value) columns; its function maps a (replicates x
columns) array of cell means to one value per replicate. The formulas are those of
`robustbench_dm.metrics`, called with a leading replicate axis: CE / relative CE per corruption
(`corruption_error`, `relative_corruption_error`) averaged over the corruptions that enter the
mean (`benchmark_names`), and mFR / mT5D (`mfr`, `mt5d`) of FP / T5D summed over difficulties.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable, Mapping

import numpy as np

from reports.load import CellKey, ScoredRun
from robustbench_dm import metrics

Column = tuple[CellKey, str]


@dataclass(frozen=True)
class Baseline:
    """What CE / FR are normalised by: per-cell mean values and a clean error."""

    name: str                               # e.g. "AlexNet (published ImageNet-C table)"
    source: str                             # where the numbers come from
    cells: Mapping[CellKey, Mapping[str, float]]   # (name, level) -> {"error"|"flip"|"t5d": value}
    clean_error: float | None = None


ALEXNET = Baseline(
    name="AlexNet",
    source=("published ImageNet-C errors of torchvision's AlexNet (hendrycks/robustness README, "
            f"commit 76d9393); clean error {metrics.ALEXNET_CLEAN_ERROR} from torchvision's "
            "model card"),
    cells={(name, s): {"error": row[s - 1]} for name, row in metrics.ALEXNET_ERRORS.items()
           for s in metrics.SEVERITIES},
    clean_error=metrics.ALEXNET_CLEAN_ERROR,
)


@dataclass(frozen=True)
class Measure:
    """One aggregate: ``fn`` maps (B, len(columns)) cell means to (B,) values."""

    key: str
    label: str
    columns: tuple[Column, ...]
    fn: Callable[[np.ndarray], np.ndarray]
    percent: bool = True          # fractions / ratios shown x100

    def point(self, run: ScoredRun) -> float:
        means = np.array([[run.mean(cell, value) for cell, value in self.columns]])
        return float(self.fn(means)[0])


def mean_set(run: ScoredRun) -> list[str]:
    """Corruptions that enter mean error / mCE: the 15 benchmark ones for ImageNet-C names
    (extras excluded), every corruption otherwise (e.g. ImageNet-3DCC, perturbations)."""
    names = run.cell_names()
    return metrics.benchmark_names(names) if run.kind == "c" else names


def default_baseline(run: ScoredRun) -> Baseline | None:
    """AlexNet for a full ImageNet-C run (all 15 benchmark corruptions x 5 severities)."""
    if run.kind == "c" and metrics.alexnet_applies(
            run.suite, {n: run.levels(n) for n in run.cell_names()}):
        return ALEXNET
    return None


def measures_for(run: ScoredRun, baseline: Baseline | None) -> list[Measure]:
    """Every aggregate that can be computed for ``run`` (normalised ones only with a baseline)."""
    return _c_measures(run, baseline) if run.kind == "c" else _p_measures(run, baseline)


def mean_over_cells(cell_means: np.ndarray) -> np.ndarray:
    """(B, columns) cell means -> (B,) their plain mean (a `Measure` function)."""
    return cell_means.mean(axis=1)


def _c_measures(run: ScoredRun, baseline: Baseline | None) -> list[Measure]:
    out = []
    has_clean = ("clean", 0) in run.cells
    if has_clean:
        out.append(Measure("clean_error", "Clean error", ((("clean", 0), "error"),),
                           lambda x: x[:, 0]))
    names = mean_set(run)
    cols = tuple(((n, s), "error") for n in names for s in run.levels(n))
    if cols:
        out.append(Measure("mean_error", "Mean corruption error", cols, mean_over_cells))
    ratio = _ratio_columns(run, baseline, names, "error")
    if ratio is None:
        return out
    cols, groups, base_rows = ratio
    out.append(Measure("mce", "mCE", cols, _normalised("error", names, groups, base_rows)))
    clean = baseline.clean_error
    if has_clean and clean is not None and all(sum(row) - len(row) * clean > 0
                                               for row in base_rows):
        rel_cols = cols + ((("clean", 0), "error"),)
        out.append(Measure("relative_mce", "Relative mCE", rel_cols,
                           _relative(groups, base_rows, clean)))
    return out


def _p_measures(run: ScoredRun, baseline: Baseline | None) -> list[Measure]:
    names = mean_set(run)
    out = []
    for value, key, label, norm_key, norm_label in (
            ("flip", "mfp", "Mean flip probability", "mfr", "mFR"),
            ("t5d", "mt5d_unnormalized", "Mean top-5 distance", "mt5d", "mT5D")):
        cols = tuple(((n, d), value) for n in names for d in run.levels(n))
        out.append(Measure(key, label, cols, mean_over_cells, percent=value == "flip"))
        ratio = _ratio_columns(run, baseline, names, value)
        if ratio is not None:
            cols, groups, base_rows = ratio
            out.append(Measure(norm_key, norm_label, cols,
                               _normalised(value, names, groups, base_rows)))
    return out


def _ratio_columns(run: ScoredRun, baseline: Baseline | None, names: list[str], value: str):
    """Columns grouped per corruption, and the baseline values of each group, or None if the
    baseline does not cover every (name, level) of the run (or, for -C, a corruption lacks a
    severity)."""
    if baseline is None or not names:
        return None
    cols, groups, base_rows = [], [], []
    for name in names:
        levels = run.levels(name)
        if run.kind == "c" and levels != list(metrics.SEVERITIES):
            return None
        keys = [(name, lvl) for lvl in levels]
        if any(k not in baseline.cells or value not in baseline.cells[k] for k in keys):
            return None
        groups.append(list(range(len(cols), len(cols) + len(keys))))
        cols.extend((k, value) for k in keys)
        base_rows.append([baseline.cells[k][value] for k in keys])
    if min(sum(row) for row in base_rows) <= 0:
        return None
    return tuple(cols), groups, base_rows


def _normalised(value: str, names: list[str], groups: list[list[int]],
                base_rows: list[list[float]]):
    """(B, columns) cell means -> (B,) mCE (``value`` "error"), mFR ("flip") or mT5D ("t5d")."""
    def fn(cell_means: np.ndarray) -> np.ndarray:
        if value == "error":
            ces = [metrics.corruption_error(cell_means[:, g], row) for g, row in zip(groups, base_rows)]
            return np.mean(np.stack(ces, axis=1), axis=1)
        mean_ratio = metrics.mfr if value == "flip" else metrics.mt5d
        return mean_ratio({n: cell_means[:, g].sum(axis=1) for n, g in zip(names, groups)},
                          {n: sum(row) for n, row in zip(names, base_rows)})
    return fn


def _relative(groups: list[list[int]], base_rows: list[list[float]], base_clean: float):
    """(B, columns + clean) cell means -> (B,) relative mCE."""
    def fn(cell_means: np.ndarray) -> np.ndarray:
        ratios = [metrics.relative_corruption_error(cell_means[:, g], cell_means[:, -1], row, base_clean)
                  for g, row in zip(groups, base_rows)]
        return np.mean(np.stack(ratios, axis=1), axis=1)
    return fn


def ratio_measure(run: ScoredRun, baseline: Baseline | None, name: str, value: str = "error",
                  key: str | None = None) -> Measure | None:
    """CE (or FR / T5D ratio) of corruption ``name`` as a `Measure` keyed ``key`` (default
    ``name``), or None when the baseline does not cover it."""
    ratio = _ratio_columns(run, baseline, [name], value)
    if ratio is None:
        return None
    cols, groups, base_rows = ratio
    return Measure(key or name, name, cols, _normalised(value, [name], groups, base_rows))


def corruption_ratios(run: ScoredRun, baseline: Baseline | None, value: str = "error"
                      ) -> dict[str, float]:
    """CE (or FR / T5D ratio) per corruption that the baseline covers (empty without one)."""
    found = (ratio_measure(run, baseline, name, value) for name in run.cell_names())
    return {m.key: m.point(run) for m in found if m is not None}


def corruption_means(run: ScoredRun, value: str = "error") -> dict[str, float]:
    """Mean over levels of ``value`` per corruption / perturbation."""
    return {n: float(np.mean([run.mean((n, lvl), value) for lvl in run.levels(n)]))
            for n in run.cell_names()}


def baseline_from_run(run: ScoredRun) -> Baseline:
    """A baseline made from another model's results file (``--baseline``)."""
    cells = {key: {v: float(np.mean(arr)) for v, arr in c.values.items() if v != "confidence"}
             for key, c in run.cells.items() if key[0] != "clean"}
    clean = run.mean(("clean", 0)) if ("clean", 0) in run.cells else None
    return Baseline(name=run.label, source=f"results file {run.path}", cells=cells,
                    clean_error=clean)
