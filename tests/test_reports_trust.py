"""Reports that cannot mislead (issue 11): published rows only beside whole, compatible suites;
models at chance marked and never ranked; mismatches flagged in every output; refusals to pair
given in words; subsets labelled; training seeds as mean ± sd with paired comparisons over seeds
and images; recipe and paths in the provenance as recorded; non-UTF-8 paths.

Each test renders a report and asserts the exact sentence (or its absence).
"""

from __future__ import annotations

import json
import os
import statistics

import h5py
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from cli import main
from corruptions import CORRUPTIONS
from reports import compare, plot_gallery
from reports.build import write_report
from reports.document import Plot
from reports.load import load_run
from reports.plot_style import new_figure
from results_fixtures import c_suite_cells, p_cell, write_results

COMPLETE = {"limit": None, "corruptions": None, "severities": None, "complete": True}


@pytest.fixture(autouse=True)
def _small_gallery(monkeypatch):
    monkeypatch.setattr(plot_gallery, "_gallery",
                        lambda preset, *a: Plot("gallery.png", "g", "g", new_figure(1, 1)))


def _full_errors(shift: float, clean: float = 0.05) -> dict:
    errors = {("clean", 0): clean}
    errors.update({(c, s): min(0.95, round(0.1 + 0.04 * s + shift, 3)) for c in CORRUPTIONS
                   for s in range(1, 6)})
    return errors


def _report(tmp_path, files: dict, **kwargs):
    out = tmp_path / "out"
    doc = write_report(list(files), out, names=files, n_boot=200, **kwargs)
    texts = {name: (out / name).read_text(encoding="utf-8")
             for name in ("report.md", "report.html", "tables.tex")}
    return doc, out, texts, json.loads((out / "report.json").read_text())


# -- 1. published reference rows -------------------------------------------------------------

def test_published_rows_beside_a_whole_compatible_suite(tmp_path):
    files = {}
    for label, shift in (("A", 0.0), ("B", 0.05)):
        path = write_results(tmp_path / label / "results.h5",
                             c_suite_cells(_full_errors(shift), 200, seed=ord(label)),
                             metadata={"subset": COMPLETE},
                             checkpoint={"sha256": label * 64, "method": label})
        files[str(path)] = label
    doc, _, texts, data = _report(tmp_path, files)            # --reference auto
    rows = data["tables"]["summary_cifar10-c"]["rows"]
    dyn = next(r for r in rows if r["label"] == "DynMix (mean of 4 architectures)")
    assert dyn["published"] and dyn["values"]["mean_error"] == pytest.approx(0.101)
    assert "published_methods_cifar10-c" in data["tables"]
    assert data["reference"] == "auto" and data["published_rows"] == {"cifar10-c": "dynmix-paper"}
    assert not any("left out" in line for line in doc.summary)


def test_case1_fashion_mnist_checkpoint_on_cifar10_c_cells_of_10_images(tmp_path):
    """Observed case 1: no CIFAR-10-C paper rows beside it, one line saying why."""
    path = write_results(tmp_path / "fm" / "results.h5", c_suite_cells(_full_errors(0.0), 10),
                         metadata={"subset": dict(COMPLETE, limit=10, complete=False)},
                         checkpoint={"dataset": "fashion-mnist", "sha256": "f" * 64})
    doc, _, texts, data = _report(tmp_path, {str(path): "fm"})
    published = [r for t in data["tables"].values() for r in t["rows"] if r["published"]]
    assert published == []
    assert data["published_rows"] == {"cifar10-c": None}
    line = ("cifar10-c: Published reference rows (the Dynamic Mixup paper) are left out: they "
            "were measured on the whole cifar10-c, but fm was scored despite a dataset mismatch; "
            "fm covers a subset of the suite (at most 10 images per cell).")
    assert line in doc.summary
    assert "- " + line in texts["report.md"]
    assert "Standard (mean of 4 architectures)" not in texts["report.md"]


def test_published_rows_left_out_for_missing_cells_and_unmeasured_suites(tmp_path):
    errors = {("clean", 0): 0.1, ("fog", 1): 0.2}
    path = write_results(tmp_path / "a" / "results.h5", c_suite_cells(errors, 100),
                         metadata={"subset": COMPLETE})
    doc, _, _, _ = _report(tmp_path, {str(path): "a"}, reference="dynmix-paper")
    assert doc.summary[-1] == (
        "cifar10-c: Published reference rows (the Dynamic Mixup paper) are left out: they were "
        "measured on the whole cifar10-c, but a lacks 74 of the 75 cells the Dynamic Mixup paper measured "
        "(e.g. gaussian_noise/1).")
    fm = write_results(tmp_path / "f" / "results.h5", c_suite_cells(errors, 100),
                       suite="fmnist-c", checkpoint={"dataset": "fashion-mnist"})
    doc = write_report([fm], tmp_path / "o2", n_boot=100, reference="dynmix-paper")
    assert ("fmnist-c: Published reference rows are left out: the Dynamic Mixup paper did not "
            "measure fmnist-c.") in doc.summary
    doc = write_report([fm], tmp_path / "o3", n_boot=100)     # auto: no paper, nothing to say
    assert not any("Published" in line for line in doc.summary)


# -- 2. chance ---------------------------------------------------------------------------------

def test_case2_models_at_chance_are_marked_and_never_ranked(tmp_path):
    """Observed case 2: two models at 88.3 % clean error on 10 classes, n = 300."""
    files = {}
    for label, seed in (("standard", 1), ("dynmix", 2)):
        errors = {key: 0.883 if key[0] == "clean" else 0.9 - 0.01 * seed for key in
                  [("clean", 0)] + [(c, s) for c in ("fog", "contrast") for s in (1, 2)]}
        c = write_results(tmp_path / label / "c.h5", c_suite_cells(errors, 300, seed=seed),
                          suite="fmnist-c", checkpoint={"sha256": str(seed) * 64,
                                                        "dataset": "fashion-mnist"},
                          metadata={"subset": dict(COMPLETE, limit=300, complete=False)})
        preds = np.zeros((20, 31), dtype=np.int64)
        preds[: 5 * seed, 1::2] = 1
        p = write_results(tmp_path / label / "p.h5", {("gaussian_noise", 1): p_cell(preds)},
                          kind="p", suite="fmnist-p", checkpoint={"sha256": str(seed) * 64,
                                                                  "dataset": "fashion-mnist"})
        files.update({str(c): label, str(p): label})
    doc, out, texts, data = _report(tmp_path, files)
    text = "\n".join(doc.summary)
    for word in ("the lowest of", "more robust than", "within noise", "is the only model"):
        assert word not in text
    model = json.loads((out / "report.json").read_text())["suites"][0]["models"]["standard"]
    iv = model["measures"]["clean_error"]
    assert (f"fmnist-c: standard is at chance: its clean error is 88.3 % (95% CI "
            f"{100 * iv['low']:.1f} to {100 * iv['high']:.1f}; n = 300 images per cell), which "
            "reaches the chance level of "
            "90.0 % for 10 classes, so it is not ranked or compared.") in doc.summary
    assert any(line.startswith("fmnist-p: dynmix is at chance: its clean error on fmnist-c is")
               and line.endswith("so its flip probabilities are not ranked or compared.")
               for line in doc.summary)
    assert model["at_chance"] and "at chance" in model["flags"]
    for name in ("report.md", "report.html", "tables.tex"):
        assert "standard (subset; at chance)" in texts[name], name
    cells = pd.read_csv(out / "cells.csv")
    assert cells["at_chance"].all()
    rows = data["tables"]["summary_fmnist-c"]["rows"]
    assert all("at chance" in r["flags"] for r in rows if not r["published"])
    assert ("subset (standard, fmnist-c): scored on part of the suite (at most 300 images per "
            "cell).") in data["tables"]["summary_fmnist-c"]["notes"]
    assert data["suites"][0]["ranking"] == [] and data["suites"][0]["comparisons"] == []


def test_a_model_above_chance_is_ranked_alone(tmp_path):
    good = write_results(tmp_path / "g.h5", c_suite_cells({("clean", 0): 0.1, ("fog", 1): 0.2},
                                                          300, seed=1),
                         checkpoint={"sha256": "1" * 64})
    bad = write_results(tmp_path / "b.h5", c_suite_cells({("clean", 0): 0.9, ("fog", 1): 0.9},
                                                         300, seed=2),
                        checkpoint={"sha256": "2" * 64})
    doc, _, _, _ = _report(tmp_path, {str(good): "good", str(bad): "bad"}, reference="none")
    head = next(line for line in doc.summary if "good has" in line)
    assert head.endswith("; it is the only model on this suite that is not at chance.")
    assert "(95% CI" in head and "n = 300 images per cell, 2 cells" in head


# -- 3. mismatch -------------------------------------------------------------------------------

def test_mismatch_is_flagged_in_every_output(tmp_path):
    message = "the checkpoint was trained on fashion-mnist (10 classes), the suite holds cifar10"
    path = write_results(tmp_path / "m" / "results.h5",
                         c_suite_cells({("clean", 0): 0.1, ("fog", 1): 0.2}, 120),
                         checkpoint={"sha256": "m" * 64})
    with h5py.File(path, "r+") as f:
        f.attrs["compatibility"] = json.dumps({"status": "mismatch", "messages": [message + "."]})
    doc, out, texts, data = _report(tmp_path, {str(path): "m"}, reference="none")
    warning = (f"m (cifar10-c, {path}) was scored despite a mismatch between the checkpoint and "
               f"the suite: {message}.")
    assert doc.warnings == [warning]
    assert f"> **⚠ Warning:** {warning}" in texts["report.md"]
    assert "**⚠ m (dataset mismatch)**" in texts["report.md"]
    assert f"dataset mismatch (m): {message}." in texts["report.md"]
    assert "dataset mismatch (m): " in texts["tables.tex"]
    assert 'class="alert"' in texts["report.html"] and "m (dataset mismatch)" in texts["report.html"]
    row = data["tables"]["summary_cifar10-c"]["rows"][0]
    assert row["alert"] and row["flags"] == ["dataset mismatch"]
    assert pd.read_csv(out / "cells.csv")["compatibility"].eq("mismatch").all()
    result = CliRunner().invoke(main, ["report", str(path), "--out", str(tmp_path / "cli"),
                                       "--bootstrap", "100"])
    assert result.exit_code == 0
    assert f"warning: standard small_cnn{warning[1:]}" in result.output


def test_unverified_checkpoint_is_flagged(tmp_path):
    path = write_results(tmp_path / "u.h5", c_suite_cells({("fog", 1): 0.2}, 120),
                         checkpoint={"dataset": None})
    with h5py.File(path, "r+") as f:
        f.attrs["compatibility"] = json.dumps({"status": "unverified", "messages": []})
    doc, _, texts, _ = _report(tmp_path, {str(path): "u"}, reference="none")
    assert doc.warnings == [f"u (cifar10-c, {path}) was scored from a checkpoint that records no "
                            "dataset, so its fit to the suite is unverified."]
    assert "u (unverified checkpoint)" in texts["report.md"]


# -- 4. sentences: n, what was compared, refusals in words; pairing by images_key ---------------

def _pair(tmp_path, meta_a: dict, meta_b: dict, n_b: int = 100):
    errors = {("clean", 0): 0.1, ("fog", 1): 0.3}
    a = write_results(tmp_path / "a" / "results.h5", c_suite_cells(errors, 100, seed=1),
                      metadata=meta_a, checkpoint={"sha256": "a" * 64})
    b = write_results(tmp_path / "b" / "results.h5", c_suite_cells(
        {("clean", 0): 0.2, ("fog", 1): 0.5}, n_b, seed=2), metadata=meta_b,
        checkpoint={"sha256": "b" * 64})
    return {str(a): "A", str(b): "B"}


def test_written_suite_and_its_on_the_fly_twin_pair(tmp_path):
    written = {"images_key": "k" * 64, "data_root": "CIFAR-10-C-gen",
               "provenance": {"source": "written", "manifest": {"seed": 0}, "data": None}}
    twin = {"images_key": "k" * 64, "data_root": "cifar-10-batches-py", "seed": 0,
            "generator": "robustbench_dm", "generator_version": 3,
            "provenance": {"source": "generated", "manifest": None, "data": None}}
    doc, _, texts, data = _report(tmp_path, _pair(tmp_path, written, twin), reference="none")
    (cmp,) = data["suites"][0]["comparisons"]
    assert cmp["difference"] is not None
    assert cmp["sentence"].startswith("A is more robust than B by ")
    assert cmp["sentence"].endswith(" of Mean corruption error (paired over the same n = 100 "
                                    "images per cell, 2 cells).")
    assert doc.summary[0].startswith("cifar10-c: A has Mean corruption error 30.0 (95% CI ")
    assert doc.summary[0].endswith("; n = 100 images per cell, 2 cells), the lowest of 2 models.")
    assert ("cifar10-c: note (A vs B): the data root differs (A: CIFAR-10-C-gen vs B: "
            "cifar-10-batches-py).") in doc.summary


def test_refusal_names_the_field_and_both_values_never_a_dict(tmp_path):
    meta_a = {"subset": {"limit": None, "corruptions": ["fog"], "severities": [1]}}
    meta_b = {"subset": {"limit": 80, "corruptions": ["fog"], "severities": [1]}}
    doc, _, texts, data = _report(tmp_path, _pair(tmp_path, meta_a, meta_b, n_b=80),
                                  reference="none")
    (cmp,) = data["suites"][0]["comparisons"]
    assert cmp["sentence"] == (
        "A and B were not scored on the same images, so no paired comparison is made: the "
        "subset limit differs (A: none vs B: 80); the number of images differs in 2 cells, e.g. "
        "clean/0 (100 vs 80 images for A and B), fog/1 (100 vs 80 images for A and B).")
    verdict = next(r for r in data["tables"]["paired_differences"]["rows"])["values"]["verdict"]
    assert verdict == cmp["sentence"] and "{" not in verdict and "'" not in verdict
    assert "{" not in texts["report.md"].split("## Paired differences")[1].split("##")[0]


def test_different_images_keys_are_refused_by_the_differing_field(tmp_path):
    doc, _, _, data = _report(tmp_path, _pair(tmp_path, {"images_key": "1" * 64, "seed": 0},
                                              {"images_key": "2" * 64, "seed": 1}),
                              reference="none")
    (cmp,) = data["suites"][0]["comparisons"]
    assert cmp["refused"] == ["the seed differs (A: 0 vs B: 1)"]
    _, _, _, data = _report(tmp_path / "x", _pair(tmp_path / "x", {"images_key": "1" * 64},
                                                  {"images_key": "2" * 64}), reference="none")
    (cmp,) = data["suites"][0]["comparisons"]
    assert cmp["refused"] == ["the images key differs (A: 111111111111 vs B: 222222222222)"]


def test_files_without_images_key_keep_todays_rule(tmp_path):
    errors = {("fog", 1): 0.2}
    a = load_run(write_results(tmp_path / "a.h5", c_suite_cells(errors, 50), metadata={"seed": 0}),
                 "A")
    b = load_run(write_results(tmp_path / "b.h5", c_suite_cells(errors, 50), metadata={"seed": 1}),
                 "B")
    assert compare.differences(a, b) == ["the seed differs (A: 0 vs B: 1)"]
    b.metadata["seed"] = 0
    assert compare.differences(a, b) == []


# -- 5. subsets --------------------------------------------------------------------------------

def test_subset_is_labelled_wherever_its_numbers_appear(tmp_path):
    path = write_results(tmp_path / "s" / "results.h5",
                         c_suite_cells({("clean", 0): 0.1, ("fog", 1): 0.2}, 200),
                         metadata={"subset": dict(COMPLETE, limit=200, complete=False)})
    doc, out, texts, data = _report(tmp_path, {str(path): "s"}, reference="none")
    assert doc.summary[0].endswith("(95% CI " + doc.summary[0].split("(95% CI ")[1].split(";")[0]
                                   + "; n = 200 images per cell, 2 cells; a subset of the suite "
                                   "(at most 200 images per cell)); it is the only model scored "
                                   "on this suite.")
    for name in ("report.md", "report.html", "tables.tex"):
        assert "s (subset)" in texts[name], name
    assert ("subset (s, cifar10-c): scored on part of the suite (at most 200 images per cell)."
            in texts["report.md"])
    assert pd.read_csv(out / "cells.csv")["subset"].all()
    assert all("Marked models: s (subset)." in p.caption for p in doc.plots
               if not p.filename.startswith("gallery"))


def test_figure_marks_name_only_the_suites_the_figure_shows(tmp_path):
    """A flagged ImageNet-C run is not marked in the Tiny-ImageNet-C figures, whose file names
    contain "imagenet-c" too."""
    flagged = write_results(tmp_path / "s" / "results.h5",
                            c_suite_cells({("clean", 0): 0.1, ("fog", 1): 0.2}, 200, num_classes=1000),
                            suite="imagenet-c", num_classes=1000,
                            metadata={"subset": dict(COMPLETE, limit=200, complete=False)},
                            checkpoint={"dataset": "imagenet"})
    whole = write_results(tmp_path / "t" / "results.h5",
                          c_suite_cells({("clean", 0): 0.1, ("fog", 1): 0.2}, 200, num_classes=200),
                          suite="tinyimagenet-c", num_classes=200, metadata={"subset": COMPLETE},
                          checkpoint={"dataset": "tinyimagenet"})
    doc, _, _, _ = _report(tmp_path, {str(flagged): "s", str(whole): "t"}, reference="none")
    captions = {p.filename: p.caption for p in doc.plots if p.suites}
    assert "Marked models: s (subset)." in captions["ce_imagenet-c.png"]
    tiny = [name for name in captions if "tinyimagenet-c" in name]
    assert tiny and all("Marked models" not in captions[name] for name in tiny)


def test_complete_results_carry_no_subset_label(tmp_path):
    path = write_results(tmp_path / "c" / "results.h5",
                         c_suite_cells({("clean", 0): 0.1, ("fog", 1): 0.2}, 200),
                         metadata={"subset": COMPLETE})
    doc, _, texts, _ = _report(tmp_path, {str(path): "c"}, reference="none")
    assert "subset" not in doc.summary[0] and "c (subset)" not in texts["report.md"]


# -- 6. training seeds -------------------------------------------------------------------------

def _seed_files(tmp_path, method: str, base: float, seeds=(1, 2, 3), n: int = 200) -> dict:
    files = {}
    for k, seed in enumerate(seeds):
        errors = {("clean", 0): 0.1, ("fog", 1): base + 0.02 * k, ("fog", 2): base + 0.05 + 0.02 * k}
        path = write_results(tmp_path / f"{method}-s{seed}" / "results.h5",
                             c_suite_cells(errors, n, seed=hash((method, seed)) % 1000),
                             checkpoint={"method": method, "seed": seed,
                                         "sha256": f"{method}{seed}".ljust(64, "0"),
                                         "recipe": {"lr": 0.1, "seed": seed, "epochs": 2}})
        files[str(path)] = f"{method}-s{seed}"
    return files


def test_seeds_are_mean_and_sd_and_compared_over_seeds_and_images(tmp_path):
    files = {**_seed_files(tmp_path, "dynmix", 0.2), **_seed_files(tmp_path, "standard", 0.4)}
    doc, out, texts, data = _report(tmp_path, files, reference="none")
    suite = data["suites"][0]
    groups = suite["seed_groups"]
    assert set(groups) == {"dynmix (3 seeds)", "standard (3 seeds)"}
    members = [suite["models"][m]["measures"]["mean_error"]["estimate"]
               for m in groups["dynmix (3 seeds)"]["members"]]
    g = groups["dynmix (3 seeds)"]["measures"]["mean_error"]
    assert g["estimate"] == pytest.approx(statistics.fmean(members), abs=1e-12)
    assert g["sd"] == pytest.approx(statistics.stdev(members), abs=1e-12)
    assert g["low"] < min(members) and g["high"] > max(members) - 0.02
    assert groups["dynmix (3 seeds)"]["seeds"] == [1, 2, 3]
    assert suite["ranking"] == ["dynmix (3 seeds)", "standard (3 seeds)"]
    (cmp,) = suite["comparisons"]
    assert cmp["sentence"].startswith("dynmix (3 seeds) is more robust than standard (3 seeds) by ")
    assert cmp["sentence"].endswith("(paired over the same n = 200 images per cell, 3 cells, 3 "
                                    "and 3 training seeds resampled with the images).")
    assert doc.summary[0].endswith("; n = 200 images per cell, 3 cells, mean of 3 training "
                                   "seeds), the lowest of 2 models.")
    table = data["tables"]["seeds_cifar10-c"]
    row = next(r for r in table["rows"] if r["label"] == "dynmix (3 seeds)")
    assert row["spread"]["mean_error"] == pytest.approx(g["sd"])
    shown = f"{100 * g['estimate']:.1f} ± {100 * g['sd']:.1f}"
    assert shown in texts["report.md"] and shown in texts["report.html"]
    rms = [float(r["values"]["rms_corrupted"]) for r in data["tables"]["summary_cifar10-c"]["rows"]
           if r["label"].startswith("dynmix-s")]
    assert row["values"]["rms_corrupted"] == pytest.approx(statistics.fmean(rms))
    assert row["spread"]["rms_corrupted"] == pytest.approx(statistics.stdev(rms))
    # per-seed rows stay available
    per_seed = [r["label"] for r in data["tables"]["summary_cifar10-c"]["rows"]]
    assert {"dynmix-s1", "dynmix-s2", "dynmix-s3"} <= set(per_seed)


def test_seed_resampling_widens_the_interval_when_seeds_disagree(tmp_path):
    files = {}
    for k, seed in enumerate((1, 2)):
        errors = {("fog", 1): 0.1 + 0.3 * k}
        path = write_results(tmp_path / f"s{seed}.h5", c_suite_cells(errors, 400, seed=seed),
                             checkpoint={"seed": seed, "sha256": str(seed) * 64})
        files[str(path)] = f"m-s{seed}"
    _, _, _, data = _report(tmp_path, files, reference="none")
    (group,) = data["suites"][0]["seed_groups"].values()
    iv = group["measures"]["mean_error"]
    assert iv["estimate"] == pytest.approx(0.25)
    assert iv["high"] - iv["low"] > 0.2          # images alone would give about 0.06


def test_runs_that_differ_in_more_than_the_seed_are_not_grouped(tmp_path):
    files = _seed_files(tmp_path, "dynmix", 0.2, seeds=(1, 2))
    path = write_results(tmp_path / "other" / "results.h5",
                         c_suite_cells({("clean", 0): 0.1, ("fog", 1): 0.2, ("fog", 2): 0.25}, 200),
                         checkpoint={"method": "dynmix", "seed": 3, "sha256": "9" * 64,
                                     "recipe": {"lr": 0.01, "seed": 3, "epochs": 2}})
    files[str(path)] = "dynmix-lr001"
    _, _, _, data = _report(tmp_path, files, reference="none")
    groups = data["suites"][0]["seed_groups"]
    assert [g["members"] for g in groups.values()] == [["dynmix-s1", "dynmix-s2"]]


# -- 7. provenance -----------------------------------------------------------------------------

def test_provenance_shows_recipe_and_paths_as_recorded(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    recipe = {"lr": 0.1, "weight_decay": 0.0001, "epochs": 2, "seed": 7}
    write_results("runs/a/results.h5", c_suite_cells({("fog", 1): 0.2}, 100),
                  metadata={"data_root": "data/CIFAR-10-C"},
                  checkpoint={"path": "runs/a/last.pt", "recipe": recipe, "seed": 7})
    write_report(["runs/a/results.h5"], "report", n_boot=100, reference="none")
    md = (tmp_path / "report" / "report.md").read_text()
    assert f"- **recipe**: `{json.dumps(recipe, sort_keys=True)}`" in md
    assert "- **training_seed**: `7`" in md
    assert "- **checkpoint_path**: `runs/a/last.pt`" in md
    assert "- **results_file**: `runs/a/results.h5`" in md
    for name in ("report.md", "report.html", "report.json", "cells.csv", "tables.tex"):
        assert str(tmp_path) not in (tmp_path / "report" / name).read_text(), name


# -- 8. paths that are not UTF-8 ---------------------------------------------------------------

def test_report_on_a_results_file_under_a_non_utf8_folder(tmp_path):
    folder = os.fsdecode(os.fsencode(str(tmp_path)) + b"/bad\xff")
    path = write_results(os.path.join(folder, "results.h5"),
                         c_suite_cells({("clean", 0): 0.1, ("fog", 1): 0.2}, 120))
    out = os.path.join(folder, "report")
    result = CliRunner().invoke(main, ["report", str(path), "--out", out, "--bootstrap", "100"])
    assert result.exit_code == 0, result.output
    assert "bad\\xff" in result.output
    with open(os.path.join(out, "report.md"), encoding="utf-8") as f:
        md = f.read()
    assert "bad\\xff/results.h5" in md
    assert pd.read_csv(os.path.join(out, "cells.csv"))["results_file"].str.contains(
        "bad\\xff", regex=False).all()
