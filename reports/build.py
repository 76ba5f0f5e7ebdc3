"""`write_report`: results files in, a report folder out (report.html, report.md + PNGs,
cells.csv, tables.tex, report.json). Everything is computed before anything is written, and files
are written to a temporary folder first, so a failure leaves nothing half-written."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from reports import published
from reports.analysis import Analysis, analyse
from reports.cells_csv import write_cells_csv
from reports.document import Document
from reports.html import write_html
from reports.latex import write_latex
from reports.load import load_run, load_runs
from reports.markdown import write_markdown
from reports.plots import build_plots
from reports.provenance import definitions, provenance
from reports.report_json import write_json
from reports.tables import build_tables
from robustbench_dm.errors import UserError

OUTPUTS = ("report.html", "report.md", "cells.csv", "tables.tex", "report.json")


def summary_lines(analysis: Analysis) -> list[str]:
    """The sentences at the top: per suite, the most robust run, by how much, with intervals."""
    lines = []
    for sa in analysis.suites:
        if sa.primary is None:
            lines.append(f"{sa.suite}: no aggregate measure could be computed.")
            continue
        best = sa.run(sa.ranking[0])
        iv = best.intervals[sa.primary]
        head = (f"{sa.suite}: {best.run.label} has {sa.primary_label} {100 * iv.estimate:.1f} "
                f"(95% CI {100 * iv.low:.1f} to {100 * iv.high:.1f})")
        if len(sa.runs) == 1:
            lines.append(head + "; it is the only model scored on this suite.")
            continue
        lines.append(head + ", the lowest of " + f"{len(sa.runs)} models.")
        lines += [f"{sa.suite}: {c.sentence}" for c in sa.comparisons]
        lines += [f"{sa.suite}: note ({c.better} vs {c.other}): {'; '.join(c.notes)}."
                  for c in sa.comparisons if c.notes]
    suites = [sa.suite for sa in analysis.suites]
    if len(suites) > 1:
        lines.append("Different suites are reported separately and never compared image by "
                     f"image ({', '.join(suites)}).")
    return lines


def make_document(analysis: Analysis, reference: str) -> Document:
    runs = [ra.run for sa in analysis.suites for ra in sa.runs]
    models = list(dict.fromkeys(r.label for r in runs))
    return Document(
        title=f"Corruption robustness report: {len(models)} model{'s' * (len(models) > 1)}, "
              f"{len(analysis.suites)} suite{'s' * (len(analysis.suites) > 1)}",
        summary=summary_lines(analysis),
        tables=build_tables(analysis, reference),
        plots=build_plots(analysis),
        provenance=[provenance(r) for r in runs]
        + ([dict(provenance(analysis.baseline_run), label=f"baseline: {analysis.baseline_run.label}")]
           if analysis.baseline_run is not None else []),
        definitions=definitions(analysis),
        reference=reference,
    )


def write_report(
    results: list[Path | str],
    out: Path | str,
    *,
    names: dict[str, str] | None = None,
    baseline: Path | str | None = None,
    reference: str = "dynmix-paper",
    n_boot: int = 1000,
    seed: int = 0,
) -> Document:
    """Load, analyse and write every output into ``out`` (created if missing)."""
    published.check_reference(reference)
    if n_boot < 100:
        raise UserError(f"bootstrap replicates: expected at least 100, got {n_boot}")
    paths = list(results) + [p for p in (names or {}) if p not in map(str, results)]
    if not paths:
        raise UserError("no results files given")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} exists and is not a folder")
    runs = load_runs(paths, names)
    baseline_run = load_run(baseline, None) if baseline is not None else None
    if baseline_run is not None:
        baseline_run.label = f"{baseline_run.label} (baseline)"
    analysis = analyse(runs, baseline_run=baseline_run, n_boot=n_boot, seed=seed)
    doc = make_document(analysis, reference)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for plot in doc.plots:
            (tmp / plot.filename).write_bytes(plot.png)
            (tmp / plot.svg_filename).write_bytes(plot.svg)
        write_html(doc, tmp / "report.html")
        write_markdown(doc, tmp / "report.md")
        write_cells_csv(analysis, tmp / "cells.csv")
        write_latex(doc.tables, tmp / "tables.tex")
        write_json(analysis, doc, tmp / "report.json")
        out.mkdir(exist_ok=True)
        for item in sorted(tmp.iterdir()):
            os.replace(item, out / item.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return doc
