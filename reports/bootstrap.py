"""95% percentile bootstrap over test images, and paired bootstrap of differences.

The resampling unit is the test image (its `index` identity), not the cell: one replicate draws
images with replacement once and applies the same draw to every corruption and severity, so the
correlation between cells of one image is kept. Runs scored on the same images share the same
draws, so the replicate of a difference (model B minus model A) is the difference of their
replicates: a paired bootstrap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from reports.load import ScoredRun
from reports.measures import Measure

LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """A point estimate with a percentile bootstrap interval."""

    estimate: float
    low: float
    high: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def image_ids(run: ScoredRun) -> np.ndarray:
    """Sorted distinct image identities over every cell of ``run``."""
    return np.unique(np.concatenate([c.index for c in run.cells.values()]))


def replicates(
    runs: Sequence[ScoredRun],
    measures: Mapping[str, Sequence[Measure]],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    chunk: int = 100,
) -> dict[str, dict[str, np.ndarray]]:
    """Bootstrap replicates {run label: {measure key: (n_boot,) values}}.

    Every run in ``runs`` must hold the same image identities (the caller groups runs so); all
    of them are resampled with the same draws. Draw b gives image i the multinomial count
    w[b, i]; a cell mean becomes sum(w * value) / sum(w) over the cell's images.
    """
    ids = image_ids(runs[0])
    for run in runs[1:]:
        if not np.array_equal(ids, image_ids(run)):
            raise ValueError(f"runs {runs[0].label!r} and {run.label!r} hold different images")
    designs = {run.label: _design(run, measures[run.label], ids) for run in runs}
    out = {run.label: {m.key: np.empty(n_boot) for m in measures[run.label]} for run in runs}
    rng = np.random.default_rng(seed)
    n_images = ids.shape[0]
    for start in range(0, n_boot, chunk):
        n_draws = min(chunk, n_boot - start)
        draws = rng.integers(0, n_images, size=(n_draws, n_images))
        draws += (np.arange(n_draws) * n_images)[:, None]
        weights = np.bincount(draws.ravel(), minlength=n_draws * n_images)
        weights = weights.reshape(n_draws, n_images).astype(np.float64)
        for run in runs:
            sums, counts, slices = designs[run.label]
            with np.errstate(invalid="ignore", divide="ignore"):
                means = (weights @ sums) / (weights @ counts)
            for m, sl in zip(measures[run.label], slices):
                out[run.label][m.key][start:start + n_draws] = m.fn(means[:, sl])
    return out


def _design(run: ScoredRun, measures: Sequence[Measure], ids: np.ndarray):
    """Per distinct column: the sum of values and the number of images of each identity."""
    columns: list = []
    for m in measures:
        columns.extend(c for c in m.columns if c not in columns)
    position = {c: i for i, c in enumerate(columns)}
    sums = np.zeros((ids.shape[0], len(columns)))
    counts = np.zeros((ids.shape[0], len(columns)))
    for j, (cell_key, value) in enumerate(columns):
        cell = run.cells[cell_key]
        rows = np.searchsorted(ids, cell.index)
        sums[:, j] = np.bincount(rows, weights=cell.values[value], minlength=ids.shape[0])
        counts[:, j] = np.bincount(rows, minlength=ids.shape[0])
    slices = [np.array([position[c] for c in m.columns]) for m in measures]
    return sums, counts, slices


def interval(estimate: float, samples: np.ndarray, level: float = LEVEL) -> Interval:
    """Percentile interval of ``samples`` around ``estimate``."""
    tail = (1 - level) / 2 * 100
    low, high = np.nanpercentile(samples, [tail, 100 - tail])
    return Interval(float(estimate), float(low), float(high))
