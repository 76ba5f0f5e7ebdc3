"""The one look of every report figure: matplotlib on an Agg canvas (no pyplot state), the
Okabe-Ito colour-blind-safe palette, markers and hatches for print, and the caption fragments
every figure states (images per cell, what the intervals are)."""

from __future__ import annotations

import math
from collections.abc import Iterable

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from reports.bootstrap import LEVEL
from reports.load import ScoredRun

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000",
             "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
HATCHES = ("", "//", "..", "xx")
STYLE = {"font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8,
         "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
         "grid.alpha": 0.3, "figure.dpi": 100, "svg.hashsalt": "robustbench_dm",
         "svg.fonttype": "path"}


def colour(index: int) -> str:
    return OKABE_ITO[index % len(OKABE_ITO)]


def hatch(index: int) -> str:
    """A hatch that tells apart bars whose colours repeat (more runs than colours)."""
    return HATCHES[(index // len(OKABE_ITO)) % len(HATCHES)]


def marker(index: int) -> str:
    """The marker of the ``index``-th series (repeating after `MARKERS`)."""
    return MARKERS[index % len(MARKERS)]


def grid_shape(panels: int, most_columns: int = 5) -> tuple[int, int]:
    """(rows, columns) of a grid of ``panels`` small multiples at most ``most_columns`` wide."""
    ncols = min(most_columns, panels)
    return math.ceil(panels / ncols), ncols


def label_grid(axes, panels: int, *, xlabel: str, ylabel: str) -> None:
    """Finish a (rows, columns) array of shared ``axes``: hide those past the first ``panels``,
    label the y axes of the left column and the x axes of the bottom row."""
    for ax in axes.flat[panels:]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)
    for ax in axes[-1, :]:
        ax.set_xlabel(xlabel)


def new_figure(width: float, height: float, *, layout: str | None = "constrained") -> Figure:
    """A figure (inches) on an Agg canvas; grids pass ``layout=None`` and place axes themselves."""
    matplotlib.rcParams.update(STYLE)
    fig = Figure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(fig)
    return fig


def per_cell(runs: Iterable[ScoredRun]) -> str:
    """"n = 200 images per cell" (videos for -P suites), or the range when cells differ."""
    runs = list(runs)
    unit = "videos" if runs and runs[0].kind == "p" else "images"
    sizes = sorted({cell.n for run in runs for cell in run.cells.values()})
    if not sizes:
        return f"n = 0 {unit} per cell"
    if len(sizes) == 1:
        return f"n = {sizes[0]} {unit} per cell"
    return f"n = {sizes[0]} to {sizes[-1]} {unit} per cell (cells differ)"


def interval_note(n_boot: int, what: str = "error bars", unit: str = "test images") -> str:
    """What the drawn intervals are, in one clause."""
    return (f"{what}: {round(100 * LEVEL)}% percentile bootstrap intervals over {unit} "
            f"({n_boot} replicates)")
