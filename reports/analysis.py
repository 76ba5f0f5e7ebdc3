"""From loaded runs to the numbers a report states: per suite, each run's aggregates with
bootstrap intervals, the most robust run, and paired differences with a plain sentence."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from reports import bootstrap, compare
from reports.bootstrap import Interval
from reports.load import ScoredRun
from reports.measures import (Baseline, Measure, baseline_from_run, default_baseline,
                              measures_for)
from robustbench_dm import metrics
from robustbench_dm.errors import UserError

PRIMARY = {"c": ("mce", "mean_error"), "p": ("mfr", "mfp")}
CALIBRATION_BIN = 100   # images per equal-mass bin (Hendrycks calib_err)


@dataclass
class RunAnalysis:
    """One results file's aggregates (fractions) with intervals."""

    run: ScoredRun
    baseline: Baseline | None
    measures: dict[str, Measure]
    intervals: dict[str, Interval]
    calibration: dict[tuple[str, int], float | None]   # per -C cell; None below one bin


@dataclass
class Comparison:
    """``better`` vs ``other`` on ``measure``: difference other - better, or why refused."""

    suite: str
    measure: str
    measure_label: str
    better: str
    other: str
    difference: Interval | None
    refused: list[str]
    notes: list[str]

    @property
    def sentence(self) -> str:
        if self.difference is None:
            return (f"{self.better} and {self.other} were not scored on the same images, so no "
                    f"paired comparison is made ({'; '.join(self.refused)}).")
        d = self.difference
        span = f"{100 * d.estimate:.1f} points (95% CI {100 * d.low:.1f} to {100 * d.high:.1f})"
        if d.low > 0:
            return f"{self.better} is more robust than {self.other} by {span} of {self.measure_label}."
        return (f"The difference in {self.measure_label} between {self.better} and {self.other} "
                f"({span}) is within noise.")


@dataclass
class SuiteAnalysis:
    suite: str
    kind: str
    runs: list[RunAnalysis]
    primary: str | None
    primary_label: str | None
    ranking: list[str]
    comparisons: list[Comparison] = field(default_factory=list)

    def run(self, label: str) -> RunAnalysis:
        return next(r for r in self.runs if r.run.label == label)


@dataclass
class Analysis:
    suites: list[SuiteAnalysis]
    n_boot: int
    seed: int
    baseline_run: ScoredRun | None


def imagenet_c_and_3dcc(analysis: Analysis) -> tuple[SuiteAnalysis, SuiteAnalysis, list[str]] | None:
    """The ImageNet-C and ImageNet-3DCC analyses and the labels of the models scored on both,
    or None when either suite or a common model is missing."""
    by_suite = {sa.suite: sa for sa in analysis.suites}
    if "imagenet-c" not in by_suite or "imagenet-3dcc" not in by_suite:
        return None
    c, d3 = by_suite["imagenet-c"], by_suite["imagenet-3dcc"]
    labels = [ra.run.label for ra in c.runs if ra.run.label in {r.run.label for r in d3.runs}]
    return (c, d3, labels) if labels else None


def analyse(runs: list[ScoredRun], *, baseline_run: ScoredRun | None = None,
            n_boot: int = 1000, seed: int = 0) -> Analysis:
    """Group runs by suite and compute everything the report states."""
    if baseline_run is not None and all(r.suite != baseline_run.suite for r in runs):
        raise UserError(f"--baseline {baseline_run.path} holds {baseline_run.suite} results, but "
                        f"no input is a {baseline_run.suite} results file")
    suites = list(dict.fromkeys(r.suite for r in runs))
    out = [_analyse_suite([r for r in runs if r.suite == s], baseline_run, n_boot, seed)
           for s in suites]
    return Analysis(suites=out, n_boot=n_boot, seed=seed, baseline_run=baseline_run)


def _analyse_suite(runs: list[ScoredRun], baseline_run: ScoredRun | None, n_boot: int,
                   seed: int) -> SuiteAnalysis:
    suite, kind = runs[0].suite, runs[0].kind
    user_baseline = None
    if baseline_run is not None and baseline_run.suite == suite:
        user_baseline = baseline_from_run(baseline_run)
    measures = {}
    baselines = {}
    for run in runs:
        base = user_baseline or default_baseline(run)
        baselines[run.label] = base
        measures[run.label] = measures_for(run, base)
    reps: dict[str, dict[str, np.ndarray]] = {}
    for group in _same_images(runs):
        reps.update(bootstrap.replicates(group, measures, n_boot=n_boot, seed=seed))
    analysed = []
    for run in runs:
        ms = {m.key: m for m in measures[run.label]}
        intervals = {k: bootstrap.interval(m.point(run), reps[run.label][k]) for k, m in ms.items()}
        analysed.append(RunAnalysis(run, baselines[run.label], ms, intervals,
                                    _calibration(run) if kind == "c" else {}))
    primary = next((k for k in PRIMARY[kind] if all(k in a.intervals for a in analysed)), None)
    result = SuiteAnalysis(suite, kind, analysed, primary, None, [])
    if primary is None:
        return result
    result.primary_label = analysed[0].measures[primary].label
    ranked = sorted(analysed, key=lambda a: a.intervals[primary].estimate)
    result.ranking = [a.run.label for a in ranked]
    best = ranked[0]
    for other in ranked[1:]:
        reasons = compare.differences(best.run, other.run)
        diff = None
        if not reasons:
            samples = reps[other.run.label][primary] - reps[best.run.label][primary]
            estimate = other.intervals[primary].estimate - best.intervals[primary].estimate
            diff = bootstrap.interval(estimate, samples)
        result.comparisons.append(Comparison(
            suite, primary, result.primary_label, best.run.label, other.run.label, diff,
            reasons, compare.notes(best.run, other.run)))
    return result


def _same_images(runs: list[ScoredRun]) -> list[list[ScoredRun]]:
    """Runs grouped by identical image identities (they share bootstrap draws)."""
    groups: list[tuple[np.ndarray, list[ScoredRun]]] = []
    for run in runs:
        ids = bootstrap.image_ids(run)
        for key, members in groups:
            if np.array_equal(key, ids):
                members.append(run)
                break
        else:
            groups.append((ids, [run]))
    return [members for _, members in groups]


def _calibration(run: ScoredRun) -> dict[tuple[str, int], float | None]:
    """RMS calibration error per cell (adaptive bins of 100, every bin counted)."""
    out = {}
    for key, cell in run.cells.items():
        if cell.n < CALIBRATION_BIN:
            out[key] = None
        else:
            out[key] = metrics.rms_calibration_error(
                cell.values["confidence"], 1.0 - cell.values["error"], bin_size=CALIBRATION_BIN)
    return out

