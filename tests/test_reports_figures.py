"""Report figures a reader can paste into a paper: the reliability diagonal in the axes' units,
95% intervals on bars and curves, SVG beside a 200 dpi PNG, captions stating n, galleries of
the scored suite's own images (the bundled photograph only as a labelled fallback), titles that
never overlap."""

from __future__ import annotations

import base64
import io
import itertools
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from formats import write_cifar_c, write_cifar_pickle, write_fashion_mnist_idx
from matplotlib.collections import PolyCollection
from PIL import Image
from results_fixtures import c_suite_cells, write_results

from corruptions import CORRUPTIONS
from reports import plot_gallery, plot_intervals, plots
from reports.analysis import analyse
from reports.build import write_report
from reports.load import load_run
from reports.plot_reliability import DIAGONAL_LABEL
from robustbench_dm import metrics
from robustbench_dm.suites import get_suite

NAMES = ("fog", "contrast")
N = 200


def _errors(shift: float = 0.0) -> dict:
    errors = {("clean", 0): 0.1 + shift}
    errors.update({(n, s): 0.1 + 0.1 * s + shift for n in NAMES for s in range(1, 6)})
    return errors


@pytest.fixture(scope="module")
def suite_analysis(tmp_path_factory):
    root = tmp_path_factory.mktemp("figures")
    runs = [load_run(write_results(root / label / "results.h5",
                                   c_suite_cells(_errors(shift), N, seed=i)), label)
            for i, (label, shift) in enumerate((("A", 0.0), ("B", -0.05)))]
    (sa,) = analyse(runs, n_boot=200, seed=0).suites
    return sa


def test_reliability_diagonal_spans_the_percent_axes(suite_analysis):
    fig = plots.reliability(suite_analysis).figure
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 2
    for ax in panels:
        (diagonal,) = [line for line in ax.get_lines() if line.get_label() == DIAGONAL_LABEL]
        assert list(diagonal.get_xdata()) == [0, 100]
        assert list(diagonal.get_ydata()) == [0, 100]
        assert ax.get_xlim() == (0, 100) and ax.get_ylim() == (0, 100)


def test_bars_carry_the_bootstrap_intervals(suite_analysis):
    plot = plots.ce_bars(suite_analysis, n_boot=200, seed=0)
    ax = plot.figure.axes[0]
    bars = [c for c in ax.containers if hasattr(c, "errorbar")]
    assert len(bars) == 2
    for container, ra in zip(bars, suite_analysis.runs):
        found = plot_intervals.per_corruption(ra.run, None, n_boot=200, seed=0)
        segments = container.errorbar.lines[2][0].get_segments()
        for name, rect, seg in zip(NAMES, container.patches, segments):
            truth = np.mean([_errors(0.0 if ra.run.label == "A" else -0.05)[(name, s)]
                             for s in range(1, 6)])
            assert rect.get_height() == pytest.approx(100 * truth)
            (_, low), (_, high) = seg
            assert low == pytest.approx(100 * found[name].low)
            assert high == pytest.approx(100 * found[name].high)
            assert low < rect.get_height() < high
    assert "n = 200 images per cell" in plot.caption and "95%" in plot.caption


def test_ce_bars_carry_ce_intervals(tmp_path):
    errors = {(n, s): 0.3 + 0.05 * s for n in CORRUPTIONS for s in range(1, 6)}
    run = load_run(write_results(tmp_path / "r.h5", c_suite_cells(errors, 100, num_classes=1000),
                                 suite="imagenet-c", num_classes=1000), "A")
    (sa,) = analyse([run], n_boot=200).suites
    plot = plots.ce_bars(sa, n_boot=200, seed=0)
    (container,) = [c for c in plot.figure.axes[0].containers if hasattr(c, "errorbar")]
    segments = container.errorbar.lines[2][0].get_segments()
    for name, rect, ((_, low), (_, high)) in zip(CORRUPTIONS, container.patches, segments):
        ce = sum(errors[(name, s)] for s in range(1, 6)) / sum(metrics.ALEXNET_ERRORS[name])
        assert rect.get_height() == pytest.approx(100 * ce)
        assert low < rect.get_height() < high
    assert "CE" in plot.title and "AlexNet" in plot.caption


def test_cell_interval_has_the_binomial_width(suite_analysis):
    run = suite_analysis.run("A").run
    found = plot_intervals.per_cell(run, n_boot=2000, seed=1)[("fog", 2)]
    p = _errors()[("fog", 2)]
    assert found.estimate == pytest.approx(p)
    half = (found.high - found.low) / 2
    assert half == pytest.approx(1.96 * np.sqrt(p * (1 - p) / N), rel=0.2)


def _band_range(ax, colour_index: int) -> tuple[np.ndarray, np.ndarray]:
    band = [c for c in ax.collections if isinstance(c, PolyCollection)][colour_index]
    vertices = band.get_paths()[0].vertices
    lows, highs = [], []
    for level in range(6):
        ys = vertices[np.isclose(vertices[:, 0], level), 1]
        lows.append(ys.min())
        highs.append(ys.max())
    return np.array(lows), np.array(highs)


def test_severity_curves_carry_bands(suite_analysis):
    plot = plots.severity_lines(suite_analysis, n_boot=200, seed=0)
    ax = plot.figure.axes[0]
    for i, ra in enumerate(suite_analysis.runs):
        found = plot_intervals.per_severity(ra.run, n_boot=200, seed=0)
        lows, highs = _band_range(ax, i)
        assert lows == pytest.approx([100 * found[lv].low for lv in range(6)])
        assert highs == pytest.approx([100 * found[lv].high for lv in range(6)])
        assert (highs - lows > 1).all()
    assert "n = 200 images per cell" in plot.caption and "bands" in plot.caption
    grid = plots.severity_grid(suite_analysis, n_boot=200, seed=0).figure
    assert all(len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 2
               for ax in grid.axes if ax.get_visible())


def _titles_disjoint(fig) -> None:
    """Titles (and notes) overlap neither each other nor any image, and stay in the figure."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    titled = [ax for ax in fig.axes if ax.get_title()]
    boxes = [ax.title.get_window_extent(renderer) for ax in titled]
    boxes += [t.get_window_extent(renderer) for t in fig.texts]
    assert len(boxes) > 2
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)
    images = [ax.get_window_extent(renderer) for ax in fig.axes if ax.images]
    for box in boxes:
        assert not any(box.overlaps(image) for image in images), box
        assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1
        assert fig.bbox.y0 <= box.y0 and box.y1 <= fig.bbox.y1


def test_gallery_titles_never_overlap():
    _titles_disjoint(plots.gallery("cifar").figure)
    long_names = ["xy_motion_blur", "color_quantization", "near_focus", "far_focus",
                  "h265_abr", "z_motion_blur", "bit_error", "iso_noise", "noise",
                  "a_plugin_corruption_with_a_rather_long_registered_name",
                  "supercalifragilisticexpialidocious_distortion"]
    pixels = np.zeros((32, 32, 3), np.uint8)
    fig = plot_gallery.grid_figure(long_names, [1, 3, 5], lambda n, lv: pixels, pixels,
                                   note="a note under the grid")
    _titles_disjoint(fig)


def _shown(fig, name: str, level: int) -> np.ndarray:
    (ax,) = [ax for ax in fig.axes if ax.get_label() == f"cell {name} {level}"]
    return np.asarray(ax.images[0].get_array())


def _scored_results(path, suite, errors):
    return load_run(write_results(path, c_suite_cells(errors, 4), suite=suite.name,
                                  metadata=suite.metadata()), "A")


def test_gallery_reads_a_released_suite(tmp_path):
    data = write_cifar_c(tmp_path / "c10c", 4, corruptions=NAMES, seed=5)
    clean = write_cifar_pickle(tmp_path / "clean", 4, seed=6)
    suite = get_suite("cifar10-c", data, clean_root=clean, corruptions=list(NAMES))
    plot, reason = plots.suite_gallery([_scored_results(tmp_path / "r.h5", suite, _errors())])
    assert plot is not None, reason
    for name in NAMES:
        array = np.load(data / f"{name}.npy")
        for level in (1, 3, 5):
            assert np.array_equal(_shown(plot.figure, name, level), array[(level - 1) * 4])
    first_clean = next(iter(suite.iter_cell("clean", 0, 1)))[0][0].permute(1, 2, 0).numpy()
    assert np.array_equal(_shown(plot.figure, "clean", 0), first_clean)
    assert "photograph" not in plot.title + plot.caption
    assert "first image of each cell" in plot.caption


def test_gallery_refuses_files_changed_since_scoring(tmp_path):
    data = write_cifar_c(tmp_path / "c10c", 4, corruptions=NAMES, seed=5)
    suite = get_suite("cifar10-c", data, corruptions=list(NAMES))
    run = _scored_results(tmp_path / "r.h5", suite, {k: v for k, v in _errors().items()
                                                     if k[0] != "clean"})
    write_cifar_c(tmp_path / "c10c", 4, corruptions=NAMES, seed=6)     # other pixels, same path
    plot, reason = plots.suite_gallery([run])
    assert plot is None and "holds other images than those scored" in reason


def test_gallery_regenerates_a_generated_suite(tmp_path):
    root = write_fashion_mnist_idx(tmp_path / "fmnist", 8, seed=2)
    suite = get_suite("fmnist-c", root, corruptions=["fog", "gaussian_noise"], seed=7)
    errors = {("clean", 0): 0.1, **{(n, s): 0.2 for n in ("fog", "gaussian_noise")
                                    for s in range(1, 6)}}
    plot, reason = plots.suite_gallery([_scored_results(tmp_path / "r.h5", suite, errors)])
    assert plot is not None, reason
    for level in (1, 3, 5):
        scored = next(iter(suite.iter_cell("gaussian_noise", level, 1)))[0][0]
        assert np.array_equal(_shown(plot.figure, "gaussian_noise", level),
                              scored.permute(1, 2, 0).numpy())
    assert "regenerated with seed 7" in plot.caption


def test_photograph_only_as_labelled_fallback(suite_analysis):
    # the fixture's results record data_root /data/cifar10-c, which does not exist here
    analysis = analyse([ra.run for ra in suite_analysis.runs], n_boot=100)
    (gallery,) = [p for p in plots.build_plots(analysis) if p.filename.startswith("gallery")]
    assert "bundled photograph" in gallery.title
    assert "The images of cifar10-c could not be read" in gallery.caption
    assert "/data/cifar10-c" in gallery.caption


def test_report_writes_svg_beside_200_dpi_png(tmp_path):
    data = write_cifar_c(tmp_path / "c10c", 4, corruptions=NAMES)
    suite = get_suite("cifar10-c", data, corruptions=list(NAMES))
    errors = {(n, s): 0.25 for n in NAMES for s in range(1, 6)}
    files = [write_results(tmp_path / f"r{i}" / "results.h5", c_suite_cells(errors, 4, seed=i),
                           metadata=suite.metadata(), checkpoint={"sha256": str(i) * 64})
             for i in range(2)]
    out = tmp_path / "report"
    doc = write_report(files, out, n_boot=100, reference="none")
    md = (out / "report.md").read_text()
    linked = re.findall(r"\]\(([^)]+\.png)\)", md)
    assert sorted(linked) == sorted(p.filename for p in doc.plots)
    assert "gallery_cifar10-c.png" in linked
    for plot in doc.plots:
        with Image.open(out / plot.filename) as png:
            assert png.format == "PNG" and min(png.info["dpi"]) >= 199.5
        svg = ET.fromstring((out / plot.svg_filename).read_bytes())
        assert svg.tag.endswith("svg")
        if not plot.filename.startswith("gallery"):
            assert "n = 4 images per cell" in plot.caption, plot.filename
    html = (out / "report.html").read_text()
    sources = re.findall(r'src="([^"]*)"', html)
    assert len(sources) == len(doc.plots)
    for plot, source in zip(doc.plots, sources):     # charts as SVG, photographs as JPEG
        mime, data = re.fullmatch(r"data:(image/[a-z+]+);base64,(.*)", source).groups()
        if plot.filename.startswith("gallery"):
            assert mime == "image/jpeg"
            assert Image.open(io.BytesIO(base64.b64decode(data))).format == "JPEG"
        else:
            assert mime == "image/svg+xml"
            assert ET.fromstring(base64.b64decode(data)).tag.endswith("svg")
    assert not re.search(r'(href|src)="(?!data:|#)', html)


def test_png_is_rendered_at_200_dpi(suite_analysis):
    plot = plots.severity_lines(suite_analysis, n_boot=100)
    with Image.open(io.BytesIO(plot.png)) as png:
        width_inches = plot.figure.get_size_inches()[0]
        assert png.size[0] == pytest.approx(200 * width_inches, abs=2)
