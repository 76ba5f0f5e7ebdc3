"""Corruption-robustness metrics: pure NumPy functions, fractions in and fractions out.

- ``corruption_error``: CE, mCE, relative mCE (ImageNet-C; CIFAR-C with ``baseline=None``);
- ``perturbation``: flip probability, top-5 distance, mFR, mT5D (ImageNet-P, CIFAR-P);
- ``calibration``: RMS calibration error (adaptive bins; equal-width variant);
- ``baselines``: the published AlexNet ImageNet-C constants, keyed by corruption name;
- ``benchmark``: the benchmark's definition (corruption names and groups from ``corruptions``,
  which enter mCE, when AlexNet normalises, the calibration bin).

The metric functions also take a leading replicate axis (e.g. bootstrap replicates) and then
return one value per replicate.
"""

from robustbench_dm.metrics.baselines import (
    ALEXNET_CLEAN_ERROR,
    ALEXNET_ERRORS,
    ALEXNET_MEAN_ERRORS,
    list_baselines,
)
from robustbench_dm.metrics.benchmark import (
    BENCHMARK_CORRUPTIONS,
    CALIBRATION_BIN,
    CORRUPTION_GROUPS,
    EXTRA_CORRUPTIONS,
    IMAGENET_C_CORRUPTIONS,
    SEVERITIES,
    alexnet_applies,
    benchmark_names,
    cell_calibration,
    is_imagenet_c,
    mce_names,
)
from robustbench_dm.metrics.calibration import (
    rms_calibration_error,
    rms_calibration_error_equal_width,
)
from robustbench_dm.metrics.corruption_error import (
    corruption_error,
    mce,
    relative_corruption_error,
    relative_mce,
)
from robustbench_dm.metrics.perturbation import (
    flip_probability,
    flip_probability_per_video,
    is_noise_perturbation,
    mfr,
    mt5d,
    top5_distance,
    top5_distance_from_topk,
    top5_distance_from_topk_per_video,
    top5_distance_per_video,
)
from robustbench_dm.metrics.ranking import top5_classes

__all__ = [
    "ALEXNET_CLEAN_ERROR",
    "ALEXNET_ERRORS",
    "ALEXNET_MEAN_ERRORS",
    "BENCHMARK_CORRUPTIONS",
    "CALIBRATION_BIN",
    "CORRUPTION_GROUPS",
    "EXTRA_CORRUPTIONS",
    "IMAGENET_C_CORRUPTIONS",
    "SEVERITIES",
    "alexnet_applies",
    "benchmark_names",
    "cell_calibration",
    "corruption_error",
    "flip_probability",
    "flip_probability_per_video",
    "is_imagenet_c",
    "is_noise_perturbation",
    "list_baselines",
    "mce",
    "mce_names",
    "mfr",
    "mt5d",
    "relative_corruption_error",
    "relative_mce",
    "rms_calibration_error",
    "rms_calibration_error_equal_width",
    "top5_classes",
    "top5_distance",
    "top5_distance_from_topk",
    "top5_distance_from_topk_per_video",
    "top5_distance_per_video",
]
