"""Every figure of a report, in reading order (`build_plots`). The figures live in
``plot_charts`` (bars and curves with 95% intervals), ``plot_reliability`` and ``plot_gallery``;
their look in ``plot_style``. Each function returns a `Plot`: the matplotlib figure, rendered
on demand as SVG and as a PNG of `PNG_DPI` dots per inch."""

from __future__ import annotations

from dataclasses import replace

from reports.analysis import Analysis
from reports.document import PNG_DPI, Plot
from reports.plot_charts import (
    ce_bars,
    flip_bars,
    severity_grid,
    severity_lines,
    threed_scatter,
)
from reports.plot_gallery import gallery, suite_gallery, suite_preset
from reports.plot_reliability import reliability

__all__ = ["PNG_DPI", "Plot", "build_plots", "ce_bars", "flip_bars", "gallery", "reliability",
           "severity_grid", "severity_lines", "suite_gallery", "suite_preset", "threed_scatter"]


def build_plots(analysis: Analysis) -> list[Plot]:
    """Every figure of the report, in reading order: per suite its charts, then the 3DCC scatter,
    then one gallery per -C suite (its own images, else the bundled photograph per preset)."""
    boot = {"n_boot": analysis.n_boot, "seed": analysis.seed}
    plots: list[Plot] = []
    galleries: list[Plot] = []
    fallback: dict[str, list[str]] = {}      # preset -> sentences: which suite, and why
    for sa in analysis.suites:
        if sa.kind == "p":
            plots.append(flip_bars(sa, **boot))
            continue
        plots += [ce_bars(sa, **boot), severity_lines(sa, **boot), severity_grid(sa, **boot),
                  severity_lines(sa, calibration=True), reliability(sa)]
        own, reason = suite_gallery([ra.run for ra in sa.runs])
        if own is not None:
            galleries.append(own)
        elif sa.suite != "imagenet-3dcc":     # 3DCC has no kernels to apply to the photograph
            fallback.setdefault(suite_preset(sa.suite), []).append(
                f"The images of {sa.suite} could not be read ({reason.rstrip('.')}).")
    scatter = threed_scatter(analysis)
    if scatter is not None:
        plots.append(scatter)
    for preset, why in fallback.items():
        photo = gallery(preset)
        galleries.append(replace(photo, caption=f"{photo.caption} {' '.join(why)}"))
    return plots + galleries
