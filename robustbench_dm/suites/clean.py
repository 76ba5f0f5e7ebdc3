"""``load_clean``: the clean test (or train) sets the suites and trainers start from."""

from __future__ import annotations

from pathlib import Path

import torch

from robustbench_dm.errors import UserError
from robustbench_dm.suites.clean_cifar import load_cifar
from robustbench_dm.suites.clean_fmnist import load_fashion_mnist
from robustbench_dm.suites.families import FAMILIES

CLEAN_DATASETS = ("cifar10", "cifar100", "fashion-mnist")
NUM_CLASSES = {name: FAMILIES[name].num_classes for name in (*CLEAN_DATASETS, "imagenet")}


def load_clean(dataset: str, data_root: str | Path, split: str = "test") -> tuple[torch.Tensor, torch.Tensor]:
    """``(images uint8 N x 3 x H x W, labels int64)`` of a clean dataset held in memory.

    ``cifar10`` / ``cifar100``: the python pickle release; ``fashion-mnist``: idx files (gz or
    not), padded 28 -> 32 px with zeros and repeated to 3 channels. ImageNet is too large to
    hold in memory: stream it with ``robustbench_dm.suites.clean_imagenet.ImageNetFolder``.
    """
    if data_root is None:
        raise UserError(f"no data root given for {dataset}; expected the folder holding its files")
    if dataset in ("cifar10", "cifar100"):
        return load_cifar(dataset, data_root, split)
    if dataset == "fashion-mnist":
        return load_fashion_mnist(data_root, split)
    if dataset == "imagenet":
        raise UserError("ImageNet is streamed, not loaded: use ImageNetFolder(root) "
                        "(robustbench_dm.suites.clean_imagenet)")
    raise UserError(f"unknown clean dataset {dataset!r}; expected one of: {', '.join(CLEAN_DATASETS)}")
