"""Library errors speak of parameters (``allow_mismatch=True``, ``arch=NAME``); the command line
writes the same failure with its flags (``--allow-mismatch``, ``--arch NAME``), by one rule:
``UserError.params`` names the parameters, click's own options give their flags."""

from __future__ import annotations

import click
import pytest
import torch
from click.testing import CliRunner

from cli import main
from cli._group import flag_for
from formats import write_cifar_c
from robustbench_dm import evaluate
from robustbench_dm.errors import Note, UserError, respell
from robustbench_dm.models import NORMALIZATIONS, create_model, load_model, save_checkpoint
from robustbench_dm.training import resolve_config

N = 4


def _error_line(args: list) -> str:
    result = CliRunner().invoke(main, list(map(str, args)))
    assert result.exit_code == 2, result.output
    [line] = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    return line


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("params")
    net = create_model("small_cnn", 10, NORMALIZATIONS["cifar"])
    fmnist = save_checkpoint(root / "fmnist.pt", arch="small_cnn", num_classes=10,
                             normalization=net.normalization, state_dict=net.net.state_dict(),
                             dataset="fashion-mnist")
    bare = root / "bare.pt"
    torch.save(net.net.state_dict(), bare)
    return {"fmnist": fmnist, "bare": bare, "c10": write_cifar_c(root / "CIFAR-10-C", N, ("fog",))}


def test_a_mismatch_names_allow_mismatch_in_python_and_the_flag_on_the_command_line(files, tmp_path):
    with pytest.raises(UserError) as err:
        evaluate(files["fmnist"], "cifar10-c", data_root=files["c10"], corruptions="fog",
                 device="cpu", progress=False)
    assert "pass allow_mismatch=True to score anyway" in str(err.value)
    assert "--allow-mismatch" not in str(err.value) and err.value.params == ("allow_mismatch",)

    line = _error_line(["score", files["fmnist"], "--suite", "cifar10-c", "--data-root", files["c10"],
                        "--out", tmp_path / "out", "--corruptions", "fog", "--device", "cpu"])
    assert line.endswith("pass --allow-mismatch to score anyway"), line
    assert "allow_mismatch" not in line


def test_a_bare_state_dict_asks_for_arch_and_normalization_or_their_flags(files, tmp_path):
    with pytest.raises(UserError, match=r"pass arch=NAME \(.*normalization=imagenet\|cifar\|none\)"):
        load_model(files["bare"])
    line = _error_line(["score", files["bare"], "--suite", "cifar10-c", "--data-root", files["c10"],
                        "--out", tmp_path / "out"])
    assert "pass --arch NAME (a toolkit model" in line and "--normalize imagenet|cifar|none)" in line
    assert "arch=" not in line and "normalization" not in line


def test_a_training_value_is_named_as_the_parameter_or_its_flag(tmp_path):
    with pytest.raises(UserError, match=r"^weight_decay must be >= 0, got -1.0$"):
        resolve_config("standard", "small_cnn", "cifar10", str(tmp_path), str(tmp_path / "run"),
                       weight_decay=-1.0)
    line = _error_line(["train", "--method", "standard", "--arch", "small_cnn", "--dataset", "cifar10",
                        "--data-root", tmp_path, "--out", tmp_path / "run", "--weight-decay", "-1"])
    assert line == "error: --weight-decay must be >= 0, got -1.0"


@click.command()
@click.argument("checkpoint")
@click.option("--out", "out_dir")
@click.option("--bf16/--no-bf16", default=None)
@click.option("--allow-mismatch", is_flag=True)
def _command(checkpoint, out_dir, bf16, allow_mismatch):
    """A command whose options stand for library parameters of other spellings."""


def _spell_for(command: click.Command):
    options = {param.name: param for param in command.params}
    return lambda name, value: flag_for(options[name], value) if name in options else None


@pytest.mark.parametrize("text, params, expected", [
    ("pass allow_mismatch=True", ["allow_mismatch"], "pass --allow-mismatch"),
    ("bf16=True needs CUDA; or bf16=False", ["bf16"], "--bf16 needs CUDA; or --no-bf16"),
    ("choose another out_dir or delete it", ["out_dir"], "choose another --out or delete it"),
    ("out_dir=runs/x: a file", ["out_dir"], "--out runs/x: a file"),
    ("checkpoint missing", ["checkpoint"], "CHECKPOINT missing"),
    # a quoted key, a path or a longer word is no mention; unlisted names stay
    ("settings {'bf16': False} in /runs/bf16/out_dir, bf16x", ["bf16", "out_dir"],
     "settings {'bf16': False} in /runs/bf16/out_dir, bf16x"),
    ("pass allow_mismatch=True", [], "pass allow_mismatch=True"),
    ("seed 3 and limit=2", ["seed", "limit"], "seed 3 and limit=2"),  # no such options: kept
])
def test_respell_writes_each_named_parameter_as_the_commands_flag(text, params, expected):
    assert respell(text, params, _spell_for(_command)) == expected


def test_a_note_is_its_text_with_the_params_it_names():
    note = Note("score into the same out_dir", params=("out_dir",))
    assert note == "score into the same out_dir" and note.params == ("out_dir",)
    assert respell(note, note.params, _spell_for(_command)) == "score into the same --out"
