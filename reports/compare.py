"""Whether two runs can be compared image by image, and if not, what differs.

Two runs pair exactly when they hold the same images: the same suite, and equal ``images_key``
in their metadata (the suite's identity of the images and corruption bytes, so a written suite
and its on-the-fly twin pair). Files that predate ``images_key`` fall back to comparing the
subset, preprocessing and generator settings. Either way the runs must hold the same cells and,
in every cell, the same image identities with the same labels. A differing data root alone is a
note, not a refusal (the same images can live in different folders).

Every reason is a clause naming the field that differs with both values, never a data structure.
"""

from __future__ import annotations

import numpy as np

from reports.display import display_text
from reports.load import ScoredRun

_METADATA_KEYS = ("subset", "preprocessing", "seed", "generator", "generator_version", "difficulty")
_SHOWN = 4          # list items shown before "and N more"
_TEXT = 60          # characters of a value shown


def differences(a: ScoredRun, b: ScoredRun) -> list[str]:
    """Reasons why ``a`` and ``b`` were not scored on the same images (empty: comparable)."""
    if a.suite != b.suite or a.kind != b.kind:
        return [_clause(a, b, "suite", a.suite, b.suite)]
    out = []
    if a.num_classes != b.num_classes:
        out.append(_clause(a, b, "number of classes", a.num_classes, b.num_classes))
    fields = [d for key in _METADATA_KEYS
              for d in field_differences(key, a.metadata.get(key), b.metadata.get(key))]
    if a.images_key and b.images_key:
        if a.images_key != b.images_key:
            out += [_clause(a, b, name, va, vb) for name, va, vb in fields] or [
                _clause(a, b, "images key", a.images_key[:12], b.images_key[:12])]
    else:
        out += [_clause(a, b, name, va, vb) for name, va, vb in fields]
    out += _cell_differences(a, b)
    return out


def _cell_differences(a: ScoredRun, b: ScoredRun) -> list[str]:
    out = []
    for first, second in ((a, b), (b, a)):
        only = sorted(set(first.cells) - set(second.cells))
        if only:
            out.append(f"{len(only)} cell{'s' * (len(only) > 1)} only in {first.label} "
                       f"({_cells(only)})")
    sizes, identities, labels = [], [], []
    for key in a.cells:
        if key not in b.cells:
            continue
        cell_a, cell_b = a.cells[key], b.cells[key]
        where = f"{key[0]}/{key[1]}"
        if cell_a.n != cell_b.n:
            sizes.append(f"{where} ({cell_a.n} vs {cell_b.n} images for {a.label} and {b.label})")
            continue
        order_a = np.argsort(cell_a.index, kind="stable")
        order_b = np.argsort(cell_b.index, kind="stable")
        if not np.array_equal(cell_a.index[order_a], cell_b.index[order_b]):
            identities.append(where)
        elif not np.array_equal(cell_a.labels[order_a], cell_b.labels[order_b]):
            differing = int((cell_a.labels[order_a] != cell_b.labels[order_b]).sum())
            labels.append(f"{where} ({differing} images)")
    for what, items in (("the number of images differs in", sizes),
                        ("the image identities differ in", identities),
                        ("the labels differ in", labels)):
        if items:
            out.append(f"{what} {len(items)} cell{'s' * (len(items) > 1)}, e.g. "
                       + ", ".join(items[:2]))
    return out


def notes(a: ScoredRun, b: ScoredRun) -> list[str]:
    """Differences that do not block paired statistics but a reader should see."""
    ra, rb = a.metadata.get("data_root"), b.metadata.get("data_root")
    return [_clause(a, b, "data root", ra, rb)] if ra != rb else []


def field_differences(name: str, va, vb) -> list[tuple[str, str, str]]:
    """(field, value of a, value of b) as display text for every leaf that differs; nested
    dicts are walked ("subset limit")."""
    if isinstance(va, dict) and isinstance(vb, dict):
        return [d for key in dict.fromkeys([*va, *vb])
                for d in field_differences(f"{name} {key}", va.get(key), vb.get(key))]
    if va == vb:
        return []
    return [(name.replace("_", " "), value_text(va), value_text(vb))]


def value_text(value) -> str:
    """A provenance value as a short phrase: "none", "fog, contrast and 3 more", "seed=0"."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        shown = ", ".join(value_text(v) for v in value[:_SHOWN]) or "none"
        return shown + (f" and {len(value) - _SHOWN} more" if len(value) > _SHOWN else "")
    if isinstance(value, dict):
        return ", ".join(f"{k}={value_text(v)}" for k, v in value.items()) or "none"
    text = display_text(value)
    return text if len(text) <= _TEXT else text[:_TEXT - 3] + "..."


def _clause(a: ScoredRun, b: ScoredRun, name: str, va, vb) -> str:
    va, vb = (v if isinstance(v, str) else value_text(v) for v in (va, vb))
    return f"the {name} differs ({a.label}: {display_text(va)} vs {b.label}: {display_text(vb)})"


def _cells(keys: list) -> str:
    shown = ", ".join(f"{n}/{lvl}" for n, lvl in keys[:_SHOWN])
    return shown + (f" and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else "")
