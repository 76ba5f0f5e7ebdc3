"""What part of its suite a results file covers, whether it was scored despite a
compatibility warning, and whether its generated images were made with a byte-changing option:
the facts behind the "subset", "dataset mismatch", "unverified checkpoint" and option marks
("fast JPEG", ...) and behind leaving published rows out.

Files written before these facts were recorded are read as complete (no ``subset.complete``)
and, without a recorded ``compatibility``, checked by comparing the checkpoint's recorded
dataset with the suite's dataset family.
"""

from __future__ import annotations

from reports.display import display_text
from reports.load import ScoredRun
from robustbench_dm.suites.base import byte_options, option_phrase
from robustbench_dm.suites.base import subset_phrase as suite_subset_phrase
from robustbench_dm.suites.families import canonical_dataset, suite_family

#: compatibility status -> the mark shown beside the model's numbers
COMPATIBILITY_FLAGS = {"mismatch": "dataset mismatch", "unverified": "unverified checkpoint"}
SUBSET_FLAG = "subset"


def subset_phrase(run: ScoredRun) -> str | None:
    """Why ``run`` covers only part of its suite ("at most 10 images per cell", "only some of
    its cells"), or None when its metadata records the whole suite (or predates the record)."""
    return suite_subset_phrase(run.metadata.get("subset"), run.kind)


def compatibility(run: ScoredRun) -> tuple[str, list[str]]:
    """("ok" | "mismatch" | "unverified", the recorded messages). A file that records none is
    a "mismatch" when its checkpoint's dataset is not the suite's dataset family."""
    if run.compatibility:
        status = str(run.compatibility.get("status") or "ok")
        return status, [display_text(m) for m in run.compatibility.get("messages") or []]
    family, dataset = suite_family(run.suite), run.checkpoint.get("dataset")
    if family is None or not dataset or canonical_dataset(dataset) == family.dataset:
        return "ok", []
    return "mismatch", [(f"the checkpoint records dataset {display_text(dataset)}, but "
                         f"{run.suite} holds {family.dataset} images")]


def compatibility_warning(run: ScoredRun) -> str | None:
    """The sentence a report shows for a run scored despite a compatibility warning, else None."""
    status, messages = compatibility(run)
    if status not in COMPATIBILITY_FLAGS:
        return None
    messages = [m.rstrip(".") for m in messages]
    what = ("was scored despite a mismatch between the checkpoint and the suite"
            if status == "mismatch" else "was scored from a checkpoint that records no dataset, "
            "so its fit to the suite is unverified")
    detail = f": {'; '.join(messages)}" if messages else ""
    return f"{run.label} ({run.suite}, {run.shown_path}) {what}{detail}."


def option_flags(run: ScoredRun) -> dict[str, str]:
    """Mark -> "name=value" of each byte-changing option ``run``'s generated suite was made with
    ({"fast JPEG": "fast_jpeg=True"}); empty for released files and default generated suites."""
    return {option_phrase(k, v): f"{k}={v}" for k, v in byte_options(run.metadata).items()}


def marks_phrase(run: ScoredRun) -> str:
    """``"; a subset of the suite (...); fast JPEG"``: what a scope phrase about ``run``'s
    numbers ends with (empty for a whole suite made the default way)."""
    subset = subset_phrase(run)
    text = f"; a subset of the suite ({subset})" if subset else ""
    return text + "".join(f"; {flag}" for flag in option_flags(run))


def run_flags(run: ScoredRun) -> list[str]:
    """Marks shown beside every number of ``run``: "dataset mismatch" / "unverified checkpoint",
    "subset" and its byte-changing options ("fast JPEG", ...; at-chance marks come from the
    analysis)."""
    flags = []
    status, _ = compatibility(run)
    if status in COMPATIBILITY_FLAGS:
        flags.append(COMPATIBILITY_FLAGS[status])
    if subset_phrase(run) is not None:
        flags.append(SUBSET_FLAG)
    return flags + list(option_flags(run))


def missing_cells(run: ScoredRun, names, levels) -> list[tuple[str, int]]:
    """Cells of ``names`` x ``levels`` that ``run`` does not hold."""
    return [(n, lvl) for n in names for lvl in levels if (n, lvl) not in run.cells]


def images_phrase(runs: list[ScoredRun]) -> str:
    """"n = 200 images per cell" (or "100 to 200"), videos for -P suites."""
    sizes = sorted({c.n for r in runs for c in r.cells.values()})
    unit = "videos" if runs[0].kind == "p" else "images"
    count = f"{sizes[0]}" if len(sizes) == 1 else f"{sizes[0]} to {sizes[-1]}"
    return f"n = {count} {unit} per cell"
