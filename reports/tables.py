"""The report's tables in the layouts the papers use, built from an `Analysis`.

- corruption table (ImageNet-C style): clean error, CE (or error) per corruption grouped
  Noise / Blur / Weather / Digital, mCE and relative mCE (or mean error), one row per model;
- summary table (CIFAR-C style): clean and mean corruption error with intervals, calibration;
- methods x architectures (the Dynamic Mixup paper's Tables 1-2) when several architectures;
- perturbation table (ImageNet-P style): FP (FR with a baseline) per perturbation, mFP/mFR, mT5D;
- ImageNet-3DCC beside ImageNet-C; paired comparisons.
"""

from __future__ import annotations

import numpy as np

from corruptions import GROUPS
from reports import published
from reports.analysis import Analysis, RunAnalysis, SuiteAnalysis, imagenet_c_and_3dcc
from reports.measures import ALEXNET, corruption_means, corruption_ratios
from reports.table import Col, Row, Table

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
    return SHORT.get(name, name.replace("_", " "))


def build_tables(analysis: Analysis, reference: str) -> list[Table]:
    """Every table of the report, in reading order."""
    tables: list[Table] = []
    for sa in analysis.suites:
        if sa.kind == "c":
            tables.append(summary_table(sa, reference))
            tables.append(corruption_table(sa, reference))
            tables.extend(filter(None, [architecture_table(sa),
                                        published.method_architecture_table(reference, sa.suite)]))
        else:
            tables.append(perturbation_table(sa, reference))
    tables.extend(filter(None, [threed_table(analysis), comparison_table(analysis),
                                published.ablation_table(reference,
                                                         [s.suite for s in analysis.suites])]))
    return tables


def _aggregate(ra: RunAnalysis, row: Row, keys) -> None:
    for key in keys:
        if key in ra.intervals:
            iv = ra.intervals[key]
            row.values[key] = iv.estimate
            row.intervals[key] = (iv.low, iv.high)


def _uses_alexnet(sa: SuiteAnalysis) -> bool:
    return all(ra.baseline is ALEXNET for ra in sa.runs)


def _baseline_phrase(sa: SuiteAnalysis) -> str:
    names = {ra.baseline.name for ra in sa.runs if ra.baseline is not None}
    return " / ".join(sorted(names))


def corruption_table(sa: SuiteAnalysis, reference: str) -> Table:
    """ImageNet-C layout; CE per corruption when every run has a baseline, else mean error."""
    ratios = {ra.run.label: corruption_ratios(ra.run, ra.baseline) for ra in sa.runs}
    names = list(dict.fromkeys(n for ra in sa.runs for n in ra.run.cell_names()))
    use_ce = all(set(ra.run.cell_names()) <= set(ratios[ra.run.label]) for ra in sa.runs)
    columns = [Col("clean_error", "Clean err.")] if any(
        "clean_error" in ra.intervals for ra in sa.runs) else []
    columns += [Col(n, short(n), GROUP_OF.get(n, "Extra" if _extra(n) else "Corruptions"))
                for n in names]
    aggregates = ["mce", "relative_mce"] if use_ce else ["mean_error"]
    labels = {"mce": "mCE", "relative_mce": "Rel. mCE", "mean_error": "Mean err."}
    columns += [Col(k, labels[k]) for k in aggregates]
    rows = []
    for ra in sa.runs:
        values = ratios[ra.run.label] if use_ce else corruption_means(ra.run)
        row = Row(ra.run.label, dict(values))
        _aggregate(ra, row, ["clean_error", *aggregates])
        rows.append(row)
    if use_ce and _uses_alexnet(sa):
        rows += published.corruption_rows(reference, sa.suite)
    unit = (f"CE (%) normalised by {_baseline_phrase(sa)}, ratio of sums over severities 1-5"
            if use_ce else "top-1 error (%) averaged over the severities scored")
    return Table(f"corruptions_{sa.suite}", f"{sa.suite}: {'CE' if use_ce else 'error'} per corruption",
                 f"{unit}; aggregates with 95% bootstrap intervals over test images. "
                 "Extras (speckle, Gaussian blur, spatter, saturate) are shown but not averaged.",
                 columns, rows)


def _extra(name: str) -> bool:
    return name in ("speckle_noise", "gaussian_blur", "spatter", "saturate")


def summary_table(sa: SuiteAnalysis, reference: str) -> Table:
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
        row = Row(ra.run.label, {"architecture": ck.get("arch"), "method": ck.get("method")})
        _aggregate(ra, row, keys)
        row.values["rms_clean"] = ra.calibration.get(("clean", 0))
        corrupted = [v for k, v in ra.calibration.items() if k[0] != "clean" and v is not None]
        row.values["rms_corrupted"] = float(np.mean(corrupted)) if corrupted else None
        rows.append(row)
    if sa.suite != "imagenet-c" or _uses_alexnet(sa):
        rows += published.summary_rows(reference, sa.suite)
    return Table(f"summary_{sa.suite}", f"{sa.suite}: summary",
                 "Top-1 error (%) with 95% bootstrap intervals over test images; mean corruption "
                 "error = plain mean over the benchmark corruptions x severities scored. RMS "
                 "calibration error (%): adaptive bins of 100 images, every bin counted; "
                 "'corrupted' = mean over corrupted cells.",
                 columns, rows)


def architecture_table(sa: SuiteAnalysis) -> Table | None:
    """Methods x architectures of mean corruption error, when several architectures are given."""
    cells: dict[tuple[str, str], float] = {}
    for ra in sa.runs:
        arch, method = ra.run.checkpoint.get("arch"), ra.run.checkpoint.get("method")
        if arch and method and "mean_error" in ra.intervals:
            if (method, arch) in cells:
                return None
            cells[(method, arch)] = ra.intervals["mean_error"].estimate
    archs = list(dict.fromkeys(a for _, a in cells))
    if len(archs) < 2:
        return None
    rows = []
    for method in dict.fromkeys(m for m, _ in cells):
        values = {a: cells.get((method, a)) for a in archs}
        present = [v for v in values.values() if v is not None]
        values["mean"] = float(np.mean(present)) if len(present) == len(archs) else None
        rows.append(Row(method, values))
    return Table(f"methods_{sa.suite}", f"{sa.suite}: mean corruption error by method and architecture",
                 "Mean corruption error (%); 'Mean' over architectures (as the paper's Tables 1-2).",
                 [Col(a, a) for a in archs] + [Col("mean", "Mean")], rows, row_header="Method")


def perturbation_table(sa: SuiteAnalysis, reference: str) -> Table:
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
        row = Row(ra.run.label, dict(values))
        _aggregate(ra, row, keys)
        rows.append(row)
    if use_fr:
        rows += published.perturbation_rows(reference, sa.suite)
    unit = (f"flip rate FR = FP / FP of {_baseline_phrase(sa)} (%)" if use_fr
            else "flip probability (%) (no baseline given, so no FR)")
    return Table(f"perturbations_{sa.suite}", f"{sa.suite}: {'flip rate' if use_fr else 'flip probability'} "
                 "per perturbation", f"{unit}; mean top-5 distance unnormalised unless a baseline "
                 "is given; 95% bootstrap intervals over videos.", columns, rows)


def threed_table(analysis: Analysis) -> Table | None:
    """Mean error on ImageNet-3DCC beside ImageNet-C, per model present in both."""
    both = imagenet_c_and_3dcc(analysis)
    if both is None:
        return None
    c, d3, labels = both
    rows = []
    for label in labels:
        row = Row(label, {})
        for prefix, sa in (("c", c), ("3d", d3)):
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
    return Table("imagenet-3dcc_vs_imagenet-c", "ImageNet-3DCC vs ImageNet-C",
                 "Mean top-1 error (%) over corruptions x severities (and mCE where a baseline "
                 "exists) with 95% bootstrap intervals.", columns, rows)


def comparison_table(analysis: Analysis) -> Table | None:
    """The most robust run of each suite against every other run of that suite."""
    rows = []
    for sa in analysis.suites:
        for cmp in sa.comparisons:
            row = Row(f"{sa.suite}: {cmp.other} - {cmp.better}",
                      {"measure": cmp.measure_label, "verdict": cmp.sentence})
            if cmp.difference is not None:
                d = cmp.difference
                row.values["difference"] = d.estimate
                row.intervals["difference"] = (d.low, d.high)
            rows.append(row)
    if not rows:
        return None
    return Table("paired_differences", "Paired differences",
                 "Difference in the suite's main measure (points) with a 95% paired bootstrap "
                 "interval over the same test images; refused when the images differ.",
                 [Col("measure", "Measure", kind="text"), Col("difference", "Difference"),
                  Col("verdict", "Verdict", kind="text")], rows, row_header="Comparison")
