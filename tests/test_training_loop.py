"""The training loop: files written, checkpoint format, exact resume, clear errors."""

from __future__ import annotations

import csv
import json
import math

import pytest
import torch

from robustbench_dm.errors import UserError
from robustbench_dm.models import load_model
from robustbench_dm.training import resolve_config, train
from training_fixtures import CountingFlipCE, FlipCE, flip_ce_config, fmnist_fixture, one_thread, write_imagenet

_one_thread = pytest.fixture(autouse=True, scope="module")(one_thread)


fmnist = fmnist_fixture(n_train=96, n_test=32)
_config = flip_ce_config


class CrashAt(CountingFlipCE):
    """FlipCE that raises KeyboardInterrupt at its ``step``-th call (0-based)."""

    def loss(self, model, images, targets, generator):
        if self.calls == self.step:
            raise KeyboardInterrupt
        self.calls += 1
        return super().loss(model, images, targets, generator)


def test_run_writes_log_config_and_checkpoint(fmnist, tmp_path):
    rows = []
    result = train(_config(fmnist, tmp_path / "run"), method=FlipCE(), on_epoch=rows.append)
    out = tmp_path / "run"
    assert [r["epoch"] for r in rows] == [1, 2]
    with open(out / "log.csv", newline="") as f:
        log = list(csv.DictReader(f))
    assert list(log[0]) == ["epoch", "lr", "loss", "train_acc", "test_acc", "seconds",
                            "images_per_s"]
    assert [int(r["epoch"]) for r in log] == [1, 2]
    assert float(log[0]["lr"]) == pytest.approx(0.05)
    assert float(log[1]["lr"]) < 0.05  # cosine decayed over epoch 1
    assert all(0.0 <= float(r["test_acc"]) <= 1.0 and float(r["images_per_s"]) > 0 for r in log)
    config = json.loads((out / "config.json").read_text())
    assert config["arch"] == "small_cnn" and config["nesterov"] is True
    ckpt = torch.load(out / "last.pt", weights_only=True)
    assert ckpt["epoch"] == 2 and ckpt["dataset"] == "fashion-mnist"
    assert ckpt["normalization"] == {"mean": [0.5] * 3, "std": [0.5] * 3}
    assert ckpt["config"]["batch_size"] == 32
    model, info = load_model(out / "last.pt")
    assert info["arch"] == "small_cnn" and info["epoch"] == 2
    assert result["checkpoint"] == str(out / "last.pt")
    assert result["test_acc"] == pytest.approx(float(log[-1]["test_acc"]))


def test_resume_ends_with_the_weights_of_an_uninterrupted_run(fmnist, tmp_path):
    full = tmp_path / "full"
    train(_config(fmnist, full, epochs=3), method=FlipCE())
    parted = tmp_path / "parted"
    steps_per_epoch = 3  # 96 images / 32
    with pytest.raises(KeyboardInterrupt):
        train(_config(fmnist, parted, epochs=3), method=CrashAt(steps_per_epoch + 2))
    assert torch.load(parted / "last.pt", weights_only=True)["epoch"] == 1
    train(_config(fmnist, parted, epochs=3), method=FlipCE(), resume=True)
    a = torch.load(full / "last.pt", weights_only=True)
    b = torch.load(parted / "last.pt", weights_only=True)
    assert a["state_dict"].keys() == b["state_dict"].keys()
    for key in a["state_dict"]:
        assert torch.equal(a["state_dict"][key], b["state_dict"][key]), key
    for pa, pb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values()):
        assert torch.equal(pa["momentum_buffer"], pb["momentum_buffer"])
    assert a["scheduler"]["last_epoch"] == b["scheduler"]["last_epoch"] == 9
    with open(parted / "log.csv", newline="") as f:
        assert [int(r["epoch"]) for r in csv.DictReader(f)] == [1, 2, 3]


def test_no_resume_is_a_fresh_start_so_runs_differ_by_seed(fmnist, tmp_path):
    train(_config(fmnist, tmp_path / "a", epochs=1), method=FlipCE())
    train(_config(fmnist, tmp_path / "b", epochs=1, seed=4), method=FlipCE())
    a = torch.load(tmp_path / "a" / "last.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b" / "last.pt", weights_only=True)["state_dict"]
    assert not torch.equal(a["fc.weight"], b["fc.weight"])


def test_errors_are_user_errors_and_nothing_is_written(fmnist, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(UserError, match="no checkpoint"):
        train(_config(fmnist, out, epochs=1), method=FlipCE(), resume=True)
    with pytest.raises(UserError, match="idx"):
        train(_config(tmp_path / "empty_dir_missing", out), method=FlipCE())
    assert not out.exists()
    train(_config(fmnist, out, epochs=1), method=FlipCE())
    with pytest.raises(UserError, match="already holds a run"):
        train(_config(fmnist, out, epochs=1), method=FlipCE())
    with pytest.raises(UserError, match="architecture 'small_cnn'.*arch='resnet18_cifar'"):
        train(_config(fmnist, out, epochs=1, arch="resnet18_cifar"), method=FlipCE(),
              resume=True)
    with pytest.raises(UserError, match="batch_size"):
        train(_config(fmnist, out, epochs=1, batch_size=16), method=FlipCE(), resume=True)
    with pytest.raises(UserError, match="unknown architecture"):
        train(_config(fmnist, tmp_path / "other", arch="no_such_net"), method=FlipCE())


@pytest.mark.parametrize("method", ["standard", "mixup", "cutmix", "autoaugment_star",
                                    "random_autoaugment_star", "augmix", "dynmix"])
def test_every_built_in_method_trains_through_the_loop(fmnist, tmp_path, method):
    config = resolve_config(method, "small_cnn", "fashion-mnist", str(fmnist),
                            str(tmp_path / method), epochs=1, batch_size=16, limit=32,
                            device="cpu")
    row = train(config)
    assert row["epoch"] == 1 and 0.0 <= row["train_acc"] <= 1.0
    assert math.isfinite(row["loss"])
    ckpt = torch.load(tmp_path / method / "last.pt", weights_only=True)
    assert ckpt["method"] == method
    assert ckpt["method_options"] == ckpt["config"]["method_options"]  # resolved options


def test_imagenet_folder_run_with_the_imagenet_scale(tmp_path):
    root = write_imagenet(tmp_path / "in", classes=2, per_class=2)
    config = resolve_config("standard", "small_cnn", "imagenet", str(root), str(tmp_path / "r"),
                            epochs=1, batch_size=2, device="cpu", workers=0)
    row = train(config)
    ckpt = torch.load(tmp_path / "r" / "last.pt", weights_only=True)
    assert ckpt["num_classes"] == 1000 and ckpt["config"]["scale"] == "imagenet"
    assert ckpt["normalization"]["mean"] == pytest.approx([0.485, 0.456, 0.406])
    assert ckpt["metadata"]["steps_per_epoch"] == 2 and row["epoch"] == 1
