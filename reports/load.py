"""Read results files into per-image scores: what a report needs from each (model, suite).

Each results file is reduced, cell by cell, to one value per test image (per video for -P
suites) keyed by the image's identity (`index`): 0/1 top-1 error and top-1 confidence for -C
cells; flip indicator mean and top-5 distance per video for -P cells. Means, CEs and bootstrap
replicates are all computed from these vectors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from corruptions import PERTURBATIONS
from reports.display import display_text
from robustbench_dm import metrics
from robustbench_dm.errors import UserError
from robustbench_dm.scoring import Results

CellKey = tuple[str, int]


@dataclass(frozen=True)
class CellScores:
    """One cell (corruption, severity) or (perturbation, difficulty) of one results file."""

    name: str
    level: int
    index: np.ndarray                 # int64 (n,): image identity
    labels: np.ndarray                # int64 (n,)
    values: dict[str, np.ndarray]     # "error" (+ "confidence") for -C; "flip", "t5d" for -P

    @property
    def n(self) -> int:
        return int(self.index.shape[0])


@dataclass
class ScoredRun:
    """Everything a report uses from one results file."""

    path: Path
    label: str
    kind: str                          # "c" | "p"
    suite: str
    num_classes: int
    metadata: dict
    checkpoint: dict
    versions: dict
    seed: object
    cells: dict[CellKey, CellScores] = field(default_factory=dict)
    compatibility: dict = field(default_factory=dict)   # {"status", "messages"}; {} = not recorded

    @property
    def shown_path(self) -> str:
        """The results file's path as given, printable (non-UTF-8 bytes escaped)."""
        return display_text(self.path)

    @property
    def images_key(self) -> str | None:
        """The suite's identity of the images scored (equal keys: same images), if recorded."""
        return self.metadata.get("images_key") or None

    @property
    def training_seed(self):
        """The checkpoint's training seed, or None when not recorded."""
        return self.checkpoint.get("seed")

    def cell_names(self) -> list[str]:
        """Corruption / perturbation names, clean excluded: the canonical ImageNet-C (or -P)
        order first, then any other name in file order."""
        names = list(dict.fromkeys(name for name, _ in self.cells if name != "clean"))
        canon = (metrics.BENCHMARK_CORRUPTIONS + metrics.EXTRA_CORRUPTIONS if self.kind == "c"
                 else PERTURBATIONS)
        known = [n for n in canon if n in names]
        return known + [n for n in names if n not in known]

    def levels(self, name: str) -> list[int]:
        return sorted(level for cell, level in self.cells if cell == name)

    def mean(self, key: CellKey, value: str = "error") -> float:
        return float(np.mean(self.cells[key].values[value]))


def load_run(path: Path | str | Results, label: str | None = None) -> ScoredRun:
    """Load one results file (or take results already open, e.g. in memory); ``label``
    defaults to a name derived from its checkpoint."""
    if isinstance(path, Results):
        results, path = path, path.path
    else:
        path = Path(path)
        if not path.is_file():
            raise UserError(f"results file {display_text(path)} does not exist (expected an "
                            "HDF5 file written by `robust-eval score`)")
        results = Results.load(path)
    attrs = results.attrs
    kind = results.kind
    if kind not in ("c", "p"):
        raise UserError(f"results file {display_text(path)}: kind {kind!r} is not 'c' or 'p'")
    run = ScoredRun(
        path=path,
        label=label or "",
        kind=kind,
        suite=str(results.suite),
        num_classes=int(attrs.get("num_classes", 0)),
        metadata=dict(_mapping(attrs.get("metadata"))),
        checkpoint=dict(_mapping(attrs.get("checkpoint"))),
        versions=dict(_mapping(attrs.get("versions"))),
        seed=attrs.get("seed"),
        compatibility=dict(_mapping(attrs.get("compatibility"))),
    )
    cells = list(results.cells())
    if not cells:
        raise UserError(f"results file {display_text(path)} holds no finished cells")
    for name, level in cells:
        record = results.cell(name, level)
        run.cells[(name, int(level))] = _cell_scores(path, kind, name, int(level), record)
    run.label = display_text(label or default_label(run))
    return run


def default_label(run: ScoredRun) -> str:
    """``method arch`` from the checkpoint, else the results file's folder name."""
    parts = [str(run.checkpoint[k]) for k in ("method", "arch") if run.checkpoint.get(k)]
    return " ".join(parts) if parts else run.path.parent.name or run.path.stem


def _mapping(value) -> dict:
    """A dict attribute, decoding JSON text (attributes newer than the reader's list)."""
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _cell_scores(path: Path, kind: str, name: str, level: int, record) -> CellScores:
    where = f"results file {display_text(path)}, cell {name}/{level}"
    labels = np.asarray(record.labels, dtype=np.int64)
    index = np.asarray(record.index, dtype=np.int64)
    topk = np.asarray(record.topk)
    prob = np.asarray(record.topk_prob, dtype=np.float64)
    n = labels.shape[0]
    if index.shape != (n,) or topk.shape[0] != n or prob.shape != topk.shape:
        raise UserError(f"{where}: arrays disagree in length (labels {labels.shape}, index "
                        f"{index.shape}, topk {topk.shape}, topk_prob {prob.shape})")
    if n == 0:
        raise UserError(f"{where}: the cell is empty")
    if kind == "c":
        if topk.ndim != 2:
            raise UserError(f"{where}: expected topk of shape (n, k), got {topk.shape}")
        values = {
            "error": (topk[:, 0] != labels).astype(np.float64),
            "confidence": prob[:, 0],
        }
    else:
        if topk.ndim != 3:
            raise UserError(f"{where}: expected topk of shape (videos, frames, k), got {topk.shape}")
        noise = metrics.is_noise_perturbation(name)
        values = {"flip": np.asarray(metrics.flip_probability_per_video(
            topk[:, :, 0], noise=noise, difficulty=level), dtype=np.float64)}
        if topk.shape[2] >= 5:
            values["t5d"] = np.asarray(metrics.top5_distance_from_topk_per_video(
                topk, noise=noise, difficulty=level), dtype=np.float64)
    return CellScores(name=name, level=level, index=index, labels=labels, values=values)


def load_runs(paths: list[Path | str | Results], names: dict[str, str] | None = None,
              labels: list[str | None] | None = None) -> list[ScoredRun]:
    """Load every results file (or open :class:`Results`); ``names`` maps a path to its label,
    ``labels`` gives labels in the order of ``paths`` (``None``: automatic).

    Files without a name take the label of a named file with the same checkpoint sha256, else
    ``method arch`` from the checkpoint; labels shared by different checkpoints get the
    checkpoint's short sha256, and a label still repeated within one suite gets its folder.
    """
    names = {str(Path(k)): v for k, v in (names or {}).items()}
    given = dict(zip(map(id, paths), labels or []))
    items = {id(p) if isinstance(p, Results) else str(p): p for p in paths}.values()
    runs = []
    for item in items:
        label = given.get(id(item)) or (None if isinstance(item, Results)
                                        else names.get(str(Path(item))))
        runs.append(load_run(item, label))
        if label is not None:
            names.setdefault(str(runs[-1].path), label)
    by_sha = {r.checkpoint.get("sha256"): r.label for r in runs
              if str(r.path) in names and r.checkpoint.get("sha256")}
    auto = [r for r in runs if str(r.path) not in names]
    for run in auto:
        run.label = by_sha.get(run.checkpoint.get("sha256"), run.label)
    shas: dict[str, set] = {}
    for run in auto:
        shas.setdefault(run.label, set()).add(run.checkpoint.get("sha256"))
    for run in auto:
        sha = run.checkpoint.get("sha256")
        if len(shas[run.label]) > 1 and sha and run.label not in by_sha.values():
            run.label = f"{run.label} ({str(sha)[:8]})"
    seen: dict[tuple[str, str], int] = {}
    for run in runs:
        seen[(run.suite, run.label)] = seen.get((run.suite, run.label), 0) + 1
    for run in auto:
        if seen[(run.suite, run.label)] > 1:
            run.label = display_text(f"{run.label} [{run.path.parent.name or run.path.stem}]")
    labels = [(r.suite, r.label) for r in runs]
    for run in runs:
        if labels.count((run.suite, run.label)) > 1:
            clash = [r.shown_path for r in runs if (r.suite, r.label) == (run.suite, run.label)]
            raise UserError(f"label {run.label!r} names several {run.suite} results files "
                            f"({', '.join(clash)}); give each its own --name LABEL=RESULTS")
    return runs
