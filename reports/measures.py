"""The aggregate numbers a report states per run (mean error, mCE, mFR, ...), as functions of
cell means, so the same definition gives the point estimate and every bootstrap replicate.

A `Measure` reads a fixed list of (cell, value) columns; its function maps a (replicates x
columns) array of cell means to one value per replicate. The formulas are those of
`robustbench_dm.metrics` (CE as a ratio of sums over severities; mCE over the 15 benchmark
corruptions for ImageNet-C names, over every corruption otherwise; FR = FP / baseline FP), in
vectorised form; tests check them against the metric functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from corruptions import CORRUPTIONS, EXTRA
from reports.load import CellKey, ScoredRun
from robustbench_dm import metrics

Column = tuple[CellKey, str]
IMAGENET_C_NAMES = frozenset(CORRUPTIONS) | frozenset(EXTRA)


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
            "commit 76d9393); clean error 0.43478 from torchvision's model card"),
    cells={(name, s + 1): {"error": row[s]} for name, row in metrics.ALEXNET_ERRORS.items()
           for s in range(5)},
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
    if run.kind == "c" and IMAGENET_C_NAMES.intersection(names):
        return [n for n in CORRUPTIONS if n in names]
    return names


def default_baseline(run: ScoredRun) -> Baseline | None:
    """AlexNet for a full ImageNet-C run (all 15 benchmark corruptions x 5 severities)."""
    if run.kind == "c" and run.suite == "imagenet-c" and all(
            run.levels(n) == [1, 2, 3, 4, 5] for n in CORRUPTIONS):
        return ALEXNET
    return None


def measures_for(run: ScoredRun, baseline: Baseline | None) -> list[Measure]:
    """Every aggregate that can be computed for ``run`` (normalised ones only with a baseline)."""
    return _c_measures(run, baseline) if run.kind == "c" else _p_measures(run, baseline)


def _mean(x: np.ndarray) -> np.ndarray:
    return x.mean(axis=1)


def _c_measures(run: ScoredRun, baseline: Baseline | None) -> list[Measure]:
    out = []
    has_clean = ("clean", 0) in run.cells
    if has_clean:
        out.append(Measure("clean_error", "Clean error", ((("clean", 0), "error"),),
                           lambda x: x[:, 0]))
    names = mean_set(run)
    cols = tuple(((n, s), "error") for n in names for s in run.levels(n))
    if cols:
        out.append(Measure("mean_error", "Mean corruption error", cols, _mean))
    ratio = _ratio_columns(run, baseline, names, "error")
    if ratio is None:
        return out
    cols, groups, denominators = ratio
    out.append(Measure("mce", "mCE", cols, _grouped_ratio(groups, denominators)))
    if has_clean and baseline.clean_error is not None:
        rel_cols = cols + ((("clean", 0), "error"),)
        base_gaps = np.array([denominators[i] - len(g) * baseline.clean_error
                              for i, g in enumerate(groups)])
        if (base_gaps > 0).all():
            out.append(Measure("relative_mce", "Relative mCE", rel_cols,
                               _relative_ratio(groups, base_gaps)))
    return out


def _p_measures(run: ScoredRun, baseline: Baseline | None) -> list[Measure]:
    names = mean_set(run)
    out = []
    for value, key, label, norm_key, norm_label in (
            ("flip", "mfp", "Mean flip probability", "mfr", "mFR"),
            ("t5d", "mt5d_unnormalized", "Mean top-5 distance", "mt5d", "mT5D")):
        cols = tuple(((n, d), value) for n in names for d in run.levels(n))
        out.append(Measure(key, label, cols, _mean, percent=value == "flip"))
        ratio = _ratio_columns(run, baseline, names, value)
        if ratio is not None:
            cols, groups, denominators = ratio
            out.append(Measure(norm_key, norm_label, cols, _grouped_ratio(groups, denominators)))
    return out


def _ratio_columns(run: ScoredRun, baseline: Baseline | None, names: list[str], value: str):
    """Columns grouped per corruption, and the baseline sum per group, or None if the baseline
    does not cover every (name, level) of the run (or, for -C, a corruption lacks 5 severities)."""
    if baseline is None or not names:
        return None
    cols, groups, denominators = [], [], []
    for name in names:
        levels = run.levels(name)
        if run.kind == "c" and levels != [1, 2, 3, 4, 5]:
            return None
        keys = [(name, lvl) for lvl in levels]
        if any(k not in baseline.cells or value not in baseline.cells[k] for k in keys):
            return None
        groups.append(list(range(len(cols), len(cols) + len(keys))))
        cols.extend((k, value) for k in keys)
        denominators.append(sum(baseline.cells[k][value] for k in keys))
    if min(denominators) <= 0:
        return None
    return tuple(cols), groups, np.array(denominators, dtype=np.float64)


def _grouped_ratio(groups: list[list[int]], denominators: np.ndarray):
    def fn(x: np.ndarray) -> np.ndarray:
        sums = np.stack([x[:, g].sum(axis=1) for g in groups], axis=1)
        return (sums / denominators).mean(axis=1)
    return fn


def _relative_ratio(groups: list[list[int]], base_gaps: np.ndarray):
    def fn(x: np.ndarray) -> np.ndarray:
        clean = x[:, -1]
        gaps = np.stack([x[:, g].sum(axis=1) - len(g) * clean for g in groups], axis=1)
        return (gaps / base_gaps).mean(axis=1)
    return fn


def corruption_ratios(run: ScoredRun, baseline: Baseline | None, value: str = "error"
                      ) -> dict[str, float]:
    """CE (or FR / T5D ratio) per corruption that the baseline covers (empty without one)."""
    out = {}
    for name in run.cell_names():
        ratio = _ratio_columns(run, baseline, [name], value)
        if ratio is not None:
            cols, _, denominators = ratio
            out[name] = sum(run.mean(cell, v) for cell, v in cols) / float(denominators[0])
    return out


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
