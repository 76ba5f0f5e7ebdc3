"""Training and test data as uint8 batches on the training device.

CIFAR-10/100 and Fashion-MNIST come from ``robustbench_dm.suites.load_clean`` (the same
readers and the same 3-channel 32 px Fashion-MNIST transform the suites use), are held in
memory as uint8 tensors on the device and batched by indexing there, so data loading costs
nothing next to the model. ImageNet is streamed from ``<root>/train/<wnid>/`` (decode,
RandomResizedCrop 224 + horizontal flip) and ``<root>/val/<wnid>/`` (Resize 256 + CenterCrop
224) by DataLoader workers that return uint8 tensors. Augmentation itself is the method's
and runs batched on the device.

The epoch order is a permutation drawn from ``(seed, epoch)`` alone, so a resumed run sees
exactly the order an uninterrupted one would. Under ``torchrun`` (:func:`rank_order`) every
global batch of that order is cut into one contiguous piece per rank, so the ranks together
see exactly the single-process batches (a DistributedSampler-equivalent, without padding).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Protocol

import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from robustbench_dm.errors import UserError
from robustbench_dm.suites.clean import load_clean
from robustbench_dm.suites.clean_imagenet import ImageNetFolder
from robustbench_dm.suites.folders import decode
from robustbench_dm.training.config import TrainConfig

Batch = tuple[torch.Tensor, torch.Tensor]


class Split(Protocol):
    """A split that yields ``(uint8 N x 3 x H x W, int64 labels)`` batches on the device."""

    def __len__(self) -> int: ...

    def batches(self, batch_size: int, order: torch.Tensor | None = None,
                seed: int = 0) -> Iterator[Batch]: ...


def epoch_order(size: int, seed: int, epoch: int) -> torch.Tensor:
    """The shuffled image order of ``epoch`` (0-based): a function of ``(seed, epoch)`` only."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(size, generator=generator)


def epoch_images(size: int, batch_size: int, world_size: int = 1) -> int:
    """Images used per epoch: all of them, except that a last global batch smaller than the
    number of ranks is dropped (every rank must take part in every step)."""
    tail = size % batch_size
    return size - tail if 0 < tail < world_size else size


def steps_per_epoch(size: int, batch_size: int, world_size: int = 1) -> int:
    """Optimiser steps per epoch (``ceil(size / batch_size)`` in one process)."""
    return -(-epoch_images(size, batch_size, world_size) // batch_size)


def rank_order(order: torch.Tensor, batch_size: int, rank: int, world_size: int) -> torch.Tensor:
    """The part of an epoch ``order`` that ``rank`` trains on, as consecutive local batches of
    ``batch_size // world_size``: global batch k is ``order[k*B:(k+1)*B]`` and rank r takes its
    r-th contiguous piece (the last, smaller batch split as evenly as possible, see
    :func:`epoch_images`). ``batch_size`` must be a multiple of ``world_size``."""
    used = epoch_images(len(order), batch_size, world_size)
    pieces = []
    for start in range(0, used, batch_size):
        m = min(batch_size, used - start)
        pieces.append(order[start + m * rank // world_size:start + m * (rank + 1) // world_size])
    return torch.cat(pieces) if pieces else order[:0]


class TensorSplit:
    """A dataset held in memory as uint8 tensors on the device."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, device: torch.device):
        self.images = images.to(device)
        self.labels = labels.to(device)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def batches(self, batch_size: int, order: torch.Tensor | None = None,
                seed: int = 0) -> Iterator[Batch]:
        """Batches in ``order`` (indices; ``None`` = stored order). ``seed`` is unused: the
        in-memory splits do no random work of their own."""
        if order is None:
            for start in range(0, len(self), batch_size):
                yield (self.images[start:start + batch_size],
                       self.labels[start:start + batch_size])
            return
        order = order.to(self.labels.device)
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            yield self.images.index_select(0, index), self.labels.index_select(0, index)


class _FolderImages(Dataset):
    """``(uint8 3 x 224 x 224, label)`` per file; train: RandomResizedCrop 224 + flip, with
    the randomness seeded from ``(seed, index)`` so crops do not depend on the workers."""

    def __init__(self, folder: ImageNetFolder, train: bool):
        index = {wnid: i for i, wnid in enumerate(folder.classes)}
        self.items = [(path, index[wnid]) for _, wnid, path in folder.files]
        self.train = train
        self.seed = 0
        self.augment = v2.Compose([v2.RandomResizedCrop(224, antialias=True),
                                   v2.RandomHorizontalFlip()])

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        path, label = self.items[i]
        if not self.train:
            return decode(path, "augmix"), label
        image = decode(path, "none")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(hash((self.seed, i)) & 0x7FFF_FFFF_FFFF_FFFF)
            return self.augment(image), label


class FolderSplit:
    """An ImageNet class-folder split decoded to uint8 by DataLoader workers."""

    def __init__(self, folder: ImageNetFolder, train: bool, device: torch.device,
                 workers: int):
        self.dataset = _FolderImages(folder, train)
        self.device = device
        self.workers = workers

    def __len__(self) -> int:
        return len(self.dataset)

    def batches(self, batch_size: int, order: torch.Tensor | None = None,
                seed: int = 0) -> Iterator[Batch]:
        """Batches in ``order``; the crops are a function of ``(seed, image index)``."""
        self.dataset.seed = seed
        loader = DataLoader(
            self.dataset, batch_size=batch_size,
            sampler=order.tolist() if order is not None else None,
            num_workers=self.workers, pin_memory=self.device.type == "cuda")
        for images, labels in loader:
            yield (images.to(self.device, non_blocking=True),
                   labels.to(self.device, non_blocking=True))


def load_splits(config: TrainConfig) -> tuple[Split, Split]:
    """``(train, test)`` splits of ``config.dataset``; ``config.limit`` keeps the first
    ``limit`` training images. Wrong or missing files raise ``UserError``."""
    device = torch.device(config.device)
    root = Path(config.data_root)
    if config.dataset == "imagenet":
        for sub in ("train", "val"):
            if not (root / sub).is_dir():
                raise UserError(f"ImageNet data root {root} has no {sub}/ folder; expected "
                                f"{root}/train/<wnid>/*.JPEG and {root}/val/<wnid>/*.JPEG")
        train_folder = ImageNetFolder(root / "train", limit=config.limit)
        test_folder = ImageNetFolder(root / "val")
        if test_folder.classes != train_folder.classes:
            raise UserError(f"class folders of {root / 'val'} differ from {root / 'train'}")
        if len(train_folder.classes) > config.num_classes:
            raise UserError(f"{root / 'train'} holds {len(train_folder.classes)} class folders; "
                            f"expected at most {config.num_classes}")
        return (FolderSplit(train_folder, True, device, config.workers),
                FolderSplit(test_folder, False, device, config.workers))
    train_images, train_labels = load_clean(config.dataset, root, "train")
    test_images, test_labels = load_clean(config.dataset, root, "test")
    if config.limit is not None:
        train_images, train_labels = train_images[:config.limit], train_labels[:config.limit]
    return (TensorSplit(train_images, train_labels, device),
            TensorSplit(test_images, test_labels, device))
