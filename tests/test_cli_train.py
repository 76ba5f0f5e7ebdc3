"""`robust-eval train` end to end on a Fashion-MNIST idx fixture written by the test."""

from __future__ import annotations

import csv
import textwrap

import pytest
import torch
from click.testing import CliRunner

from cli import main
from robustbench_dm.models import load_model
from training_fixtures import one_thread, write_fashion_mnist

_one_thread = pytest.fixture(autouse=True, scope="module")(one_thread)

CRASHING_METHOD = textwrap.dedent('''
    import os
    from robustbench_dm.methods.standard import Standard

    class Crashing(Standard):
        """The standard method, interrupted at call CRASH_AT (an environment variable)."""
        name = "crashing"

        def __init__(self, **options):
            super().__init__(**options)
            self.calls, self.crash_at = 0, int(os.environ.get("CRASH_AT", "-1"))

        def loss(self, model, images, targets, generator):
            if self.calls == self.crash_at:
                raise KeyboardInterrupt
            self.calls += 1
            return super().loss(model, images, targets, generator)
''')


@pytest.fixture(scope="module")
def fmnist(tmp_path_factory):
    return write_fashion_mnist(tmp_path_factory.mktemp("fmnist"), n_train=300, n_test=40)


def _train(*args):
    return CliRunner().invoke(main, ["train", *map(str, args)], catch_exceptions=False)


def _args(data_root, out, method="standard", epochs=1):
    return ["--method", method, "--arch", "small_cnn", "--dataset", "fashion-mnist",
            "--data-root", data_root, "--out", out, "--epochs", epochs, "--limit", 256,
            "--batch-size", 64, "--device", "cpu", "--seed", 7]


def test_train_one_epoch_writes_a_loadable_checkpoint(fmnist, tmp_path):
    out = tmp_path / "run"
    result = _train(*_args(fmnist, out))
    assert result.exit_code == 0, result.output
    assert "epoch 1/1" in result.output and "checkpoint:" in result.output
    ckpt = torch.load(out / "last.pt", weights_only=True)
    assert ckpt["arch"] == "small_cnn" and ckpt["method"] == "standard"
    assert ckpt["config"]["limit"] == 256 and ckpt["metadata"]["train_images"] == 256
    assert ckpt["metadata"]["steps_per_epoch"] == 4
    model, info = load_model(out / "last.pt")
    assert info["num_classes"] == 10
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    with open(out / "log.csv", newline="") as f:
        assert [r["epoch"] for r in csv.DictReader(f)] == ["1"]


def test_resumed_cli_run_equals_uninterrupted(fmnist, tmp_path, monkeypatch):
    (tmp_path / "crash_method.py").write_text(CRASHING_METHOD)
    monkeypatch.syspath_prepend(str(tmp_path))
    method = "crash_method:Crashing"
    assert _train(*_args(fmnist, tmp_path / "full", method, epochs=2)).exit_code == 0
    monkeypatch.setenv("CRASH_AT", "6")  # epoch 2, third step
    interrupted = CliRunner().invoke(main, ["train", *map(str, _args(
        fmnist, tmp_path / "parted", method, epochs=2))])
    assert interrupted.exit_code != 0
    monkeypatch.delenv("CRASH_AT")
    resumed = _train(*_args(fmnist, tmp_path / "parted", method, epochs=2), "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert "epoch 1/2" not in resumed.output and "epoch 2/2" in resumed.output
    a = torch.load(tmp_path / "full" / "last.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "parted" / "last.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("extra, message", [
    (["--method", "no_such_method"], "unknown method 'no_such_method'"),
    (["--arch", "no_such_arch"], "unknown architecture 'no_such_arch'"),
    (["--dataset", "mnist"], "unknown dataset 'mnist'"),
    (["--no-jsd"], "unknown option 'jsd' for method 'standard'"),
    (["--option", "alpha"], "expected KEY=VALUE"),
    pytest.param(["--amp"], "--amp needs a CUDA device", marks=pytest.mark.skipif(
        torch.cuda.is_available(), reason="--amp is valid where CUDA is available")),
])
def test_user_mistakes_exit_2_with_one_line(fmnist, tmp_path, extra, message):
    result = CliRunner().invoke(main, ["train", *map(str, _args(fmnist, tmp_path / "r")),
                                       *extra])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "r" / "last.pt").exists()


def test_dataset_folder_in_the_wrong_format(tmp_path):
    cifar_like = tmp_path / "data"
    cifar_like.mkdir()
    (cifar_like / "train-images-idx3-ubyte").write_bytes(b"not an idx file")
    (cifar_like / "train-labels-idx1-ubyte").write_bytes(b"")
    result = CliRunner().invoke(main, ["train", *map(str, _args(cifar_like, tmp_path / "r"))])
    assert result.exit_code == 2
    assert "expected an unsigned-byte idx file" in result.output
    assert "Traceback" not in result.output


def test_resume_from_another_arch_is_refused(fmnist, tmp_path):
    out = tmp_path / "run"
    assert _train(*_args(fmnist, out)).exit_code == 0
    args = _args(fmnist, out)
    args[args.index("small_cnn")] = "resnet18_cifar"
    result = CliRunner().invoke(main, ["train", *map(str, args), "--resume"])
    assert result.exit_code == 2
    assert "checkpoint of architecture 'small_cnn', but --arch 'resnet18_cifar' was given" in result.output
