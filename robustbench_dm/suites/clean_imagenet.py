"""Streaming reader for an ImageNet validation folder (``<root>/<wnid>/<file>.JPEG``).

Clean ImageNet images are preprocessed like the references (HR and AM): Resize(256) on the
short side, then CenterCrop(224).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import torch

from robustbench_dm.errors import UserError
from robustbench_dm.suites.folders import IMAGE_EXTENSIONS, class_folders, decode_batch, list_files

PREPROCESSING = "Resize(256) + CenterCrop(224)"


class ImageNetFolder:
    """The images of an ImageNet-style class-folder tree, streamed in (stem, wnid) order."""

    def __init__(self, root: str | Path, limit: int | None = None):
        self.root = Path(root)
        if not self.root.is_dir():
            raise UserError(f"ImageNet folder {self.root} does not exist; expected <root>/<wnid>/<file>.JPEG")
        if (self.root / "val_annotations.txt").is_file():
            raise UserError(f"{self.root} is in Tiny-ImageNet's val layout (images/ + val_annotations.txt); "
                            "expected <root>/<wnid>/<file>.JPEG class folders: move each image into the "
                            "folder of its wnid (the second column of val_annotations.txt)")
        self.classes = class_folders(self.root)
        files = list_files(self.root, self.classes, IMAGE_EXTENSIONS)
        if not files:
            raise UserError(f"{self.root} holds no JPEG/PNG images in its class folders")
        self._class_index = {w: i for i, w in enumerate(self.classes)}
        self.files = files[:limit] if limit else files
        self.keys = [(stem, wnid) for stem, wnid, _ in self.files]
        self.labels = torch.tensor([self._class_index[w] for w in (k[1] for k in self.keys)], dtype=torch.int64)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, rows: slice) -> torch.Tensor:
        """Decode the images at ``rows`` (a slice) into uint8 N x 3 x 224 x 224."""
        return decode_batch([p for _, _, p in self.files[rows]], "augmix", (224, 224))

    def iter_batches(self, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Yield (uint8 N x 3 x 224 x 224, int64 labels, int64 position) batches."""
        for start in range(0, len(self.files), batch_size):
            stop = min(start + batch_size, len(self.files))
            yield self[start:stop], self.labels[start:stop], torch.arange(start, stop, dtype=torch.int64)
