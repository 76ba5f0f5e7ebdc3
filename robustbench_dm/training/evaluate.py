"""Clean test accuracy of a model during training, shared over ranks under torchrun."""

from __future__ import annotations

import contextlib

import torch

from robustbench_dm.distributed import DistContext, all_reduce_sum
from robustbench_dm.training.data import Split


def evaluate(model: torch.nn.Module, split: Split, batch_size: int,
             autocast=contextlib.nullcontext, ctx: DistContext | None = None,
             channels_last: bool = False) -> float:
    """Top-1 accuracy of ``model`` on ``split`` (eval mode, no gradients). Under a distributed
    ``ctx`` each rank evaluates its contiguous share of the split and the counts are summed."""
    ctx = ctx or DistContext()
    was_training = model.training
    model.eval()
    correct = torch.zeros((), dtype=torch.int64)
    total = 0
    order = None
    if ctx.distributed:
        lo, hi = len(split) * ctx.rank // ctx.world_size, len(split) * (ctx.rank + 1) // ctx.world_size
        order = torch.arange(lo, hi)
    with torch.no_grad():
        for images, labels in split.batches(batch_size, order):
            if channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            with autocast():
                logits = model(images)
            correct = correct.to(labels.device) + (logits.argmax(1) == labels).sum()
            total += labels.numel()
    model.train(was_training)
    if ctx.distributed:
        device = next(model.parameters()).device
        counts = all_reduce_sum(torch.tensor([int(correct), total], device=device), ctx)
        correct, total = counts[0], int(counts[1])
    return float(correct.item()) / max(total, 1)
