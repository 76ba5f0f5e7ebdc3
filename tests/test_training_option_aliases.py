"""The Dynamic Mixup ablations are method options; ``train``'s old flags are aliases of
``--option KEY=VALUE``; config.json and the checkpoint record the resolved option, and runs made
before (tests/data/methods/dynmix_linear_only_config.json, the config.json of a reproduce run
trained with --linear-only) resume with either spelling."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from cli import main
from robustbench_dm.errors import UserError
from robustbench_dm.methods import create_method
from robustbench_dm.training import resolve_config
from robustbench_dm.training.resume import check_resumable
from training_fixtures import one_thread, write_fashion_mnist

_one_thread = pytest.fixture(autouse=True, scope="module")(one_thread)
SAVED = Path(__file__).parent / "data" / "methods" / "dynmix_linear_only_config.json"
SPELLINGS = [["--linear-only"], ["--option", "linear_only=true"], ["--option", "linear-only=1"]]


def _options_of(args: list[str]) -> dict:
    """The method options ``train`` resolves for ``args`` (as the loop stores them)."""
    from cli.training import _method_options

    flags = {"no_jsd": "--no-jsd" in args, "linear_only": "--linear-only" in args,
             "single_sample_jsd": "--single-sample-jsd" in args}
    pairs = tuple(args[i + 1] for i, a in enumerate(args) if a == "--option")
    return create_method("dynmix", **_method_options(pairs, flags)).options()


@pytest.mark.parametrize("flag, key, value", [("--no-jsd", "jsd", False),
                                              ("--linear-only", "linear_only", True),
                                              ("--single-sample-jsd", "single_sample_jsd", True)])
def test_each_flag_is_the_option_it_aliases(flag, key, value):
    option = f"{key}={str(value).lower()}"
    assert _options_of([flag]) == _options_of(["--option", option])
    assert _options_of([flag])[key] is value and create_method("dynmix").options()[key] is not value
    help_text = CliRunner().invoke(main, ["train", "--help"]).output
    assert f"Alias of --option {option}" in " ".join(help_text.split())


def test_a_flag_and_its_option_together_are_refused():
    from cli.training import _method_options

    with pytest.raises(UserError, match="--no-jsd and --option jsd=... both set jsd"):
        _method_options(("jsd=true",), {"no_jsd": True})


@pytest.mark.parametrize("spelling", SPELLINGS, ids=lambda a: " ".join(a))
def test_a_saved_config_json_resumes_with_the_flag_or_the_option(spelling, tmp_path):
    saved = json.loads(SAVED.read_text())
    config = resolve_config("dynmix", "small_cnn", "fashion-mnist", tmp_path, tmp_path / "run",
                            epochs=2, limit=10000, seed=1, device="cpu",
                            method_options=_options_of(spelling))
    check_resumable({"arch": "small_cnn", "config": saved}, config, tmp_path / "last.pt")
    plain = dataclasses.replace(config, method_options=_options_of([]))
    with pytest.raises(UserError, match="linear_only"):
        check_resumable({"arch": "small_cnn", "config": saved}, plain, tmp_path / "last.pt")


def test_the_cli_run_records_the_option_and_resumes_with_the_other_spelling(tmp_path):
    data = write_fashion_mnist(tmp_path / "fmnist", n_train=64, n_test=16)
    out = tmp_path / "run"
    args = ["train", "--method", "dynmix", "--arch", "small_cnn", "--dataset", "fashion-mnist",
            "--data-root", str(data), "--out", str(out), "--epochs", "1", "--batch-size", "32",
            "--device", "cpu"]
    first = CliRunner().invoke(main, [*args, "--linear-only"])
    assert first.exit_code == 0, first.output
    recorded = json.loads((out / "config.json").read_text())["method_options"]
    assert recorded == {**create_method("dynmix").options(), "linear_only": True}
    assert torch.load(out / "last.pt", weights_only=True)["method_options"] == recorded
    resumed = CliRunner().invoke(main, [*args, "--option", "linear_only=true", "--resume"])
    assert resumed.exit_code == 0, resumed.output
    refused = CliRunner().invoke(main, [*args, "--resume"])
    assert refused.exit_code == 2 and "linear_only" in refused.output
