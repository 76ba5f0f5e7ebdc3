"""`write_outputs` is the one writer sequence of a report: it returns exactly the files it wrote,
and `write_report` leaves those same files, with the same bytes, in its output folder."""

from __future__ import annotations

import pytest

from corruptions import CORRUPTIONS
from reports import plot_gallery
from reports.analysis import analyse
from reports.build import make_document, write_outputs, write_report
from reports.load import load_runs
from results_fixtures import c_suite_cells, write_results

DOCUMENTS = ["report.html", "report.md", "cells.csv", "tables.tex", "report.json"]


@pytest.fixture
def small_gallery(monkeypatch):
    """Draw the gallery at 32 px (the 224 px one costs tens of seconds on shared cores)."""
    real = plot_gallery._gallery
    monkeypatch.setattr(plot_gallery, "_gallery", lambda preset, *a: real("cifar", *a))


def test_write_outputs_returns_what_it_wrote_and_matches_write_report(tmp_path, small_gallery):
    errors = {("clean", 0): 0.05}
    errors.update({(name, s): 0.1 + 0.05 * s for name in CORRUPTIONS for s in range(1, 6)})
    results = write_results(tmp_path / "results.h5", c_suite_cells(errors, 100, seed=3),
                            suite="cifar10-c", checkpoint={"arch": "wrn40_2", "method": "m",
                                                           "sha256": "a" * 64})
    analysis = analyse(load_runs([results]), n_boot=100, seed=0)
    doc = make_document(analysis, "auto")
    folder = tmp_path / "direct"
    folder.mkdir()

    written = write_outputs(analysis, doc, folder)

    assert doc.plots
    assert len(written) == len(set(written))
    assert sorted(written) == sorted(folder.iterdir())
    plots = [folder / name for plot in doc.plots for name in (plot.filename, plot.svg_filename)]
    assert written == plots + [folder / name for name in DOCUMENTS]

    out = tmp_path / "report"
    write_report([results], out, n_boot=100, seed=0)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in written)
    for name in ("cells.csv", "tables.tex", "report.md"):
        assert (out / name).read_bytes() == (folder / name).read_bytes()
