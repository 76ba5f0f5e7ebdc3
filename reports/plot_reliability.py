"""Reliability diagrams: top-1 accuracy vs top-1 confidence in equal-width bins, one panel per
model, pooled over the clean cell and over all corrupted cells. Both axes are in percent, so the
perfect-calibration diagonal runs from (0, 0) to (100, 100)."""

from __future__ import annotations

import numpy as np

from reports.analysis import SuiteAnalysis
from reports.document import Plot
from reports.plot_style import colour, grid_shape, label_grid, marker, new_figure, per_cell

DIAGONAL_LABEL = "perfect calibration"


def binned_accuracy(confidence: np.ndarray, correct: np.ndarray, n_bins: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bin mid-points, accuracy per bin and images per bin, for ``n_bins`` equal-width bins of
    [0, 1] (confidence 1.0 falls in the last bin); fractions, not percent."""
    edges = np.linspace(0, 1, n_bins + 1)
    bins = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, n_bins - 1)
    count = np.bincount(bins, minlength=n_bins)
    acc = np.bincount(bins, weights=correct, minlength=n_bins) / np.maximum(count, 1)
    return (edges[:-1] + edges[1:]) / 2, acc, count


def reliability(sa: SuiteAnalysis, n_bins: int = 15) -> Plot:
    """One reliability panel per model (clean and corrupted curves, the diagonal)."""
    nrows, ncols = grid_shape(len(sa.runs))
    fig = new_figure(11.5 if ncols > 2 else 6.5, 2.4 * nrows + 0.6)
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)
    for ax, ra in zip(axes.flat, sa.runs):
        ax.plot([0, 100], [0, 100], color="#888", ls=":", lw=1, label=DIAGONAL_LABEL)
        for index, (what, keys) in enumerate((
                ("clean", [k for k in ra.run.cells if k[0] == "clean"]),
                ("corrupted", [k for k in ra.run.cells if k[0] != "clean"]))):
            if not keys:
                continue
            conf = np.concatenate([ra.run.cells[k].values["confidence"] for k in keys])
            correct = 1 - np.concatenate([ra.run.cells[k].values["error"] for k in keys])
            mid, acc, count = binned_accuracy(conf, correct, n_bins)
            ok = count > 0
            ax.plot(100 * mid[ok], 100 * acc[ok], marker=marker(index), ms=3, color=colour(index),
                    label=what)
        ax.set_title(ra.run.label)
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
    label_grid(axes, len(sa.runs), xlabel="Confidence (%)", ylabel="Accuracy (%)")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3)
    return Plot(f"reliability_{sa.suite}.png", f"{sa.suite}: reliability diagrams",
                f"Top-1 accuracy vs top-1 confidence in {n_bins} equal-width bins, pooled over "
                "the clean cell and over all corrupted cells; the dotted diagonal is perfect "
                f"calibration; {per_cell(ra.run for ra in sa.runs)}.", fig, suites=(sa.suite,))
