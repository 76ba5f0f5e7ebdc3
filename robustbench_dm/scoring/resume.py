"""Scoring into a folder that already holds results: what may be added, and what is refused.

A results file grows by cells: a later run into the same folder may add cells (the clean cell,
more corruptions or severities) and re-scores cells found damaged; the summary covers every
cell the file holds. It is refused only when the cells it holds came from other inputs: another
checkpoint, suite, class count, seed, image limit, scoring settings, shard, or other data
(``images_key`` of the suite, ``fingerprint`` of each cell read from files). Paths may change:
a moved copy of the same data is accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robustbench_dm.errors import UserError
from robustbench_dm.scoring.fast_path import DEFAULT_SETTINGS
from robustbench_dm.scoring.results import Results, describe_damage, read_fingerprints

Cell = tuple[str, int]
HINT = "choose another out_dir or delete it"  # with params=("out_dir",)
# metadata entries that say where data was read or which cells were chosen, not what it holds
_LOCATION = ("data_root", "clean_root", "clean_preprocessing", "provenance", "frames", "subset",
             "images_key")


@dataclass
class Plan:
    """What a run into an existing (or new) results file does."""

    todo: list[Cell]                      # cells to score, in suite order
    attrs: dict[str, Any]                 # file attributes to write with each cell
    held: list[Cell] = field(default_factory=list)           # intact cells already in the file
    damaged: dict[Cell, str] = field(default_factory=dict)   # found damaged (re-scored if chosen)
    notes: list[str] = field(default_factory=list)

    def cell_attrs(self, i: int) -> dict[str, Any]:
        """The attributes written with ``todo[i]``: ``attrs``, but the subset is recorded as
        complete only with the last cell, so the file of an interrupted run never claims the
        whole suite (a shard's completeness is checked by merge)."""
        if i == len(self.todo) - 1 or not _complete(self.attrs) or "shard" in self.attrs:
            return self.attrs
        meta = self.attrs["metadata"]
        return {**self.attrs, "metadata": {**meta, "subset": {**meta["subset"], "complete": False}}}

    def completes(self, existing: Results) -> bool:
        """Whether this plan records ``existing`` complete where the file does not say so (a
        re-run of the whole suite of a file whose cells an interrupted run and a narrower
        resume filled, leaving it no cell to score)."""
        return bool(_complete(self.attrs)) and _complete(existing.attrs) is False


def _complete(attrs: Mapping[str, Any]) -> bool | None:
    """The ``metadata.subset.complete`` entry of results attributes (None where not recorded)."""
    return ((attrs.get("metadata") or {}).get("subset") or {}).get("complete")


def _identity_metadata(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The metadata entries that describe what the images are (paths and selection left out)."""
    out = {k: v for k, v in meta.items() if k not in _LOCATION}
    if isinstance(out.get("source"), Mapping):
        out["source"] = {k: v for k, v in out["source"].items() if k != "data_root"}
    out["limit"] = (meta.get("subset") or {}).get("limit")
    return out


def _describe_shard(shard: Mapping[str, Any] | None) -> str:
    return "the whole suite" if shard is None else f"shard {shard['index']}/{shard['count']}"


def _short(value: Any) -> str:
    return f"{value[:12]}..." if isinstance(value, str) and len(value) == 64 else repr(value)


def check_same_inputs(existing: Results, attrs: Mapping[str, Any]) -> None:
    """Refuse (``UserError`` naming the field and both values) when ``existing`` holds results
    of other inputs than the run described by ``attrs``; the cell selection may differ."""
    path = existing.path
    old_attrs = existing.attrs
    for key in ("kind", "suite", "num_classes", "seed"):
        if old_attrs.get(key) != attrs.get(key):
            raise UserError(f"{path} holds results for {key} {old_attrs.get(key)!r}, but this run "
                            f"has {key} {attrs.get(key)!r}: {HINT}", params=("out_dir",))
    old_ck = old_attrs.get("checkpoint") or {}
    new_ck = attrs.get("checkpoint") or {}
    if old_ck.get("sha256") != new_ck.get("sha256"):
        raise UserError(f"{path} holds results of a different checkpoint ({old_ck.get('path')}, "
                        f"sha256 {_short(old_ck.get('sha256'))}); this run scores "
                        f"{new_ck.get('path')} (sha256 {_short(new_ck.get('sha256'))}): {HINT}",
                        params=("out_dir",))
    old_settings = old_attrs.get("settings", DEFAULT_SETTINGS)
    if old_settings != attrs["settings"]:
        raise UserError(f"{path} holds results scored with settings {old_settings}, but this run "
                        f"has {attrs['settings']} (bf16, channels_last, gpu_decode): pass "
                        f"the same values or {HINT}",
                        params=("bf16", "channels_last", "gpu_decode", "out_dir"))
    old_shard, new_shard = old_attrs.get("shard"), attrs.get("shard")
    if old_shard != new_shard:
        what = _describe_shard(old_shard)
        if what == _describe_shard(new_shard):  # same index and count, other suite cells
            what += " of a suite with other cells (shards of one run share their cells)"
        raise UserError(f"{path} holds {what}, but this run scores "
                        f"{_describe_shard(new_shard)}: {HINT}", params=("out_dir",))
    old_meta, new_meta = old_attrs.get("metadata") or {}, attrs.get("metadata") or {}
    old_id, new_id = _identity_metadata(old_meta), _identity_metadata(new_meta)
    for key in sorted(set(old_id) | set(new_id)):
        # an entry one side records as None and the other lacks is the same value, at any depth
        differ = _differing("subset limit" if key == "limit" else key, old_id.get(key), new_id.get(key))
        if differ:
            raise UserError(f"{path} holds results with {', '.join(f'{w} {o!r}' for w, o, _ in differ)}, "
                            f"but this run has {', '.join(f'{w} {n!r}' for w, _, n in differ)}: {HINT}",
                            params=("out_dir",))


def _differing(what: str, old: Any, new: Any) -> list[tuple[str, Any, Any]]:
    """``[("generator options", old value, new value), ...]``: the entries in which two values
    differ, dicts followed down to them (empty when they agree; an entry None on one side and
    missing on the other agrees)."""
    if not (isinstance(old, Mapping) and isinstance(new, Mapping)):
        return [(what, old, new)] if old != new else []
    return [entry for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)
            for entry in _differing(f"{what} {k}", old.get(k), new.get(k))]


def check_same_data(existing: Results, attrs: Mapping[str, Any],
                    fingerprints: Mapping[Cell, str | None]) -> None:
    """Refuse when a cell ``existing`` holds was read from other files than this run reads for
    it (both ``fingerprint``s known and different). Where a held cell has no fingerprint to
    compare (made on the fly, or scored before fingerprints were recorded), the suites'
    ``images_key`` must agree instead (unless the run only adds the clean cell)."""
    old_meta, new_meta = existing.attrs.get("metadata") or {}, attrs.get("metadata") or {}
    old_root, new_root = old_meta.get("data_root"), new_meta.get("data_root")
    unchecked = []
    for cell, old in read_fingerprints(existing.path, existing.cells()).items():
        new = fingerprints.get(cell)
        if not (old and new):
            unchecked.append(cell)
        elif old != new:
            raise UserError(
                f"{existing.path} holds cell {cell[0]}/{cell[1]} scored from other files "
                f"(fingerprint {_short(old)}, data_root {old_root}) than data_root {new_root} "
                f"holds now (fingerprint {_short(new)}): the data changed; {HINT}",
                params=("out_dir",))
    old_key, new_key = old_meta.get("images_key"), new_meta.get("images_key")
    adds_clean = not old_meta.get("clean_root") and bool(new_meta.get("clean_root")) and \
        ("clean", 0) not in existing.cells()
    if unchecked and old_key and new_key and old_key != new_key and not adds_clean:
        raise UserError(f"{existing.path} holds results of other images (images_key "
                        f"{_short(old_key)}, data_root {old_root}), but this run reads "
                        f"{new_root} (images_key {_short(new_key)}): {HINT}", params=("out_dir",))


def _merge_metadata(old: Mapping[str, Any], new: Mapping[str, Any],
                    cells: list[Cell]) -> dict[str, Any]:
    """Metadata of a file holding the old cells and this run's: this run's, with the cell
    selection widened to every cell held and locations of cells only the old run read kept."""
    merged = dict(new)
    for key in ("clean_root", "clean_preprocessing"):
        if merged.get(key) is None and old.get(key) is not None:
            merged[key] = old[key]
    old_sub, new_sub = old.get("subset") or {}, new.get("subset") or {}
    if old_sub or new_sub:
        subset = dict(new_sub)
        names = list(dict.fromkeys(n for n, _ in cells if n != "clean"))
        levels = sorted({lv for n, lv in cells if n != "clean"})
        if "corruptions" in subset and names:
            subset["corruptions"] = names
        if "severities" in subset and levels:
            subset["severities"] = levels
        if "complete" in subset:
            subset["complete"] = bool(old_sub.get("complete") or new_sub.get("complete"))
        merged["subset"] = subset
    return merged


def plan(path: Path, attrs: Mapping[str, Any], cells: list[Cell],
         fingerprints: Mapping[Cell, str | None]) -> Plan:
    """The cells still to score into ``path`` for a run of ``cells`` described by ``attrs``."""
    if not path.exists():
        return Plan(list(cells), dict(attrs))
    existing = Results.load(path, allow_damaged=True)
    check_same_inputs(existing, attrs)
    check_same_data(existing, attrs, fingerprints)
    damaged = dict(existing.damage)
    done = set(existing.cells())
    held = existing.cells() + [c for c in cells if c not in done]
    out = dict(existing.attrs)
    for key, value in attrs.items():
        out.setdefault(key, value)
    out["metadata"] = _merge_metadata(existing.attrs.get("metadata") or {},
                                      attrs.get("metadata") or {}, held)
    notes = []
    if damaged:
        chosen = {c: w for c, w in damaged.items() if c in cells}
        dropped = {c: w for c, w in damaged.items() if c not in cells}
        if chosen:
            notes.append(f"note: {path} has damaged {describe_damage(chosen)}: re-scoring "
                         f"{'them' if len(chosen) > 1 else 'it'}, keeping the other cells")
        if dropped:
            notes.append(f"note: {path} has damaged {describe_damage(dropped)} outside this "
                         "run's selection: dropped from the file; select them to score them again")
    return Plan([c for c in cells if c not in done], out, existing.cells(), damaged, notes)
