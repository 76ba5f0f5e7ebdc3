"""The assembled report every writer renders: summary sentences, tables, plots, provenance and
definitions."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import cached_property

from matplotlib.figure import Figure

from reports.table import Table

PNG_DPI = 200   # raster copies of every figure; the SVG beside it is the vector original


@dataclass(frozen=True)
class Plot:
    """One figure: ``filename`` names its PNG (e.g. "ce_imagenet-c.png"), ``svg_filename`` the
    SVG beside it; both are rendered from ``figure`` on first use."""

    filename: str
    title: str
    caption: str
    figure: Figure = field(repr=False, compare=False)

    @property
    def svg_filename(self) -> str:
        return self.filename.rsplit(".", 1)[0] + ".svg"

    @cached_property
    def png(self) -> bytes:
        """The figure as PNG at ``PNG_DPI`` dots per inch."""
        return _render(self.figure, "png", dpi=PNG_DPI, metadata={"Software": None})

    @cached_property
    def svg(self) -> bytes:
        """The figure as SVG (text as paths, raster images embedded: a self-contained file)."""
        return _render(self.figure, "svg", metadata={"Date": None, "Creator": None})


def _render(figure: Figure, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    figure.savefig(buf, format=fmt, **kwargs)
    return buf.getvalue()


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
    warnings: list[str] = field(default_factory=list)   # compatibility warnings: shown in red
