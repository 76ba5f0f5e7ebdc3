"""Fixtures of the ImageNet-style on-the-fly tests: a small clean folder of skimage photographs
in the ImageNet val layout, a tiny scripted model that sees every pixel block, and the cells of a
results file."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import torch
from click.testing import CliRunner
from PIL import Image
from torch import nn

from cli import main

PHOTOS = {"n01440764": ("astronaut", "coffee"), "n01443537": ("chelsea", "rocket"),
          "n01484850": ("immunohistochemistry", "colorwheel")}


def write_photo_folder(root: Path, photos=PHOTOS, size: int | None = None) -> Path:
    """ImageNet val layout ``<root>/<wnid>/ILSVRC2012_val_<id>.JPEG`` of skimage photographs
    (``size``: each resized to size x size, e.g. 64 for Tiny-ImageNet)."""
    import skimage.data

    file_id = 0
    for wnid, names in photos.items():
        (root / wnid).mkdir(parents=True, exist_ok=True)
        for name in names:
            file_id += 1
            image = Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
            if size is not None:
                image = image.resize((size, size), Image.BILINEAR)
            image.save(root / wnid / f"ILSVRC2012_val_{file_id:08d}.JPEG", quality=90)
    return root


class TinyNet(nn.Module):
    """``classes`` logits from a strided convolution: sensitive to every pixel block."""

    def __init__(self, classes: int = 3):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 6, 8, stride=8)
        self.head = nn.Linear(6, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.tanh(self.conv(x)).mean((2, 3)))


def write_tiny_model(path: Path, classes: int = 3) -> Path:
    """``TinyNet(classes)`` saved as TorchScript at ``path``."""
    torch.jit.save(torch.jit.script(TinyNet(classes)), str(path))
    return path


def run_cli(*args):
    """``robust-eval ARGS`` in-process (click's runner)."""
    return CliRunner().invoke(main, [*map(str, args)])


def cells_of(path: Path) -> dict:
    """Every per-image array of every cell of a ``results.h5``: {"<name>/<level>": {key: array}}."""
    with h5py.File(path, "r") as f:
        return {f"{name}/{level}": {key: f[f"cells/{name}/{level}/{key}"][()]
                                    for key in f[f"cells/{name}/{level}"]}
                for name in f["cells"] for level in f[f"cells/{name}"]}


def metadata_of(path: Path) -> dict:
    """The suite metadata a ``results.h5`` records."""
    with h5py.File(path, "r") as f:
        return json.loads(f.attrs["metadata"])


def assert_same_records(scored: Path, reference: Path) -> dict:
    """Both ``results.h5`` hold the same cells with identical per-image arrays; returns the cells."""
    cells, expected = cells_of(scored), cells_of(reference)
    assert sorted(cells) == sorted(expected)
    for cell, arrays in expected.items():
        assert sorted(arrays) == sorted(cells[cell])
        for key, value in arrays.items():
            assert np.array_equal(value, cells[cell][key]), (cell, key)
    return cells
