"""The ``Suite`` interface every suite implements (see docs/internals.md) and its subset logic."""

from __future__ import annotations

from typing import Iterator, Sequence

import torch

from robustbench_dm.distributed import split_range
from robustbench_dm.errors import UserError

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


class Suite:
    """A corruption (``kind == "c"``) or perturbation (``kind == "p"``) suite.

    Cells are ``(name, level)`` pairs: ``("clean", 0)`` first when clean data is available, then
    ``(corruption, severity)`` for -C suites or ``(perturbation, difficulty)`` for -P suites.
    ``iter_share`` streams ``(images_or_videos uint8, labels int64, index int64)`` batches of the
    items ``[lo, hi)`` of a cell, where ``index`` identifies the clean image (the same image has
    the same index in every cell); ``iter_cell`` is the share ``[0, n)``. Subclasses implement
    ``_share`` (random access: only the items of the share are read or made).
    """

    name: str
    kind: str
    num_classes: int

    def cells(self) -> list[tuple[str, int]]:
        """Every cell this suite scores, in scoring order."""
        raise NotImplementedError

    def cell_size(self, name: str, level: int) -> int:
        """Number of images (or videos) in cell ``(name, level)``, after ``limit``."""
        raise NotImplementedError

    def iter_cell(self, name: str, level: int, batch_size: int) -> Iterator[Batch]:
        """Stream cell ``(name, level)`` in batches of at most ``batch_size``: the share ``[0, n)``."""
        return self.iter_share(name, level, 0, self.cell_size(name, level), batch_size)

    def iter_share(self, name: str, level: int, lo: int, hi: int, batch_size: int, *,
                   gpu_decode: torch.device | None = None) -> Iterator[Batch]:
        """Stream the items ``[lo, hi)`` of cell ``(name, level)`` in batches of at most
        ``batch_size``, reading or making only those items (a rank's share).

        ``gpu_decode``: a CUDA device on which a suite that can decode its cells there (JPEG
        folders fed as stored) does so; other suites ignore it. Arguments are checked eagerly.
        """
        self._check_share(name, level, lo, hi, batch_size)
        return self._share(name, level, lo, hi, batch_size)

    def share_bounds(self, name: str, level: int, rank: int, world_size: int) -> tuple[int, int]:
        """The share ``[lo, hi)`` of cell ``(name, level)`` that ``rank`` of ``world_size`` reads:
        contiguous, in rank order, cut between the blocks this suite makes whole (``_share_unit``)."""
        return split_range(self.cell_size(name, level), rank, world_size, self._share_unit())

    def _share_unit(self) -> int:
        """Items this suite reads or makes as one block (a share takes whole blocks)."""
        return 1

    def _share(self, name: str, level: int, lo: int, hi: int, batch_size: int) -> Iterator[Batch]:
        """The batches of ``iter_share`` (arguments already checked)."""
        raise NotImplementedError

    def _check_share(self, name: str, level: int, lo: int, hi: int, batch_size: int) -> None:
        self._check_cell(name, level)
        total = self.cell_size(name, level)
        if batch_size < 1:
            raise UserError(f"invalid batch size {batch_size}; expected a positive integer")
        if not 0 <= lo <= hi <= total:
            raise ValueError(f"share [{lo}, {hi}) outside cell {name}/{level} of {total} items")

    def metadata(self) -> dict:
        """JSON-serialisable description: suite, data_root, preprocessing, subset, provenance,
        images_key, ... (docs/internals.md, "Suites")."""
        raise NotImplementedError

    def cell_fingerprint(self, name: str, level: int) -> str | None:
        """sha256 hex of what cell ``(name, level)`` reads (file names, sizes and bytes, after
        ``limit``), or None for a cell made on the fly (and for suites that cannot say)."""
        self._check_cell(name, level)
        return None

    def _check_cell(self, name: str, level: int) -> None:
        if (name, level) not in self.cells():
            raise UserError(
                f"suite {self.name!r} has no cell ({name!r}, {level}); "
                f"expected one of: {', '.join(f'{n}/{lv}' for n, lv in self.cells())}"
            )


def parse_names(value: str | Sequence[str] | None, what: str) -> list[str] | None:
    """Accept ``None``, a comma-separated string or a sequence of names; reject duplicates."""
    if value is None:
        return None
    names = [v.strip() for v in value.split(",")] if isinstance(value, str) else [str(v) for v in value]
    names = [n for n in names if n]
    if not names:
        raise UserError(f"empty {what} selection; expected at least one name")
    if len(set(names)) != len(names):
        raise UserError(f"duplicate names in {what} selection {names}")
    return names


def select_names(
    selection: str | Sequence[str] | None,
    default: Sequence[str],
    allowed: Sequence[str],
    what: str,
) -> list[str]:
    """The user's selection of corruption/perturbation names (validated), or ``default``."""
    names = parse_names(selection, what)
    if names is None:
        return list(default)
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise UserError(f"unknown {what} {unknown[0]!r}; expected one of: {', '.join(allowed)}")
    return names


def select_levels(
    selection: int | str | Sequence[int] | None, allowed: Sequence[int], what: str
) -> list[int]:
    """The user's selection of severities/difficulties (validated, sorted), or all ``allowed``."""
    if selection is None:
        return list(allowed)
    if isinstance(selection, int):
        raw: list = [selection]
    elif isinstance(selection, str):
        raw = [v.strip() for v in selection.split(",") if v.strip()]
    else:
        raw = list(selection)
    levels = []
    for value in raw:
        try:
            level = int(value)
        except (TypeError, ValueError):
            level = None
        if level is None or level not in allowed or str(value).strip() != str(level):
            raise UserError(
                f"invalid {what} {value!r}; expected integers in {', '.join(map(str, allowed))}"
            )
        levels.append(level)
    if not levels or len(set(levels)) != len(levels):
        raise UserError(f"invalid {what} selection {raw!r}; expected distinct values")
    return sorted(levels)


def select_difficulties(severities, difficulty) -> list[int]:
    """Difficulties of a -P suite, from ``severities`` (the generic option) or ``difficulty``."""
    if severities is not None and difficulty is not None:
        raise UserError("give either severities or difficulty for a -P suite, not both")
    chosen = severities if severities is not None else difficulty
    return select_levels(1 if chosen is None else chosen, (1, 2, 3), "difficulty")


def check_limit(limit: int | None) -> int | None:
    """Validate ``limit`` (first N images per cell)."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise UserError(f"invalid limit {limit!r}; expected a positive integer")
    return limit


def subset_metadata(
    limit: int | None, names: Sequence[str], levels: Sequence[int], full: bool
) -> dict:
    """The ``subset`` entry of ``Suite.metadata()``: what was selected and whether it is all."""
    return {
        "limit": limit,
        "corruptions": list(names),
        "severities": list(levels),
        "complete": bool(full and limit is None),
    }


def subset_phrase(subset, kind: str) -> str | None:
    """Why the selection described by ``subset`` (a ``metadata()["subset"]`` entry) covers only
    part of its suite ("at most 10 images per cell", "only some of its cells"), or None when it
    records the whole suite (or is missing, as in files written before it was recorded)."""
    if not isinstance(subset, dict):
        return None
    limit, complete = subset.get("limit"), subset.get("complete")
    if complete is not False and limit is None:
        return None
    if limit is None:
        return "only some of its cells"
    unit = "video" if kind == "p" else "image"
    return f"at most {limit} {unit}{'s' if limit != 1 else ''} per cell"


#: how reports name the runs of a generated suite made with a byte-changing option: (option,
#: value) -> phrase. ``resolution`` is not among them: a suite of another resolution has a name
#: and label of its own (``imagenet-c-384px``, "ImageNet-C at 384 px (generated)").
OPTION_PHRASES = {("fast_jpeg", True): "fast JPEG",
                  ("clean_decoder", "nvjpeg"): "GPU-decoded clean images",
                  ("video_codec", "none"): "frames without x264"}


def byte_options(metadata) -> dict:
    """The byte-changing options a generated suite's ``metadata()`` records in
    ``generator.options`` (only those not at their default are recorded), less ``resolution``,
    which the suite's name and label say; none in files that record no such dict."""
    generator = (metadata or {}).get("generator")
    options = generator.get("options") if isinstance(generator, dict) else None
    return {k: v for k, v in (options or {}).items() if k != "resolution"}


def option_phrase(name: str, value) -> str:
    """How a report names runs made with option ``name`` at ``value`` ("fast JPEG"); an option
    this version does not know is shown as ``name=value``."""
    return OPTION_PHRASES.get((name, value), f"{name}={value}")
