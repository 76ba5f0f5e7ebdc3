"""CE, mCE and relative mCE: hand-computed values, published figures and bad input."""

import numpy as np
import pytest

from robustbench_dm.errors import UserError
from robustbench_dm.metrics import (
    ALEXNET_CLEAN_ERROR,
    ALEXNET_ERRORS,
    ALEXNET_MEAN_ERRORS,
    BENCHMARK_CORRUPTIONS,
    EXTRA_CORRUPTIONS,
    corruption_error,
    mce,
    relative_mce,
)

# RobustBench's own AlexNet measurement (5,000-image subset, Res224), mean error over the 5
# severities per corruption: METRICS.md §5.3 (RB model_info/imagenet/corruptions/*.csv).
RB_ALEXNET_IMAGENET_C = {
    "gaussian_noise": 0.8816, "shot_noise": 0.88832, "impulse_noise": 0.91724,
    "defocus_blur": 0.82204, "glass_blur": 0.8308, "motion_blur": 0.78724,
    "zoom_blur": 0.79572, "snow": 0.868, "frost": 0.83148, "fog": 0.82364,
    "brightness": 0.55848, "contrast": 0.85432, "elastic_transform": 0.64804,
    "pixelate": 0.71856, "jpeg_compression": 0.6068,
}
RB_ALEXNET_3DCC = {
    "near_focus": 0.61068, "far_focus": 0.65152, "bit_error": 0.68336, "color_quant": 0.5962,
    "flash": 0.80124, "fog_3d": 0.77356, "h265_abr": 0.5674, "h265_crf": 0.5252,
    "iso_noise": 0.93152, "low_light": 0.82248, "xy_motion_blur": 0.82484,
    "z_motion_blur": 0.79588,
}
# METRICS.md §3.3: mean_s E^AlexNet - 0.43478, derived from the published table.
RELATIVE_DENOMINATORS = {
    "gaussian_noise": 0.451648, "shot_noise": 0.459688, "impulse_noise": 0.487860,
    "defocus_blur": 0.385100, "glass_blur": 0.391488, "motion_blur": 0.351168,
    "zoom_blur": 0.363580, "snow": 0.432036, "frost": 0.391792, "fog": 0.384544,
    "brightness": 0.129812, "contrast": 0.418424, "elastic_transform": 0.211276,
    "pixelate": 0.283060, "jpeg_compression": 0.171720,
}


def _flat(means):
    """Per-severity rows that are constant at the given mean (a CE only needs the mean)."""
    return {name: [value] * 5 for name, value in means.items()}


def test_corruption_error_is_ratio_of_sums():
    errors = [0.1, 0.2, 0.3, 0.4, 0.5]
    baseline = [0.2, 0.4, 0.5, 0.8, 1.0]
    assert corruption_error(errors, baseline) == pytest.approx(1.5 / 2.9, abs=1e-15)
    mean_of_ratios = np.mean(np.divide(errors, baseline))
    assert abs(corruption_error(errors, baseline) - mean_of_ratios) > 1e-3


def test_mce_of_alexnet_is_one():
    assert mce(dict(ALEXNET_ERRORS)) == pytest.approx(1.0, abs=1e-15)
    assert mce(dict(ALEXNET_ERRORS), baseline=dict(ALEXNET_ERRORS)) == pytest.approx(1.0, abs=1e-15)


def test_mce_matches_augmix_compute_mce():
    """AugMix imagenet.py compute_mce: mean over the 15 of mean_s(error) / ALEXNET_ERR[c]."""
    rng = np.random.default_rng(1)
    errors = {name: rng.uniform(0.1, 0.9, 5) for name in BENCHMARK_CORRUPTIONS}
    expected = sum(errors[c].mean() / ALEXNET_MEAN_ERRORS[c] for c in BENCHMARK_CORRUPTIONS) / 15
    assert mce(errors) == pytest.approx(expected, rel=1e-12)


def test_mce_keys_by_name_not_position():
    rng = np.random.default_rng(2)
    errors = {name: rng.uniform(0.1, 0.9, 5) for name in BENCHMARK_CORRUPTIONS}
    shuffled = dict(reversed(list(errors.items())))
    assert mce(shuffled) == mce(errors)


def test_extras_never_enter_mce():
    base = {name: ALEXNET_ERRORS[name] for name in BENCHMARK_CORRUPTIONS}
    for value in (0.0, 1.0):
        extras = {name: [value] * 5 for name in EXTRA_CORRUPTIONS}
        assert mce({**base, **extras}) == pytest.approx(1.0, abs=1e-15)
        assert mce({**base, **extras}, baseline=None) == mce(base, baseline=None)
    # Unnormalised AlexNet mean over the 15 is 0.788993; over all 19 it would be 0.781219.
    assert mce(dict(ALEXNET_ERRORS), baseline=None) == pytest.approx(0.788993, abs=5e-7)


def test_unnormalised_mce_is_plain_mean_over_75_cells():
    rng = np.random.default_rng(3)
    errors = {name: rng.uniform(0, 1, 5) for name in BENCHMARK_CORRUPTIONS}
    assert mce(errors, baseline=None) == pytest.approx(
        np.mean([errors[n] for n in BENCHMARK_CORRUPTIONS]), rel=1e-14)


def test_missing_corruption_is_an_error():
    errors = dict(ALEXNET_ERRORS)
    del errors["fog"]
    with pytest.raises(UserError, match="fog"):
        mce(errors)
    with pytest.raises(UserError, match="fog"):
        mce(errors, baseline=None)
    with pytest.raises(UserError, match="fog"):
        relative_mce(errors, 0.2)


def test_missing_baseline_corruption_is_an_error():
    baseline = dict(ALEXNET_ERRORS)
    del baseline["pixelate"]
    with pytest.raises(UserError, match="pixelate"):
        mce(dict(ALEXNET_ERRORS), baseline=baseline)


def test_robustbench_alexnet_regression():
    """METRICS.md §9.3: RB's AlexNet rows give mCE 100 against themselves, IN-C accuracy 21.12
    (mean 0.211181) and 3DCC accuracy 28.47 (mean 0.28468)."""
    in_c = _flat(RB_ALEXNET_IMAGENET_C)
    assert mce(in_c, baseline=in_c) == pytest.approx(1.0)
    assert mce(_flat(RB_ALEXNET_3DCC), baseline=_flat(RB_ALEXNET_3DCC)) == pytest.approx(1.0)
    in_c_acc = 1 - mce(_flat(RB_ALEXNET_IMAGENET_C), baseline=None)
    assert in_c_acc == pytest.approx(0.211181, abs=5e-7)
    assert round(100 * in_c_acc, 2) == 21.12
    assert round(100 * (1 - mce(_flat(RB_ALEXNET_3DCC), baseline=None)), 2) == 28.47


def test_robustbench_mce_formula_equals_ours():
    """RB eval.py: mean_c mean_s[(1 - acc[c,s]) / mean_s'(1 - acc_AlexNet[c,s'])]."""
    rng = np.random.default_rng(4)
    acc = {name: rng.uniform(0.05, 0.8, 5) for name in RB_ALEXNET_IMAGENET_C}
    rb = np.mean([np.mean((1 - acc[c]) / RB_ALEXNET_IMAGENET_C[c]) for c in acc])
    ours = mce({c: 1 - a for c, a in acc.items()}, baseline=_flat(RB_ALEXNET_IMAGENET_C))
    assert ours == pytest.approx(rb, rel=1e-12)


def test_mce_on_3dcc_needs_mapping_baseline():
    errors = _flat(RB_ALEXNET_3DCC)
    with pytest.raises(UserError, match="ImageNet-C"):
        mce(errors)
    half = {name: [e / 2 for e in row] for name, row in errors.items()}
    assert mce(half, baseline=errors) == pytest.approx(0.5)


def test_unknown_corruption_name_is_an_error():
    errors = {**ALEXNET_ERRORS, "gaussian_noize": [0.5] * 5}
    with pytest.raises(UserError, match="gaussian_noize"):
        mce(errors)


def test_relative_mce_against_published_denominators():
    rng = np.random.default_rng(5)
    clean = 0.2385
    delta = {name: rng.uniform(-0.05, 0.6) for name in BENCHMARK_CORRUPTIONS}
    errors = {name: [clean + d] * 5 for name, d in delta.items()}
    expected = np.mean([delta[n] / RELATIVE_DENOMINATORS[n] for n in BENCHMARK_CORRUPTIONS])
    assert relative_mce(errors, clean) == pytest.approx(expected, abs=1e-5)


def test_relative_mce_hand_computed_with_mapping_baseline():
    errors = {"a": [0.3, 0.3, 0.4, 0.5, 0.5], "b": [0.1, 0.1, 0.1, 0.1, 0.1]}
    baseline = {"a": [0.5] * 5, "b": [0.4] * 5}
    # a: (2.0 - 5*0.1) / (2.5 - 5*0.3) = 1.5; b: (0.5 - 0.5) / (2.0 - 1.5) = 0.
    assert relative_mce(errors, 0.1, baseline, baseline_clean_error=0.3) == pytest.approx(0.75)


def test_relative_mce_numerator_not_clipped():
    errors = {name: [0.1] * 5 for name in BENCHMARK_CORRUPTIONS}
    assert relative_mce(errors, clean_error=0.2) < 0


def test_relative_mce_of_alexnet_is_one():
    assert relative_mce(dict(ALEXNET_ERRORS), ALEXNET_CLEAN_ERROR) == pytest.approx(1.0, abs=1e-14)


def test_relative_mce_needs_baseline_clean_error_for_mapping():
    with pytest.raises(UserError, match="baseline_clean_error"):
        relative_mce(dict(ALEXNET_ERRORS), 0.2, baseline=dict(ALEXNET_ERRORS))
    with pytest.raises(UserError, match="baseline"):
        relative_mce(dict(ALEXNET_ERRORS), 0.2, baseline=None)


@pytest.mark.parametrize(
    "row, match",
    [
        ([0.1, 0.2, 0.3, 0.4], "5 per-severity"),
        ([0.1, 0.2, float("nan"), 0.4, 0.5], "finite"),
        ([0.1, 0.2, 1.3, 0.4, 0.5], r"\[0, 1\]"),
        ("abc", "numbers"),
    ],
)
def test_bad_rows_name_the_corruption(row, match):
    errors = {**ALEXNET_ERRORS, "frost": row}
    with pytest.raises(UserError, match=match) as info:
        mce(errors)
    assert "frost" in str(info.value)


def test_bad_baseline_argument():
    with pytest.raises(UserError, match="alexnet"):
        mce(dict(ALEXNET_ERRORS), baseline="resnet")
    with pytest.raises(UserError, match="mapping"):
        mce([0.5] * 5)
    with pytest.raises(UserError, match="severities"):
        corruption_error([0.1, 0.2], [0.1, 0.2, 0.3])
    with pytest.raises(UserError, match="> 0"):
        corruption_error([0.1, 0.2], [0.0, 0.0])
