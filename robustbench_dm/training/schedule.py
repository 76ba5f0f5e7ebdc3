"""Per-step learning-rate schedule: linear warm-up, then cosine decay to a final lr.

The cosine is AugMix's ``cifar.py`` ``get_lr``: factor(step) = r + (1 - r) * (1 + cos(pi *
step / T)) / 2 with r = final_lr / lr, stepped after every batch. With warm-up the factor
rises linearly, (step + 1) / W, over the first W steps and the cosine covers the rest.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch.optim.lr_scheduler import LambdaLR


def lr_factor(total_steps: int, warmup_steps: int, final_ratio: float) -> Callable[[int], float]:
    """``step -> lr multiplier`` for ``total_steps`` optimiser steps."""
    decay_steps = max(1, total_steps - warmup_steps)

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = min(1.0, (step - warmup_steps) / decay_steps)
        return final_ratio + (1.0 - final_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


def cosine_schedule(optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int,
                    lr: float, final_lr: float) -> LambdaLR:
    """A ``LambdaLR`` over :func:`lr_factor`; its ``state_dict`` is plain (checkpointable)."""
    return LambdaLR(optimizer, lr_factor(total_steps, warmup_steps, final_lr / lr))
