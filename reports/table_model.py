"""The table model every writer renders: columns, rows of numbers with optional intervals (and a
spread over training seeds), rows marked "published, not measured here", and rows flagged
"at chance", "subset", "dataset mismatch" (shown in red) wherever they appear."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

PUBLISHED_MARK = "published, not measured here"


@dataclass(frozen=True)
class Col:
    """A column; ``kind`` "pct" holds fractions shown x100, "num" plain numbers, "text" text."""

    key: str
    header: str
    group: str = ""
    kind: str = "pct"


@dataclass
class Row:
    label: str
    values: dict[str, object]
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    published: bool = False
    source: str = ""
    flags: list[str] = field(default_factory=list)    # e.g. ["subset", "at chance"]
    alert: bool = False                                # shown in red: a compatibility warning
    spread: dict[str, float] = field(default_factory=dict)   # standard deviation over seeds


def column_groups(columns: list[Col]) -> list[tuple[str, int]]:
    """(group, span) of each run of adjacent columns with the same ``group``, left to right:
    the header row above the column headers."""
    spans: list[list] = []
    for col in columns:
        if spans and spans[-1][0] == col.group:
            spans[-1][1] += 1
        else:
            spans.append([col.group, 1])
    return [(group, span) for group, span in spans]


def row_label(row: Row) -> str:
    """The row's label with its flags: "standard (subset; at chance)"."""
    return f"{row.label} ({'; '.join(row.flags)})" if row.flags else row.label


@dataclass
class Table:
    key: str            # file-safe identifier, e.g. "corruptions_imagenet-c"
    title: str
    caption: str
    columns: list[Col]
    rows: list[Row]
    row_header: str = "Model"
    notes: list[str] = field(default_factory=list)     # footnotes: what each flag means here

    def frame(self) -> pd.DataFrame:
        """Numbers as shown (percent columns x100), one column per value and interval bound."""
        records = []
        for row in self.rows:
            rec: dict[str, object] = {self.row_header: row.label, "published": row.published,
                                      "flags": "; ".join(row.flags)}
            for col in self.columns:
                scale = 100.0 if col.kind == "pct" else 1.0
                value = row.values.get(col.key)
                rec[col.header] = value * scale if _is_number(value) else value
                if col.key in row.intervals:
                    lo, hi = row.intervals[col.key]
                    rec[f"{col.header} CI low"] = lo * scale
                    rec[f"{col.header} CI high"] = hi * scale
                if col.key in row.spread:
                    rec[f"{col.header} SD over seeds"] = row.spread[col.key] * scale
            records.append(rec)
        return pd.DataFrame.from_records(records)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def cell_text(row: Row, col: Col, *, decimals: int = 1) -> tuple[str, str]:
    """(value, interval) as display strings; empty strings for missing values. A value with a
    spread over seeds reads "30.1 ± 0.4"."""
    value = row.values.get(col.key)
    if value is None or (isinstance(value, float) and value != value):
        return "", ""
    if col.kind == "text" or not _is_number(value):
        return str(value), ""
    scale = 100.0 if col.kind == "pct" else 1.0
    digits = decimals if col.kind == "pct" else 2
    text = f"{value * scale:.{digits}f}"
    if col.key in row.spread:
        text += f" ± {row.spread[col.key] * scale:.{digits}f}"
    if col.key not in row.intervals:
        return text, ""
    lo, hi = row.intervals[col.key]
    return text, f"{lo * scale:.{digits}f}–{hi * scale:.{digits}f}"
