"""``robust-eval make-suite``: a suite made from a clean set, written in a released on-disk format.

``make_suite`` picks the clean source (``CleanImages`` for ImageNet-style folders, at
``resolution`` for imagenet-c), the generated suite of ``generated.py`` with the seed, and the
units to write (a file, folder or h5 dataset per corruption / severity or perturbation /
difficulty), skipping those already finished; ``suite_writers.py`` writes each format
atomically and keeps the manifest ``<out>/suite.json``.

Every suite loads back with its own name (``get_suite("cifar10-c", out)``, ``fmnist-p``, ...;
``imagenet-c`` for ``imagenet-c-<R>px``). A -C ``folder`` suite (any image size, as stored) is
read as the suite its ``suite.json`` names, also through the generic ``get_suite("imagenet-c",
out)``; another suite name is refused (``image_folder_c.written_suite``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from corruptions import CORRUPTIONS, EXTRA, PERTURBATIONS
from robustbench_dm.errors import UserError
from robustbench_dm.progress import Progress
from robustbench_dm.suites.base import check_limit, select_difficulties, select_levels, select_names
from robustbench_dm.suites.cifar_p import CIFAR_P_TEST, sequence_file
from robustbench_dm.suites.clean import NUM_CLASSES, load_clean
from robustbench_dm.suites.families import SUITE_FAMILIES
from robustbench_dm.suites.generated import GeneratedSuite, generator_version
from robustbench_dm.suites.imagenet_generated import (
    GENERATED,
    RELEASED_ONLY,
    check_resolution,
    suite_label,
    suite_name,
)
from robustbench_dm.suites.imagenet_p import IMAGENET_P_TEST, sequence_folder
from robustbench_dm.suites.imagenet_pipeline import CleanImages
from robustbench_dm.suites.released_video import x264_build
from robustbench_dm.suites.suite_writers import (
    check_manifest,
    make_h5,
    record_cells,
    save_npy_atomic,
    write_folder,
    write_npy,
)

# suite -> (kind, preset, default format)
TARGETS = {
    "cifar10-c": ("c", "cifar", "npy"), "cifar100-c": ("c", "cifar", "npy"), "fmnist-c": ("c", "cifar", "npy"),
    "imagenet-c": ("c", "imagenet", "folder"), "tinyimagenet-c": ("c", "tinyimagenet", "folder"),
    "cifar10-p": ("p", "cifar", "npy"), "cifar100-p": ("p", "cifar", "npy"), "fmnist-p": ("p", "cifar", "npy"),
    "imagenet-p": ("p", "imagenet", "folder"),
}
FORMATS = {"c": ("npy", "folder", "h5"), "p": ("npy", "h5"), "imagenet-p": ("folder",)}  # by kind or suite
SOURCES = ("cifar10", "cifar100", "fashion-mnist", "imagenet", "tinyimagenet")
PRESET_SIZE = {"cifar": 32, "imagenet": 224, "tinyimagenet": 64}


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
    ``source`` set under ``data_root`` into ``out``; returns {"suite": the name it is read as
    (``imagenet-c-384px`` at another resolution), "written": [...], "skipped": [...]}.

    ``severities`` selects difficulties for -P suites. ``resolution`` (imagenet-c only): the
    suite ``imagenet-c-<R>px`` of ``score --generate --resolution R`` (docs/resolution.md),
    recorded in the manifest as ``options`` with its ``label``. ``progress=None`` reports progress on stderr
    (a bar on a terminal, else a line every 30 s and per file: :class:`robustbench_dm.progress.Progress`).
    """
    if suite in RELEASED_ONLY:
        raise UserError(RELEASED_ONLY[suite])
    if suite not in TARGETS:
        raise UserError(f"cannot make suite {suite!r}; expected one of: {', '.join(TARGETS)}")
    if source in SOURCES and source != SUITE_FAMILIES[suite]:
        raise UserError(f"{suite} is made from the {SUITE_FAMILIES[suite]} test set; source {source!r} would "
                        f"write {source} images under the name {suite}", params=("source",))
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
                            f"made at its released size", params=("resolution",))
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
    if suite == "imagenet-p":  # the mp4 bytes depend on the x264 build: resuming needs the same one
        settings["encoder"] = x264_build()
    manifest = check_manifest(out, settings, data_root)
    n = gen.cell_size(names[0], levels[0])
    dtype = np.uint8 if len(classes) <= 256 else np.int64
    labels_np = np.tile(labels[:n].numpy(), 5 if kind == "c" else 1).astype(dtype)
    if fmt == "npy" and not (out / "labels.npy").is_file():
        save_npy_atomic(out / "labels.npy", labels_np)

    if fmt == "h5":
        return {"suite": gen.name,
                **make_h5(gen, out, settings, manifest, labels_np, kind, names, levels, n, batch_size, progress)}
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
    record_cells(out, manifest, [c for path, cells in cells_of.items() if path.exists() for c in cells])
    units = list({u[0]: u for u in units}.values())
    todo = [u for u in units if not u[0].exists()]
    skipped = [str(u[0]) for u in units if u[0].exists()]
    with Progress(len(todo) * n * (5 if kind == "c" and fmt == "npy" else 1), f"make-suite {gen.name}",
                  unit="img" if kind == "c" else "video", show=progress) as bar:
        for path, name, unit_levels in todo:
            bar.cell(path.relative_to(out).as_posix())
            if fmt == "folder":
                path.parent.mkdir(parents=True, exist_ok=True)
                write_folder(gen, path, name, unit_levels[0], classes, stems, batch_size, bar.update)
            else:
                write_npy(gen, path, unit_levels, name, batch_size, bar.update)
            record_cells(out, manifest, cells_of[path])
            bar.cell_done()
    return {"suite": gen.name, "written": [str(u[0]) for u in todo], "skipped": skipped}
