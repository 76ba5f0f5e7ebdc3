"""The Python API: ``evaluate`` in memory gives exactly what ``robust-eval score`` writes (CIFAR-10-C,
ImageNet-C folder and ImageNet-P fixtures); ``load_model``; ``Evaluation.save``; ``report``."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from torch import nn

import robustbench_dm
from cli import main
from formats import write_cifar_c, write_imagenet_c_folder, write_imagenet_p
from robustbench_dm.errors import UserError
from robustbench_dm.models import create_model, save_checkpoint
from robustbench_dm.scoring import Results
from robustbench_dm.scoring.results import CELL_ARRAYS

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")
WNIDS = ["n01", "n02", "n03", "n04", "n05"]


class TinyNet(nn.Module):
    """A deterministic network for any input size: pooled colour statistics -> K logits."""

    def __init__(self, num_classes: int):
        super().__init__()
        torch.manual_seed(num_classes)
        self.head = nn.Linear(6, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([x.mean((2, 3)), x.amax((2, 3))], 1))


def _scripted(path: Path, num_classes: int) -> Path:
    torch.jit.save(torch.jit.script(TinyNet(num_classes)), str(path))
    return path


def _cli_score(*args) -> None:
    result = CliRunner().invoke(main, ["score", *map(str, args)])
    assert result.exit_code == 0, result.output


def _same_cells(written: Results, memory: Results) -> None:
    assert written.cells() == memory.cells()
    for name, level in written.cells():
        a, b = written.cell(name, level), memory.cell(name, level)
        for key in ("labels", "index", "topk", "topk_prob", "logits"):
            x, y = getattr(a, key), getattr(b, key)
            assert (x is None) == (y is None), key
            if x is not None:
                np.testing.assert_array_equal(x, y, err_msg=f"{name}/{level} {key}")


CASES = {
    "cifar10-c": lambda root: (write_cifar_c(root, 12, ["fog", "snow"]), 10,
                               ["--corruptions", "fog,snow"], {"corruptions": "fog,snow"}),
    "imagenet-c": lambda root: (write_imagenet_c_folder(root, ["fog"], WNIDS[:3], 2, size=24,
                                                        severities=[1, 2]), 3,
                                ["--corruptions", "fog", "--severities", "1,2"],
                                {"corruptions": "fog", "severities": "1,2"}),
    "imagenet-p": lambda root: (write_imagenet_p(root, ["gaussian_noise", "rotate"], WNIDS, 1,
                                                 size=16, frames=4), 5,
                                ["--corruptions", "gaussian_noise,rotate"],
                                {"corruptions": "gaussian_noise,rotate"}),
}


@pytest.mark.parametrize("suite", sorted(CASES))
def test_evaluate_in_memory_equals_the_command_line(tmp_path, suite):
    root, classes, flags, selection = CASES[suite](tmp_path / "data")
    model = _scripted(tmp_path / "model.pt", classes)
    _cli_score(model, "--suite", suite, "--data-root", root, "--out", tmp_path / "cli",
               "--batch-size", "7", *flags)
    ev = robustbench_dm.evaluate(str(model), suite, data_root=root, batch_size=7,
                                 progress=False, **selection)
    written = Results.load(tmp_path / "cli" / "results.h5")
    assert ev.results.path == Path("<in memory>")  # nothing on disk
    _same_cells(written, ev.results)
    assert ev.summary == json.loads((tmp_path / "cli" / "summary.json").read_text())
    rows = ev.cells
    assert len(rows) == len(written.cells()) and (rows["suite"] == suite).all()
    per_image = ev.per_image()
    assert len(per_image) == sum(written.cell(*c).n for c in written.cells())
    if suite.endswith("-c"):
        np.testing.assert_allclose(rows["error"], written.errors()["error"])
        assert per_image.groupby(["corruption", "severity"])["correct"].mean().round(12).tolist() \
            == (1 - rows["error"]).round(12).tolist()
    else:
        assert set(rows.columns) >= {"flip_probability", "top5_distance"}


def test_save_writes_the_files_score_writes_and_module_input(tmp_path):
    root = write_cifar_c(tmp_path / "c", 10, ["fog"])
    net = TinyNet(10)
    ev = robustbench_dm.evaluate(net, "cifar10-c", data_root=root, corruptions="fog",
                                 progress=False)
    ev.save(tmp_path / "saved")
    again = Results.load(tmp_path / "saved" / "results.h5")
    _same_cells(again, ev.results)
    assert json.loads((tmp_path / "saved" / "summary.json").read_text()) == ev.summary
    with h5py.File(tmp_path / "saved" / "results.h5") as f:
        assert json.loads(f.attrs["metadata"])["suite"] == "cifar10-c"
    with pytest.raises(UserError, match="already exists"):
        ev.save(tmp_path / "saved")
    # normalization=(mean, std) wraps a module that expects normalised input
    shifted = robustbench_dm.evaluate(net, "cifar10-c", data_root=root, corruptions="fog",
                                      normalization=((0.5,) * 3, (0.25,) * 3), progress=False)
    x = torch.rand(2, 3, 32, 32)
    assert not torch.equal(net(x), net((x - 0.5) / 0.25))
    assert shifted.results.attrs["checkpoint"]["normalization"] == {
        "mean": [0.5] * 3, "std": [0.25] * 3}


def test_out_resumes_like_the_command_line(tmp_path):
    root = write_cifar_c(tmp_path / "c", 10, ["fog", "snow"])
    net = TinyNet(10)
    first = robustbench_dm.evaluate(net, "cifar10-c", data_root=root, corruptions="fog",
                                    out=tmp_path / "out", progress=False)
    assert (tmp_path / "out" / "results.h5").is_file() and len(first.results.cells()) == 5
    more = robustbench_dm.evaluate(net, "cifar10-c", data_root=root, corruptions="fog,snow",
                                   out=tmp_path / "out", progress=False)
    assert len(more.results.cells()) == 10


def test_load_model_returns_an_eval_module_with_normalisation_inside(tmp_path):
    net = create_model("small_cnn", 10, normalization=((0.5,) * 3, (0.5,) * 3))
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, arch="small_cnn", num_classes=10, dataset="cifar10",
                    state_dict=net.net.state_dict(), normalization=net.normalization)
    model = robustbench_dm.load_model(path)
    assert isinstance(model, nn.Module) and not model.training
    x = torch.rand(3, 3, 32, 32)
    net.eval()
    torch.testing.assert_close(model(x), net(x))
    assert model.checkpoint_info["dataset"] == "cifar10"
    assert model.checkpoint_info["path"] == str(path)


def test_evaluate_rejects_what_is_not_a_model(tmp_path):
    with pytest.raises(UserError, match="expected a torch.nn.Module or a checkpoint path"):
        robustbench_dm.evaluate(42, "cifar10-c", data_root=tmp_path)


def test_report_from_in_memory_evaluations(tmp_path):
    root = write_cifar_c(tmp_path / "c", 10, ["fog"])
    evs = [robustbench_dm.evaluate(TinyNet(10), "cifar10-c", data_root=root, corruptions="fog",
                                   progress=False)]
    evs.append(robustbench_dm.evaluate(nn.Sequential(TinyNet(10), nn.Tanh()), "cifar10-c",
                                       data_root=root, corruptions="fog", progress=False))
    doc = robustbench_dm.report(evs, tmp_path / "report", names=["tiny", "tanh"],
                                n_boot=100)
    text = (tmp_path / "report" / "report.md").read_text()
    assert "tiny" in text and "tanh" in text
    # the same report as from the files robust-eval score writes
    paths = [str(ev.save(tmp_path / name) / "results.h5") for ev, name in zip(evs, ["a", "b"])]
    from_files = robustbench_dm.report(paths, tmp_path / "files",
                                       names={paths[0]: "tiny", paths[1]: "tanh"}, n_boot=100)
    assert doc.summary == from_files.summary
    memory_cells = pd.read_csv(tmp_path / "report" / "cells.csv")
    file_cells = pd.read_csv(tmp_path / "files" / "cells.csv")
    assert (memory_cells.pop("results_file") == "<in memory>").all()
    assert file_cells.pop("results_file").str.endswith("results.h5").all()
    pd.testing.assert_frame_equal(memory_cells, file_cells)


def test_out_with_a_baseline_loads_it_and_summarises_once(tmp_path, monkeypatch):
    """evaluate(out=, baseline=path) reads the baseline file once and builds the summary once:
    the summary.json score() writes is the dict the evaluation returns."""
    from robustbench_dm.scoring import results as results_module

    root = write_cifar_c(tmp_path / "c", 10, ["fog"])
    base = robustbench_dm.evaluate(TinyNet(10), "cifar10-c", data_root=root, corruptions="fog",
                                   out=tmp_path / "base", progress=False)
    loads, summaries = [], []
    real_load, real_summarize = Results.load.__func__, results_module.summarize
    monkeypatch.setattr(Results, "load", classmethod(
        lambda cls, path, **kw: loads.append(Path(path)) or real_load(cls, path, **kw)))
    monkeypatch.setattr(results_module, "summarize",
                        lambda *a: summaries.append(a) or real_summarize(*a))
    ev = robustbench_dm.evaluate(TinyNet(7 + 3), "cifar10-c", data_root=root, corruptions="fog",
                                 out=tmp_path / "m", baseline=base.results.path, progress=False)
    assert loads.count(base.results.path) == 1 and len(summaries) == 1
    assert json.loads((tmp_path / "m" / "summary.json").read_text()) == ev.summary
    ev.summary["mean_error"] = -1.0       # the caller's copy; the results' answer is unchanged
    assert ev.results.summary(ev.baseline)["mean_error"] != -1.0


def test_summary_follows_an_in_memory_baseline_that_gained_cells(tmp_path):
    """The summary normalised by an in-memory baseline is recomputed once the baseline changes."""
    root = write_cifar_c(tmp_path / "c", 10, ["fog", "snow"])
    base = robustbench_dm.evaluate(TinyNet(10), "cifar10-c", data_root=root, corruptions="fog",
                                   progress=False)
    more = robustbench_dm.evaluate(TinyNet(10), "cifar10-c", data_root=root, corruptions="snow",
                                   progress=False)
    other = TinyNet(10)
    with torch.no_grad():
        other.head.weight.mul_(-1)
    ev = robustbench_dm.evaluate(other, "cifar10-c", data_root=root, corruptions="fog,snow", progress=False)
    before = ev.results.summary(base.results)
    for name, level in more.results.cells():
        if name == "snow":
            record = more.results.cell(name, level)
            base.results.add(name, level, {k: getattr(record, k) for k in CELL_ARRAYS
                                           if getattr(record, k) is not None})
    after = ev.results.summary(base.results)
    assert after != before and after == ev.results.summary(base.results)
