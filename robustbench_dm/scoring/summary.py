"""summary.json: the headline numbers of one results file (schema 1, fractions, not %).

-C suites::

    {"schema": 1, "suite": str, "clean_error": float|null, "mean_error": float,
     "mce": float|null, "relative_mce": float|null,
     "corruptions": {name: {"errors": [5 floats], "ce": float|null,
                            "rms_calibration_error": [5 floats]}}}

``errors[s - 1]`` is severity s (``null`` where a severity was not scored; an RMS calibration
error is ``null`` for cells smaller than one bin of 100). ``mean_error`` is the plain mean over
the scored (corruption, severity) cells of the benchmark corruptions (the 4 ImageNet-C extras
are reported but excluded, as in the CIFAR-C convention). CE/mCE are normalised by a baseline
results file when given; otherwise by the published AlexNet table, but only for ``imagenet-c``
with all 15 benchmark corruptions at 5 severities; otherwise they are ``null``.

-P suites::

    {"schema": 1, "suite": str,
     "perturbations": {key: {"flip_probability": float, "top5_distance": float,
                             "fr": float|null, "t5d": float|null}},
     "mfp": float, "mt5d_unnormalized": float, "mfr": float|null, "mt5d": float|null}

``key`` is the perturbation name for difficulty 1 and ``<name>_<difficulty>`` otherwise (the
ImageNet-P folder convention). FR/T5D ratios and mFR/mT5D need a baseline results file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from robustbench_dm import metrics
from robustbench_dm.atomic import write_atomic
from robustbench_dm.errors import UserError

if TYPE_CHECKING:
    from robustbench_dm.scoring.results import CellRecord, Results

SCHEMA = 1
SEVERITIES = len(metrics.SEVERITIES)


def cell_calibration(record: "CellRecord") -> float | None:
    """RMS calibration error of a -C cell (:func:`robustbench_dm.metrics.cell_calibration`)."""
    return metrics.cell_calibration(record.confidence, record.correct)


def perturbation_key(name: str, level: int) -> str:
    """Summary key of a -P cell: ``name`` for difficulty 1, ``name_<d>`` otherwise."""
    return name if level == 1 else f"{name}_{level}"


def summarize(results: "Results", baseline: "Results | None" = None) -> dict[str, Any]:
    """The summary dict of ``results`` (see the module docstring)."""
    if baseline is not None and baseline.kind != results.kind:
        raise UserError(f"baseline {baseline.path} holds -{baseline.kind.upper()} results, but "
                        f"{results.path} holds -{results.kind.upper()} results")
    if results.kind == "c":
        return _summarize_c(results, baseline)
    if results.kind == "p":
        return _summarize_p(results, baseline)
    raise UserError(f"{results.path}: unknown results kind {results.kind!r}")


def _severity_table(results: "Results") -> tuple[float | None, dict[str, list[float | None]],
                                                  dict[str, list[float | None]]]:
    """Clean error, and per corruption the error / calibration per severity (``None`` gaps)."""
    clean_error = None
    errors: dict[str, list[float | None]] = {}
    calibration: dict[str, list[float | None]] = {}
    for record in results.iter_cells():
        if record.name == "clean":
            clean_error = record.error
            continue
        width = max(SEVERITIES, record.level)
        row = errors.setdefault(record.name, [None] * SEVERITIES)
        cal = calibration.setdefault(record.name, [None] * SEVERITIES)
        row.extend([None] * (width - len(row)))
        cal.extend([None] * (width - len(cal)))
        row[record.level - 1] = record.error
        cal[record.level - 1] = cell_calibration(record)
    return clean_error, errors, calibration


def _complete(errors: Mapping[str, list[float | None]]) -> dict[str, list[float]]:
    """Corruptions scored at every severity 1..5."""
    return {name: row for name, row in errors.items()
            if len(row) >= SEVERITIES and all(e is not None for e in row[:SEVERITIES])}


def _summarize_c(results: "Results", baseline: "Results | None") -> dict[str, Any]:
    clean_error, errors, calibration = _severity_table(results)
    if not errors:
        raise UserError(f"{results.path} holds no corruption cells to summarise")
    complete = _complete(errors)

    base_errors: Mapping[str, Any] | None = None
    base_arg: str | Mapping[str, Any] | None = None
    base_clean: float | None = None
    if baseline is not None:
        base_clean, base_table, _ = _severity_table(baseline)
        base_errors = _complete(base_table)
        base_arg = base_errors
    elif metrics.alexnet_applies(results.suite, {n: metrics.SEVERITIES for n in complete}):
        base_errors = metrics.ALEXNET_ERRORS
        base_arg = "alexnet"
        base_clean = metrics.ALEXNET_CLEAN_ERROR

    ce: dict[str, float | None] = {}
    for name in errors:
        ok = base_errors is not None and name in complete and name in base_errors
        ce[name] = (metrics.corruption_error(complete[name][:SEVERITIES],
                                             base_errors[name][:SEVERITIES]) if ok else None)

    mce = relative = None
    needed = metrics.mce_names(errors)
    if base_arg is not None and all(n in complete and n in base_errors for n in needed):
        model_errors = {n: complete[n][:SEVERITIES] for n in needed}
        mce = metrics.mce(model_errors, baseline=base_arg)
        if clean_error is not None and base_clean is not None:
            relative = metrics.relative_mce(model_errors, clean_error, baseline=base_arg,
                                            baseline_clean_error=base_clean)

    scored = [e for n in metrics.benchmark_names(errors) for e in errors[n] if e is not None]
    return {
        "schema": SCHEMA,
        "suite": results.suite,
        "clean_error": clean_error,
        "mean_error": float(np.mean(scored)),
        "mce": mce,
        "relative_mce": relative,
        "corruptions": {name: {"errors": errors[name], "ce": ce[name],
                               "rms_calibration_error": calibration[name]}
                        for name in errors},
    }


def _perturbation_values(results: "Results") -> dict[str, tuple[float, float]]:
    """``{key: (flip probability, top-5 distance)}`` for every -P cell."""
    values = {}
    for record in results.iter_cells():
        noise = metrics.is_noise_perturbation(record.name)
        fp = metrics.flip_probability(record.predictions, noise=noise, difficulty=record.level)
        if record.logits is not None:
            t5d = metrics.top5_distance(record.logits, noise=noise, difficulty=record.level)
        else:
            t5d = metrics.top5_distance_from_topk(record.topk, noise=noise,
                                                  difficulty=record.level)
        values[perturbation_key(record.name, record.level)] = (fp, t5d)
    return values


def _summarize_p(results: "Results", baseline: "Results | None") -> dict[str, Any]:
    values = _perturbation_values(results)
    if not values:
        raise UserError(f"{results.path} holds no perturbation cells to summarise")
    base = _perturbation_values(baseline) if baseline is not None else {}
    fps = {k: v[0] for k, v in values.items()}
    t5ds = {k: v[1] for k, v in values.items()}
    fp_covered = all(base.get(k, (0.0, 0.0))[0] > 0 for k in values)
    t5_covered = all(base.get(k, (0.0, 0.0))[1] > 0 for k in values)
    perturbations = {}
    for key, (fp, t5d) in values.items():
        fr = fp / base[key][0] if key in base and base[key][0] > 0 else None
        t5 = t5d / base[key][1] if key in base and base[key][1] > 0 else None
        perturbations[key] = {"flip_probability": fp, "top5_distance": t5d, "fr": fr, "t5d": t5}
    return {
        "schema": SCHEMA,
        "suite": results.suite,
        "perturbations": perturbations,
        "mfp": float(np.mean(list(fps.values()))),
        "mt5d_unnormalized": float(np.mean(list(t5ds.values()))),
        "mfr": metrics.mfr(fps, {k: base[k][0] for k in fps}) if fp_covered else None,
        "mt5d": metrics.mt5d(t5ds, {k: base[k][1] for k in t5ds}) if t5_covered else None,
    }


def write_summary(path: str | os.PathLike, summary: Mapping[str, Any]) -> Path:
    """Write ``summary`` as JSON atomically (temp file, fsync, rename)."""
    def dump(f) -> None:
        json.dump(summary, f, indent=2)
        f.write("\n")

    return write_atomic(path, dump)
