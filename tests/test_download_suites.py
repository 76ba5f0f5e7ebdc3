"""`robust-eval download` end to end against a local HTTP server: download then score, dry run,
disk space, mirror, lock, already-present suites, the hint `score` gives, and the packaged
manifests themselves."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tarfile
from collections import namedtuple
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from cli import main
from download_server import file_entry, serve, write_manifest
from formats import write_cifar_c, write_imagenet_c_folder
from robustbench_dm.download import download, load_manifest
from robustbench_dm.download import run as download_run
from robustbench_dm.download.progress import ByteProgress
from robustbench_dm.errors import UserError
from robustbench_dm.models import create_model, save_checkpoint
from robustbench_dm.suites import get_suite, list_suites

CORRUPTIONS = ("fog", "snow")
REPO = Path(__file__).resolve().parents[1]
HOLD_LOCK = """import sys, time
from robustbench_dm.outdir import lock_folder
with lock_folder(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(600)
"""


@pytest.fixture
def released(tmp_path):
    """CIFAR-10-C in its released layout (a tar holding CIFAR-10-C/<corruption>.npy +
    labels.npy), served by a real HTTP server, with a manifest pointing at it."""
    src = write_cifar_c(tmp_path / "src" / "CIFAR-10-C", 10, CORRUPTIONS)
    served = tmp_path / "served"
    served.mkdir()
    with tarfile.open(served / "CIFAR-10-C.tar", "w") as tar:
        tar.add(src, arcname="CIFAR-10-C")
    with serve(served) as server:
        entry = file_entry(served / "CIFAR-10-C.tar", server.url("files", "CIFAR-10-C.tar"))
        manifest = write_manifest(tmp_path / "manifest.json",
                                  {"cifar10-c": {"folder": "CIFAR-10-C", "files": [entry]}})
        yield namedtuple("Released", "src manifest server entry")(src, manifest, server, entry)


def _checkpoint(path: Path) -> Path:
    torch.manual_seed(0)
    model = create_model("small_cnn", 10, ((0.5,) * 3, (0.5,) * 3))
    save_checkpoint(path, arch="small_cnn", num_classes=10, normalization=model.normalization,
                    state_dict=model.net.state_dict(), dataset="cifar10")
    return path


def _errors(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def test_download_then_score(released, tmp_path):
    to = tmp_path / "data"
    result = CliRunner().invoke(main, ["download", "cifar10-c", "--to", str(to), "--manifest",
                                       str(released.manifest)])
    assert result.exit_code == 0, result.output
    assert f"--data-root {to / 'CIFAR-10-C'}" in result.output
    for name in (*CORRUPTIONS, "labels"):
        assert (to / "CIFAR-10-C" / f"{name}.npy").read_bytes() == \
            (released.src / f"{name}.npy").read_bytes()
    assert not (to / ".downloads").exists() and not (to / ".lock").exists()
    record = json.loads((to / "CIFAR-10-C" / "download-record.json").read_text())
    assert record["files"]["CIFAR-10-C.tar"]["sha256"] == released.entry["sha256"]
    model = _checkpoint(tmp_path / "model.pt")
    outs = []
    for root in (to / "CIFAR-10-C", released.src):
        out = tmp_path / f"scores-{len(outs)}"
        scored = CliRunner().invoke(main, ["score", str(model), "--suite", "cifar10-c",
                                           "--data-root", str(root), "--out", str(out),
                                           "--corruptions", ",".join(CORRUPTIONS)])
        assert scored.exit_code == 0, scored.output
        outs.append(out)
    downloaded, direct = (_errors(o) for o in outs)
    assert downloaded == direct


def test_second_run_finds_the_suite_present(released, tmp_path):
    download(["cifar10-c"], tmp_path / "d", manifest=released.manifest)
    requests = len(released.server.stats()["requests"])
    report = download(["cifar10-c"], tmp_path / "d", manifest=released.manifest)
    assert report.suites[0].status == "present"
    assert len(released.server.stats()["requests"]) == requests


def test_dry_run_lists_files_and_total_without_fetching(released, tmp_path):
    result = CliRunner().invoke(main, ["download", "cifar10-c", "--to", str(tmp_path / "d"),
                                       "--manifest", str(released.manifest), "--dry-run"])
    assert result.exit_code == 0, result.output
    size = released.entry["size"]
    assert "CIFAR-10-C.tar" in result.output and released.entry["url"] in result.output
    assert re.search(r"total \d", result.output)
    assert released.server.stats()["requests"] == []
    assert not (tmp_path / "d").exists()
    report = download(["cifar10-c", "imagenet-c"], tmp_path / "d", dry_run=True)
    assert report.suites[1].files[0].approx_size > 0 and size > 0


def test_not_enough_disk_space_is_refused_before_downloading(released, tmp_path, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(download_run.shutil, "disk_usage", lambda path: usage(10**6, 10**6 - 100, 100))
    with pytest.raises(UserError, match="not enough free disk space .* need .* 100 B are free"):
        download(["cifar10-c"], tmp_path / "d", manifest=released.manifest)
    assert released.server.stats()["requests"] == []


def test_mirror_replaces_scheme_and_host(released, tmp_path):
    entry = dict(released.entry, url="https://zenodo.example.org/files/CIFAR-10-C.tar?download=1")
    manifest = write_manifest(tmp_path / "m.json", {"cifar10-c": {"folder": "CIFAR-10-C",
                                                                  "files": [entry]}})
    report = download(["cifar10-c"], tmp_path / "d", manifest=manifest,
                      mirror=released.server.base)
    assert report.suites[0].files[0].url == released.server.url("files", "CIFAR-10-C.tar?download=1")
    assert (tmp_path / "d" / "CIFAR-10-C" / "labels.npy").is_file()


def test_a_locked_folder_is_refused(released, tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(tmp_path / "d")], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(UserError, match=f"in use: process {holder.pid}"):
            download(["cifar10-c"], tmp_path / "d", manifest=released.manifest)
    finally:
        holder.kill()
        holder.wait()
    assert released.server.stats()["requests"] == []


def test_score_without_data_suggests_the_download_command(tmp_path):
    model = _checkpoint(tmp_path / "model.pt")
    empty = tmp_path / "data" / "CIFAR-10-C"
    empty.mkdir(parents=True)
    for root in ([], ["--data-root", str(empty)]):
        result = CliRunner().invoke(main, ["score", str(model), "--suite", "cifar10-c", *root,
                                           "--out", str(tmp_path / "out")])
        assert result.exit_code == 2
        expected = (f"robust-eval download cifar10-c --to {empty.parent}" if root
                    else "robust-eval download cifar10-c --to DIR")
        assert expected in result.output


def test_imagenet_itself_is_one_line_saying_where_to_get_it(tmp_path):
    result = CliRunner().invoke(main, ["download", "imagenet", "--to", str(tmp_path)])
    assert result.exit_code == 2
    assert "cannot be downloaded" in result.output and "image-net.org" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_packaged_manifests_cover_the_released_suites():
    manifest = load_manifest()
    released = {"cifar10-c", "cifar100-c", "cifar10-p", "tinyimagenet-c", "imagenet-c",
                "imagenet-p", "imagenet-3dcc"}
    assert released <= {name for name, _ in list_suites()}
    assert released | {"cifar10", "cifar100", "fashion-mnist", "imagenet"} == set(manifest)
    assert len(manifest["imagenet-c"].files) == 5 and len(manifest["imagenet-3dcc"].files) == 12
    for spec in manifest.values():
        for f in spec.files:
            assert f.md5 is None or re.fullmatch("[0-9a-f]{32}", f.md5)
            assert f.sha256 is None or re.fullmatch("[0-9a-f]{64}", f.sha256)
            # a published value always says where it was published
            assert (f.md5 or f.sha256 or f.size) is None or f.published
    assert manifest["cifar10-c"].files[0].md5 == "56bf5dcef84df0e2308c6dcbcbbd8499"


def test_released_suite_folders_match_the_readers(released, tmp_path):
    download(["cifar10-c"], tmp_path / "d", manifest=released.manifest)
    suite = get_suite("cifar10-c", tmp_path / "d" / "CIFAR-10-C", corruptions=CORRUPTIONS)
    assert suite.cell_size("fog", 1) == 10


def test_several_archives_merge_into_one_suite_folder(tmp_path):
    """ImageNet-C's layout: each archive holds corruption folders; all land in DIR/ImageNet-C."""
    served = tmp_path / "served"
    served.mkdir()
    for archive, corruption in (("noise.tar", "gaussian_noise"), ("weather.tar", "fog")):
        src = write_imagenet_c_folder(tmp_path / "src" / archive, (corruption,), per_class=1,
                                      size=32, severities=(1, 2))
        with tarfile.open(served / archive, "w") as tar:
            tar.add(src / corruption, arcname=corruption)
    with serve(served) as server:
        files = [file_entry(served / name, server.url("files", name), strip_top=False)
                 for name in ("noise.tar", "weather.tar")]
        manifest = write_manifest(tmp_path / "m.json", {"imagenet-c": {"folder": "ImageNet-C",
                                                                       "files": files}})
        download(["imagenet-c"], tmp_path / "d", manifest=manifest)
    root = tmp_path / "d" / "ImageNet-C"
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["fog", "gaussian_noise"]
    suite = get_suite("imagenet-c", root, corruptions="gaussian_noise,fog", severities="1,2")
    assert suite.cell_size("fog", 2) == 3


def test_progress_lines_without_a_terminal():
    stream = io.StringIO()
    bar = ByteProgress("cifar10-c CIFAR-10-C.tar", stream, already=1000)
    bar(1000 + 500_000, 2_000_000)
    bar(2_000_000, 2_000_000)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("cifar10-c CIFAR-10-C.tar: 501.0 kB / 2.0 MB (25%), ")
    assert "/s" in lines[0] and "ETA" in lines[0]
    assert lines[-1].startswith("cifar10-c CIFAR-10-C.tar: 2.0 MB / 2.0 MB (100%)")
    assert "\r" not in stream.getvalue()
