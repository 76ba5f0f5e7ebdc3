"""DDP training with 2 gloo processes: the same loss curve and weights as one process with the
same global batch, one checkpoint written by rank 0, and an exact resume under DDP.

The equality needs a model without BatchNorm: on the CPU each rank normalises with its own
half-batch's statistics (SyncBatchNorm is CUDA-only), so a BN model would differ by design.
The method is a deterministic cross-entropy: random augmentations draw per-rank streams.
"""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F
from torch import nn

from robustbench_dm.methods import LossOutput, Method
from robustbench_dm.models import register_model
from robustbench_dm.training import resolve_config, train
from robustbench_dm.training.data import epoch_images, epoch_order, rank_order, steps_per_epoch
from training_fixtures import write_fashion_mnist

REPO = Path(__file__).resolve().parents[1]
N_TRAIN, BATCH, EPOCHS = 72, 16, 2  # 4 full batches + a last batch of 8 per epoch


@register_model("tiny_conv_nobn", "two strided convs, no BatchNorm (DDP equality tests)")
def tiny_conv_nobn(num_classes: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(), nn.Conv2d(8, 16, 3, stride=2),
                         nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(16, num_classes))


class PlainCE(Method):
    """Cross-entropy on the images as given (no randomness)."""

    name = "plain_ce"
    description = "cross-entropy, no augmentation (test method)"

    def loss(self, model, images, targets, generator):
        logits = model(images.float() / 255)
        return LossOutput(F.cross_entropy(logits, targets), logits, targets)


class CrashAt(PlainCE):
    """PlainCE raising KeyboardInterrupt at its ``step``-th call, on every rank alike."""

    def __init__(self, step: int):
        super().__init__()
        self.step, self.calls = step, 0

    def loss(self, model, images, targets, generator):
        if self.calls == self.step:
            raise KeyboardInterrupt
        self.calls += 1
        return super().loss(model, images, targets, generator)


def _config(data_root: Path, out: Path):
    return resolve_config("plain_ce", "tiny_conv_nobn", "fashion-mnist", str(data_root),
                          str(out), epochs=EPOCHS, batch_size=BATCH, lr=0.05, seed=5,
                          device="cpu")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, ports: list[int], data_root: str, tmp: str) -> None:
    """One torchrun-like rank: the env variables torchrun sets, then three runs (full,
    interrupted in epoch 2, resumed), each joining a fresh process group through ``train``."""
    torch.set_num_threads(1)
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world),
                      MASTER_ADDR="127.0.0.1")
    steps = steps_per_epoch(N_TRAIN, BATCH, world)
    runs = [("ddp", PlainCE(), False), ("parted", CrashAt(steps + 2), False),
            ("parted", PlainCE(), True)]
    for port, (name, method, resume) in zip(ports, runs):
        os.environ["MASTER_PORT"] = str(port)
        try:
            train(_config(Path(data_root), Path(tmp) / name), method=method, resume=resume)
        except KeyboardInterrupt:
            assert name == "parted" and not resume


def _log(out: Path) -> list[dict]:
    with open(out / "log.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_two_gloo_ranks_match_one_process_and_resume_exactly(tmp_path):
    data = write_fashion_mnist(tmp_path / "fmnist", n_train=N_TRAIN, n_test=20)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(_config(data, tmp_path / "single"), method=PlainCE())
    finally:
        torch.set_num_threads(threads)
    mp.spawn(_worker, args=(2, [_free_port() for _ in range(3)], str(data), str(tmp_path)),
             nprocs=2, join=True)

    single, ddp = _log(tmp_path / "single"), _log(tmp_path / "ddp")
    assert [r["epoch"] for r in ddp] == ["1", "2"]  # one log, one row per epoch (rank 0 only)
    for a, b in zip(single, ddp):
        assert float(b["loss"]) == pytest.approx(float(a["loss"]), rel=1e-5)
        assert float(b["train_acc"]) == pytest.approx(float(a["train_acc"]), abs=1e-12)
        assert float(b["test_acc"]) == pytest.approx(float(a["test_acc"]), abs=1e-12)
        assert float(b["lr"]) == pytest.approx(float(a["lr"]), rel=1e-12)
    assert sorted(p.name for p in (tmp_path / "ddp").iterdir()) == ["config.json", "last.pt",
                                                                     "log.csv"]
    a = torch.load(tmp_path / "single" / "last.pt", weights_only=True)
    b = torch.load(tmp_path / "ddp" / "last.pt", weights_only=True)
    assert b["epoch"] == EPOCHS and b["metadata"]["world_size"] == 2
    assert len(b["metadata"]["rng_ranks"]) == 2
    assert b["metadata"]["steps_per_epoch"] == a["metadata"]["steps_per_epoch"] == 5
    for key, value in a["state_dict"].items():
        torch.testing.assert_close(b["state_dict"][key], value, rtol=1e-5, atol=1e-6)

    # interrupted in epoch 2 and resumed under DDP: the weights of the uninterrupted DDP run
    c = torch.load(tmp_path / "parted" / "last.pt", weights_only=True)
    assert c["epoch"] == EPOCHS
    for key, value in b["state_dict"].items():
        assert torch.equal(c["state_dict"][key], value), key
    assert [r["loss"] for r in _log(tmp_path / "parted")] == [r["loss"] for r in ddp]


@pytest.mark.slow
def test_train_command_under_torchrun_prints_once_and_writes_one_checkpoint(tmp_path):
    data = write_fashion_mnist(tmp_path / "fmnist", n_train=40, n_test=10)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
               "--master-port", str(_free_port()), "-m", "cli", "train", "--method", "standard",
               "--arch", "small_cnn", "--dataset", "fashion-mnist", "--data-root", str(data),
               "--out", str(tmp_path / "run"), "--epochs", "1", "--batch-size", "16",
               "--device", "cpu"]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=180)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and lines[0] == "device: cpu" and lines[1].startswith("epoch 1/1")
    assert lines[2] == f"checkpoint: {tmp_path / 'run' / 'last.pt'}"
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["config.json", "last.pt",
                                                                     "log.csv"]
    ckpt = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert ckpt["metadata"]["world_size"] == 2 and ckpt["metadata"]["steps_per_epoch"] == 3


@pytest.mark.parametrize("n,batch,world", [(72, 16, 2), (70, 16, 2), (65, 16, 2), (10, 8, 4),
                                           (9, 8, 4), (64, 16, 4), (7, 4, 1)])
def test_rank_orders_cut_every_global_batch_into_contiguous_pieces(n, batch, world):
    order = epoch_order(n, seed=3, epoch=1)
    local = batch // world
    parts = [rank_order(order, batch, r, world) for r in range(world)]
    used = epoch_images(n, batch, world)
    assert sum(len(p) for p in parts) == used
    # every rank takes the same number of steps, and step k of all ranks is global batch k
    steps = steps_per_epoch(n, batch, world)
    for k in range(steps):
        pieces = [p[k * local:(k + 1) * local] for p in parts]
        assert all(len(piece) for piece in pieces)
        assert torch.equal(torch.cat(pieces), order[k * batch:min((k + 1) * batch, used)])
    assert all(len(p) <= steps * local for p in parts)
    assert used == (n if n % batch == 0 or n % batch >= world else n - n % batch)
