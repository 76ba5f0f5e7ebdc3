"""Plots decode as PNG; the gallery shows every registered corruption and names the missing."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from corruptions import CORRUPTIONS, EXTRA
from corruptions.registry import registered_corruptions
from reports import plots
from reports.analysis import analyse
from reports.load import load_run
from results_fixtures import c_suite_cells, p_cell, write_results


def _decode(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def test_gallery_lists_missing_kernels():
    plot = plots.gallery("cifar")
    assert _decode(plot.png).size[0] > 300
    missing = [n for n in CORRUPTIONS + EXTRA if n not in registered_corruptions()]
    for name in missing:
        assert name in plot.caption
    assert ("Not shown" in plot.caption) == bool(missing)


def test_every_plot_decodes(tmp_path):
    errors = {("clean", 0): 0.1}
    errors.update({(n, s): 0.1 * s for n in ("fog", "snow") for s in range(1, 6)})
    a = load_run(write_results(tmp_path / "a.h5", c_suite_cells(errors, 100)), "A")
    preds = np.zeros((5, 31), dtype=np.int64)
    preds[:, ::3] = 1
    p = load_run(write_results(tmp_path / "p.h5", {("rotate", 1): p_cell(preds)}, kind="p",
                               suite="cifar10-p"), "A")
    analysis = analyse([a, p], n_boot=100)
    for sa in analysis.suites:
        figs = ([plots.ce_bars(sa), plots.severity_lines(sa), plots.severity_grid(sa),
                 plots.severity_lines(sa, calibration=True), plots.reliability(sa)]
                if sa.kind == "c" else [plots.flip_bars(sa)])
        for fig in figs:
            image = _decode(fig.png)
            assert image.format == "PNG" and min(image.size) > 100
            assert fig.filename.endswith(".png") and fig.title
