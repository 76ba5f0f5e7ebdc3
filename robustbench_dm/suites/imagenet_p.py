"""ImageNet-P: ``<root>/<perturbation>/<wnid>/<name>.mp4``, decoded with PyAV.

Noise difficulties 2 and 3 are other videos, in sibling folders ``<perturbation>_2`` / ``_3``;
for the other perturbations the difficulty only changes the comparison stride, so every
difficulty reads the same folder. Every frame is decoded (31 frames; translate 41) and fed as
stored (224 px, no resize). Class index = position of the wnid in the sorted class folders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from corruptions import PERTURBATIONS
from robustbench_dm.errors import UserError
from robustbench_dm.metrics import is_noise_perturbation
from robustbench_dm.suites.base import Batch, Suite, check_limit, select_difficulties, select_names, subset_metadata
from robustbench_dm.metrics.ranking import TOP
from robustbench_dm.suites.folders import class_folders, list_files
from robustbench_dm.suites.provenance import files_fingerprint, files_size, provenance, released_key
from robustbench_dm.suites.registry import register_suite

IMAGENET_P_TEST = ("gaussian_noise", "shot_noise", "motion_blur", "zoom_blur", "snow",
                   "brightness", "translate", "rotate", "tilt", "scale")


def sequence_folder(root: Path, perturbation: str, difficulty: int) -> Path:
    """Folder of a perturbation at a difficulty: ``_<d>`` suffix only for noise, d > 1."""
    noise_level = difficulty > 1 and is_noise_perturbation(perturbation)
    return root / (f"{perturbation}_{difficulty}" if noise_level else perturbation)


def decode_video(path: Path) -> np.ndarray:
    """Every frame of an mp4 as uint8 (T, H, W, 3) RGB; unreadable -> ``UserError``.

    PyAV is imported here, on first use: only ImageNet-P needs a video decoder."""
    import av

    try:
        with av.open(str(path)) as container:
            frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    except (av.error.FFmpegError, OSError, ValueError) as err:
        raise UserError(f"unreadable video {path} ({err}); expected an mp4 of RGB frames") from None
    if not frames:
        raise UserError(f"video {path} has no frames; expected an mp4 of RGB frames")
    return np.stack(frames)


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
        self.perturbations = select_names(corruptions, IMAGENET_P_TEST, PERTURBATIONS, "perturbation")
        self.difficulties = select_difficulties(severities, difficulty)
        self._complete = self.perturbations == list(IMAGENET_P_TEST) and self.difficulties == [1]
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
        return [(p, d) for p in self.perturbations for d in self.difficulties]

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

    def images_key(self) -> str:
        """``released_key`` over every perturbation folder of the data root (selected or not)."""
        if getattr(self, "_images_key", None) is None:
            cells = {}
            for name in PERTURBATIONS:
                for level in (1, 2, 3) if is_noise_perturbation(name) else (1,):
                    folder = sequence_folder(self.root, name, level)
                    if folder.is_dir():
                        try:
                            cells[f"{name}/{level}"] = self._fingerprint(folder)
                        except UserError:
                            continue  # not the videos of the other cells: none of this suite's
            self._images_key = released_key(cells)
        return self._images_key

    def metadata(self) -> dict:
        return {
            "suite": self.name,
            "data_root": self.data_root,
            "preprocessing": "as stored (every mp4 frame decoded with PyAV, RGB, no resize)",
            "subset": subset_metadata(self.limit, self.perturbations, self.difficulties, self._complete),
            "num_classes": self.num_classes,
            "provenance": provenance("released", None, files_size(
                p for cell in self.cells() for p in self._paths(sequence_folder(self.root, *cell)))),
            "images_key": self.images_key(),
        }


@register_suite("imagenet-p", "ImageNet-P: <root>/<perturbation>[_<d>]/<wnid>/*.mp4 perturbation videos "
                "(or generate=True from the ImageNet val folder)")
def imagenet_p(data_root=None, *, limit=None, corruptions=None, severities=None, difficulty=None,
               clean_root=None, generate=False, seed=0, device="cpu") -> Suite:
    """ImageNet-P (10 test perturbations by default). ``severities``/``difficulty`` select
    difficulties (default 1); noise difficulties 2/3 read the ``_2``/``_3`` folders. With
    ``generate=True`` the videos are made on ``device`` from the ImageNet val folder ``clean_root``."""
    if generate:
        from robustbench_dm.suites.imagenet_generated import open_generated  # imports this module

        return open_generated("imagenet-p", clean_root, limit=limit, corruptions=corruptions,
                              severities=severities, difficulty=difficulty, seed=seed, device=device)
    if clean_root is not None:
        raise UserError("clean_root is the source of a generated imagenet-p (generate=True); the released "
                        "suite reads its videos only")
    return ImageNetPSuite(data_root, limit=limit, corruptions=corruptions, severities=severities,
                          difficulty=difficulty)
