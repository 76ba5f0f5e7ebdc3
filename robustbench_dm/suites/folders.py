"""Class-folder listing and batched image decoding shared by the folder suites.

A class folder layout is ``<dir>/<wnid>/<file>``. Class index = position of the wnid in the
sorted class folders. Files are ordered by (file stem, wnid): for ImageNet that is the order of
the validation set, so "the first N images" mixes classes instead of taking class 0 only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from robustbench_dm.errors import UserError
from robustbench_dm.suites.crop import resize_center_crop

IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png")

PREPROCESSING = {
    "none": "as stored (no resize, no crop)",
    "augmix": "Resize(256) + CenterCrop(224) (AugMix imagenet.py test transform)",
}


def class_folders(directory: Path) -> list[str]:
    """Sorted class folder names under ``directory`` (error when there are none)."""
    if not directory.is_dir():
        raise UserError(f"missing folder {directory}; expected <wnid>/ class folders inside")
    names = sorted(p.name for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not names:
        raise UserError(f"{directory} holds no class folders; expected <wnid>/<file> inside")
    return names


def list_files(directory: Path, classes: Sequence[str], extensions: Sequence[str]) -> list[tuple[str, str, Path]]:
    """``(stem, wnid, path)`` of every file with one of ``extensions``, ordered by (stem, wnid)."""
    found = class_folders(directory)
    if found != list(classes):
        extra = sorted(set(found) - set(classes))
        missing = sorted(set(classes) - set(found))
        raise UserError(
            f"class folders of {directory} differ from the suite's: "
            f"missing {missing[:3]}, unexpected {extra[:3]}"
        )
    files = [
        (p.name.rsplit(".", 1)[0], wnid, p)
        for wnid in classes
        for p in (directory / wnid).iterdir()
        if p.suffix.lower() in extensions and not p.name.startswith(".")
    ]
    files.sort(key=lambda f: (f[0], f[1]))
    return files


def open_rgb(path: Path) -> Image.Image:
    """The image file ``path`` as a PIL RGB image; unreadable -> ``UserError``."""
    try:
        with Image.open(path) as file:
            return file.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise UserError(f"unreadable image {path} ({str(err).splitlines()[0]}); "
                        "expected a JPEG or PNG file") from None


def to_chw(image: Image.Image) -> torch.Tensor:
    """A PIL RGB image as a uint8 3 x H x W tensor."""
    return torch.from_numpy(np.asarray(image).transpose(2, 0, 1).copy())


def decode(path: Path, preprocessing: str) -> torch.Tensor:
    """One image file -> uint8 3 x H x W (RGB), preprocessed; unreadable -> ``UserError``.

    Decoding and resizing use PIL, as the references do (torchvision transforms on PIL images).
    """
    image = open_rgb(path)
    if preprocessing == "augmix":
        image = resize_center_crop(image)
    return to_chw(image)


def decode_batch(paths: Sequence[Path], preprocessing: str, size: tuple[int, int] | None) -> torch.Tensor:
    """Decode ``paths`` into one uint8 N x 3 x H x W batch; every image must be ``size``
    (or, when ``size`` is None, the size of the first image)."""
    images = [decode(p, preprocessing) for p in paths]
    expected = size or (tuple(images[0].shape[-2:]) if images else None)
    for path, image in zip(paths, images):
        if tuple(image.shape[-2:]) != expected:
            raise UserError(f"{path} is {image.shape[-1]}x{image.shape[-2]} px; expected "
                            f"{expected[1]}x{expected[0]} like the rest of the suite")
    return torch.stack(images)


def decode_on_device(paths: Sequence[Path], preprocessing: str, size: tuple[int, int] | None,
                     device: torch.device, stream) -> torch.Tensor:
    """``decode_batch`` of JPEGs fed as stored, by torchvision's batched nvJPEG on ``device``
    (on ``stream``, synchronised before returning); a JPEG nvJPEG cannot read makes PIL decode
    the batch on the CPU (or say why not)."""
    from corruptions.codec import decode_jpeg, read_bytes

    data = [read_bytes(p) for p in paths]
    try:
        with torch.cuda.stream(stream):
            images = decode_jpeg(data, rgb=True, device=device)
            for path, image in zip(paths, images):
                if size is not None and tuple(image.shape[-2:]) != tuple(size):
                    raise UserError(f"{path} is {image.shape[-1]}x{image.shape[-2]} px; expected "
                                    f"{size[1]}x{size[0]} like the rest of the suite")
            batch = torch.stack(images)
        stream.synchronize()
    except RuntimeError:
        return decode_batch(paths, preprocessing, size)
    return batch
