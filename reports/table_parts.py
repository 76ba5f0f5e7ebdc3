"""The parts every report table shares: short corruption labels and their groups for column
headers, a measured row carrying its run's numbers, intervals and flags, and the notes that say
what each flag shown in a table means there."""

from __future__ import annotations

from corruptions import GROUPS
from reports.analysis import RunAnalysis
from reports.coverage import COMPATIBILITY_FLAGS, compatibility, option_flags, subset_phrase
from reports.seeds import Unit
from reports.table_model import Row, Table

SHORT = {
    "gaussian_noise": "Gauss.", "shot_noise": "Shot", "impulse_noise": "Impulse",
    "defocus_blur": "Defocus", "glass_blur": "Glass", "motion_blur": "Motion",
    "zoom_blur": "Zoom", "snow": "Snow", "frost": "Frost", "fog": "Fog",
    "brightness": "Bright.", "contrast": "Contrast", "elastic_transform": "Elastic",
    "pixelate": "Pixel.", "jpeg_compression": "JPEG", "speckle_noise": "Speckle",
    "gaussian_blur": "G. blur", "spatter": "Spatter", "saturate": "Saturate",
    "translate": "Transl.", "rotate": "Rotate", "tilt": "Tilt", "scale": "Scale",
    "shear": "Shear",
}
GROUP_OF = {name: group.capitalize() for group, names in GROUPS.items() for name in names}


def short(name: str) -> str:
    """The short label of a corruption or perturbation for column headers and plot ticks."""
    return SHORT.get(name, name.replace("_", " "))


def aggregate(ra: RunAnalysis | Unit, row: Row, keys) -> None:
    """Put ``ra``'s estimate, interval (and spread over seeds) of each of ``keys`` into ``row``."""
    spread = getattr(ra, "spread", {})
    for key in keys:
        if key in ra.intervals:
            iv = ra.intervals[key]
            row.values[key] = iv.estimate
            row.intervals[key] = (iv.low, iv.high)
            if key in spread:
                row.spread[key] = spread[key]


def measured_row(ra: RunAnalysis, values: dict) -> Row:
    """A row of ``ra``'s numbers carrying its flags (red for a compatibility warning)."""
    return Row(ra.run.label, dict(values), flags=ra.flags,
               alert=compatibility(ra.run)[0] in COMPATIBILITY_FLAGS)


def with_flag_notes(table: Table, runs: list[RunAnalysis]) -> Table:
    """``table`` with one note per flag it shows: what the flag means for the rows it marks
    (``runs``: the analyses its measured rows come from)."""
    by_label = {}
    for ra in runs:
        by_label.setdefault(ra.run.label, []).append(ra)
    flagged = [r for r in table.rows if r.flags and not r.published]
    chance = [r.label for r in flagged if any(f.startswith("at chance") for f in r.flags)]
    if chance:
        table.notes.append(f"at chance ({', '.join(chance)}): the 95% interval of the clean error "
                           "(or, without a clean cell, of the mean corruption error) reaches "
                           "1 - 1/K for K classes; not ranked or compared.")
    for row in flagged:
        for ra in by_label.get(row.label, []):
            subset = subset_phrase(ra.run)
            if "subset" in row.flags and subset:
                table.notes.append(f"subset ({row.label}, {ra.run.suite}): scored on part of the "
                                   f"suite ({subset}).")
            for flag, option in option_flags(ra.run).items():
                if flag in row.flags:
                    table.notes.append(f"{flag} ({row.label}, {ra.run.suite}): scored on images generated "
                                       f"with {option}, an option that changes their bytes: not the images "
                                       "of the default generator nor of the released files, and compared "
                                       "only with runs made with the same option.")
            status, messages = compatibility(ra.run)
            if status in COMPATIBILITY_FLAGS:
                detail = "; ".join(m.rstrip(".") for m in messages) or "no detail recorded"
                table.notes.append(f"{COMPATIBILITY_FLAGS[status]} ({row.label}): {detail}.")
    table.notes = list(dict.fromkeys(table.notes))
    return table
