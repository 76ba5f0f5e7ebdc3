"""The benchmark's definition, in one place: which corruptions there are and how they group,
which enter mean error and mCE, when the published AlexNet table normalises, and the
calibration bin size. The names come from :mod:`corruptions` (never copied here).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

import corruptions
from robustbench_dm.metrics.calibration import rms_calibration_error

# The 15 benchmark corruptions, canonical order (hendrycks/robustness ImageNet-C/test.py
# ``distortions``; augmix imagenet.py ``CORRUPTIONS``). Only these enter mCE.
BENCHMARK_CORRUPTIONS: tuple[str, ...] = corruptions.CORRUPTIONS
# The 4 extra ("validation") corruptions: reported, never part of mCE
# (hendrycks/robustness imagenet_c/__init__.py docstring, issue #36).
EXTRA_CORRUPTIONS: tuple[str, ...] = corruptions.EXTRA
IMAGENET_C_CORRUPTIONS: frozenset[str] = frozenset(BENCHMARK_CORRUPTIONS + EXTRA_CORRUPTIONS)
# noise, blur, weather, digital: the benchmark corruptions by kind.
CORRUPTION_GROUPS: Mapping[str, tuple[str, ...]] = corruptions.GROUPS
SEVERITIES: tuple[int, ...] = (1, 2, 3, 4, 5)
# Images per equal-mass bin of the RMS calibration error (Hendrycks ``calib_err``).
CALIBRATION_BIN = 100


def is_imagenet_c(names: Iterable[str]) -> bool:
    """Whether ``names`` are ImageNet-C corruption names (any one of the 19 suffices)."""
    return not IMAGENET_C_CORRUPTIONS.isdisjoint(names)


def benchmark_names(names: Iterable[str]) -> list[str]:
    """The corruptions of ``names`` that enter mean error and mCE, in the given order: the
    benchmark ones for ImageNet-C names (the 4 extras and any other name left out), every name
    otherwise (e.g. ImageNet-3DCC)."""
    names = list(names)
    if is_imagenet_c(names):
        return [name for name in names if name in BENCHMARK_CORRUPTIONS]
    return names


def mce_names(names: Iterable[str]) -> list[str]:
    """The corruptions mCE averages for ``names``: all 15 benchmark ones for ImageNet-C names
    (whether given or not), every name otherwise."""
    names = list(names)
    return list(BENCHMARK_CORRUPTIONS) if is_imagenet_c(names) else names


def alexnet_applies(suite: str, levels: Mapping[str, Iterable[int]]) -> bool:
    """Whether the published AlexNet table normalises CE / mCE by default: for ``imagenet-c``
    with every benchmark corruption scored at every severity (``levels``: name -> severities)."""
    return suite == "imagenet-c" and all(
        set(SEVERITIES) <= set(levels.get(name, ())) for name in BENCHMARK_CORRUPTIONS)


def cell_calibration(confidence, correct) -> float | None:
    """RMS calibration error of one cell (bins of :data:`CALIBRATION_BIN`, every bin counted),
    or ``None`` when the cell has fewer images than one bin."""
    confidence = np.asarray(confidence, dtype=np.float64)
    if confidence.shape[0] < CALIBRATION_BIN:
        return None
    return rms_calibration_error(confidence, correct, bin_size=CALIBRATION_BIN)
