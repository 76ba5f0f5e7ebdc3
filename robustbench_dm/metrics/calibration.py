"""RMS calibration error: Hendrycks' adaptive-bin form (the default) and the equal-width form.

Inputs: ``confidence`` = max softmax probability per example (in [0, 1]); ``correct`` = whether
the top-1 prediction was right (bool or 0/1). Fractions in, fractions out.
"""

from __future__ import annotations

import numpy as np

from robustbench_dm.errors import UserError
from robustbench_dm.metrics.validation import float_array


def rms_calibration_error(
    confidence, correct, *, bin_size: int = 100, skip_last_bin: bool = False
) -> float:
    """RMS calibration error with equal-mass bins (Hendrycks et al., arXiv:1812.04606).

    Examples are sorted by confidence (NumPy's default argsort, as the reference), cut into
    N // bin_size bins of ``bin_size`` consecutive examples with the last bin absorbing the
    remainder, and the result is sqrt(sum_b (n_b / N) * (mean confidence_b - accuracy_b)^2).

    By default every bin counts, which is the definition. ``skip_last_bin=True`` reproduces the
    widely copied reference ``calib_err`` (hendrycks/outlier-exposure ``calibration_tools.py``),
    whose loop omits the last, highest-confidence bin without redistributing its weight: use it
    only to compare with published numbers (it gives 0 for bin_size <= N < 2 * bin_size).
    """
    conf, hit = _inputs(confidence, correct)
    if not isinstance(bin_size, (int, np.integer)) or bin_size < 1:
        raise UserError(f"bin_size: expected a positive integer, got {bin_size!r}")
    n = conf.shape[0]
    if n < bin_size:
        raise UserError(
            f"confidence: RMS calibration error with bins of {bin_size} needs at least "
            f"{bin_size} examples, got {n}"
        )
    order = np.argsort(np.asarray(confidence))
    conf, hit = conf[order], hit[order]
    starts = np.arange(n // bin_size) * bin_size
    counts = np.diff(np.append(starts, n))
    gap = (np.add.reduceat(conf, starts) - np.add.reduceat(hit, starts)) / counts
    weight = counts / n
    if skip_last_bin:
        gap, weight = gap[:-1], weight[:-1]
    return float(np.sqrt(np.sum(weight * gap**2)))


def rms_calibration_error_equal_width(confidence, correct, *, n_bins: int = 15) -> float:
    """RMS calibration error with ``n_bins`` equal-width bins on [0, 1] (torchmetrics
    ``CalibrationError(norm="l2")``; not the AugMix/Hendrycks number).

    Bin b holds b/n_bins <= confidence < (b+1)/n_bins; as in torchmetrics' ``torch.bucketize(...,
    right=True)``, a confidence of exactly 1.0 forms a bin of its own. Every bin counts, weighted by
    its share of the examples.
    """
    conf, hit = _inputs(confidence, correct)
    if not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise UserError(f"n_bins: expected a positive integer, got {n_bins!r}")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.searchsorted(edges, conf, side="right") - 1
    counts = np.bincount(bins, minlength=n_bins + 1)
    filled = counts > 0
    mean_conf = np.bincount(bins, weights=conf, minlength=n_bins + 1)[filled] / counts[filled]
    accuracy = np.bincount(bins, weights=hit, minlength=n_bins + 1)[filled] / counts[filled]
    weight = counts[filled] / conf.shape[0]
    return float(np.sqrt(np.sum(weight * (accuracy - mean_conf) ** 2)))


def _inputs(confidence, correct) -> tuple[np.ndarray, np.ndarray]:
    conf = float_array(confidence, "confidence", ndim=1, unit_interval=True)
    hit = float_array(correct, "correct", ndim=1)
    if hit.shape != conf.shape:
        raise UserError(
            f"correct: expected {conf.shape[0]} values (one per confidence), got {hit.shape[0]}"
        )
    if not np.isin(hit, (0.0, 1.0)).all():
        raise UserError("correct: expected booleans or 0/1 values")
    return conf, hit
