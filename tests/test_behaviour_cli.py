"""The command line's shared behaviour: click's usage errors are one `error:` line and exit
status 2 for every command; an --out that cannot be written is refused before any work; a
folder another run writes into is refused with that run's PID; `--device auto` everywhere,
said once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from cli import main
from training_fixtures import one_thread, write_fashion_mnist

_one_thread = pytest.fixture(autouse=True, scope="module")(one_thread)


@pytest.fixture(scope="module")
def fmnist(tmp_path_factory):
    return write_fashion_mnist(tmp_path_factory.mktemp("fmnist"), n_train=40, n_test=20)


def _one_error_line(result):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def _commands(tmp_path, fmnist, out):
    """Each writing command with valid arguments except ``out``."""
    ckpt = tmp_path / "m.pt"
    ckpt.write_bytes(b"")
    return {
        "score": ["score", str(ckpt), "--suite", "cifar10-c", "--out", out],
        "merge": ["merge", str(ckpt), "--out", out],
        "make-suite": ["make-suite", "fmnist-c", "--from", "fashion-mnist", "--data-root",
                       str(fmnist), "--out", out, "--corruptions", "fog", "--limit", "2"],
        "train": ["train", "--method", "standard", "--arch", "small_cnn", "--dataset",
                  "fashion-mnist", "--data-root", str(fmnist), "--out", out, "--epochs", "1",
                  "--device", "cpu"],
        "report": ["report", str(ckpt), "--out", out],
        "demo": ["demo", "--data-root", str(fmnist), "--out", out, "--quick", "--epochs", "1"],
    }


@pytest.mark.parametrize("args, message", [
    (["score", "m.pt", "--suite", "cifar10-c", "--out", "o", "--normalize", "bad"],
     "error: Invalid value for '--normalize': 'bad' is not one of 'imagenet', 'cifar', 'none'."),
    (["train", "--method", "standard"], "error: Missing option '--arch'."),
    (["report", "--out", "o", "--bootstrap", "many"],
     "error: Invalid value for '--bootstrap': 'many' is not a valid integer."),
    (["nosuch"], "error: No such command 'nosuch'."),
    (["list", "widgets"], None),
])
def test_usage_errors_are_one_line_and_exit_2(args, message):
    line = _one_error_line(CliRunner().invoke(main, args))
    assert message is None or line == message


COMMANDS = ["score", "merge", "make-suite", "train", "report", "demo"]


@pytest.mark.parametrize("command", COMMANDS)
def test_an_out_that_is_a_file_or_under_a_file_is_one_error_line(command, tmp_path, fmnist):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    for out in (blocker, blocker / "sub"):
        args = _commands(tmp_path, fmnist, str(out))[command]
        line = _one_error_line(CliRunner().invoke(main, args))
        assert str(blocker) in line
    assert blocker.read_text() == "not a folder"


HOLDER = textwrap.dedent("""
    import sys, time
    from robustbench_dm.outdir import lock_folder
    with lock_folder(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(600)
""")


@pytest.mark.parametrize("command", ["merge", "make-suite", "train", "report", "demo"])
def test_a_folder_in_use_is_refused_with_the_holders_pid(command, tmp_path, fmnist):
    out = tmp_path / "busy"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        line = _one_error_line(CliRunner().invoke(main, _commands(tmp_path, fmnist,
                                                                  str(out))[command]))
        assert f"{out} is in use: process {proc.pid} is writing into it" in line
        assert sorted(p.name for p in out.iterdir()) == [".lock"]
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


def test_device_auto_is_the_default_and_is_said_once(tmp_path, fmnist):
    for command in ("score", "make-suite", "train", "demo"):
        option = next(p for p in main.commands[command].params if p.name == "device")
        assert option.default == "auto", command
    result = CliRunner().invoke(main, [
        "make-suite", "fmnist-c", "--from", "fashion-mnist", "--data-root", str(fmnist),
        "--out", str(tmp_path / "s"), "--corruptions", "fog", "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "device: cpu"
    assert result.stdout.count("device:") == 1
