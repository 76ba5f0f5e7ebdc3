"""score(): exact per-cell errors by construction, the HDF5 layout, resume, and bad input."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch

from robustbench_dm.errors import UserError
from robustbench_dm.metrics import ALEXNET_CLEAN_ERROR, ALEXNET_ERRORS, BENCHMARK_CORRUPTIONS
from robustbench_dm.scoring import Results, score
from scoring_fixtures import MemorySuite, PixelCodeNet, VideoSuite, predictions_with_error

INFO = {"path": "/ckpt/a.pt", "sha256": "a" * 64, "arch": "pixel_code", "num_classes": None}


def c_suite(errors: dict, n: int, num_classes: int, name: str = "cifar10-c", seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, n)
    cells = {key: predictions_with_error(labels, err, num_classes, rng) for key, err in errors.items()}
    return MemorySuite(name, labels, cells, num_classes)


def imagenet_errors(seed: int) -> dict:
    """Errors on a grid of 1/20 for all 15 ImageNet-C corruptions x 5 severities + clean."""
    rng = np.random.default_rng(seed)
    errors = {("clean", 0): 0.25}
    for c in BENCHMARK_CORRUPTIONS:
        for s in range(1, 6):
            errors[(c, s)] = rng.integers(5 + 2 * s, 10 + 2 * s) / 20
    return errors


def test_every_cell_error_is_exact_and_layout_matches_contract(tmp_path):
    errors = {("clean", 0): 0.1, ("fog", 1): 0.2, ("fog", 2): 0.35, ("snow", 1): 0.5,
              ("snow", 2): 0.65, ("speckle_noise", 1): 0.9}
    suite = c_suite(errors, 40, 10)
    results = score(PixelCodeNet(10), suite, out_dir=tmp_path, batch_size=7, checkpoint_info=INFO,
                    seed=3)
    assert results.cells() == list(errors)
    frame = results.errors()
    for (name, level), err in errors.items():
        row = frame[(frame.corruption == name) & (frame.severity == level)]
        assert row.error.item() == pytest.approx(err, abs=1e-12)
        assert row.n.item() == 40
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["clean_error"] == pytest.approx(0.1, abs=1e-12)
    # mean over the benchmark cells; the extra corruption speckle_noise is excluded
    assert summary["mean_error"] == pytest.approx(np.mean([0.2, 0.35, 0.5, 0.65]), abs=1e-12)
    assert summary["corruptions"]["fog"]["errors"] == pytest.approx([0.2, 0.35, None, None, None])
    assert summary["mce"] is None and summary["relative_mce"] is None

    with h5py.File(tmp_path / "results.h5", "r") as f:
        assert f.attrs["schema"] == 1 and f.attrs["kind"] == "c"
        assert f.attrs["suite"] == "cifar10-c" and f.attrs["num_classes"] == 10
        assert f.attrs["seed"] == 3
        assert json.loads(f.attrs["checkpoint"])["sha256"] == "a" * 64
        assert "torch" in json.loads(f.attrs["versions"])
        assert json.loads(f.attrs["metadata"])["preprocessing"] == "in memory"
        cell = f["cells/fog/2"]
        assert cell["topk"].dtype == np.int32 and cell["topk"].shape == (40, 5)
        assert cell["topk_prob"].dtype == np.float32 and cell["logits"].shape == (40, 10)
        np.testing.assert_array_equal(cell["index"][()], np.arange(40))
        np.testing.assert_array_equal(cell["labels"][()], suite.labels.numpy())
        probs = torch.softmax(torch.from_numpy(cell["logits"][()]), 1)
        np.testing.assert_allclose(cell["topk_prob"][()], probs.topk(5, 1).values.numpy(), rtol=1e-6)
    assert not list(tmp_path.glob(".*.tmp"))


def test_imagenet_c_mce_and_relative_mce_match_the_formula(tmp_path):
    errors = imagenet_errors(seed=1)
    suite = c_suite(errors, 20, 1000, name="imagenet-c")
    results = score(PixelCodeNet(1000), suite, out_dir=tmp_path, batch_size=64, checkpoint_info=INFO)
    summary = json.loads((tmp_path / "summary.json").read_text())
    model = {c: np.array([errors[(c, s)] for s in range(1, 6)]) for c in BENCHMARK_CORRUPTIONS}
    alex = {c: np.array(ALEXNET_ERRORS[c]) for c in BENCHMARK_CORRUPTIONS}
    ces = {c: model[c].sum() / alex[c].sum() for c in BENCHMARK_CORRUPTIONS}
    assert summary["mce"] == pytest.approx(np.mean(list(ces.values())), abs=1e-9)
    rel = np.mean([(model[c] - 0.25).sum() / (alex[c] - ALEXNET_CLEAN_ERROR).sum()
                   for c in BENCHMARK_CORRUPTIONS])
    assert summary["relative_mce"] == pytest.approx(rel, abs=1e-9)
    for c in BENCHMARK_CORRUPTIONS:
        assert summary["corruptions"][c]["ce"] == pytest.approx(ces[c], abs=1e-9)
    with h5py.File(results.path, "r") as f:  # > 100 classes: top-5 only
        assert "logits" not in f["cells/fog/3"] and f["cells/fog/3/topk"].shape == (20, 5)


def test_imagenet_c_subset_gets_no_alexnet_normalisation(tmp_path):
    errors = {k: v for k, v in imagenet_errors(seed=2).items() if k[0] != "fog"}
    score(PixelCodeNet(1000), c_suite(errors, 20, 1000, name="imagenet-c"), out_dir=tmp_path,
          checkpoint_info=INFO)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["mce"] is None and summary["corruptions"]["snow"]["ce"] is None


def test_baseline_results_normalise_ce_per_severity_sums(tmp_path):
    model_err = {("near_focus", s): 0.1 * s for s in range(1, 6)} | {
        ("fog_3d", s): 0.05 * s for s in range(1, 6)}
    base_err = {("near_focus", s): 0.15 * s for s in range(1, 6)} | {
        ("fog_3d", s): 0.15 + 0.1 * s for s in range(1, 6)}
    base = score(PixelCodeNet(10), c_suite(base_err, 40, 10, "imagenet-3dcc"),
                 out_dir=tmp_path / "b", checkpoint_info=INFO)
    score(PixelCodeNet(10), c_suite(model_err, 40, 10, "imagenet-3dcc"), out_dir=tmp_path / "m",
          checkpoint_info=INFO, baseline=base.path)
    summary = json.loads((tmp_path / "m" / "summary.json").read_text())
    ce_near = 1.5 / 2.25
    ce_fog = 0.75 / 2.25
    assert summary["corruptions"]["near_focus"]["ce"] == pytest.approx(ce_near, abs=1e-9)
    assert summary["mce"] == pytest.approx((ce_near + ce_fog) / 2, abs=1e-9)


def test_perturbation_suite_flip_probability_and_fr(tmp_path):
    # videos x 4 frames; noise compares with frame 0, others with the previous frame
    cells = {("gaussian_noise", 1): [[1, 1, 2, 1], [3, 3, 3, 3]],
             ("rotate", 1): [[1, 2, 1, 1], [4, 4, 5, 5]]}
    base_cells = {("gaussian_noise", 1): [[1, 2, 2, 2], [3, 3, 3, 3]],
                  ("rotate", 1): [[1, 2, 1, 2], [4, 5, 4, 5]]}
    base = score(PixelCodeNet(10), VideoSuite("cifar10-p", base_cells, 10), out_dir=tmp_path / "b",
                 checkpoint_info=INFO)
    results = score(PixelCodeNet(10), VideoSuite("cifar10-p", cells, 10), out_dir=tmp_path / "m",
                    batch_size=3, checkpoint_info=INFO, baseline=base)
    summary = json.loads((tmp_path / "m" / "summary.json").read_text())
    fp_noise = (1 / 3 + 0) / 2
    fp_rotate = (2 / 3 + 1 / 3) / 2
    assert summary["perturbations"]["gaussian_noise"]["flip_probability"] == pytest.approx(fp_noise)
    assert summary["perturbations"]["rotate"]["flip_probability"] == pytest.approx(fp_rotate)
    assert summary["perturbations"]["rotate"]["fr"] == pytest.approx(fp_rotate / 1.0)
    assert summary["mfr"] == pytest.approx((fp_noise / (1 / 2) + fp_rotate / 1.0) / 2)
    assert summary["mfp"] == pytest.approx((fp_noise + fp_rotate) / 2)
    assert results.cell("rotate", 1).topk.shape == (2, 4, 5)
    assert set(summary) == {"schema", "suite", "perturbations", "mfp", "mt5d_unnormalized",
                            "mfr", "mt5d"}


class Interrupted(Exception):
    pass


class InterruptAt(MemorySuite):
    """Raises in the middle of cell number ``stop_at`` (0-based)."""

    def __init__(self, *args, stop_at: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.stop_at = stop_at

    def _share(self, name, level, lo, hi, batch_size):
        for i, batch in enumerate(super()._share(name, level, lo, hi, batch_size)):
            if self.cells().index((name, level)) == self.stop_at and i == 1:
                raise Interrupted
            yield batch


def test_interrupted_run_resumes_to_the_same_summary(tmp_path):
    errors = {("clean", 0): 0.1} | {(c, s): 0.05 * (s + i) for i, c in enumerate(
        ["fog", "snow", "frost"]) for s in range(1, 4)}
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 30)
    cells = {k: predictions_with_error(labels, e, 10, rng) for k, e in errors.items()}

    broken = InterruptAt("cifar10-c", labels, cells, 10, stop_at=4)
    with pytest.raises(Interrupted):
        score(PixelCodeNet(10), broken, out_dir=tmp_path / "run", batch_size=8, checkpoint_info=INFO)
    partial = Results.load(tmp_path / "run" / "results.h5")
    assert partial.cells() == list(cells)[:4]
    assert not list((tmp_path / "run").glob(".*.tmp"))
    assert not (tmp_path / "run" / "summary.json").exists()

    again = MemorySuite("cifar10-c", labels, cells, 10)
    score(PixelCodeNet(10), again, out_dir=tmp_path / "run", batch_size=8, checkpoint_info=INFO)
    assert again.calls == list(cells)[4:]  # finished cells were skipped
    fresh = MemorySuite("cifar10-c", labels, cells, 10)
    score(PixelCodeNet(10), fresh, out_dir=tmp_path / "fresh", batch_size=8, checkpoint_info=INFO)
    resumed = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert resumed == json.loads((tmp_path / "fresh" / "summary.json").read_text())


def test_nan_logits_name_the_cell_and_write_nothing(tmp_path):
    class NaNNet(PixelCodeNet):
        def forward(self, x):
            return super().forward(x) * float("nan")

    with pytest.raises(UserError, match=r"NaN or infinite logits in cell fog/1"):
        score(NaNNet(10), c_suite({("fog", 1): 0.1}, 10, 10), out_dir=tmp_path, checkpoint_info=INFO)
    assert list(tmp_path.iterdir()) == []


def test_class_count_mismatch_is_refused(tmp_path):
    suite = c_suite({("fog", 1): 0.1}, 10, 10)
    with pytest.raises(UserError, match="class counts"):
        score(PixelCodeNet(10), suite, out_dir=tmp_path / "a", checkpoint_info=INFO | {"num_classes": 100})
    with pytest.raises(UserError, match="outputs 12 classes but the suite has 10"):
        score(PixelCodeNet(12), suite, out_dir=tmp_path / "b", checkpoint_info=INFO)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_out_dir_of_another_checkpoint_or_subset_is_refused_untouched(tmp_path):
    suite = c_suite({("fog", 1): 0.1}, 10, 10)
    score(PixelCodeNet(10), suite, out_dir=tmp_path, checkpoint_info=INFO)
    before = (tmp_path / "results.h5").read_bytes()
    with pytest.raises(UserError, match="different checkpoint"):
        score(PixelCodeNet(10), suite, out_dir=tmp_path, checkpoint_info=INFO | {"sha256": "b" * 64})
    other = c_suite({("fog", 1): 0.1}, 10, 10)
    other._meta = {"subset": {"limit": 5}}
    with pytest.raises(UserError, match="subset"):
        score(PixelCodeNet(10), other, out_dir=tmp_path, checkpoint_info=INFO)
    with pytest.raises(UserError, match="suite"):
        score(PixelCodeNet(10), c_suite({("fog", 1): 0.1}, 10, 10, name="cifar100-c"),
              out_dir=tmp_path, checkpoint_info=INFO)
    assert (tmp_path / "results.h5").read_bytes() == before
