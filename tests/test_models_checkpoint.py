"""Checkpoint saving (atomic, weights_only-loadable) and every accepted and refused format."""

from __future__ import annotations

import os
import pickle

import pytest
import torch
from torch import nn

from robustbench_dm.errors import UserError
from robustbench_dm.models import NORMALIZATIONS, create_model, load_model, save_checkpoint

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")  # TorchScript fixtures


@pytest.fixture()
def model():
    torch.manual_seed(0)
    net = create_model("small_cnn", 10, NORMALIZATIONS["cifar"]).eval()
    with torch.no_grad():  # non-trivial BN statistics, so a lost buffer would show
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return net


def same_outputs(a: nn.Module, b: nn.Module) -> None:
    x = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(a(x), b(x))


def test_toolkit_checkpoint_round_trip(tmp_path, model):
    path = save_checkpoint(tmp_path / "ck" / "model.pt", arch="small_cnn", num_classes=10,
                           normalization=model.normalization, state_dict=model.net.state_dict(),
                           method="augmix", method_options={"width": 3}, dataset="cifar10", epoch=4,
                           optimizer={"lr": 0.1}, config={"batch_size": 128})
    raw = torch.load(path, weights_only=True)
    assert raw["arch"] == "small_cnn" and raw["scheduler"] is None
    assert os.listdir(path.parent) == ["model.pt"]
    loaded, info = load_model(path)
    same_outputs(model, loaded)
    assert not loaded.training
    assert info["format"] == "toolkit" and info["method"] == "augmix" and info["epoch"] == 4
    assert info["num_classes"] == 10 and len(info["sha256"]) == 64
    assert info["normalization"] == {"mean": [0.5] * 3, "std": [0.5] * 3}


def test_save_refuses_objects_that_weights_only_cannot_read(tmp_path, model):
    with pytest.raises(TypeError, match="config"):
        save_checkpoint(tmp_path / "m.pt", arch="small_cnn", num_classes=10, normalization=None,
                        state_dict=model.net.state_dict(), config={"path": tmp_path})
    assert list(tmp_path.iterdir()) == []


def test_normalize_overrides_the_checkpoint(tmp_path, model):
    path = save_checkpoint(tmp_path / "m.pt", arch="small_cnn", num_classes=10,
                           normalization=model.normalization, state_dict=model.net.state_dict())
    loaded, info = load_model(path, normalization="imagenet")
    assert info["normalization"]["std"] == pytest.approx([0.229, 0.224, 0.225])


def test_bare_state_dict_needs_arch_and_normalize(tmp_path, model):
    path = tmp_path / "sd.pt"
    torch.save({f"module.{k}": v for k, v in model.net.state_dict().items()}, path)
    with pytest.raises(UserError, match="bare state dict: pass arch=NAME"):
        load_model(path)
    with pytest.raises(UserError, match="normalization=imagenet"):
        load_model(path, arch="small_cnn")
    loaded, info = load_model(path, arch="small_cnn", normalization="cifar")
    same_outputs(model, loaded)
    assert info["format"] == "state_dict" and info["num_classes"] == 10
    with pytest.raises(UserError, match="does not match architecture 'resnet18'"):
        load_model(path, arch="resnet18", normalization="cifar")


def test_torchscript_file(tmp_path, model):
    path = tmp_path / "ts.pt"
    torch.jit.save(torch.jit.trace(model, torch.rand(1, 3, 32, 32)), str(path))
    loaded, info = load_model(path)
    same_outputs(model, loaded)
    assert info["format"] == "torchscript" and info["num_classes"] is None


def test_full_pickle_needs_the_unsafe_flag(tmp_path, model):
    path = tmp_path / "full.pt"
    torch.save(model, path)
    with pytest.raises(UserError, match=r"refused.*SmallCNN.*unsafe_pickle=True"):
        load_model(path)
    loaded, info = load_model(path, unsafe_pickle=True)
    same_outputs(model, loaded)
    assert info["format"] == "pickle"


class _TouchFile:
    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (open, (self.target, "w"))


@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
def test_malicious_pickle_is_refused_without_running_it(tmp_path, writer):
    target = tmp_path / "touched"
    path = tmp_path / "evil.pt"
    payload = {"state_dict": {"w": torch.zeros(1)}, "x": _TouchFile(target)}
    if writer == "pickle":
        path.write_bytes(pickle.dumps(payload))
    else:
        torch.save(payload, path)
    with pytest.raises(UserError, match=r"refused to load .*imports (io|builtins)\.open.*arbitrary code"):
        load_model(path)
    assert not target.exists()


@pytest.mark.parametrize("content", [b"", b"\x00\x01garbage" * 50, b"hello, not a model"])
def test_not_a_checkpoint(tmp_path, content):
    path = tmp_path / "x.pt"
    path.write_bytes(content)
    with pytest.raises(UserError, match="is not a checkpoint"):
        load_model(path)


def test_dict_that_is_not_a_checkpoint_and_missing_file(tmp_path):
    path = tmp_path / "cfg.pt"
    torch.save({"lr": 0.1, "epochs": 3}, path)
    with pytest.raises(UserError, match="not a checkpoint: a dict with keys"):
        load_model(path)
    with pytest.raises(UserError, match="does not exist"):
        load_model(tmp_path / "missing.pt")
