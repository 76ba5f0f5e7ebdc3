"""Damage detection for results files: a checksum per cell, and a check of each cell's structure.

Every cell group carries ``sha256``: the SHA-256 of its arrays (name, dtype, shape and bytes of
each, in name order), written with the cell. A file whose attribute ``cell_checksums`` is
``"sha256"`` holds one for every cell; older files (without it) are checked for structure only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import h5py
import numpy as np

CHECKSUM = "sha256"             # cell attribute: checksum of the cell's arrays
FINGERPRINT = "fingerprint"     # cell attribute: Suite.cell_fingerprint of the cell ("" if None)
CHECKSUMS_ATTR = "cell_checksums"  # file attribute: "sha256" when every cell has a checksum
REQUIRED = ("labels", "index", "topk", "topk_prob")
OPTIONAL = ("logits",)

Cell = tuple[str, int]


def cell_checksum(arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 hex of a cell's arrays: name, dtype, shape and bytes of each, in name order."""
    digest = hashlib.sha256()
    for key in sorted(arrays):
        value = np.ascontiguousarray(arrays[key])
        digest.update(f"{key} {value.dtype.str} {value.shape}\n".encode())
        digest.update(memoryview(value).cast("B"))
    return digest.hexdigest()


def read_arrays(group: h5py.Group) -> dict[str, np.ndarray]:
    """Every dataset of a cell group, read whole."""
    return {key: group[key][()] for key in group}


def _structure_problem(arrays: Mapping[str, np.ndarray]) -> str | None:
    missing = [k for k in REQUIRED if k not in arrays]
    if missing:
        return f"no {', '.join(missing)} array"
    unknown = sorted(set(arrays) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        return f"unexpected arrays {', '.join(unknown)}"
    n = arrays["labels"].shape[0] if arrays["labels"].ndim == 1 else None
    if n is None or arrays["index"].shape != (n,):
        return "labels and index are not two vectors of one length"
    topk, prob = arrays["topk"], arrays["topk_prob"]
    if topk.ndim not in (2, 3) or topk.shape[0] != n or prob.shape != topk.shape:
        return f"topk {topk.shape} and topk_prob {prob.shape} do not fit {n} labels"
    logits = arrays.get("logits")
    if logits is not None and (logits.shape[:-1] != topk.shape[:-1]):
        return f"logits {logits.shape} do not fit topk {topk.shape}"
    return None


def cell_problem(group: h5py.Group, checksummed: bool) -> str | None:
    """Why the cell group is damaged (a short phrase), or None when it is intact.
    ``checksummed``: the file promises a checksum on every cell."""
    try:
        arrays = read_arrays(group)
        stored = group.attrs.get(CHECKSUM)
    except Exception as err:  # h5py raises OSError, KeyError, RuntimeError... on damaged bytes
        return f"unreadable ({str(err).splitlines()[0] if str(err) else type(err).__name__})"
    problem = _structure_problem(arrays)
    if problem is not None:
        return problem
    if stored is None:
        return "no checksum" if checksummed else None
    if isinstance(stored, bytes):
        stored = stored.decode(errors="replace")
    if str(stored) != cell_checksum(arrays):
        return "checksum mismatch (its bytes changed after it was written)"
    return None


def list_cell_groups(f: h5py.File) -> tuple[list[Cell], dict[Cell, str]]:
    """The cells of an open results file, clean first then in file order, and the damaged
    ones among them with the reason (an entry that is not a cell group counts as damaged)."""
    cells: list[Cell] = []
    damaged: dict[Cell, str] = {}
    if "cells" not in f:
        return cells, damaged
    checksummed = f.attrs.get(CHECKSUMS_ATTR) in (CHECKSUM, CHECKSUM.encode())
    root = f["cells"]
    for name in root:
        entry = root.get(name)
        if not isinstance(entry, h5py.Group):
            damaged[(name, -1)] = "not a group of severities"
            continue
        for level_key in entry:
            try:
                level = int(level_key)
            except ValueError:
                damaged[(name, -1)] = f"unexpected entry {level_key!r}"
                continue
            cell = (name, level)
            group = entry.get(level_key)
            problem = ("not a group of arrays" if not isinstance(group, h5py.Group)
                       else cell_problem(group, checksummed))
            if problem is not None:
                damaged[cell] = problem
            cells.append(cell)
    order = {name: i for i, name in enumerate(dict.fromkeys(n for n, _ in cells))}
    cells.sort(key=lambda c: (c[0] != "clean", order[c[0]], c[1]))
    return cells, damaged
