"""ImageNet-P: ``<root>/<perturbation>/<wnid>/<name>.mp4``, decoded with PyAV (``released_video.py``).

Noise difficulties 2 and 3 are other videos, in sibling folders ``<perturbation>_2`` / ``_3``;
for the other perturbations the difficulty only changes the comparison stride, so every
difficulty reads the same folder. Every frame is decoded (31 frames; translate 41) and fed as
stored (224 px, no resize). Class index = position of the wnid in the sorted class folders.
A folder written by ``make-suite imagenet-p`` (its ``suite.json``) is scored over the cells it
lists, with the images key of the on-the-fly suite of the same settings (``written.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from corruptions import PERTURBATIONS
from robustbench_dm.errors import UserError
from robustbench_dm.metrics import is_noise_perturbation
from robustbench_dm.suites.base import Batch, Suite, check_limit, select_difficulties, select_names
from robustbench_dm.metrics.ranking import TOP
from robustbench_dm.suites.folders import class_folders, list_files
from robustbench_dm.suites.provenance import files_fingerprint, files_size, released_key
from robustbench_dm.suites.registry import register_suite
from robustbench_dm.suites.released_video import decode_video, stored_as
from robustbench_dm.suites.written import Written, stored_provenance, stored_subset, written_images_key

IMAGENET_P_TEST = ("gaussian_noise", "shot_noise", "motion_blur", "zoom_blur", "snow",
                   "brightness", "translate", "rotate", "tilt", "scale")


def sequence_folder(root: Path, perturbation: str, difficulty: int) -> Path:
    """Folder of a perturbation at a difficulty: ``_<d>`` suffix only for noise, d > 1."""
    noise_level = difficulty > 1 and is_noise_perturbation(perturbation)
    return root / (f"{perturbation}_{difficulty}" if noise_level else perturbation)


def decode_videos(paths: Sequence[Path]) -> torch.Tensor:
    """Decode videos into one uint8 N x T x 3 x H x W batch (same T and size required)."""
    videos = [decode_video(p) for p in paths]
    for path, video in zip(paths, videos):
        if video.shape != videos[0].shape:
            raise UserError(f"video {path} is {video.shape} (T, H, W, C); expected {videos[0].shape} "
                            f"like {paths[0]}")
    return torch.from_numpy(np.stack(videos)).permute(0, 1, 4, 2, 3).contiguous()


class ImageNetPSuite(Suite):
    """An ImageNet-P tree of mp4 videos, streamed in (stem, wnid) order."""

    kind = "p"
    name = "imagenet-p"

    def __init__(self, data_root, *, limit=None, corruptions=None, severities=None, difficulty=None):
        if data_root is None:
            raise UserError("suite 'imagenet-p' needs a data root (the folder of <perturbation>/ folders)")
        self.root, self.data_root = Path(data_root), str(data_root)
        if not self.root.is_dir():
            raise UserError(f"data root {self.root} does not exist; expected <root>/<perturbation>/<wnid>/<name>.mp4")
        self.limit = check_limit(limit)
        self.written, self.clean = Written.open(data_root, self.name), None
        if self.written is not None and self.written.cells is not None:
            levels = None if severities is None and difficulty is None else select_difficulties(severities, difficulty)
            self._cells = self.written.select(corruptions, levels, PERTURBATIONS, (1, 2, 3), "perturbation",
                                              "difficulty")
            self._complete = self.written.complete(self._cells, [(p, 1) for p in IMAGENET_P_TEST], limit)
        else:
            names = select_names(corruptions, IMAGENET_P_TEST, PERTURBATIONS, "perturbation")
            levels = select_difficulties(severities, difficulty)
            self._cells = [(p, d) for p in names for d in levels]
            self._complete = names == list(IMAGENET_P_TEST) and levels == [1] and (
                self.written is None or self.written.manifest.get("limit") is None)
        self.perturbations = list(dict.fromkeys(p for p, _ in self._cells))
        self.difficulties = sorted({d for _, d in self._cells})
        for p, d in self.cells():
            if not sequence_folder(self.root, p, d).is_dir():
                raise UserError(f"missing folder {sequence_folder(self.root, p, d)}; expected the "
                                f"{p} videos at difficulty {d} in <wnid>/ class folders")
        first = sequence_folder(self.root, *self.cells()[0])
        self.classes = class_folders(first)
        self.num_classes = len(self.classes)
        if self.num_classes < TOP:
            raise UserError(f"{first} holds {self.num_classes} class folder(s) ({', '.join(self.classes)}); "
                            f"ImageNet-P needs at least {TOP} classes (its top-{TOP} distance ranks {TOP} classes)")
        self._class_index = {w: i for i, w in enumerate(self.classes)}
        self._listings: dict[Path, list] = {}
        reference = self._listing(first)
        if not reference:
            raise UserError(f"{first} holds no .mp4 videos in its class folders")
        self.keys = [(stem, wnid) for stem, wnid, _ in reference]
        for cell in self.cells():  # every cell holds the same videos: checked before any is scored
            self._listing(sequence_folder(self.root, *cell))
        self._fingerprints: dict[Path, str] = {}

    def _listing(self, folder: Path) -> list:
        if folder not in self._listings:
            files = list_files(folder, self.classes, (".mp4",))
            if self._listings and [(s, w) for s, w, _ in files] != self.keys:
                raise UserError(f"{folder} does not hold the same videos as "
                                f"{next(iter(self._listings))}; expected one video per clean image")
            self._listings[folder] = files
        return self._listings[folder]

    def cells(self) -> list[tuple[str, int]]:
        return list(self._cells)

    def cell_size(self, name: str, level: int) -> int:
        self._check_cell(name, level)
        self._listing(sequence_folder(self.root, name, level))  # validates the cell's videos
        return min(self.limit or len(self.keys), len(self.keys))

    def _share(self, name: str, level: int, lo: int, hi: int, batch_size: int) -> Iterator[Batch]:
        paths = [p for _, _, p in self._listing(sequence_folder(self.root, name, level))[:hi]]
        for start in range(lo, hi, batch_size):
            stop = min(start + batch_size, hi)
            labels = torch.tensor([self._class_index[w] for _, w in self.keys[start:stop]], dtype=torch.int64)
            yield decode_videos(paths[start:stop]), labels, torch.arange(start, stop, dtype=torch.int64)

    def _paths(self, folder: Path) -> list[Path]:
        """The videos of ``folder`` read, after ``limit``."""
        return [p for _, _, p in self._listing(folder)[:min(self.limit or len(self.keys), len(self.keys))]]

    def _fingerprint(self, folder: Path) -> str:
        if folder not in self._fingerprints:
            self._fingerprints[folder] = files_fingerprint(folder, self._paths(folder))
        return self._fingerprints[folder]

    def cell_fingerprint(self, name: str, level: int) -> str | None:
        """Names and sizes of the videos the cell reads, full bytes of the first few."""
        self._check_cell(name, level)
        return self._fingerprint(sequence_folder(self.root, name, level))

    def _released_key(self) -> str:
        """``released_key`` over every perturbation folder of the data root (selected or not)."""
        cells = {}
        for name in PERTURBATIONS:
            for level in (1, 2, 3) if is_noise_perturbation(name) else (1,):
                folder = sequence_folder(self.root, name, level)
                if folder.is_dir():
                    try:
                        cells[f"{name}/{level}"] = self._fingerprint(folder)
                    except UserError:
                        continue  # not the videos of the other cells: none of this suite's
        return released_key(cells)

    def images_key(self) -> str:
        """Images key (docs/internals.md): from the manifest of a written suite (stored as x264
        videos, as the on-the-fly suite), else from the files."""
        if getattr(self, "_images_key", None) is None:
            count = min(self.limit or len(self.keys), len(self.keys))
            encoder = self.written.manifest.get("encoder") if self.written is not None else None
            self._images_key = written_images_key(self, count, stored=stored_as(encoder), released=self._released_key)
        return self._images_key

    def metadata(self) -> dict:
        return {
            "suite": self.name,
            "data_root": self.data_root,
            "preprocessing": "as stored (every mp4 frame decoded with PyAV, RGB, no resize)",
            "subset": stored_subset(self, self.perturbations, self.difficulties),
            "num_classes": self.num_classes,
            "provenance": stored_provenance(self, files_size(p for cell in self.cells()
                                                for p in self._paths(sequence_folder(self.root, *cell)))),
            "images_key": self.images_key(),
        }


@register_suite("imagenet-p", "ImageNet-P: <root>/<perturbation>[_<d>]/<wnid>/*.mp4 perturbation videos "
                "(or made on the fly from the ImageNet val folder)")
def imagenet_p(data_root=None, *, limit=None, corruptions=None, severities=None, difficulty=None,
               clean_root=None, generate=False, seed=0, device="cpu", video_codec="x264") -> Suite:
    """ImageNet-P (10 test perturbations by default). ``severities``/``difficulty`` select
    difficulties (default 1); noise difficulties 2/3 read the ``_2``/``_3`` folders. With
    ``generate=True`` the videos are made on ``device`` from the ImageNet val folder ``clean_root``
    and pass through the release's x264 encoding (``video_codec="none"``: scored as generated)."""
    if generate:
        from robustbench_dm.suites.imagenet_generated import open_generated  # imports this module

        return open_generated("imagenet-p", clean_root, limit=limit, corruptions=corruptions,
                              severities=severities, difficulty=difficulty, seed=seed, device=device,
                              video_codec=video_codec)
    if video_codec != "x264":
        raise UserError(f"video_codec {video_codec!r} applies to suites made on the fly (generate=True); "
                        "released videos are read as stored", params=("video_codec", "generate"))
    if clean_root is not None:
        raise UserError("clean_root is the source of a generated imagenet-p (generate=True); the released "
                        "suite reads its videos only", params=("clean_root", "generate"))
    return ImageNetPSuite(data_root, limit=limit, corruptions=corruptions, severities=severities,
                          difficulty=difficulty)
