"""ImageNet-C, Tiny-ImageNet-C and ImageNet-P made on the fly from a clean class folder.

``open_generated(suite, clean_root, ...)`` is what ``get_suite(..., generate=True)`` opens for
these suites. The images are those ``make-suite`` writes for the same clean set, seed and
generator version (the shared steps are in ``imagenet_pipeline.py``): the released pipeline's
Resize(256) + CenterCrop(224), the corruption (uint8-truncated), and the release's final save,
read back as ``score`` reads the written files: the JPEG q85 save of -C suites
(``released_jpeg.py``), the x264 mp4 encoding of ImageNet-P (``released_video.py``;
``video_codec="none"`` scores the frames as generated). ImageNet-3DCC needs depth maps and is
scored from the released files only.

``resolution`` R (ImageNet-C only): Resize(round(R*256/224)) + CenterCrop(R) and every spatial
parameter of the corruptions scaled by R/224 (docs/resolution.md). Such a suite is named
``imagenet-c-<R>px`` and labelled "ImageNet-C at R px (generated)": it is never ImageNet-C, never
normalised by the AlexNet table of the release and never paired with 224 px results.
"""

from __future__ import annotations

import math
import os
from functools import partial
from pathlib import Path

import torch

from corruptions import CORRUPTIONS, EXTRA, PERTURBATIONS
from robustbench_dm.devices import resolve_device
from robustbench_dm.errors import Note, UserError
from robustbench_dm.suites.base import (
    check_limit,
    select_difficulties,
    select_levels,
    select_names,
)
from robustbench_dm.suites.generated import GeneratedSuite, generator_version
from robustbench_dm.suites.image_folder_c import SEVERITIES
from robustbench_dm.suites.imagenet_p import IMAGENET_P_TEST
from robustbench_dm.suites.crop import RELEASED_SIZE
from robustbench_dm.suites.imagenet_pipeline import CleanImages, pipelined
from robustbench_dm.suites.released_jpeg import ReleasedSave
from robustbench_dm.suites.released_video import CODECS, VideoSave, stored_as, x264_build
from robustbench_dm.suites.provenance import generated_key, options_key

# suite -> (kind, preset, clean dataset, released image size, display name)
GENERATED = {
    "imagenet-c": ("c", "imagenet", "imagenet", 224, "ImageNet-C"),
    "tinyimagenet-c": ("c", "tinyimagenet", "tinyimagenet", 64, "Tiny-ImageNet-C"),
    "imagenet-p": ("p", "imagenet", "imagenet", 224, "ImageNet-P"),
}
RELEASED_ONLY = {"imagenet-3dcc": "ImageNet-3DCC needs depth maps: it is scored from its released files only "
                                  "and cannot be made from a clean set"}
DECODERS = ("pil", "nvjpeg")


def suite_label(suite: str, resolution: int) -> str:
    """How results of a generated suite are labelled, e.g. "ImageNet-C at 384 px (generated)"."""
    display, size = GENERATED[suite][4], GENERATED[suite][3]
    return f"{display} (generated)" if resolution == size else f"{display} at {resolution} px (generated)"


def suite_name(suite: str, resolution: int) -> str:
    """``suite`` at its released size, ``<suite>-<R>px`` at another resolution."""
    return suite if resolution == GENERATED[suite][3] else f"{suite}-{resolution}px"


def check_resolution(suite: str, resolution: int | None) -> int:
    """The resolution ``suite`` is generated at: ``resolution``, or the released size when None
    (another than the released size for imagenet-c only)."""
    size = GENERATED[suite][3]
    if resolution is None:
        return size
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 32:
        raise UserError(f"invalid resolution {resolution!r}; expected an integer number of pixels >= 32",
                        params=("resolution",))
    if resolution != size and suite != "imagenet-c":
        raise UserError(f"resolution {resolution} is available for imagenet-c only; {suite} is "
                        f"generated at its released {size} px", params=("resolution",))
    return resolution


def _cache_device(need: int, decoded_on: torch.device, generated_on: torch.device) -> torch.device | None:
    """Where the decoded clean set is kept between cells: on the generating GPU when it takes
    at most a quarter of its memory, else where it is decoded if it fits there, else nowhere."""
    if generated_on.type == "cuda" and need <= _memory_budget(generated_on):
        return generated_on
    return decoded_on if need <= _memory_budget(decoded_on) else None


def _memory_budget(device: torch.device) -> int:
    """Bytes the decoded clean set may occupy when held between cells: a quarter of the memory
    of the device it is decoded on."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[1] // 4
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 4
    except (ValueError, OSError, AttributeError):
        return 2 ** 32


class PipelineSuite(GeneratedSuite):
    """A ``GeneratedSuite`` of an ImageNet-style suite: the corrupted cells pass through the
    released final save (``final_save``: JPEG for -C, x264 for -P suites, None: as generated),
    ``depth`` chunks in flight so the CPU encodes one chunk while the device corrupts the next."""

    def __init__(self, *args, final_save: ReleasedSave | VideoSave | None, resolution: int, label: str,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.final_save, self.resolution, self.label = final_save, resolution, label
        threads = final_save.threads if final_save is not None else 1
        self.depth = max(2, math.ceil(4 * threads / self.chunk_size))  # ~4 images per thread

    def _chunks(self, name: str, level: int, lo: int, hi: int):
        chunks = super()._chunks(name, level, lo, hi)
        if name == "clean" or self.final_save is None:
            return chunks
        submit = self.final_save.submit if self.kind == "c" else partial(self.final_save.submit, perturbation=name)
        return pipelined(chunks, submit, self.depth)

    @property
    def classes_from(self) -> Note:
        """Where the class count comes from (said when it does not match a model's)."""
        return Note(f"the <wnid>/ class folders of clean_root {self.images.root}, in sorted order: the model's "
                    "class i is the i-th folder, so keep every class folder, empty ones count",
                    params=("clean_root",))

    def images_key(self) -> str:
        """As ``GeneratedSuite.images_key`` but for images stored as the release stores them (the
        key of the make-suite folder of the same settings), and the byte-changing options."""
        key = generated_key(suite=self.name, dataset=self.source.get("dataset"), clean=self.source_fingerprint(),
                            seed=self.seed, generator_version=generator_version(),
                            count=min(self.limit or len(self.labels), len(self.labels)), preset=self.preset,
                            chunk_size=self.chunk_size,
                            stored=self._stored(),
                            device=self.device.type)
        return options_key(key, self.options)

    def _stored(self) -> str:
        """How the make-suite folder of the same settings stores the images."""
        if self.final_save is None:
            return "exact"
        return "jpeg-q85" if self.kind == "c" else stored_as(x264_build())

    def metadata(self) -> dict:
        meta = super().metadata()
        meta["label"] = self.label
        meta["source"] = {**meta["source"], "clean_fingerprint": self.source_fingerprint()}
        meta["generator"].update(
            resolution=self.resolution, options=self.options,
            clean_decoder=self.images.decoder,
            final_save=self.final_save.describe(self.device) if self.final_save is not None else
            "none: frames scored as generated (video_codec='none', not the release's x264 videos)")
        return meta


def open_generated(
    suite: str,
    clean_root,
    *,
    limit=None,
    corruptions=None,
    severities=None,
    difficulty=None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    resolution: int | None = None,
    fast_jpeg: bool = False,
    clean_decoder: str = "pil",
    video_codec: str = "x264",
    cache: bool | None = None,
    threads: int | None = None,
) -> PipelineSuite:
    """``suite`` (imagenet-c, tinyimagenet-c or imagenet-p) made on the fly from the clean
    ``<clean_root>/<wnid>/<file>`` folder (ImageNet val; Tiny-ImageNet: 64 px images in class
    folders). ``resolution`` (ImageNet-C only), ``fast_jpeg`` (GPU-side final save, other bytes)
    and ``clean_decoder`` ("nvjpeg": clean JPEGs decoded and resized on the CUDA device, other
    bytes) and ``video_codec`` (imagenet-p: "x264", the release's encoding, or "none": the frames
    as generated, other bytes) are recorded in the metadata. ``cache=None`` keeps the decoded clean set in memory
    when it fits (``_cache_device``), so the 75 cells decode each clean image once; ``cache=False``
    decodes it for every cell."""
    if suite in RELEASED_ONLY:
        raise UserError(RELEASED_ONLY[suite])
    if suite not in GENERATED:
        raise UserError(f"cannot generate suite {suite!r} from a clean folder; expected one of: "
                        f"{', '.join(GENERATED)}")
    kind, preset, dataset, size, _ = GENERATED[suite]
    if clean_root is None:
        raise UserError(f"generate=True needs clean_root: the clean {dataset} folder of <wnid>/ class folders",
                        params=("generate", "clean_root"))
    resolution = check_resolution(suite, resolution)
    if fast_jpeg and kind == "p":
        raise UserError("fast_jpeg applies to the JPEG save of -C suites; imagenet-p has none", params=("fast_jpeg",))
    if video_codec not in CODECS:
        raise UserError(f"unknown video_codec {video_codec!r}; expected one of: {', '.join(CODECS)}")
    if video_codec != "x264" and kind == "c":
        raise UserError(f"video_codec applies to the videos of imagenet-p; {suite} has none")
    if clean_decoder not in DECODERS:
        raise UserError(f"unknown clean_decoder {clean_decoder!r}; expected one of: {', '.join(DECODERS)}")
    device = resolve_device(device)
    if clean_decoder == "nvjpeg" and device.type != "cuda":
        raise UserError(f"clean_decoder 'nvjpeg' needs a CUDA GPU to decode on; device is {device}",
                        params=("clean_decoder", "device"))
    decode_device = device if clean_decoder == "nvjpeg" else torch.device("cpu")
    clean = CleanImages(clean_root, resolution=resolution, resize=suite != "tinyimagenet-c",
                        decoder=clean_decoder, device=decode_device, cache=False, threads=threads)
    limit = check_limit(limit)
    count = min(limit or len(clean), len(clean))
    keep = _cache_device(count * 3 * resolution ** 2, decode_device, device) \
        if cache is not False else None
    if cache and keep is None:
        keep = decode_device
    if keep is not None:
        clean.hold_in_memory(keep)
    if kind == "c":
        names = select_names(corruptions, CORRUPTIONS, CORRUPTIONS + EXTRA, "corruption")
        levels = select_levels(severities, SEVERITIES, "severity")
        complete = names == list(CORRUPTIONS) and levels == list(SEVERITIES)
    else:
        names = select_names(corruptions, IMAGENET_P_TEST, PERTURBATIONS, "perturbation")
        levels = select_difficulties(severities, difficulty)
        complete = names == list(IMAGENET_P_TEST) and levels == [1]
    options = {k: v for k, v in (("resolution", resolution if resolution != size else None),
                                 ("fast_jpeg", True if fast_jpeg else None),
                                 ("clean_decoder", clean_decoder if clean_decoder != "pil" else None),
                                 ("video_codec", video_codec if video_codec != "x264" else None))
               if v is not None}
    if kind == "c":
        final_save = ReleasedSave(fast=fast_jpeg, threads=threads)
    else:
        final_save = VideoSave(threads=threads) if video_codec == "x264" else None
    return PipelineSuite(
        suite_name(suite, resolution), kind, clean, clean.labels, len(clean.classes), names=names, levels=levels,
        complete=complete, limit=limit, seed=seed, preset=preset, device=device,
        source={"dataset": dataset, "data_root": str(Path(clean_root)), "preprocessing": clean.preprocessing},
        rescale=resolution != RELEASED_SIZE and suite == "imagenet-c", options=options,
        final_save=final_save, resolution=resolution, label=suite_label(suite, resolution))
