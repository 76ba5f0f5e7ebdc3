"""A new method defined in a few lines outside the package (the documented example), trained
through the CLI."""

import json
import textwrap

import torch
from click.testing import CliRunner

import robustbench_dm.methods.base as base_module
from cli import main
from training_fixtures import write_fashion_mnist

# the example of robustbench_dm.methods.base's docstring, as a module of its own
PLUGIN = "import torch.nn.functional as F\nfrom robustbench_dm.methods import LossOutput, Method\n\n" + (
    textwrap.dedent(base_module.__doc__.split("A new method is one subclass:\n", 1)[1]))


def test_plugin_method_trains_through_the_cli(tmp_path, monkeypatch):
    (tmp_path / "tests_plugin_mod.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    data = write_fashion_mnist(tmp_path / "fmnist", n_train=64, n_test=16)
    out = tmp_path / "run"
    try:
        result = CliRunner().invoke(main, [
            "train", "--method", "tests_plugin_mod:MyMethod", "--arch", "small_cnn",
            "--dataset", "fashion-mnist", "--data-root", str(data), "--out", str(out),
            "--epochs", "1", "--batch-size", "32", "--device", "cpu", "--seed", "3",
            "--option", "smoothing=0.2"], catch_exceptions=False)
    finally:
        torch.set_num_threads(threads)
    assert result.exit_code == 0, result.output
    ckpt = torch.load(out / "last.pt", weights_only=True)
    assert ckpt["method"] == "tests_plugin_mod:MyMethod"
    assert ckpt["method_options"] == {"smoothing": 0.2}
    assert json.loads((out / "config.json").read_text())["method_options"] == {"smoothing": 0.2}
