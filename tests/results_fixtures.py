"""Write results files in the HDF5 layout of docs/internals.md with chosen, known numbers.

Used by the report tests: every number a report prints can be computed independently from the
arrays built here (e.g. a cell built with ``error=0.25`` on 200 images has exactly 50 wrong).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

import h5py
import numpy as np

Cell = dict  # labels, index, topk, topk_prob (+ logits)


def c_cell(
    error: float,
    n: int,
    *,
    num_classes: int = 10,
    rng: np.random.Generator,
    wrong: np.ndarray | None = None,
    confidence: np.ndarray | None = None,
    index: np.ndarray | None = None,
    labels: np.ndarray | None = None,
) -> Cell:
    """A -C cell of ``n`` images where exactly ``round(error * n)`` top-1 predictions are wrong.

    ``wrong`` (bool, n) fixes which images are wrong instead; ``confidence`` fixes the top-1
    softmax probability of each image (default: uniform in [0.5, 1)); ``labels`` fixes the labels.
    """
    if labels is None:
        labels = rng.integers(0, num_classes, size=n)
    labels = np.asarray(labels, dtype=np.int64)
    if wrong is None:
        wrong = np.zeros(n, dtype=bool)
        wrong[rng.choice(n, size=int(round(error * n)), replace=False)] = True
    k = min(5, num_classes)
    top1 = np.where(wrong, (labels + 1) % num_classes, labels)
    others = np.stack([(top1 + j) % num_classes for j in range(1, k)], axis=1)
    topk = np.concatenate([top1[:, None], others], axis=1).astype(np.int32)
    if confidence is None:
        confidence = rng.uniform(0.5, 1.0, size=n)
    rest = (1.0 - confidence)[:, None] * (0.5 ** np.arange(1, k))[None, :]
    topk_prob = np.concatenate([confidence[:, None], rest], axis=1).astype(np.float32)
    cell = {
        "labels": labels,
        "index": np.arange(n, dtype=np.int64) if index is None else np.asarray(index, np.int64),
        "topk": topk,
        "topk_prob": topk_prob,
    }
    if num_classes <= 100:
        logits = np.full((n, num_classes), -10.0, dtype=np.float32)
        for j in range(k):
            logits[np.arange(n), topk[:, j]] = 5.0 - j
        cell["logits"] = logits
    return cell


def p_cell(predictions: np.ndarray, *, num_classes: int = 10, index: np.ndarray | None = None) -> Cell:
    """A -P cell from top-1 predictions (videos x frames); the rest of the top-5 follows by +1."""
    predictions = np.asarray(predictions, dtype=np.int64)
    n, t = predictions.shape
    k = min(5, num_classes)
    topk = np.stack([(predictions + j) % num_classes for j in range(k)], axis=2).astype(np.int32)
    prob = np.broadcast_to((0.5 ** np.arange(1, k + 1)).astype(np.float32), (n, t, k)).copy()
    return {
        "labels": np.full(n, -1, dtype=np.int64),
        "index": np.arange(n, dtype=np.int64) if index is None else np.asarray(index, np.int64),
        "topk": topk,
        "topk_prob": prob,
    }


def write_results(
    path: Path | str,
    cells: Mapping[tuple[str, int], Cell],
    *,
    kind: str = "c",
    suite: str = "cifar10-c",
    num_classes: int = 10,
    metadata: Mapping | None = None,
    checkpoint: Mapping | None = None,
    versions: Mapping | None = None,
    seed: int = 0,
) -> Path:
    """Write one results file with ``cells`` {(name, level): arrays} and the schema-1 attributes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "suite": suite,
        "data_root": "/data/" + suite,
        "preprocessing": "as stored",
        "subset": {"limit": None, "corruptions": None, "severities": None},
    }
    meta.update(metadata or {})
    ckpt = {"path": str(path.parent / "model.pt"), "sha256": "0" * 64, "arch": "small_cnn",
            "method": "standard", "method_options": {}, "dataset": "cifar10", "epoch": 1}
    ckpt.update(checkpoint or {})
    with h5py.File(path, "w", track_order=True) as f:
        f.attrs["schema"] = 1
        f.attrs["kind"] = kind
        f.attrs["suite"] = suite
        f.attrs["num_classes"] = num_classes
        f.attrs["metadata"] = json.dumps(meta)
        f.attrs["checkpoint"] = json.dumps(ckpt)
        f.attrs["versions"] = json.dumps(dict(versions or {"robustbench_dm": "0.1.0", "torch": "2.14.1"}))
        f.attrs["seed"] = seed
        root = f.create_group("cells", track_order=True)
        for (name, level), arrays in cells.items():
            if name not in root:
                root.create_group(name, track_order=True)
            group = root[name].create_group(str(level))
            for key, value in arrays.items():
                group.create_dataset(key, data=value)
    return path


def c_suite_cells(
    errors: Mapping[tuple[str, int], float],
    n: int,
    *,
    num_classes: int = 10,
    seed: int = 0,
    label_seed: int = 1234,
) -> dict[tuple[str, int], Cell]:
    """Cells with the exact error given per (name, level); the same labels (from ``label_seed``,
    so two models built with different ``seed`` see the same images) and index in every cell,
    wrong images and confidences drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    labels = np.random.default_rng(label_seed).integers(0, num_classes, size=n)
    return {key: c_cell(err, n, num_classes=num_classes, rng=rng, labels=labels)
            for key, err in errors.items()}
