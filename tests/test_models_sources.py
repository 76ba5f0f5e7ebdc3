"""Models from where users keep them: torchvision and timm architectures, state dicts as .pth
and .safetensors, torchvision weights by name from $TORCH_HOME, exported programs (.pt2)."""

from __future__ import annotations

import os
import pickle
import sys
import zipfile
from pathlib import Path

import pytest
import torch
import torchvision
from click.testing import CliRunner

from cli import main
from robustbench_dm.errors import UserError
from robustbench_dm.models import Normalized, load_model, save_checkpoint
from robustbench_dm.models.normalization import NORMALIZATIONS
from robustbench_dm.models.safetensors_file import read_safetensors, save_safetensors

IMAGENET = NORMALIZATIONS["imagenet"]


@pytest.fixture(scope="module")
def resnet18():
    """A 10-class torchvision ResNet-18 with seeded random weights, its [0, 1]-input model
    (ImageNet normalisation) and a batch of images."""
    torch.manual_seed(0)
    net = torchvision.models.resnet18(num_classes=10).eval()
    model = Normalized(net, *IMAGENET).eval()
    x = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        logits = model(x)
    return net, x, logits


def _logits(model, x):
    with torch.no_grad():
        return model(x)


@pytest.mark.parametrize("kind", ["pth", "safetensors-package", "safetensors-own"])
def test_torchvision_state_dict_files_give_the_in_memory_logits(resnet18, tmp_path, kind):
    net, x, logits = resnet18
    state = net.state_dict()
    if kind == "pth":
        path = tmp_path / "resnet18.pth"
        torch.save(state, path)
    elif kind == "safetensors-package":
        safetensors_torch = pytest.importorskip("safetensors.torch", reason="safetensors not installed")
        path = tmp_path / "resnet18.safetensors"
        safetensors_torch.save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        path = save_safetensors(tmp_path / "resnet18.safetensors", state)
    model, info = load_model(path, arch="torchvision:resnet18", normalization="imagenet")
    assert info["num_classes"] == 10 and info["arch"] == "torchvision:resnet18"
    assert torch.equal(_logits(model, x), logits)


def test_weights_option_takes_a_file_too(resnet18, tmp_path):
    net, x, logits = resnet18
    path = save_safetensors(tmp_path / "w.safetensors", net.state_dict())
    model, _ = load_model(weights=path, arch="torchvision:resnet18", normalization="imagenet")
    assert torch.equal(_logits(model, x), logits)


def test_a_missing_file_named_like_weights_is_named_as_a_missing_file(tmp_path):
    with pytest.raises(UserError, match=r"best_Weights\.pt does not exist"):
        load_model(weights=str(tmp_path / "best_Weights.pt"), arch="torchvision:resnet18")
    with pytest.raises(UserError, match=r"best_Weights\.pt does not exist"):
        load_model(weights="best_Weights.pt", arch="torchvision:resnet18")


def test_toolkit_safetensors_checkpoint_carries_its_metadata(resnet18, tmp_path):
    net, x, logits = resnet18
    path = save_checkpoint(tmp_path / "model.safetensors", arch="torchvision:resnet18",
                           num_classes=10, normalization={"mean": list(IMAGENET[0]),
                                                          "std": list(IMAGENET[1])},
                           state_dict=net.state_dict(), method="augmix", dataset="imagenet",
                           optimizer={"lr": torch.tensor(0.1)})
    model, info = load_model(path)
    assert torch.equal(_logits(model, x), logits)
    assert (info["format"], info["arch"], info["method"], info["dataset"], info["num_classes"]) == \
        ("safetensors", "torchvision:resnet18", "augmix", "imagenet", 10)
    tensors, meta = read_safetensors(path)
    assert meta["format"] == "robustbench_dm" and "optimizer" not in meta
    assert set(tensors) == set(net.state_dict())


def test_a_state_dict_without_normalisation_asks_for_it(resnet18, tmp_path):
    path = save_safetensors(tmp_path / "w.safetensors", resnet18[0].state_dict())
    with pytest.raises(UserError, match="normalization=imagenet"):
        load_model(path, arch="torchvision:resnet18")


def test_class_count_comes_from_the_weights(tmp_path):
    net = torchvision.models.resnet18(num_classes=7)
    path = save_safetensors(tmp_path / "w.safetensors", net.state_dict())
    model, info = load_model(path, arch="torchvision:resnet18", normalization="none")
    assert info["num_classes"] == 7 and model.net.fc.out_features == 7


def test_unknown_torchvision_name_suggests_close_ones(tmp_path):
    path = save_safetensors(tmp_path / "w.safetensors", {"fc.weight": torch.zeros(2, 2)})
    with pytest.raises(UserError, match="resnet18"):
        load_model(path, arch="torchvision:resnet19", normalization="none")


def test_weights_name_resolves_from_torch_home(resnet18, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    spec = "ResNet18_Weights.IMAGENET1K_V1"
    weights = torchvision.models.get_weight(spec)
    expected = tmp_path / "torch" / "hub" / "checkpoints" / os.path.basename(weights.url)
    with pytest.raises(UserError, match="download_weights=True") as err:
        load_model(weights=spec)
    assert str(expected) in str(err.value)
    torch.manual_seed(0)
    net = torchvision.models.resnet18().eval()  # 1000 classes, as the real file
    expected.parent.mkdir(parents=True)
    torch.save(net.state_dict(), expected)
    model, info = load_model(weights=spec)
    assert info["arch"] == "torchvision:resnet18" and info["weights"] == spec
    assert info["num_classes"] == 1000 and info["format"] == "torchvision_weights"
    transforms = weights.transforms()
    assert info["normalization"] == {"mean": list(transforms.mean), "std": list(transforms.std)}
    x = resnet18[1]
    assert torch.equal(_logits(model, x), _logits(Normalized(net, transforms.mean, transforms.std).eval(), x))
    with pytest.raises(UserError, match="belong to torchvision:resnet18"):
        load_model(weights=spec, arch="torchvision:resnet50")


def test_timm_architecture_uses_its_pretrained_normalisation(tmp_path):
    timm = pytest.importorskip("timm", reason="timm is not installed (pip install 'robustbench_dm[timm]')")
    torch.manual_seed(0)
    net = timm.create_model("resnet18", pretrained=False, num_classes=10).eval()
    mean, std = net.pretrained_cfg["mean"], net.pretrained_cfg["std"]
    path = save_safetensors(tmp_path / "timm.safetensors", net.state_dict())
    model, info = load_model(path, arch="timm:resnet18")
    assert info["normalization"] == {"mean": list(mean), "std": list(std)}
    assert info["num_classes"] == 10
    x = torch.rand(2, 3, 64, 64)
    assert torch.equal(_logits(model, x), _logits(Normalized(net, mean, std).eval(), x))


def test_without_timm_one_line_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "timm", None)  # import timm fails as if not installed
    path = save_safetensors(tmp_path / "w.safetensors", {"fc.weight": torch.zeros(2, 2)})
    with pytest.raises(UserError, match=r"pip install 'robustbench_dm\[timm\]'"):
        load_model(path, arch="timm:resnet18")


def _exported(net: torch.nn.Module, path: Path) -> Path:
    batch = torch.export.Dim("batch", min=1, max=1024)
    program = torch.export.export(net, (torch.rand(2, 3, 32, 32),), dynamic_shapes=({0: batch},))
    torch.export.save(program, str(path))
    return path


def test_exported_program_loads_beside_torchscript(resnet18, tmp_path):
    net, x, logits = resnet18
    path = _exported(net, tmp_path / "model.pt2")
    model, info = load_model(path, normalization="imagenet")
    assert info["format"] == "exported_program"
    assert torch.allclose(_logits(model, x), logits, atol=1e-5)


def test_exported_program_with_a_code_running_pickle_is_refused(resnet18, tmp_path):
    path = _exported(resnet18[0], tmp_path / "model.pt2")
    with zipfile.ZipFile(path, "a") as zf:
        folder = zf.namelist()[0].split("/")[0]
        zf.writestr(f"{folder}/data/sample_inputs/extra.pt", pickle.dumps(os.system))
    with pytest.raises(UserError, match="refused to load .*system"):
        load_model(path)


def test_cli_scores_a_torchvision_model_from_safetensors(resnet18, tmp_path):
    from formats import write_cifar_c

    net = resnet18[0]
    weights = save_safetensors(tmp_path / "resnet18.safetensors", net.state_dict())
    root = write_cifar_c(tmp_path / "CIFAR-10-C", 4, ("fog",))
    result = CliRunner().invoke(main, [
        "score", "--arch", "torchvision:resnet18", "--weights", str(weights), "--normalize",
        "imagenet", "--suite", "cifar10-c", "--data-root", str(root), "--corruptions", "fog",
        "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    listed = CliRunner().invoke(main, ["list", "models"])
    assert "torchvision:NAME" in listed.output and "timm:NAME" in listed.output


def test_download_weights_fetches_through_torch_hub_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    calls = []

    def fake_download(url, **kwargs):  # stands in for the network: writes the cached file
        calls.append((url, kwargs.get("check_hash")))
        target = tmp_path / "torch" / "hub" / "checkpoints" / os.path.basename(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        torch.save(torchvision.models.resnet18().state_dict(), target)

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", fake_download)
    spec = "ResNet18_Weights.IMAGENET1K_V1"
    with pytest.raises(UserError, match="not in the torch hub cache"):
        load_model(weights=spec)
    assert calls == []
    _, info = load_model(weights=spec, download_weights=True)
    assert calls == [(torchvision.models.get_weight(spec).url, True)]
    assert info["num_classes"] == 1000


def test_python_api_takes_the_same_model_options(resnet18, tmp_path):
    from formats import write_cifar_c
    from robustbench_dm.evaluation import evaluate
    from robustbench_dm.evaluation import load_model as api_load_model

    net, x, logits = resnet18
    weights = save_safetensors(tmp_path / "resnet18.safetensors", net.state_dict())
    module = api_load_model(weights=weights, arch="torchvision:resnet18", normalization="imagenet")
    assert torch.equal(_logits(module, x), logits)
    root = write_cifar_c(tmp_path / "CIFAR-10-C", 4, ("fog",))
    result = evaluate(None, "cifar10-c", data_root=root, corruptions="fog", weights=weights,
                      arch="torchvision:resnet18", normalization=IMAGENET, progress=False)
    assert result.cells["n"].tolist() == [4] * 5
