"""Downloads against a real local HTTP server process: resume after kill -9, a server that
ignores Range, checksum mismatch, 404, 500 and a connection reset."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from download_server import file_entry, serve, write_manifest
from robustbench_dm.download import download
from robustbench_dm.download.transfer import fetch
from robustbench_dm.errors import UserError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def files(tmp_path):
    """A served folder holding ``data.bin`` (3 MB of seeded bytes) and ``suite.tar`` (a tar of
    one top folder ``Suite/`` with two files)."""
    served = tmp_path / "served"
    served.mkdir()
    payload = hashlib.shake_256(b"download tests").digest(3_000_000)
    (served / "data.bin").write_bytes(payload)
    src = tmp_path / "src" / "Suite"
    src.mkdir(parents=True)
    (src / "a.txt").write_bytes(payload[:200_000])
    (src / "b.txt").write_text("b")
    with tarfile.open(served / "suite.tar", "w") as tar:
        tar.add(src, arcname="Suite")
    return served


def test_fetch_whole_file(files, tmp_path):
    with serve(files) as server:
        partial = tmp_path / "data.bin.partial"
        transfer = fetch(server.url("files", "data.bin"), partial, size=3_000_000)
        assert partial.read_bytes() == (files / "data.bin").read_bytes()
        assert transfer.received == 3_000_000 and transfer.resumed_from == 0


def test_resume_sends_only_missing_bytes(files, tmp_path):
    data = (files / "data.bin").read_bytes()
    partial = tmp_path / "data.bin.partial"
    partial.write_bytes(data[:1_234_567])
    with serve(files) as server:
        transfer = fetch(server.url("files", "data.bin"), partial, size=len(data))
        stats = server.stats()
    assert partial.read_bytes() == data
    assert transfer.resumed_from == 1_234_567 and transfer.received == len(data) - 1_234_567
    assert stats["requests"] == [["/files/data.bin", "bytes=1234567-"]]
    assert stats["bytes"]["/files/data.bin"] == len(data) - 1_234_567


def test_server_ignoring_range_restarts_cleanly(files, tmp_path):
    data = (files / "data.bin").read_bytes()
    partial = tmp_path / "data.bin.partial"
    partial.write_bytes(b"x" * 1000)  # not even the right bytes: a restart must not keep them
    with serve(files) as server:
        transfer = fetch(server.url("norange", "data.bin"), partial, size=len(data))
    assert partial.read_bytes() == data
    assert transfer.restarted and transfer.received == len(data)


def test_404_is_one_clear_error(files, tmp_path):
    with serve(files) as server:
        with pytest.raises(UserError, match="not found \\(HTTP 404\\)"):
            fetch(server.url("missing", "data.bin"), tmp_path / "p", retry_wait=0)
        assert len(server.stats()["requests"]) == 1


def test_500_is_retried_three_times_then_fails(files, tmp_path):
    with serve(files) as server:
        with pytest.raises(UserError, match="after 3 retries: HTTP 500"):
            fetch(server.url("error", "data.bin"), tmp_path / "p", retry_wait=0)
        assert len(server.stats()["requests"]) == 4


def test_one_500_then_success(files, tmp_path):
    with serve(files) as server:
        fetch(server.url("error-once", "data.bin"), tmp_path / "p", retry_wait=0)
    assert (tmp_path / "p").read_bytes() == (files / "data.bin").read_bytes()


def test_connection_reset_resumes(files, tmp_path):
    data = (files / "data.bin").read_bytes()
    with serve(files) as server:
        transfer = fetch(server.url("reset-once", "data.bin"), tmp_path / "p", size=len(data),
                         retry_wait=0)
        stats = server.stats()
    assert (tmp_path / "p").read_bytes() == data
    ranges = [r for _, r in stats["requests"]]
    assert ranges[0] is None and ranges[-1] == f"bytes={transfer.resumed_from}-"
    assert 0 < transfer.resumed_from < len(data)
    # the first answer sent half the file (the reset may lose some of it in flight); the second
    # only what the client was missing
    assert stats["bytes"]["/reset-once/data.bin"] == len(data) // 2 + len(data) - transfer.resumed_from


def _wait_for_size(path: Path, size: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while not (path.exists() and path.stat().st_size >= size):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path} never reached {size} bytes"
        time.sleep(0.05)


def test_kill_9_then_resume_is_byte_identical(files, tmp_path):
    archive = files / "suite.tar"
    size = archive.stat().st_size
    to = tmp_path / "to"
    with serve(files) as server:
        manifest = write_manifest(tmp_path / "m.json", {"tiny": {
            "folder": "Tiny", "files": [file_entry(archive, server.url("stall-once", "suite.tar"))]}})
        proc = subprocess.Popen(
            [sys.executable, "-c", "import cli; cli.main()", "download", "tiny", "--to", str(to),
             "--manifest", str(manifest)], cwd=REPO, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        partial = to / ".downloads" / "tiny" / "suite.tar.partial"
        _wait_for_size(partial, size // 2, proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert not (to / "Tiny").exists()
        report = download(["tiny"], to, manifest=manifest, keep_archives=True, retry_wait=0)
        stats = server.stats()
    done = report.suites[0].files[0]
    assert done.resumed_from == size // 2 and done.received == size - size // 2
    assert stats["bytes"]["/stall-once/suite.tar"] == size  # half before the kill, half after
    assert stats["requests"][-1] == ["/stall-once/suite.tar", f"bytes={size // 2}-"]
    assert (to / ".downloads" / "tiny" / "suite.tar").read_bytes() == archive.read_bytes()
    assert (to / "Tiny" / "a.txt").read_bytes() == (tmp_path / "src" / "Suite" / "a.txt").read_bytes()


def test_checksum_mismatch_keeps_the_file_aside_and_extracts_nothing(files, tmp_path):
    archive = files / "suite.tar"
    to = tmp_path / "to"
    with serve(files) as server:
        entry = file_entry(archive, server.url("files", "suite.tar"))
        entry["md5"] = "0" * 32
        manifest = write_manifest(tmp_path / "m.json", {"tiny": {"folder": "Tiny", "files": [entry]}})
        with pytest.raises(UserError) as err:
            download(["tiny"], to, manifest=manifest, retry_wait=0)
    got = hashlib.md5(archive.read_bytes()).hexdigest()
    assert "suite.tar" in str(err.value) and "0" * 32 in str(err.value) and got in str(err.value)
    assert (to / ".downloads" / "tiny" / "suite.tar.corrupt").read_bytes() == archive.read_bytes()
    assert not (to / "Tiny").exists()


def test_unpublished_checksums_are_recorded(files, tmp_path):
    import json

    archive = files / "suite.tar"
    with serve(files) as server:
        entry = file_entry(archive, server.url("files", "suite.tar"), checksums=False, size=False)
        manifest = write_manifest(tmp_path / "m.json", {"tiny": {"folder": "Tiny", "files": [entry]}})
        download(["tiny"], tmp_path / "to", manifest=manifest)
    record = json.loads((tmp_path / "to" / "Tiny" / "download-record.json").read_text())
    assert record["files"]["suite.tar"]["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert record["files"]["suite.tar"]["published"] is None
    assert record["files"]["suite.tar"]["checked"] == []
