"""Recipe defaults (AUGMENTATIONS.md 1.6, 1.7, 8), the per-step schedule against AugMix's
``cifar.py`` formula, and method-option parsing."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from robustbench_dm.errors import UserError
from robustbench_dm.training import resolve_config
from robustbench_dm.training.schedule import cosine_schedule, lr_factor


def _resolve(arch="wrn40_2", dataset="cifar10", **kw):
    return resolve_config("dynmix", arch, dataset, "data", "out", device="cpu", **kw)


def test_cifar_recipe():
    c = _resolve()
    assert (c.lr, c.batch_size, c.weight_decay) == (0.1, 128, 5e-4)
    assert (c.momentum, c.nesterov) == (0.9, True)
    assert (c.epochs, c.warmup_epochs, c.final_lr) == (100, 0, 1e-6)
    assert (c.num_classes, c.normalization, c.scale) == (10, "cifar", "cifar")
    assert _resolve(dataset="cifar100").num_classes == 100
    assert _resolve("allconvnet").epochs == 100


@pytest.mark.parametrize("arch", ["densenet_bc_100_12", "densenet40_12"])
def test_densenet_uses_weight_decay_1e4_and_200_epochs(arch):
    c = _resolve(arch)
    assert (c.weight_decay, c.epochs) == (1e-4, 200)


def test_resnext_trains_200_epochs():
    assert _resolve("resnext29_32x4d").epochs == 200


def test_imagenet_lr_scales_linearly_with_batch_and_warms_up():
    c = _resolve("resnet50", "imagenet")
    assert (c.batch_size, c.lr, c.warmup_epochs, c.weight_decay) == (256, 0.1, 5, 1e-4)
    assert (c.num_classes, c.normalization, c.scale) == (1000, "imagenet", "imagenet")
    assert _resolve("resnet50", "imagenet", batch_size=1024).lr == pytest.approx(0.4)
    assert _resolve("resnet50", "imagenet", batch_size=1024, lr=0.3).lr == 0.3


def test_explicit_values_win_and_zero_weight_decay_is_kept():
    c = _resolve(epochs=3, batch_size=32, lr=0.02, weight_decay=0.0, seed=5, limit=100)
    assert (c.epochs, c.batch_size, c.lr) == (3, 32, 0.02)
    assert (c.weight_decay, c.seed, c.limit) == (0.0, 5, 100)


@pytest.mark.parametrize("kw, message", [
    (dict(dataset="mnist"), "unknown dataset 'mnist'"),
    (dict(epochs=0), "epochs must be positive"),
    (dict(batch_size=-1), "batch_size must be positive"),
    (dict(weight_decay=-1.0), "weight_decay must be >= 0"),
    (dict(limit=0), "limit must be positive"),
])
def test_bad_values_are_user_errors(kw, message):
    with pytest.raises(UserError, match=message):
        _resolve(**kw)


def test_unknown_device_is_a_user_error():
    with pytest.raises(UserError, match="unknown device 'tpu7'"):
        resolve_config("standard", "small_cnn", "cifar10", "d", "o", device="tpu7")


def _augmix_cosine(step, total_steps, lr_max, lr_min):
    """AugMix cifar.py ``get_lr`` (the LambdaLR multiplier), verbatim formula."""
    return lr_min + (lr_max - lr_min) * 0.5 * (1 + np.cos(step / total_steps * np.pi))


def test_schedule_matches_augmix_cosine_per_step():
    total = 50
    factor = lr_factor(total, 0, 1e-6 / 0.1)
    for step in range(total + 1):
        assert factor(step) == pytest.approx(_augmix_cosine(step, total, 1, 1e-6 / 0.1), abs=1e-12)
    model = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = cosine_schedule(opt, total, 0, 0.1, 1e-6)
    lrs = []
    for _ in range(total):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(0.1)
    assert lrs[25] == pytest.approx(1e-6 + (0.1 - 1e-6) * 0.5)
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-6)


def test_warmup_is_linear_then_cosine():
    factor = lr_factor(100, 10, 0.0)
    assert [factor(s) for s in (0, 4, 9)] == pytest.approx([0.1, 0.5, 1.0])
    assert factor(10) == pytest.approx(1.0)
    assert factor(55) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)))
    assert factor(100) == pytest.approx(0.0)
