"""Run a model over a suite, cell by cell, into a resumable results file plus summary.json.

Scaling out (docs/scale-out.md): under ``torchrun`` every cell is split into one contiguous
share per rank (no padding, no repeats), the per-image records are gathered on rank 0 in rank
order and rank 0 alone writes the one results file, which therefore holds exactly what one
process would write. ``shard="I/N"`` scores the I-th of N even runs of cells into a partial
results file for ``robust-eval merge``. On CUDA the fast path (:mod:`.fast_path`) is on by
default; the outputs stay on the device until a cell ends (one synchronisation per cell).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import nn

from robustbench_dm.atomic import remove_stale_temps
from robustbench_dm.devices import resolve_device
from robustbench_dm.distributed import barrier, broadcast, process_group
from robustbench_dm.errors import Note, UserError
from robustbench_dm.outdir import check_writable, lock_folder
from robustbench_dm.scoring.baseline import check_baseline_suite
from robustbench_dm.scoring.cell_reader import can_gpu_decode
from robustbench_dm.scoring.cell_scoring import score_cells, suite_classes
from robustbench_dm.scoring.fast_path import resolve_fast_path
from robustbench_dm.scoring.memory import MemoryResults
from robustbench_dm.scoring.results import Results
from robustbench_dm.scoring.results_writer import append_cell, drop_cells, set_attrs
from robustbench_dm.scoring.resume import plan
from robustbench_dm.scoring.run_record import run_attrs
from robustbench_dm.scoring.shards import parse_shard, shard_attr, shard_cells
from robustbench_dm.scoring.summary import write_summary
from robustbench_dm.suites.families import check_checkpoint

RESULTS_NAME = "results.h5"
SUMMARY_NAME = "summary.json"
MIN_P_CLASSES = 5  # top-5 distance ranks the 5 best classes of every frame
CLEAN_HINT = Note("hint: no clean cell was scored, so there is no clean error; score again into "
                  "the same out_dir with clean_root=DIR (the clean test set) to add it",
                  params=("out_dir", "clean_root"))


def score(
    model: nn.Module,
    suite,
    *,
    out_dir: str | Path | None,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
    checkpoint_info: Mapping[str, Any] | None = None,
    progress: bool | None = None,
    baseline: "Results | str | Path | None" = None,
    seed: int = 0,
    workers: int = 1,
    shard: str | tuple[int, int] | None = None,
    bf16: bool | None = None,
    channels_last: bool | None = None,
    gpu_decode: bool | None = None,
    allow_mismatch: bool = False,
    log: Callable[[str], None] | None = None,
) -> Results:
    """Score ``model`` (float [0, 1] NCHW in, logits out) on every cell of ``suite``.

    Writes ``out_dir/results.h5`` cell by cell and atomically, skipping cells a previous run
    of the same checkpoint, suite, subset and settings finished (resume), then
    ``out_dir/summary.json`` (normalised by the ``baseline`` results file if given).
    ``workers`` is the number of batches read ahead in a background thread (0: none).
    ``progress=None`` reports progress on stderr (:class:`robustbench_dm.progress.Progress`:
    a bar on a terminal, else a line every 30 s and per cell); ``False`` reports nothing.

    ``shard="I/N"`` scores only shard I of N of the cells into a partial results file (no
    summary.json; combine the parts with :func:`robustbench_dm.scoring.merge`). ``bf16``,
    ``channels_last`` and ``gpu_decode`` are the GPU fast path (``None``: on with CUDA).
    Under torchrun every rank calls this; rank 0 writes. Returns the :class:`Results`.

    Before any image is scored, the checkpoint's recorded dataset, class count, input size and
    normalisation are compared with the suite's dataset family
    (:func:`robustbench_dm.suites.families.check_checkpoint`): a mismatch is a ``UserError``
    unless ``allow_mismatch``; the outcome is recorded as the ``compatibility`` attribute.
    ``out_dir`` is locked for the run (a second run into it is refused). An existing results
    file gains the cells this run adds; damaged cells are re-scored (:mod:`.resume`).
    Warnings and hints go to ``log`` as they arise and to the returned results' ``notes``.
    """
    if batch_size < 1:
        raise UserError(f"batch size must be a positive integer, got {batch_size}")
    if workers < 0:
        raise UserError(f"workers must be >= 0, got {workers}", params=("workers",))
    shard = parse_shard(shard)
    in_memory = out_dir is None
    if in_memory and shard is not None:
        raise UserError(f"shard={shard[0]}/{shard[1]} writes a partial results file: give out_dir",
                        params=("shard", "out_dir"))
    out = None if in_memory else check_writable(out_dir, what="out_dir")
    path = None if in_memory else out / RESULTS_NAME
    info = dict(checkpoint_info or {})
    model_classes = info.get("num_classes")
    if model_classes is not None and int(model_classes) != suite.num_classes:
        classes, params = suite_classes(suite)
        raise UserError(f"checkpoint {info.get('path', '')} has {model_classes} classes but suite "
                        f"{suite.name!r} has {classes}: class counts must agree", params=params)
    if suite.kind == "p" and int(suite.num_classes) < MIN_P_CLASSES:
        raise UserError(f"suite {suite.name!r} has {suite.num_classes} classes; perturbation "
                        f"suites need at least {MIN_P_CLASSES} (top-5 distance)")
    compatibility = check_checkpoint(suite.name, info, allow_mismatch=allow_mismatch)
    if baseline is not None and not isinstance(baseline, Results):
        baseline = Results.load(baseline)
    if baseline is not None:
        check_baseline_suite(baseline.path, baseline.suite, [suite.name])
    dev = resolve_device(device)
    fast = resolve_fast_path(dev, bf16=bf16, channels_last=channels_last, gpu_decode=gpu_decode,
                             can_gpu_decode=dev.type == "cuda" and can_gpu_decode(suite))
    cells = [(name, int(level)) for name, level in suite.cells()]
    attrs = run_attrs(suite, info, seed, fast, compatibility)
    if shard is not None:
        attrs["shard"] = shard_attr(cells, *shard)
        cells = shard_cells(cells, *shard)
    notes: list[str] = []
    say = _notifier(notes, log)
    for message in compatibility.messages:
        say(f"warning: {message}")
    source = f"checkpoint {info['path']}" if info.get("path") else "the model"
    if in_memory:
        memory = MemoryResults(attrs)
        with process_group(dev) as (ctx, rank_dev):
            fast = dataclasses.replace(fast, device=rank_dev)
            todo = [(name, level, fingerprint, attrs)
                    for (name, level), fingerprint in _fingerprints(suite, cells).items()]
            score_cells(model, suite, todo, memory.add, lambda: "nothing was saved (in-memory "
                        "scoring)", fast, batch_size, workers, progress, ctx, source)
        if not memory.cells():
            raise UserError(f"suite {suite.name!r} has no cells to score")
        results = memory
    else:
        with lock_folder(out):
            with process_group(dev) as (ctx, rank_dev):
                if ctx.main:
                    remove_stale_temps(out)  # e.g. .summary.json.*.tmp of a killed run
                fast = dataclasses.replace(fast, device=rank_dev)
                todo, total = broadcast(_plan(path, attrs, cells, suite, say) if ctx.main
                                        else None, ctx)
                if todo:
                    def store(name, level, arrays, *, fingerprint=None, attrs=attrs):
                        append_cell(path, attrs, name, level, arrays, fingerprint=fingerprint)
                    try:
                        score_cells(model, suite, todo, store, lambda: _kept(path, total), fast,
                                    batch_size, workers, progress, ctx, source)
                    except KeyboardInterrupt:
                        if ctx.main:
                            say(f"interrupted: {_kept(path, total)}; re-running the same command resumes")
                        raise
                barrier(ctx)
            if not path.exists():
                raise UserError(f"suite {suite.name!r} has no cells to score")
            results = Results.load(path)
            if shard is None and ctx.main:
                write_summary(out / SUMMARY_NAME, results.summary(baseline))
    if shard is None and suite.kind == "c" and ("clean", 0) not in results.cells():
        say(CLEAN_HINT)
    results.notes = notes
    return results


def _notifier(notes: list[str], log: Callable[[str], None] | None) -> Callable[[str], None]:
    def say(note: str) -> None:
        notes.append(note)
        if log is not None:
            log(note)
    return say


def _fingerprints(suite, cells: list[tuple[str, int]]) -> dict[tuple[str, int], str | None]:
    """``Suite.cell_fingerprint`` of every cell (None where the suite cannot say)."""
    fingerprint = getattr(suite, "cell_fingerprint", None)
    return {cell: fingerprint(*cell) if fingerprint is not None else None for cell in cells}


def _plan(path: Path, attrs: Mapping[str, Any], cells: list[tuple[str, int]], suite,
          say: Callable[[str], None]) -> tuple[list, int]:
    """Check an existing results file against this run and drop its damaged cells. Returns
    the cells to score as ``(name, level, fingerprint, attrs)`` and the number of cells the
    file will hold when they are done."""
    fingerprints = _fingerprints(suite, cells)
    todo = plan(path, attrs, cells, fingerprints)
    for note in todo.notes:
        say(note)
    if todo.damaged:  # the folder's stale temp files went when the run took its lock
        drop_cells(Results.load(path, allow_damaged=True))
    if not todo.todo and todo.completes(Results.load(path)):  # no last cell to record it with
        set_attrs(path, todo.attrs)
    return ([(name, level, fingerprints.get((name, level)), todo.cell_attrs(i))
             for i, (name, level) in enumerate(todo.todo)], len(set(cells) | set(todo.held)))


def _kept(path: Path, total: int) -> str:
    """``"3 of 76 cells saved in OUT/results.h5"``."""
    count = len(Results.load(path, allow_damaged=True).cells()) if path.exists() else 0
    return f"{count} of {total} cells saved in {path}"
