"""`robust-eval score` end to end on CIFAR-10-C-format fixtures: exact errors, resume after a
kill, and one clear line for every bad input."""

from __future__ import annotations

import json
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

from cli import main
from formats import write_cifar_c, write_cifar_pickle
from robustbench_dm.models import create_model, save_checkpoint
from robustbench_dm.scoring import Results
from scoring_fixtures import PixelCodeNet

N = 20
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")  # TorchScript fixtures
CORRUPTIONS = ("fog", "snow", "jpeg_compression")


def known_errors() -> dict[tuple[str, int], float]:
    return {(c, s): (2 * s + 3 * i) / N for i, c in enumerate(CORRUPTIONS) for s in range(1, 6)}


def coded_pixels(errors: dict, num_classes: int = 10):
    """``pixels`` for write_cifar_c: images PixelCodeNet gets wrong on the first k of each block."""

    def pixels(name, severity, labels):
        rng = np.random.default_rng(severity)
        images = rng.integers(0, 256, (len(labels), 32, 32, 3)).astype(np.uint8)
        wrong = int(round(errors.get((name, severity), 0.0) * len(labels)))
        predicted = np.array(labels, dtype=np.int64)
        predicted[:wrong] = (predicted[:wrong] + 1) % num_classes
        images[:, 0, 0, 0] = predicted % 256
        images[:, 0, 0, 1] = predicted // 256
        return images

    return pixels


def scripted(tmp_path: Path, net: torch.nn.Module, name: str = "model.pt") -> Path:
    path = tmp_path / name
    torch.jit.save(torch.jit.script(net), str(path))
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    c10 = write_cifar_c(root / "CIFAR-10-C", N, CORRUPTIONS, pixels=coded_pixels(known_errors()))
    labels = np.arange(N) % 10
    clean = np.random.default_rng(0).integers(0, 256, (N, 3, 32, 32)).astype(np.uint8)
    clean[:, 0, 0, 0] = labels
    clean[:3, 0, 0, 0] = (labels[:3] + 1) % 10  # clean error 3/N
    clean[:, 1, 0, 0] = 0
    write_cifar_pickle(root / "clean", images=clean, labels=labels)
    return {"root": root, "c10": c10, "clean": root / "clean",
            "model": scripted(root, PixelCodeNet(10))}


def run(*args):
    result = CliRunner().invoke(main, ["score", *map(str, args)])
    return result


def base_args(data, out, *extra):
    return [data["model"], "--suite", "cifar10-c", "--data-root", data["c10"], "--out", out,
            "--corruptions", ",".join(CORRUPTIONS), "--batch-size", "8", *extra]


def test_score_writes_exact_errors_table_and_resumes(data, tmp_path):
    out = tmp_path / "out"
    result = run(*base_args(data, out, "--clean-root", data["clean"]))
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    errors = known_errors()
    assert summary["clean_error"] == pytest.approx(3 / N, abs=1e-12)
    for c in CORRUPTIONS:
        assert summary["corruptions"][c]["errors"] == pytest.approx(
            [errors[(c, s)] for s in range(1, 6)], abs=1e-12)
    assert summary["mean_error"] == pytest.approx(np.mean(list(errors.values())), abs=1e-12)
    assert summary["mce"] is None  # CIFAR-C: unnormalised unless --baseline
    assert set(summary) == {"schema", "suite", "clean_error", "mean_error", "mce", "relative_mce",
                            "corruptions"}
    assert "jpeg_compression" in result.stdout and "mean error" in result.stdout
    with h5py.File(out / "results.h5", "r") as f:
        meta = json.loads(f.attrs["metadata"])
        assert meta["subset"]["corruptions"] == list(CORRUPTIONS)
        assert meta["data_root"] == str(data["c10"])
        assert set(f["cells"]) == {"clean", *CORRUPTIONS}

    before = (out / "results.h5").read_bytes()
    again = run(*base_args(data, out, "--clean-root", data["clean"]))
    assert again.exit_code == 0, again.output
    assert (out / "results.h5").read_bytes() == before  # nothing left to score
    assert json.loads((out / "summary.json").read_text()) == summary


def test_baseline_normalises_ce(data, tmp_path):
    base_out = tmp_path / "base"
    # suite options also pass through --option KEY=VALUE
    assert run(*base_args(data, base_out, "--option", f"clean-root={data['clean']}")).exit_code == 0
    assert Results.load(base_out / "results.h5").cells()[0] == ("clean", 0)
    result = run(*base_args(data, tmp_path / "m", "--baseline", base_out / "results.h5"))
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "m" / "summary.json").read_text())
    for c in CORRUPTIONS:  # the same model as its own baseline
        assert summary["corruptions"][c]["ce"] == pytest.approx(1.0, abs=1e-12)
    assert summary["mce"] is None  # mCE needs all 15 benchmark corruptions


def bad_npy(root: Path, kind: str) -> Path:
    errors = known_errors()
    root = write_cifar_c(root, N, CORRUPTIONS, pixels=coded_pixels(errors))
    fog = root / "fog.npy"
    if kind == "missing file":
        fog.unlink()
    elif kind == "wrong shape":
        np.save(fog, np.zeros((5 * N, 32, 32), np.uint8))
    elif kind == "wrong dtype":
        np.save(fog, np.zeros((5 * N, 32, 32, 3), np.float32))
    elif kind == "truncated":
        fog.write_bytes(fog.read_bytes()[: fog.stat().st_size // 2])
    elif kind == "labels length":
        np.save(root / "labels.npy", np.zeros(5 * N - 1, np.uint8))
    elif kind == "labels range":
        np.save(root / "labels.npy", np.full(5 * N, 10, np.uint8))
    return root


@pytest.mark.parametrize("kind,pattern", [
    ("missing file", "fog.npy"), ("wrong shape", "fog.npy"), ("wrong dtype", "fog.npy"),
    ("truncated", "fog.npy"), ("labels length", "labels.npy"), ("labels range", "labels.npy"),
])
def test_bad_suite_files(data, tmp_path, kind, pattern):
    root = bad_npy(tmp_path / "bad", kind)
    out = tmp_path / "out"
    result = run(data["model"], "--suite", "cifar10-c", "--data-root", root, "--out", out,
                 "--corruptions", ",".join(CORRUPTIONS))
    assert_one_line_error(result, pattern, out)


def assert_one_line_error(result, pattern: str, out: Path) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.strip().splitlines()
             if not line.startswith("warning: ")]  # e.g. a checkpoint without a dataset
    assert len(lines) == 1 and lines[0].startswith("error: ") and pattern in lines[0], lines
    assert "Traceback" not in result.output
    assert not (out / "results.h5").exists() and not (out / "summary.json").exists()


class NaNNet(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full((x.shape[0], 10), float("nan"))


def test_bad_inputs_give_one_clear_line(data, tmp_path):
    out = tmp_path / "out"
    model = data["model"]
    bare = tmp_path / "sd.pt"
    torch.save(create_model("small_cnn", 10).net.state_dict(), bare)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a model at all")
    toolkit = tmp_path / "ck.pt"
    net = create_model("small_cnn", 10)
    save_checkpoint(toolkit, arch="small_cnn", num_classes=10, normalization=net.normalization,
                    state_dict=net.net.state_dict())
    nan = scripted(tmp_path, NaNNet(), "nan.pt")
    common = ["--out", out, "--corruptions", "fog"]
    cases = [
        ([model, "--suite", "cifar10-c", "--data-root", tmp_path / "nope", *common], "nope"),
        ([model, "--suite", "cifar-11-c", "--data-root", data["c10"], *common], "cifar-11-c"),
        ([model, "--suite", "cifar10-c", "--data-root", data["c10"], "--out", out,
          "--corruptions", "fogg"], "fogg"),
        ([bare, "--suite", "cifar10-c", "--data-root", data["c10"], "--arch", "resnet5o",
          "--normalize", "cifar", *common], "resnet5o"),
        ([junk, "--suite", "cifar10-c", "--data-root", data["c10"], *common], "not a checkpoint"),
        ([toolkit, "--suite", "cifar100-c", "--data-root", data["c10"], *common], "classes"),
        ([model, "--suite", "cifar100-c", "--data-root", data["c10"], *common], "10 classes"),
        ([nan, "--suite", "cifar10-c", "--data-root", data["c10"], *common], "fog/1"),
        ([model, "--suite", "cifar10-c", "--data-root", data["c10"], *common, "--batch-size", "0"],
         "batch size"),
        ([model, "--suite", "cifar10-c", "--data-root", data["c10"], *common, "--device", "gpu"],
         "device 'gpu'"),
        ([model, "--suite", "cifar10-c", "--data-root", data["c10"], *common, "--option", "gen"],
         "KEY=VALUE"),
        ([model, "--suite", "cifar10-c", "--data-root", data["c10"], *common, "--option",
          "difficulty=2"], "difficulty"),
    ]
    for args, pattern in cases:
        assert_one_line_error(run(*args), pattern, out)


def test_out_dir_of_another_checkpoint_is_refused(data, tmp_path):
    out = tmp_path / "out"
    assert run(data["model"], "--suite", "cifar10-c", "--data-root", data["c10"], "--out", out,
               "--corruptions", "fog").exit_code == 0
    before = (out / "results.h5").read_bytes()
    other = tmp_path / "other.pt"
    net = create_model("small_cnn", 10)
    save_checkpoint(other, arch="small_cnn", num_classes=10, normalization=None,
                    state_dict=net.net.state_dict())
    result = run(other, "--suite", "cifar10-c", "--data-root", data["c10"], "--out", out,
                 "--corruptions", "fog")
    assert result.exit_code == 2 and "different checkpoint" in result.stderr
    subset = run(data["model"], "--suite", "cifar10-c", "--data-root", data["c10"], "--out", out,
                 "--corruptions", "fog", "--limit", "5")
    assert subset.exit_code == 2 and "subset" in subset.stderr
    assert (out / "results.h5").read_bytes() == before


@pytest.mark.slow
def test_killed_run_leaves_a_readable_file_and_resumes(tmp_path):
    """SIGKILL a real `robust-eval score` process mid-run, then resume it."""
    names = ("fog", "snow", "frost", "contrast", "pixelate", "brightness")
    errors = {(c, s): ((s + i) % 7) / N for i, c in enumerate(names) for s in range(1, 6)}
    root = write_cifar_c(tmp_path / "data", N, names, pixels=coded_pixels(errors))
    model = scripted(tmp_path, PixelCodeNet(10))
    out = tmp_path / "out"
    cmd = [sys.executable, "-c", "from cli import main; main()", "score", str(model),
           "--suite", "cifar10-c", "--data-root", str(root), "--out", str(out),
           "--corruptions", ",".join(names), "--batch-size", "4"]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while not (out / "results.h5").exists() and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.005)
    finally:  # killed as soon as the first cell is visible: the run cannot have finished
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert not (out / "summary.json").exists(), "the run finished before it could be killed"
    partial = Results.load(out / "results.h5")
    assert 1 <= len(partial.cells()) < len(errors)
    for record in partial.iter_cells():  # every stored cell is complete and right
        assert record.n == N and record.error == pytest.approx(errors[(record.name, record.level)])

    result = run(model, "--suite", "cifar10-c", "--data-root", root, "--out", out,
                 "--corruptions", ",".join(names), "--batch-size", "4")
    assert result.exit_code == 0, result.output
    assert not list(out.glob(".*.tmp"))
    summary = json.loads((out / "summary.json").read_text())
    for c in names:
        assert summary["corruptions"][c]["errors"] == pytest.approx(
            [errors[(c, s)] for s in range(1, 6)], abs=1e-12)


def test_generate_flag_scores_the_suite_make_suite_writes(data, tmp_path):
    """`score --suite cifar10-c --generate --clean-root DIR` makes the corrupted images on the
    fly; with the same seed they are the images `make-suite` writes, so the per-image
    predictions read from those files agree exactly."""
    picked = ["--corruptions", "contrast,fog", "--seed", "4"]
    written = tmp_path / "written"
    made = CliRunner().invoke(main, ["make-suite", "cifar10-c", "--from", "cifar10", "--data-root",
                                     str(data["clean"]), "--out", str(written), *picked])
    assert made.exit_code == 0, made.output
    on_the_fly = run(data["model"], "--suite", "cifar10-c", "--generate", "--clean-root",
                     data["clean"], "--out", tmp_path / "fly", "--batch-size", "8", *picked)
    assert on_the_fly.exit_code == 0, on_the_fly.output
    from_files = run(data["model"], "--suite", "cifar10-c", "--data-root", written,
                     "--out", tmp_path / "files", "--batch-size", "8", *picked)
    assert from_files.exit_code == 0, from_files.output
    with h5py.File(tmp_path / "fly" / "results.h5", "r") as fly, \
            h5py.File(tmp_path / "files" / "results.h5", "r") as files:
        meta = json.loads(fly.attrs["metadata"])
        assert meta["generated"] is True and meta["seed"] == 4
        for name in ("contrast", "fog"):
            for severity in map(str, range(1, 6)):
                assert np.array_equal(fly[f"cells/{name}/{severity}/topk"][()],
                                      files[f"cells/{name}/{severity}/topk"][()]), (name, severity)
    refused = run(data["model"], "--suite", "cifar10-c", "--generate", "--out", tmp_path / "x")
    assert refused.exit_code == 2 and "--generate needs --clean-root" in refused.output
