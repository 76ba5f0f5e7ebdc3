"""Atomic file writes: a temporary file in the same folder, fsynced, then renamed over the target,
so a reader (or a resumed run) never sees a half-written file.

Temporary files are named ``.NAME.<random>.tmp`` next to ``NAME``; a writer killed before the
rename leaves one behind, which :func:`remove_stale_temps` deletes. The finished file gets the
mode an ordinary ``open()`` would give it (``0666`` less the process umask, so ``0644`` under
the usual umask 022), not the private ``0600`` of the temporary file.
"""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO


def _umask() -> int:
    """The process umask (read from ``/proc`` where possible, so no thread sees it changed)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The permission bits a newly created file gets under the current umask."""
    return 0o666 & ~_umask()


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; when the block ends without an error the file
    there is fsynced, given the umask's mode and renamed over ``path`` (else it is deleted).
    For writers that need a file name (h5py, ``torch.save`` to a path, copies)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike, write: Callable[[IO], None], *,
                 binary: bool = False) -> Path:
    """Create or replace ``path`` with what ``write(f)`` writes to an open file object."""
    path = Path(path)
    text = {} if binary else {"newline": ""}
    with atomic_path(path) as tmp, open(tmp, "wb" if binary else "w", **text) as f:
        write(f)
    return path


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Create or replace ``path`` with ``text``, atomically."""
    return write_atomic(path, lambda f: f.write(text))


def remove_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Delete the temporary files killed writers left: those of the file ``path``, or of every
    file in ``path`` when it is a folder. Call it while holding the folder's lock
    (:func:`robustbench_dm.outdir.lock_folder`), so no live writer's file is taken; returns
    what was removed."""
    path = Path(path)
    if path.is_dir():
        found = list(path.glob(".*.*.tmp"))
    else:
        found = list(path.parent.glob(f".{glob.escape(path.name)}.*.tmp"))
    removed = sorted(p for p in found if p.is_file())
    for stale in removed:
        stale.unlink(missing_ok=True)
    return removed
