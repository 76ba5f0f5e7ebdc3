"""The default weight decay per method (Mixup and CutMix 1e-4 as their authors train them, the
rest AugMix's 5e-4) and the effective recipe in config.json, the checkpoint and load_model."""

from __future__ import annotations

import json

import pytest
import torch

from robustbench_dm.models import load_model
from robustbench_dm.training import resolve_config, train
from training_fixtures import one_thread, write_fashion_mnist

_one_thread = pytest.fixture(autouse=True, scope="module")(one_thread)


def _resolve(method, arch="wrn40_2", dataset="cifar10", **kwargs):
    return resolve_config(method, arch, dataset, "data", "out", device="cpu", **kwargs)


@pytest.mark.parametrize("method, decay", [
    ("mixup", 1e-4), ("cutmix", 1e-4), ("standard", 5e-4), ("augmix", 5e-4), ("dynmix", 5e-4),
    ("autoaugment_star", 5e-4)])
def test_cifar_weight_decay_is_the_methods_own(method, decay):
    assert _resolve(method).weight_decay == decay
    assert _resolve(method, dataset="fashion-mnist", arch="small_cnn").weight_decay == decay


def test_densenet_imagenet_and_explicit_values_keep_their_rules():
    assert _resolve("dynmix", arch="densenet100_12").weight_decay == 1e-4
    assert _resolve("mixup", dataset="imagenet", arch="resnet50").weight_decay == 1e-4
    assert _resolve("mixup", weight_decay=5e-4).weight_decay == 5e-4


def test_the_effective_recipe_is_in_config_json_the_checkpoint_and_load_model(tmp_path):
    data = write_fashion_mnist(tmp_path / "data", n_train=32, n_test=16)
    config = resolve_config("mixup", "small_cnn", "fashion-mnist", str(data),
                            str(tmp_path / "run"), epochs=1, batch_size=16, device="cpu")
    train(config)
    recipe = json.loads((tmp_path / "run" / "config.json").read_text())["recipe"]
    assert recipe == {
        "optimizer": "SGD", "schedule": "cosine per step", "method": "mixup",
        "method_options": recipe["method_options"], "arch": "small_cnn",
        "dataset": "fashion-mnist", "epochs": 1, "batch_size": 16, "lr": 0.1,
        "weight_decay": 1e-4, "momentum": 0.9, "nesterov": True, "warmup_epochs": 0,
        "final_lr": 1e-6, "limit": None, "amp": False}
    assert recipe["method_options"]["alpha"] == 1.0  # resolved options, not only those given
    ckpt = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert ckpt["config"]["recipe"] == recipe
    _, info = load_model(tmp_path / "run" / "last.pt")
    assert info["recipe"] == recipe and info["seed"] == 1
