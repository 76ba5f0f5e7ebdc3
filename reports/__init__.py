"""Comparison reports from results files: paper-style tables, plots, bootstrap intervals.

``write_report(results, out, names=..., baseline=..., reference=...)`` writes report.html,
report.md (+ PNGs), cells.csv, tables.tex and report.json into ``out``. Reports only read
``robustbench_dm.scoring.Results``.
"""

from reports.build import write_report

__all__ = ["write_report"]
