"""`train --save-format safetensors` writes OUT/model.safetensors beside last.pt: the same model,
its metadata in the header, readable by the safetensors package too."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from cli import main
from robustbench_dm.models import load_model
from training_fixtures import one_thread, write_fashion_mnist

_one_thread = pytest.fixture(autouse=True, scope="module")(one_thread)


def test_train_writes_a_safetensors_model_equal_to_last_pt(tmp_path):
    data = write_fashion_mnist(tmp_path / "fmnist", n_train=128, n_test=16)
    out = tmp_path / "run"
    result = CliRunner().invoke(main, [
        "train", "--method", "standard", "--arch", "small_cnn", "--dataset", "fashion-mnist",
        "--data-root", str(data), "--out", str(out), "--epochs", "1", "--limit", "64",
        "--batch-size", "32", "--device", "cpu", "--save-format", "safetensors"],
        catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"model: {out / 'model.safetensors'}" in result.output
    from_pt, pt_info = load_model(out / "last.pt")
    from_st, st_info = load_model(out / "model.safetensors")
    assert st_info["format"] == "safetensors"
    for key in ("arch", "num_classes", "normalization", "method", "dataset", "epoch", "seed"):
        assert st_info[key] == pt_info[key], key
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(from_st(x), from_pt(x))
    safetensors_torch = pytest.importorskip("safetensors.torch", reason="safetensors not installed")
    tensors = safetensors_torch.load_file(str(out / "model.safetensors"))
    state = torch.load(out / "last.pt", weights_only=True)["state_dict"]
    assert tensors.keys() == state.keys()
    assert all(torch.equal(tensors[k], state[k]) for k in state)
