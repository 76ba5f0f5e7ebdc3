"""The demo end to end on a tiny Fashion-MNIST-format fixture, its data lookup and resume."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from formats import write_fashion_mnist_idx

from robustbench_dm.demo import find_fashion_mnist
from robustbench_dm.errors import UserError

CLI = [sys.executable, "-m", "cli"]
ROOT = Path(__file__).resolve().parents[1]


def _fixture(root: Path) -> Path:
    """Learnable 28 px images: class k is a bright square at one of 10 positions."""
    rng = np.random.default_rng(0)
    for split, n in (("train", 120), ("test", 40)):
        labels = np.arange(n) % 10
        images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        for i, k in enumerate(labels):
            r, c = divmod(int(k), 5)
            images[i, 4 + 10 * r:12 + 10 * r, 1 + 5 * c:6 + 5 * c] = 230
        write_fashion_mnist_idx(root, n, labels.tolist(), images=images, split=split)
    return root


def test_find_fashion_mnist_explicit_root_and_clear_error(tmp_path):
    root = _fixture(tmp_path / "fm")
    assert find_fashion_mnist(root) == root
    with pytest.raises(UserError, match="Fashion-MNIST idx files"):
        find_fashion_mnist(tmp_path / "missing")


@pytest.mark.slow
def test_demo_quick_runs_end_to_end_and_resumes(tmp_path):
    root = _fixture(tmp_path / "fm")
    out = tmp_path / "demo"
    cmd = CLI + ["demo", "--data-root", str(root), "--out", str(out), "--quick",
                 "--epochs", "1", "--limit", "16", "--p-limit", "4"]
    first = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    assert "training small_cnn with standard" in first.stdout
    assert "training small_cnn with dynmix" in first.stdout
    for label in ("standard", "dynmix"):
        assert (out / "runs" / label / "last.pt").is_file()
        summary = json.loads((out / "scores" / label / "fmnist-c" / "summary.json").read_text())
        assert set(summary["corruptions"]) >= {"gaussian_noise", "jpeg_compression"}
        assert 0.0 <= summary["mean_error"] <= 1.0
        p = json.loads((out / "scores" / label / "fmnist-p" / "summary.json").read_text())
        assert 0.0 <= p["mfp"] <= 1.0
    html = (out / "report" / "report.html").read_text()
    assert "standard" in html and "dynmix" in html
    # A second run reuses the finished checkpoints and results.
    second = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr
    assert "training already finished" in second.stdout
    assert "training small_cnn with" not in second.stdout


def test_demo_without_data_is_one_clear_error(tmp_path):
    result = subprocess.run(CLI + ["demo", "--data-root", str(tmp_path / "nope"),
                                   "--out", str(tmp_path / "o")],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "Fashion-MNIST idx files" in result.stderr
    assert not (tmp_path / "o").exists()
