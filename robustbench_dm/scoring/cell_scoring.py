"""Scoring cells: a model's outputs per batch turned into the arrays a results file stores per
cell (top-k classes and probabilities, logits up to :data:`MAX_LOGITS_CLASSES` classes), each
rank scoring its share of a cell and rank 0 gathering the whole cell."""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import torch
from torch import nn

from robustbench_dm.distributed import DistContext, gather_arrays
from robustbench_dm.errors import UserError
from robustbench_dm.progress import Progress
from robustbench_dm.scoring.cell_reader import read_share
from robustbench_dm.scoring.fast_path import FastPath
from robustbench_dm.scoring.prefetch import prefetch

MAX_LOGITS_CLASSES = 100
TOP_K = 5


class CellScorer:
    """Turns batches of one cell into the stored arrays. Outputs stay on ``device`` until
    :meth:`finish` (one synchronisation per cell), which checks them and moves them to the CPU."""

    def __init__(self, model: nn.Module, num_classes: int, fast: FastPath, batch_size: int,
                 source: str = "the model", classes: tuple[str, tuple[str, ...]] | None = None):
        self.model = model
        self.classes = classes or (str(num_classes), ())  # the suite's classes, for errors: suite_classes
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
            classes, params = self.classes
            raise UserError(f"the model outputs {logits.shape[1]} classes but the suite has "
                            f"{classes}: class counts of model and suite must agree", params=params)
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


def _score_share(scorer: CellScorer, batches: Iterable, cell: str, video: bool,
                 workers: int, bar: Progress) -> dict[str, np.ndarray]:
    """The arrays of the items ``batches`` yields (an empty dict when there are none)."""
    parts: dict[str, list[torch.Tensor]] = {}
    scorer.finite.fill_(True)
    with torch.inference_mode():
        for data, labels, index in prefetch(batches, workers, scorer.fast.stage()):
            arrays = scorer.videos(data, cell) if video else scorer.images(data, cell)
            arrays.update(labels=labels.to(torch.int64), index=index.to(torch.int64))
            for key, value in arrays.items():
                parts.setdefault(key, []).append(value)
            bar.update(int(labels.shape[0]))
        return scorer.finish(parts, cell)


def _score_cell(scorer: CellScorer, suite, name: str, level: int, batch_size: int,
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


def suite_classes(suite) -> tuple[str, tuple[str, ...]]:
    """``suite``'s class count for an error about it, with where the classes come from when the
    suite says (its ``classes_from`` note: "3 (the <wnid>/ class folders of clean_root ...)"), and
    the params that note names."""
    source = getattr(suite, "classes_from", None)
    return (f"{suite.num_classes}{f' ({source})' if source else ''}", tuple(getattr(source, "params", ())))


def score_cells(model: nn.Module, suite, todo: list, store: Callable[..., None],
                kept: Callable[[], str], fast: FastPath, batch_size: int, workers: int,
                progress: bool | None, ctx: DistContext, source: str) -> None:
    """Score the ``todo`` cells, handing each finished cell to ``store(name, level, arrays,
    fingerprint=..., attrs=...)`` on rank 0; ``kept()`` says what an error leaves saved."""
    if fast.device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    scorer = CellScorer(fast.prepare(model), int(suite.num_classes), fast, batch_size, source,
                        suite_classes(suite))
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
