"""The benchmark definition has one source: names and groups are those of ``corruptions``, no
library module spells the list again, and the summary and the report apply the same rules
(which corruptions enter the mean, when AlexNet normalises, the calibration bin)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import corruptions
from reports.load import CellScores, ScoredRun
from reports.measures import ALEXNET, default_baseline, mean_set
from robustbench_dm import metrics
from robustbench_dm.scoring.summary import cell_calibration

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ("robustbench_dm", "reports", "corruptions", "cli", "bench")


def test_names_and_groups_are_the_corruptions_objects():
    assert metrics.BENCHMARK_CORRUPTIONS is corruptions.CORRUPTIONS
    assert metrics.EXTRA_CORRUPTIONS is corruptions.EXTRA
    assert metrics.CORRUPTION_GROUPS is corruptions.GROUPS
    assert list(metrics.CORRUPTION_GROUPS) == ["noise", "blur", "weather", "digital"]
    grouped = [n for names in metrics.CORRUPTION_GROUPS.values() for n in names]
    assert grouped == list(metrics.BENCHMARK_CORRUPTIONS)
    assert set(metrics.ALEXNET_ERRORS) == metrics.IMAGENET_C_CORRUPTIONS


def test_the_list_is_spelled_once_in_the_library():
    """The first names of the benchmark list, in order, appear in one library file only."""
    spelled = '"gaussian_noise", "shot_noise", "impulse_noise"'
    files = []
    for top in LIBRARY:
        path = ROOT / top
        for source in ([path] if path.is_file() else sorted(path.rglob("*.py"))):
            if spelled in source.read_text(encoding="utf-8"):
                files.append(source.relative_to(ROOT).as_posix())
    assert files == ["corruptions/__init__.py"]


def test_benchmark_and_mce_names():
    names = ["fog", "speckle_noise", "gaussian_noise"]
    assert metrics.benchmark_names(names) == ["fog", "gaussian_noise"]
    assert metrics.mce_names(names) == list(metrics.BENCHMARK_CORRUPTIONS)
    other = ["near_focus", "fog_3d"]
    assert metrics.benchmark_names(other) == other == metrics.mce_names(other)


def test_alexnet_applies_only_to_full_imagenet_c():
    full = {n: [1, 2, 3, 4, 5] for n in metrics.BENCHMARK_CORRUPTIONS}
    assert metrics.alexnet_applies("imagenet-c", full)
    assert not metrics.alexnet_applies("cifar10-c", full)
    assert not metrics.alexnet_applies("imagenet-c", {**full, "fog": [1, 2, 3, 4]})
    assert not metrics.alexnet_applies("imagenet-c", {n: full[n] for n in list(full)[1:]})


def _run(suite: str, names, levels=metrics.SEVERITIES) -> ScoredRun:
    run = ScoredRun(path=None, label="r", kind="c", suite=suite, num_classes=10, metadata={},
                    checkpoint={}, versions={}, seed=0)
    for name in names:
        for s in levels:
            run.cells[(name, s)] = CellScores(name, s, np.arange(4), np.zeros(4, np.int64),
                                              {"error": np.full(4, 0.5),
                                               "confidence": np.full(4, 0.5)})
    return run


def test_report_uses_the_same_rules():
    names = metrics.BENCHMARK_CORRUPTIONS + metrics.EXTRA_CORRUPTIONS
    assert mean_set(_run("imagenet-c", names)) == list(metrics.BENCHMARK_CORRUPTIONS)
    assert default_baseline(_run("imagenet-c", names)) is ALEXNET
    assert default_baseline(_run("imagenet-c", names, levels=(1, 2))) is None
    assert default_baseline(_run("cifar10-c", names)) is None


class _Cell:
    def __init__(self, n: int):
        self.n = n
        self.confidence = np.linspace(0.5, 1.0, n, dtype=np.float32)
        self.correct = np.arange(n) % 2 == 0


@pytest.mark.parametrize("n", [metrics.CALIBRATION_BIN - 1, metrics.CALIBRATION_BIN])
def test_calibration_bin_is_the_one_constant(n):
    got = cell_calibration(_Cell(n))
    if n < metrics.CALIBRATION_BIN:
        assert got is None
    else:
        cell = _Cell(n)
        assert got == metrics.rms_calibration_error(cell.confidence.astype(np.float64),
                                                    cell.correct, bin_size=100)
