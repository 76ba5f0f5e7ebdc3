"""Corruption error (CE), mean CE (mCE) and relative mCE (Hendrycks & Dietterich, ICLR 2019, §3).

Fractions in, fractions out: an mCE of 0.767 is printed as "76.7". Every constant and every
input is keyed by corruption name.

For ImageNet-C corruption names, mCE averages exactly the 15 benchmark corruptions: the 4 extras
(speckle_noise, gaussian_blur, spatter, saturate) may be present and are ignored, and a missing
benchmark corruption is an error. For other suites (e.g. ImageNet-3DCC) every corruption given
enters the mean and the baseline must be a mapping (AlexNet constants exist for ImageNet-C only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from robustbench_dm.errors import UserError
from robustbench_dm.metrics.baselines import (
    ALEXNET_CLEAN_ERROR,
    ALEXNET_ERRORS,
    BENCHMARK_CORRUPTIONS,
    EXTRA_CORRUPTIONS,
)
from robustbench_dm.metrics.validation import (
    float_array,
    positive,
    require_names,
    severity_errors,
)

Errors = Mapping[str, Sequence[float]]
Baseline = str | Errors | None


def corruption_error(errors: Sequence[float], baseline_errors: Sequence[float]) -> float:
    """CE = sum over severities of the model's errors / the same sum for the baseline.

    A ratio of sums, not a mean of per-severity ratios.
    """
    model = float_array(errors, "errors", ndim=1, unit_interval=True)
    base = float_array(baseline_errors, "baseline_errors", ndim=1, unit_interval=True)
    if model.shape != base.shape:
        raise UserError(
            f"errors has {model.shape[0]} severities but baseline_errors has {base.shape[0]}"
        )
    return float(model.sum() / positive(base.sum(), "sum of baseline_errors"))


def mce(errors: Errors, baseline: Baseline = "alexnet") -> float:
    """Mean corruption error.

    ``errors`` maps corruption name -> 5 per-severity error fractions. ``baseline`` is
    ``"alexnet"`` (the published ImageNet-C table), a mapping of the same form (e.g. another
    model's results), or ``None`` for the unnormalised mean error over corruptions x severities
    (the CIFAR-C convention).
    """
    names = _mce_names(errors, baseline)
    model = {name: severity_errors(errors[name], f"errors[{name!r}]") for name in names}
    if baseline is None:
        return float(np.mean([model[name] for name in names]))
    base = _baseline_errors(baseline, names)
    return float(np.mean([corruption_error(model[name], base[name]) for name in names]))


def relative_mce(
    errors: Errors,
    clean_error: float,
    baseline: Baseline = "alexnet",
    baseline_clean_error: float | None = None,
) -> float:
    """Relative mCE: mean over corruptions of sum_s(E_cs - E_clean) / sum_s(B_cs - B_clean).

    With ``baseline="alexnet"`` the baseline clean error defaults to ``ALEXNET_CLEAN_ERROR``
    (torchvision's 0.43478); a mapping baseline needs ``baseline_clean_error``. Numerators may be
    negative and are not clipped.
    """
    if baseline is None:
        raise UserError("relative mCE needs a baseline: pass baseline='alexnet' or a mapping")
    if baseline_clean_error is None:
        if not isinstance(baseline, str):
            raise UserError("relative mCE with a baseline mapping needs baseline_clean_error")
        baseline_clean_error = ALEXNET_CLEAN_ERROR
    clean = float(float_array(clean_error, "clean_error", ndim=0, unit_interval=True))
    base_clean = float(
        float_array(baseline_clean_error, "baseline_clean_error", ndim=0, unit_interval=True)
    )
    names = _mce_names(errors, baseline)
    base = _baseline_errors(baseline, names)
    ratios = []
    for name in names:
        gap = severity_errors(errors[name], f"errors[{name!r}]") - clean
        base_gap = positive(
            float((base[name] - base_clean).sum()),
            f"baseline errors minus baseline clean error summed over severities for {name!r}",
        )
        ratios.append(gap.sum() / base_gap)
    return float(np.mean(ratios))


def _mce_names(errors: Errors, baseline: Baseline) -> tuple[str, ...]:
    """The corruptions that enter the mean, in a fixed order (see the module docstring)."""
    if isinstance(baseline, str) and baseline != "alexnet":
        raise UserError(f"baseline {baseline!r}: expected 'alexnet', None or a mapping")
    if not isinstance(errors, Mapping) or not errors:
        raise UserError(
            f"errors: expected a mapping corruption name -> 5 errors, got {type(errors).__name__}"
            + (" (empty)" if isinstance(errors, Mapping) else "")
        )
    imagenet_c = set(BENCHMARK_CORRUPTIONS) | set(EXTRA_CORRUPTIONS)
    if not imagenet_c.intersection(errors):
        if isinstance(baseline, str):
            raise UserError(
                f"baseline {baseline!r}: AlexNet constants cover ImageNet-C corruptions only, "
                f"got {', '.join(sorted(errors))}; pass a baseline mapping or baseline=None"
            )
        return tuple(errors)
    unknown = sorted(set(errors) - imagenet_c)
    if unknown:
        raise UserError(f"errors: unknown ImageNet-C corruption(s) {', '.join(unknown)}")
    require_names(errors, BENCHMARK_CORRUPTIONS, "errors (mCE needs all 15 benchmark corruptions)")
    return BENCHMARK_CORRUPTIONS


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
