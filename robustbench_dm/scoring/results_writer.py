"""Writing results files: cells are added one at a time and atomically (:func:`append_cell`): the
current file is copied to a temp file in the same folder, the finished cell is added, the copy
is flushed, fsynced and renamed over the original. A run killed at any moment therefore leaves a
file that opens and holds only complete cells; a re-run skips them. Each cell is stored with the
checksum of its arrays (:mod:`.integrity`) and the fingerprint of the data it was scored from.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Iterable, Mapping

import h5py
import numpy as np

from robustbench_dm.atomic import atomic_path
from robustbench_dm.scoring.integrity import CHECKSUM, CHECKSUMS_ATTR, FINGERPRINT, cell_checksum, read_arrays
from robustbench_dm.scoring.results import JSON_ATTRS, Results, read_cell


def _replace_atomically(path: Path, edit) -> None:
    """Copy ``path`` (if it exists) to a temp file next to it, let ``edit(h5file)`` change the
    copy, then fsync it and rename it over ``path`` (:func:`robustbench_dm.atomic.atomic_path`,
    which also gives it the umask's mode)."""
    with atomic_path(path) as tmp:
        if path.exists():
            shutil.copyfile(path, tmp)
            mode = "r+"
        else:
            mode = "w"
        with h5py.File(tmp, mode, track_order=True) as f:
            edit(f)


def _encode_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The file attributes as stored: dicts as JSON strings."""
    return {k: json.dumps(v, sort_keys=True) if k in JSON_ATTRS else v for k, v in attrs.items()}


def _set_attrs(f: h5py.File, attrs: Mapping[str, Any]) -> None:
    for key, value in _encode_attrs(attrs).items():
        f.attrs[key] = value
    f.attrs[CHECKSUMS_ATTR] = CHECKSUM


def _add_cell(f: h5py.File, name: str, level: int, arrays: Mapping[str, np.ndarray],
              fingerprint: str | None) -> None:
    """Store one cell's arrays with its checksum and data fingerprint (replacing the cell)."""
    cells = f["cells"] if "cells" in f else f.create_group("cells", track_order=True)
    group = cells[name] if name in cells else cells.create_group(name, track_order=True)
    key = str(level)
    if key in group:
        del group[key]
    cell = group.create_group(key)
    for array_name, value in arrays.items():
        cell.create_dataset(array_name, data=value)
    cell.attrs[CHECKSUM] = cell_checksum(arrays)
    cell.attrs[FINGERPRINT] = fingerprint or ""


def _checksum_old_cells(f: h5py.File) -> None:
    """Give the cells of a file written before checksums existed theirs (they were found intact
    when the file was loaded)."""
    for name in f.get("cells", {}):
        for level in f["cells"][name]:
            group = f["cells"][name][level]
            if CHECKSUM not in group.attrs:
                group.attrs[CHECKSUM] = cell_checksum(read_arrays(group))


def append_cell(path: Path, attrs: Mapping[str, Any], name: str, level: int,
                arrays: Mapping[str, np.ndarray], *, fingerprint: str | None = None) -> None:
    """Atomically add one finished cell to ``path`` (created if missing) and set the file's
    attributes to ``attrs``; ``fingerprint`` is ``Suite.cell_fingerprint`` of the cell."""

    def edit(f: h5py.File) -> None:
        if f.attrs.get(CHECKSUMS_ATTR) != CHECKSUM:
            _checksum_old_cells(f)
        _set_attrs(f, attrs)
        _add_cell(f, name, level, arrays, fingerprint)

    _replace_atomically(path, edit)


def set_attrs(path: Path, attrs: Mapping[str, Any]) -> None:
    """Atomically set the attributes of the results file ``path`` to ``attrs``, its cells kept."""
    _replace_atomically(path, lambda f: _set_attrs(f, attrs))


def write_results(path: Path, attrs: Mapping[str, Any],
                  cells: Iterable[tuple[str, int, Mapping[str, np.ndarray], str | None]],
                  *, replace: bool = False) -> None:
    """Atomically write a whole results file: ``attrs`` and ``(name, level, arrays,
    fingerprint)`` cells in the given order, stored exactly as :func:`append_cell` stores them.
    An existing ``path`` is an error unless ``replace``."""
    if path.exists() and not replace:
        raise FileExistsError(path)
    with atomic_path(path) as tmp, h5py.File(tmp, "w", track_order=True) as f:
        _set_attrs(f, attrs)
        f.create_group("cells", track_order=True)
        for name, level, arrays, fingerprint in cells:
            _add_cell(f, name, level, arrays, fingerprint)


def drop_cells(results: Results) -> None:
    """Rewrite ``results.path`` without its damaged cells (read from scratch, so damage in the
    HDF5 structure itself is not carried over)."""
    attrs = {k: v for k, v in results.attrs.items() if k != CHECKSUMS_ATTR}
    write_results(results.path, attrs, ((name, level, *read_cell(results.path, name, level))
                                        for name, level in results.cells()), replace=True)
