"""Clean sets: CIFAR python pickles, Fashion-MNIST idx files, ImageNet val folders."""

from __future__ import annotations

import gzip
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from formats import write_cifar_pickle, write_fashion_mnist_idx, write_imagenet_folder
from robustbench_dm.errors import UserError
from robustbench_dm.suites import ImageNetFolder, load_clean


def test_cifar_pickle_rows_are_channel_planes(tmp_path):
    # The release stores each row as 1024 red, 1024 green, 1024 blue values, row-major.
    data = np.zeros((2, 3072), np.uint8)
    data[0, :1024], data[0, 1024:2048], data[0, 2048:] = 10, 20, 30
    data[1, 33] = 200  # red plane, y = 1, x = 1
    write_cifar_pickle(tmp_path, images=data, labels=[3, 7])
    images, labels = load_clean("cifar10", tmp_path)
    assert images.shape == (2, 3, 32, 32) and images.dtype == torch.uint8
    assert images[0, :, 0, 0].tolist() == [10, 20, 30]
    assert images[1, 0, 1, 1] == 200 and labels.tolist() == [3, 7] and labels.dtype == torch.int64
    assert torch.equal(load_clean("cifar10", tmp_path / "cifar-10-batches-py")[0], images)


def test_cifar100_fine_labels(tmp_path):
    write_cifar_pickle(tmp_path, 3, labels=[0, 42, 99], dataset="cifar100")
    assert load_clean("cifar100", tmp_path)[1].tolist() == [0, 42, 99]


def test_cifar_pickle_that_runs_code_is_refused(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (folder / "test_batch").write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}))
    with pytest.raises(UserError, match="refusing to load builtins.print"):
        load_clean("cifar10", tmp_path)


def test_cifar_missing_and_bad(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_clean("cifar10", tmp_path / "nope")
    with pytest.raises(UserError, match="test_batch"):
        load_clean("cifar10", tmp_path)
    write_cifar_pickle(tmp_path, 2, labels=[1, 12])
    with pytest.raises(UserError, match="out of range"):
        load_clean("cifar10", tmp_path)
    with pytest.raises(UserError, match="unknown clean dataset"):
        load_clean("svhn", tmp_path)


@pytest.mark.parametrize("gz", [True, False])
def test_fashion_mnist_is_padded_to_32_and_made_rgb(tmp_path, gz):
    raw = np.random.default_rng(1).integers(1, 256, (4, 28, 28), dtype=np.uint8)
    write_fashion_mnist_idx(tmp_path, 4, labels=[9, 0, 3, 3], images=raw, gz=gz)
    images, labels = load_clean("fashion-mnist", tmp_path)
    assert images.shape == (4, 3, 32, 32) and labels.tolist() == [9, 0, 3, 3]
    assert torch.equal(images[:, 0, 2:30, 2:30], torch.from_numpy(raw))
    assert torch.equal(images[:, 0], images[:, 2]) and torch.equal(images[:, 1], images[:, 2])
    border = torch.ones(32, 32, dtype=torch.bool)
    border[2:30, 2:30] = False
    assert images[:, :, border].eq(0).all()


def test_fashion_mnist_torchvision_layout_and_defects(tmp_path):
    write_fashion_mnist_idx(tmp_path / "FashionMNIST" / "raw", 3)
    assert load_clean("fashion-mnist", tmp_path)[0].shape == (3, 3, 32, 32)
    path = tmp_path / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte.gz"
    with gzip.open(path, "rb") as f:
        raw = f.read()
    with gzip.open(path, "wb") as f:
        f.write(raw[:-10])
    with pytest.raises(UserError, match="truncated"):
        load_clean("fashion-mnist", tmp_path)
    write_fashion_mnist_idx(tmp_path / "other", 3, gz=False)
    (tmp_path / "other" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(UserError, match="t10k-labels-idx1-ubyte"):
        load_clean("fashion-mnist", tmp_path / "other")


def test_imagenet_folder_resize_256_center_crop_224(tmp_path):
    rng = np.random.default_rng(2)
    arrays = {}

    def pixels(wnid, file_id):
        arrays[(wnid, file_id)] = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
        return arrays[(wnid, file_id)]

    write_imagenet_folder(tmp_path, ["n2", "n1"], 2, ext="png", pixels=pixels)
    folder = ImageNetFolder(tmp_path)
    assert folder.classes == ["n1", "n2"] and len(folder) == 4
    images, labels, index = next(folder.iter_batches(4))
    assert images.shape == (4, 3, 224, 224) and index.tolist() == [0, 1, 2, 3]
    # (stem, wnid) order: ids interleave classes
    assert labels.tolist() == [1, 0, 1, 0]
    # reference: PIL Resize(256) (short side) + CenterCrop(224), as in torchvision's PIL path
    ref = Image.fromarray(arrays[("n2", 1)]).resize((341, 256), Image.BILINEAR)
    left, top = round((341 - 224) / 2.0), round((256 - 224) / 2.0)
    ref = np.asarray(ref.crop((left, top, left + 224, top + 224))).transpose(2, 0, 1)
    assert np.array_equal(images[0].numpy(), ref)
