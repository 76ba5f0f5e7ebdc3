"""Training faults: a loss that is not finite stops the run with the epoch and step named and
the last good checkpoint untouched (`train --lr 1e30` used to exit 0 with NaN weights); a run
killed during its very first checkpoint write resumes by starting."""

from __future__ import annotations

import hashlib

import pytest
import torch
from click.testing import CliRunner

from cli import main
from robustbench_dm.errors import UserError
from robustbench_dm.training import train
from training_fixtures import CountingFlipCE, FlipCE, flip_ce_config, fmnist_fixture, one_thread

_one_thread = pytest.fixture(autouse=True, scope="module")(one_thread)


fmnist = fmnist_fixture(n_train=96, n_test=32)
_config = flip_ce_config


class NaNAt(CountingFlipCE):
    """FlipCE whose loss is NaN from its ``step``-th call on (0-based)."""

    def loss(self, model, images, targets, generator):
        out = super().loss(model, images, targets, generator)
        self.calls += 1
        if self.calls > self.step:
            return type(out)(out.loss * float("nan"), out.logits, out.targets)
        return out


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_nan_loss_names_epoch_and_step_and_keeps_the_last_good_checkpoint(fmnist, tmp_path):
    out = tmp_path / "run"
    saved = []
    with pytest.raises(UserError, match=r"the loss is not finite at epoch 2, step 2 of 3 .*"
                                        r"last\.pt still holds epoch 1, the last good one"):
        train(_config(fmnist, out), method=NaNAt(4),
              on_epoch=lambda row: saved.append(_sha(out / "last.pt")))
    assert len(saved) == 1 and _sha(out / "last.pt") == saved[0]
    assert torch.load(out / "last.pt", weights_only=True)["epoch"] == 1
    assert (out / "log.csv").read_text().count("\n") == 2  # header + epoch 1


def test_lr_1e30_is_one_error_line_and_no_checkpoint(fmnist, tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(main, [
        "train", "--method", "standard", "--arch", "small_cnn", "--dataset", "fashion-mnist",
        "--data-root", str(fmnist), "--out", str(out), "--epochs", "1", "--batch-size", "32",
        "--lr", "1e30", "--device", "cpu"])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "training diverged: the loss is not finite at epoch 1, step" \
        in errors[0] and "no checkpoint was written" in errors[0], result.output
    assert not (out / "last.pt").exists()


def test_resume_after_a_kill_during_the_first_checkpoint_write_starts_the_run(fmnist, tmp_path):
    out = tmp_path / "run"
    reference = train(_config(fmnist, tmp_path / "ref", epochs=1), method=FlipCE())
    (tmp_path / "ref" / "last.pt").rename(out.parent / "whole.pt")
    out.mkdir()
    (out / "config.json").write_bytes((tmp_path / "ref" / "config.json").read_bytes())
    (out / ".last.pt.k1ll3d.tmp").write_bytes((out.parent / "whole.pt").read_bytes()[:100])
    result = train(_config(fmnist, out, epochs=1), method=FlipCE(), resume=True)
    assert result["epoch"] == 1 and result["loss"] == pytest.approx(reference["loss"])
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "last.pt", "log.csv"]


def test_resume_without_any_run_still_says_there_is_no_checkpoint(fmnist, tmp_path):
    with pytest.raises(UserError, match="resume=True: no checkpoint"):
        train(_config(fmnist, tmp_path / "empty"), method=FlipCE(), resume=True)
    assert not (tmp_path / "empty").exists()


def test_the_first_bad_step_is_found_when_checked_only_every_few_steps():
    """On CUDA the loss is read every 25 steps (no sync per step): the first non-finite step
    is still the one reported."""
    from robustbench_dm.distributed import DistContext
    from robustbench_dm.training.divergence import Divergence

    divergence = Divergence(torch.device("cpu"), DistContext(), steps=6)
    divergence.every = 3
    losses = [1.0, float("nan"), 2.0, float("inf"), 1.0, 1.0]
    found = []
    for step, loss in enumerate(losses):
        divergence.record(step, torch.tensor(loss))
        found.append(divergence.first_bad(step, force=step == 5))
    assert found == [None, None, 1, None, None, 1]
