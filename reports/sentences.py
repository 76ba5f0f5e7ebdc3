"""The report's summary sentences and warnings, from an `Analysis`.

Every sentence says what was compared and on how much data (images or videos per cell, cells,
seeds), names subsets as such, never ranks a model at chance (one sentence says it is at chance
instead), and gives a refused pairing's reason in words.
"""

from __future__ import annotations

from reports.analysis import Analysis, SuiteAnalysis
from reports.coverage import compatibility_warning, images_phrase, marks_phrase
from reports.seeds import Unit


def summary_lines(analysis: Analysis, published_notes: dict[str, str] | None = None) -> list[str]:
    """Per suite: models at chance, the most robust unit with its interval and scope, the paired
    comparisons, and why published rows are left out or what they were measured on
    (``published_notes``: suite -> line)."""
    notes = published_notes or {}
    lines = []
    for sa in analysis.suites:
        lines += [f"{sa.suite}: {u.chance.sentence(u.label, sa.suite)}"
                  for u in sa.units if u.chance is not None]
        lines += _ranking_lines(sa)
        if sa.suite in notes:
            lines.append(f"{sa.suite}: {notes[sa.suite]}")
    suites = [sa.suite for sa in analysis.suites]
    if len(suites) > 1:
        lines.append("Different suites are reported separately and never compared image by "
                     f"image ({', '.join(suites)}).")
    return lines


def warnings(analysis: Analysis) -> list[str]:
    """One sentence per run scored despite a compatibility warning (shown in red)."""
    runs = [ra.run for sa in analysis.suites for ra in sa.runs]
    if analysis.baseline_run is not None:
        runs.append(analysis.baseline_run)
    return [w for w in map(compatibility_warning, runs) if w]


def _ranking_lines(sa: SuiteAnalysis) -> list[str]:
    if sa.primary is None:
        return [f"{sa.suite}: no aggregate measure could be computed."]
    if not sa.ranking:
        return []
    best = sa.unit(sa.ranking[0])
    iv = best.intervals[sa.primary]
    head = (f"{sa.suite}: {best.label} has {sa.primary_label} {100 * iv.estimate:.1f} "
            f"(95% CI {100 * iv.low:.1f} to {100 * iv.high:.1f}; {scope(best)})")
    at_chance = len(sa.units) - len(sa.ranking)
    if len(sa.ranking) == 1:
        alone = ("it is the only model scored on this suite" if not at_chance else
                 "it is the only model on this suite that is not at chance")
        return [f"{head}; {alone}."]
    rest = " not at chance" if at_chance else ""
    lines = [f"{head}, the lowest of {len(sa.ranking)} models{rest}."]
    lines += [f"{sa.suite}: {c.sentence}" for c in sa.comparisons]
    lines += [f"{sa.suite}: note ({c.better} vs {c.other}): {'; '.join(c.notes)}."
              for c in sa.comparisons if c.notes]
    return lines


def scope(unit: Unit) -> str:
    """"n = 200 images per cell, 76 cells[, 3 seeds][; a subset of the suite (...)][; fast JPEG]"."""
    run = unit.run
    cells = len(run.cells)
    text = f"{images_phrase([m.run for m in unit.members])}, {cells} cell{'s' * (cells > 1)}"
    if unit.grouped:
        text += f", mean of {len(unit.members)} training seeds"
    return text + marks_phrase(run)
