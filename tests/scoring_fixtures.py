"""Fixtures for the scoring tests: a model whose prediction is written into the image, and tiny
in-memory suites implementing the Suite interface, so every cell's exact error is known.

``PixelCodeNet`` predicts class ``p0 + 256 * p1`` where p0, p1 are the uint8 values of the
top-left pixel in channels 0 and 1 (recovered from the [0, 1] input). ``encode(classes)`` makes
images that the model classifies as ``classes``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from formats import write_cifar_pickle
from robustbench_dm.suites.base import Suite


def write_random_cifar_clean(folder: Path, n: int, seed: int) -> np.ndarray:
    """A CIFAR-10 test pickle in ``folder`` of ``n`` uniform random images (``seed``) with the
    labels 0..9 repeated; returns the labels."""
    labels = np.arange(n) % 10
    images = np.random.default_rng(seed).integers(0, 256, (n, 3, 32, 32)).astype(np.uint8)
    write_cifar_pickle(folder, images=images, labels=labels)
    return labels


class PixelCodeNet(nn.Module):
    """Logits ``-(k - code)^2 / 4`` for class k, where code is read from pixel (0, 0)."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.num_classes = num_classes
        self.register_buffer("classes", torch.arange(num_classes, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        code = torch.round(x[:, 0, 0, 0] * 255) + 256 * torch.round(x[:, 1, 0, 0] * 255)
        return -((self.classes[None, :] - code[:, None]) ** 2) / 4


def encode(classes, size: int = 8, seed: int = 0) -> torch.Tensor:
    """uint8 images N x 3 x size x size that PixelCodeNet classifies as ``classes``."""
    classes = np.asarray(classes, dtype=np.int64)
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (len(classes), 3, size, size)).astype(np.uint8)
    images[:, 0, 0, 0] = classes % 256
    images[:, 1, 0, 0] = classes // 256
    return torch.from_numpy(images)


def predictions_with_error(labels: np.ndarray, error: float, num_classes: int,
                           rng: np.random.Generator) -> np.ndarray:
    """Predictions that are wrong on exactly round(error * n) of ``labels``."""
    n = len(labels)
    wrong = np.zeros(n, dtype=bool)
    wrong[rng.choice(n, size=int(round(error * n)), replace=False)] = True
    return np.where(wrong, (labels + 1) % num_classes, labels)


class MemorySuite(Suite):
    """A -C suite held in memory: ``cells`` maps (name, level) -> predicted classes per image."""

    kind = "c"

    def __init__(self, name: str, labels: np.ndarray, cells: dict, num_classes: int,
                 metadata: dict | None = None):
        self.name = name
        self.labels = torch.as_tensor(labels, dtype=torch.int64)
        self.num_classes = num_classes
        self._images = {key: encode(pred, seed=i) for i, (key, pred) in enumerate(cells.items())}
        self._meta = metadata or {}
        self.calls: list[tuple[str, int]] = []

    def cells(self):
        return list(self._images)

    def cell_size(self, name, level):
        return len(self.labels)

    def iter_share(self, name, level, lo, hi, batch_size, *, gpu_decode=None):
        self.calls.append((name, level))
        return super().iter_share(name, level, lo, hi, batch_size)

    def _share(self, name, level, lo, hi, batch_size):
        images = self._images[(name, level)]
        for start in range(lo, hi, batch_size):
            stop = min(start + batch_size, hi)
            yield images[start:stop], self.labels[start:stop], torch.arange(start, stop)

    def metadata(self):
        return {"suite": self.name, "data_root": None, "preprocessing": "in memory",
                "subset": {"limit": None}, **self._meta}


class VideoSuite(Suite):
    """A -P suite: ``cells`` maps (name, difficulty) -> predicted classes (videos x frames)."""

    kind = "p"

    def __init__(self, name: str, cells: dict, num_classes: int):
        self.name = name
        self.num_classes = num_classes
        self._videos = {}
        for i, (key, pred) in enumerate(cells.items()):
            pred = np.asarray(pred)
            n, t = pred.shape
            self._videos[key] = encode(pred.reshape(-1), seed=i).reshape(n, t, 3, 8, 8)

    def cells(self):
        return list(self._videos)

    def cell_size(self, name, level):
        return self._videos[(name, level)].shape[0]

    def _share(self, name, level, lo, hi, batch_size):
        videos = self._videos[(name, level)]
        for start in range(lo, hi, batch_size):
            chunk = videos[start:min(start + batch_size, hi)]
            yield (chunk, torch.full((chunk.shape[0],), -1, dtype=torch.int64),
                   torch.arange(start, start + chunk.shape[0]))

    def metadata(self):
        return {"suite": self.name, "data_root": None, "preprocessing": "in memory",
                "subset": {"limit": None}}
