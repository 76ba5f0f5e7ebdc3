"""summary.json from results files written independently of score() (tests/results_fixtures.py),
checked against hand-computed values; the text table; unreadable results files."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from robustbench_dm.errors import UserError
from robustbench_dm.metrics import ALEXNET_ERRORS, BENCHMARK_CORRUPTIONS
from robustbench_dm.scoring import Results, format_summary, write_summary
from results_fixtures import c_cell, c_suite_cells, p_cell, write_results

C_KEYS = {"schema", "suite", "clean_error", "mean_error", "mce", "relative_mce", "corruptions"}


def test_c_summary_schema_errors_and_calibration(tmp_path):
    rng = np.random.default_rng(0)
    n = 200
    half = np.arange(n) < n // 2
    cells = {("clean", 0): c_cell(0.0, n, rng=rng, wrong=~np.ones(n, bool)),
             ("fog", 1): c_cell(0.5, n, rng=rng, wrong=half, confidence=np.where(half, 0.4, 0.8)),
             ("fog", 2): c_cell(0.25, 40, rng=rng),
             ("saturate", 1): c_cell(0.75, 40, rng=rng)}
    path = write_results(tmp_path / "r.h5", cells)
    summary = Results.load(path).summary()
    assert set(summary) == C_KEYS and summary["schema"] == 1 and summary["suite"] == "cifar10-c"
    assert summary["clean_error"] == 0.0
    fog = summary["corruptions"]["fog"]
    assert fog["errors"] == [0.5, 0.25, None, None, None] and fog["ce"] is None
    # 2 equal-mass bins of 100: the wrong images at confidence 0.4 (gap 0.4), the right ones at
    # 0.8 (gap 0.2): RMS = sqrt(0.5 * 0.4^2 + 0.5 * 0.2^2)
    assert fog["rms_calibration_error"][0] == pytest.approx(np.sqrt(0.1), rel=1e-6)
    assert fog["rms_calibration_error"][1] is None  # 40 images < one bin of 100
    assert summary["mean_error"] == pytest.approx(0.375)  # extra corruption saturate excluded
    assert summary["corruptions"]["saturate"]["errors"][0] == 0.75
    json.dumps(summary)  # plain JSON types only


def test_imagenet_c_uses_the_alexnet_table_only_when_complete(tmp_path):
    errors = {(c, s): 0.05 * s + 0.01 * i for i, c in enumerate(BENCHMARK_CORRUPTIONS)
              for s in range(1, 6)}
    errors = {k: round(v * 40) / 40 for k, v in errors.items()}
    cells = c_suite_cells(errors | {("clean", 0): 0.2, ("spatter", 3): 0.5}, 40, num_classes=1000)
    full = Results.load(write_results(tmp_path / "full.h5", cells, suite="imagenet-c",
                                      num_classes=1000)).summary()
    expected = np.mean([sum(errors[(c, s)] for s in range(1, 6)) / sum(ALEXNET_ERRORS[c])
                        for c in BENCHMARK_CORRUPTIONS])
    assert full["mce"] == pytest.approx(expected, abs=1e-12)
    assert full["corruptions"]["spatter"]["ce"] is None  # severity 3 only
    assert full["relative_mce"] is not None

    as_cifar = Results.load(write_results(tmp_path / "c.h5", cells, suite="cifar100-c",
                                          num_classes=1000)).summary()
    assert as_cifar["mce"] is None and as_cifar["relative_mce"] is None
    assert as_cifar["mean_error"] == pytest.approx(np.mean(list(errors.values())), abs=1e-12)


def test_p_summary_from_top5_only(tmp_path):
    # 1000 classes: only top-5 stored. Video 0 moves from class 1 to 2 at frame 2.
    predictions = np.array([[1, 1, 2, 2], [7, 7, 7, 7]])
    path = write_results(tmp_path / "p.h5", {("rotate", 1): p_cell(predictions, num_classes=1000),
                                              ("gaussian_noise", 2): p_cell(predictions, num_classes=1000)},
                         kind="p", suite="imagenet-p", num_classes=1000)
    summary = Results.load(path).summary()
    rotate = summary["perturbations"]["rotate"]
    # one flip in 3 comparisons for video 0, none for video 1
    assert rotate["flip_probability"] == pytest.approx((1 / 3) / 2)
    # top-5 [1..5] -> [2..6]: class 1 leaves (|0-5| = 5), classes 2..5 move up one (4 x 1)
    assert rotate["top5_distance"] == pytest.approx((9 / 3) / 2)
    noise = summary["perturbations"]["gaussian_noise_2"]  # frame 0 reference: 2 flips of 3
    assert noise["flip_probability"] == pytest.approx((2 / 3) / 2)
    assert rotate["fr"] is None and summary["mfr"] is None and summary["mt5d"] is None
    assert summary["mfp"] == pytest.approx((1 / 6 + 1 / 3) / 2)


def test_baseline_kind_must_match(tmp_path):
    rng = np.random.default_rng(0)
    c = write_results(tmp_path / "c.h5", {("fog", 1): c_cell(0.1, 10, rng=rng)})
    p = write_results(tmp_path / "p.h5", {("rotate", 1): p_cell(np.zeros((2, 3)))}, kind="p",
                      suite="cifar10-p")
    with pytest.raises(UserError, match="-P results"):
        Results.load(c).summary(baseline=p)


def test_table_and_atomic_summary_file(tmp_path):
    cells = c_suite_cells({("clean", 0): 0.1, ("fog", 1): 0.25, ("fog", 2): 0.5}, 20)
    summary = Results.load(write_results(tmp_path / "r.h5", cells)).summary()
    text = format_summary(summary)
    assert "fog" in text and "25.00" in text and "50.00" in text and "clean error   10.00" in text
    write_summary(tmp_path / "summary.json", summary)
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.h5", "summary.json"]


def test_unreadable_results_files(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        Results.load(tmp_path / "none.h5")
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(UserError, match="not a readable HDF5"):
        Results.load(tmp_path / "text.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = 1
    with pytest.raises(UserError, match="not a robustbench_dm results file"):
        Results.load(tmp_path / "other.h5")
