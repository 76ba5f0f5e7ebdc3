"""The shipped AlexNet constants against the published figures they come from."""

import pytest

from robustbench_dm.metrics import (
    ALEXNET_CLEAN_ERROR,
    ALEXNET_ERRORS,
    ALEXNET_MEAN_ERRORS,
    BENCHMARK_CORRUPTIONS,
    EXTRA_CORRUPTIONS,
)

# google-research/augmix imagenet.py ALEXNET_ERR, canonical order (quoted in the issue).
AUGMIX_ALEXNET_ERR = [
    0.886428, 0.894468, 0.922640, 0.819880, 0.826268, 0.785948, 0.798360, 0.866816,
    0.826572, 0.819324, 0.564592, 0.853204, 0.646056, 0.717840, 0.606500,
]


def test_averages_equal_augmix_alexnet_err():
    for name, expected in zip(BENCHMARK_CORRUPTIONS, AUGMIX_ALEXNET_ERR):
        assert ALEXNET_MEAN_ERRORS[name] == pytest.approx(expected, abs=5e-7), name


def test_table_shape_and_names():
    assert list(ALEXNET_ERRORS) == [*BENCHMARK_CORRUPTIONS, *EXTRA_CORRUPTIONS]
    assert all(len(row) == 5 for row in ALEXNET_ERRORS.values())
    assert all(0 < e < 1 for row in ALEXNET_ERRORS.values() for e in row)


def test_published_extra_averages_and_overall_means():
    # hendrycks/robustness README (Oct 2019) "average" column for the 4 extras; METRICS.md §5.1.
    extras = {"speckle_noise": 0.845388, "gaussian_blur": 0.787108, "spatter": 0.717512,
              "saturate": 0.658248}
    for name, expected in extras.items():
        assert ALEXNET_MEAN_ERRORS[name] == pytest.approx(expected, abs=5e-7)
    bench = [ALEXNET_MEAN_ERRORS[n] for n in BENCHMARK_CORRUPTIONS]
    assert sum(bench) / 15 == pytest.approx(0.788993, abs=5e-7)
    assert sum(ALEXNET_MEAN_ERRORS.values()) / 19 == pytest.approx(0.781219, abs=5e-7)


def test_non_monotonic_rows_kept_as_published():
    assert ALEXNET_ERRORS["snow"][1] > ALEXNET_ERRORS["snow"][2]
    assert ALEXNET_ERRORS["elastic_transform"][1] > ALEXNET_ERRORS["elastic_transform"][2]


def test_clean_error_is_torchvision_top1():
    assert ALEXNET_CLEAN_ERROR == pytest.approx(1 - 0.56522)


def test_constants_are_read_only():
    with pytest.raises(TypeError):
        ALEXNET_ERRORS["fog"] = (0.0,) * 5


def test_names_match_corruptions_package():
    import corruptions

    assert BENCHMARK_CORRUPTIONS == tuple(corruptions.CORRUPTIONS)
    assert EXTRA_CORRUPTIONS == tuple(corruptions.EXTRA)
