"""A readable plain-text table of a summary dict (printed at the end of ``score``)."""

from __future__ import annotations

from typing import Any, Mapping

from robustbench_dm.errors import Note
from robustbench_dm.suites.base import byte_options, subset_phrase

CLEAN_NOTE = Note("no clean cell scored: add it with clean_root=DIR into the same out_dir",
                  params=("clean_root", "out_dir"))


def _pct(value: float | None, width: int = 7) -> str:
    return f"{'-':>{width}}" if value is None else f"{100 * value:>{width}.2f}"


def _ratio(value: float | None, width: int = 7) -> str:
    return f"{'-':>{width}}" if value is None else f"{100 * value:>{width}.1f}"


def format_summary(summary: Mapping[str, Any], metadata: Mapping[str, Any] | None = None) -> str:
    """Percentages (x100) per corruption/perturbation, then the headline numbers. With the
    suite's ``metadata``, a line under the title says what was scored when it is not the whole
    released suite: the label of a generated suite with its seed and byte-changing options, and
    the subset."""
    scope = _scope(metadata, "c" if "corruptions" in summary else "p") if metadata else None
    if "corruptions" in summary:
        return _format_c(summary, scope)
    return _format_p(summary, scope)


def _scope(metadata: Mapping[str, Any], kind: str) -> Note | None:
    """"ImageNet-C at 384 px (generated), seed 0, fast_jpeg=True; a subset of the suite (only
    some of its cells)", listing the options it names as params."""
    parts = []
    options = byte_options(metadata)
    if metadata.get("generated"):
        parts.append(", ".join([f"{metadata.get('label') or 'generated on the fly'}",
                                f"seed {metadata.get('seed')}", *(f"{k}={v}" for k, v in options.items())]))
    elif metadata.get("label"):
        parts.append(str(metadata["label"]))
    subset = subset_phrase(metadata.get("subset"), kind)
    if subset:
        parts.append(f"a subset of the suite ({subset})")
    return Note("; ".join(parts), params=tuple(options)) if parts else None


def _format_c(summary: Mapping[str, Any], scope: Note | None = None) -> str:
    rows = summary["corruptions"]
    width = max([len("corruption"), *map(len, rows)])
    severities = max(len(r["errors"]) for r in rows.values())
    head = f"{'corruption':<{width}} " + " ".join(f"{'s' + str(s):>7}" for s in
                                                   range(1, severities + 1))
    lines = [f"suite {summary['suite']}: top-1 error % per severity, CE %", *([scope] if scope else []),
             head + f" {'mean':>7} {'CE':>7}", "-" * (len(head) + 16)]
    for name, row in rows.items():
        errors = [e for e in row["errors"] if e is not None]
        mean = sum(errors) / len(errors) if errors else None
        cells = " ".join(_pct(e) for e in row["errors"])
        lines.append(f"{name:<{width}} {cells} {_pct(mean)} {_ratio(row['ce'])}")
    lines.append("-" * (len(head) + 16))
    clean = _pct(summary["clean_error"]).strip()
    if summary["clean_error"] is None:
        clean += f"  ({CLEAN_NOTE})"
    lines.append(f"clean error   {clean}")
    lines.append(f"mean error    {_pct(summary['mean_error']).strip()}")
    lines.append(f"mCE           {_ratio(summary['mce']).strip()}")
    lines.append(f"relative mCE  {_ratio(summary['relative_mce']).strip()}")
    return Note("\n".join(lines), params=(*(CLEAN_NOTE.params if summary["clean_error"] is None else ()),
                                          *(scope.params if scope else ())))


def _format_p(summary: Mapping[str, Any], scope: Note | None = None) -> str:
    rows = summary["perturbations"]
    width = max([len("perturbation"), *map(len, rows)])
    head = f"{'perturbation':<{width}} {'FP %':>7} {'T5D':>7} {'FR %':>7} {'T5D %':>7}"
    lines = [f"suite {summary['suite']}: flip probability, top-5 distance", *([scope] if scope else []),
             head, "-" * len(head)]
    for name, row in rows.items():
        lines.append(f"{name:<{width}} {_pct(row['flip_probability'])} "
                     f"{row['top5_distance']:>7.3f} {_ratio(row['fr'])} {_ratio(row['t5d'])}")
    lines.append("-" * len(head))
    lines.append(f"mean FP       {_pct(summary['mfp']).strip()}")
    lines.append(f"mean T5D      {summary['mt5d_unnormalized']:.3f}")
    lines.append(f"mFR           {_ratio(summary['mfr']).strip()}")
    lines.append(f"mT5D          {_ratio(summary['mt5d']).strip()}")
    return Note("\n".join(lines), params=scope.params if scope else ())
