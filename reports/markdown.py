"""``report.md``: the same tables as GitHub Markdown, plots as PNG files beside it. Flagged rows
read "label (subset; at chance)", with the flags explained under the table; compatibility
warnings open the report as marked quotes."""

from __future__ import annotations

from pathlib import Path

from reports.document import Document
from reports.provenance import provenance_text
from reports.table_model import PUBLISHED_MARK, Table, cell_text, row_label


def table_md(table: Table) -> str:
    header = [table.row_header] + [f"{c.group} {c.header}".strip() if c.group else c.header
                                   for c in table.columns]
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |",
             "|" + "|".join([":--"] + ["--:" if c.kind != "text" else ":--"
                                       for c in table.columns]) + "|"]
    for row in table.rows:
        label = row_label(row) + (f" *({PUBLISHED_MARK})*" if row.published else "")
        if row.alert:
            label = f"**⚠ {label}**"
        cells = []
        for col in table.columns:
            value, interval = cell_text(row, col)
            cells.append(f"{value} [{interval}]" if interval else value)
        lines.append("| " + " | ".join(_cell(x) for x in [label] + cells) + " |")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def write_markdown(doc: Document, path: Path) -> None:
    """Write report.md; ``doc.plots`` file names are relative to ``path``'s folder."""
    out = [f"# {doc.title}", ""]
    out += [line for w in doc.warnings for line in (f"> **⚠ Warning:** {w}", "")]
    out += ["## Summary", ""]
    out += [f"- {line}" for line in doc.summary] + [""]
    for table in doc.tables:
        out += [f"## {table.title}", "", table.caption, "", table_md(table), ""]
        out += [f"- *{note}*" for note in table.notes] + ([""] if table.notes else [])
        sources = sorted({r.source for r in table.rows if r.published and r.source})
        if sources:
            out += ["Published rows: " + "; ".join(sources) + ".", ""]
    out += ["## Plots", ""]
    for plot in doc.plots:
        out += [f"### {plot.title}", "", f"![{plot.title}]({plot.filename})", "", plot.caption, ""]
    out += ["## Provenance", ""]
    for item in doc.provenance:
        out += [f"### {item['label']} — {item['suite']}", ""]
        out += [f"- **{k}**: `{provenance_text(v)}`" for k, v in item.items() if k != "label"]
        out.append("")
    out += ["## Metric definitions", ""]
    out += [f"- **{term}**: {text}" for term, text in doc.definitions]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
