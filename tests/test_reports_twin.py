"""Observed case 4 end to end: the same images scored from a suite written by `make-suite` and
generated on the fly (same seed, same generator version) pair in the report, and the verdict is
a sentence; a twin generated with another seed is refused with the seed named."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from formats import write_cifar_pickle
from scoring_fixtures import PixelCodeNet
from test_cli_score import scripted

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")


def _invoke(*args) -> None:
    result = CliRunner().invoke(main, list(map(str, args)))
    assert result.exit_code == 0, result.output


def test_written_suite_and_on_the_fly_twin_pair_in_the_report(tmp_path):
    labels = np.arange(20) % 10
    clean = np.random.default_rng(0).integers(0, 256, (20, 3, 32, 32)).astype(np.uint8)
    clean[:, 0, 0, 0] = labels
    clean[:, 1, 0, 0] = 0
    write_cifar_pickle(tmp_path / "clean", images=clean, labels=labels)
    model = scripted(tmp_path, PixelCodeNet(10))
    picked = ["--corruptions", "contrast,fog", "--seed", "4"]
    _invoke("make-suite", "cifar10-c", "--from", "cifar10", "--data-root", tmp_path / "clean",
            "--out", tmp_path / "written", *picked)
    common = [model, "--suite", "cifar10-c", "--clean-root", tmp_path / "clean",
              "--batch-size", "8", "--corruptions", "contrast,fog"]
    _invoke("score", *common, "--data-root", tmp_path / "written", "--out", tmp_path / "files")
    _invoke("score", *common, "--generate", "--seed", "4", "--out", tmp_path / "fly")
    _invoke("score", *common, "--generate", "--seed", "5", "--out", tmp_path / "other")
    _invoke("report", "--name", f"files={tmp_path / 'files' / 'results.h5'}",
            "--name", f"fly={tmp_path / 'fly' / 'results.h5'}",
            "--out", tmp_path / "report", "--bootstrap", "100")
    data = json.loads((tmp_path / "report" / "report.json").read_text())
    (cmp,) = data["suites"][0]["comparisons"]
    assert cmp["refused"] == [] and cmp["difference"]["estimate"] == 0.0
    assert cmp["sentence"].endswith("is within noise (paired over the same n = 20 images per "
                                    "cell, 11 cells; a subset of the suite (only some of its "
                                    "cells)).")
    _invoke("report", "--name", f"fly={tmp_path / 'fly' / 'results.h5'}",
            "--name", f"other={tmp_path / 'other' / 'results.h5'}",
            "--out", tmp_path / "report2", "--bootstrap", "100")
    data = json.loads((tmp_path / "report2" / "report.json").read_text())
    (cmp,) = data["suites"][0]["comparisons"]
    assert cmp["difference"] is None
    assert "the seed differs (fly: 4 vs other: 5)" in cmp["refused"]
    assert "{" not in cmp["sentence"]
