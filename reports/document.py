"""The assembled report every writer renders: summary sentences, tables, plots, provenance and
definitions."""

from __future__ import annotations

from dataclasses import dataclass, field

from reports.table import Table


@dataclass(frozen=True)
class Plot:
    filename: str      # e.g. "ce_imagenet-c.png"
    title: str
    caption: str
    png: bytes


@dataclass
class Document:
    title: str
    summary: list[str]
    tables: list[Table]
    plots: list[Plot]
    provenance: list[dict]
    definitions: list[tuple[str, str]]
    reference: str
    notes: list[str] = field(default_factory=list)
