"""Writers of the released on-disk formats from a clean set (``robust-eval make-suite``).

- ``npy`` -C: ``<out>/<corruption>.npy`` uint8 (5n, H, W, 3), severity s = rows [(s-1)n, sn),
  plus ``labels.npy`` (the n labels 5 times), as CIFAR-10-C.
- ``folder`` -C: ``<out>/<corruption>/<severity>/<class>/<file>.JPEG`` saved with PIL
  ``quality=85, optimize=True`` (make_imagenet_c.py's final save), as ImageNet-C.
- ``folder`` imagenet-p: ``<out>/<perturbation>[_<d>]/<class>/<file>.mp4``, H.264 by libx264 with
  the release's settings (``released_video.py``), as ImageNet-P.
- ``npy`` -P: ``<out>/<perturbation>[_<d>].npy`` uint8 (n, T, 32, 32, 3) (``_<d>`` for noise at
  difficulty d > 1), plus ``labels.npy`` (n,), as CIFAR-10-P.
- ``h5`` -C and -P: the same arrays as datasets of one ``<out>/suite.h5`` (layout in ``h5.py``),
  one image (video) per chunk, gzip level 1.

A ``folder`` suite loads back with ``get_suite("imagenet-c", out)`` (any image size, as stored)
or ``get_suite("imagenet-p", out)``;
npy and h5 suites with the suite's own name (``cifar10-c``, ``fmnist-c``, ``fmnist-p``, ...).

The pixels come from the generated suite of ``generated.py`` with the same seed, so a written
suite holds exactly the bytes the on-the-fly suite yields. Every file (npy) or severity folder is
written to a hidden temporary name and renamed when complete: a killed run leaves only finished
units, and running again skips them. ``<out>/suite.json`` records the settings; resuming with
different settings is refused; it also lists the cells the folder holds (updated as each unit
is finished), the clean data root as given and ``clean_fingerprint`` (what the source set held,
see ``provenance.py``), so a scored written suite carries all of it (``written.py``). An h5
dataset is generated into a hidden temporary file, copied into ``suite.h5`` as ``<name>.tmp``,
flushed, then renamed to ``<name>``: an interrupted run leaves no dataset under a final name;
leftover ``.tmp`` datasets are deleted when the run is resumed.
"""

from __future__ import annotations

import json
import os
import shutil
from functools import partial
from pathlib import Path
from typing import Callable

import h5py
import numpy as np

from corruptions import CORRUPTIONS, EXTRA, PERTURBATIONS
from robustbench_dm.atomic import write_text_atomic
from robustbench_dm.errors import UserError
from robustbench_dm.outdir import LOCK_NAME
from robustbench_dm.progress import Progress
from robustbench_dm.suites.base import check_limit, select_difficulties, select_levels, select_names
from robustbench_dm.suites.cifar_p import CIFAR_P_TEST, sequence_file, sequence_name
from robustbench_dm.suites.clean import NUM_CLASSES, load_clean
from robustbench_dm.suites.generated import GeneratedSuite, generator_version
from robustbench_dm.suites.h5 import H5_FILE, TMP_SUFFIX
from robustbench_dm.suites.imagenet_generated import GENERATED, check_resolution, suite_label, suite_name
from robustbench_dm.suites.imagenet_p import IMAGENET_P_TEST, sequence_folder
from robustbench_dm.suites.imagenet_pipeline import CleanImages
from robustbench_dm.suites.released_jpeg import ReleasedSave
from robustbench_dm.suites.released_video import VideoSave
from robustbench_dm.suites.written import MANIFEST, manifest_cells

# suite -> (kind, preset, default format)
TARGETS = {
    "cifar10-c": ("c", "cifar", "npy"), "cifar100-c": ("c", "cifar", "npy"), "fmnist-c": ("c", "cifar", "npy"),
    "imagenet-c": ("c", "imagenet", "folder"), "tinyimagenet-c": ("c", "tinyimagenet", "folder"),
    "cifar10-p": ("p", "cifar", "npy"), "cifar100-p": ("p", "cifar", "npy"), "fmnist-p": ("p", "cifar", "npy"),
    "imagenet-p": ("p", "imagenet", "folder"),
}
FORMATS = {"c": ("npy", "folder", "h5"), "p": ("npy", "h5"), "imagenet-p": ("folder",)}  # by kind or suite
SOURCES = ("cifar10", "cifar100", "fashion-mnist", "imagenet", "tinyimagenet")
H5_ATTRS = ("suite", "seed", "generator_version", "preset", "source", "limit", "chunk_size")
PRESET_SIZE = {"cifar": 32, "imagenet": 224, "tinyimagenet": 64}
# Settings a manifest may lack when written by an older make-suite (then taken from this run).
NEW_SETTINGS = ("clean_fingerprint", "device")


def _source(dataset: str, data_root, resolution: int):
    """(images: tensor or CleanImages, labels, class folder names, file stems); ImageNet at
    ``resolution``."""
    if dataset not in SOURCES:
        raise UserError(f"unknown source dataset {dataset!r}; expected one of: {', '.join(SOURCES)}")
    if data_root is None or not Path(data_root).exists():
        raise UserError(f"data root {data_root} does not exist; expected the clean {dataset} files")
    if dataset in ("imagenet", "tinyimagenet"):  # the clean side of the released pipeline
        folder = CleanImages(data_root, resize=dataset == "imagenet",
                             resolution=resolution if dataset == "imagenet" else PRESET_SIZE[dataset])
        return folder, folder.labels, folder.classes, [stem for stem, _ in folder.keys]
    images, labels = load_clean(dataset, data_root, "test")
    classes = [f"{c:0{len(str(NUM_CLASSES[dataset] - 1))}d}" for c in range(NUM_CLASSES[dataset])]
    return images, labels, classes, [f"{i:0{len(str(len(labels) - 1))}d}" for i in range(len(labels))]


def _check_manifest(out: Path, settings: dict, data_root) -> dict:
    """The manifest of ``out`` (created, or the existing one when its settings match): the
    ``settings`` plus ``data_root`` as given and the ``cells`` held so far."""
    path = out / MANIFEST
    if path.is_file():
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError):
            raise UserError(f"{path} is not a readable make-suite manifest") from None
        diff = [k for k in settings if old.get(k) != settings[k] and not (k in NEW_SETTINGS and k not in old)]
        if diff:
            raise UserError(f"{out} holds a suite made with other settings ({', '.join(diff)}: "
                            f"{[old.get(k) for k in diff]} here, {[settings[k] for k in diff]} asked); "
                            "choose another out", params=("out",))
        return {**old, **settings, "data_root": old.get("data_root", str(data_root)),
                "cells": [list(c) for c in manifest_cells(old) or []]}
    if out.exists() and any(p.name not in (MANIFEST, LOCK_NAME) for p in out.iterdir()):
        raise UserError(f"output folder {out} is not empty and holds no {MANIFEST}; expected a new or "
                        "make-suite folder")
    out.mkdir(parents=True, exist_ok=True)
    manifest = {**settings, "data_root": str(data_root), "cells": []}
    write_text_atomic(path, json.dumps(manifest, indent=1))
    return manifest


def _record_cells(out: Path, manifest: dict, cells) -> None:
    """Add ``cells`` (finished) to the manifest's list, in registry order, and rewrite it."""
    order = {name: i for i, name in enumerate(CORRUPTIONS + EXTRA + PERTURBATIONS)}
    held = {tuple(c) for c in manifest["cells"]} | {(n, int(lv)) for n, lv in cells}
    manifest["cells"] = [list(c) for c in sorted(held, key=lambda c: (order.get(c[0], len(order)), c[0], c[1]))]
    write_text_atomic(out / MANIFEST, json.dumps(manifest, indent=1))


def _save_npy_atomic(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    with open(tmp, "wb") as f:
        np.save(f, array)
    os.replace(tmp, path)


def _write_npy(gen: GeneratedSuite, path: Path, levels: list[int], name: str, batch_size: int,
               tick: Callable[[int], None]) -> None:
    """Stack ``levels`` of cell ``name`` row-wise into one memory-mapped .npy, then rename."""
    tmp = path.with_name(f".{path.name}.partial")
    n, array, row = gen.cell_size(name, levels[0]), None, 0
    for level in levels:
        for images, _, _ in gen.iter_cell(name, level, batch_size):
            data = images.cpu().numpy()
            data = np.moveaxis(data, -3, -1)  # ... C H W -> ... H W C
            if array is None:
                array = np.lib.format.open_memmap(tmp, "w+", np.uint8, (n * len(levels),) + data.shape[1:])
            array[row:row + len(data)] = data
            row += len(data)
            tick(len(data))
    array.flush()
    del array
    os.replace(tmp, path)


def _open_h5_out(out: Path, settings: dict, labels: np.ndarray) -> h5py.File:
    """``suite.h5`` for appending: created with its attributes and labels, stale ``.tmp`` gone."""
    path = out / H5_FILE
    if not path.is_file():
        tmp = out / f".{H5_FILE}.partial"
        with h5py.File(tmp, "w") as f:
            f.attrs.update({k: 0 if settings[k] is None else settings[k] for k in H5_ATTRS})
            f.create_dataset("labels", data=labels)
        os.replace(tmp, path)
    try:
        file = h5py.File(path, "a")
    except OSError as err:
        raise UserError(f"{path} is not a readable HDF5 file ({err}); remove it and run make-suite again") from None
    for name in [n for n in file if n.endswith(TMP_SUFFIX)]:
        del file[name]
    return file


def _write_h5(gen: GeneratedSuite, file: h5py.File, levels: list[int], name: str, cell: str,
              batch_size: int, tick: Callable[[int], None]) -> None:
    """Dataset ``name`` (``levels`` of ``cell`` stacked row-wise) written aside, copied into
    ``file`` as ``<name>.tmp``, flushed, then renamed to ``name``."""
    tmp = Path(file.filename).with_name(f".{name}.h5.partial")
    n, row = gen.cell_size(cell, levels[0]), 0
    with h5py.File(tmp, "w") as part:
        dataset = None
        for level in levels:
            for images, _, _ in gen.iter_cell(cell, level, batch_size):
                data = np.moveaxis(images.cpu().numpy(), -3, -1)  # ... C H W -> ... H W C
                if dataset is None:
                    dataset = part.create_dataset(name, (n * len(levels),) + data.shape[1:], np.uint8,
                                                  chunks=(1,) + data.shape[1:], compression="gzip",
                                                  compression_opts=1)
                dataset[row:row + len(data)] = data
                row += len(data)
                tick(len(data))
        file.copy(dataset, name + TMP_SUFFIX)
    file.flush()
    file.move(name + TMP_SUFFIX, name)
    file.flush()
    tmp.unlink()


def _write_folder(gen: GeneratedSuite, final: Path, name: str, level: int, classes: list[str],
                  stems: list[str], batch_size: int, tick: Callable[[int], None]) -> None:
    """One severity (-C) or difficulty (-P) folder of the released files in class folders, written
    aside then renamed: JPEG q85 images (``ReleasedSave.encode``) or x264 mp4 videos
    (``VideoSave.encode``), the bytes the on-the-fly suites read back."""
    tmp = final.with_name(f".{final.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    for c in classes:
        (tmp / c).mkdir(parents=True)
    if gen.kind == "c":
        encode, suffix = ReleasedSave().encode, ".JPEG"
    else:
        encode, suffix = partial(VideoSave().encode, perturbation=name), ".mp4"
    for images, labels, index in gen.iter_cell(name, level, batch_size):
        for data, label, i in zip(encode(images), labels.tolist(), index.tolist()):
            (tmp / classes[label] / f"{stems[i]}{suffix}").write_bytes(data)
        tick(len(labels))
    os.replace(tmp, final)


def make_suite(
    suite: str,
    source: str,
    data_root: str | Path,
    out: str | Path,
    *,
    fmt: str | None = None,
    seed: int = 0,
    corruptions=None,
    severities=None,
    limit: int | None = None,
    batch_size: int = 256,
    device: str = "cpu",
    progress: bool | None = None,
    resolution: int | None = None,
) -> dict:
    """Write ``suite`` (e.g. ``cifar10-c``, ``fmnist-p``, ``imagenet-c``) made from the clean
    ``source`` set under ``data_root`` into ``out``; returns {"written": [...], "skipped": [...]}.

    ``severities`` selects difficulties for -P suites. ``resolution`` (imagenet-c only): the
    suite ``imagenet-c-<R>px`` of ``score --generate --resolution R`` (docs/resolution.md),
    recorded in the manifest as ``options`` with its ``label``. ``progress=None`` reports progress on stderr
    (a bar on a terminal, else a line every 30 s and per file: :class:`robustbench_dm.progress.Progress`).
    """
    if suite not in TARGETS:
        raise UserError(f"cannot make suite {suite!r}; expected one of: {', '.join(TARGETS)}")
    kind, preset, default_fmt = TARGETS[suite]
    fmt = fmt or default_fmt
    formats = FORMATS.get(suite, FORMATS[kind])  # ImageNet-P as mp4 videos only: no reader of its arrays
    if fmt not in formats:
        raise UserError(f"format {fmt!r} is not available for {suite}; expected one of: {', '.join(formats)}")
    limit = check_limit(limit)
    if kind == "c":
        names = select_names(corruptions, CORRUPTIONS, CORRUPTIONS + EXTRA, "corruption")
        levels = select_levels(severities, (1, 2, 3, 4, 5), "severity")
        if fmt in ("npy", "h5") and levels != [1, 2, 3, 4, 5]:
            raise UserError(f"the {fmt} format stacks all 5 severities in one file; got severities {levels}")
    else:
        names = select_names(corruptions, IMAGENET_P_TEST if suite == "imagenet-p" else CIFAR_P_TEST,
                             PERTURBATIONS, "perturbation")
        levels = select_difficulties(severities, None)
    size = PRESET_SIZE[preset]
    if resolution is not None:
        if suite not in GENERATED:
            raise UserError(f"resolution {resolution} is available for imagenet-c only; {suite} is "
                            f"made at its released size")
        size = check_resolution(suite, resolution)
    images, labels, classes, stems = _source(source, data_root, size)
    if tuple(images[0:1].shape[-2:]) != (size, size):
        raise UserError(f"{suite} uses the {preset} severity tables made for {size} px images; "
                        f"{source} gives {images[0:1].shape[-1]}x{images[0:1].shape[-2]} px")
    options = {"resolution": size} if size != PRESET_SIZE[preset] else {}
    name = suite_name(suite, size) if options else suite
    gen = GeneratedSuite(name, kind, images, labels, len(classes), names=names, levels=levels, complete=False,
                         limit=limit, seed=seed, preset=preset, device=device,
                         source={"dataset": source, "data_root": str(data_root)}, rescale=bool(options),
                         options=options)
    out = Path(out)
    settings = {"suite": name, "source": source, "format": fmt, "seed": seed, "limit": limit,
                "preset": preset, "generator_version": generator_version(), "chunk_size": gen.chunk_size,
                "clean_fingerprint": gen.source_fingerprint(), "device": gen.device.type}
    if options:  # only then: the manifests of the released sizes keep their fields
        settings.update(options=options, label=suite_label(suite, size))
    manifest = _check_manifest(out, settings, data_root)
    n = gen.cell_size(names[0], levels[0])
    dtype = np.uint8 if len(classes) <= 256 else np.int64
    labels_np = np.tile(labels[:n].numpy(), 5 if kind == "c" else 1).astype(dtype)
    if fmt == "npy" and not (out / "labels.npy").is_file():
        _save_npy_atomic(out / "labels.npy", labels_np)

    if fmt == "h5":
        return _make_h5(gen, out, settings, manifest, labels_np, kind, names, levels, n, batch_size, progress)
    if kind == "c" and fmt == "npy":
        units = [(out / f"{c}.npy", c, levels) for c in names]
    elif kind == "c":
        units = [(out / c / str(s), c, [s]) for c in names for s in levels]
    elif fmt == "folder":  # one folder per (perturbation, difficulty); non-noise difficulties share d=1
        units = [(sequence_folder(out, p, d), p, [d]) for p in names for d in levels]
    else:  # one file per (perturbation, difficulty); non-noise difficulties share the d=1 file
        units = [(sequence_file(out, p, d), p, [d]) for p in names for d in levels]
    cells_of = {}  # unit path -> the cells it holds
    for path, name, unit_levels in units:
        cells_of.setdefault(path, []).extend((name, lv) for lv in unit_levels)
    _record_cells(out, manifest, [c for path, cells in cells_of.items() if path.exists() for c in cells])
    units = list({u[0]: u for u in units}.values())
    todo = [u for u in units if not u[0].exists()]
    skipped = [str(u[0]) for u in units if u[0].exists()]
    with Progress(len(todo) * n * (5 if kind == "c" and fmt == "npy" else 1), f"make-suite {suite}",
                  unit="img" if kind == "c" else "video", show=progress) as bar:
        for path, name, unit_levels in todo:
            bar.cell(path.name)
            if fmt == "folder":
                path.parent.mkdir(parents=True, exist_ok=True)
                _write_folder(gen, path, name, unit_levels[0], classes, stems, batch_size, bar.update)
            else:
                _write_npy(gen, path, unit_levels, name, batch_size, bar.update)
            _record_cells(out, manifest, cells_of[path])
            bar.cell_done()
    return {"written": [str(u[0]) for u in todo], "skipped": skipped}


def _make_h5(gen: GeneratedSuite, out: Path, settings: dict, manifest: dict, labels: np.ndarray, kind: str,
             names: list[str], levels: list[int], n: int, batch_size: int, progress: bool | None) -> dict:
    """The h5 branch of ``make_suite``: one dataset per unit of ``out/suite.h5``, skipping finished ones."""
    if kind == "c":
        units = [(c, c, levels) for c in names]
    else:  # one dataset per (perturbation, difficulty); non-noise difficulties share the d=1 one
        units = [(sequence_name(p, d), p, [d]) for p in names for d in levels]
    cells_of = {}  # dataset name -> the cells it holds
    for name, cell, unit_levels in units:
        cells_of.setdefault(name, []).extend((cell, lv) for lv in unit_levels)
    units = list({u[0]: u for u in units}.values())
    with _open_h5_out(out, settings, labels) as file:
        _record_cells(out, manifest, [c for name, cells in cells_of.items() if name in file for c in cells])
        where = f"{file.filename}:/"
        todo = [u for u in units if u[0] not in file]
        skipped = [where + u[0] for u in units if u[0] in file]
        with Progress(len(todo) * n * (5 if kind == "c" else 1), f"make-suite {settings['suite']}",
                      unit="img" if kind == "c" else "video", show=progress) as bar:
            for name, cell, unit_levels in todo:
                bar.cell(name)
                _write_h5(gen, file, unit_levels, name, cell, batch_size, bar.update)
                _record_cells(out, manifest, cells_of[name])
                bar.cell_done()
    return {"written": [where + u[0] for u in todo], "skipped": skipped}
