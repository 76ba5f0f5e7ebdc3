"""Corruption error (CE), mean CE (mCE) and relative mCE (Hendrycks & Dietterich, ICLR 2019, §3).

Fractions in, fractions out: an mCE of 0.767 is printed as "76.7". Every constant and every
input is keyed by corruption name. Every function also takes per-severity errors with a leading
replicate axis (replicates x 5, e.g. bootstrap replicates) and then returns one value per
replicate, equal to the scalar function applied to each row.

For ImageNet-C corruption names, mCE averages exactly the 15 benchmark corruptions: the 4 extras
(speckle_noise, gaussian_blur, spatter, saturate) may be present and are ignored, and a missing
benchmark corruption is an error. For other suites (e.g. ImageNet-3DCC) every corruption given
enters the mean and the baseline must be a mapping (AlexNet constants exist for ImageNet-C only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from robustbench_dm.errors import UserError
from robustbench_dm.metrics.baselines import ALEXNET_CLEAN_ERROR, ALEXNET_ERRORS
from robustbench_dm.metrics.benchmark import (
    IMAGENET_C_CORRUPTIONS,
    is_imagenet_c,
    mce_names,
)
from robustbench_dm.metrics.validation import (
    float_array,
    mean_over_names,
    positive,
    require_names,
    severity_errors,
)

Errors = Mapping[str, Sequence[float]]
Baseline = str | Errors | None


def corruption_error(errors, baseline_errors: Sequence[float]) -> float | np.ndarray:
    """CE = sum over severities of the model's errors / the same sum for the baseline.

    A ratio of sums, not a mean of per-severity ratios. ``errors`` is (severities,) or
    (replicates, severities); the result is a float or one CE per replicate.
    """
    model = float_array(errors, "errors", ndim=1, unit_interval=True, replicates=True)
    base = float_array(baseline_errors, "baseline_errors", ndim=1, unit_interval=True)
    if model.shape[-1] != base.shape[0]:
        raise UserError(
            f"errors has {model.shape[-1]} severities but baseline_errors has {base.shape[0]}"
        )
    ce = model.sum(axis=-1) / positive(base.sum(), "sum of baseline_errors")
    return float(ce) if ce.ndim == 0 else ce


def relative_corruption_error(
    errors, clean_error, baseline_errors: Sequence[float], baseline_clean_error: float
) -> float | np.ndarray:
    """Relative CE = sum_s(E_s - E_clean) / sum_s(B_s - B_clean); the numerator may be negative.

    ``errors`` is (severities,) or (replicates, severities) with ``clean_error`` a float or one
    per replicate; the result is a float or one value per replicate.
    """
    model = severity_errors(errors, "errors", replicates=True)
    clean = float_array(clean_error, "clean_error", ndim=0, unit_interval=True, replicates=True)
    base = severity_errors(baseline_errors, "baseline_errors")
    base_clean = float(
        float_array(baseline_clean_error, "baseline_clean_error", ndim=0, unit_interval=True)
    )
    if clean.shape != model.shape[:-1]:
        raise UserError(
            f"clean_error: expected shape {model.shape[:-1]} (one per row of errors), "
            f"got {clean.shape}"
        )
    base_gap = positive(
        float((base - base_clean).sum()),
        "baseline errors minus baseline clean error summed over severities",
    )
    gap = (model - clean[..., None]).sum(axis=-1) / base_gap
    return float(gap) if gap.ndim == 0 else gap


def mce(errors: Errors, baseline: Baseline = "alexnet") -> float | np.ndarray:
    """Mean corruption error.

    ``errors`` maps corruption name -> 5 per-severity error fractions (or replicates x 5).
    ``baseline`` is ``"alexnet"`` (the published ImageNet-C table), a mapping of the same form
    (e.g. another model's results), or ``None`` for the unnormalised mean error over
    corruptions x severities (the CIFAR-C convention).
    """
    names = _mce_names(errors, baseline)
    model = _model_errors(errors, names)
    if baseline is None:
        mean = np.mean(np.stack([model[name] for name in names], axis=-2), axis=(-2, -1))
        return float(mean) if mean.ndim == 0 else mean
    base = _baseline_errors(baseline, names)
    return mean_over_names([corruption_error(model[name], base[name]) for name in names])


def relative_mce(
    errors: Errors,
    clean_error,
    baseline: Baseline = "alexnet",
    baseline_clean_error: float | None = None,
) -> float | np.ndarray:
    """Relative mCE: mean over corruptions of sum_s(E_cs - E_clean) / sum_s(B_cs - B_clean).

    With ``baseline="alexnet"`` the baseline clean error defaults to ``ALEXNET_CLEAN_ERROR``
    (torchvision's 0.43478); a mapping baseline needs ``baseline_clean_error``. Numerators may be
    negative and are not clipped. With replicates x 5 errors, ``clean_error`` holds one value
    per replicate.
    """
    if baseline is None:
        raise UserError("relative mCE needs a baseline: pass baseline='alexnet' or a mapping")
    if baseline_clean_error is None:
        if not isinstance(baseline, str):
            raise UserError("relative mCE with a baseline mapping needs baseline_clean_error")
        baseline_clean_error = ALEXNET_CLEAN_ERROR
    names = _mce_names(errors, baseline)
    model = _model_errors(errors, names)
    base = _baseline_errors(baseline, names)
    ratios = []
    for name in names:
        try:
            ratios.append(relative_corruption_error(model[name], clean_error, base[name],
                                                    baseline_clean_error))
        except UserError as err:
            raise UserError(f"{err} (corruption {name!r})", params=err.params) from None
    return mean_over_names(ratios)


def _mce_names(errors: Errors, baseline: Baseline) -> tuple[str, ...]:
    """The corruptions that enter the mean, in a fixed order (see the module docstring)."""
    if isinstance(baseline, str) and baseline != "alexnet":
        raise UserError(f"baseline {baseline!r}: expected 'alexnet', None or a mapping")
    if not isinstance(errors, Mapping) or not errors:
        raise UserError(
            f"errors: expected a mapping corruption name -> 5 errors, got {type(errors).__name__}"
            + (" (empty)" if isinstance(errors, Mapping) else "")
        )
    if not is_imagenet_c(errors):
        if isinstance(baseline, str):
            raise UserError(
                f"baseline {baseline!r}: AlexNet constants cover ImageNet-C corruptions only, "
                f"got {', '.join(sorted(errors))}; pass a baseline mapping or baseline=None"
            )
        return tuple(errors)
    unknown = sorted(set(errors) - IMAGENET_C_CORRUPTIONS)
    if unknown:
        raise UserError(f"errors: unknown ImageNet-C corruption(s) {', '.join(unknown)}")
    names = tuple(mce_names(errors))
    require_names(errors, names, "errors (mCE needs all 15 benchmark corruptions)")
    return names


def _model_errors(errors: Errors, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Per-severity model errors for ``names``, all of one shape (5, or replicates x 5)."""
    model = {name: severity_errors(errors[name], f"errors[{name!r}]", replicates=True)
             for name in names}
    shapes = {array.shape for array in model.values()}
    if len(shapes) > 1:
        raise UserError(f"errors: expected one shape for every corruption, got {sorted(shapes)}")
    return model


def _baseline_errors(baseline: Baseline, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Per-severity baseline errors for ``names``."""
    if isinstance(baseline, str):
        table: Mapping = ALEXNET_ERRORS
    elif isinstance(baseline, Mapping):
        table = baseline
    else:
        raise UserError(
            f"baseline: expected 'alexnet', None or a mapping, got {type(baseline).__name__}"
        )
    require_names(table, names, "baseline errors")
    return {name: severity_errors(table[name], f"baseline[{name!r}]") for name in names}
