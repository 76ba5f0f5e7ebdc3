"""Corruption galleries: the first image of each cell of a scored suite, read back through
`robustbench_dm.suites.get_suite` from what the results file recorded (generated suites are
regenerated with the recorded seed, so the image is the one scored); and, only when a suite's
images cannot be read, the bundled photograph under every registered corruption, labelled so.

Column titles are wrapped and shrunk until each fits its column, so no two titles overlap."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from functools import cache

import numpy as np
import torch
from PIL import Image

import corruptions
from corruptions.registry import registered_corruptions
from reports.document import Plot
from reports.load import CellKey, ScoredRun
from reports.plot_style import new_figure, per_cell
from reports.published import DATA
from reports.table_parts import short
from robustbench_dm.errors import UserError

SUITE_SIZE = {"cifar": 32, "tinyimagenet": 64, "imagenet": 224}
SHOWN_LEVELS = (1, 3, 5)
PER_BLOCK = 10          # corruptions per block of rows
PHOTOGRAPH = "bundled photograph"

ImageFn = Callable[[str, int], np.ndarray]   # (name, level) -> H x W x 3 uint8


def suite_preset(suite: str) -> str:
    """The corruption preset a suite's images use (by name: CIFAR-size, Tiny-ImageNet, ImageNet)."""
    if suite.startswith("tinyimagenet"):
        return "tinyimagenet"
    if suite.startswith("imagenet"):
        return "imagenet"
    return "cifar"


def shown_levels(levels: list[int]) -> list[int]:
    """Severities 1, 3 and 5 of those scored, or every level scored when none of them was."""
    return [lv for lv in levels if lv in SHOWN_LEVELS] or sorted(levels)


def grid_figure(names: list[str], levels: list[int], image: ImageFn,
                clean: np.ndarray | None, note: str = ""):
    """Rows of severities, columns of corruptions (blocks of ``PER_BLOCK``), a clean column
    first when ``clean`` is given; ``note`` is printed under the grid."""
    blocks = [names[i:i + PER_BLOCK] for i in range(0, len(names), PER_BLOCK)] or [[]]
    first = 1 if clean is not None else 0
    ncols = max(1, first + max(len(b) for b in blocks))
    spacer = 0.32                              # a row (in image heights) holding the titles
    ratios = [r for _ in blocks for r in [spacer] + [1.0] * len(levels)]
    bottom = 0.3 if note else 0.05
    width, height = 1.05 * ncols + 0.35, 1.0 * sum(ratios) + bottom + 0.05
    fig = new_figure(width, height, layout=None)
    grid = fig.add_gridspec(len(ratios), ncols, height_ratios=ratios, wspace=0.06, hspace=0.04,
                            left=0.35 / width, right=1 - 0.05 / width, top=1 - 0.05 / height,
                            bottom=bottom / height)
    titled = []
    row = 0
    for block in blocks:
        row += 1                               # the spacer row
        for level_row, level in enumerate(levels):
            cells = ([("clean", 0)] if first else []) + [(n, level) for n in block]
            for col, (name, lvl) in enumerate(cells):
                ax = fig.add_subplot(grid[row + level_row, col], label=f"cell {name} {lvl}")
                ax.set_axis_off()
                if col == 0:
                    ax.text(-0.08, 0.5, f"severity {level}", rotation=90, va="center",
                            ha="right", transform=ax.transAxes, fontsize=8)
                if name == "clean" and level_row > 0:     # the clean image once per block
                    ax.set_label("")
                    continue
                pixels = clean if name == "clean" else image(name, lvl)
                ax.imshow(pixels, interpolation="none")   # SVG: the pixels as they are
                if level_row == 0:
                    ax.set_title(_wrap(short(name)), fontsize=8, pad=3, va="bottom")
                    titled.append(ax)
        row += len(levels)
    if note:
        fig.text(0.5, 0.02 / height, note, ha="center", va="bottom", fontsize=7, wrap=True)
    fit_titles(fig, titled, height=spacer)
    return fig


def _wrap(label: str) -> str:
    """A column title on at most two lines (three for a single word longer than the column)."""
    width = max(10, -(-len(label) // 2))
    return "\n".join(textwrap.wrap(label, width, break_long_words=len(label) > 2 * width))


def fit_titles(fig, axes, *, height: float, smallest: float = 3.0) -> None:
    """Shrink each axes' title until it is no wider than its axes and ends within ``height``
    times the axes' height above it (the spacer row), measured with the Agg renderer."""
    renderer = fig.canvas.get_renderer()
    for ax in axes:
        box = ax.get_window_extent(renderer)
        title = ax.title
        while title.get_fontsize() > smallest:
            extent = title.get_window_extent(renderer)
            if extent.width <= box.width and extent.y1 <= box.y1 + height * box.height:
                break
            title.set_fontsize(title.get_fontsize() - 0.5)


def _hwc(images: torch.Tensor) -> np.ndarray:
    return images[0].permute(1, 2, 0).cpu().numpy()


@cache
def gallery_image(size: int) -> torch.Tensor:
    """The packaged gallery photograph as uint8 1 x 3 x size x size (box-downscaled from 224)."""
    with Image.open(DATA / "gallery.jpg") as raw:
        image = raw.convert("RGB")
    if image.size != (size, size):
        image = image.resize((size, size), Image.BOX)
    array = np.asarray(image, dtype=np.uint8).copy()
    return torch.from_numpy(array).permute(2, 0, 1)[None]


def gallery(preset: str, severities=SHOWN_LEVELS) -> Plot:
    """The bundled photograph under every registered corruption at ``severities`` (generator
    seed 0); cached per process: it depends only on the preset and the registered kernels."""
    return _gallery(preset, tuple(severities), tuple(registered_corruptions()))


@cache
def _gallery(preset: str, severities: tuple[int, ...], registered: tuple[str, ...]) -> Plot:
    size = SUITE_SIZE[preset]
    photo = gallery_image(size)
    wanted = list(corruptions.CORRUPTIONS + corruptions.EXTRA)
    names = [n for n in wanted if n in registered]
    missing = [n for n in wanted if n not in registered]
    note = ("Not shown (no kernel registered in this installation): " + ", ".join(missing) + "."
            if missing else "")

    def image(name: str, level: int) -> np.ndarray:
        gen = torch.Generator().manual_seed(0)
        return _hwc(corruptions.corrupt(photo, name, level, preset=preset, generator=gen))

    fig = grid_figure(names, list(severities), image, _hwc(photo), note)
    return Plot(f"gallery_{preset}.png",
                f"Corruption gallery ({preset} preset, {size} px): {PHOTOGRAPH}, not a scored image",
                f"The {PHOTOGRAPH} (not an image of any scored suite) under every registered "
                f"corruption at severities {', '.join(map(str, severities))} (fixed generator "
                f"seed 0). {note}".strip(), fig, photographic=True)


def _open_options(md: dict) -> list[tuple[object, dict]]:
    """The ways to reopen a suite from its recorded metadata ``md``: (data_root, options),
    most specific first."""
    options = {"limit": (md.get("subset") or {}).get("limit")}
    if not md.get("generated"):
        if md.get("clean_root"):
            options["clean_root"] = md["clean_root"]
        return [(md.get("data_root"), options)]
    source = (md.get("source") or {}).get("data_root", md.get("data_root"))
    options.update((md.get("generator") or {}).get("options") or {}, seed=md.get("seed", 0))
    device = str((md.get("generator") or {}).get("device", "cpu"))
    if device == "cpu" or (device.startswith("cuda") and torch.cuda.is_available()):
        options["device"] = device
    # CIFAR-C and ImageNet-C suites generate from clean_root only when asked; Fashion-MNIST
    # suites generate from data_root and take no such option.
    return [(source, dict(options, generate=True, clean_root=source)), (source, options)]


def read_first_images(run: ScoredRun, names: list[str], levels: list[int]
                      ) -> dict[CellKey, np.ndarray]:
    """{(name, level): first image (H x W x 3 uint8)} of each cell of ``run``'s suite, clean
    included when the suite has it. The suite is reopened from the recorded metadata and must
    hold the images scored (equal ``images_key`` where recorded); UserError saying why not."""
    from robustbench_dm.suites import get_suite
    from robustbench_dm.suites.families import registered_suite

    md = run.metadata
    reasons = []
    for data_root, options in _open_options(md):
        try:
            suite = get_suite(registered_suite(run.suite), data_root, corruptions=names, severities=levels,
                              **options)
            opened = suite.metadata()
            if md.get("images_key") and opened.get("images_key") != md["images_key"]:
                raise UserError(f"the {run.suite} suite opened from {data_root} holds other "
                                "images than those scored (its images_key differs)")
            if bool(opened.get("generated")) != bool(md.get("generated")):
                raise UserError(f"{data_root} does not open as the {run.suite} suite scored")
            return {cell: _hwc(next(iter(suite.iter_cell(*cell, batch_size=1)))[0])
                    for cell in suite.cells()}
        except (UserError, OSError, ValueError, KeyError, StopIteration) as err:
            reasons.append(str(err) or type(err).__name__)
    raise UserError(next((r for r in reasons if "does not take option" not in r), reasons[0]))


def suite_gallery(runs: list[ScoredRun]) -> tuple[Plot | None, str]:
    """The first image of each cell of the suite ``runs`` were scored on (read from the first
    run whose suite can be opened), or None and the reason none could be read."""
    runs = sorted(runs, key=lambda r: -len(r.cells))
    reason = "no results file records how to open the suite"
    for run in runs:
        names = run.cell_names()
        levels = shown_levels(sorted({lv for n in names for lv in run.levels(n)}))
        try:
            images = read_first_images(run, names, levels)
        except UserError as err:
            reason = str(err)
            continue
        clean = images.get(("clean", 0))
        fig = grid_figure(names, levels, lambda n, lv, found=images: found[(n, lv)], clean)
        size = "x".join(map(str, next(iter(images.values())).shape[:2]))
        where = ("regenerated with seed " + str(run.metadata.get("seed", 0))
                 if run.metadata.get("generated") else f"read from {run.metadata.get('data_root')}")
        return Plot(f"gallery_{run.suite}.png", f"{run.suite}: the first image of each cell",
                    f"The first image of each cell of the scored {run.suite} suite ({size} px, "
                    f"{where}), at severities {', '.join(map(str, levels))}"
                    f"{'' if clean is not None else '; the suite has no clean cell'}; "
                    f"the results hold {per_cell(runs)}.", fig, photographic=True), ""
    return None, reason
