"""The demo's budgets (observed case 10: --limit capped training and scoring alike) and its
recorded paths (observed case 11: an absolute checkpoint path in the committed report)."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import pytest
from click.testing import CliRunner

from cli import main
from robustbench_dm import experiment as experiment_module
from robustbench_dm.demo import demo_experiment
from robustbench_dm.errors import UserError
from robustbench_dm.experiment import Experiment, RunSpec, SuiteSpec, run_experiment
from training_fixtures import one_thread, write_fashion_mnist

_one_thread = pytest.fixture(autouse=True, scope="module")(one_thread)


def test_train_and_eval_limits_are_separate():
    plan = demo_experiment("o", Path("fm"), train_limit=500, eval_limit=50, p_limit=20)
    assert plan.train_limit == 500
    assert [(s.name, s.limit) for s in plan.suites] == [("fmnist-c", 50), ("fmnist-p", 20)]
    plan = demo_experiment("o", Path("fm"), train_limit=500)
    assert [s.limit for s in plan.suites] == [1000, 250]


@pytest.mark.parametrize("flags, train, limits", [
    (["--limit", "300"], 300, [300, 250]),
    (["--train-limit", "2000", "--eval-limit", "100"], 2000, [100, 100]),
    (["--limit", "300", "--train-limit", "2000"], 2000, [300, 250]),
    ([], None, [1000, 250]),
])
def test_demo_flags_reach_the_plan(flags, train, limits, tmp_path, monkeypatch):
    root = write_fashion_mnist(tmp_path / "fm", n_train=8, n_test=8)
    plans = []

    def capture(plan, log):
        plans.append(plan)
        raise UserError("stop here")

    monkeypatch.setattr(experiment_module, "run_experiment", capture)
    result = CliRunner().invoke(main, ["demo", "--data-root", str(root), "--out",
                                       str(tmp_path / "o"), *flags])
    assert result.exit_code == 2 and "stop here" in result.output
    assert plans[0].train_limit == train and [s.limit for s in plans[0].suites] == limits
    assert "--eval-limit" in CliRunner().invoke(main, ["demo", "--help"]).output


@pytest.mark.slow
def test_an_experiment_records_relative_paths_and_survives_chance_models(tmp_path,
                                                                        monkeypatch):
    write_fashion_mnist(tmp_path / "fm", n_train=16, n_test=16)
    monkeypatch.chdir(tmp_path)
    exp = Experiment(out="exp", dataset="fashion-mnist", data_root="fm", arch="small_cnn",
                     runs=(RunSpec("standard", "standard"),),
                     suites=(SuiteSpec("fmnist-c", "fm", 8,
                                       {"corruptions": "fog", "severities": "1"}),),
                     epochs=1, train_limit=16, device="cpu")
    (outcome,) = run_experiment(exp, log=lambda line: None)
    assert str(outcome.checkpoint) == "exp/runs/standard/last.pt"
    recorded = json.loads(Path("exp/experiment.json").read_text())["runs"][0]
    assert recorded["checkpoint"] == "exp/runs/standard/last.pt"
    assert recorded["results"] == {"fmnist-c": "exp/scores/standard/fmnist-c/results.h5"}
    with h5py.File("exp/scores/standard/fmnist-c/results.h5", "r") as f:
        assert json.loads(f.attrs["checkpoint"])["path"] == "exp/runs/standard/last.pt"
    for path in Path("exp").rglob("*"):
        if path.is_file():
            assert str(tmp_path).encode() not in path.read_bytes(), path
