"""Training data: uint8 on the device, --limit, the seeded epoch order, the ImageNet folder
pipeline, and clear errors for a dataset folder in the wrong format."""

from __future__ import annotations

import pytest
import torch

from robustbench_dm.errors import UserError
from robustbench_dm.suites.clean import load_clean
from robustbench_dm.training import resolve_config
from robustbench_dm.training.data import epoch_order, load_splits
from training_fixtures import write_cifar10, write_fashion_mnist, write_imagenet


def _config(dataset, root, **kw):
    return resolve_config("standard", "small_cnn", dataset, str(root), "out", device="cpu", **kw)


def test_epoch_order_depends_on_seed_and_epoch_only():
    a = epoch_order(100, seed=1, epoch=3)
    assert torch.equal(a, epoch_order(100, seed=1, epoch=3))
    assert torch.equal(a.sort().values, torch.arange(100))
    assert not torch.equal(a, epoch_order(100, seed=1, epoch=4))
    assert not torch.equal(a, epoch_order(100, seed=2, epoch=3))


def test_fashion_mnist_is_the_suites_transform_and_limit_keeps_the_first_images(tmp_path):
    root = write_fashion_mnist(tmp_path / "f", n_train=50, n_test=20)
    train, test = load_splits(_config("fashion-mnist", root, limit=30))
    reference, labels = load_clean("fashion-mnist", root, "train")
    assert len(train) == 30 and len(test) == 20
    assert train.images.dtype == torch.uint8 and train.images.shape == (30, 3, 32, 32)
    assert torch.equal(train.images, reference[:30]) and torch.equal(train.labels, labels[:30])
    order = epoch_order(30, 1, 0)
    images, targets = next(train.batches(8, order))
    assert torch.equal(images, reference[order[:8]]) and torch.equal(targets, labels[order[:8]])
    sizes = [len(y) for _, y in train.batches(8, order)]
    assert sizes == [8, 8, 8, 6]


def test_cifar10_pickles(tmp_path):
    root = write_cifar10(tmp_path / "c", n_per_batch=6, n_test=4)
    train, test = load_splits(_config("cifar10", root))
    assert (len(train), len(test)) == (30, 4)
    assert train.labels.dtype == torch.int64


def test_wrong_format_folders_are_user_errors(tmp_path):
    fmnist = write_fashion_mnist(tmp_path / "f", n_train=10, n_test=10)
    with pytest.raises(UserError, match="cifar-10-batches-py"):
        load_splits(_config("cifar10", fmnist))
    with pytest.raises(UserError, match="train/ folder"):
        load_splits(_config("imagenet", fmnist))


def test_imagenet_folder_random_resized_crop_and_center_crop(tmp_path):
    root = write_imagenet(tmp_path / "in", classes=2, per_class=3)
    train, test = load_splits(_config("imagenet", root, workers=0))
    assert (len(train), len(test)) == (6, 6)
    images, labels = next(train.batches(4, epoch_order(6, 1, 0), seed=1))
    assert images.dtype == torch.uint8 and images.shape == (4, 3, 224, 224)
    again, _ = next(train.batches(4, epoch_order(6, 1, 0), seed=1))
    assert torch.equal(images, again)  # crops are a function of (seed, image)
    other, _ = next(train.batches(4, epoch_order(6, 1, 0), seed=2))
    assert not torch.equal(images, other)
    train.workers = 2
    in_workers, _ = next(train.batches(4, epoch_order(6, 1, 0), seed=1))
    assert torch.equal(images, in_workers)
    images, labels = next(test.batches(6))
    assert images.shape == (6, 3, 224, 224) and sorted(labels.tolist()) == [0, 0, 0, 1, 1, 1]
