"""Output folders: checked before any work, and held by one run at a time.

``check_writable`` fails fast (before a model is loaded or an image is read) when a folder
cannot be created or written. ``lock_folder`` holds an OS file lock (``flock``) on
``FOLDER/.lock`` for as long as a run writes into the folder: a second run into the same folder
is refused with the process id of the holder, and since the kernel drops the lock when its
process dies (even by ``kill -9``) a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from robustbench_dm.errors import UserError

LOCK_NAME = ".lock"

_held: dict[Path, int] = {}  # folders this process has locked -> nesting depth


def check_writable(path: str | os.PathLike, *, what: str) -> Path:
    """``path`` as a ``Path`` when it is a folder that exists and can be written, or one that
    can be created (every existing parent a folder, the nearest one writable); else a
    ``UserError`` naming ``what`` (the parameter) and the path. Creates nothing."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"{what} {path}: is a file, expected a folder (or a folder to create)",
                        params=(what,))
    existing = path
    while not existing.exists() and not existing.is_symlink():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"{what} {path}: cannot create it, {existing} is not a folder",
                        params=(what,))
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-test.", dir=existing)
    except OSError as err:
        raise UserError(f"{what} {path}: cannot write into {existing} "
                        f"({err.strerror or err})", params=(what,)) from None
    os.close(fd)
    os.unlink(probe)
    return path


def _holder(lock: Path) -> str:
    try:
        pid = lock.read_text().strip()
    except OSError:
        pid = ""
    return f"process {pid}" if pid.isdigit() else "another process"


def _is_worker_rank() -> bool:
    """Whether this is a rank > 0 of a ``torchrun`` job (rank 0 holds the job's locks)."""
    from robustbench_dm.distributed import is_main
    return not is_main()


def _make_folder(folder: Path) -> list[Path]:
    """``mkdir -p folder``; returns the folders it created, deepest first."""
    created = []
    missing = folder
    while not missing.exists():
        created.append(missing)
        if missing.parent == missing:
            break
        missing = missing.parent
    folder.mkdir(parents=True, exist_ok=True)
    return created


def _remove_if_empty(folders: list[Path]) -> None:
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def _acquire(lock: Path, folder: Path) -> int:
    """An open descriptor of ``lock`` holding its exclusive ``flock``."""
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UserError(f"{folder} is in use: {_holder(lock)} is writing into it "
                            f"(lock {lock}); wait for that run to end or choose another "
                            "folder") from None
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:  # else the holder removed the file between our open and flock: try again
            return fd
        os.close(fd)


@contextlib.contextmanager
def lock_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Create ``path`` if needed and hold an exclusive lock on it until the block ends; yields
    the folder. A folder locked by another process raises ``UserError`` naming its PID. The
    lock file is removed on release, and so are the folders this call created when the block
    left them empty (nothing written). Nested locks of one folder in one process, and ranks
    > 0 under torchrun (rank 0 holds the job's lock), simply go ahead."""
    folder = Path(path)
    created = _make_folder(folder)
    key = folder.resolve()
    nested = key in _held or _is_worker_rank()
    fd = None
    if not nested:
        lock = folder / LOCK_NAME
        try:
            fd = _acquire(lock, folder)
        except BaseException:
            _remove_if_empty(created)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
    _held[key] = _held.get(key, 0) + 1
    try:
        yield folder
    finally:
        _held[key] -= 1
        if not _held[key]:
            del _held[key]
        if fd is not None:
            lock.unlink(missing_ok=True)  # while still holding it: see _acquire
            os.close(fd)
        _remove_if_empty(created)
