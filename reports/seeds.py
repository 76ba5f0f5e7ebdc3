"""Training seeds: results of one method, architecture and suite that differ only in the
checkpoint's training seed are one *unit* of comparison.

A unit's value of a measure is the mean over its seeds of each seed's value; its spread is the
sample standard deviation over seeds; its 95% interval comes from a two-level bootstrap that
resamples seeds (with replacement, independently per unit) and, within every replicate, the
same test images for every seed and every unit scored on those images. A paired difference of
two units is the difference of their replicates, so it uses all seeds of both.
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from reports import compare
from reports.bootstrap import Interval, interval
from reports.load import ScoredRun

if TYPE_CHECKING:
    from reports.analysis import Chance, RunAnalysis

#: checkpoint fields that must be equal (besides the recipe without its seed) for one unit
_SAME = ("method", "arch", "method_options", "dataset")


@dataclass
class Unit:
    """What a summary ranks: one results file, or the seeds of one training recipe."""

    label: str
    members: list[RunAnalysis]
    intervals: dict[str, Interval]
    replicates: dict[str, np.ndarray]
    spread: dict[str, float] = field(default_factory=dict)   # sd over seeds; empty for one run
    chance: Chance | None = None

    @property
    def seeds(self) -> list:
        return [m.run.training_seed for m in self.members]

    @property
    def grouped(self) -> bool:
        return len(self.members) > 1

    @property
    def run(self) -> ScoredRun:
        """The first member's run (every member holds the same images)."""
        return self.members[0].run


def recipe_key(run: ScoredRun) -> str | None:
    """What seeds of one recipe share (None: no training seed recorded, never grouped)."""
    ck = run.checkpoint
    if ck.get("seed") is None:
        return None
    recipe = ck.get("recipe")
    if isinstance(recipe, dict):
        recipe = {k: v for k, v in recipe.items() if k != "seed"}
    return json.dumps([run.suite, run.num_classes, [ck.get(k) for k in _SAME], recipe],
                      sort_keys=True, default=str)


def seed_groups(runs: list[ScoredRun]) -> list[list[ScoredRun]]:
    """Runs of one suite split into units: runs with the same recipe key, distinct training
    seeds and the same images form one unit; every other run is a unit of its own. Order
    follows the first member of each unit."""
    units: list[list[ScoredRun]] = []
    for run in runs:
        key = recipe_key(run)
        for unit in units:
            head = unit[0]
            if (key is not None and recipe_key(head) == key
                    and run.training_seed not in [r.training_seed for r in unit]
                    and not compare.differences(head, run)):
                unit.append(run)
                break
        else:
            units.append([run])
    return units


def group_label(runs: list[ScoredRun], taken: set[str]) -> str:
    """"dynmix small_cnn (3 seeds)": the members' common label without seed or checksum
    suffixes, else method and architecture."""
    stems = {_stem(r.label, r.training_seed) for r in runs}
    ck = runs[0].checkpoint
    stem = stems.pop() if len(stems) == 1 else " ".join(
        str(ck[k]) for k in ("method", "arch") if ck.get(k))
    label = f"{stem or runs[0].label} ({len(runs)} seeds)"
    while label in taken:
        label += "'"
    return label


def _stem(label: str, seed) -> str:
    label = re.sub(r"\s*[\[(][^\])]*[\])]$", "", label)       # " (1a2b3c4d)", " [folder]"
    return re.sub(rf"[\s_\-]*(?:s|seed)[\s_\-=]*{re.escape(str(seed))}$", "", label).strip()


def make_unit(label: str, members: list[RunAnalysis], reps: dict[str, dict[str, np.ndarray]],
              rng: np.random.Generator) -> Unit:
    """A unit with its intervals: a single run keeps its own; several seeds get the two-level
    bootstrap (``reps``: every member's image replicates, drawn with the same image draws)."""
    if len(members) == 1:
        ra = members[0]
        return Unit(label, members, dict(ra.intervals), dict(reps[ra.run.label]))
    keys = [k for k in members[0].intervals if all(k in m.intervals for m in members)]
    n_boot = len(reps[members[0].run.label][keys[0]]) if keys else 0
    draws = rng.integers(0, len(members), size=(n_boot, len(members)))
    unit = Unit(label, members, {}, {})
    for key in keys:
        points = [m.intervals[key].estimate for m in members]
        stacked = np.stack([reps[m.run.label][key] for m in members])      # (seeds, n_boot)
        samples = stacked[draws, np.arange(n_boot)[:, None]].mean(axis=1)
        unit.replicates[key] = samples
        unit.intervals[key] = interval(statistics.fmean(points), samples)
        unit.spread[key] = statistics.stdev(points)
    return unit
