"""`write_report`: results files in, a report folder out (report.html, report.md + PNGs,
cells.csv, tables.tex, report.json). Everything is computed before anything is written, and files
are written to a temporary folder first, so a failure leaves nothing half-written."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from reports import published
from reports.analysis import Analysis, analyse
from reports.cells_csv import write_cells_csv
from reports.display import display_text
from reports.document import Document
from reports.html import write_html
from reports.latex import write_latex
from reports.load import load_run, load_runs
from reports.markdown import write_markdown
from reports.plots import build_plots
from reports.provenance import definitions, provenance
from reports.report_json import write_json
from reports.sentences import summary_lines, warnings
from reports.paper_tables import build_tables, generated_note
from robustbench_dm.scoring import Results
from robustbench_dm.errors import UserError


def make_document(analysis: Analysis, reference: str) -> Document:
    runs = [ra.run for sa in analysis.suites for ra in sa.runs]
    models = list(dict.fromkeys(r.label for r in runs))
    notes = {}
    for sa in analysis.suites:
        paper, left_out = published.decide(reference, sa.suite, [ra.run for ra in sa.runs])
        if line := left_out or generated_note(sa, paper):
            notes[sa.suite] = line
    return Document(
        title=f"Corruption robustness report: {len(models)} model{'s' * (len(models) > 1)}, "
              f"{len(analysis.suites)} suite{'s' * (len(analysis.suites) > 1)}",
        summary=summary_lines(analysis, notes),
        tables=build_tables(analysis, reference),
        plots=[_mark_plot(plot, analysis) for plot in build_plots(analysis)],
        provenance=[provenance(r) for r in runs]
        + ([dict(provenance(analysis.baseline_run), label=f"baseline: {analysis.baseline_run.label}")]
           if analysis.baseline_run is not None else []),
        definitions=definitions(analysis),
        reference=reference,
        warnings=warnings(analysis),
    )


def _mark_plot(plot, analysis: Analysis):
    """``plot`` with a caption sentence naming the flagged models of the suites it shows (subset,
    at chance, dataset mismatch); galleries show images, not numbers, and are left as they are."""
    marked = [f"{ra.run.label} ({'; '.join(ra.flags)})" for sa in analysis.suites
              if sa.suite in plot.suites for ra in sa.runs if ra.flags]
    if not marked:
        return plot
    return replace(plot, caption=f"{plot.caption} Marked models: {', '.join(marked)}.".strip())


def write_outputs(analysis: Analysis, doc: Document, folder: Path) -> list[Path]:
    """Write every output file of a report into the existing ``folder``: each figure of ``doc``
    as PNG and SVG, then report.html, report.md, cells.csv, tables.tex and report.json (``doc``
    made from ``analysis`` by :func:`make_document`). Returns the paths written, in that order."""
    folder = Path(folder)
    written = []
    for plot in doc.plots:
        for name, data in ((plot.filename, plot.png), (plot.svg_filename, plot.svg)):
            (folder / name).write_bytes(data)
            written.append(folder / name)
    documents = (
        ("report.html", lambda path: write_html(doc, path)),
        ("report.md", lambda path: write_markdown(doc, path)),
        ("cells.csv", lambda path: write_cells_csv(analysis, path)),
        ("tables.tex", lambda path: write_latex(doc.tables, path)),
        ("report.json", lambda path: write_json(analysis, doc, path)),
    )
    for name, write in documents:
        write(folder / name)
        written.append(folder / name)
    return written


def write_report(
    results: list[Path | str | Results],
    out: Path | str,
    *,
    names: dict[str, str] | None = None,
    labels: list[str | None] | None = None,
    baseline: Path | str | None = None,
    reference: str = "auto",
    n_boot: int = 1000,
    seed: int = 0,
) -> Document:
    """Load, analyse and write every output into ``out`` (created if missing). ``results`` are
    results files or open :class:`Results` (in memory too); ``names`` maps a path to its label,
    ``labels`` gives labels in the order of ``results``."""
    published.check_reference(reference)
    if n_boot < 100:
        raise UserError(f"bootstrap replicates: expected at least 100, got {n_boot}")
    paths = list(results) + [p for p in (names or {}) if p not in map(str, results)]
    labels = list(labels or []) + [None] * (len(paths) - len(labels or []))
    if not paths:
        raise UserError("no results files given")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {display_text(out)} exists and is not a folder")
    runs = load_runs(paths, names, labels)
    baseline_run = load_run(baseline, None) if baseline is not None else None
    if baseline_run is not None:
        baseline_run.label = f"{baseline_run.label} (baseline)"
    analysis = analyse(runs, baseline_run=baseline_run, n_boot=n_boot, seed=seed)
    doc = make_document(analysis, reference)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        write_outputs(analysis, doc, tmp)
        out.mkdir(exist_ok=True)
        for item in sorted(tmp.iterdir()):
            os.replace(item, out / item.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return doc
