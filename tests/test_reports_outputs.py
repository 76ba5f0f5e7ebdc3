"""Every number in every report output checked against values known by construction."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from corruptions import CORRUPTIONS
from reports import plot_gallery
from reports.analysis import analyse
from reports.build import write_report
from reports.load import load_runs
from reports.paper_tables import build_tables
from results_fixtures import c_suite_cells, p_cell, write_results
from robustbench_dm import metrics

CIFAR_NAMES = CORRUPTIONS
# every cell of the suite, all images: published reference rows may stand beside these results
COMPLETE = {"subset": {"limit": None, "corruptions": None, "severities": None, "complete": True}}


def _cifar_errors(shift: float) -> dict:
    errors = {("clean", 0): 0.05 + shift}
    for i, name in enumerate(CIFAR_NAMES):
        for s in range(1, 6):
            errors[(name, s)] = round(0.1 + 0.05 * s + 0.02 * i + shift, 3)
    return errors


def _imagenet_errors(shift: float) -> dict:
    errors = {("clean", 0): 0.24 + shift}
    for i, name in enumerate(CORRUPTIONS):
        for s in range(1, 6):
            errors[(name, s)] = round(0.3 + 0.08 * s + 0.01 * i + shift, 2)
    return errors


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    # The 224 px gallery costs tens of seconds on 2 shared cores; draw it at 32 px here
    # (test_reports_gallery.py covers the presets).
    patch = pytest.MonkeyPatch()
    real = plot_gallery._gallery
    patch.setattr(plot_gallery, "_gallery", lambda preset, *a: real("cifar", *a))
    root = tmp_path_factory.mktemp("report")
    files, truth = [], {}
    for label, shift, arch in (("A", 0.0, "wrn40_2"), ("B", -0.04, "wrn40_2")):
        errors = _cifar_errors(shift)
        files.append(write_results(root / f"c10_{label}" / "results.h5",
                                   c_suite_cells(errors, 200, seed=ord(label)), suite="cifar10-c",
                                   checkpoint={"arch": arch, "method": label, "sha256": label * 64},
                                   metadata=COMPLETE))
        truth[("cifar10-c", label)] = errors
    for label, shift in (("A", 0.0), ("B", -0.1)):
        errors = _imagenet_errors(shift)
        files.append(write_results(root / f"inc_{label}" / "results.h5",
                                   c_suite_cells(errors, 100, num_classes=1000, seed=ord(label)),
                                   suite="imagenet-c", num_classes=1000, metadata=COMPLETE,
                                   checkpoint={"arch": "resnet50", "method": label,
                                               "sha256": label * 64, "dataset": "imagenet"}))
        truth[("imagenet-c", label)] = errors
    preds = np.zeros((20, 31), dtype=np.int64)
    preds[:10, 1::2] = 1          # videos 0..9 flip at every step, 10..19 never
    p_cells = {("gaussian_noise", 1): p_cell(preds), ("rotate", 1): p_cell(preds)}
    files.append(write_results(root / "p_A" / "results.h5", p_cells, kind="p", suite="cifar10-p",
                               checkpoint={"arch": "wrn40_2", "method": "A", "sha256": "A" * 64}))
    names = {str(f): f.parent.name.split("_")[1] for f in files}
    out = root / "out"
    write_report(files, out, names=names, n_boot=200, seed=1)
    patch.undo()
    return out, truth, preds


def test_outputs_exist_and_html_is_self_contained(report):
    out, _, _ = report
    for name in ("report.html", "report.md", "cells.csv", "tables.tex", "report.json"):
        assert (out / name).stat().st_size > 0
    html = (out / "report.html").read_text()
    assert "data:image/svg+xml;base64," in html
    assert not re.search(r'(src|href)="(http|//|[^"#d][^"]*\.(png|css|js))', html)
    md = (out / "report.md").read_text()
    for png in re.findall(r"\]\(([^)]+\.png)\)", md):
        assert (out / png).is_file()


def test_cells_csv_round_trip_matches_construction(report):
    out, truth, preds = report
    cells = pd.read_csv(out / "cells.csv")
    c = cells[cells["kind"] == "c"]
    assert len(c) == 2 * 76 + 2 * 76
    for row in c.itertuples():
        assert row.error == pytest.approx(truth[(row.suite, row.model)][(row.corruption, row.severity)],
                                          abs=1e-12)
    assert set(c["n"]) == {100, 200}
    # calibration: n = 200 -> two bins of 100 -> defined; checked against the metric itself
    assert c[c["n"] == 200]["rms_calibration_error"].notna().all()
    p = cells[cells["kind"] == "p"]
    noise = metrics.flip_probability(preds, noise=True)
    assert p.set_index("corruption").loc["gaussian_noise", "flip_probability"] == pytest.approx(noise)
    # hand value: noise compares with frame 0: videos 0..9 flip on 15 of 30 frames
    assert noise == pytest.approx(0.5 * 15 / 30)
    # rotate compares adjacent frames: videos 0..9 flip on all 30 comparisons
    assert p.set_index("corruption").loc["rotate", "flip_probability"] == pytest.approx(0.5)


def test_json_numbers_match_independent_formulas(report):
    out, truth, _ = report
    data = json.loads((out / "report.json").read_text())
    assert data["schema"] == 1
    suites = {s["suite"]: s for s in data["suites"]}
    for label in ("A", "B"):
        errors = truth[("cifar10-c", label)]
        m = suites["cifar10-c"]["models"][label]["measures"]
        corrupted = [v for k, v in errors.items() if k[0] != "clean"]
        assert m["mean_error"]["estimate"] == pytest.approx(np.mean(corrupted), abs=1e-12)
        assert m["clean_error"]["estimate"] == pytest.approx(errors[("clean", 0)], abs=1e-12)
        assert m["mean_error"]["low"] <= m["mean_error"]["estimate"] <= m["mean_error"]["high"]
        assert "mce" not in m          # CIFAR: no AlexNet normalisation
        inc = truth[("imagenet-c", label)]
        per = {n: [inc[(n, s)] for s in range(1, 6)] for n in CORRUPTIONS}
        m = suites["imagenet-c"]["models"][label]["measures"]
        assert m["mce"]["estimate"] == pytest.approx(metrics.mce(per), abs=1e-12)
        by_hand = np.mean([sum(per[n]) / sum(metrics.ALEXNET_ERRORS[n]) for n in CORRUPTIONS])
        assert m["mce"]["estimate"] == pytest.approx(by_hand, abs=1e-12)
        assert m["relative_mce"]["estimate"] == pytest.approx(
            metrics.relative_mce(per, inc[("clean", 0)]), abs=1e-12)
    assert suites["imagenet-c"]["ranking"] == ["B", "A"]
    (cmp,) = suites["imagenet-c"]["comparisons"]
    mce = {k: suites["imagenet-c"]["models"][k]["measures"]["mce"]["estimate"] for k in "AB"}
    assert cmp["difference"]["estimate"] == pytest.approx(mce["A"] - mce["B"], abs=1e-12)
    assert cmp["difference"]["low"] > 0
    assert cmp["sentence"].startswith("B is more robust than A by")
    p = suites["cifar10-p"]["models"]["A"]["measures"]
    assert p["mfp"]["estimate"] == pytest.approx((0.25 + 0.5) / 2)


def test_tables_show_the_same_numbers(report):
    out, truth, _ = report
    data = json.loads((out / "report.json").read_text())
    md = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    mce_b = data["suites"][1]["models"]["B"]["measures"]["mce"]["estimate"]
    text = f"{100 * mce_b:.1f}"
    assert text in md and text in html
    table = data["tables"]["corruptions_imagenet-c"]
    row_b = next(r for r in table["rows"] if r["label"] == "B")
    per_b = {n: sum(truth[("imagenet-c", "B")][(n, s)] for s in range(1, 6))
             / sum(metrics.ALEXNET_ERRORS[n]) for n in CORRUPTIONS}
    for name in CORRUPTIONS:
        assert row_b["values"][name] == pytest.approx(per_b[name], abs=1e-12)


def test_published_rows_are_marked(report):
    out, _, _ = report
    data = json.loads((out / "report.json").read_text())
    rows = data["tables"]["summary_cifar10-c"]["rows"]
    dyn = next(r for r in rows if r["label"] == "DynMix (mean of 4 architectures)")
    assert dyn["published"] and dyn["values"]["mean_error"] == pytest.approx(0.101)
    assert "Table 1" in dyn["source"]
    rows = data["tables"]["published_methods_cifar10-c"]["rows"]
    dyn = next(r for r in rows if r["label"] == "DynMix")
    assert dyn["published"] and dyn["values"]["WideResNet"] == pytest.approx(0.089)
    inc = data["tables"]["corruptions_imagenet-c"]["rows"]
    std = next(r for r in inc if r["label"] == "Standard (ResNet-50)")
    assert std["published"] and std["values"]["mce"] == pytest.approx(0.806)
    assert not any(r["published"] for r in inc if r["label"] in ("A", "B"))
    assert "published, not measured here" in (out / "report.html").read_text()
    assert "published, not measured here" in (out / "report.md").read_text()


def test_latex_is_booktabs_and_balanced(report):
    out, _, _ = report
    tex = (out / "tables.tex").read_text()
    tables = tex.count(r"\begin{table}")
    assert tables >= 4 and tables == tex.count(r"\end{table}")
    assert tex.count(r"\begin{tabular}") == tex.count(r"\end{tabular}") == tables
    assert tex.count(r"\toprule") == tex.count(r"\bottomrule") == tables
    for body in re.findall(r"\\begin\{tabular\}\{([lr]+)\}(.*?)\\end\{tabular\}", tex, re.S):
        spec, content = body
        for line in content.splitlines():
            if line.endswith(r"\\") and r"\multicolumn" not in line:
                assert line.count(" & ") == len(spec) - 1, line
    assert tex.count("{") == tex.count("}")
    assert "%" not in re.sub(r"\\%|^%.*$", "", tex, flags=re.M)


def test_augmix_reference_and_none(report):
    out, _, _ = report
    runs = load_runs(sorted(out.parent.glob("inc_*/results.h5")))
    analysis = analyse(runs, n_boot=100)
    tables = build_tables(analysis, "augmix-paper")
    rows = next(t for t in tables if t.key == "corruptions_imagenet-c").rows
    aug = next(r for r in rows if r.label == "AugMix (ResNet-50)")
    assert aug.published and aug.values["mce"] == pytest.approx(0.653)
    assert not any(r.published for t in build_tables(analysis, "none") for r in t.rows)
