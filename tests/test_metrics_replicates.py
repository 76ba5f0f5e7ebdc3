"""The metric functions with a leading replicate axis equal the scalar functions applied to each
replicate, NaN replicates stay confined to their row, and the report's measures are those
functions over bootstrap replicates."""

from __future__ import annotations

import numpy as np
import pytest

from reports.load import CellScores, ScoredRun
from reports.measures import ALEXNET, baseline_from_run, measures_for
from robustbench_dm import metrics
from robustbench_dm.errors import UserError

B = 7


@pytest.fixture
def rng():
    return np.random.default_rng(11)


def _loop(fn, replicated: dict, *args, **kwargs) -> np.ndarray:
    """``fn`` applied to row b of every replicated value, for each b."""
    return np.array([fn({k: v[b] for k, v in replicated.items()}, *args, **kwargs)
                     for b in range(B)])


def test_corruption_error_per_replicate(rng):
    errors, base = rng.uniform(size=(B, 5)), rng.uniform(0.2, 1.0, size=5)
    got = metrics.corruption_error(errors, base)
    assert got.shape == (B,)
    np.testing.assert_array_equal(got, [metrics.corruption_error(row, base) for row in errors])


def test_relative_corruption_error_per_replicate(rng):
    errors, clean = rng.uniform(0.3, 1.0, size=(B, 5)), rng.uniform(0.0, 0.3, size=B)
    base = rng.uniform(0.6, 1.0, size=5)
    got = metrics.relative_corruption_error(errors, clean, base, 0.4)
    expected = [metrics.relative_corruption_error(e, c, base, 0.4) for e, c in zip(errors, clean)]
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("baseline", ["alexnet", "mapping", None])
def test_mce_per_replicate(rng, baseline):
    names = metrics.BENCHMARK_CORRUPTIONS + metrics.EXTRA_CORRUPTIONS
    errors = {name: rng.uniform(size=(B, 5)) for name in names}
    if baseline == "mapping":
        baseline = {name: rng.uniform(0.3, 1.0, size=5) for name in names}
    got = metrics.mce(errors, baseline=baseline)
    assert got.shape == (B,)
    np.testing.assert_array_equal(got, _loop(metrics.mce, errors, baseline=baseline))


def test_mce_per_replicate_other_suite(rng):
    errors = {name: rng.uniform(size=(B, 5)) for name in ("near_focus", "fog_3d", "flash")}
    baseline = {name: rng.uniform(0.3, 1.0, size=5) for name in errors}
    np.testing.assert_array_equal(metrics.mce(errors, baseline),
                                  _loop(metrics.mce, errors, baseline))


def test_relative_mce_per_replicate(rng):
    errors = {name: rng.uniform(0.4, 1.0, size=(B, 5)) for name in metrics.BENCHMARK_CORRUPTIONS}
    clean = rng.uniform(0.0, 0.4, size=B)
    got = metrics.relative_mce(errors, clean)
    expected = [metrics.relative_mce({k: v[b] for k, v in errors.items()}, clean[b])
                for b in range(B)]
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("fn", [metrics.mfr, metrics.mt5d])
def test_mean_ratios_per_replicate(rng, fn):
    values = {name: rng.uniform(0.0, 3.0, size=B) for name in ("gaussian_noise", "tilt", "scale")}
    baseline = {name: rng.uniform(0.5, 2.0) for name in values}
    np.testing.assert_array_equal(fn(values, baseline), _loop(fn, values, baseline))


def test_nan_replicate_stays_in_its_row(rng):
    errors = {name: rng.uniform(size=(B, 5)) for name in metrics.BENCHMARK_CORRUPTIONS}
    errors["fog"][2, 3] = np.nan            # a replicate that drew no image of a cell
    got = metrics.mce(errors)
    assert np.isnan(got[2]) and np.isfinite(np.delete(got, 2)).all()
    values = {"tilt": np.array([0.1, np.nan, 0.3])}
    assert np.isnan(metrics.mfr(values, {"tilt": 0.2})[1])


def test_scalar_inputs_still_give_floats_and_checks():
    assert isinstance(metrics.corruption_error([0.5] * 5, [0.5] * 5), float)
    assert isinstance(metrics.mfr({"tilt": 0.1}, {"tilt": 0.2}), float)
    with pytest.raises(UserError, match="finite"):
        metrics.corruption_error([0.5, 0.5, np.nan, 0.5, 0.5], [0.5] * 5)
    with pytest.raises(UserError, match=r"\[0, 1\]"):
        metrics.corruption_error(np.full((2, 5), 1.5), [0.5] * 5)
    with pytest.raises(UserError, match="replicate axis"):
        metrics.corruption_error(np.full((2, 2, 5), 0.5), [0.5] * 5)


def test_replicate_shapes_must_agree(rng):
    errors = {name: rng.uniform(size=(B, 5)) for name in metrics.BENCHMARK_CORRUPTIONS}
    errors["fog"] = rng.uniform(size=5)
    with pytest.raises(UserError, match="one shape"):
        metrics.mce(errors)
    with pytest.raises(UserError, match="clean_error"):
        metrics.relative_corruption_error(np.full((B, 5), 0.5), np.full(B + 1, 0.1),
                                          [0.6] * 5, 0.4)
    with pytest.raises(UserError, match="one shape"):
        metrics.mfr({"tilt": np.ones(2), "scale": np.ones(3)}, {"tilt": 1.0, "scale": 1.0})


def _run(kind: str, values: dict) -> ScoredRun:
    run = ScoredRun(path=None, label=kind, kind=kind, suite=f"imagenet-{kind}", num_classes=10,
                    metadata={}, checkpoint={}, versions={}, seed=0)
    for key, cell in values.items():
        n = len(next(iter(cell.values())))
        run.cells[key] = CellScores(key[0], key[1], np.arange(n), np.zeros(n, np.int64), cell)
    return run


def test_report_mce_measure_is_metrics_mce_per_replicate(rng):
    cells = {("clean", 0): {"error": (rng.uniform(size=40) < 0.2).astype(float),
                            "confidence": rng.uniform(size=40)}}
    for name in metrics.BENCHMARK_CORRUPTIONS:
        for s in metrics.SEVERITIES:
            cells[(name, s)] = {"error": (rng.uniform(size=40) < 0.1 * s).astype(float),
                                "confidence": rng.uniform(size=40)}
    run = _run("c", cells)
    measures = {m.key: m for m in measures_for(run, ALEXNET)}
    means = rng.uniform(0.05, 0.95, size=(B, len(measures["relative_mce"].columns)))
    names = [cell[0] for cell, _ in measures["mce"].columns[::5]]
    errors = {name: means[:, 5 * i:5 * i + 5] for i, name in enumerate(names)}
    np.testing.assert_allclose(measures["mce"].fn(means[:, :-1]),
                               _loop(metrics.mce, errors), rtol=1e-15)
    np.testing.assert_allclose(
        measures["relative_mce"].fn(means),
        [metrics.relative_mce({k: v[b] for k, v in errors.items()}, means[b, -1])
         for b in range(B)], rtol=1e-15)


def test_report_mfr_measure_is_metrics_mfr_per_replicate(rng):
    cells = {(name, 1): {"flip": rng.uniform(size=30), "t5d": rng.uniform(0, 3, size=30)}
             for name in ("gaussian_noise", "tilt", "scale")}
    run = _run("p", cells)
    measures = {m.key: m for m in measures_for(run, baseline_from_run(run))}
    means = rng.uniform(0.1, 0.9, size=(B, 3))
    base = {name: run.mean((name, 1), "flip") for name in ("gaussian_noise", "tilt", "scale")}
    values = {name: means[:, i] for i, name in enumerate(base)}
    np.testing.assert_array_equal(measures["mfr"].fn(means), _loop(metrics.mfr, values, base))
