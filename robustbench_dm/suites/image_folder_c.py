"""Folder -C suites: ImageNet-C, Tiny-ImageNet-C, ImageNet-3DCC.

Layout ``<root>/<corruption>/<severity>/<wnid>/<file>`` (JPEG/PNG). Class index = position of
the wnid in the sorted class folders; the class count comes from the folders (so class subsets
such as ImageNet-100-C work the same way). Images are fed as stored (ImageNet-C is already
224x224: no resize, no crop, as in HR and RB); ``preprocessing="augmix"`` applies AugMix's
Resize(256) + CenterCrop(224) instead. Every selected cell is listed when the suite is opened
(a cell holding other images is refused before any is scored); images are decoded per batch.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Callable, Iterator, Sequence

import torch

from corruptions import CORRUPTIONS, EXTRA
from robustbench_dm.errors import UserError
from robustbench_dm.suites.base import Batch, Suite, check_limit, select_levels, select_names
from robustbench_dm.suites.clean_imagenet import PREPROCESSING as CLEAN_PREPROCESSING
from robustbench_dm.suites.clean_imagenet import ImageNetFolder
from robustbench_dm.suites.folders import (IMAGE_EXTENSIONS, PREPROCESSING, class_folders, decode_batch,
                                          decode_on_device, list_files)
from robustbench_dm.suites.crop import resize_size
from robustbench_dm.suites.families import registered_suite
from robustbench_dm.suites.imagenet_pipeline import clean_image
from robustbench_dm.suites.provenance import (clean_fingerprint, files_fingerprint, files_size,
                                              released_key)
from robustbench_dm.suites.registry import SuiteFactory, register_suite
from robustbench_dm.suites.written import Written, stored_provenance, stored_subset, written_images_key

SEVERITIES = (1, 2, 3, 4, 5)
CORRUPTIONS_3DCC = ("near_focus", "far_focus", "fog_3d", "flash", "color_quant", "low_light",
                    "xy_motion_blur", "z_motion_blur", "iso_noise", "bit_error", "h265_abr", "h265_crf")

Listing = list[tuple[str, str, Path]]
JPEG_SUFFIXES = (".jpeg", ".jpg")
#: the registered suites whose factory reads ``<corruption>/<severity>/<class>`` folders itself
FOLDER_SUITES = ("imagenet-c", "tinyimagenet-c", "imagenet-3dcc")
#: the folder suites whose clean val images ``clean_root`` adds as the clean cell
CLEAN_ROOT_SUITES = ("imagenet-c", "tinyimagenet-c")
#: the generic reading of a make-suite folder: any -C suite, as its manifest names it
GENERIC = "imagenet-c"


def written_suite(written: Written, asked: str, root: Path) -> str:
    """The suite a make-suite folder asked for as ``asked`` is read as: the -C suite its manifest
    names, asked for by the generic ``imagenet-c`` or by its own registered name (``cifar10-c``,
    ``imagenet-c`` for ``imagenet-c-384px``); another name, a -P suite or arrays are a ``UserError``
    naming the folder, the suite its suite.json records and the suite asked for."""
    recorded = written.manifest["suite"]
    own = registered_suite(recorded)
    if written.kind != "c" or asked not in (GENERIC, own):
        raise UserError(f"{root} holds a {recorded} suite written by make-suite ({written.path}), not "
                        f"{asked}; score it as {own}")
    if written.manifest.get("format") != "folder":
        raise UserError(f"{root} holds a {recorded} suite written by make-suite in {written.manifest.get('format')} "
                        f"format ({written.path}), not the <corruption>/<severity>/<class> folders {asked} "
                        f"reads; score it as {own}")
    return recorded


def folder_reader(name: str, data_root) -> SuiteFactory | None:
    """The factory ``get_suite(name, data_root)`` opens a make-suite folder of -C images with when
    ``name``'s own factory reads other files (``cifar10-c``, ``fmnist-c``: arrays): this folder
    reader, as the suite the folder's manifest names; None when ``name``'s factory reads it."""
    if name in FOLDER_SUITES:
        return None
    written = Written.open(data_root)
    if written is None or written.manifest.get("format") != "folder" or written.kind != "c":
        return None
    return partial(_written_folder, name)


def _written_folder(name: str, data_root, *, limit=None, corruptions=None, severities=None, clean_root=None,
                    generate=False, **generation) -> Suite:
    """A make-suite folder asked for as suite ``name`` (``generate`` is False here); options of
    suites made on the fly (``seed``, ``device``) are refused."""
    _check_released(**generation)
    return ImageFolderCSuite(name, data_root, benchmark=CORRUPTIONS, extras=EXTRA, limit=limit,
                             corruptions=corruptions, severities=severities, clean_root=clean_root)


class ImageFolderCSuite(Suite):
    """A ``<corruption>/<severity>/<wnid>/<file>`` tree, streamed in (stem, wnid) order."""

    kind = "c"

    def __init__(self, name: str, data_root, *, benchmark: Sequence[str], extras: Sequence[str],
                 limit=None, corruptions=None, severities=None, preprocessing="none", clean_root=None):
        if data_root is None:
            raise UserError(f"suite {name!r} needs a data root (the folder of <corruption>/<severity>/ folders)")
        self.name, self.root = name, Path(data_root)
        if not self.root.is_dir():
            raise UserError(f"data root {self.root} does not exist; expected "
                            "<root>/<corruption>/<severity>/<wnid>/<image>")
        if preprocessing not in PREPROCESSING:
            raise UserError(f"unknown preprocessing {preprocessing!r}; expected one of: {', '.join(PREPROCESSING)}")
        self.preprocessing = preprocessing
        self.data_root = str(data_root)
        self.limit = check_limit(limit)
        self.names = list(benchmark) + list(extras)
        self.written, self.label = Written.open(data_root), None
        if self.written is not None:  # a make-suite folder is the suite its manifest names
            self.name, self.label = written_suite(self.written, name, self.root), self.written.manifest.get("label")
        options = (self.written.manifest.get("options") or {}) if self.written is not None else {}
        self.resolution = options.get("resolution")
        if preprocessing != "none" and (self.resolution is not None  # its clean cell is at the resolution
                                        or registered_suite(self.name) not in ("imagenet-c", "imagenet-3dcc")):
            raise UserError(f"preprocessing {preprocessing!r} resizes ImageNet images to 224 px; {self.root} holds "
                            f"a {self.name} suite, read as stored", params=("preprocessing",))
        if clean_root is not None and registered_suite(self.name) not in CLEAN_ROOT_SUITES:
            raise UserError(f"clean_root adds the clean val images of an imagenet-c or tinyimagenet-c folder as its "
                            f"clean cell; {self.root} holds a {self.name} suite, read without a clean cell",
                            params=("clean_root",))
        if self.written is not None and self.written.cells is not None:
            self._cells = self.written.select(corruptions, severities, self.names, SEVERITIES, "corruption", "severity")
            self._complete = self.written.complete(self._cells, [(c, s) for c in benchmark for s in SEVERITIES], limit)
        else:
            default = list(benchmark) + [c for c in extras if (self.root / c).is_dir()]
            names = select_names(corruptions, default, self.names, "corruption")
            levels = select_levels(severities, SEVERITIES, "severity")
            self._cells = [(c, s) for c in names for s in levels]
            self._complete = names == default and levels == list(SEVERITIES) and (
                self.written is None or self.written.manifest.get("limit") is None)
        self.corruptions = list(dict.fromkeys(c for c, _ in self._cells))
        self.severities = sorted({s for _, s in self._cells})
        for c, s in self._cells:
            if not (self.root / c / str(s)).is_dir():
                raise UserError(f"missing folder {self.root / c / str(s)}; expected the images of "
                                f"{c} at severity {s} in <wnid>/ class folders")
        first = self.root / self._cells[0][0] / str(self._cells[0][1])
        self.classes = class_folders(first)
        self.num_classes = len(self.classes)
        self._class_index = {w: i for i, w in enumerate(self.classes)}
        self._listings: dict[tuple[str, int], Listing] = {}
        reference = self._listing(*self._cells[0])
        if not reference:
            raise UserError(f"{first} holds no JPEG/PNG images in its class folders")
        self.keys = [(stem, wnid) for stem, wnid, _ in reference]
        for cell in self._cells[1:]:
            self._listing(*cell)
        self.size = (None if preprocessing == "augmix"
                     else tuple(decode_batch([reference[0][2]], "none", None).shape[-2:]))
        self.clean_root = Path(clean_root) if clean_root is not None else None
        self.clean_root_given = None if clean_root is None else str(clean_root)
        self.clean_source_fingerprint = None
        self._fingerprints: dict[tuple[str, int], str] = {}
        self.clean = self._clean_paths() if self.clean_root is not None else None

    def _listing(self, corruption: str, severity: int) -> Listing:
        if (corruption, severity) not in self._listings:
            directory = self.root / corruption / str(severity)
            files = list_files(directory, self.classes, IMAGE_EXTENSIONS)
            if self._listings and [(s, w) for s, w, _ in files] != self.keys:
                theirs = {(s, w) for s, w, _ in files}
                missing = [k for k in self.keys if k not in theirs]
                detail = (f"{directory / missing[0][1] / missing[0][0]}.* is missing" if missing
                          else "it holds images the other cells do not")
                raise UserError(f"{directory} does not hold the same images as the other cells: {detail}")
            self._listings[(corruption, severity)] = files
        return self._listings[(corruption, severity)]

    def _clean_paths(self) -> list[Path]:
        folder = ImageNetFolder(self.clean_root)
        if folder.classes != self.classes:
            raise UserError(f"class folders of {self.clean_root} differ from those of {self.root}")
        if self.written is not None:  # does the clean cell hold the suite's source images?
            self.clean_source_fingerprint = clean_fingerprint(folder, folder.labels)
        by_key = {(stem, wnid): path for stem, wnid, path in folder.files}
        missing = [k for k in self.keys if k not in by_key]
        if missing:
            raise UserError(f"clean folder {self.clean_root} lacks {missing[0][1]}/{missing[0][0]}.*; "
                            f"expected every image of {self.root}")
        return [by_key[k] for k in self.keys]

    def cells(self) -> list[tuple[str, int]]:
        first = [("clean", 0)] if self.clean is not None else []
        return first + list(self._cells)

    def cell_size(self, name: str, level: int) -> int:
        self._check_cell(name, level)
        if name != "clean":
            self._listing(name, level)  # validates that the cell holds the reference images
        return min(self.limit or len(self.keys), len(self.keys))

    def _feed(self, name: str, level: int) -> tuple[list[Path], str, tuple[int, int] | None]:
        """(files after ``limit``, preprocessing, size) of cell ``(name, level)``: the clean cell
        gets AugMix's Resize + CenterCrop (Tiny-ImageNet's: as stored, the corrupted cells' size),
        the corrupted cells the suite's preprocessing."""
        paths = list(self._paths(name, level)[1])
        if name != "clean":
            return paths, self.preprocessing, self.size
        if self._clean_as_stored():
            return paths, "none", self.size
        return paths, "augmix", (224, 224)

    def _clean_as_stored(self) -> bool:
        """Whether the clean cell is read as stored (Tiny-ImageNet's 64 px val images), not with
        AugMix's Resize + CenterCrop."""
        return registered_suite(self.name) == "tinyimagenet-c"

    def jpeg_as_stored(self, name: str, level: int) -> bool:
        """Whether every file of the cell is a JPEG fed without resizing (what nvJPEG decodes)."""
        paths, preprocessing, _ = self._feed(name, level)
        return preprocessing == "none" and all(p.suffix.lower() in JPEG_SUFFIXES for p in paths)

    def iter_share(self, name: str, level: int, lo: int, hi: int, batch_size: int, *,
                   gpu_decode: torch.device | None = None) -> Iterator[Batch]:
        """Decode only the files ``[lo, hi)`` of the cell; with ``gpu_decode``, JPEG cells fed
        as stored are decoded there by nvJPEG (other cells on the CPU). The clean cell of a suite
        written at another resolution R is the clean images as its generator saw them
        (Resize(round(R*256/224)) + CenterCrop(R))."""
        self._check_share(name, level, lo, hi, batch_size)
        paths, preprocessing, size = self._feed(name, level)
        if name == "clean" and self.resolution is not None:
            def decode(files):
                return torch.stack([clean_image(p, self.resolution) for p in files])
        elif gpu_decode is not None and self.jpeg_as_stored(name, level):
            stream = torch.cuda.Stream(gpu_decode)

            def decode(files):
                return decode_on_device(files, preprocessing, size, gpu_decode, stream)
        else:
            def decode(files):
                return decode_batch(files, preprocessing, size)
        return self._batches(paths, decode, lo, hi, batch_size)

    def _batches(self, paths: list[Path], decode: Callable[[list[Path]], torch.Tensor], lo: int, hi: int,
                 batch_size: int) -> Iterator[Batch]:
        for start in range(lo, hi, batch_size):
            stop = min(start + batch_size, hi)
            labels = torch.tensor([self._class_index[w] for _, w in self.keys[start:stop]], dtype=torch.int64)
            yield decode(paths[start:stop]), labels, torch.arange(start, stop, dtype=torch.int64)

    def _count(self) -> int:
        """Images per cell, after ``limit``."""
        return min(self.limit or len(self.keys), len(self.keys))

    def _paths(self, name: str, level: int) -> tuple[Path, list[Path]]:
        """(folder, files) cell ``(name, level)`` reads, after ``limit`` (any cell of the data
        root, selected or not; a folder that does not hold the suite's images is a ``UserError``)."""
        if name == "clean":
            return self.clean_root, self.clean[:self._count()]
        return self.root / name / str(level), [p for _, _, p in self._listing(name, level)[:self._count()]]

    def _fingerprint(self, name: str, level: int) -> str:
        if (name, level) not in self._fingerprints:
            self._fingerprints[(name, level)] = files_fingerprint(*self._paths(name, level))
        return self._fingerprints[(name, level)]

    def cell_fingerprint(self, name: str, level: int) -> str | None:
        """Names and sizes of the files the cell reads, full bytes of the first few."""
        self._check_cell(name, level)
        return self._fingerprint(name, level)

    def _released_key(self) -> str:
        """``released_key`` over every corruption/severity folder of the data root (selected or not)."""
        cells = {}
        for name in self.names:
            for level in SEVERITIES:
                if (self.root / name / str(level)).is_dir():
                    try:
                        cells[f"{name}/{level}"] = self._fingerprint(name, level)
                    except UserError:
                        continue  # not the images of the other cells: none of this suite's
        return released_key(cells, read=self.preprocessing)

    def images_key(self) -> str:
        """Images key (docs/internals.md): from the manifest of a written suite, else from the files."""
        if getattr(self, "_images_key", None) is None:
            self._images_key = written_images_key(self, self._count(), stored="jpeg-q85",
                                                  read=self.preprocessing,
                                                  released=self._released_key)
        return self._images_key

    def metadata(self) -> dict:
        clean_preprocessing = CLEAN_PREPROCESSING if self.resolution is None else \
            f"Resize({resize_size(self.resolution)}) + CenterCrop({self.resolution})"
        if self._clean_as_stored():
            clean_preprocessing = PREPROCESSING["none"]
        return {
            "suite": self.name,
            **({"label": self.label} if self.label else {}),
            "data_root": self.data_root,
            "clean_root": self.clean_root_given,
            "preprocessing": PREPROCESSING[self.preprocessing],
            "clean_preprocessing": clean_preprocessing if self.clean_root else None,
            "subset": stored_subset(self, self.corruptions, self.severities),
            "num_classes": self.num_classes,
            "provenance": stored_provenance(self, files_size(p for cell in self._cells for p in self._paths(*cell)[1])),
            "images_key": self.images_key(),
        }


@register_suite("imagenet-c", "ImageNet-C: <root>/<corruption>/<severity>/<wnid>/*.JPEG, 224 px as stored "
                "(or made on the fly from the ImageNet val folder); a make-suite folder of any -C suite is read "
                "as the suite its suite.json names")
def imagenet_c(data_root=None, *, limit=None, corruptions=None, severities=None, preprocessing="none",
               clean_root=None, generate=False, seed=0, device="cpu", resolution=None, fast_jpeg=False,
               clean_decoder="pil") -> Suite:
    """ImageNet-C (15 corruptions + the extras present). ``preprocessing``: "none" (as stored,
    default) or "augmix"; ``clean_root``: ImageNet val folder for the clean cell, or the source
    with ``generate=True`` (then ``seed``, ``device``, ``resolution``, ``fast_jpeg``,
    ``clean_decoder``: see ``imagenet_generated.open_generated``)."""
    if generate:
        if preprocessing != "none":
            raise UserError(f"preprocessing {preprocessing!r} applies to released files; a suite made on the fly "
                            "is made at 224 px (or at the resolution given)", params=("preprocessing", "resolution"))
        return _generated("imagenet-c", clean_root, limit=limit, corruptions=corruptions, severities=severities,
                          seed=seed, device=device, resolution=resolution, fast_jpeg=fast_jpeg,
                          clean_decoder=clean_decoder)
    _check_released(resolution=resolution, fast_jpeg=fast_jpeg, clean_decoder=clean_decoder)
    return ImageFolderCSuite("imagenet-c", data_root, benchmark=CORRUPTIONS, extras=EXTRA, limit=limit,
                             corruptions=corruptions, severities=severities,
                             preprocessing=preprocessing, clean_root=clean_root)


@register_suite("tinyimagenet-c", "Tiny-ImageNet-C: <root>/<corruption>/<severity>/<wnid>/*.JPEG, 64 px "
                "(or made on the fly from 64 px class folders)")
def tinyimagenet_c(data_root=None, *, limit=None, corruptions=None, severities=None, clean_root=None,
                   generate=False, seed=0, device="cpu", fast_jpeg=False) -> Suite:
    """Tiny-ImageNet-C (15 corruptions + the extras present), images as stored, with the 64 px
    ``clean_root/<wnid>/`` images as its clean cell if given; with ``generate=True`` made from
    those images instead."""
    if generate:
        return _generated("tinyimagenet-c", clean_root, limit=limit, corruptions=corruptions,
                          severities=severities, seed=seed, device=device, fast_jpeg=fast_jpeg)
    _check_released(fast_jpeg=fast_jpeg)
    return ImageFolderCSuite("tinyimagenet-c", data_root, benchmark=CORRUPTIONS, extras=EXTRA, limit=limit,
                             corruptions=corruptions, severities=severities, clean_root=clean_root)


@register_suite("imagenet-3dcc", "ImageNet-3DCC: 12 corruptions, <root>/<corruption>/<severity>/<wnid>/*.JPEG")
def imagenet_3dcc(data_root=None, *, limit=None, corruptions=None, severities=None, preprocessing="none",
                  generate=False, **generate_options) -> Suite:
    """ImageNet-3DCC; ``data_root`` is the ``ImageNet-3DCC`` folder or the folder holding it.
    Released files only (``generate=True`` is refused: the corruptions need depth maps)."""
    if generate:
        return _generated("imagenet-3dcc", None)
    if generate_options:
        raise UserError(f"suite 'imagenet-3dcc' does not take option(s) {', '.join(generate_options)}; "
                        "expected some of: limit, corruptions, severities, preprocessing")
    if data_root is not None and (Path(data_root) / "ImageNet-3DCC").is_dir():
        data_root = Path(data_root) / "ImageNet-3DCC"
    return ImageFolderCSuite("imagenet-3dcc", data_root, benchmark=CORRUPTIONS_3DCC, extras=(), limit=limit,
                             corruptions=corruptions, severities=severities, preprocessing=preprocessing)


def _generated(suite: str, clean_root, **options) -> Suite:
    from robustbench_dm.suites.imagenet_generated import open_generated  # imports this module

    return open_generated(suite, clean_root, **options)


def _check_released(**options) -> None:
    """Options of generated suites are refused when reading released files."""
    given = [k for k, v in options.items() if v not in (None, False, "pil")]
    if given:
        raise UserError(f"option {given[0]} applies to suites made on the fly (generate=True)",
                        params=(given[0], "generate"))
