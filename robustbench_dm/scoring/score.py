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
import json
import platform
import queue
import threading
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

import numpy as np
import torch
from torch import nn

from robustbench_dm.atomic import remove_stale_temps
from robustbench_dm.devices import resolve_device
from robustbench_dm.distributed import DistContext, barrier, broadcast, gather_arrays, process_group
from robustbench_dm.errors import Note, UserError
from robustbench_dm.outdir import check_writable, lock_folder
from robustbench_dm.progress import Progress
from robustbench_dm.scoring.baseline import check_baseline_suite
from robustbench_dm.scoring.cell_reader import can_gpu_decode, read_share
from robustbench_dm.scoring.fast_path import FastPath, resolve_fast_path
from robustbench_dm.scoring.memory import MemoryResults
from robustbench_dm.scoring.results import (
    SCHEMA,
    Results,
    append_cell,
    drop_cells,
)
from robustbench_dm.scoring.resume import plan
from robustbench_dm.scoring.shards import parse_shard, shard_attr, shard_cells
from robustbench_dm.scoring.summary import write_summary
from robustbench_dm.suites.families import check_checkpoint

RESULTS_NAME = "results.h5"
SUMMARY_NAME = "summary.json"
MAX_LOGITS_CLASSES = 100
TOP_K = 5
_CHECKPOINT_FIELDS = ("path", "sha256", "format", "arch", "num_classes", "normalization",
                      "method", "method_options", "dataset", "epoch", "seed", "recipe")
MIN_P_CLASSES = 5  # top-5 distance ranks the 5 best classes of every frame
CLEAN_HINT = Note("hint: no clean cell was scored, so there is no clean error; score again into "
                  "the same out_dir with clean_root=DIR (the clean test set) to add it",
                  params=("out_dir", "clean_root"))
_VERSIONED = ("robustbench_dm", "torch", "torchvision", "numpy", "h5py")


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages that shape a result."""
    versions = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "unknown"
    return versions


def _json_roundtrip(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _prefetch(batches: Iterable, depth: int, stage=None) -> Iterator:
    """Iterate ``batches`` in a background thread, ``depth`` batches ahead (0: inline), applying
    ``stage`` (e.g. pinning memory) to each item in that thread."""
    if stage is not None:
        batches = map(stage, batches)
    if depth <= 0:
        yield from batches
        return
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for item in batches:
                while not stop.is_set():
                    try:
                        items.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(("end", done))
        except BaseException as err:  # handed to the consumer, re-raised there
            items.put(("error", err))

    worker = threading.Thread(target=produce, daemon=True)
    worker.start()
    try:
        while True:
            tag, item = items.get()
            if tag == "end":
                return
            if tag == "error":
                raise item
            yield item
    finally:
        stop.set()


class _CellScorer:
    """Turns batches of one cell into the stored arrays. Outputs stay on ``device`` until
    :meth:`finish` (one synchronisation per cell), which checks them and moves them to the CPU."""

    def __init__(self, model: nn.Module, num_classes: int, fast: FastPath, batch_size: int,
                 source: str = "the model"):
        self.model = model
        self.source = source  # what produced the logits, for errors ("checkpoint X")
        self.num_classes = num_classes
        self.fast = fast
        self.batch_size = batch_size
        self.k = min(TOP_K, num_classes)
        self.keep_logits = num_classes <= MAX_LOGITS_CLASSES
        self.finite = torch.ones((), dtype=torch.bool, device=fast.device)

    def forward(self, images: torch.Tensor, cell: str) -> torch.Tensor:
        """Logits (float32) of a uint8 NCHW batch fed as float [0, 1], checked for shape."""
        x = self.fast.to_input(images)
        with self.fast.autocast():
            logits = self.model(x)
        if not isinstance(logits, torch.Tensor) or logits.ndim != 2 or \
                logits.shape[0] != images.shape[0]:
            shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits)
            raise UserError(f"model output for cell {cell} has shape {shape}; expected "
                            f"({images.shape[0]}, {self.num_classes}) logits")
        if logits.shape[1] != self.num_classes:
            raise UserError(f"the model outputs {logits.shape[1]} classes but the suite has "
                            f"{self.num_classes}: class counts of model and suite must agree")
        logits = logits.float()
        self.finite &= torch.isfinite(logits).all()
        return logits

    def summarize(self, logits: torch.Tensor) -> dict[str, torch.Tensor]:
        prob, top = torch.softmax(logits, dim=-1).topk(self.k, dim=-1)
        out = {"topk": top.to(torch.int32), "topk_prob": prob}
        if self.keep_logits:
            out["logits"] = logits
        return out

    def images(self, images: torch.Tensor, cell: str) -> dict[str, torch.Tensor]:
        return self.summarize(self.forward(images, cell))

    def videos(self, videos: torch.Tensor, cell: str) -> dict[str, torch.Tensor]:
        n, t = videos.shape[:2]
        frames = videos.reshape(n * t, *videos.shape[2:])
        logits = torch.cat([self.forward(frames[i:i + self.batch_size], cell)
                            for i in range(0, n * t, self.batch_size)])
        return {k: v.reshape(n, t, *v.shape[1:])
                for k, v in self.summarize(logits).items()}

    def finish(self, parts: dict[str, list[torch.Tensor]], cell: str) -> dict[str, np.ndarray]:
        """Concatenate a cell's outputs on the CPU; NaN or infinite logits are an error."""
        if not bool(self.finite):
            raise UserError(f"{self.source} produced NaN or infinite logits in cell {cell}")
        return {key: torch.cat(values).cpu().numpy() for key, values in parts.items()}


def _score_share(scorer: _CellScorer, batches: Iterable, cell: str, video: bool,
                 workers: int, bar: Progress) -> dict[str, np.ndarray]:
    """The arrays of the items ``batches`` yields (an empty dict when there are none)."""
    parts: dict[str, list[torch.Tensor]] = {}
    scorer.finite.fill_(True)
    with torch.inference_mode():
        for data, labels, index in _prefetch(batches, workers, scorer.fast.stage()):
            arrays = scorer.videos(data, cell) if video else scorer.images(data, cell)
            arrays.update(labels=labels.to(torch.int64), index=index.to(torch.int64))
            for key, value in arrays.items():
                parts.setdefault(key, []).append(value)
            bar.update(int(labels.shape[0]))
        return scorer.finish(parts, cell)


def _score_cell(scorer: _CellScorer, suite, name: str, level: int, batch_size: int,
                workers: int, bar: Progress, ctx: DistContext) -> dict[str, np.ndarray] | None:
    """Score this rank's share of a cell; rank 0 gets the whole cell's arrays (others None)."""
    cell = f"{name}/{level}"
    video = suite.kind == "p"
    # batch_size counts frames: a -P batch holds batch_size // 32 videos (31-41 frames each)
    loader_batch = max(1, batch_size // 32) if video else batch_size
    lo, hi = suite.share_bounds(name, level, ctx.rank, ctx.world_size)
    gpu = scorer.fast.device if scorer.fast.gpu_decode else None
    batches = read_share(suite, name, level, loader_batch, lo, hi, gpu_decode=gpu)
    arrays = gather_arrays(_score_share(scorer, batches, cell, video, workers, bar), ctx)
    if arrays is not None and not arrays:
        raise UserError(f"suite {suite.name!r} yielded no images for cell {cell}")
    return arrays


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
        raise UserError(f"checkpoint {info.get('path', '')} has {model_classes} classes but suite "
                        f"{suite.name!r} has {suite.num_classes}: class counts must agree")
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
    attrs = {
        "schema": SCHEMA,
        "kind": suite.kind,
        "suite": suite.name,
        "num_classes": int(suite.num_classes),
        "metadata": _json_roundtrip(suite.metadata()),
        "checkpoint": _json_roundtrip({k: info.get(k) for k in _CHECKPOINT_FIELDS}),
        "versions": package_versions(),
        "seed": int(seed),
        "settings": fast.settings(),
        "compatibility": compatibility.to_attr(),
    }
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
            _score_cells(model, suite, todo, memory.add, lambda: "nothing was saved (in-memory "
                         "scoring)", fast, batch_size, workers, progress, ctx, source)
        if not memory.cells():
            raise UserError(f"suite {suite.name!r} has no cells to score")
        results = memory
    else:
        with lock_folder(out):
            # the process group ends on every rank right after the barrier, so no rank can
            # meet a store that another rank has not torn down yet
            with process_group(dev) as (ctx, rank_dev):
                if ctx.main:
                    remove_stale_temps(out)  # e.g. .summary.json.*.tmp of a killed run
                fast = dataclasses.replace(fast, device=rank_dev)
                todo, total = broadcast(_plan(path, attrs, cells, suite, say) if ctx.main
                                        else None, ctx)
                if todo:
                    def store(name, level, arrays, *, fingerprint=None, attrs=attrs):
                        append_cell(path, attrs, name, level, arrays, fingerprint=fingerprint)
                    _score_cells(model, suite, todo, store, lambda: _kept(path, total), fast,
                                 batch_size, workers, progress, ctx, source)
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
    return ([(name, level, fingerprints.get((name, level)), todo.attrs)
             for name, level in todo.todo], len(set(cells) | set(todo.held)))


def _score_cells(model: nn.Module, suite, todo: list, store: Callable[..., None],
                 kept: Callable[[], str], fast: FastPath, batch_size: int, workers: int,
                 progress: bool | None, ctx: DistContext, source: str) -> None:
    """Score the ``todo`` cells, handing each finished cell to ``store(name, level, arrays,
    fingerprint=..., attrs=...)`` on rank 0; ``kept()`` says what an error leaves saved."""
    if fast.device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    scorer = _CellScorer(fast.prepare(model), int(suite.num_classes), fast, batch_size, source)
    show = ctx.main and progress is not False
    shares = [suite.share_bounds(name, level, ctx.rank, ctx.world_size) for name, level, _, _ in todo]
    total = sum(hi - lo for lo, hi in shares)
    with Progress(total, f"score {suite.name}", unit="video" if suite.kind == "p" else "img",
                  show=show) as bar:
        for name, level, fingerprint, attrs in todo:
            bar.cell(f"{name}/{level}")
            try:
                arrays = _score_cell(scorer, suite, name, level, batch_size, workers, bar, ctx)
            except UserError as err:
                where = "" if f"cell {name}/{level}" in str(err) else f" (in cell {name}/{level})"
                raise UserError(f"{err}{where}; {kept()}; re-running the same command resumes "
                                "from this cell once it is fixed", params=err.params) from None
            if ctx.main:
                store(name, level, arrays, fingerprint=fingerprint, attrs=attrs)
            bar.cell_done()


def _kept(path: Path, total: int) -> str:
    """``"3 of 76 cells saved in OUT/results.h5"``."""
    count = len(Results.load(path, allow_damaged=True).cells()) if path.exists() else 0
    return f"{count} of {total} cells saved in {path}"
