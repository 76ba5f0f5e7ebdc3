"""Whether two runs can be compared image by image, and if not, what differs.

Paired statistics need the same suite, subset and preprocessing, the same cells, and in every
cell the same image identities with the same labels. A differing data root alone is a note,
not a refusal (the same images can live in different folders).
"""

from __future__ import annotations

import numpy as np

from reports.load import ScoredRun

_METADATA_KEYS = ("subset", "preprocessing", "seed", "generator", "generator_version", "difficulty")


def differences(a: ScoredRun, b: ScoredRun) -> list[str]:
    """Reasons why ``a`` and ``b`` were not scored on the same images (empty: comparable)."""
    if a.suite != b.suite or a.kind != b.kind:
        return [f"suite: {a.suite} vs {b.suite}"]
    out = []
    if a.num_classes != b.num_classes:
        out.append(f"classes: {a.num_classes} vs {b.num_classes}")
    for key in _METADATA_KEYS:
        va, vb = a.metadata.get(key), b.metadata.get(key)
        if va != vb:
            out.append(f"{key}: {_short(va)} vs {_short(vb)}")
    only_a = sorted(set(a.cells) - set(b.cells))
    only_b = sorted(set(b.cells) - set(a.cells))
    if only_a:
        out.append(f"cells only in {a.label}: {_cells(only_a)}")
    if only_b:
        out.append(f"cells only in {b.label}: {_cells(only_b)}")
    sizes, identities, labels = [], [], []
    for key in a.cells:
        if key not in b.cells:
            continue
        ca, cb = a.cells[key], b.cells[key]
        where = f"{key[0]}/{key[1]}"
        if ca.n != cb.n:
            sizes.append(f"{where} ({ca.n} vs {cb.n})")
            continue
        oa, ob = np.argsort(ca.index, kind="stable"), np.argsort(cb.index, kind="stable")
        if not np.array_equal(ca.index[oa], cb.index[ob]):
            identities.append(where)
        elif not np.array_equal(ca.labels[oa], cb.labels[ob]):
            labels.append(f"{where} ({int((ca.labels[oa] != cb.labels[ob]).sum())} images)")
    for what, items in (("number of images differs in", sizes),
                        ("image identities differ in", identities),
                        ("labels differ in", labels)):
        if items:
            out.append(f"{what} {len(items)} cell{'s' * (len(items) > 1)}, e.g. "
                       + ", ".join(items[:2]))
    return out


def notes(a: ScoredRun, b: ScoredRun) -> list[str]:
    """Differences that do not block paired statistics but a reader should see."""
    ra, rb = a.metadata.get("data_root"), b.metadata.get("data_root")
    return [f"data root: {ra} vs {rb}"] if ra != rb else []


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _cells(keys: list) -> str:
    shown = ", ".join(f"{n}/{lvl}" for n, lvl in keys[:4])
    return shown + (f" and {len(keys) - 4} more" if len(keys) > 4 else "")
