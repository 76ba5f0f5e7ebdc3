"""Guards of `score` (issue 11): checkpoint vs the suite's dataset family, the baseline suite
rule shared with `report`, checkpoint provenance as given, and the clean-cell hint."""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from cli import main
from formats import write_cifar_c, write_fashion_mnist_idx
from results_fixtures import c_suite_cells, write_results
from robustbench_dm.errors import UserError
from robustbench_dm.models import create_model, load_model, save_checkpoint
from robustbench_dm.scoring import Results, score
from robustbench_dm.suites.families import check_checkpoint
from scoring_fixtures import MemorySuite, PixelCodeNet, write_random_cifar_clean

N = 10
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")


def toolkit_checkpoint(path: Path, dataset: str, *, num_classes: int = 10,
                       normalization: str = "cifar", config: dict | None = None) -> Path:
    from robustbench_dm.models import NORMALIZATIONS
    net = create_model("small_cnn", num_classes, NORMALIZATIONS[normalization])
    return save_checkpoint(path, arch="small_cnn", num_classes=num_classes,
                           normalization=net.normalization, state_dict=net.net.state_dict(),
                           dataset=dataset, config=config)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("guards")
    write_random_cifar_clean(root / "clean", N, seed=0)
    model = root / "model.pt"
    torch.jit.save(torch.jit.script(PixelCodeNet(10)), str(model))
    return {"c10": write_cifar_c(root / "CIFAR-10-C", N, ("fog",)), "clean": root / "clean",
            "fmnist_ckpt": toolkit_checkpoint(root / "fmnist.pt", "fashion-mnist"),
            "cifar_ckpt": toolkit_checkpoint(root / "cifar.pt", "cifar10"),
            "torchscript": model}


def run(*args):
    return CliRunner().invoke(main, ["score", *map(str, args)])


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error: ")]


def test_fashion_mnist_checkpoint_on_a_cifar10_suite_is_refused(data, tmp_path):
    """Observed case 1: a Fashion-MNIST checkpoint scored as CIFAR-10-C exited 0."""
    fm = write_fashion_mnist_idx(tmp_path / "fm", 12)
    written = tmp_path / "fm-c"
    made = CliRunner().invoke(main, ["make-suite", "fmnist-c", "--from", "fashion-mnist",
                                     "--data-root", str(fm), "--out", str(written),
                                     "--corruptions", "fog", "--limit", "10", "--device", "cpu"])
    assert made.exit_code == 0, made.output
    observed = run(data["fmnist_ckpt"], "--suite", "cifar10-c", "--data-root", written, "--out",
                   tmp_path / "observed", "--corruptions", "fog", "--device", "cpu")
    assert observed.exit_code == 2 and len(error_lines(observed)) == 1, observed.output
    assert not (tmp_path / "observed").exists()

    out = tmp_path / "out"  # the same checkpoint on real CIFAR-10-C files
    result = run(data["fmnist_ckpt"], "--suite", "cifar10-c", "--data-root", data["c10"], "--out",
                 out, "--corruptions", "fog", "--device", "cpu")
    assert result.exit_code == 2, result.output
    [line] = error_lines(result)
    assert "was trained on fashion-mnist but suite cifar10-c holds cifar10 images" in line
    assert "--allow-mismatch" in line and str(data["fmnist_ckpt"]) in line
    assert not out.exists()  # nothing written

    allowed = run(data["fmnist_ckpt"], "--suite", "cifar10-c", "--data-root", data["c10"],
                  "--out", out, "--corruptions", "fog", "--device", "cpu", "--allow-mismatch")
    assert allowed.exit_code == 0, allowed.output
    compatibility = Results.load(out / "results.h5").attrs["compatibility"]
    assert compatibility["status"] == "mismatch"
    assert "fashion-mnist" in compatibility["messages"][0]
    assert "warning: " in allowed.stderr and "fashion-mnist" in allowed.stderr


def test_each_differing_field_is_named_with_both_values():
    imagenet = {"path": "r50.pt", "dataset": "imagenet", "num_classes": 1000,
                "normalization": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}}
    with pytest.raises(UserError) as err:
        check_checkpoint("tinyimagenet-c", imagenet)
    message = str(err.value)
    assert "was trained on imagenet but suite tinyimagenet-c holds tinyimagenet images" in message
    assert "has 1000 classes but tinyimagenet has 200" in message
    assert "takes 224 px input (imagenet) but suite tinyimagenet-c holds 64 px images" in message
    assert check_checkpoint("imagenet-c", imagenet).status == "ok"
    assert check_checkpoint("imagenet-p", imagenet | {"dataset": "ImageNet"}).status == "ok"

    cifar = {"path": "c.pt", "dataset": "cifar10", "num_classes": 10,
             "normalization": imagenet["normalization"]}  # scored with --normalize imagenet
    with pytest.raises(UserError, match="normalises its input as imagenet but cifar10 models use "
                                        "cifar"):
        check_checkpoint("cifar10-c", cifar)
    mismatch = check_checkpoint("cifar10-c", cifar, allow_mismatch=True)
    assert mismatch.status == "mismatch" and "imagenet" in mismatch.messages[0]
    unverified = check_checkpoint("cifar10-c", {"path": "sd.pt", "dataset": None})
    assert unverified.status == "unverified" and "sd.pt" in unverified.messages[0]


def test_the_library_refuses_before_any_image_and_records_ok(data, tmp_path):
    model, info = load_model(data["fmnist_ckpt"])
    suite = MemorySuite("cifar10-c", np.arange(4) % 10, {("fog", 1): np.arange(4) % 10}, 10)
    with pytest.raises(UserError, match="fashion-mnist"):
        score(model, suite, out_dir=tmp_path / "a", checkpoint_info=info, device="cpu")
    assert suite.calls == [] and not (tmp_path / "a").exists()
    model, info = load_model(data["cifar_ckpt"])
    results = score(model, suite, out_dir=tmp_path / "b", checkpoint_info=info, device="cpu")
    assert results.attrs["compatibility"] == {"status": "ok", "messages": []}


def test_checkpoint_without_a_dataset_warns_once_and_is_recorded_unverified(data, tmp_path):
    result = run(data["torchscript"], "--suite", "cifar10-c", "--data-root", data["c10"],
                 "--out", tmp_path / "out", "--device", "cpu", "--clean-root", data["clean"],
                 "--corruptions", "fog")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and "records no training dataset" in warnings[0]
    attrs = Results.load(tmp_path / "out" / "results.h5").attrs
    assert attrs["compatibility"]["status"] == "unverified"


def test_list_suites_shows_each_family():
    listing = CliRunner().invoke(main, ["list", "suites"]).output
    lines = {line.split()[0]: line for line in listing.splitlines()}
    assert "[cifar10, 10 classes, 32 px]" in lines["cifar10-p"]
    assert "[fashion-mnist, 10 classes, 32 px]" in lines["fmnist-c"]
    assert "[imagenet, 1000 classes, 224 px]" in lines["imagenet-3dcc"]
    assert "[tinyimagenet, 200 classes, 64 px]" in lines["tinyimagenet-c"]


def test_baseline_of_another_suite_is_refused_by_score_as_by_report(tmp_path):
    """Observed: CIFAR-100-C normalised by a CIFAR-10-C file gave mCE 1.111."""
    other = write_results(tmp_path / "c10" / "results.h5",
                          c_suite_cells({("fog", 1): 0.5}, 20, num_classes=100), suite="cifar10-c",
                          num_classes=100)
    suite = MemorySuite("cifar100-c", np.arange(6), {("fog", 1): np.arange(6)}, 100)
    info = {"path": "m.pt", "sha256": "a" * 64}
    with pytest.raises(UserError) as by_score:
        score(PixelCodeNet(100), suite, out_dir=tmp_path / "m", checkpoint_info=info,
              baseline=other, device="cpu")
    assert suite.calls == [] and not (tmp_path / "m").exists()
    mine = write_results(tmp_path / "c100" / "results.h5",
                         c_suite_cells({("fog", 1): 0.5}, 20, num_classes=100),
                         suite="cifar100-c", num_classes=100)
    by_report = CliRunner().invoke(main, ["report", str(mine), "--baseline", str(other),
                                          "--out", str(tmp_path / "report")])
    assert by_report.exit_code == 2
    rule = "holds cifar10-c results, but no input holds cifar10-c results"
    assert rule in str(by_score.value) and rule in by_report.stderr


def test_checkpoint_path_as_given_seed_and_recipe_are_recorded(tmp_path, monkeypatch):
    config = {"method": "mixup", "arch": "small_cnn", "dataset": "cifar10", "lr": 0.1,
              "weight_decay": 1e-4, "seed": 7, "data_root": "/secret/data", "out": "/runs/x",
              "device": "cuda"}
    toolkit_checkpoint(tmp_path / "runs" / "last.pt", "cifar10", config=config)
    bare = tmp_path / "runs" / "bare.pt"
    torch.save(create_model("small_cnn", 10).net.state_dict(), bare)
    monkeypatch.chdir(tmp_path)
    _, info = load_model(os.path.join("runs", "last.pt"))
    assert info["path"] == "runs/last.pt"
    assert info["seed"] == 7
    assert info["recipe"] == {"method": "mixup", "arch": "small_cnn", "dataset": "cifar10",
                              "lr": 0.1, "weight_decay": 1e-4}
    _, plain = load_model("runs/bare.pt", arch="small_cnn", normalization="cifar")
    assert plain["seed"] is None and plain["recipe"] is None and plain["path"] == "runs/bare.pt"

    c10 = write_cifar_c(Path("c10"), 4, ("fog",))
    result = run("runs/last.pt", "--suite", "cifar10-c", "--data-root", c10, "--out", "scores",
                 "--corruptions", "fog", "--severities", "1", "--device", "cpu")
    assert result.exit_code == 0, result.output
    with h5py.File("scores/results.h5", "r") as f:
        recorded = json.loads(f.attrs["checkpoint"])
    assert recorded["path"] == "runs/last.pt" and recorded["seed"] == 7
    assert recorded["recipe"]["weight_decay"] == 1e-4 and "data_root" not in recorded["recipe"]


def test_no_clean_cell_gives_a_hint_naming_clean_root(data, tmp_path):
    """Observed case 5: `clean error -` with no hint."""
    result = run(data["cifar_ckpt"], "--suite", "cifar10-c", "--data-root", data["c10"],
                 "--out", tmp_path / "a", "--corruptions", "fog", "--device", "cpu")
    assert result.exit_code == 0, result.output
    hints = [line for line in result.stderr.splitlines() if "--clean-root" in line]
    assert len(hints) == 1 and hints[0].startswith("hint: ")
    [clean_line] = [line for line in result.stdout.splitlines() if line.startswith("clean error")]
    assert "-" in clean_line and "--clean-root" in clean_line

    with_clean = run(data["cifar_ckpt"], "--suite", "cifar10-c", "--data-root", data["c10"],
                     "--out", tmp_path / "b", "--corruptions", "fog", "--device", "cpu",
                     "--clean-root", data["clean"])
    assert with_clean.exit_code == 0, with_clean.output
    assert "--clean-root" not in with_clean.output


def test_imagenet_c_at_another_resolution_is_the_imagenet_family_at_that_size():
    from robustbench_dm.suites.families import check_checkpoint, suite_family

    family = suite_family("imagenet-c-384px")
    assert (family.dataset, family.num_classes, family.input_size) == ("imagenet", 1000, 384)
    norm = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    info = {"dataset": "imagenet", "num_classes": 1000, "normalization": norm}
    assert check_checkpoint("imagenet-c-384px", info, allow_mismatch=False).status == "ok"
    assert check_checkpoint("imagenet-c-384px", {**info, "input_size": 384}).status == "ok"
    with pytest.raises(UserError, match="takes 224 px input"):
        check_checkpoint("imagenet-c-384px", {**info, "input_size": 224})
    assert suite_family("imagenet-c-px") is None
