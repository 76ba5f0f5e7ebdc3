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
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable

import torch
from tqdm import tqdm

from robustbench_dm import __version__
from robustbench_dm.errors import UserError
from robustbench_dm.methods import create_method
from robustbench_dm.models import create_model, resolve_normalization, save_checkpoint
from robustbench_dm.training.config import RESUME_FIELDS, TrainConfig
from robustbench_dm.training.data import Split, epoch_order, load_splits
from robustbench_dm.training.run_files import read_log, write_atomic, write_log
from robustbench_dm.training.schedule import cosine_schedule

CHECKPOINT_NAME = "last.pt"


def _autocast(amp: bool) -> Callable[[], contextlib.AbstractContextManager]:
    """A factory of bfloat16 CUDA autocast contexts (``amp``) or of null contexts."""
    if not amp:
        return contextlib.nullcontext
    return functools.partial(torch.autocast, "cuda", dtype=torch.bfloat16)


def _read_checkpoint(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(f"--resume: no checkpoint {path}; expected a previous run's "
                        f"{CHECKPOINT_NAME} in --out")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise UserError(f"--resume: {path} is not a readable checkpoint ({err})") from None


def _check_resumable(checkpoint: dict[str, Any], config: TrainConfig, path: Path) -> None:
    if checkpoint.get("arch") != config.arch:
        raise UserError(f"--resume: {path} is a checkpoint of arch {checkpoint.get('arch')!r}, "
                        f"but --arch {config.arch!r} was given")
    saved = checkpoint.get("config") or {}
    ours = config.to_dict()
    differing = [f"{k}: {saved.get(k)!r} in the checkpoint, {ours[k]!r} now"
                 for k in RESUME_FIELDS if saved.get(k) != ours[k]]
    if differing:
        raise UserError(f"--resume: {path} was trained with other settings ("
                        + "; ".join(differing) + "); resume with the same settings")


def evaluate(model: torch.nn.Module, split: Split, batch_size: int,
             autocast=contextlib.nullcontext) -> float:
    """Top-1 accuracy of ``model`` on ``split`` (eval mode, no gradients)."""
    was_training = model.training
    model.eval()
    correct = torch.zeros((), dtype=torch.int64)
    total = 0
    with torch.no_grad():
        for images, labels in split.batches(batch_size):
            with autocast():
                logits = model(images)
            correct = correct.to(labels.device) + (logits.argmax(1) == labels).sum()
            total += labels.numel()
    model.train(was_training)
    return float(correct.item()) / max(total, 1)


def _rng_state(generator: torch.Generator) -> dict[str, Any]:
    state = {"method": generator.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _restore_rng(state: dict[str, Any], generator: torch.Generator) -> None:
    generator.set_state(state["method"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def train_step(model: torch.nn.Module, method, optimizer: torch.optim.Optimizer,
               scheduler, images: torch.Tensor, labels: torch.Tensor,
               generator: torch.Generator, autocast=contextlib.nullcontext):
    """One optimisation step: the method's loss (under ``autocast``), backward, SGD step,
    schedule step. Returns the method's ``LossOutput``."""
    with autocast():
        result = method.loss(model, images, labels, generator)
    optimizer.zero_grad(set_to_none=True)
    result.loss.backward()
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


def train(config: TrainConfig, *, resume: bool = False, method=None,
          on_epoch: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Train as ``config`` says; returns the last ``log.csv`` row plus ``checkpoint`` (path).
    ``on_epoch(row)`` is called after each epoch's checkpoint is written.

    ``method`` (a ``robustbench_dm.methods.Method``) defaults to
    ``create_method(config.method, scale=config.scale, **config.method_options)``; its
    resolved ``options()`` are stored in the config and the checkpoint.
    """
    if method is None:
        method = create_method(config.method, scale=config.scale, **config.method_options)
    config = dataclasses.replace(config, method_options=dict(method.options()))
    out = Path(config.out)
    ckpt_path = out / CHECKPOINT_NAME
    checkpoint = None
    if resume:
        checkpoint = _read_checkpoint(ckpt_path)
        _check_resumable(checkpoint, config, ckpt_path)
    elif ckpt_path.exists():
        raise UserError(f"{out} already holds a run ({ckpt_path}); pass --resume to continue "
                        "it or choose another --out")
    train_split, test_split = load_splits(config)
    if len(train_split) == 0:
        raise UserError(f"no training images in {config.data_root}")

    device = torch.device(config.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    steps_per_epoch = math.ceil(len(train_split) / config.batch_size)
    model, optimizer, scheduler = build_training(config, steps_per_epoch)
    generator = torch.Generator(device=device).manual_seed(config.seed)
    start_epoch = 0
    if checkpoint is not None:
        model.net.load_state_dict(checkpoint["state_dict"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        _restore_rng(checkpoint["metadata"]["rng"], generator)
        start_epoch = int(checkpoint["epoch"])

    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "config.json", config.to_json() + "\n")
    log_rows = read_log(out / "log.csv", start_epoch)
    autocast = _autocast(config.amp)
    row: dict[str, Any] = log_rows[-1] if log_rows else {}
    for epoch in range(start_epoch, config.epochs):
        started = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        model.train()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), dtype=torch.int64, device=device)
        seen = 0
        order = epoch_order(len(train_split), config.seed, epoch)
        batches = train_split.batches(config.batch_size, order,
                                      seed=config.seed * 1_000_003 + epoch)
        bar = tqdm(batches, total=steps_per_epoch, desc=f"epoch {epoch + 1}/{config.epochs}",
                   disable=not sys.stderr.isatty(), leave=False, unit="batch")
        for images, labels in bar:
            result = train_step(model, method, optimizer, scheduler, images, labels,
                                generator, autocast)
            targets = result.targets.argmax(1) if result.targets.ndim == 2 else result.targets
            loss_sum += result.loss.detach().float() * labels.numel()
            correct += (result.logits.detach().argmax(1) == targets).sum()
            seen += labels.numel()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        trained = time.perf_counter() - started
        test_acc = evaluate(model, test_split, config.eval_batch_size, autocast)
        row = {"epoch": epoch + 1, "lr": lr, "loss": loss_sum.item() / seen,
               "train_acc": correct.item() / seen, "test_acc": test_acc,
               "seconds": time.perf_counter() - started, "images_per_s": seen / trained}
        log_rows.append(row)
        write_log(out / "log.csv", log_rows)
        save_checkpoint(
            ckpt_path, arch=config.arch, num_classes=config.num_classes,
            normalization=model.normalization, state_dict=model.net.state_dict(),
            method=config.method, method_options=config.method_options,
            dataset=config.dataset, epoch=epoch + 1, optimizer=optimizer.state_dict(),
            scheduler=scheduler.state_dict(), config=config.to_dict(),
            metadata={"rng": _rng_state(generator), "toolkit_version": __version__,
                      "torch_version": str(torch.__version__), "python": platform.python_version(),
                      "train_images": len(train_split), "steps_per_epoch": steps_per_epoch})
        if on_epoch is not None:
            on_epoch(row)
    return {**row, "checkpoint": str(ckpt_path)}
