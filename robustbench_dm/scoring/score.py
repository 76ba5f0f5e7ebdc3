"""Run a model over a suite, cell by cell, into a resumable results file plus summary.json."""

from __future__ import annotations

import json
import platform
import queue
import sys
import threading
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from robustbench_dm.errors import UserError
from robustbench_dm.scoring.results import (
    SCHEMA,
    Results,
    append_cell,
    remove_stale_temp_files,
)
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
    old_meta = {k: v for k, v in (existing.attrs.get("metadata") or {}).items() if k != "data_root"}
    new_meta = {k: v for k, v in attrs["metadata"].items() if k != "data_root"}
    for key in sorted(set(old_meta) | set(new_meta)):
        if old_meta.get(key) != new_meta.get(key):
            raise UserError(f"{path} holds results with {key} {old_meta.get(key)!r}, but this "
                            f"run has {key} {new_meta.get(key)!r}: {hint}")


def _prefetch(batches: Iterable, depth: int) -> Iterator:
    """Iterate ``batches`` in a background thread, ``depth`` batches ahead (0: inline)."""
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
    """Turns batches of one cell into the stored arrays (on ``device``, results on the CPU)."""

    def __init__(self, model: nn.Module, num_classes: int, device: torch.device,
                 batch_size: int):
        self.model = model
        self.num_classes = num_classes
        self.device = device
        self.batch_size = batch_size
        self.k = min(TOP_K, num_classes)
        self.keep_logits = num_classes <= MAX_LOGITS_CLASSES

    def forward(self, images: torch.Tensor, cell: str) -> torch.Tensor:
        """Logits (float32) of a uint8 NCHW batch fed as float [0, 1], checked for shape and NaN."""
        x = images.to(self.device, non_blocking=True).float().div_(255.0)
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
        if not torch.isfinite(logits).all():
            raise UserError(f"the model produced NaN or infinite logits in cell {cell}")
        return logits

    def summarize(self, logits: torch.Tensor) -> dict[str, torch.Tensor]:
        prob, top = torch.softmax(logits, dim=-1).topk(self.k, dim=-1)
        out = {"topk": top.to(torch.int32).cpu(), "topk_prob": prob.cpu()}
        if self.keep_logits:
            out["logits"] = logits.cpu()
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


def _score_cell(scorer: _CellScorer, suite, name: str, level: int, batch_size: int,
                workers: int, bar: tqdm) -> dict[str, np.ndarray]:
    cell = f"{name}/{level}"
    parts: dict[str, list[torch.Tensor]] = {}
    video = suite.kind == "p"
    # batch_size counts frames: a -P batch holds batch_size // 32 videos (31-41 frames each)
    loader_batch = max(1, batch_size // 32) if video else batch_size
    with torch.inference_mode():
        for data, labels, index in _prefetch(suite.iter_cell(name, level, loader_batch), workers):
            arrays = scorer.videos(data, cell) if video else scorer.images(data, cell)
            arrays.update(labels=labels.to(torch.int64).cpu(), index=index.to(torch.int64).cpu())
            for key, value in arrays.items():
                parts.setdefault(key, []).append(value)
            bar.update(int(labels.shape[0]))
    if not parts:
        raise UserError(f"suite {suite.name!r} yielded no images for cell {cell}")
    return {key: torch.cat(values).numpy() for key, values in parts.items()}


def _resolve_device(device: str | torch.device) -> torch.device:
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise UserError(f"unknown device {device!r}; expected cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device {device!r} requested but CUDA is not available here; use cpu")
    return dev


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
) -> Results:
    """Score ``model`` (float [0, 1] NCHW in, logits out) on every cell of ``suite``.

    Writes ``out_dir/results.h5`` cell by cell and atomically, skipping cells a previous run
    of the same checkpoint, suite and subset finished (resume), then ``out_dir/summary.json``
    (normalised by the ``baseline`` results file if given). ``workers`` is the number of
    batches read ahead in a background thread (0: none). ``progress=None`` shows a progress
    bar only when stderr is a terminal. Returns the finished :class:`Results`.
    """
    if batch_size < 1:
        raise UserError(f"batch size must be a positive integer, got {batch_size}")
    if workers < 0:
        raise UserError(f"workers must be >= 0, got {workers}")
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
    attrs = {
        "schema": SCHEMA,
        "kind": suite.kind,
        "suite": suite.name,
        "num_classes": int(suite.num_classes),
        "metadata": _json_roundtrip(suite.metadata()),
        "checkpoint": _json_roundtrip({k: info.get(k) for k in _CHECKPOINT_FIELDS}),
        "versions": package_versions(),
        "seed": int(seed),
    }
    done: set[tuple[str, int]] = set()
    if path.exists():
        existing = Results.load(path)
        _check_compatible(existing, attrs)
        done = set(existing.cells())
    dev = _resolve_device(device)

    todo = [(name, int(level)) for name, level in suite.cells() if (name, int(level)) not in done]
    if todo:
        if out.exists():
            remove_stale_temp_files(path)
        model = model.to(dev).eval()
        scorer = _CellScorer(model, int(suite.num_classes), dev, batch_size)
        show = sys.stderr.isatty() if progress is None else progress
        total = sum(suite.cell_size(name, level) for name, level in todo)
        with tqdm(total=total, disable=not show, unit="img", desc=suite.name) as bar:
            for name, level in todo:
                bar.set_postfix_str(f"{name}/{level}")
                arrays = _score_cell(scorer, suite, name, level, batch_size, workers, bar)
                out.mkdir(parents=True, exist_ok=True)
                append_cell(path, attrs, name, level, arrays)
    if not path.exists():
        raise UserError(f"suite {suite.name!r} has no cells to score")
    results = Results.load(path)
    write_summary(out / SUMMARY_NAME, results.summary(baseline))
    return results
