"""The resolved training configuration and the paper's recipe defaults.

CIFAR-scale data (CIFAR-10/100, Fashion-MNIST; AugMix ``cifar.py``, AUGMENTATIONS.md 1.6 and
8): SGD momentum 0.9 with Nesterov, lr 0.1, cosine decay per step to 1e-6 without warm-up,
weight decay 5e-4 (1e-4 for DenseNets, and for Mixup and CutMix as their authors train them:
:data:`METHOD_WEIGHT_DECAY`), batch 128 clean images; 100 epochs (200 for DenseNet and ResNeXt,
as in the AugMix README).
ImageNet: batch 256, lr 0.1 per 256 images (scaled linearly with the batch size), 5 linear
warm-up epochs then the same per-step cosine, weight decay 1e-4, Nesterov momentum 0.9,
90 epochs. (The AugMix ``imagenet.py`` steps the lr down x0.1 at 1/3 and 2/3 of training; this
toolkit uses one schedule family for every dataset.)
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from robustbench_dm.devices import resolve_device
from robustbench_dm.errors import UserError
from robustbench_dm.models.sources import split_arch
from robustbench_dm.suites.families import FAMILIES

#: dataset -> (number of classes, method scale, model normalisation name); the class count and
#: the normalisation are the dataset family's (:data:`robustbench_dm.suites.families.FAMILIES`).
DATASETS: dict[str, tuple[int, str, str]] = {
    name: (FAMILIES[name].num_classes, scale, FAMILIES[name].normalization)
    for name, scale in (("cifar10", "cifar"), ("cifar100", "cifar"), ("fashion-mnist", "cifar"),
                        ("imagenet", "imagenet"))
}

FINAL_LR = 1e-6  # AugMix cifar.py: cosine from lr to 1e-6
_LONG_ARCHS = ("densenet", "resnext")  # AugMix README: 200 epochs

#: CIFAR-scale weight decay of the methods whose authors train with another one than AugMix's
#: 5e-4 (AUGMENTATIONS.md 3.1): Mixup 1e-4 (facebookresearch/mixup-cifar10 ``train.py``
#: ``--decay``; the rate of the Dynamic Mixup paper's Mixup rows), CutMix 1e-4
#: (clovaai/CutMix-PyTorch ``train.py`` ``--wd``). ImageNet uses 1e-4 for every method.
METHOD_WEIGHT_DECAY: dict[str, float] = {"mixup": 1e-4, "cutmix": 1e-4}

#: The hyper-parameters that make up a run's recipe (``TrainConfig.recipe``: what config.json,
#: the checkpoint and the report's provenance show as "trained with").
RECIPE_FIELDS = ("method", "method_options", "arch", "dataset", "epochs", "batch_size", "lr",
                 "weight_decay", "momentum", "nesterov", "warmup_epochs", "final_lr", "limit",
                 "amp")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on, resolved (no ``None`` left to a default)."""

    method: str
    arch: str
    dataset: str
    data_root: str
    out: str
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    momentum: float = 0.9
    nesterov: bool = True
    warmup_epochs: int = 0
    final_lr: float = FINAL_LR
    seed: int = 1
    device: str = "cpu"
    amp: bool = False
    channels_last: bool = False
    limit: int | None = None
    num_classes: int = 10
    normalization: str = "cifar"
    scale: str = "cifar"
    eval_batch_size: int = 1000
    workers: int = 4
    method_options: dict[str, Any] = field(default_factory=dict)

    def recipe(self) -> dict[str, Any]:
        """The effective training recipe: optimiser, schedule and every resolved
        hyper-parameter of :data:`RECIPE_FIELDS` (defaults filled in)."""
        fields = dataclasses.asdict(self)
        return {"optimizer": "SGD", "schedule": "cosine per step",
                **{k: fields[k] for k in RECIPE_FIELDS}}

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (what ``config.json`` and the checkpoint hold): the
        fields plus ``recipe`` (:meth:`recipe`)."""
        return {**dataclasses.asdict(self), "recipe": self.recipe()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


#: Fields that must match between a run and the run it resumes (the schedule, the data
#: order and the randomness depend on them); device, amp, channels_last, paths and workers
#: may change.
RESUME_FIELDS = ("method", "arch", "dataset", "epochs", "batch_size", "lr", "weight_decay",
                 "momentum", "nesterov", "warmup_epochs", "final_lr", "seed", "limit",
                 "num_classes", "normalization", "method_options")


def _positive(name: str, value: float | None) -> None:
    if value is not None and not value > 0:
        raise UserError(f"{name} must be positive, got {value}", params=(name,))


def resolve_config(method: str, arch: str, dataset: str, data_root: str, out: str, *,
                   epochs: int | None = None, batch_size: int | None = None,
                   lr: float | None = None, weight_decay: float | None = None,
                   seed: int = 1, device: str | None = None, amp: bool | None = None,
                   limit: int | None = None, workers: int = 4,
                   method_options: dict[str, Any] | None = None,
                   channels_last: bool | None = None) -> TrainConfig:
    """Fill the recipe defaults for ``dataset``/``arch`` into the user's choices.

    On ImageNet an explicit ``lr`` is used as given; the default is 0.1 x batch / 256. The
    default weight decay depends on the dataset, the architecture and the method (module
    docstring); an explicit ``weight_decay`` wins.
    ``amp`` (bfloat16 autocast) and ``channels_last`` default to on for CUDA devices and off
    on the CPU (the GPU fast path; CPU runs are unchanged).
    """
    if dataset not in DATASETS:
        raise UserError(f"unknown dataset {dataset!r}: expected one of {', '.join(DATASETS)}")
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("lr", lr),
                        ("limit", limit)):
        _positive(name, value)
    if weight_decay is not None and weight_decay < 0:
        raise UserError(f"weight_decay must be >= 0, got {weight_decay}", params=("weight_decay",))
    torch_device = resolve_device(device)
    if amp and torch_device.type != "cuda":
        raise UserError("amp=True needs a CUDA device (bfloat16 autocast); drop amp on the CPU",
                        params=("amp",))
    on_gpu = torch_device.type == "cuda"
    amp = on_gpu if amp is None else amp
    channels_last = on_gpu if channels_last is None else channels_last
    num_classes, scale, normalization = DATASETS[dataset]
    network = split_arch(arch)[1]  # densenet121 and torchvision:densenet121 share a recipe
    long_run = any(network.startswith(prefix) for prefix in _LONG_ARCHS)
    if dataset == "imagenet":
        batch_size = batch_size or 256
        defaults = dict(epochs=90, lr=0.1 * batch_size / 256, weight_decay=1e-4,
                        warmup_epochs=5)
    else:
        batch_size = batch_size or 128
        defaults = dict(epochs=200 if long_run else 100, lr=0.1,
                        weight_decay=1e-4 if network.startswith("densenet")
                        else METHOD_WEIGHT_DECAY.get(method, 5e-4),
                        warmup_epochs=0)
    return TrainConfig(
        method=method, arch=arch, dataset=dataset, data_root=str(data_root), out=str(out),
        epochs=int(epochs or defaults["epochs"]), batch_size=int(batch_size),
        lr=float(lr or defaults["lr"]),
        weight_decay=float(defaults["weight_decay"] if weight_decay is None else weight_decay),
        warmup_epochs=min(int(defaults["warmup_epochs"]), int(epochs or defaults["epochs"]) - 1),
        seed=int(seed), device=str(torch_device), amp=bool(amp),
        channels_last=bool(channels_last), limit=limit,
        num_classes=num_classes, normalization=normalization, scale=scale, workers=workers,
        method_options=dict(method_options or {}),
    )
