"""`robust-eval report` end to end and its bad-input errors (one line, exit 2, nothing written)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cli import main
from reports import plot_gallery
from reports.document import Plot
from reports.plot_style import new_figure
from results_fixtures import c_suite_cells, write_results

ERRORS = {("clean", 0): 0.1, ("gaussian_noise", 1): 0.2, ("gaussian_noise", 2): 0.3}


@pytest.fixture()
def files(tmp_path, monkeypatch):
    monkeypatch.setattr(plot_gallery, "_gallery",
                        lambda preset, *a: Plot("gallery.png", "g", "g", new_figure(1, 1)))
    a = write_results(tmp_path / "a" / "results.h5", c_suite_cells(ERRORS, 120, seed=1),
                      checkpoint={"sha256": "a" * 64})
    b = write_results(tmp_path / "b" / "results.h5", c_suite_cells(ERRORS, 120, seed=2),
                      checkpoint={"sha256": "b" * 64})
    return a, b


def test_cli_report_writes_everything(tmp_path, files):
    a, b = files
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["report", str(a), "--name", f"mine={b}", "--out", str(out),
                                       "--bootstrap", "200", "--reference", "none"])
    assert result.exit_code == 0, result.output
    assert "cifar10-c:" in result.output
    data = json.loads((out / "report.json").read_text())
    assert set(data["suites"][0]["models"]) == {"standard small_cnn", "mine"}
    assert (out / "gallery.png").is_file() and (out / "report.html").is_file()


@pytest.mark.parametrize("args, message", [
    (["missing.h5"], "missing.h5 does not exist"),
    (["{a}", "--name", "nolabel"], "expected LABEL=RESULTS"),
    (["{a}", "--bootstrap", "5"], "at least 100"),
    (["{a}", "--baseline", "{other}"], "no input holds cifar100-c results"),
    (["{a}", "{notresults}"], "HDF5 results file"),
])
def test_cli_report_bad_input(tmp_path, files, args, message):
    a, _ = files
    other = write_results(tmp_path / "o.h5", c_suite_cells(ERRORS, 120), suite="cifar100-c")
    bogus = tmp_path / "bogus.h5"
    bogus.write_text("not hdf5")
    out = tmp_path / "out"
    args = [x.format(a=a, other=other, notresults=bogus) for x in args]
    result = CliRunner().invoke(main, ["report", *args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]
    assert not out.exists()
