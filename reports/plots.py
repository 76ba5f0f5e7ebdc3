"""Report figures (matplotlib, Agg canvas, no pyplot state): one style, the Okabe-Ito
colour-blind-safe palette, labelled axes with units. Each function returns a `Plot` (PNG bytes)."""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

import corruptions
from corruptions.registry import registered_corruptions
from reports.analysis import CALIBRATION_BIN, Analysis, SuiteAnalysis, imagenet_c_and_3dcc
from reports.document import Plot
from reports.published import DATA
from reports.measures import ALEXNET, corruption_means, corruption_ratios, mean_set
from reports.tables import short

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000",
             "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
HATCHES = ("", "//", "..", "xx")
STYLE = {"font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8,
         "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
         "grid.alpha": 0.3, "figure.dpi": 100}
DPI = 100
SUITE_SIZE = {"cifar": 32, "tinyimagenet": 64, "imagenet": 224}


def colour(i: int) -> str:
    return OKABE_ITO[i % len(OKABE_ITO)]


def _figure(width: float, height: float, *, layout: str | None = "constrained") -> Figure:
    """A figure on an Agg canvas; grids pass ``layout=None`` and place axes themselves (faster)."""
    import matplotlib
    matplotlib.rcParams.update(STYLE)
    fig = Figure(figsize=(width, height), dpi=DPI, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def ce_bars(sa: SuiteAnalysis) -> Plot:
    """CE (or error) per corruption, one bar per model; AlexNet = 100 line for ImageNet-C CE."""
    ratios = {ra.run.label: corruption_ratios(ra.run, ra.baseline) for ra in sa.runs}
    use_ce = all(set(ra.run.cell_names()) <= set(ratios[ra.run.label]) for ra in sa.runs)
    names = list(dict.fromkeys(n for ra in sa.runs for n in ra.run.cell_names()))
    fig = _figure(11.5, 3.6)
    ax = fig.add_subplot()
    width = 0.8 / len(sa.runs)
    x = np.arange(len(names))
    for i, ra in enumerate(sa.runs):
        values = ratios[ra.run.label] if use_ce else corruption_means(ra.run)
        ax.bar(x + (i - (len(sa.runs) - 1) / 2) * width,
               [100 * values.get(n, np.nan) for n in names], width, color=colour(i),
               hatch=HATCHES[(i // len(OKABE_ITO)) % len(HATCHES)], label=ra.run.label)
    if use_ce and all(ra.baseline is ALEXNET for ra in sa.runs):
        ax.axhline(100, color="#444", ls="--", lw=1, label="AlexNet = 100")
    ax.set_xticks(x, [short(n) for n in names], rotation=35, ha="right")
    ax.set_ylabel("Corruption error CE (%)" if use_ce else "Top-1 error (%)")
    ax.set_xlabel("Corruption")
    ax.legend(ncols=min(5, len(sa.runs) + 1), loc="upper left", fontsize=7)
    what = "CE (% of the baseline's error)" if use_ce else "top-1 error (%), mean over severities"
    return Plot(f"ce_{sa.suite}.png", f"{sa.suite}: {what} per corruption",
                "Lower is more robust." + (" The dashed line is AlexNet (CE = 100)."
                                           if use_ce and sa.suite == "imagenet-c" else ""),
                _png(fig))


def _per_severity(sa: SuiteAnalysis, label: str, names: list[str], source) -> list[float]:
    ra = sa.run(label)
    out = [source(ra, ("clean", 0)) if ("clean", 0) in ra.run.cells else np.nan]
    for s in range(1, 6):
        vals = [source(ra, (n, s)) for n in names if (n, s) in ra.run.cells]
        vals = [v for v in vals if v is not None and np.isfinite(v)]
        out.append(float(np.mean(vals)) if vals else np.nan)
    return out


def _error(ra, key):
    return ra.run.mean(key)


def _calib(ra, key):
    value = ra.calibration.get(key)
    return np.nan if value is None else value


def severity_lines(sa: SuiteAnalysis, *, calibration: bool = False) -> Plot:
    """Mean error (or RMS calibration error) vs severity, 0 = clean (the paper's Figure 9)."""
    fig = _figure(6.5, 3.6)
    ax = fig.add_subplot()
    for i, ra in enumerate(sa.runs):
        names = mean_set(ra.run)
        ys = _per_severity(sa, ra.run.label, names, _calib if calibration else _error)
        ax.plot(range(6), 100 * np.array(ys), marker=MARKERS[i % len(MARKERS)], color=colour(i),
                label=ra.run.label)
    ax.set_xticks(range(6), ["clean", "1", "2", "3", "4", "5"])
    ax.set_xlabel("Severity (0 = clean)")
    if calibration:
        ax.set_ylabel("RMS calibration error (%)")
        title, name = f"{sa.suite}: RMS calibration error vs severity", f"calibration_{sa.suite}.png"
        caption = (f"Mean over corruptions of the per-cell RMS calibration error (adaptive bins "
                   f"of {CALIBRATION_BIN}, every bin counted).")
    else:
        ax.set_ylabel("Top-1 error (%)")
        title, name = f"{sa.suite}: error vs severity", f"severity_{sa.suite}.png"
        caption = "Mean top-1 error over the benchmark corruptions at each severity."
    ax.legend(fontsize=7)
    return Plot(name, title, caption, _png(fig))


def severity_grid(sa: SuiteAnalysis) -> Plot:
    """Small multiples: error vs severity per corruption, one line per model."""
    names = list(dict.fromkeys(n for ra in sa.runs for n in ra.run.cell_names()))
    ncols = min(5, len(names))
    nrows = int(np.ceil(len(names) / ncols))
    fig = _figure(11.5, 1.9 * nrows + 0.8, layout=None)
    fig.subplots_adjust(left=0.07, right=0.98, top=1 - 0.35 / (1.9 * nrows + 0.8),
                        bottom=0.95 / (1.9 * nrows + 0.8), hspace=0.45, wspace=0.12)
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)
    for ax, name in zip(axes.flat, names):
        for i, ra in enumerate(sa.runs):
            ys = _per_severity(sa, ra.run.label, [name], _error)
            ax.plot(range(6), 100 * np.array(ys), marker=MARKERS[i % len(MARKERS)], ms=3,
                    color=colour(i), label=ra.run.label)
        ax.set_title(name.replace("_", " "))
        ax.set_xticks(range(6), ["c", "1", "2", "3", "4", "5"])
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("Top-1 error (%)")
    for ax in axes[-1, :]:
        ax.set_xlabel("Severity (c = clean)")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncols=min(6, len(labels)))
    return Plot(f"severity_grid_{sa.suite}.png", f"{sa.suite}: error vs severity per corruption",
                "One panel per corruption; severity 'c' is the clean test set.", _png(fig))


def reliability(sa: SuiteAnalysis, n_bins: int = 15) -> Plot:
    """Reliability diagram per model: accuracy vs confidence in equal-width bins, pooled over
    the clean cell and over all corrupted cells."""
    ncols = min(5, len(sa.runs))
    nrows = int(np.ceil(len(sa.runs) / ncols))
    fig = _figure(11.5 if ncols > 2 else 6.5, 2.4 * nrows + 0.6)
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)
    edges = np.linspace(0, 1, n_bins + 1)
    for ax, ra in zip(axes.flat, sa.runs):
        ax.plot([0, 1], [0, 1], color="#888", ls=":", lw=1, label="perfect calibration")
        for j, (what, keys) in enumerate((
                ("clean", [k for k in ra.run.cells if k[0] == "clean"]),
                ("corrupted", [k for k in ra.run.cells if k[0] != "clean"]))):
            if not keys:
                continue
            conf = np.concatenate([ra.run.cells[k].values["confidence"] for k in keys])
            correct = 1 - np.concatenate([ra.run.cells[k].values["error"] for k in keys])
            bins = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, n_bins - 1)
            count = np.bincount(bins, minlength=n_bins)
            acc = np.bincount(bins, weights=correct, minlength=n_bins) / np.maximum(count, 1)
            mid = (edges[:-1] + edges[1:]) / 2
            ok = count > 0
            ax.plot(100 * mid[ok], 100 * acc[ok], marker=MARKERS[j], ms=3, color=colour(j),
                    label=what)
        ax.set_title(ra.run.label)
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
    for ax in axes.flat[len(sa.runs):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("Accuracy (%)")
    for ax in axes[-1, :]:
        ax.set_xlabel("Confidence (%)")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3)
    return Plot(f"reliability_{sa.suite}.png", f"{sa.suite}: reliability diagrams",
                f"Top-1 accuracy vs top-1 confidence in {n_bins} equal-width bins, pooled over "
                "the clean cell and over all corrupted cells; the diagonal is perfect calibration.",
                _png(fig))


def flip_bars(sa: SuiteAnalysis) -> Plot:
    """Flip probability (or FR) per perturbation, one bar per model."""
    names = list(dict.fromkeys(n for ra in sa.runs for n in ra.run.cell_names()))
    ratios = {ra.run.label: corruption_ratios(ra.run, ra.baseline, "flip") for ra in sa.runs}
    use_fr = all(set(ra.run.cell_names()) <= set(ratios[ra.run.label]) for ra in sa.runs)
    fig = _figure(11.5, 3.6)
    ax = fig.add_subplot()
    width = 0.8 / len(sa.runs)
    x = np.arange(len(names))
    for i, ra in enumerate(sa.runs):
        values = ratios[ra.run.label] if use_fr else corruption_means(ra.run, "flip")
        ax.bar(x + (i - (len(sa.runs) - 1) / 2) * width, [100 * values.get(n, np.nan) for n in names],
               width, color=colour(i), hatch=HATCHES[(i // len(OKABE_ITO)) % len(HATCHES)],
               label=ra.run.label)
    ax.set_xticks(x, [short(n) for n in names], rotation=35, ha="right")
    ax.set_xlabel("Perturbation")
    ax.set_ylabel("Flip rate FR (%)" if use_fr else "Flip probability (%)")
    ax.legend(ncols=min(5, len(sa.runs)), fontsize=7)
    return Plot(f"flip_{sa.suite}.png", f"{sa.suite}: {'flip rate' if use_fr else 'flip probability'}"
                " per perturbation", "Lower is more stable. Mean over the difficulties scored.",
                _png(fig))


def threed_scatter(analysis: Analysis) -> Plot | None:
    """ImageNet-3DCC vs ImageNet-C mean error per model (the paper's Figure 4)."""
    both = imagenet_c_and_3dcc(analysis)
    if both is None:
        return None
    c, d3, labels = both
    fig = _figure(5.5, 4.2)
    ax = fig.add_subplot()
    for i, label in enumerate(labels):
        a, b = c.run(label).intervals["mean_error"], d3.run(label).intervals["mean_error"]
        ax.errorbar(100 * a.estimate, 100 * b.estimate,
                    xerr=[[100 * (a.estimate - a.low)], [100 * (a.high - a.estimate)]],
                    yerr=[[100 * (b.estimate - b.low)], [100 * (b.high - b.estimate)]],
                    fmt=MARKERS[i % len(MARKERS)], color=colour(i), label=label, capsize=2)
    lims = ax.get_xlim() + ax.get_ylim()
    lo, hi = min(lims), max(lims)
    ax.plot([lo, hi], [lo, hi], color="#888", ls=":", lw=1, label="equal error")
    ax.set_xlabel("ImageNet-C mean top-1 error (%)")
    ax.set_ylabel("ImageNet-3DCC mean top-1 error (%)")
    ax.legend(fontsize=7)
    return Plot("imagenet-3dcc_vs_imagenet-c.png", "ImageNet-3DCC vs ImageNet-C",
                "Mean top-1 error per model with 95% bootstrap intervals; dotted: equal error.",
                _png(fig))


@lru_cache(maxsize=None)
def gallery_image(size: int) -> torch.Tensor:
    """The packaged gallery image as uint8 1 x 3 x size x size (box-downscaled from 224)."""
    with Image.open(DATA / "gallery.jpg") as raw:
        image = raw.convert("RGB")
    if image.size != (size, size):
        image = image.resize((size, size), Image.BOX)
    array = np.asarray(image, dtype=np.uint8).copy()
    return torch.from_numpy(array).permute(2, 0, 1)[None]


def gallery(preset: str, severities=(1, 3, 5)) -> Plot:
    """One image under every registered corruption at ``severities`` (a fixed generator);
    cached per process, since it depends only on the preset and the registered kernels."""
    return _gallery(preset, tuple(severities), tuple(registered_corruptions()))


@lru_cache(maxsize=None)
def _gallery(preset: str, severities: tuple[int, ...], registered: tuple[str, ...],
             per_block: int = 10) -> Plot:
    size = SUITE_SIZE[preset]
    image = gallery_image(size)
    wanted = list(corruptions.CORRUPTIONS + corruptions.EXTRA)
    names = [n for n in wanted if n in registered]
    missing = [n for n in wanted if n not in registered]
    blocks = [names[i:i + per_block] for i in range(0, len(names), per_block)] or [[]]
    ncols = 1 + max(len(b) for b in blocks)
    nrows = len(blocks) * len(severities)
    fig = _figure(1.05 * ncols, 1.15 * nrows + (0.4 if missing else 0.1), layout=None)
    fig.subplots_adjust(left=0.04, right=0.99, top=0.96, bottom=0.06 if missing else 0.01,
                        wspace=0.05, hspace=0.15)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for b, block in enumerate(blocks):
        top = b * len(severities)
        axes[top, 0].imshow(image[0].permute(1, 2, 0).numpy(), interpolation="nearest")
        axes[top, 0].set_title("clean", fontsize=8)
        for r, s in enumerate(severities):
            axes[top + r, 0].text(-0.15, 0.5, f"severity {s}", rotation=90, va="center",
                                  ha="right", transform=axes[top + r, 0].transAxes, fontsize=8)
            for j, name in enumerate(block):
                gen = torch.Generator().manual_seed(0)
                out = corruptions.corrupt(image, name, s, preset=preset, generator=gen)
                ax = axes[top + r, j + 1]
                ax.imshow(out[0].permute(1, 2, 0).numpy(), interpolation="nearest")
                if r == 0:
                    ax.set_title(short(name), fontsize=8)
    note = ""
    if missing:
        note = "Not shown (no kernel registered in this installation): " + ", ".join(missing) + "."
        fig.suptitle(note, fontsize=8, y=0.005, va="bottom")
    return Plot(f"gallery_{preset}.png", f"Corruption gallery ({preset} preset, {size} px)",
                f"One image under every registered corruption at severities "
                f"{', '.join(map(str, severities))} (fixed generator seed 0). {note}".strip(),
                _png(fig))


def build_plots(analysis: Analysis) -> list[Plot]:
    """Every figure of the report, in reading order."""
    plots: list[Plot] = []
    presets: list[str] = []
    for sa in analysis.suites:
        if sa.kind == "c":
            plots += [ce_bars(sa), severity_lines(sa), severity_grid(sa),
                      severity_lines(sa, calibration=True), reliability(sa)]
            if sa.suite != "imagenet-3dcc":
                presets.append(suite_preset(sa.suite))
        else:
            plots.append(flip_bars(sa))
    scatter = threed_scatter(analysis)
    if scatter is not None:
        plots.append(scatter)
    for preset in dict.fromkeys(presets):
        plots.append(gallery(preset))
    return plots


def suite_preset(suite: str) -> str:
    """The corruption preset a suite's images use (by name: CIFAR-size, Tiny-ImageNet, ImageNet)."""
    if suite.startswith("tinyimagenet"):
        return "tinyimagenet"
    if suite.startswith("imagenet"):
        return "imagenet"
    return "cifar"
