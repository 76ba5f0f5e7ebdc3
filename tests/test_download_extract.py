"""Unsafe archives are refused whole, through the real download path: nothing is written
outside the download folder (nor inside the suite folder)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from download_server import file_entry, serve, write_manifest
from robustbench_dm.download import download
from robustbench_dm.download.extract import extract_tar
from robustbench_dm.errors import UserError


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name: str, data: bytes = b"payload") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def _special(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, None


UNSAFE = {
    "dotdot": ([_file("Suite/ok.txt"), _file("Suite/../../escaped.txt")], "'..' component"),
    "absolute": ([_file("Suite/ok.txt"), _file("/tmp/robustbench_absolute_test.txt")], "absolute path"),
    "symlink": ([_file("Suite/ok.txt"), _special("Suite/link", tarfile.SYMTYPE, "../../outside")],
                "symlink pointing outside"),
    "symlink-absolute": ([_special("Suite/link", tarfile.SYMTYPE, "/etc/passwd")], "absolute path"),
    "hardlink": ([_file("Suite/ok.txt"), _special("Suite/hard", tarfile.LNKTYPE, "../outside")],
                 "hard link pointing outside"),
    "device": ([_file("Suite/ok.txt"), _special("Suite/null", tarfile.CHRTYPE)], "device file"),
    "fifo": ([_file("Suite/ok.txt"), _special("Suite/pipe", tarfile.FIFOTYPE)], "fifo"),
}


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("case", sorted(UNSAFE))
def test_unsafe_archive_is_refused_over_http(case, tmp_path):
    members, reason = UNSAFE[case]
    served = tmp_path / "served"
    served.mkdir()
    archive = _tar(served / "evil.tar", members)
    outside = tmp_path / "box"
    to = outside / "to"
    to.mkdir(parents=True)
    before = _tree(tmp_path)
    with serve(served) as server:
        manifest = write_manifest(tmp_path / "m.json", {"evil": {
            "folder": "Evil", "files": [file_entry(archive, server.url("files", "evil.tar"))]}})
        with pytest.raises(UserError, match=f"refused to extract .*{reason}"):
            download(["evil"], to, manifest=manifest)
    # only the verified archive in to/.downloads is new: no suite folder, no temp folder,
    # nothing beside the download folder
    assert _tree(tmp_path) - before == {"m.json", "box/to/.downloads", "box/to/.downloads/evil",
                                        "box/to/.downloads/evil/evil.tar"}
    assert not Path("/tmp/robustbench_absolute_test.txt").exists()


def test_links_inside_the_destination_are_kept(tmp_path):
    archive = _tar(tmp_path / "ok.tar", [
        _file("Suite/a.txt", b"A"),
        _special("Suite/sub", tarfile.DIRTYPE),
        _special("Suite/sub/link", tarfile.SYMTYPE, "../a.txt"),
        _special("Suite/hard", tarfile.LNKTYPE, "Suite/a.txt"),
    ])
    dest = tmp_path / "dest"
    dest.mkdir()
    assert extract_tar(archive, dest) == 1
    assert (dest / "Suite" / "sub" / "link").read_bytes() == b"A"
    assert (dest / "Suite" / "hard").read_bytes() == b"A"


def test_not_a_tar_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"not an archive at all" * 100)
    with pytest.raises(UserError, match="not a readable tar archive"):
        extract_tar(bad, tmp_path)
