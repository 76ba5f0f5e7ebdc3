"""Bar and line charts of a suite's results: error (or CE) per corruption, flip probability (or
FR) per perturbation, error vs severity (one panel, and small multiples), calibration vs severity,
and the ImageNet-3DCC vs ImageNet-C scatter. Bars carry 95% bootstrap error bars and curves 95%
bands (`reports.plot_intervals`); every caption states n, the images per cell."""

from __future__ import annotations

import numpy as np

from reports import plot_intervals
from reports.analysis import (
    Analysis,
    SuiteAnalysis,
    imagenet_c_and_3dcc,
)
from reports.bootstrap import Interval
from reports.document import Plot
from reports.measures import ALEXNET, corruption_ratios, mean_set
from reports.plot_style import (
    colour,
    grid_shape,
    hatch,
    interval_note,
    label_grid,
    marker,
    new_figure,
    per_cell,
)
from reports.table_parts import short
from robustbench_dm.metrics import CALIBRATION_BIN

LEVELS = range(6)   # 0 = clean, then severities 1..5


def _names(sa: SuiteAnalysis) -> list[str]:
    return list(dict.fromkeys(n for ra in sa.runs for n in ra.run.cell_names()))


def _errorbar(values: list[Interval | None]) -> tuple[np.ndarray, np.ndarray]:
    """Bar heights and the (2, n) yerr of matplotlib, in percent (NaN / 0 where missing)."""
    est = np.array([np.nan if v is None else 100 * v.estimate for v in values])
    low = np.array([0.0 if v is None else 100 * (v.estimate - v.low) for v in values])
    high = np.array([0.0 if v is None else 100 * (v.high - v.estimate) for v in values])
    return est, np.vstack([np.maximum(low, 0), np.maximum(high, 0)])


def _bars(sa: SuiteAnalysis, value: str, n_boot: int, seed: int):
    """A bar chart of ``value`` per corruption with error bars; whether it shows ratios."""
    names = _names(sa)
    ratios = {ra.run.label: corruption_ratios(ra.run, ra.baseline, value) for ra in sa.runs}
    use_ratio = all(set(ra.run.cell_names()) <= set(ratios[ra.run.label]) for ra in sa.runs)
    fig = new_figure(11.5, 3.6)
    ax = fig.add_subplot()
    width = 0.8 / len(sa.runs)
    positions = np.arange(len(names))
    for index, ra in enumerate(sa.runs):
        found = plot_intervals.per_corruption(ra.run, ra.baseline, value=value, ratio=use_ratio,
                                              n_boot=n_boot, seed=seed)
        heights, yerr = _errorbar([found.get(n) for n in names])
        ax.bar(positions + (index - (len(sa.runs) - 1) / 2) * width, heights, width, yerr=yerr,
               color=colour(index), hatch=hatch(index), label=ra.run.label,
               error_kw={"elinewidth": 0.8, "capsize": 1.5, "ecolor": "#333"})
    ax.set_xticks(positions, [short(n) for n in names], rotation=35, ha="right")
    return fig, ax, use_ratio


def _legend_above(ax, entries: int) -> None:
    """The legend in a row above the axes, where it covers no bar or error bar."""
    ax.legend(ncols=min(5, entries), loc="lower left", bbox_to_anchor=(0, 1.01), fontsize=7,
              frameon=False)


def ce_bars(sa: SuiteAnalysis, *, n_boot: int = 1000, seed: int = 0) -> Plot:
    """CE (or error) per corruption, one bar per model, 95% error bars; AlexNet = 100 line for
    ImageNet-C CE."""
    fig, ax, use_ce = _bars(sa, "error", n_boot, seed)
    if use_ce and all(ra.baseline is ALEXNET for ra in sa.runs):
        ax.axhline(100, color="#444", ls="--", lw=1, label="AlexNet = 100")
    ax.set_ylabel("Corruption error CE (%)" if use_ce else "Top-1 error (%)")
    ax.set_xlabel("Corruption")
    _legend_above(ax, len(sa.runs) + 1)
    what = "CE (% of the baseline's error)" if use_ce else "top-1 error (%), mean over severities"
    alexnet = (" The dashed line is AlexNet (CE = 100)."
               if use_ce and sa.suite == "imagenet-c" else "")
    return Plot(f"ce_{sa.suite}.png", f"{sa.suite}: {what} per corruption",
                f"Lower is more robust; {per_cell(ra.run for ra in sa.runs)}; "
                f"{interval_note(n_boot)}.{alexnet}", fig, suites=(sa.suite,))


def flip_bars(sa: SuiteAnalysis, *, n_boot: int = 1000, seed: int = 0) -> Plot:
    """Flip probability (or FR) per perturbation, one bar per model, 95% error bars."""
    fig, ax, use_fr = _bars(sa, "flip", n_boot, seed)
    ax.set_xlabel("Perturbation")
    ax.set_ylabel("Flip rate FR (%)" if use_fr else "Flip probability (%)")
    _legend_above(ax, len(sa.runs))
    return Plot(f"flip_{sa.suite}.png",
                f"{sa.suite}: {'flip rate' if use_fr else 'flip probability'} per perturbation",
                f"Lower is more stable; mean over the difficulties scored; "
                f"{per_cell(ra.run for ra in sa.runs)}; "
                f"{interval_note(n_boot, unit='videos')}.", fig, suites=(sa.suite,))


def _curve(ax, index: int, label: str, found: dict[int, Interval], *, ms: float = 5) -> None:
    """One model's line over severities 0..5 with its 95% band."""
    rows = [found.get(level) for level in LEVELS]
    est = np.array([np.nan if r is None else 100 * r.estimate for r in rows])
    low = np.array([np.nan if r is None else 100 * r.low for r in rows])
    high = np.array([np.nan if r is None else 100 * r.high for r in rows])
    ax.fill_between(LEVELS, low, high, color=colour(index), alpha=0.18, lw=0)
    ax.plot(LEVELS, est, marker=marker(index), ms=ms, color=colour(index), label=label)


def severity_lines(sa: SuiteAnalysis, *, calibration: bool = False, n_boot: int = 1000,
                   seed: int = 0) -> Plot:
    """Mean error vs severity with 95% bands (0 = clean, the paper's Figure 9), or the mean RMS
    calibration error (a statistic over bins, drawn without bands)."""
    fig = new_figure(6.5, 3.6)
    ax = fig.add_subplot()
    cell_sizes = per_cell(ra.run for ra in sa.runs)
    for index, ra in enumerate(sa.runs):
        if calibration:
            ys = [_mean_calibration(ra, names=mean_set(ra.run), level=level) for level in LEVELS]
            ax.plot(LEVELS, 100 * np.array(ys), marker=marker(index),
                    color=colour(index), label=ra.run.label)
        else:
            _curve(ax, index, ra.run.label, plot_intervals.per_severity(
                ra.run, ra.baseline, n_boot=n_boot, seed=seed))
    ax.set_xticks(LEVELS, ["clean", "1", "2", "3", "4", "5"])
    ax.set_xlabel("Severity (0 = clean)")
    ax.legend(fontsize=7)
    if calibration:
        ax.set_ylabel("RMS calibration error (%)")
        return Plot(f"calibration_{sa.suite}.png", f"{sa.suite}: RMS calibration error vs severity",
                    f"Mean over corruptions of the per-cell RMS calibration error (adaptive bins "
                    f"of {CALIBRATION_BIN}, every bin counted); {cell_sizes}.", fig, suites=(sa.suite,))
    ax.set_ylabel("Top-1 error (%)")
    return Plot(f"severity_{sa.suite}.png", f"{sa.suite}: error vs severity",
                f"Mean top-1 error over the benchmark corruptions at each severity; {cell_sizes}; "
                f"{interval_note(n_boot, 'bands')}.", fig, suites=(sa.suite,))


def _mean_calibration(ra, *, names: list[str], level: int) -> float:
    keys = [("clean", 0)] if level == 0 else [(n, level) for n in names]
    vals = [ra.calibration.get(k) for k in keys if k in ra.run.cells]
    vals = [v for v in vals if v is not None and np.isfinite(v)]
    return float(np.mean(vals)) if vals else np.nan


def severity_grid(sa: SuiteAnalysis, *, n_boot: int = 1000, seed: int = 0) -> Plot:
    """Small multiples: error vs severity per corruption, one line and 95% band per model."""
    names = _names(sa)
    nrows, ncols = grid_shape(len(names))
    height = 1.9 * nrows + 0.8
    fig = new_figure(11.5, height, layout=None)
    fig.subplots_adjust(left=0.07, right=0.98, top=1 - 0.35 / height, bottom=0.95 / height,
                        hspace=0.45, wspace=0.12)
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)
    cells = {ra.run.label: plot_intervals.per_cell(ra.run, ra.baseline, n_boot=n_boot, seed=seed)
             for ra in sa.runs}
    for ax, name in zip(axes.flat, names):
        for index, ra in enumerate(sa.runs):
            found = cells[ra.run.label]
            keys = {level: ("clean", 0) if level == 0 else (name, level) for level in LEVELS}
            _curve(ax, index, ra.run.label,
                   {level: found[key] for level, key in keys.items() if key in found}, ms=3)
        ax.set_title(name.replace("_", " "))
        ax.set_xticks(LEVELS, ["c", "1", "2", "3", "4", "5"])
    label_grid(axes, len(names), xlabel="Severity (c = clean)", ylabel="Top-1 error (%)")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncols=min(6, len(labels)))
    return Plot(f"severity_grid_{sa.suite}.png", f"{sa.suite}: error vs severity per corruption",
                f"One panel per corruption; severity 'c' is the clean test set; "
                f"{per_cell(ra.run for ra in sa.runs)}; {interval_note(n_boot, 'bands')}.", fig, suites=(sa.suite,))


def threed_scatter(analysis: Analysis) -> Plot | None:
    """ImageNet-3DCC vs ImageNet-C mean error per model (the paper's Figure 4)."""
    both = imagenet_c_and_3dcc(analysis)
    if both is None:
        return None
    imagenet_c, threed, labels = both
    fig = new_figure(5.5, 4.2)
    ax = fig.add_subplot()
    for index, label in enumerate(labels):
        on_c = imagenet_c.run(label).intervals["mean_error"]
        on_3d = threed.run(label).intervals["mean_error"]
        ax.errorbar(100 * on_c.estimate, 100 * on_3d.estimate,
                    xerr=[[100 * (on_c.estimate - on_c.low)], [100 * (on_c.high - on_c.estimate)]],
                    yerr=[[100 * (on_3d.estimate - on_3d.low)], [100 * (on_3d.high - on_3d.estimate)]],
                    fmt=marker(index), color=colour(index), label=label, capsize=2)
    lims = ax.get_xlim() + ax.get_ylim()
    lo, hi = min(lims), max(lims)
    ax.plot([lo, hi], [lo, hi], color="#888", ls=":", lw=1, label="equal error")
    ax.set_xlabel("ImageNet-C mean top-1 error (%)")
    ax.set_ylabel("ImageNet-3DCC mean top-1 error (%)")
    ax.legend(fontsize=7)
    runs = [sa.run(label).run for sa in (imagenet_c, threed) for label in labels]
    return Plot("imagenet-3dcc_vs_imagenet-c.png", "ImageNet-3DCC vs ImageNet-C",
                f"Mean top-1 error per model; {per_cell(runs)}; "
                f"{interval_note(analysis.n_boot)}; dotted: equal error.", fig,
                suites=(imagenet_c.suite, threed.suite))
