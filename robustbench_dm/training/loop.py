"""The training loop: the method augments and computes the loss; the loop owns the rest.

``train(config)`` runs ``config.epochs`` epochs of SGD with the per-step schedule of
:mod:`robustbench_dm.training.schedule`, optionally under bfloat16 autocast on CUDA. After
every epoch it measures clean test accuracy, appends a row to ``OUT/log.csv`` (epoch, lr,
loss, train_acc, test_acc, seconds, images_per_s; ``seconds`` is the whole epoch with
evaluation, ``images_per_s`` the clean training images per second of training alone) and
writes ``OUT/last.pt`` atomically in the toolkit's checkpoint format. ``resume=True``
continues from ``OUT/last.pt``, restoring weights, optimiser, scheduler, the method's
generator, torch's global RNG and the epoch, so on the CPU a resumed run ends with exactly
the weights of an uninterrupted one.

Under ``torchrun`` (see ``robustbench_dm.distributed``) the same ``train`` runs
DistributedDataParallel: gloo on the CPU, NCCL on CUDA (one GPU per rank). ``--batch-size`` is
the global batch: each rank trains on its contiguous piece of every single-process batch
(:func:`robustbench_dm.training.data.rank_order`), the loss of a smaller last batch is weighted
so the averaged gradient is the single-process one, and loss/accuracy are summed over ranks.
Only rank 0 writes ``config.json``, ``log.csv``, ``last.pt`` and shows progress; ``resume``
works the same (per-rank RNG states live in the checkpoint). BatchNorm: on CUDA the model's
BatchNorm layers become SyncBatchNorm (statistics over the global batch, as in one process);
on the CPU, where SyncBatchNorm does not run, each rank normalises with its own piece's
statistics and the running statistics of rank 0 are broadcast to all ranks before evaluation.
Random augmentations draw from one generator per rank (``seed + 1000003 * rank``), so they
are as random as in one process but not the same draws.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import platform
import time
from pathlib import Path
from typing import Any, Callable

import torch

from robustbench_dm import __version__
from robustbench_dm.atomic import remove_stale_temps, write_text_atomic
from robustbench_dm.distributed import (DistContext, all_reduce_sum, barrier, gather, is_main,
                                        process_group)
from robustbench_dm.errors import UserError
from robustbench_dm.methods import create_method
from robustbench_dm.models import create_model, resolve_normalization, save_checkpoint
from robustbench_dm.outdir import check_writable, lock_folder
from robustbench_dm.progress import Progress
from robustbench_dm.training.config import TrainConfig
from robustbench_dm.training.data import (epoch_images, epoch_order, load_splits, rank_order,
                                          steps_per_epoch)
from robustbench_dm.training.divergence import Divergence, diverged, weights_finite
from robustbench_dm.training.evaluate import evaluate
from robustbench_dm.training.resume import (CHECKPOINT_NAME, check_resumable, read_checkpoint,
                                            resume_rng, rng_state, seed_rank)
from robustbench_dm.training.run_files import read_log, write_log
from robustbench_dm.training.schedule import cosine_schedule

SAFETENSORS_NAME = "model.safetensors"
SAVE_FORMATS = ("pt", "safetensors")


def _autocast(amp: bool) -> Callable[[], contextlib.AbstractContextManager]:
    """A factory of bfloat16 CUDA autocast contexts (``amp``) or of null contexts."""
    if not amp:
        return contextlib.nullcontext
    return functools.partial(torch.autocast, "cuda", dtype=torch.bfloat16)


def train_step(model: torch.nn.Module, method, optimizer: torch.optim.Optimizer,
               scheduler, images: torch.Tensor, labels: torch.Tensor,
               generator: torch.Generator, autocast=contextlib.nullcontext,
               loss_weight: float = 1.0):
    """One optimisation step: the method's loss (under ``autocast``), backward of ``loss_weight``
    times it, SGD step, schedule step. Returns the method's (unweighted) ``LossOutput``."""
    with autocast():
        result = method.loss(model, images, labels, generator)
    optimizer.zero_grad(set_to_none=True)
    (result.loss if loss_weight == 1.0 else result.loss * loss_weight).backward()
    optimizer.step()
    scheduler.step()
    return result


def build_training(config: TrainConfig, steps_per_epoch: int):
    """``(model, optimizer, scheduler)`` of the recipe in ``config``: the normalising model
    on ``config.device`` (initialised from ``config.seed``), SGD and the per-step schedule."""
    torch.manual_seed(config.seed)
    model = create_model(config.arch, config.num_classes,
                         resolve_normalization(config.normalization)).to(config.device)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                                nesterov=config.nesterov, weight_decay=config.weight_decay)
    scheduler = cosine_schedule(optimizer, config.epochs * steps_per_epoch,
                                config.warmup_epochs * steps_per_epoch, config.lr,
                                config.final_lr)
    return model, optimizer, scheduler


def _distribute(model: torch.nn.Module, device: torch.device,
                ctx: DistContext) -> torch.nn.Module:
    """The module the method calls: ``model`` itself in one process, else a DDP wrapper (with
    SyncBatchNorm on CUDA; the wrapped module's parameters are ``model``'s own)."""
    if not ctx.distributed:
        return model
    if device.type == "cuda":
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index])
    return torch.nn.parallel.DistributedDataParallel(model)


def _broadcast_buffers(model: torch.nn.Module, ctx: DistContext) -> None:
    """Copy rank 0's buffers (BatchNorm running statistics) to every rank."""
    if ctx.distributed:
        for buffer in model.buffers():
            torch.distributed.broadcast(buffer, src=0)


def train(config: TrainConfig, *, resume: bool = False, method=None,
          on_epoch: Callable[[dict[str, Any]], None] | None = None,
          progress: bool | None = None, save_format: str = "pt") -> dict[str, Any]:
    """Train as ``config`` says; returns the last ``log.csv`` row plus ``checkpoint`` (path).
    ``save_format="safetensors"`` also writes ``OUT/model.safetensors`` after every epoch (the
    model and its metadata, the safe format to share; ``last.pt`` stays for resuming) and
    returns it as ``model``.
    ``on_epoch(row)`` is called after each epoch's checkpoint is written (on rank 0 only
    under torchrun, where every rank returns the same row). ``progress`` as in
    :class:`robustbench_dm.progress.Progress` (``False``: none).

    The folder ``config.out`` is checked and locked first (:mod:`robustbench_dm.outdir`). A
    loss that is not finite stops training with a ``UserError`` naming the epoch and step; the
    checkpoint of the last finished epoch is left as it was. ``resume`` in a folder whose run
    was killed before its first checkpoint (``config.json`` but no ``last.pt``) starts the run.

    ``method`` (a ``robustbench_dm.methods.Method``) defaults to
    ``create_method(config.method, scale=config.scale, **config.method_options)``; its
    resolved ``options()`` are stored in the config and the checkpoint.
    """
    if save_format not in SAVE_FORMATS:
        raise UserError(f"unknown save format {save_format!r}; expected one of {', '.join(SAVE_FORMATS)}")
    if method is None:
        method = create_method(config.method, scale=config.scale, **config.method_options)
    config = dataclasses.replace(config, method_options=dict(method.options()))
    out = check_writable(config.out, what="out")
    ckpt_path = out / CHECKPOINT_NAME
    with lock_folder(out):
        if is_main():
            remove_stale_temps(out)
        checkpoint = None
        if resume and (ckpt_path.is_file() or not (out / "config.json").is_file()):
            checkpoint = read_checkpoint(ckpt_path)
            check_resumable(checkpoint, config, ckpt_path)
        # else a run killed before its first checkpoint (config.json, no last.pt): start it
        elif not resume and ckpt_path.exists():
            raise UserError(f"{out} already holds a run ({ckpt_path}); pass resume=True to "
                            "continue it or choose another out", params=("resume", "out"))
        with process_group(config.device) as (ctx, device):
            return _train(config, method, checkpoint, on_epoch, ctx, device, progress,
                          save_format)


def _train(config: TrainConfig, method, checkpoint: dict[str, Any] | None,
           on_epoch: Callable[[dict[str, Any]], None] | None, ctx: DistContext,
           device: torch.device, progress: bool | None, save_format: str) -> dict[str, Any]:
    out = Path(config.out)
    ckpt_path = out / CHECKPOINT_NAME
    train_split, test_split = load_splits(dataclasses.replace(config, device=str(device)))
    if len(train_split) == 0:
        raise UserError(f"no training images in {config.data_root}")
    if config.batch_size % ctx.world_size:
        raise UserError(f"batch_size={config.batch_size} is the global batch and must be a "
                        f"multiple of the {ctx.world_size} processes", params=("batch_size",))

    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    steps = steps_per_epoch(len(train_split), config.batch_size, ctx.world_size)
    used = epoch_images(len(train_split), config.batch_size, ctx.world_size)
    model, optimizer, scheduler = build_training(dataclasses.replace(config, device=str(device)),
                                                 steps)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    generator = torch.Generator(device=device).manual_seed(config.seed)
    if ctx.rank:
        seed_rank(generator, config.seed, ctx.rank)
    start_epoch = 0
    if checkpoint is not None:
        model.net.load_state_dict(checkpoint["state_dict"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        start_epoch = int(checkpoint["epoch"])
        resume_rng(checkpoint["metadata"], generator, config, ctx, start_epoch)
    trained_model = _distribute(model, device, ctx)

    log_rows: list[dict[str, Any]] = []
    if ctx.main:
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out / "config.json", config.to_json() + "\n")
        log_rows = read_log(out / "log.csv", start_epoch)
    autocast = _autocast(config.amp)
    row: dict[str, Any] = log_rows[-1] if log_rows else {}
    local_batch = config.batch_size // ctx.world_size
    bar = Progress((config.epochs - start_epoch) * steps, f"train {config.method} {config.arch}",
                   unit="batch", show=progress if ctx.main else False)
    for epoch in range(start_epoch, config.epochs):
        started = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        model.train()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), dtype=torch.int64, device=device)
        seen = torch.zeros((), dtype=torch.int64, device=device)
        order = epoch_order(len(train_split), config.seed, epoch)
        if ctx.distributed:
            order = rank_order(order, config.batch_size, ctx.rank, ctx.world_size)
        batches = train_split.batches(local_batch, order, seed=config.seed * 1_000_003 + epoch)
        bar.cell(f"epoch {epoch + 1}/{config.epochs}")
        divergence = Divergence(device, ctx, steps)
        for step, (images, labels) in enumerate(batches):
            if config.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            # a smaller last batch: weight so the DDP mean of rank means is the global mean
            global_n = min(config.batch_size, used - step * config.batch_size)
            weight = labels.numel() * ctx.world_size / global_n if ctx.distributed else 1.0
            result = train_step(trained_model, method, optimizer, scheduler, images, labels,
                                generator, autocast, loss_weight=weight)
            targets = result.targets.argmax(1) if result.targets.ndim == 2 else result.targets
            loss_sum += result.loss.detach().float() * labels.numel()
            correct += (result.logits.detach().argmax(1) == targets).sum()
            seen += labels.numel()
            bar.update()
            divergence.record(step, result.loss)
            bad = divergence.first_bad(step, force=step == steps - 1)
            if bad is not None:
                bar.close()
                raise diverged(f"the loss is not finite at epoch {epoch + 1}, step "
                               f"{bad + 1} of {steps}", config, lr, epoch, ckpt_path)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        trained = time.perf_counter() - started
        for total in (loss_sum, correct, seen):
            all_reduce_sum(total, ctx)
        _broadcast_buffers(model, ctx)
        if not weights_finite(model.net):
            bar.close()
            raise diverged(f"the weights are not finite after epoch {epoch + 1}", config, lr,
                           epoch, ckpt_path)
        test_acc = evaluate(model, test_split, config.eval_batch_size, autocast, ctx,
                            config.channels_last)
        seen_all = int(seen.item())
        row = {"epoch": epoch + 1, "lr": lr, "loss": loss_sum.item() / seen_all,
               "train_acc": correct.item() / seen_all, "test_acc": test_acc,
               "seconds": time.perf_counter() - started, "images_per_s": seen_all / trained}
        rng = rng_state(generator)
        rng_ranks = gather(rng, ctx) if ctx.distributed else None
        if ctx.main:
            log_rows.append(row)
            write_log(out / "log.csv", log_rows)
            metadata = {"rng": rng, "toolkit_version": __version__,
                        "torch_version": str(torch.__version__),
                        "python": platform.python_version(), "train_images": len(train_split),
                        "steps_per_epoch": steps, "world_size": ctx.world_size}
            if rng_ranks is not None:
                metadata["rng_ranks"] = rng_ranks
            trained_fields = dict(
                arch=config.arch, num_classes=config.num_classes,
                normalization=model.normalization, state_dict=_plain_state(model.net),
                method=config.method, method_options=config.method_options,
                dataset=config.dataset, epoch=epoch + 1, config=config.to_dict())
            save_checkpoint(ckpt_path, **trained_fields, optimizer=optimizer.state_dict(),
                            scheduler=scheduler.state_dict(), metadata=metadata)
            if save_format == "safetensors":
                save_checkpoint(out / SAFETENSORS_NAME, **trained_fields)
            if on_epoch is not None:
                on_epoch(row)
        barrier(ctx)
    bar.close()
    saved = {"model": str(out / SAFETENSORS_NAME)} if save_format == "safetensors" else {}
    return {**row, "checkpoint": str(ckpt_path), **saved}


def _plain_state(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    """``net``'s state dict in the default (contiguous) memory format."""
    return {key: value.contiguous() for key, value in net.state_dict().items()}
