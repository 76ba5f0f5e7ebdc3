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
from typing import Any, Iterable, Iterator, Mapping

import numpy as np
import torch
from torch import nn

from robustbench_dm.devices import resolve_device
from robustbench_dm.distributed import (DistContext, barrier, broadcast, gather_arrays,
                                        process_group, split_range)
from robustbench_dm.errors import UserError
from robustbench_dm.progress import Progress
from robustbench_dm.scoring.cell_reader import can_gpu_decode, read_share
from robustbench_dm.scoring.fast_path import DEFAULT_SETTINGS, FastPath, resolve_fast_path
from robustbench_dm.scoring.results import (
    SCHEMA,
    Results,
    append_cell,
    remove_stale_temp_files,
)
from robustbench_dm.scoring.shards import parse_shard, shard_attr, shard_cells
from robustbench_dm.scoring.summary import write_summary

RESULTS_NAME = "results.h5"
SUMMARY_NAME = "summary.json"
MAX_LOGITS_CLASSES = 100
TOP_K = 5
_CHECKPOINT_FIELDS = ("path", "sha256", "format", "arch", "num_classes", "normalization",
                      "method", "method_options", "dataset", "epoch")
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


def _check_compatible(existing: Results, attrs: Mapping[str, Any]) -> None:
    """Refuse to resume into a results file of another checkpoint, suite or subset."""
    path = existing.path
    hint = "choose another --out folder or delete it"
    for key in ("kind", "suite", "num_classes"):
        if existing.attrs.get(key) != attrs[key]:
            raise UserError(f"{path} holds results for {key} {existing.attrs.get(key)!r}, "
                            f"not {attrs[key]!r}: {hint}")
    old_sha = (existing.attrs.get("checkpoint") or {}).get("sha256")
    new_sha = attrs["checkpoint"].get("sha256")
    if old_sha != new_sha:
        raise UserError(f"{path} holds results of a different checkpoint (sha256 "
                        f"{str(old_sha)[:12]}..., this one {str(new_sha)[:12]}...): {hint}")
    old_settings = existing.attrs.get("settings", DEFAULT_SETTINGS)
    if old_settings != attrs["settings"]:
        raise UserError(f"{path} holds results scored with settings {old_settings}, but this run "
                        f"has {attrs['settings']} (--bf16/--channels-last/--gpu-decode): pass "
                        f"the same flags or {hint}")
    if existing.attrs.get("shard") != attrs.get("shard"):
        raise UserError(f"{path} holds {_describe_shard(existing.attrs.get('shard'))}, but this "
                        f"run scores {_describe_shard(attrs.get('shard'))}: {hint}")
    old_meta = {k: v for k, v in (existing.attrs.get("metadata") or {}).items() if k != "data_root"}
    new_meta = {k: v for k, v in attrs["metadata"].items() if k != "data_root"}
    for key in sorted(set(old_meta) | set(new_meta)):
        if old_meta.get(key) != new_meta.get(key):
            raise UserError(f"{path} holds results with {key} {old_meta.get(key)!r}, but this "
                            f"run has {key} {new_meta.get(key)!r}: {hint}")


def _describe_shard(shard: Mapping[str, Any] | None) -> str:
    return "the whole suite" if shard is None else f"shard {shard['index']}/{shard['count']}"


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

    def __init__(self, model: nn.Module, num_classes: int, fast: FastPath, batch_size: int):
        self.model = model
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
            raise UserError(f"the model produced NaN or infinite logits in cell {cell}")
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
    lo, hi = split_range(suite.cell_size(name, level), ctx.rank, ctx.world_size)
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
    out_dir: str | Path,
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
    """
    if batch_size < 1:
        raise UserError(f"batch size must be a positive integer, got {batch_size}")
    if workers < 0:
        raise UserError(f"workers must be >= 0, got {workers}")
    shard = parse_shard(shard)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UserError(f"output folder {out} exists and is not a folder")
    path = out / RESULTS_NAME
    info = dict(checkpoint_info or {})
    model_classes = info.get("num_classes")
    if model_classes is not None and int(model_classes) != suite.num_classes:
        raise UserError(f"checkpoint {info.get('path', '')} has {model_classes} classes but suite "
                        f"{suite.name!r} has {suite.num_classes}: class counts must agree")
    if baseline is not None and not isinstance(baseline, Results):
        baseline = Results.load(baseline)
    if baseline is not None and baseline.kind != suite.kind:
        raise UserError(f"baseline {baseline.path} holds -{baseline.kind.upper()} results but "
                        f"suite {suite.name!r} is a -{suite.kind.upper()} suite")
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
    }
    if shard is not None:
        attrs["shard"] = shard_attr(cells, *shard)
        cells = shard_cells(cells, *shard)
    with process_group(dev) as (ctx, rank_dev):
        fast = dataclasses.replace(fast, device=rank_dev)
        todo = broadcast(_todo(path, attrs, cells) if ctx.main else None, ctx)
        if todo:
            _score_cells(model, suite, todo, path, attrs, fast, batch_size, workers,
                         progress, ctx)
        barrier(ctx)
    if not path.exists():
        raise UserError(f"suite {suite.name!r} has no cells to score")
    results = Results.load(path)
    if shard is None and ctx.main:
        write_summary(out / SUMMARY_NAME, results.summary(baseline))
    return results


def _todo(path: Path, attrs: Mapping[str, Any], cells: list[tuple[str, int]]) -> list:
    """The cells still to score: those a compatible earlier run did not finish."""
    done: set[tuple[str, int]] = set()
    if path.exists():
        existing = Results.load(path)
        _check_compatible(existing, attrs)
        done = set(existing.cells())
    return [cell for cell in cells if cell not in done]


def _score_cells(model: nn.Module, suite, todo: list[tuple[str, int]], path: Path,
                 attrs: Mapping[str, Any], fast: FastPath, batch_size: int, workers: int,
                 progress: bool | None, ctx: DistContext) -> None:
    if ctx.main and path.parent.exists():
        remove_stale_temp_files(path)
    if fast.device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    scorer = _CellScorer(fast.prepare(model), int(suite.num_classes), fast, batch_size)
    show = ctx.main and progress is not False
    shares = [split_range(suite.cell_size(name, level), ctx.rank, ctx.world_size)
              for name, level in todo]
    total = sum(hi - lo for lo, hi in shares)
    with Progress(total, f"score {suite.name}", show=show) as bar:
        for name, level in todo:
            bar.cell(f"{name}/{level}")
            arrays = _score_cell(scorer, suite, name, level, batch_size, workers, bar, ctx)
            if ctx.main:
                path.parent.mkdir(parents=True, exist_ok=True)
                append_cell(path, attrs, name, level, arrays)
            bar.cell_done()
