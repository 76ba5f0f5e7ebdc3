"""Top-5 classes of logits in ordinal-rank order, without sorting all classes."""

from __future__ import annotations

import numpy as np

from robustbench_dm.errors import UserError

TOP = 5
_CHUNK_ELEMENTS = 1 << 18  # rows are processed in cache-sized chunks (~1 MB of float32)


def top5_classes(logits, what: str = "logits") -> np.ndarray:
    """The 5 highest-scoring classes of each row of ``logits`` (..., K), best first.

    The order is exactly that of ``scipy.stats.rankdata(-row, method="ordinal")`` (the ranks the
    ImageNet-P reference uses): descending logit, ties broken by lower class index. Five argmax
    passes over a chunk copy (each winner masked to -inf) replace a full sort. Returns int64
    (..., 5). Raises ``UserError`` for non-float, non-finite or fewer-than-5-class input.
    """
    x = np.asarray(logits)
    if x.dtype.kind != "f":
        raise UserError(f"{what}: expected floating-point logits, got dtype {x.dtype}")
    if x.ndim < 1 or x.shape[-1] < TOP:
        raise UserError(
            f"{what}: expected at least {TOP} classes in the last axis, got shape {x.shape}"
        )
    classes = x.shape[-1]
    flat = x.reshape(-1, classes)
    out = np.empty((flat.shape[0], TOP), dtype=np.int64)
    rows = max(1, _CHUNK_ELEMENTS // classes)
    for start in range(0, flat.shape[0], rows):
        chunk = flat[start:start + rows].copy()
        if not np.isfinite(chunk).all():
            raise UserError(f"{what}: expected finite values, found NaN or inf")
        index = np.arange(chunk.shape[0])
        for rank in range(TOP):
            best = chunk.argmax(axis=1)
            out[start:start + rows, rank] = best
            chunk[index, best] = -np.inf
    return out.reshape(x.shape[:-1] + (TOP,))
