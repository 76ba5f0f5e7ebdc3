"""Output folders: checked before any work (check_writable) and locked by one run at a time
(lock_folder: an flock the kernel drops when the holder dies, the holder's PID in the error)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from robustbench_dm import outdir
from robustbench_dm.errors import UserError
from robustbench_dm.outdir import check_writable, lock_folder


def test_check_writable_accepts_a_folder_to_create_and_creates_nothing(tmp_path):
    assert check_writable(tmp_path / "a" / "b", what="out_dir") == tmp_path / "a" / "b"
    assert list(tmp_path.iterdir()) == []


def test_check_writable_refuses_a_file_and_a_file_parent(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(UserError, match=r"out_dir .*f: is a file"):
        check_writable(tmp_path / "f", what="out_dir")
    with pytest.raises(UserError, match=r"out_dir .*f/sub: cannot create it, .*f is not a folder"):
        check_writable(tmp_path / "f" / "sub", what="out_dir")


def test_check_writable_refuses_a_folder_it_cannot_write(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(outdir.tempfile, "mkstemp", refuse)
    with pytest.raises(UserError, match=r"out_dir .*new: cannot write into .*Permission denied"):
        check_writable(tmp_path / "new", what="out_dir")


HOLDER = textwrap.dedent("""
    import sys, time
    from robustbench_dm.outdir import lock_folder
    with lock_folder(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(600)
""")


def _hold(folder):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_holder_is_refused_with_the_pid_and_kill_9_frees_the_lock(tmp_path):
    folder = tmp_path / "out"
    proc = _hold(folder)
    try:
        assert (folder / ".lock").read_text().strip() == str(proc.pid)
        with pytest.raises(UserError, match=rf"{folder} is in use: process {proc.pid} is writing"):
            with lock_folder(folder):
                pass
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert (folder / ".lock").exists()  # left by the killed holder: not a stale lock
    with lock_folder(folder):
        assert (folder / ".lock").read_text().strip() == str(os.getpid())
    assert list(folder.iterdir()) == []  # the lock file goes with the lock


def test_nested_locks_in_one_process_and_empty_created_folders_are_removed(tmp_path):
    folder = tmp_path / "a" / "b"
    with lock_folder(folder):
        with lock_folder(folder):
            pass
        assert (folder / ".lock").exists()
    assert not (tmp_path / "a").exists()  # nothing was written: the folders are gone too
    with lock_folder(folder):
        (folder / "kept.txt").write_text("x")
    assert [p.name for p in folder.iterdir()] == ["kept.txt"]
