"""``make-suite --format h5``: one suite.h5 with the npy arrays, atomic per dataset, read back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from click.testing import CliRunner

import robustbench_dm.suites.make_suite as make_suite_module
from cli import main
from formats import write_cifar_pickle, write_fashion_mnist_idx
from robustbench_dm.errors import UserError
from robustbench_dm.scoring import Results
from robustbench_dm.suites import get_suite
from robustbench_dm.suites.make_suite import make_suite
from scoring_fixtures import PixelCodeNet
from test_make_suite import _all, kernels  # noqa: F401  (kernels: autouse fixture)

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")  # TorchScript model


def test_c_h5_holds_the_npy_bytes_and_reads_back(tmp_path):
    write_cifar_pickle(tmp_path / "clean", 11, seed=2)
    args = ("cifar10-c", "cifar10", tmp_path / "clean")
    make_suite(*args, tmp_path / "npy", seed=9, corruptions="fog,brightness", batch_size=4)
    done = make_suite(*args, tmp_path / "h5", fmt="h5", seed=9, corruptions="fog,brightness", batch_size=3)
    assert [p.rsplit("/", 1)[-1] for p in done["written"]] == ["fog", "brightness"]
    assert sorted(p.name for p in (tmp_path / "h5").iterdir()) == ["suite.h5", "suite.json"]
    with h5py.File(tmp_path / "h5" / "suite.h5", "r") as f:
        assert set(f) == {"fog", "brightness", "labels"}
        for name in ("fog", "brightness", "labels"):
            npy = np.load(tmp_path / "npy" / f"{name}.npy")
            assert f[name].dtype == npy.dtype and np.array_equal(f[name][()], npy)
        assert f["fog"].chunks == (1, 32, 32, 3) and f["fog"].compression == "gzip"
        assert f.attrs["suite"] == "cifar10-c" and f.attrs["seed"] == 9 and f.attrs["source"] == "cifar10"
        assert f.attrs["preset"] == "cifar" and f.attrs["limit"] == 0 and f.attrs["generator_version"]
    for root in (tmp_path / "h5", tmp_path / "h5" / "suite.h5"):  # the folder or the file
        written = get_suite("cifar10-c", root, corruptions="fog,brightness", clean_root=tmp_path / "clean")
        npy = get_suite("cifar10-c", tmp_path / "npy", corruptions="fog,brightness", clean_root=tmp_path / "clean")
        assert written.cells() == npy.cells()
        for cell in written.cells():
            assert all(torch.equal(a, b) for a, b in zip(_all(written, *cell), _all(npy, *cell)))
        assert written.metadata()["data_root"] == str(root)


def test_reader_streams_slices_never_whole_arrays(tmp_path, monkeypatch):
    write_cifar_pickle(tmp_path / "clean", 7)
    make_suite("cifar10-c", "cifar10", tmp_path / "clean", tmp_path / "out", fmt="h5", corruptions="fog")
    suite = get_suite("cifar10-c", tmp_path / "out" / "suite.h5", corruptions="fog", limit=5)
    reads = []
    getitem = h5py.Dataset.__getitem__
    monkeypatch.setattr(h5py.Dataset, "__getitem__", lambda self, key: reads.append(key) or getitem(self, key))
    images = _all(suite, "fog", 2, batch_size=2)[0]
    assert images.shape == (5, 3, 32, 32)
    assert [(k.start, k.stop) for k in reads] == [(7, 9), (9, 11), (11, 12)]


def test_interrupted_generation_leaves_no_finished_looking_dataset(tmp_path, monkeypatch):
    write_fashion_mnist_idx(tmp_path / "fm", 6)
    args = ("fmnist-c", "fashion-mnist", tmp_path / "fm", tmp_path / "out")
    make_suite(*args, fmt="h5", corruptions="fog", seed=1)

    real = make_suite_module.GeneratedSuite.iter_cell

    def killed(self, name, level, batch_size):
        for batch in real(self, name, level, batch_size):
            if name == "brightness" and level == 3:
                raise KeyboardInterrupt
            yield batch

    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(make_suite_module.GeneratedSuite, "iter_cell", killed)
        make_suite(*args, fmt="h5", corruptions="fog,brightness", seed=1)
    with h5py.File(tmp_path / "out" / "suite.h5", "r") as f:
        assert set(f) == {"fog", "labels"}
    with pytest.raises(UserError, match="brightness/1 .* is not in the written suite.s manifest"):
        get_suite("fmnist-c", tmp_path / "out", corruptions="fog,brightness")
    done = make_suite(*args, fmt="h5", corruptions="fog,brightness", seed=1)
    assert [p.rsplit("/", 1)[-1] for p in done["skipped"]] == ["fog"]
    assert [p.rsplit("/", 1)[-1] for p in done["written"]] == ["brightness"]
    assert not list((tmp_path / "out").glob(".*partial"))
    written = get_suite("fmnist-c", tmp_path / "out", corruptions="brightness")
    generated = get_suite("fmnist-c", tmp_path / "fm", corruptions="brightness", seed=1)
    for cell in written.cells():
        assert all(torch.equal(a, b) for a, b in zip(_all(written, *cell), _all(generated, *cell)))


SLOW_MAKE = """
import sys, time
import corruptions.registry as registry
from robustbench_dm.suites.make_suite import make_suite

def slow(images, severity, preset, generator):
    time.sleep(0.2)
    return images

registry._CORRUPTIONS["fog"] = registry._CORRUPTIONS["brightness"] = slow
make_suite("fmnist-c", "fashion-mnist", sys.argv[1], sys.argv[2], fmt="h5", corruptions="brightness,fog",
           batch_size=1)
"""


def test_sigkill_mid_run_keeps_suite_h5_readable_and_resumes(tmp_path):
    write_fashion_mnist_idx(tmp_path / "fm", 1)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", SLOW_MAKE, str(tmp_path / "fm"), str(out)], env=env)
    try:
        deadline = time.monotonic() + 60
        while not (out / ".fog.h5.partial").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "make-suite ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    with h5py.File(out / "suite.h5", "r") as f:
        assert set(f) == {"brightness", "labels"}
    assert get_suite("fmnist-c", out, corruptions="brightness").cell_size("brightness", 1) == 1
    done = make_suite("fmnist-c", "fashion-mnist", tmp_path / "fm", out, fmt="h5", corruptions="brightness,fog")
    assert [p.rsplit("/", 1)[-1] for p in done["written"]] == ["fog"]
    assert not list(out.glob(".*partial"))


def test_interruption_before_the_rename_is_redone(tmp_path, monkeypatch):
    write_fashion_mnist_idx(tmp_path / "fm", 4)
    args = ("fmnist-c", "fashion-mnist", tmp_path / "fm", tmp_path / "out")

    def killed(self, source, dest):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(h5py.Group, "move", killed)
        make_suite(*args, fmt="h5", corruptions="fog")
    with h5py.File(tmp_path / "out" / "suite.h5", "r") as f:
        assert set(f) == {"fog.tmp", "labels"}  # copied but not renamed: not a finished dataset
    with pytest.raises(UserError, match="fog/1 .* is not in the written suite.s manifest"):
        get_suite("fmnist-c", tmp_path / "out", corruptions="fog")
    assert [p.rsplit("/", 1)[-1] for p in make_suite(*args, fmt="h5", corruptions="fog")["written"]] == ["fog"]
    with h5py.File(tmp_path / "out" / "suite.h5", "r") as f:
        assert set(f) == {"fog", "labels"}


def test_p_h5_matches_npy_and_loads_as_fmnist_p(tmp_path):
    write_fashion_mnist_idx(tmp_path / "fm", 5)
    opts = dict(corruptions="gaussian_noise,rotate", severities="1,2", seed=4)
    make_suite("fmnist-p", "fashion-mnist", tmp_path / "fm", tmp_path / "npy", **opts)
    make_suite("fmnist-p", "fashion-mnist", tmp_path / "fm", tmp_path / "h5", fmt="h5", **opts)
    with h5py.File(tmp_path / "h5" / "suite.h5", "r") as f:
        assert set(f) == {"gaussian_noise", "gaussian_noise_2", "rotate", "labels"}
        assert f["rotate"].shape == (5, 4, 32, 32, 3) and f["rotate"].chunks == (1, 4, 32, 32, 3)
        for name in f:
            assert np.array_equal(f[name][()], np.load(tmp_path / "npy" / f"{name}.npy"))
    written = get_suite("fmnist-p", tmp_path / "h5" / "suite.h5", corruptions="gaussian_noise,rotate", severities="1,2")
    assert written.metadata()["labels"].endswith("suite.h5:/labels")
    npy = get_suite("fmnist-p", tmp_path / "npy", corruptions="gaussian_noise,rotate", severities="1,2")
    for cell in npy.cells():
        assert all(torch.equal(a, b) for a, b in zip(_all(written, *cell), _all(npy, *cell)))
    with pytest.raises(UserError, match="holds a fmnist-p suite written by make-suite"):
        get_suite("cifar10-p", tmp_path / "h5", corruptions="rotate")  # not CIFAR-10-P images


def _h5_suite(path, **datasets):
    with h5py.File(path, "w") as f:
        for name, data in datasets.items():
            f.create_dataset(name, data=data)
    return path


def test_bad_h5_files_give_one_clear_error(tmp_path):
    images = np.zeros((10, 32, 32, 3), np.uint8)
    labels = np.zeros(10, np.uint8)
    cases = [
        (tmp_path / "none.h5", "missing file .*none.h5"),
        (tmp_path / "text.h5", "not a readable HDF5 file"),
        (_h5_suite(tmp_path / "nofog.h5", brightness=images, labels=labels), "missing dataset /fog"),
        (_h5_suite(tmp_path / "float.h5", fog=images.astype(np.float32), labels=labels), r"float32 \(10, 32, 32, 3\); expected uint8"),
        (_h5_suite(tmp_path / "gray.h5", fog=images[..., 0], labels=labels), r"fog holds uint8 \(10, 32, 32\)"),
        (_h5_suite(tmp_path / "rows.h5", fog=images[:7], labels=labels[:7]), "has 7 rows"),
        (_h5_suite(tmp_path / "nolabels.h5", fog=images), "missing dataset /labels"),
        (_h5_suite(tmp_path / "range.h5", fog=images, labels=labels + 10), "labels out of range"),
    ]
    (tmp_path / "text.h5").write_text("not hdf5")
    for path, message in cases:
        with pytest.raises(UserError, match=message):
            get_suite("cifar10-c", path, corruptions="fog")
    p = _h5_suite(tmp_path / "p.h5", rotate=np.zeros((3, 4, 32, 32), np.uint8))
    with pytest.raises(UserError, match=r"p.h5:/rotate holds uint8 \(3, 4, 32, 32\)"):
        get_suite("cifar10-p", p, corruptions="rotate")
    with pytest.raises(UserError, match="5 severities"):
        make_suite("cifar10-c", "cifar10", write_cifar_pickle(tmp_path / "c", 2), tmp_path / "o", fmt="h5", severities="1")


def test_cli_make_suite_h5_then_score(tmp_path):
    write_fashion_mnist_idx(tmp_path / "fm", 8)
    runner = CliRunner()
    assert "h5" in runner.invoke(main, ["make-suite", "--help"]).output
    args = ["make-suite", "fmnist-c", "--from", "fashion-mnist", "--data-root", str(tmp_path / "fm"),
            "--out", str(tmp_path / "suite"), "--format", "h5", "--corruptions", "fog,brightness", "--seed", "5"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "2 written" in result.output
    assert "2 already complete" in runner.invoke(main, args).output

    model = tmp_path / "model.pt"
    torch.jit.save(torch.jit.script(PixelCodeNet(10)), str(model))
    h5 = tmp_path / "suite" / "suite.h5"
    result = runner.invoke(main, ["score", str(model), "--suite", "fmnist-c", "--data-root", str(h5),
                                  "--corruptions", "fog,brightness", "--out", str(tmp_path / "scored"),
                                  "--batch-size", "3"])
    assert result.exit_code == 0, result.output
    errors = Results.load(tmp_path / "scored" / "results.h5").errors().set_index(["corruption", "severity"])["error"]
    with h5py.File(h5, "r") as f:  # PixelCodeNet predicts the code in pixel (0, 0): R + 256 G
        labels = f["labels"][:8].astype(np.int64)
        for name in ("fog", "brightness"):
            pixels = f[name][:, 0, 0, :2].astype(np.int64).reshape(5, 8, 2)
            expected = ((pixels[..., 0] + 256 * pixels[..., 1]) != labels).mean(1)
            assert errors[name].tolist() == pytest.approx(expected.tolist(), abs=1e-12)
