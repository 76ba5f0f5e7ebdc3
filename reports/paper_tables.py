"""The report's tables in the layouts the papers use, built from an `Analysis`.

- corruption table (ImageNet-C style): clean error, CE (or error) per corruption grouped
  Noise / Blur / Weather / Digital, mCE and relative mCE (or mean error), one row per model;
- summary table (CIFAR-C style): clean and mean corruption error with intervals, calibration;
- methods x architectures (the Dynamic Mixup paper's Tables 1-2) when several architectures;
- perturbation table (ImageNet-P style): FP (FR with a baseline) per perturbation, mFP/mFR, mT5D;
- ImageNet-3DCC beside ImageNet-C; paired comparisons;
- mean ± standard deviation over training seeds, when results differ only in the seed.

Every measured row carries its run's flags ("dataset mismatch", "subset", "at chance"), and the
table's notes say what each flag means there. Published rows appear only where
`published.decide` allows them.
"""

from __future__ import annotations

import statistics

import numpy as np

from corruptions import EXTRA
from reports import published
from reports.analysis import Analysis, RunAnalysis, SuiteAnalysis, imagenet_c_and_3dcc
from reports.coverage import COMPATIBILITY_FLAGS, compatibility
from reports.measures import ALEXNET, corruption_means, corruption_ratios
from reports.table_model import Col, Row, Table
from reports.table_parts import GROUP_OF, aggregate, measured_row, short, with_flag_notes


def build_tables(analysis: Analysis, reference: str) -> list[Table]:
    """Every table of the report, in reading order."""
    papers = {sa.suite: published.decide(reference, sa.suite, [ra.run for ra in sa.runs])[0]
              for sa in analysis.suites}
    tables: list[Table] = []
    for sa in analysis.suites:
        paper = papers[sa.suite]
        if sa.kind == "c":
            own = [summary_table(sa, paper), corruption_table(sa, paper), seed_table(sa),
                   architecture_table(sa)]
            own = [with_flag_notes(t, sa.runs) for t in own if t is not None]
            own.extend(filter(None, [published.method_architecture_table(paper, sa.suite)]))
        else:
            own = [with_flag_notes(t, sa.runs) for t in (perturbation_table(sa, paper), seed_table(sa))
                   if t is not None]
        note = generated_note(sa, paper)
        for table in own:
            if note and any(row.published for row in table.rows):
                table.notes.append(note)
        tables.extend(own)
    ablation = [s for s, p in papers.items() if p == "dynmix-paper"]
    tables.extend(filter(None, [threed_table(analysis), comparison_table(analysis),
                                published.ablation_table("dynmix-paper", ablation)]))
    return tables


def generated_note(sa: SuiteAnalysis, paper: str | None) -> str | None:
    """What the published rows of ``paper`` beside ``sa``'s runs of a generated suite were
    measured on (``published.generated_note``), with CE's AlexNet table on ImageNet-C."""
    return published.generated_note(paper, sa.suite, [ra.run for ra in sa.runs],
                                     alexnet=sa.kind == "c" and _uses_alexnet(sa))


def _uses_alexnet(sa: SuiteAnalysis) -> bool:
    return all(ra.baseline is ALEXNET for ra in sa.runs)


def _baseline_phrase(sa: SuiteAnalysis) -> str:
    names = {ra.baseline.name for ra in sa.runs if ra.baseline is not None}
    return " / ".join(sorted(names))


def corruption_table(sa: SuiteAnalysis, reference: str | None) -> Table:
    """ImageNet-C layout; CE per corruption when every run has a baseline, else mean error."""
    ratios = {ra.run.label: corruption_ratios(ra.run, ra.baseline) for ra in sa.runs}
    names = list(dict.fromkeys(n for ra in sa.runs for n in ra.run.cell_names()))
    use_ce = all(set(ra.run.cell_names()) <= set(ratios[ra.run.label]) for ra in sa.runs)
    columns = [Col("clean_error", "Clean err.")] if any(
        "clean_error" in ra.intervals for ra in sa.runs) else []
    columns += [Col(n, short(n), GROUP_OF.get(n, "Extra" if n in EXTRA else "Corruptions"))
                for n in names]
    aggregates = ["mce", "relative_mce"] if use_ce else ["mean_error"]
    labels = {"mce": "mCE", "relative_mce": "Rel. mCE", "mean_error": "Mean err."}
    columns += [Col(k, labels[k]) for k in aggregates]
    rows = []
    for ra in sa.runs:
        values = ratios[ra.run.label] if use_ce else corruption_means(ra.run)
        row = measured_row(ra, values)
        aggregate(ra, row, ["clean_error", *aggregates])
        rows.append(row)
    if use_ce and _uses_alexnet(sa) and reference:
        rows += published.corruption_rows(reference, sa.suite)
    unit = (f"CE (%) normalised by {_baseline_phrase(sa)}, ratio of sums over severities 1-5"
            if use_ce else "top-1 error (%) averaged over the severities scored")
    return Table(f"corruptions_{sa.suite}", f"{sa.title}: {'CE' if use_ce else 'error'} per corruption",
                 f"{unit}; aggregates with 95% bootstrap intervals over test images. "
                 "Extras (speckle, Gaussian blur, spatter, saturate) are shown but not averaged.",
                 columns, rows)


def summary_table(sa: SuiteAnalysis, reference: str | None) -> Table:
    """CIFAR-C layout: one row per model with clean / mean corruption error and calibration."""
    columns = [Col("architecture", "Arch.", kind="text"), Col("method", "Method", kind="text")]
    keys = [k for k in ("clean_error", "mean_error", "mce", "relative_mce")
            if any(k in ra.intervals for ra in sa.runs)]
    headers = {"clean_error": "Clean err.", "mean_error": "Mean corruption err.", "mce": "mCE",
               "relative_mce": "Rel. mCE"}
    columns += [Col(k, headers[k]) for k in keys]
    columns += [Col("rms_clean", "RMS calib. clean"), Col("rms_corrupted", "RMS calib. corrupted")]
    rows = []
    for ra in sa.runs:
        ck = ra.run.checkpoint
        row = measured_row(ra, {"architecture": ck.get("arch"), "method": ck.get("method")})
        aggregate(ra, row, keys)
        row.values["rms_clean"] = ra.calibration.get(("clean", 0))
        row.values["rms_corrupted"] = _mean_corrupted(ra)
        rows.append(row)
    if reference and (sa.suite != "imagenet-c" or _uses_alexnet(sa)):
        rows += published.summary_rows(reference, sa.suite)
    return Table(f"summary_{sa.suite}", f"{sa.title}: summary",
                 "Top-1 error (%) with 95% bootstrap intervals over test images; mean corruption "
                 "error = plain mean over the benchmark corruptions x severities scored. RMS "
                 "calibration error (%): adaptive bins of 100 images, every bin counted; "
                 "'corrupted' = mean over corrupted cells.",
                 columns, rows)


def _mean_corrupted(ra: RunAnalysis) -> float | None:
    """Mean RMS calibration error over the corrupted cells that have one."""
    corrupted = [v for k, v in ra.calibration.items() if k[0] != "clean" and v is not None]
    return float(np.mean(corrupted)) if corrupted else None


def architecture_table(sa: SuiteAnalysis) -> Table | None:
    """Methods x architectures of mean corruption error, when several architectures are given
    (the training seeds of one recipe count once, as their mean)."""
    cells: dict[tuple[str, str], float] = {}
    chance: dict[str, list[str]] = {}
    for unit in sa.units:
        arch, method = unit.run.checkpoint.get("arch"), unit.run.checkpoint.get("method")
        if arch and method and "mean_error" in unit.intervals:
            if (method, arch) in cells:
                return None
            cells[(method, arch)] = unit.intervals["mean_error"].estimate
            if unit.chance is not None:
                chance.setdefault(method, []).append(arch)
    archs = list(dict.fromkeys(a for _, a in cells))
    if len(archs) < 2:
        return None
    rows = []
    for method in dict.fromkeys(m for m, _ in cells):
        values = {a: cells.get((method, a)) for a in archs}
        present = [v for v in values.values() if v is not None]
        values["mean"] = float(np.mean(present)) if len(present) == len(archs) else None
        flags = [f"at chance: {', '.join(chance[method])}"] if method in chance else []
        rows.append(Row(method, values, flags=flags))
    return Table(f"methods_{sa.suite}", f"{sa.title}: mean corruption error by method and architecture",
                 "Mean corruption error (%); 'Mean' over architectures (as the paper's Tables 1-2).",
                 [Col(a, a) for a in archs] + [Col("mean", "Mean")], rows, row_header="Method")


def seed_table(sa: SuiteAnalysis) -> Table | None:
    """Mean ± standard deviation over training seeds, one row per recipe with several seeds;
    intervals resample seeds and images (the per-seed rows are in the suite's other tables)."""
    groups = sa.groups
    if not groups:
        return None
    keys = [k for k in ("clean_error", "mean_error", "mce", "relative_mce", "mfp", "mfr",
                        "mt5d_unnormalized", "mt5d") if any(k in u.intervals for u in groups)]
    headers = {"clean_error": "Clean err.", "mean_error": "Mean corruption err.", "mce": "mCE",
               "relative_mce": "Rel. mCE", "mfp": "mFP", "mfr": "mFR",
               "mt5d_unnormalized": "Mean T5D", "mt5d": "mT5D"}
    columns = [Col("seeds", "Seeds", kind="text")]
    columns += [Col(k, headers[k], kind="num" if k == "mt5d_unnormalized" else "pct") for k in keys]
    if sa.kind == "c":
        columns.append(Col("rms_corrupted", "RMS calib. corrupted"))
    rows = []
    for unit in groups:
        row = Row(unit.label, {"seeds": ", ".join(map(str, unit.seeds))},
                  flags=["at chance"] if unit.chance else [],
                  alert=any(compatibility(m.run)[0] in COMPATIBILITY_FLAGS for m in unit.members))
        aggregate(unit, row, keys)
        rms = [_mean_corrupted(m) for m in unit.members]
        if sa.kind == "c" and None not in rms:
            row.values["rms_corrupted"] = statistics.fmean(rms)
            row.spread["rms_corrupted"] = statistics.stdev(rms)
        rows.append(row)
    members = "; ".join(f"{u.label}: {', '.join(m.run.label for m in u.members)}" for u in groups)
    return Table(f"seeds_{sa.suite}", f"{sa.title}: mean ± standard deviation over training seeds",
                 "Mean over seeds ± sample standard deviation over seeds (%), with 95% intervals "
                 "of a bootstrap that resamples seeds and, in every replicate, the same test "
                 "images (RMS calibration: mean over corrupted cells, no interval). Per-seed "
                 f"rows: {members}.", columns, rows, row_header="Recipe")


def perturbation_table(sa: SuiteAnalysis, reference: str | None) -> Table:
    """ImageNet-P layout: FP per perturbation (FR with a baseline), mFP / mFR, mT5D."""
    names = list(dict.fromkeys(n for ra in sa.runs for n in ra.run.cell_names()))
    ratios = {ra.run.label: corruption_ratios(ra.run, ra.baseline, "flip") for ra in sa.runs}
    use_fr = all(set(ra.run.cell_names()) <= set(ratios[ra.run.label]) for ra in sa.runs)
    keys = ["mfr", "mt5d"] if use_fr else ["mfp", "mt5d_unnormalized"]
    headers = {"mfr": "mFR", "mt5d": "mT5D", "mfp": "mFP", "mt5d_unnormalized": "Mean T5D"}
    columns = [Col(n, short(n), "Flip rate" if use_fr else "Flip probability") for n in names]
    columns += [Col(k, headers[k], kind="num" if k == "mt5d_unnormalized" else "pct")
                for k in keys if any(k in ra.intervals for ra in sa.runs)]
    rows = []
    for ra in sa.runs:
        values = ratios[ra.run.label] if use_fr else corruption_means(ra.run, "flip")
        row = measured_row(ra, values)
        aggregate(ra, row, keys)
        rows.append(row)
    if use_fr and reference:
        rows += published.perturbation_rows(reference, sa.suite)
    unit = (f"flip rate FR = FP / FP of {_baseline_phrase(sa)} (%)" if use_fr
            else "flip probability (%) (no baseline given, so no FR)")
    return Table(f"perturbations_{sa.suite}", f"{sa.title}: {'flip rate' if use_fr else 'flip probability'} "
                 "per perturbation", f"{unit}; mean top-5 distance unnormalised unless a baseline "
                 "is given; 95% bootstrap intervals over videos.", columns, rows)


def threed_table(analysis: Analysis) -> Table | None:
    """Mean error on ImageNet-3DCC beside ImageNet-C, per model present in both (with the
    notes on the flags of its rows, from both suites)."""
    both = imagenet_c_and_3dcc(analysis)
    if both is None:
        return None
    imagenet_c, threed, labels = both
    rows = []
    for label in labels:
        flags = imagenet_c.run(label).flags + threed.run(label).flags
        row = Row(label, {}, flags=list(dict.fromkeys(flags)))
        for prefix, sa in (("c", imagenet_c), ("3d", threed)):
            ra = sa.run(label)
            for key in ("mean_error", "mce"):
                if key in ra.intervals:
                    iv = ra.intervals[key]
                    row.values[f"{prefix}_{key}"] = iv.estimate
                    row.intervals[f"{prefix}_{key}"] = (iv.low, iv.high)
        rows.append(row)
    columns = [Col("c_mean_error", "ImageNet-C mean err."), Col("3d_mean_error", "3DCC mean err."),
               Col("c_mce", "ImageNet-C mCE"), Col("3d_mce", "3DCC mCE")]
    columns = [col for col in columns if any(col.key in r.values for r in rows)]
    table = Table("imagenet-3dcc_vs_imagenet-c", "ImageNet-3DCC vs ImageNet-C",
                  "Mean top-1 error (%) over corruptions x severities (and mCE where a baseline "
                  "exists) with 95% bootstrap intervals.", columns, rows)
    return with_flag_notes(table, imagenet_c.runs + threed.runs)


def comparison_table(analysis: Analysis) -> Table | None:
    """The most robust run of each suite against every other run of that suite."""
    rows = []
    for sa in analysis.suites:
        for cmp in sa.comparisons:
            row = Row(f"{sa.title}: {cmp.other} - {cmp.better}",
                      {"measure": cmp.measure_label, "verdict": cmp.sentence})
            if cmp.difference is not None:
                diff = cmp.difference
                row.values["difference"] = diff.estimate
                row.intervals["difference"] = (diff.low, diff.high)
            rows.append(row)
    if not rows:
        return None
    return Table("paired_differences", "Paired differences",
                 "Difference in the suite's main measure (points) with a 95% paired bootstrap "
                 "interval over the same test images; refused when the images differ.",
                 [Col("measure", "Measure", kind="text"), Col("difference", "Difference"),
                  Col("verdict", "Verdict", kind="text")], rows, row_header="Comparison")
