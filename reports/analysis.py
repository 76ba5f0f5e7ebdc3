"""From loaded runs to the numbers a report states: per suite, each run's aggregates with
bootstrap intervals, which models are at chance, the units compared (one run, or the training
seeds of one recipe), the most robust unit, and paired differences with a plain sentence."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from reports import bootstrap, compare
from reports.bootstrap import Interval
from reports.coverage import images_phrase, marks_phrase, run_flags
from reports.load import ScoredRun
from reports.measures import (Baseline, Measure, baseline_from_run, default_baseline,
                              measures_for)
from reports.seeds import Unit, group_label, make_unit, seed_groups
from robustbench_dm import metrics
from robustbench_dm.scoring.baseline import check_baseline_suite

PRIMARY = {"c": ("mce", "mean_error"), "p": ("mfr", "mfp")}


@dataclass(frozen=True)
class Chance:
    """A model whose error interval reaches chance level 1 - 1/K."""

    suite: str                 # the -C suite where it was measured
    measure: str               # "clean_error", else "mean_error"
    measure_label: str
    interval: Interval
    classes: int
    scope: str = ""            # "n = 300 images per cell"

    @property
    def level(self) -> float:
        return 1.0 - 1.0 / self.classes

    def sentence(self, label: str, suite: str) -> str:
        iv = self.interval
        where = "" if suite == self.suite else f" on {self.suite}"
        what = "its flip probabilities are" if suite != self.suite else "it is"
        return (f"{label} is at chance: its {self.measure_label.lower()}{where} is "
                f"{100 * iv.estimate:.1f} % (95% CI {100 * iv.low:.1f} to {100 * iv.high:.1f}; "
                f"{self.scope}), "
                f"which reaches the chance level of {100 * self.level:.1f} % for {self.classes} "
                f"classes, so {what} not ranked or compared.")


@dataclass
class RunAnalysis:
    """One results file's aggregates (fractions) with intervals."""

    run: ScoredRun
    baseline: Baseline | None
    measures: dict[str, Measure]
    intervals: dict[str, Interval]
    calibration: dict[tuple[str, int], float | None]   # per -C cell; None below one bin
    chance: Chance | None = None

    @property
    def flags(self) -> list[str]:
        """Marks shown beside this run's numbers everywhere."""
        return run_flags(self.run) + (["at chance"] if self.chance else [])


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
    scope: str = ""            # what was compared: images per cell, cells, seeds

    @property
    def sentence(self) -> str:
        if self.difference is None:
            return (f"{self.better} and {self.other} were not scored on the same images, so no "
                    f"paired comparison is made: {'; '.join(self.refused)}.")
        diff = self.difference
        span = (f"{100 * diff.estimate:.1f} points "
                f"(95% CI {100 * diff.low:.1f} to {100 * diff.high:.1f})")
        scope = f" ({self.scope})" if self.scope else ""
        if diff.low > 0:
            return (f"{self.better} is more robust than {self.other} by {span} of "
                    f"{self.measure_label}{scope}.")
        return (f"The difference in {self.measure_label} between {self.better} and {self.other} "
                f"({span}) is within noise{scope}.")


@dataclass
class SuiteAnalysis:
    suite: str
    kind: str
    runs: list[RunAnalysis]
    primary: str | None
    primary_label: str | None
    ranking: list[str]                      # unit labels, lowest primary measure first
    comparisons: list[Comparison] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)

    def run(self, label: str) -> RunAnalysis:
        return next(r for r in self.runs if r.run.label == label)

    @property
    def title(self) -> str:
        """The suite as readers see it: the label every run records (``"ImageNet-C at 384 px
        (generated)"`` for ``imagenet-c-384px``; ``"cifar10-c (generated)"`` for a suite made on
        the fly without one), else its name (runs of released and generated images side by side)."""
        labels = {r.run.metadata.get("label") or (f"{self.suite} (generated)" if r.run.metadata.get("generated")
                                                  else None) for r in self.runs}
        return labels.pop() if len(labels) == 1 and None not in labels else self.suite

    def unit(self, label: str) -> Unit:
        return next(u for u in self.units if u.label == label)

    @property
    def groups(self) -> list[Unit]:
        """Units of several training seeds."""
        return [u for u in self.units if u.grouped]


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
    imagenet_c, threed = by_suite["imagenet-c"], by_suite["imagenet-3dcc"]
    in_threed = {ra.run.label for ra in threed.runs}
    labels = [ra.run.label for ra in imagenet_c.runs if ra.run.label in in_threed]
    return (imagenet_c, threed, labels) if labels else None


def analyse(runs: list[ScoredRun], *, baseline_run: ScoredRun | None = None,
            n_boot: int = 1000, seed: int = 0) -> Analysis:
    """Group runs by suite and compute everything the report states.

    Models at chance (see :func:`chance`) are marked and left out of the ranking and of the
    paired comparisons; a -P run inherits the verdict of the same checkpoint on a -C suite.
    """
    if baseline_run is not None:
        check_baseline_suite(baseline_run.shown_path, baseline_run.suite, [r.suite for r in runs])
    suites = list(dict.fromkeys(r.suite for r in runs))
    parts = [_measure_suite([r for r in runs if r.suite == s], baseline_run, n_boot, seed)
             for s in suites]
    verdicts = {}
    for sa, _ in parts:
        for ra in sa.runs:
            ra.chance = chance(ra.run, ra.intervals, sa.suite)
            if ra.chance is not None:
                verdicts.setdefault(_identity(ra.run), ra.chance)
    for sa, _ in parts:
        for ra in sa.runs:
            if sa.kind == "p":
                ra.chance = verdicts.get(_identity(ra.run))
    out = [_rank_suite(sa, reps, seed) for sa, reps in parts]
    return Analysis(suites=out, n_boot=n_boot, seed=seed, baseline_run=baseline_run)


def chance(run: ScoredRun, intervals: dict[str, Interval], suite: str) -> Chance | None:
    """At chance when the 95% interval of the clean error (else of the mean corruption error)
    reaches 1 - 1/K for a K-class -C suite; None otherwise (and for -P suites)."""
    if run.kind != "c" or run.num_classes < 2:
        return None
    key = next((k for k in ("clean_error", "mean_error") if k in intervals), None)
    if key is None:
        return None
    found = Chance(suite, key, _LABELS[key], intervals[key], run.num_classes, images_phrase([run]))
    return found if intervals[key].high >= found.level - 1e-12 else None


_LABELS = {"clean_error": "Clean error", "mean_error": "Mean corruption error"}


def _identity(run: ScoredRun):
    return run.checkpoint.get("sha256") or run.label


def _measure_suite(runs: list[ScoredRun], baseline_run: ScoredRun | None, n_boot: int,
                   seed: int) -> tuple[SuiteAnalysis, dict[str, dict[str, np.ndarray]]]:
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
    label = analysed[0].measures[primary].label if primary else None
    return SuiteAnalysis(suite, kind, analysed, primary, label, []), reps


def _rank_suite(sa: SuiteAnalysis, reps: dict[str, dict[str, np.ndarray]],
                seed: int) -> SuiteAnalysis:
    """Units (seed groups), the ranking of the units not at chance, and the paired comparisons
    of the best unit with every other one."""
    by_label = {ra.run.label: ra for ra in sa.runs}
    rng = np.random.default_rng([seed, 1])
    taken = set(by_label)
    for members in seed_groups([ra.run for ra in sa.runs]):
        label = group_label(members, taken) if len(members) > 1 else members[0].label
        taken.add(label)
        unit = make_unit(label, [by_label[r.label] for r in members], reps, rng)
        unit.chance = (chance(unit.run, unit.intervals, sa.suite) if sa.kind == "c"
                       else unit.members[0].chance)
        sa.units.append(unit)
    if sa.primary is None:
        return sa
    ranked = sorted((u for u in sa.units if u.chance is None),
                    key=lambda u: u.intervals[sa.primary].estimate)
    sa.ranking = [u.label for u in ranked]
    if not ranked:
        return sa
    best = ranked[0]
    for other in ranked[1:]:
        reasons = compare.differences(best.run, other.run)
        diff = None
        if not reasons:
            samples = other.replicates[sa.primary] - best.replicates[sa.primary]
            estimate = other.intervals[sa.primary].estimate - best.intervals[sa.primary].estimate
            diff = bootstrap.interval(estimate, samples)
        sa.comparisons.append(Comparison(
            sa.suite, sa.primary, sa.primary_label, best.label, other.label, diff, reasons,
            compare.notes(best.run, other.run), paired_scope(best, other)))
    return sa


def paired_scope(first: Unit, second: Unit) -> str:
    """What a paired comparison of ``first`` and ``second`` resampled, as a phrase."""
    run = first.run
    cells = len(run.cells)
    text = f"paired over the same {images_phrase([run])}, {cells} cell{'s' * (cells > 1)}"
    if first.grouped or second.grouped:
        text += (f", {len(first.members)} and {len(second.members)} training seeds resampled "
                 "with the images")
    return text + marks_phrase(run)


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
    """RMS calibration error per cell (:func:`robustbench_dm.metrics.cell_calibration`)."""
    return {key: metrics.cell_calibration(cell.values["confidence"], 1.0 - cell.values["error"])
            for key, cell in run.cells.items()}

