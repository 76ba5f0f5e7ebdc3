"""Faults that lost or falsified results (issue 11): adding cells to an --out, the data's
identity on resume, damaged results files, broken files mid-suite, NaN logits, and two runs
into one --out."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from cli import main
from formats import WNIDS, write_cifar_c, write_cifar_pickle, write_imagenet_c_folder
from robustbench_dm.errors import UserError
from robustbench_dm.scoring import Results, score
from robustbench_dm.suites import get_suite
from scoring_fixtures import MemorySuite, PixelCodeNet, predictions_with_error

N = 10
REPO = Path(__file__).resolve().parents[1]
INFO = {"path": "runs/a.pt", "sha256": "a" * 64, "num_classes": None}
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    labels = np.arange(N) % 10
    clean = np.random.default_rng(0).integers(0, 256, (N, 3, 32, 32)).astype(np.uint8)
    clean[:, 0, 0, 0] = labels
    clean[:, 1, 0, 0] = 0
    write_cifar_pickle(root / "clean", images=clean, labels=labels)
    model = root / "model.pt"
    torch.jit.save(torch.jit.script(PixelCodeNet(10)), str(model))
    return {"root": root, "c10": write_cifar_c(root / "CIFAR-10-C", N, ("fog", "snow")),
            "clean": root / "clean", "model": model}


def run(*args):
    return CliRunner().invoke(main, ["score", *map(str, args)])


def cell_checksums(path: Path) -> dict[str, str]:
    with h5py.File(path, "r") as f:
        found = {}
        f["cells"].visititems(lambda key, item: found.__setitem__(key, item.attrs["sha256"])
                              if isinstance(item, h5py.Group) and "sha256" in item.attrs else None)
    return found


def test_more_cells_into_an_out_keep_the_existing_ones(data, tmp_path):
    """Observed case 5: adding --clean-root to the same --out was refused."""
    out = tmp_path / "out"
    common = [data["model"], "--suite", "cifar10-c", "--data-root", data["c10"], "--out", out,
              "--device", "cpu", "--batch-size", "4"]
    assert run(*common, "--corruptions", "fog").exit_code == 0
    fog = cell_checksums(out / "results.h5")
    assert sorted(fog) == [f"fog/{s}" for s in range(1, 6)]

    added = run(*common, "--corruptions", "fog", "--clean-root", data["clean"])
    assert added.exit_code == 0, added.output
    after = cell_checksums(out / "results.h5")
    assert sorted(after) == ["clean/0", *sorted(fog)]
    assert {k: after[k] for k in fog} == fog  # the existing cells were kept as they were
    summary = json.loads((out / "summary.json").read_text())
    assert summary["clean_error"] == 0.0 and list(summary["corruptions"]) == ["fog"]

    more = run(*common, "--corruptions", "snow", "--severities", "2,4")
    assert more.exit_code == 0, more.output
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["corruptions"]) == ["fog", "snow"]  # the union of the cells
    assert summary["corruptions"]["snow"]["errors"][0] is None
    results = Results.load(out / "results.h5")
    assert ("clean", 0) in results.cells() and ("snow", 4) in results.cells()
    meta = results.attrs["metadata"]
    assert meta["subset"]["corruptions"] == ["fog", "snow"]
    assert meta["clean_root"] == str(data["clean"])

    before = (out / "results.h5").read_bytes()
    for extra, field, old, new in ((["--limit", "5"], "subset limit", "None", "5"),
                                   (["--seed", "3"], "seed", "0", "3")):
        refused = run(*common, "--corruptions", "fog", *extra)
        assert refused.exit_code == 2, refused.output
        message = refused.stderr
        assert f"{field} {old}" in message and f"{field} {new}" in message, message
    assert (out / "results.h5").read_bytes() == before


def test_other_files_are_refused_and_a_moved_copy_accepted(data, tmp_path):
    out = tmp_path / "out"
    args = ["--suite", "cifar10-c", "--out", out, "--corruptions", "fog", "--device", "cpu"]
    assert run(data["model"], "--data-root", data["c10"], *args).exit_code == 0
    before = (out / "results.h5").read_bytes()

    other = write_cifar_c(tmp_path / "other", N, ("fog", "snow"), seed=5)
    refused = run(data["model"], "--data-root", other, *args)
    assert refused.exit_code == 2, refused.output
    [line] = [x for x in refused.stderr.splitlines() if x.startswith("error: ")]
    assert "fingerprint" in line and str(other) in line and str(data["c10"]) in line
    assert (out / "results.h5").read_bytes() == before

    moved = shutil.copytree(data["c10"], tmp_path / "moved")
    accepted = run(data["model"], "--data-root", moved, *args[:-2], "--corruptions", "fog,snow",
                   "--device", "cpu")
    assert accepted.exit_code == 0, accepted.output
    assert ("snow", 5) in Results.load(out / "results.h5").cells()


def _suite(calls_from=None) -> MemorySuite:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 30)
    errors = {("clean", 0): 0.1} | {(c, s): 0.1 * s for c in ("fog", "snow") for s in (1, 2, 3)}
    cells = {k: predictions_with_error(labels, e, 10, rng) for k, e in errors.items()}
    return MemorySuite("cifar10-c", labels, cells, 10)


def _overwrite(path: Path, dataset: str, data: bytes = b"\xff" * 16) -> None:
    with h5py.File(path, "r") as f:
        offset = f[dataset].id.get_offset()
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(data)


def test_damaged_results_are_named_and_rescored_cell_by_cell(tmp_path):
    out = tmp_path / "run"
    score(PixelCodeNet(10), _suite(), out_dir=out, checkpoint_info=INFO, device="cpu")
    path = out / "results.h5"
    fresh = json.loads((out / "summary.json").read_text())
    kept = cell_checksums(path)

    _overwrite(path, "cells/fog/2/labels")            # bytes overwritten in place
    with h5py.File(path, "r+") as f:
        del f["cells/snow/1/topk"]                    # a dataset deleted
        del f["cells/snow/3"].attrs["sha256"]         # an attribute deleted
    with pytest.raises(UserError) as err:
        Results.load(path)
    message = str(err.value)
    assert str(path) in message and "fog/2 (checksum mismatch" in message
    assert "snow/1 (no topk array)" in message and "snow/3 (no checksum)" in message
    partial = Results.load(path, allow_damaged=True)
    assert partial.damaged_cells() == [("fog", 2), ("snow", 1), ("snow", 3)]
    assert ("fog", 2) not in partial.cells() and ("fog", 1) in partial.cells()

    report = CliRunner().invoke(main, ["report", str(path), "--out", str(tmp_path / "report")])
    assert report.exit_code == 2 and "fog/2" in report.stderr and "Traceback" not in report.output

    suite = _suite()
    notes: list[str] = []
    again = score(PixelCodeNet(10), suite, out_dir=out, checkpoint_info=INFO, device="cpu",
                  log=notes.append)
    assert sorted(suite.calls) == [("fog", 2), ("snow", 1), ("snow", 3)]
    [note] = [n for n in notes if n.startswith("note: ")]
    assert "fog/2" in note and "snow/1" in note and "re-scoring them" in note
    assert again.damaged_cells() == []
    after = cell_checksums(path)
    assert all(after[k] == v for k, v in kept.items() if k not in ("fog/2", "snow/1", "snow/3"))
    assert after == kept  # the re-scored cells are the same arrays again
    assert json.loads((out / "summary.json").read_text()) == fresh


def test_an_unreadable_results_file_is_named(tmp_path):
    out = tmp_path / "run"
    score(PixelCodeNet(10), _suite(), out_dir=out, checkpoint_info=INFO, device="cpu")
    path = out / "results.h5"
    with open(path, "r+b") as fh:
        fh.write(b"\0" * 64)                          # the HDF5 superblock overwritten
    before = path.read_bytes()
    with pytest.raises(UserError, match=f"results file {path} cannot be read"):
        Results.load(path)
    with pytest.raises(UserError, match="cannot be read"):
        score(PixelCodeNet(10), _suite(), out_dir=out, checkpoint_info=INFO, device="cpu")
    assert path.read_bytes() == before


def test_files_written_before_checksums_still_load_and_gain_them(tmp_path):
    out = tmp_path / "run"
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 20)
    cells = {("fog", 1): labels, ("fog", 2): labels}
    score(PixelCodeNet(10), MemorySuite("cifar10-c", labels, cells, 10), out_dir=out,
          checkpoint_info=INFO, device="cpu")
    with h5py.File(out / "results.h5", "r+") as f:  # as the previous version wrote it
        del f.attrs["cell_checksums"]
        for level in ("1", "2"):
            del f[f"cells/fog/{level}"].attrs["sha256"]
    assert Results.load(out / "results.h5").cells() == [("fog", 1), ("fog", 2)]
    bigger = MemorySuite("cifar10-c", labels, cells | {("snow", 1): labels}, 10)
    score(PixelCodeNet(10), bigger, out_dir=out, checkpoint_info=INFO, device="cpu")
    assert bigger.calls == [("snow", 1)]
    assert sorted(cell_checksums(out / "results.h5")) == ["fog/1", "fog/2", "snow/1"]


class _Net3(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))  # 3 classes from the 3 channel means


def test_a_broken_image_mid_suite_names_file_cell_and_what_was_kept(tmp_path):
    root = write_imagenet_c_folder(tmp_path / "in-c", ("gaussian_noise", "fog"), WNIDS,
                                   per_class=2, severities=(1, 2), size=32)
    broken = sorted((root / "fog" / "1" / WNIDS[1]).iterdir())[0]
    good = broken.read_bytes()
    broken.write_bytes(b"\0" * len(good))
    out = tmp_path / "out"
    suite = get_suite("imagenet-c", root, corruptions="gaussian_noise,fog", severities="1,2")
    with pytest.raises(UserError) as err:
        score(_Net3(), suite, out_dir=out, checkpoint_info=INFO, device="cpu", batch_size=2)
    message = str(err.value)
    assert str(broken) in message and "cell fog/1" in message
    assert f"2 of 4 cells saved in {out / 'results.h5'}" in message
    assert "re-running the same command resumes" in message
    kept = cell_checksums(out / "results.h5")

    broken.write_bytes(good)
    suite = get_suite("imagenet-c", root, corruptions="gaussian_noise,fog", severities="1,2")
    score(_Net3(), suite, out_dir=out, checkpoint_info=INFO, device="cpu", batch_size=2)
    after = cell_checksums(out / "results.h5")
    assert sorted(after) == ["fog/1", "fog/2", "gaussian_noise/1", "gaussian_noise/2"]
    assert {k: after[k] for k in kept} == kept


def test_a_perturbation_suite_of_fewer_than_5_classes_is_refused_before_scoring(tmp_path):
    from formats import write_imagenet_p
    write_imagenet_p(tmp_path / "p", ["gaussian_noise"], WNIDS[:3], 1, size=16, frames=4)
    with pytest.raises(UserError, match="5"):
        get_suite("imagenet-p", tmp_path / "p", corruptions="gaussian_noise")


def test_any_perturbation_suite_of_fewer_than_5_classes_is_refused_by_score(tmp_path):
    from scoring_fixtures import VideoSuite
    suite = VideoSuite("cifar10-p", {("rotate", 1): np.zeros((2, 3), dtype=np.int64)}, 3)
    with pytest.raises(UserError, match="3 classes; perturbation suites need at least 5"):
        score(PixelCodeNet(3), suite, out_dir=tmp_path / "out", checkpoint_info=INFO,
              device="cpu")
    assert not (tmp_path / "out").exists()


def test_nan_logits_name_the_checkpoint_and_the_cell(data, tmp_path):
    class NaNNet(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.full((x.shape[0], 10), float("nan"))

    nan = tmp_path / "nan.pt"
    torch.jit.save(torch.jit.script(NaNNet()), str(nan))
    result = run(nan, "--suite", "cifar10-c", "--data-root", data["c10"], "--out",
                 tmp_path / "out", "--corruptions", "fog", "--device", "cpu")
    assert result.exit_code == 2
    [line] = [x for x in result.stderr.splitlines() if x.startswith("error: ")]
    assert f"checkpoint {nan} produced NaN or infinite logits in cell fog/1" in line
    assert "0 of 5 cells saved" in line
    assert not (tmp_path / "out").exists()


SLOW_RUN = """
import pathlib, sys, time
import torch
from robustbench_dm.models import load_model
from robustbench_dm.scoring import score
from robustbench_dm.suites import get_suite

checkpoint, data_root, out, started, release = sys.argv[1:]
model, info = load_model(checkpoint)

class Waiting(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        pathlib.Path(started).touch()
        while not pathlib.Path(release).exists():
            time.sleep(0.01)
        return self.net(x)

score(Waiting(model), get_suite("cifar10-c", data_root, corruptions="fog"), out_dir=out,
      checkpoint_info=info, device="cpu", progress=False)
"""


@pytest.mark.slow
def test_a_second_run_into_the_same_out_names_the_holder_and_exits_2(data, tmp_path):
    """Observed: two runs into one --out both exited 0 with cells lost."""
    out, started, release = tmp_path / "out", tmp_path / "started", tmp_path / "release"
    script = tmp_path / "slow_run.py"
    script.write_text(SLOW_RUN)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    first = subprocess.Popen([sys.executable, str(script), str(data["model"]), str(data["c10"]),
                              str(out), str(started), str(release)], env=env,
                             stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not started.exists():
            assert first.poll() is None, first.stderr.read().decode()
            assert time.monotonic() < deadline, "the first run never started scoring"
            time.sleep(0.01)
        second = subprocess.run([sys.executable, "-m", "cli", "score", str(data["model"]),
                                 "--suite", "cifar10-c", "--data-root", str(data["c10"]),
                                 "--corruptions", "fog", "--out", str(out), "--device", "cpu"],
                                cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 2, second.stderr
        errors = [x for x in second.stderr.splitlines() if x.startswith("error: ")]
        assert len(errors) == 1 and f"process {first.pid}" in errors[0], second.stderr
    finally:
        release.touch()
        assert first.wait(timeout=120) == 0, first.stderr.read().decode()
    results = Results.load(out / "results.h5")
    assert len(results.cells()) == 5
