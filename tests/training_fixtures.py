"""Tiny training fixtures written by the tests: Fashion-MNIST idx files, CIFAR pickles, an
ImageNet-style folder, and a minimal cross-entropy method that uses its generator."""

from __future__ import annotations

import pickle
from pathlib import Path
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from robustbench_dm.methods import LossOutput, Method


def _idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def _images(n: int, rng: np.random.Generator, size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """Noise plus a bright horizontal bar whose row encodes the label (learnable fast)."""
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    images = rng.integers(0, 60, size=(n, size, size), dtype=np.uint8)
    for i, label in enumerate(labels):
        row = 3 + 2 * label
        images[i, row:row + 2, 4:size - 4] = 230
    return images, labels


def write_fashion_mnist(root: Path, n_train: int = 256, n_test: int = 64, seed: int = 0) -> Path:
    """Fashion-MNIST idx files (uncompressed) under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images, labels = _images(n, rng)
        _idx(root / f"{prefix}-images-idx3-ubyte", images)
        _idx(root / f"{prefix}-labels-idx1-ubyte", labels)
    return root


def write_cifar10(root: Path, n_per_batch: int = 20, n_test: int = 20, seed: int = 0) -> Path:
    """A CIFAR-10 python-pickle release (5 train batches + test batch) under ``root``."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        n = n_test if name == "test_batch" else n_per_batch
        images, labels = _images(n, rng, size=32)
        data = np.repeat(images[:, None], 3, axis=1).reshape(n, 3072)
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": data, b"labels": labels.tolist()}, f)
    return root


def write_imagenet(root: Path, classes: int = 2, per_class: int = 3) -> Path:
    """``root/{train,val}/<wnid>/*.png`` with small random images of varied sizes."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for c in range(classes):
            folder = root / split / f"n{c:08d}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                h, w = 40 + 8 * i, 56 - 4 * i
                array = rng.integers(0, 255, size=(h, w, 3), dtype=np.uint8)
                Image.fromarray(array).save(folder / f"n{c:08d}_{i}.png")
    return root


class FlipCE(Method):
    """Cross-entropy on a random horizontal flip drawn from the method's generator."""

    name = "flip_ce"
    description = "random flip + cross-entropy (test method)"

    def loss(self, model, images, targets, generator):
        flip = torch.rand(len(images), generator=generator, device=images.device) < 0.5
        x = torch.where(flip[:, None, None, None], images.flip(-1), images)
        logits = model(x)
        return LossOutput(F.cross_entropy(logits, targets), logits, targets)


class CountingFlipCE(FlipCE):
    """FlipCE that counts its loss calls; subclasses act at (or from) call ``step`` (0-based)."""

    def __init__(self, step: int) -> None:
        super().__init__()
        self.step, self.calls = step, 0


def fmnist_fixture(n_train: int, n_test: int):
    """A module-scoped fixture: a Fashion-MNIST idx fixture of that many images."""

    @pytest.fixture(scope="module")
    def fmnist(tmp_path_factory):
        return write_fashion_mnist(tmp_path_factory.mktemp("fmnist"), n_train=n_train, n_test=n_test)

    return fmnist


def one_thread():
    """Generator for an autouse fixture: run torch on one thread (the shared 2-core machine
    is oversubscribed; small convs are several times faster single-threaded there)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def flip_ce_config(data_root, out, **overrides):
    """A 2-epoch ``flip_ce`` run of ``small_cnn`` (or ``arch=``) on a Fashion-MNIST fixture."""
    from robustbench_dm.training import resolve_config

    options = dict(epochs=2, batch_size=32, lr=0.05, seed=3, device="cpu")
    options.update(overrides)
    return resolve_config("flip_ce", options.pop("arch", "small_cnn"), "fashion-mnist",
                          str(data_root), str(out), **options)
