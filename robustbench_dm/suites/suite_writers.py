"""Writers of the released on-disk formats for ``make_suite.py`` and its manifest ``suite.json``.

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

The pixels come from the generated suite of ``generated.py`` with the same seed, so a written
suite holds exactly the bytes the on-the-fly suite yields. Every file (npy) or cell folder is
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

import contextlib
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
from robustbench_dm.suites.cifar_p import sequence_name
from robustbench_dm.suites.generated import GeneratedSuite
from robustbench_dm.suites.h5 import H5_FILE, TMP_SUFFIX
from robustbench_dm.suites.released_jpeg import ReleasedSave
from robustbench_dm.suites.released_video import VideoSave
from robustbench_dm.suites.written import MANIFEST, manifest_cells

H5_ATTRS = ("suite", "seed", "generator_version", "preset", "source", "limit", "chunk_size")
# Settings a manifest may lack when written by an older make-suite (then taken from this run).
NEW_SETTINGS = ("clean_fingerprint", "device")


def check_manifest(out: Path, settings: dict, data_root) -> dict:
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


def record_cells(out: Path, manifest: dict, cells) -> None:
    """Add ``cells`` (finished) to the manifest's list, in registry order, and rewrite it."""
    order = {name: i for i, name in enumerate(CORRUPTIONS + EXTRA + PERTURBATIONS)}
    held = {tuple(c) for c in manifest["cells"]} | {(n, int(lv)) for n, lv in cells}
    manifest["cells"] = [list(c) for c in sorted(held, key=lambda c: (order.get(c[0], len(order)), c[0], c[1]))]
    write_text_atomic(out / MANIFEST, json.dumps(manifest, indent=1))


def save_npy_atomic(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    with open(tmp, "wb") as f:
        np.save(f, array)
    os.replace(tmp, path)


def write_npy(gen: GeneratedSuite, path: Path, levels: list[int], name: str, batch_size: int,
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


def write_folder(gen: GeneratedSuite, final: Path, name: str, level: int, classes: list[str],
                  stems: list[str], batch_size: int, tick: Callable[[int], None]) -> None:
    """One severity (-C) or difficulty (-P) folder of the released files in class folders, written
    aside then renamed: JPEG q85 images (``ReleasedSave.encode``) or x264 mp4 videos
    (``VideoSave.encode``), the bytes the on-the-fly suites read back."""
    tmp = final.with_name(f".{final.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    for c in classes:
        (tmp / c).mkdir(parents=True)
    if gen.kind == "c":
        save = ReleasedSave()
        encode, suffix = save.encode, ".JPEG"
    else:
        save = VideoSave()
        encode, suffix = partial(save.encode, perturbation=name), ".mp4"
    with contextlib.closing(save):  # one pool per folder, stopped when it is written
        for images, labels, index in gen.iter_cell(name, level, batch_size):
            for data, label, i in zip(encode(images), labels.tolist(), index.tolist()):
                (tmp / classes[label] / f"{stems[i]}{suffix}").write_bytes(data)
            tick(len(labels))
    os.replace(tmp, final)


def make_h5(gen: GeneratedSuite, out: Path, settings: dict, manifest: dict, labels: np.ndarray, kind: str,
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
        record_cells(out, manifest, [c for name, cells in cells_of.items() if name in file for c in cells])
        where = f"{file.filename}:/"
        todo = [u for u in units if u[0] not in file]
        skipped = [where + u[0] for u in units if u[0] in file]
        with Progress(len(todo) * n * (5 if kind == "c" else 1), f"make-suite {settings['suite']}",
                      unit="img" if kind == "c" else "video", show=progress) as bar:
            for name, cell, unit_levels in todo:
                bar.cell(name)
                _write_h5(gen, file, unit_levels, name, cell, batch_size, bar.update)
                record_cells(out, manifest, cells_of[name])
                bar.cell_done()
    return {"written": [where + u[0] for u in todo], "skipped": skipped}
