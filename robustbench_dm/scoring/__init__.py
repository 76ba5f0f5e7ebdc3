"""Scoring: run a model over a suite into a resumable HDF5 results file, and summarise it."""

from robustbench_dm.scoring.merge import merge
from robustbench_dm.scoring.results import CellRecord, Results
from robustbench_dm.scoring.score import score
from robustbench_dm.scoring.summary import summarize, write_summary
from robustbench_dm.scoring.summary_table import format_summary

__all__ = ["CellRecord", "Results", "format_summary", "merge", "score", "summarize",
           "write_summary"]
