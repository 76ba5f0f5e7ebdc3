"""RMS calibration error: hand values, the reference loop (with its skipped bin), torchmetrics."""

import numpy as np
import pytest
import torch

from robustbench_dm.errors import UserError
from robustbench_dm.metrics import rms_calibration_error, rms_calibration_error_equal_width


def loop_calib_err(confidence, correct, beta=100):
    """hendrycks/outlier-exposure calibration_tools.calib_err(p='2') as a plain loop: sort by
    confidence, bins of beta with the last one extended to N, and the loop over
    range(len(bins) - 1), i.e. the last bin skipped."""
    order = np.argsort(confidence)
    confidence, correct = confidence[order], correct[order]
    bins = [[i * beta, (i + 1) * beta] for i in range(len(confidence) // beta)]
    bins[-1] = [bins[-1][0], len(confidence)]
    total = 0.0
    for start, stop in bins[:-1]:
        gap = abs(np.nanmean(confidence[start:stop]) - np.nanmean(correct[start:stop]))
        total += (stop - start) / len(confidence) * gap**2
    return np.sqrt(total)


def loop_all_bins(confidence, correct, beta=100):
    """The definition: the same bins, every one counted."""
    order = np.argsort(confidence)
    confidence, correct = confidence[order], correct[order]
    n = len(confidence)
    starts = list(range(0, (n // beta) * beta, beta))
    stops = starts[1:] + [n]
    total = sum((b - a) / n * (confidence[a:b].mean() - correct[a:b].mean()) ** 2
                for a, b in zip(starts, stops))
    return np.sqrt(total)


def torchmetrics_l2(confidence, correct, n_bins=15):
    """torchmetrics _binning_bucketize + _ce_compute(norm='l2'), debias off."""
    conf = torch.as_tensor(confidence, dtype=torch.float64)
    acc = torch.as_tensor(correct, dtype=torch.float64)
    boundaries = torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)
    index = torch.bucketize(conf, boundaries, right=True) - 1
    count = torch.zeros(n_bins + 1, dtype=torch.float64)
    count.scatter_add_(0, index, torch.ones_like(conf))
    conf_bin = torch.nan_to_num(torch.zeros_like(count).scatter_add_(0, index, conf) / count)
    acc_bin = torch.nan_to_num(torch.zeros_like(count).scatter_add_(0, index, acc) / count)
    return float(torch.sqrt(torch.sum((acc_bin - conf_bin) ** 2 * count / count.sum())))


def _random(n, seed):
    rng = np.random.default_rng(seed)
    confidence = rng.uniform(0.05, 1.0, n)
    correct = (rng.uniform(0, 1, n) < confidence**1.5).astype(np.int64)
    return confidence, correct


def test_hand_values_two_bins():
    # sorted: 100 x conf 0.6 with 30 right (gap 0.3), then 100 x conf 0.9 with 80 right (gap 0.1)
    confidence = np.r_[np.full(100, 0.6), np.full(100, 0.9)]
    correct = np.r_[np.ones(30), np.zeros(70), np.ones(80), np.zeros(20)]
    assert rms_calibration_error(confidence, correct) == pytest.approx(np.sqrt(0.05), abs=1e-12)
    assert rms_calibration_error(confidence, correct, skip_last_bin=True) == pytest.approx(
        np.sqrt(0.045), abs=1e-12)


@pytest.mark.parametrize("n", [200, 1234, 10_000])
def test_skip_last_bin_matches_reference_loop(n):
    confidence, correct = _random(n, n)
    assert rms_calibration_error(confidence, correct, skip_last_bin=True) == pytest.approx(
        loop_calib_err(confidence, correct), rel=1e-12)


@pytest.mark.parametrize("n, bin_size", [(100, 100), (1234, 100), (10_000, 100), (999, 37)])
def test_default_counts_every_bin(n, bin_size):
    confidence, correct = _random(n, n + 1)
    assert rms_calibration_error(confidence, correct, bin_size=bin_size) == pytest.approx(
        loop_all_bins(confidence, correct, bin_size), rel=1e-12)


def test_skip_makes_a_difference():
    confidence, correct = _random(10_000, 5)
    full = rms_calibration_error(confidence, correct)
    skipped = rms_calibration_error(confidence, correct, skip_last_bin=True)
    assert full != skipped


@pytest.mark.parametrize("n", [100, 150, 199])
def test_one_bin_skipped_gives_zero(n):
    confidence, correct = _random(n, 2)
    assert rms_calibration_error(confidence, correct, skip_last_bin=True) == 0.0
    assert rms_calibration_error(confidence, correct) > 0.0


def test_fewer_than_bin_size_is_an_error():
    confidence, correct = _random(99, 3)
    with pytest.raises(UserError, match="at least 100 examples, got 99"):
        rms_calibration_error(confidence, correct)


def test_float32_bool_inputs():
    confidence, correct = _random(500, 4)
    single = confidence.astype(np.float32)
    assert rms_calibration_error(single, correct.astype(bool)) == pytest.approx(
        loop_all_bins(single.astype(np.float64), correct), rel=1e-12)


def test_equal_width_hand_value_with_confidence_one_in_own_bin():
    confidence = [0.05, 0.05, 0.95, 1.0]
    correct = [1, 0, 1, 1]
    # bin 0: conf .05 acc .5 (weight .5); bin 9: conf .95 acc 1 (.25); exact 1.0 alone: gap 0 (.25)
    expected = np.sqrt(0.5 * 0.45**2 + 0.25 * 0.05**2)
    assert rms_calibration_error_equal_width(confidence, correct, n_bins=10) == pytest.approx(
        expected, abs=1e-12)


@pytest.mark.parametrize("n_bins", [15, 10, 1])
def test_equal_width_matches_torchmetrics_algorithm(n_bins):
    confidence, correct = _random(3000, n_bins)
    confidence[:50] = 1.0
    assert rms_calibration_error_equal_width(confidence, correct, n_bins=n_bins) == pytest.approx(
        torchmetrics_l2(confidence, correct, n_bins), rel=1e-12)


@pytest.mark.parametrize(
    "confidence, correct, match",
    [
        ([0.5] * 100, [1] * 99, "one per confidence"),
        ([0.5] * 99 + [float("nan")], [1] * 100, "finite"),
        ([0.5] * 99 + [1.5], [1] * 100, r"\[0, 1\]"),
        ([0.5] * 100, [2] * 100, "0/1"),
    ],
)
def test_bad_inputs(confidence, correct, match):
    with pytest.raises(UserError, match=match):
        rms_calibration_error(confidence, correct)
    with pytest.raises(UserError, match=match):
        rms_calibration_error_equal_width(confidence, correct)


def test_bad_bin_arguments():
    with pytest.raises(UserError, match="bin_size"):
        rms_calibration_error([0.5] * 100, [1] * 100, bin_size=0)
    with pytest.raises(UserError, match="n_bins"):
        rms_calibration_error_equal_width([0.5] * 100, [1] * 100, n_bins=0)
