"""The assembled report every writer renders: summary sentences, tables, plots, provenance and
definitions."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import cached_property

from matplotlib.figure import Figure
from PIL import Image

from reports.table_model import Table

PNG_DPI = 200   # raster copies of every figure; the SVG beside it is the vector original


@dataclass(frozen=True)
class Plot:
    """One figure: ``filename`` names its PNG (e.g. "ce_imagenet-c.png"), ``svg_filename`` the
    SVG beside it; both are rendered from ``figure`` on first use. ``suites`` names the suites
    whose numbers it shows (none for a gallery of images)."""

    filename: str
    title: str
    caption: str
    figure: Figure = field(repr=False, compare=False)
    photographic: bool = False     # holds photographs: report.html embeds `jpeg`, not the SVG
    suites: tuple[str, ...] = ()

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


    @cached_property
    def jpeg(self) -> bytes:
        """The PNG re-encoded as JPEG (quality 90): a tenth of the bytes for photographs."""
        with Image.open(io.BytesIO(self.png)) as image:
            buf = io.BytesIO()
            image.convert("RGB").save(buf, format="JPEG", quality=90, dpi=(PNG_DPI, PNG_DPI))
        return buf.getvalue()

    @property
    def width_px(self) -> int:
        """The figure's width in CSS pixels (96 per inch): its size on a page."""
        return round(96 * self.figure.get_size_inches()[0])


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
