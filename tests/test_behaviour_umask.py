"""Files the toolkit writes respect the process umask (0644 under 022, not the 0600 of the
temporary file), and temporary files of killed writers are removed (observed case 7)."""

from __future__ import annotations

import contextlib
import os
import stat

import numpy as np
import pytest
import torch

from robustbench_dm.atomic import atomic_path, remove_stale_temps, write_atomic
from robustbench_dm.models import save_checkpoint
from robustbench_dm.scoring import score
from robustbench_dm.training import resolve_config, train
from scoring_fixtures import MemorySuite, PixelCodeNet
from training_fixtures import FlipCE, one_thread, write_fashion_mnist

_one_thread = pytest.fixture(autouse=True, scope="module")(one_thread)


@contextlib.contextmanager
def umask(mask):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_write_atomic_gives_the_umask_mode(tmp_path, mask, expected):
    with umask(mask):
        write_atomic(tmp_path / "a.txt", lambda f: f.write("x"))
        with atomic_path(tmp_path / "b.bin") as tmp:
            tmp.write_bytes(b"y")
    assert mode(tmp_path / "a.txt") == expected and mode(tmp_path / "b.bin") == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin"]


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    (tmp_path / "a.txt").write_text("old")

    def fail(f):
        f.write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic(tmp_path / "a.txt", fail)
    assert (tmp_path / "a.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_remove_stale_temps_of_a_file_and_of_a_folder(tmp_path):
    for name in (".summary.json.ab12cd.tmp", ".summary.json.zz.tmp", ".last.pt.x1.tmp",
                 "summary.json", "notes.tmp", ".hidden"):
        (tmp_path / name).write_text("x")
    removed = remove_stale_temps(tmp_path / "summary.json")
    assert sorted(p.name for p in removed) == [".summary.json.ab12cd.tmp", ".summary.json.zz.tmp"]
    assert [p.name for p in remove_stale_temps(tmp_path)] == [".last.pt.x1.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hidden", "notes.tmp", "summary.json"]


def test_checkpoint_results_and_summary_are_readable_by_the_group(tmp_path):
    labels = np.arange(12) % 4
    suite = MemorySuite("cifar10-c", labels, {("clean", 0): labels, ("fog", 1): labels}, 4)
    with umask(0o022):
        save_checkpoint(tmp_path / "m.pt", arch="x", num_classes=4,
                        state_dict={"w": torch.zeros(1)})
        score(PixelCodeNet(4), suite, out_dir=tmp_path / "s", batch_size=5, progress=False)
    assert mode(tmp_path / "m.pt") == 0o644
    assert {p.name: mode(p) for p in (tmp_path / "s").iterdir()} == {
        "results.h5": 0o644, "summary.json": 0o644}


def test_training_run_files_are_readable_by_the_group(tmp_path):
    data = write_fashion_mnist(tmp_path / "data", n_train=32, n_test=16)
    config = resolve_config("flip_ce", "small_cnn", "fashion-mnist", str(data),
                            str(tmp_path / "run"), epochs=1, batch_size=16, lr=0.05,
                            device="cpu")
    with umask(0o022):
        train(config, method=FlipCE())
    assert {p.name: mode(p) for p in (tmp_path / "run").iterdir()} == {
        "last.pt": 0o644, "log.csv": 0o644, "config.json": 0o644}


def test_score_removes_the_summary_temp_files_of_a_killed_run(tmp_path):
    labels = np.arange(8) % 4
    suite = MemorySuite("cifar10-c", labels, {("clean", 0): labels, ("fog", 1): labels}, 4)
    out = tmp_path / "s"
    out.mkdir()
    (out / ".summary.json.k1ll3d.tmp").write_text('{"half": ')
    score(PixelCodeNet(4), suite, out_dir=out, batch_size=4, progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["results.h5", "summary.json"]


def test_train_removes_the_temp_files_of_a_killed_run(tmp_path):
    data = write_fashion_mnist(tmp_path / "data", n_train=16, n_test=16)
    out = tmp_path / "run"
    out.mkdir()
    (out / ".log.csv.x1.tmp").write_text("epoch,")
    config = resolve_config("flip_ce", "small_cnn", "fashion-mnist", str(data), str(out),
                            epochs=1, batch_size=16, lr=0.05, device="cpu")
    train(config, method=FlipCE())
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "last.pt", "log.csv"]
