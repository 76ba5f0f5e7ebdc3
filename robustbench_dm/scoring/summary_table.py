"""A readable plain-text table of a summary dict (printed at the end of ``score``)."""

from __future__ import annotations

from typing import Any, Mapping

from robustbench_dm.errors import Note

CLEAN_NOTE = Note("no clean cell scored: add it with clean_root=DIR into the same out_dir",
                  params=("clean_root", "out_dir"))


def _pct(value: float | None, width: int = 7) -> str:
    return f"{'-':>{width}}" if value is None else f"{100 * value:>{width}.2f}"


def _ratio(value: float | None, width: int = 7) -> str:
    return f"{'-':>{width}}" if value is None else f"{100 * value:>{width}.1f}"


def format_summary(summary: Mapping[str, Any]) -> str:
    """Percentages (x100) per corruption/perturbation, then the headline numbers."""
    if "corruptions" in summary:
        return _format_c(summary)
    return _format_p(summary)


def _format_c(summary: Mapping[str, Any]) -> str:
    rows = summary["corruptions"]
    width = max([len("corruption"), *map(len, rows)])
    severities = max(len(r["errors"]) for r in rows.values())
    head = f"{'corruption':<{width}} " + " ".join(f"{'s' + str(s):>7}" for s in
                                                   range(1, severities + 1))
    lines = [f"suite {summary['suite']}: top-1 error % per severity, CE %",
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
    return Note("\n".join(lines), params=CLEAN_NOTE.params if summary["clean_error"] is None else ())


def _format_p(summary: Mapping[str, Any]) -> str:
    rows = summary["perturbations"]
    width = max([len("perturbation"), *map(len, rows)])
    head = f"{'perturbation':<{width}} {'FP %':>7} {'T5D':>7} {'FR %':>7} {'T5D %':>7}"
    lines = [f"suite {summary['suite']}: flip probability, top-5 distance", head,
             "-" * len(head)]
    for name, row in rows.items():
        lines.append(f"{name:<{width}} {_pct(row['flip_probability'])} "
                     f"{row['top5_distance']:>7.3f} {_ratio(row['fr'])} {_ratio(row['t5d'])}")
    lines.append("-" * len(head))
    lines.append(f"mean FP       {_pct(summary['mfp']).strip()}")
    lines.append(f"mean T5D      {summary['mt5d_unnormalized']:.3f}")
    lines.append(f"mFR           {_ratio(summary['mfr']).strip()}")
    lines.append(f"mT5D          {_ratio(summary['mt5d']).strip()}")
    return "\n".join(lines)
