"""Scoring under torchrun with 2 gloo processes: each cell split across the ranks without
padding (odd image counts, a cell smaller than the world), gathered on rank 0, one results file
equal to a single-process run, and the command printing once."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from click.testing import CliRunner
from torch import nn

from cli import main
from formats import WNIDS, write_cifar_c, write_imagenet_c_folder, write_imagenet_folder
from robustbench_dm.distributed import split_range
from robustbench_dm.models import NORMALIZATIONS, Normalized, create_model, save_checkpoint
from robustbench_dm.scoring import score
from robustbench_dm.suites import get_suite
from scoring_fixtures import MemorySuite, PixelCodeNet, VideoSuite

REPO = Path(__file__).resolve().parents[1]
INFO = {"path": "/ckpt/a.pt", "sha256": "b" * 64, "num_classes": None}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _conv_net() -> nn.Module:
    """A small conv net for any image size (3 classes), initialised from seed 0."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
                        nn.Flatten(), nn.Linear(32, 3))
    return Normalized(net, *NORMALIZATIONS["imagenet"])


def _write_folders(root: Path) -> None:
    """The JPEG folders of the folder suite, written once before any rank starts (ranks
    writing them at the same time would read each other's half-written files)."""
    write_imagenet_c_folder(root / "in-c", ("gaussian_noise", "fog"), WNIDS, per_class=3,
                            severities=(1, 2), size=32)
    write_imagenet_folder(root / "in-val", WNIDS, per_class=3, size=(48, 40))


def _suites(root: Path) -> dict:
    """Suite name -> (suite, model): a folder suite (JPEG, 9 images a cell, clean cell
    resized), a -P suite of 5 videos and a 1-image suite (rank 1 scores nothing)."""
    folder = get_suite("imagenet-c", root / "in-c", corruptions="gaussian_noise,fog",
                       severities="1,2", clean_root=root / "in-val")
    rng = np.random.default_rng(0)
    video = VideoSuite("cifar10-p", {("gaussian_noise", 1): rng.integers(0, 10, (5, 4)),
                                     ("rotate", 1): rng.integers(0, 10, (5, 3))}, 10)
    tiny = MemorySuite("cifar10-c", np.array([3]), {("clean", 0): np.array([3]),
                                                     ("fog", 1): np.array([2])}, 10)
    return {"folder": (folder, _conv_net()), "video": (video, PixelCodeNet(10)),
            "tiny": (tiny, PixelCodeNet(10))}


def _score_all(root: Path, out: Path) -> None:
    for name, (suite, model) in _suites(root).items():
        score(model, suite, out_dir=out / name, batch_size=4, checkpoint_info=INFO, workers=1)


def _worker(rank: int, world: int, ports: list[int], root: str) -> None:
    torch.set_num_threads(1)
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(ports[0]))
    _score_all(Path(root), Path(root) / "ranked")


def _read(path: Path) -> dict:
    with h5py.File(path, "r") as f:
        arrays = {}
        f["cells"].visititems(lambda key, item: arrays.__setitem__(key, item[()])
                              if isinstance(item, h5py.Dataset) else None)
    return arrays


def _assert_same(single: Path, ranked: Path, exact: bool) -> None:
    a, b = _read(single / "results.h5"), _read(ranked / "results.h5")
    assert a.keys() == b.keys()
    for key, value in a.items():
        if exact or not key.endswith(("logits", "topk_prob")):
            np.testing.assert_array_equal(b[key], value, err_msg=key)
        else:
            np.testing.assert_allclose(b[key], value, rtol=1e-5, atol=1e-6, err_msg=key)
    assert json.loads((ranked / "summary.json").read_text()) == \
        json.loads((single / "summary.json").read_text())
    assert sorted(p.name for p in ranked.iterdir()) == ["results.h5", "summary.json"]


@pytest.mark.slow
def test_two_ranks_write_the_results_of_one_process(tmp_path):
    _write_folders(tmp_path)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _score_all(tmp_path, tmp_path / "single")
    finally:
        torch.set_num_threads(threads)
    mp.spawn(_worker, args=(2, [_free_port()], str(tmp_path)), nprocs=2, join=True)
    for name in ("folder", "video", "tiny"):
        _assert_same(tmp_path / "single" / name, tmp_path / "ranked" / name,
                     exact=name != "folder")
    with h5py.File(tmp_path / "ranked" / "folder" / "results.h5", "r") as f:
        assert list(f["cells"]) == ["clean", "gaussian_noise", "fog"]
        np.testing.assert_array_equal(f["cells/fog/2/index"][()], np.arange(9))  # 4 + 5


@pytest.mark.slow
def test_score_command_under_torchrun_prints_once_and_matches_one_process(tmp_path):
    n = 15  # odd: rank 0 scores 7 images of each cell, rank 1 scores 8
    c10 = write_cifar_c(tmp_path / "c", n, ("fog",))
    torch.manual_seed(0)
    model = create_model("small_cnn", 10, NORMALIZATIONS["cifar"])
    ckpt = save_checkpoint(tmp_path / "m.pt", arch="small_cnn", num_classes=10,
                           normalization=model.normalization, state_dict=model.net.state_dict())
    args = ["-m", "cli", "score", str(ckpt), "--suite", "cifar10-c", "--data-root", str(c10),
            "--corruptions", "fog", "--batch-size", "4"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    single = CliRunner().invoke(main, [*args[2:], "--out", str(tmp_path / "one")])
    assert single.exit_code == 0, single.output
    ranked = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
         "--master-port", str(_free_port()), *args, "--out", str(tmp_path / "two")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert ranked.returncode == 0, ranked.stderr
    assert ranked.stdout.count("wrote ") == 1 and ranked.stdout.count("fog") == 1
    assert ranked.stdout == single.stdout.replace(str(tmp_path / "one"), str(tmp_path / "two"))
    assert ranked.stderr.count("records no training dataset") == 1  # warned by rank 0 only
    _assert_same(tmp_path / "one", tmp_path / "two", exact=False)


@pytest.mark.parametrize("n,world", [(9, 2), (1, 2), (0, 3), (10, 3), (50000, 8)])
def test_split_range_shares_are_contiguous_even_and_unpadded(n, world):
    shares = [split_range(n, r, world) for r in range(world)]
    assert shares[0][0] == 0 and shares[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(shares, shares[1:]))
    sizes = [hi - lo for lo, hi in shares]
    assert max(sizes) - min(sizes) <= 1 and sum(sizes) == n
