"""Stopping training that diverges: the first step whose loss is not finite, weights that are
not finite, and the error that says where and what to do."""

from __future__ import annotations

from pathlib import Path

import torch

from robustbench_dm.distributed import DistContext
from robustbench_dm.errors import UserError
from robustbench_dm.training.config import TrainConfig


class Divergence:
    """Finds the first optimiser step of an epoch whose loss is not finite, without a device
    sync per step: the step index stays on the device and is read every ``every`` steps (every
    step on the CPU) and at the end of the epoch; under torchrun all ranks stop together."""

    def __init__(self, device: torch.device, ctx: DistContext, steps: int):
        self.device, self.ctx, self.steps = device, ctx, steps
        self.every = 1 if device.type == "cpu" else 25
        self.first = torch.full((), -1, dtype=torch.int64, device=device)

    def record(self, step: int, loss: torch.Tensor) -> None:
        bad = ~torch.isfinite(loss.detach().float())
        self.first = torch.where(bad & (self.first < 0), step, self.first)

    def first_bad(self, step: int, force: bool = False) -> int | None:
        """The 0-based first non-finite step so far (of any rank), at check points; else None."""
        if not force and (step + 1) % self.every:
            return None
        first = self.first.clone()
        if self.ctx.distributed:  # earliest bad step over ranks, as steps - step (max wins)
            key = torch.where(first >= 0, self.steps - first, 0)
            torch.distributed.all_reduce(key, op=torch.distributed.ReduceOp.MAX)
            first = torch.where(key > 0, self.steps - key, -1)
        value = int(first.item())
        return value if value >= 0 else None


def weights_finite(model: torch.nn.Module) -> bool:
    """Whether every floating parameter and buffer of ``model`` is finite (one sync)."""
    checks = [torch.isfinite(t).all() for t in model.state_dict().values()
              if t.is_floating_point()]
    return bool(torch.stack(checks).all()) if checks else True


def diverged(where: str, config: TrainConfig, lr: float, epoch: int,
             ckpt_path: Path) -> UserError:
    """The error that stops a diverged run: ``where`` it diverged and what ``ckpt_path`` keeps."""
    kept = (f"{ckpt_path} still holds epoch {epoch}, the last good one" if epoch
            else "no checkpoint was written")
    return UserError(f"training diverged: {where} (learning rate {lr:.3g}, lr={config.lr:g}); "
                     f"training stopped and {kept}; lower the learning rate and start again",
                     params=("lr",))
