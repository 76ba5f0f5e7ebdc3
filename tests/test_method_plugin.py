"""A new method defined in a few lines outside the package, trained through the CLI."""

import json
import textwrap

import torch
from click.testing import CliRunner

from cli import main
from training_fixtures import write_fashion_mnist

PLUGIN = textwrap.dedent('''
    import torch.nn.functional as F
    from robustbench_dm.methods import LossOutput, Method

    class MyMethod(Method):
        name = "mymethod"
        description = "base transform + label-smoothed cross-entropy"
        defaults = {"smoothing": 0.1}

        def loss(self, model, images, targets, generator):
            logits = model(self.augment(images, targets, generator))
            loss = F.cross_entropy(logits, targets, label_smoothing=self.opts["smoothing"])
            return LossOutput(loss, logits, targets)
''')


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
