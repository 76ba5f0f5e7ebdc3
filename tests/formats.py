"""Writers of small fixtures in every released on-disk format (imported by tests of all areas).

Each writer creates the files under ``root`` exactly as the release lays them out and returns
the path to pass as ``data_root`` (or ``clean_root``). Pixel content is random (seeded) unless a
``pixels`` callable is given, so a test can make the exact error of every cell known.
"""

from __future__ import annotations

import gzip
import pickle
import zlib
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from PIL import Image

from corruptions import CORRUPTIONS

CIFAR_P_TEST = ("gaussian_noise", "shot_noise", "motion_blur", "zoom_blur", "spatter",
                "brightness", "translate", "rotate", "tilt", "scale")
WNIDS = ("n01440764", "n01443537", "n01484850")


def _rng(seed: int, *parts) -> np.random.Generator:
    return np.random.default_rng([seed, *[zlib.crc32(str(p).encode()) for p in parts]])


def _labels(n: int, labels, num_classes: int) -> np.ndarray:
    return np.arange(n) % num_classes if labels is None else np.asarray(labels)


def write_cifar_c(
    root: str | Path,
    n: int,
    corruptions: Sequence[str] = CORRUPTIONS,
    labels: Sequence[int] | None = None,
    *,
    num_classes: int = 10,
    pixels: Callable[[str, int, np.ndarray], np.ndarray] | None = None,
    seed: int = 0,
) -> Path:
    """``<root>/<corruption>.npy`` uint8 (5n, 32, 32, 3) and ``labels.npy`` uint8 (5n,).

    ``labels`` (length n) default to ``i % num_classes``; ``pixels(corruption, severity, labels)``
    returns the uint8 (n, 32, 32, 3) block of one severity (default: seeded random).
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    lab = _labels(n, labels, num_classes)
    for name in corruptions:
        blocks = [
            pixels(name, s, lab) if pixels else _rng(seed, name, s).integers(0, 256, (n, 32, 32, 3))
            for s in range(1, 6)
        ]
        np.save(root / f"{name}.npy", np.concatenate(blocks).astype(np.uint8))
    np.save(root / "labels.npy", np.tile(lab, 5).astype(np.uint8 if num_classes <= 256 else np.int64))
    return root


def write_cifar_pickle(
    root: str | Path,
    n: int | None = None,
    labels: Sequence[int] | None = None,
    *,
    images: np.ndarray | None = None,
    dataset: str = "cifar10",
    seed: int = 0,
) -> Path:
    """CIFAR python-pickle test set: ``<root>/cifar-10-batches-py/test_batch`` (or
    ``cifar-100-python/test``); ``images`` uint8 (n, 3, 32, 32) or (n, 3072). Returns ``root``."""
    root = Path(root)
    num_classes = 10 if dataset == "cifar10" else 100
    if images is None:
        images = _rng(seed, "clean").integers(0, 256, (n, 3, 32, 32)).astype(np.uint8)
    n = len(images)
    lab = [int(v) for v in _labels(n, labels, num_classes)]
    data = np.asarray(images, dtype=np.uint8).reshape(n, 3072)
    folder, file, key = (("cifar-10-batches-py", "test_batch", b"labels") if dataset == "cifar10"
                         else ("cifar-100-python", "test", b"fine_labels"))
    (root / folder).mkdir(parents=True, exist_ok=True)
    batch = {b"batch_label": b"testing batch 1 of 1", key: lab, b"data": data,
             b"filenames": [f"img_{i}.png".encode() for i in range(n)]}
    with open(root / folder / file, "wb") as f:
        pickle.dump(batch, f, protocol=2)
    return root


def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_fashion_mnist_idx(
    root: str | Path,
    n: int,
    labels: Sequence[int] | None = None,
    *,
    images: np.ndarray | None = None,
    gz: bool = True,
    split: str = "test",
    seed: int = 0,
) -> Path:
    """``t10k-images-idx3-ubyte[.gz]`` + ``t10k-labels-idx1-ubyte[.gz]`` (``train-*`` for the
    train split); ``images`` uint8 (n, 28, 28). Returns ``root``."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if images is None:
        images = _rng(seed, "fmnist").integers(0, 256, (n, 28, 28)).astype(np.uint8)
    prefix = "t10k" if split == "test" else "train"
    opener = gzip.open if gz else open
    suffix = ".gz" if gz else ""
    with opener(root / f"{prefix}-images-idx3-ubyte{suffix}", "wb") as f:
        f.write(_idx(np.asarray(images)))
    with opener(root / f"{prefix}-labels-idx1-ubyte{suffix}", "wb") as f:
        f.write(_idx(_labels(len(images), labels, 10).astype(np.uint8)))
    return root


def imagenet_file_id(class_pos: int, j: int, num_wnids: int) -> int:
    """Validation id of image j of the class at ``class_pos``: ids interleave the classes."""
    return j * num_wnids + class_pos + 1


def write_imagenet_folder(
    root: str | Path,
    wnids: Sequence[str] = WNIDS,
    per_class: int = 2,
    *,
    size: int | tuple[int, int] = 224,
    ext: str = "JPEG",
    pixels: Callable[[str, int], np.ndarray] | None = None,
    seed: int = 0,
) -> Path:
    """ImageNet-style class folders ``<root>/<wnid>/ILSVRC2012_val_XXXXXXXX.<ext>`` (JPEG q85 or
    lossless PNG). ``pixels(wnid, file_id)`` returns uint8 H x W x 3. Returns ``root``."""
    root = Path(root)
    h, w = (size, size) if isinstance(size, int) else size
    for c, wnid in enumerate(wnids):
        (root / wnid).mkdir(parents=True, exist_ok=True)
        for j in range(per_class):
            file_id = imagenet_file_id(c, j, len(wnids))
            array = pixels(wnid, file_id) if pixels else _rng(seed, wnid, file_id).integers(0, 256, (h, w, 3))
            image = Image.fromarray(np.asarray(array, dtype=np.uint8))
            path = root / wnid / f"ILSVRC2012_val_{file_id:08d}.{ext}"
            image.save(path, quality=85) if ext.upper() in ("JPEG", "JPG") else image.save(path)
    return root


def write_imagenet_c_folder(
    root: str | Path,
    corruptions: Sequence[str] = ("gaussian_noise",),
    wnids: Sequence[str] = WNIDS,
    per_class: int = 2,
    *,
    severities: Sequence[int] = (1, 2, 3, 4, 5),
    size: int = 224,
    ext: str = "JPEG",
    pixels: Callable[[str, int, str, int], np.ndarray] | None = None,
    seed: int = 0,
) -> Path:
    """``<root>/<corruption>/<severity>/<wnid>/<file>`` (ImageNet-C, Tiny-ImageNet-C, 3DCC).
    ``pixels(corruption, severity, wnid, file_id)`` -> uint8 H x W x 3. Returns ``root``."""
    root = Path(root)
    for name in corruptions:
        for s in severities:
            fn = (lambda wnid, fid, name=name, s=s: pixels(name, s, wnid, fid)) if pixels else None
            write_imagenet_folder(root / name / str(s), wnids, per_class, size=size, ext=ext,
                                  pixels=fn, seed=seed + 1000 * s + len(name))
    return root


def _frames(name: str, frames: int | None, imagenet: bool) -> int:
    if frames is not None:
        return frames
    if name == "translate":
        return 41 if imagenet else 16
    return 21 if (name == "motion_blur" and not imagenet) else 31


def write_imagenet_p(
    root: str | Path,
    perturbations: Sequence[str] = ("gaussian_noise",),
    wnids: Sequence[str] = WNIDS,
    per_class: int = 1,
    *,
    difficulties: Sequence[int] = (1,),
    frames: int | None = None,
    size: int = 32,
    seed: int = 0,
) -> Path:
    """``<root>/<perturbation>[_<d>]/<wnid>/ILSVRC2012_val_XXXXXXXX.mp4`` (libx264, T frames:
    31, translate 41; ``_<d>`` folders for noise at d > 1). Returns ``root``."""
    import av

    root = Path(root)
    for name in perturbations:
        for d in difficulties:
            folder = root / (f"{name}_{d}" if d > 1 and "noise" in name else name)
            for c, wnid in enumerate(wnids):
                (folder / wnid).mkdir(parents=True, exist_ok=True)
                for j in range(per_class):
                    file_id = imagenet_file_id(c, j, len(wnids))
                    video = _rng(seed, name, d, wnid, file_id).integers(
                        0, 256, (_frames(name, frames, True), size, size, 3)).astype(np.uint8)
                    with av.open(str(folder / wnid / f"ILSVRC2012_val_{file_id:08d}.mp4"), "w") as out:
                        stream = out.add_stream("libx264", rate=30)
                        stream.width = stream.height = size
                        stream.pix_fmt = "yuv420p"
                        stream.options = {"crf": "20"}
                        for frame in video:
                            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
                        out.mux(stream.encode(None))
    return root


def write_cifar_p(
    root: str | Path,
    n: int,
    perturbations: Sequence[str] = CIFAR_P_TEST,
    *,
    difficulties: Sequence[int] = (1,),
    frames: int | None = None,
    pixels: Callable[[str, int], np.ndarray] | None = None,
    seed: int = 0,
) -> Path:
    """``<root>/<perturbation>[_<d>].npy`` uint8 (n, T, 32, 32, 3), T as the generator makes it
    (31; motion_blur 21; translate 16). ``pixels(name, difficulty)`` -> that array. No labels."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for name in perturbations:
        for d in difficulties:
            if d > 1 and "noise" not in name:
                continue
            array = pixels(name, d) if pixels else _rng(seed, name, d).integers(
                0, 256, (n, _frames(name, frames, False), 32, 32, 3))
            np.save(root / f"{name}{f'_{d}' if d > 1 else ''}.npy", np.asarray(array, dtype=np.uint8))
    return root
