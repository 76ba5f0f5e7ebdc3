"""A make-suite folder as the readers see it: its manifest ``suite.json`` and the cells it lists.

``make-suite`` records in ``<out>/suite.json`` how the images were made (suite, source, format,
seed, limit, preset, generator_version, chunk_size, clean_fingerprint), the clean ``data_root``
as given and the ``cells`` finished so far. A reader of such a folder scores the cells the
manifest lists (narrowed by ``corruptions`` / ``severities``), records the manifest in its
metadata and takes the limit and completeness from it. A folder is always read as the suite its
manifest names (``image_folder_c.written_suite``): through ``imagenet-c``, the generic folder
reading, or by that suite's own name; another name is a ``UserError``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Sequence

from robustbench_dm.errors import UserError
from robustbench_dm.suites.base import parse_names, select_levels, subset_metadata
from robustbench_dm.suites.provenance import manifest_key, provenance

MANIFEST = "suite.json"

Cell = tuple[str, int]


def manifest_path(data_root) -> Path | None:
    """Where the manifest of ``data_root`` would be: ``<root>/suite.json``, or next to a
    ``suite.h5`` named directly."""
    if data_root is None:
        return None
    root = Path(data_root)
    if root.is_dir():
        return root / MANIFEST
    return root.parent / MANIFEST if root.name == "suite.h5" else None


def manifest_cells(manifest: dict) -> list[Cell] | None:
    """The cells a manifest lists (None for manifests written before cells were recorded)."""
    cells = manifest.get("cells")
    if cells is None:
        return None
    try:
        return [(str(name), int(level)) for name, level in cells]
    except (TypeError, ValueError):
        raise UserError(f"the cells of make-suite manifest {manifest.get('suite')!r} are not "
                        f"[name, level] pairs: {cells!r}") from None


class Written:
    """The manifest of a make-suite folder (``path``, ``manifest`` dict, ``cells`` or None)."""

    def __init__(self, path: Path, manifest: dict):
        self.path, self.manifest = path, manifest
        self.cells = manifest_cells(manifest)

    @property
    def kind(self) -> str | None:
        """``"c"`` or ``"p"``: the kind of the suite the manifest names (None for a suite
        make-suite does not write)."""
        from robustbench_dm.suites.families import registered_suite
        from robustbench_dm.suites.make_suite import TARGETS  # imports the suite modules

        target = TARGETS.get(registered_suite(self.manifest["suite"]))
        return None if target is None else target[0]

    @classmethod
    def open(cls, data_root, suite: str | None = None) -> "Written | None":
        """The manifest of ``data_root`` (None when it has none). With ``suite``, a folder made
        for another suite is a ``UserError`` naming both."""
        path = manifest_path(data_root)
        if path is None or not path.is_file():
            return None
        try:
            manifest = json.loads(path.read_text())
        except (OSError, ValueError, UnicodeDecodeError) as err:
            raise UserError(f"{path} is not a readable make-suite manifest ({err}); expected the "
                            "suite.json make-suite writes") from None
        if not isinstance(manifest, dict) or not isinstance(manifest.get("suite"), str):
            raise UserError(f"{path} is not a make-suite manifest: expected a JSON object with 'suite'")
        if suite is not None and manifest["suite"] != suite:
            raise UserError(f"{data_root} holds a {manifest['suite']} suite written by make-suite ({path}), "
                            f"not {suite}; score it as {manifest['suite']}")
        return cls(path, manifest)

    def select(self, names: str | Sequence[str] | None, levels, allowed_names: Sequence[str],
               allowed_levels: Sequence[int], what: str, level_what: str) -> list[Cell]:
        """The listed cells to score, narrowed to ``names`` / ``levels`` when given; a requested
        cell the manifest lacks is a ``UserError`` naming it and the manifest."""
        chosen_names = parse_names(names, what)
        unknown = [n for n in chosen_names or () if n not in allowed_names]
        if unknown:
            raise UserError(f"unknown {what} {unknown[0]!r}; expected one of: {', '.join(allowed_names)}")
        chosen_levels = None if levels is None else select_levels(levels, allowed_levels, level_what)
        held = self.cells or []
        chosen = []
        for name in chosen_names if chosen_names is not None else dict.fromkeys(n for n, _ in held):
            own = [lv for n, lv in held if n == name]
            for level in chosen_levels if chosen_levels is not None else sorted(own) or [min(allowed_levels)]:
                if level not in own:
                    listed = ", ".join(f"{n}/{lv}" for n, lv in held) or "none"
                    raise UserError(f"cell {name}/{level} ({what} {name!r}, {level_what} {level}) is not "
                                    f"in the written suite's manifest {self.path} (it lists: {listed}); "
                                    "choose among those or write that cell with make-suite")
                chosen.append((name, level))
        if not chosen:
            raise UserError(f"the written suite's manifest {self.path} lists no finished cell; run "
                            "make-suite again to write its cells")
        return chosen

    def limit(self, limit: int | None) -> int | None:
        """Images per cell as a limit: the smaller of make-suite's ``limit`` and the scoring
        ``limit`` (None when neither)."""
        limits = [v for v in (self.manifest.get("limit"), limit) if v is not None]
        return min(limits) if limits else None

    def complete(self, cells: Sequence[Cell], benchmark: Sequence[Cell], limit: int | None) -> bool:
        """Scoring ``cells`` is the whole suite: every listed cell, the listed cells hold every
        ``benchmark`` cell, and no limit (neither make-suite's nor the scoring one)."""
        held = set(self.cells or ())
        return set(cells) == held and set(benchmark) <= held and self.limit(limit) is None


def written_images_key(suite, count: int, *, stored: str, read: str = "none",
                       released: Callable[[], str]) -> str:
    """The images key of a suite that may be a make-suite folder (``suite.written``): from its
    manifest (with the clean cell's fingerprint when the clean set is not the manifest's
    source), else ``released()``, the key of the files themselves."""
    if suite.written is not None:
        manifest = suite.written.manifest
        differs = (suite.clean is not None
                   and suite.clean_source_fingerprint != manifest.get("clean_fingerprint"))
        key = manifest_key(manifest, count, stored=stored, read=read,
                           clean_cell=suite.cell_fingerprint("clean", 0) if differs else None)
        if key is not None:
            return key
    return released()


def stored_subset(suite, names: Sequence[str], levels: Sequence[int]) -> dict:
    """The ``subset`` entry of a suite read from files: the limit is a make-suite folder's own
    limit narrowed by the scoring ``limit`` (released files: the scoring limit alone)."""
    written = suite.written
    return subset_metadata(written.limit(suite.limit) if written else suite.limit, names, levels, suite._complete)


def stored_provenance(suite, data: dict) -> dict:
    """The ``provenance`` entry of a suite read from files: written (with its manifest) or released;
    ``data`` is :func:`files_size` of the files read."""
    written = suite.written
    return provenance("written" if written else "released", written.manifest if written else None, data)
