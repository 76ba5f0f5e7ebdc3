"""``report.html``: one self-contained file (inline CSS; figures as base64 data URIs, SVG for
charts and JPEG for galleries of photographs, shown at their size on a page; no external assets)
laid out to read on a 1280 px laptop screen without horizontal scrolling."""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from reports.document import Document
from reports.provenance import provenance_text
from reports.table_model import PUBLISHED_MARK, Table, cell_text, column_groups, row_label

CSS = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:#1d1d1f;background:#fff}
main{max-width:1180px;margin:0 auto;padding:24px 20px 60px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:36px 0 8px;border-bottom:1px solid #ddd;
padding-bottom:4px}h3{font-size:16px;margin:20px 0 6px}
p,li,dd{overflow-wrap:anywhere}
.summary{background:#f3f7fb;border:1px solid #c9d9ea;border-radius:6px;padding:12px 18px}
.summary li{margin:4px 0}
.caption{color:#444;font-size:13.5px;margin:4px 0 8px}
table{border-collapse:collapse;width:100%;font-size:12px;margin:6px 0 4px}
th,td{padding:3px 4px;border-bottom:1px solid #e3e3e3;text-align:right;vertical-align:top}
th{background:#fafafa;font-weight:600}
th.group{text-align:center;border-bottom:1px solid #999}
td.label,th.label,td.text{text-align:left;overflow-wrap:anywhere}
td.label{max-width:220px}
tr.published td{color:#555;font-style:italic;background:#fcfbf5}
tr.alert td{color:#b00020;background:#fdecee}
.warning{color:#b00020;background:#fdecee;border:1px solid #e8a0a8;border-radius:6px;
padding:8px 14px;margin:8px 0}
.notes{font-size:12px;color:#444;margin:2px 0 0 18px}
.ci{display:block;color:#666;font-size:10.5px}
.mark{font-size:10.5px;color:#8a6d00}
.sources{font-size:12px;color:#555}
figure{margin:18px 0}figure img{max-width:100%;height:auto;display:block;border:1px solid #eee}
figcaption{font-size:13px;color:#444;margin-top:4px}
table.kv td{text-align:left;font-size:12px}table.kv td:first-child{width:180px;color:#555}
code{font-size:11.5px;overflow-wrap:anywhere;word-break:break-all}
dt{font-weight:600;margin-top:8px}dd{margin:2px 0 0 18px}
"""


def table_html(table: Table) -> str:
    out = [f'<table id="{escape(table.key)}">', "<thead>"]
    if any(c.group for c in table.columns):
        out.append('<tr><th class="label"></th>')
        for group, span in column_groups(table.columns):
            out.append(f'<th class="group" colspan="{span}">{escape(group)}</th>' if group
                       else f'<th colspan="{span}"></th>')
        out.append("</tr>")
    out.append(f'<tr><th class="label">{escape(table.row_header)}</th>'
               + "".join(f"<th>{escape(c.header)}</th>" for c in table.columns) + "</tr>")
    out.append("</thead><tbody>")
    for row in table.rows:
        cls = ' class="published"' if row.published else ' class="alert"' if row.alert else ""
        mark = f'<br><span class="mark">{PUBLISHED_MARK}</span>' if row.published else ""
        cells = [f'<td class="label">{escape(row_label(row))}{mark}</td>']
        for col in table.columns:
            value, interval = cell_text(row, col)
            ci = f'<span class="ci">{escape(interval)}</span>' if interval else ""
            text_cls = ' class="text"' if col.kind == "text" else ""
            cells.append(f"<td{text_cls}>{escape(value)}{ci}</td>")
        out.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def render_html(doc: Document) -> str:
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{escape(doc.title)}</title><style>{CSS}</style></head><body><main>",
             f"<h1>{escape(doc.title)}</h1>",
             *[f'<p class="warning" role="alert"><b>Warning:</b> {escape(w)}</p>'
               for w in doc.warnings],
             '<section class="summary"><h2 style="margin-top:4px;border:0">Summary</h2><ul>']
    parts += [f"<li>{escape(line)}</li>" for line in doc.summary]
    parts.append("</ul></section>")
    for table in doc.tables:
        parts.append(f"<section><h2>{escape(table.title)}</h2>"
                     f'<p class="caption">{escape(table.caption)}</p>{table_html(table)}')
        if table.notes:
            parts.append('<ul class="notes">' + "".join(f"<li>{escape(n)}</li>" for n in table.notes)
                         + "</ul>")
        sources = sorted({r.source for r in table.rows if r.published and r.source})
        if sources:
            parts.append(f'<p class="sources">Published rows ({PUBLISHED_MARK}): '
                         f"{escape('; '.join(sources))}.</p>")
        parts.append("</section>")
    parts.append("<h2>Plots</h2>")
    for plot in doc.plots:
        mime, data = (("image/jpeg", plot.jpeg) if plot.photographic
                      else ("image/svg+xml", plot.svg))
        parts.append(f'<figure><img alt="{escape(plot.title)}" width="{plot.width_px}" '
                     f'src="data:{mime};base64,{base64.b64encode(data).decode("ascii")}">'
                     f"<figcaption><b>{escape(plot.title)}.</b> {escape(plot.caption)}"
                     "</figcaption></figure>")
    parts.append("<h2>Provenance</h2>")
    for item in doc.provenance:
        parts.append(f"<h3>{escape(str(item['label']))} — {escape(str(item['suite']))}</h3>"
                     '<table class="kv"><tbody>')
        parts += [f"<tr><td>{escape(k)}</td><td><code>{escape(provenance_text(v))}</code></td></tr>"
                  for k, v in item.items() if k != "label"]
        parts.append("</tbody></table>")
    parts.append("<h2>Metric definitions</h2><dl>")
    parts += [f"<dt>{escape(term)}</dt><dd>{escape(text)}</dd>" for term, text in doc.definitions]
    parts.append("</dl></main></body></html>")
    return "\n".join(parts)


def write_html(doc: Document, path: Path) -> None:
    path.write_text(render_html(doc), encoding="utf-8")
