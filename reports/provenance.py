"""Where each number came from (per results file) and the metric definitions a report used."""

from __future__ import annotations

import json

from reports.analysis import Analysis
from reports.bootstrap import LEVEL
from reports.coverage import compatibility
from reports.display import display_value
from reports.load import ScoredRun
from reports.measures import ALEXNET
from robustbench_dm.metrics import CALIBRATION_BIN


def provenance(run: ScoredRun) -> dict[str, object]:
    """One results file's provenance as plain, printable values (JSON-serialisable). Paths are
    shown as recorded (relative stays relative); the report adds none."""
    meta, ck = run.metadata, run.checkpoint
    generator = {k: meta[k] for k in ("seed", "generator", "generator_version") if k in meta}
    source = meta.get("provenance") if isinstance(meta.get("provenance"), dict) else {}
    status, messages = compatibility(run)
    return display_value({
        "label": run.label,
        "results_file": run.shown_path,
        "suite": run.suite,
        "kind": run.kind,
        "data_root": meta.get("data_root"),
        "suite_source": source.get("source"),
        "suite_manifest": source.get("manifest"),
        "data_read": source.get("data"),
        "images_key": meta.get("images_key"),
        "subset": meta.get("subset"),
        "preprocessing": meta.get("preprocessing"),
        "scoring_seed": run.seed,
        "generator": generator or None,
        "compatibility": {"status": status, "messages": messages}
        if run.compatibility or status != "ok" else None,
        "checkpoint_sha256": ck.get("sha256"),
        "checkpoint_path": ck.get("path"),
        "arch": ck.get("arch"),
        "method": ck.get("method"),
        "method_options": ck.get("method_options"),
        "dataset": ck.get("dataset"),
        "epoch": ck.get("epoch"),
        "training_seed": ck.get("seed"),
        "recipe": ck.get("recipe"),
        "versions": run.versions,
        "cells": len(run.cells),
        "images_per_cell": sorted({c.n for c in run.cells.values()}),
    })


def provenance_text(value: object) -> str:
    """A compact display string for one provenance value."""
    if value is None or value == {} or value == []:
        return "—"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def definitions(analysis: Analysis) -> list[tuple[str, str]]:
    """(term, definition) pairs for the metrics this report states."""
    baselines = sorted({f"{ra.baseline.name} ({ra.baseline.source})" for sa in analysis.suites
                        for ra in sa.runs if ra.baseline is not None})
    out = [
        ("Top-1 error", "fraction of images whose highest-scoring class is not the label, shown in %."),
        ("Mean corruption error", "plain mean of the per-(corruption, severity) errors over the "
         "15 benchmark corruptions (ImageNet-C names; extras excluded) or over every corruption of "
         "other suites (CIFAR-C convention: no baseline normalisation)."),
        ("CE", "corruption error: sum over severities 1-5 of the model's error divided by the same "
         "sum for the baseline (a ratio of sums, not a mean of per-severity ratios)."),
        ("mCE", "mean of CE over the 15 benchmark corruptions (ImageNet-C names) or over every "
         "corruption of the suite; relative mCE uses (error - clean error) in numerator and "
         f"denominator. AlexNet clean error = {ALEXNET.clean_error} (torchvision model card)."),
        ("Baseline", "; ".join(baselines) if baselines else "none: no normalised measures shown "
         "(ImageNet-C defaults to AlexNet only when all 15 corruptions x 5 severities are present)."),
        ("RMS calibration error", f"sqrt(sum_b n_b/N (confidence_b - accuracy_b)^2) over equal-mass "
         f"bins of {CALIBRATION_BIN} images sorted by top-1 confidence, the last bin absorbing the "
         "remainder; every bin is counted (the reference calib_err skips the last bin; not here). "
         f"Cells with fewer than {CALIBRATION_BIN} images have none."),
        ("Flip probability / FR", "per video, the fraction of comparisons where the top-1 class "
         "changes, then the mean over videos. Reference frame: noise sequences compare every frame "
         "with frame 0; other sequences compare each frame with the previous one at stride = "
         "difficulty. FR = FP / baseline FP; mFR = mean FR over perturbations."),
        ("Top-5 distance", "for the reference frame's top-5 classes, sum of |rank change| with new "
         "ranks capped at 6, same reference-frame rule; mT5D = mean of T5D / baseline T5D."),
        ("Intervals", f"{int(LEVEL * 100)}% percentile bootstrap over test images (videos for -P), "
         f"{analysis.n_boot} replicates, seed {analysis.seed}; an image keeps its identity across "
         "corruptions and severities; baselines are constants. Paired differences resample the "
         "same images for both models and are refused when the images differ (suite, images key, "
         "subset, cells or image identities). Several training seeds of one recipe: mean over "
         "seeds ± standard deviation; their intervals and paired differences resample seeds too."),
        ("At chance", "a model whose 95% interval of clean error (else of mean corruption error) "
         "reaches 1 - 1/K for K classes; it is marked, not ranked and not compared (a -P result "
         "takes the verdict of the same checkpoint on a -C suite)."),
        ("Published rows", "shown only beside results of the suite the paper measured that cover "
         "every cell it measured and the whole test set, with no compatibility warning."),
    ]
    return out
