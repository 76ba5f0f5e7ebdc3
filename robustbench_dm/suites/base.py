"""The ``Suite`` interface every suite implements (see docs/internals.md) and its subset logic."""

from __future__ import annotations

from typing import Iterator, Sequence

import torch

from robustbench_dm.errors import UserError

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


class Suite:
    """A corruption (``kind == "c"``) or perturbation (``kind == "p"``) suite.

    Cells are ``(name, level)`` pairs: ``("clean", 0)`` first when clean data is available, then
    ``(corruption, severity)`` for -C suites or ``(perturbation, difficulty)`` for -P suites.
    ``iter_cell`` streams ``(images_or_videos uint8, labels int64, index int64)`` batches, where
    ``index`` identifies the clean image (the same image has the same index in every cell).
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
        """Stream cell ``(name, level)`` in batches of at most ``batch_size``."""
        raise NotImplementedError

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
