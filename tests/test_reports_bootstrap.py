"""Bootstrap intervals: coverage of a known difference, vectorised measures equal the metric
functions, image identity kept across cells, paired statistics refused when images differ."""

from __future__ import annotations

import numpy as np
import pytest

from corruptions import CORRUPTIONS
from reports import bootstrap, compare
from reports.analysis import analyse
from reports.load import CellScores, ScoredRun, load_run
from reports.measures import ALEXNET, Baseline, measures_for
from results_fixtures import c_cell, c_suite_cells, write_results
from robustbench_dm import metrics


def _run(label: str, wrong: dict, *, index=None, suite="cifar10-c") -> ScoredRun:
    """A run from 0/1 error vectors per cell (same labels everywhere)."""
    run = ScoredRun(path=None, label=label, kind="c", suite=suite, num_classes=10,
                    metadata={"subset": None}, checkpoint={}, versions={}, seed=0)
    for key, err in wrong.items():
        n = len(err)
        idx = np.arange(n) if index is None else np.asarray(index)
        run.cells[key] = CellScores(key[0], key[1], idx, np.zeros(n, np.int64),
                                    {"error": np.asarray(err, float),
                                     "confidence": np.full(n, 0.9)})
    return run


def test_paired_interval_covers_the_true_difference_at_nominal_rate():
    """Population: image difficulty p_i ~ Beta(2, 5); A errs with p_i, B with p_i * 0.8, so the
    true difference of mean error is 0.2 * E[p] = 0.2 * 2/7. Coverage over 200 test sets."""
    rng = np.random.default_rng(0)
    true = 0.2 * 2 / 7
    hits, n_sims, n = 0, 200, 400
    for sim in range(n_sims):
        p = rng.beta(2, 5, size=n)
        u = rng.uniform(size=(2, n))       # shared uniforms: paired, correlated errors
        a = {("fog", s): (u[s - 1] < p).astype(float) for s in (1, 2)}
        b = {("fog", s): (u[s - 1] < 0.8 * p).astype(float) for s in (1, 2)}
        ra, rb = _run("A", a), _run("B", b)
        ms = {r.label: [m for m in measures_for(r, None) if m.key == "mean_error"] for r in (ra, rb)}
        reps = bootstrap.replicates([ra, rb], ms, n_boot=300, seed=sim)
        est = ms["A"][0].point(ra) - ms["B"][0].point(rb)
        iv = bootstrap.interval(est, reps["A"]["mean_error"] - reps["B"]["mean_error"])
        hits += iv.low <= true <= iv.high
    assert 0.90 <= hits / n_sims <= 0.99


def test_image_identity_is_kept_across_cells():
    """Two identical cells: resampling images jointly gives the same interval as one cell;
    independent resampling per cell would make it narrower."""
    err = (np.random.default_rng(1).uniform(size=300) < 0.3).astype(float)
    one = _run("one", {("fog", 1): err})
    two = _run("two", {("fog", 1): err, ("fog", 2): err})
    m1 = [m for m in measures_for(one, None) if m.key == "mean_error"]
    m2 = [m for m in measures_for(two, None) if m.key == "mean_error"]
    r1 = bootstrap.replicates([one], {"one": m1}, n_boot=500, seed=3)["one"]["mean_error"]
    r2 = bootstrap.replicates([two], {"two": m2}, n_boot=500, seed=3)["two"]["mean_error"]
    np.testing.assert_allclose(r1, r2)


def test_vectorised_measures_equal_the_metric_functions():
    rng = np.random.default_rng(2)
    wrong = {("clean", 0): rng.uniform(size=50) < 0.2}
    for name in CORRUPTIONS:
        for s in range(1, 6):
            wrong[(name, s)] = rng.uniform(size=50) < 0.3 + 0.1 * s
    run = _run("m", wrong, suite="imagenet-c")
    ms = {m.key: m for m in measures_for(run, ALEXNET)}
    per = {n: [run.mean((n, s)) for s in range(1, 6)] for n in CORRUPTIONS}
    clean = run.mean(("clean", 0))
    assert ms["mce"].point(run) == pytest.approx(metrics.mce(per), abs=1e-12)
    assert ms["relative_mce"].point(run) == pytest.approx(metrics.relative_mce(per, clean), abs=1e-12)
    assert ms["mean_error"].point(run) == pytest.approx(metrics.mce(per, baseline=None), abs=1e-12)
    other = {(n, s): {"error": 0.5 + 0.05 * s} for n in CORRUPTIONS for s in range(1, 6)}
    base = Baseline("other", "test", other, clean_error=0.3)
    table = {n: [0.5 + 0.05 * s for s in range(1, 6)] for n in CORRUPTIONS}
    ms = {m.key: m for m in measures_for(run, base)}
    assert ms["mce"].point(run) == pytest.approx(metrics.mce(per, baseline=table), abs=1e-12)
    assert ms["relative_mce"].point(run) == pytest.approx(
        metrics.relative_mce(per, clean, baseline=table, baseline_clean_error=0.3), abs=1e-12)


def test_paired_statistics_refused_when_images_differ(tmp_path):
    errors = {("clean", 0): 0.1, ("fog", 1): 0.2}
    a = load_run(write_results(tmp_path / "a.h5", c_suite_cells(errors, 100)), "A")
    b = load_run(write_results(tmp_path / "b.h5", c_suite_cells(errors, 80),
                               metadata={"subset": {"limit": 80}}), "B")
    reasons = compare.differences(a, b)
    assert any("subset" in r for r in reasons)
    assert any("number of images differs" in r and "100 vs 80" in r for r in reasons)
    analysis = analyse([a, b], n_boot=100)
    (cmp,) = analysis.suites[0].comparisons
    assert cmp.difference is None and "not scored on the same images" in cmp.sentence
    # different suites are never compared
    c = load_run(write_results(tmp_path / "c.h5", c_suite_cells(errors, 100), suite="cifar100-c"), "A")
    assert compare.differences(a, c) == ["the suite differs (A: cifar10-c vs A: cifar100-c)"]
    assert [len(s.comparisons) for s in analyse([a, c], n_boot=100).suites] == [0, 0]


def test_within_noise_sentence(tmp_path):
    rng = np.random.default_rng(5)
    cells = {("fog", 1): c_cell(0.3, 200, rng=rng, labels=np.zeros(200))}
    a = load_run(write_results(tmp_path / "a.h5", cells), "A")
    cells = {("fog", 1): c_cell(0.305, 200, rng=rng, labels=np.zeros(200))}
    b = load_run(write_results(tmp_path / "b.h5", cells), "B")
    (cmp,) = analyse([a, b], n_boot=300).suites[0].comparisons
    assert cmp.difference is not None and not cmp.difference.excludes_zero()
    assert "within noise" in cmp.sentence
