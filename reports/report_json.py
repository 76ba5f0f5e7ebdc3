"""``report.json``: schema-versioned, every number a JSON number (fractions, like summary.json)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from reports import published
from reports.analysis import Analysis
from reports.coverage import compatibility, subset_phrase
from reports.document import Document
from reports.table_model import Table

SCHEMA = 1


def _num(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _interval(iv) -> dict:
    return {"estimate": _num(iv.estimate), "low": _num(iv.low), "high": _num(iv.high)}


def _table(table: Table) -> dict:
    return {
        "title": table.title, "caption": table.caption, "row_header": table.row_header,
        "columns": [{"key": c.key, "header": c.header, "group": c.group, "kind": c.kind}
                    for c in table.columns],
        "rows": [{"label": r.label, "published": r.published, "source": r.source or None,
                  "flags": r.flags, "alert": r.alert,
                  "values": {k: _num(v) for k, v in r.values.items()},
                  "intervals": {k: [_num(lo), _num(hi)] for k, (lo, hi) in r.intervals.items()},
                  "spread": {k: _num(v) for k, v in r.spread.items()}}
                 for r in table.rows],
        "notes": table.notes,
    }


def report_dict(analysis: Analysis, doc: Document) -> dict:
    """The whole report as plain JSON values. Percent columns of tables hold fractions."""
    suites = []
    for sa in analysis.suites:
        suites.append({
            "suite": sa.suite, "kind": sa.kind, "primary_measure": sa.primary,
            "ranking": sa.ranking,
            "models": {ra.run.label: {
                "results_file": ra.run.shown_path,
                "baseline": ra.baseline.name if ra.baseline else None,
                "measures": {k: _interval(iv) for k, iv in ra.intervals.items()},
                "flags": ra.flags,
                "at_chance": ra.chance is not None,
                "subset": subset_phrase(ra.run),
                "compatibility": dict(zip(("status", "messages"), compatibility(ra.run))),
                "training_seed": ra.run.training_seed,
            } for ra in sa.runs},
            "seed_groups": {u.label: {
                "members": [m.run.label for m in u.members],
                "seeds": u.seeds,
                "at_chance": u.chance is not None,
                "measures": {k: dict(_interval(iv), sd=_num(u.spread.get(k)))
                             for k, iv in u.intervals.items()},
            } for u in sa.groups},
            "comparisons": [{
                "measure": c.measure, "better": c.better, "other": c.other,
                "difference": _interval(c.difference) if c.difference else None,
                "refused": c.refused, "notes": c.notes, "sentence": c.sentence,
            } for c in sa.comparisons],
        })
    return {
        "schema": SCHEMA,
        "units": "fractions (a value of 0.767 is printed as 76.7 in the tables)",
        "bootstrap": {"replicates": analysis.n_boot, "seed": analysis.seed, "level": 0.95,
                      "unit": "test image (video for -P suites)"},
        "reference": doc.reference,
        "published_rows": {sa.suite: published.decide(doc.reference, sa.suite,
                                                      [ra.run for ra in sa.runs])[0]
                           for sa in analysis.suites},
        "summary": doc.summary,
        "warnings": doc.warnings,
        "suites": suites,
        "tables": {t.key: _table(t) for t in doc.tables},
        "plots": [p.filename for p in doc.plots],
        "provenance": doc.provenance,
        "definitions": dict(doc.definitions),
    }


def write_json(analysis: Analysis, doc: Document, path: Path) -> None:
    path.write_text(json.dumps(report_dict(analysis, doc), indent=2, allow_nan=False) + "\n",
                    encoding="utf-8")
