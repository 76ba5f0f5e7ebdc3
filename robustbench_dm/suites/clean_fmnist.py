"""Fashion-MNIST from its idx files (gzipped or not), made 3-channel 32 px by zero padding."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

from robustbench_dm.errors import UserError

_PREFIX = {"test": "t10k", "train": "train"}
PAD = 2  # 28 px + 2 px of zeros per side = 32 px, the CIFAR size the "cifar" preset expects


def _find(root: Path, name: str) -> Path:
    for base in (root, root / "FashionMNIST" / "raw"):
        for candidate in (base / name, base / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    raise UserError(f"no {name}[.gz] under {root}; expected the Fashion-MNIST idx files")


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """Read an unsigned-byte idx file with ``ndim`` dimensions, validating header and length."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise UserError(f"{path} is not readable ({err})") from None
    if len(raw) < 4 + 4 * ndim or raw[0:2] != b"\0\0" or raw[2] != 0x08 or raw[3] != ndim:
        raise UserError(f"{path}: expected an unsigned-byte idx file with {ndim} dimensions")
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    body = raw[4 + 4 * ndim:]
    if len(body) != int(np.prod(dims)):
        raise UserError(f"{path}: truncated or padded, expected {int(np.prod(dims))} bytes of data "
                        f"for shape {dims}, got {len(body)}")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def to_rgb32(images: np.ndarray) -> torch.Tensor:
    """uint8 N x 28 x 28 -> uint8 N x 3 x 32 x 32 (zero padding, gray repeated to 3 channels)."""
    padded = np.pad(images, ((0, 0), (PAD, PAD), (PAD, PAD)))
    return torch.from_numpy(np.ascontiguousarray(np.repeat(padded[:, None], 3, axis=1)))


def load_fashion_mnist(data_root: str | Path, split: str = "test") -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST ``split`` as (uint8 N x 3 x 32 x 32, int64 labels)."""
    root = Path(data_root)
    if not root.exists():
        raise UserError(f"data root {root} does not exist; expected the Fashion-MNIST idx files")
    if split not in _PREFIX:
        raise UserError(f"unknown split {split!r} for fashion-mnist; expected test or train")
    images = read_idx(_find(root, f"{_PREFIX[split]}-images-idx3-ubyte"), 3)
    labels_path = _find(root, f"{_PREFIX[split]}-labels-idx1-ubyte")
    labels = read_idx(labels_path, 1).astype(np.int64)
    if images.shape[1:] != (28, 28):
        raise UserError(f"Fashion-MNIST images under {root}: expected 28 x 28, got {images.shape[1:]}")
    if labels.shape[0] != images.shape[0]:
        raise UserError(f"{labels_path}: expected {images.shape[0]} labels, got {labels.shape[0]}")
    if labels.size and labels.max() > 9:
        raise UserError(f"{labels_path}: labels out of range, expected 0..9")
    return to_rgb32(images), torch.from_numpy(labels)
