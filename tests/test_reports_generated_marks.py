"""Reports on runs of a suite generated on the fly: a run made with a byte-changing option
(fast_jpeg, clean_decoder='nvjpeg', video_codec='none') is marked beside every number, as a
subset is; published rows shown beside complete generated runs say that the papers measured the
released files, not these images.

Each test renders a report and asserts the exact mark or sentence.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from corruptions import CORRUPTIONS
from reports import plot_gallery
from reports.build import write_report
from reports.coverage import run_flags
from reports.document import Plot
from reports.load import load_run
from reports.plot_style import new_figure
from results_fixtures import c_suite_cells, p_cell, write_results
from robustbench_dm.scoring.summary_table import format_summary

COMPLETE = {"limit": None, "corruptions": list(CORRUPTIONS), "severities": [1, 2, 3, 4, 5],
            "complete": True}


@pytest.fixture(autouse=True)
def _small_gallery(monkeypatch):
    monkeypatch.setattr(plot_gallery, "_gallery",
                        lambda preset, *a: Plot("gallery.png", "g", "g", new_figure(1, 1)))


def _errors(shift: float) -> dict:
    errors = {("clean", 0): 0.25}
    errors.update({(c, s): round(0.4 + 0.05 * s + shift, 3) for c in CORRUPTIONS for s in range(1, 6)})
    return errors


def _generated(options: dict | None = None, seed: int = 0) -> dict:
    """Metadata as an ImageNet-C run made on the fly records it (imagenet_generated.metadata)."""
    return {"generated": True, "label": "ImageNet-C (generated)", "seed": seed, "subset": COMPLETE,
            "images_key": "k" + json.dumps(options or {}),
            "generator": {"library": "corruptions", "preset": "imagenet", "options": options or {}}}


def _imagenet_c(tmp_path, label: str, metadata: dict, shift: float = 0.0):
    return write_results(tmp_path / label / "results.h5", c_suite_cells(_errors(shift), 200, num_classes=1000),
                         suite="imagenet-c", num_classes=1000, metadata=metadata,
                         checkpoint={"dataset": "imagenet", "sha256": label * 64, "arch": "resnet50"})


def _report(tmp_path, files: dict, **kwargs):
    out = tmp_path / "out"
    doc = write_report(list(files), out, names=files, n_boot=100, **kwargs)
    texts = {name: (out / name).read_text(encoding="utf-8") for name in ("report.md", "report.html", "tables.tex")}
    return doc, out, texts, json.loads((out / "report.json").read_text())


# -- byte-changing options --------------------------------------------------------------------

@pytest.mark.parametrize("options, flag", [({"fast_jpeg": True}, "fast JPEG"),
                                           ({"clean_decoder": "nvjpeg"}, "GPU-decoded clean images")])
def test_a_run_of_a_byte_changing_option_is_marked_wherever_its_numbers_appear(tmp_path, options, flag):
    files = {str(_imagenet_c(tmp_path, "A", _generated())): "A",
             str(_imagenet_c(tmp_path, "B", _generated(options), shift=0.01)): "B"}
    doc, out, texts, data = _report(tmp_path, files, reference="none")
    (name, value), = options.items()
    for text in texts.values():
        assert f"B ({flag})" in text and f"A ({flag})" not in text
    assert (f"{flag} (B, imagenet-c): scored on images generated with {name}={value}, an option that "
            "changes their bytes: not the images of the default generator nor of the released files, "
            "and compared only with runs made with the same option.") in texts["report.md"]
    assert data["suites"][0]["models"]["B"]["flags"] == [flag]
    assert data["suites"][0]["models"]["A"]["flags"] == []
    flags = pd.read_csv(out / "cells.csv", keep_default_na=False).groupby("model")["flags"].unique()
    assert list(flags["B"]) == [flag] and list(flags["A"]) == [""]
    assert all(f"Marked models: B ({flag})." in p.caption for p in doc.plots if p.suites)


def test_frames_without_x264_are_marked(tmp_path):
    preds = np.random.default_rng(0).integers(0, 1000, size=(20, 5))
    meta = {"generated": True, "label": "ImageNet-P (generated)", "seed": 0,
            "subset": {"limit": None, "corruptions": ["gaussian_noise"], "severities": [1], "complete": True},
            "generator": {"options": {"video_codec": "none"}}}
    path = write_results(tmp_path / "p" / "results.h5", {("gaussian_noise", 1): p_cell(preds, num_classes=1000)},
                         kind="p", suite="imagenet-p", num_classes=1000, metadata=meta,
                         checkpoint={"dataset": "imagenet"})
    assert run_flags(load_run(path, "P")) == ["frames without x264"]
    _, _, texts, _ = _report(tmp_path, {str(path): "P"}, reference="none")
    assert "P (frames without x264)" in texts["report.md"]


def test_the_resolution_option_is_not_a_mark_and_exact_runs_carry_none(tmp_path):
    """A generated suite at another resolution has its own name and label, which say it."""
    meta = dict(_generated({"resolution": 384}), label="ImageNet-C at 384 px (generated)")
    assert run_flags(load_run(_imagenet_c(tmp_path, "R", meta), "R")) == []
    assert run_flags(load_run(_imagenet_c(tmp_path, "E", _generated()), "E")) == []


def test_the_printed_scope_line_names_the_same_options():
    summary = {"suite": "imagenet-c", "corruptions": {"fog": {"errors": [0.5], "ce": None}},
               "clean_error": 0.2, "mean_error": 0.5, "mce": None, "relative_mce": None}
    meta = {"generated": True, "label": "ImageNet-C (generated)", "seed": 0,
            "generator": {"options": {"resolution": 224, "fast_jpeg": True}}}
    text = format_summary(summary, meta)
    assert text.splitlines()[1] == "ImageNet-C (generated), seed 0, fast_jpeg=True"
    assert text.params == ("fast_jpeg",)


# -- published rows beside generated runs ------------------------------------------------------

GENERATED_NOTE = ("The published rows were measured on the released ImageNet-C files; A and B were "
                  "scored on ImageNet-C generated from the clean set by this toolkit (seed 0): the same "
                  "corruptions, not the same images. CE is normalised by AlexNet's errors on the "
                  "released ImageNet-C files.")


def test_published_rows_beside_generated_runs_say_they_were_measured_on_the_released_files(tmp_path):
    files = {str(_imagenet_c(tmp_path, "A", _generated())): "A",
             str(_imagenet_c(tmp_path, "B", _generated(), shift=0.01)): "B"}
    doc, _, texts, data = _report(tmp_path, files)              # --reference auto
    assert data["published_rows"] == {"imagenet-c": "dynmix-paper"}
    assert f"imagenet-c: {GENERATED_NOTE}" in doc.summary
    shown = [t for t in data["tables"].values() if any(r["published"] for r in t["rows"])]
    assert shown and all(GENERATED_NOTE in t["notes"] for t in shown)
    assert GENERATED_NOTE in texts["report.md"]


def test_published_rows_beside_released_runs_carry_no_generated_note(tmp_path):
    released = {"subset": COMPLETE, "images_key": "released"}
    files = {str(_imagenet_c(tmp_path, "A", released)): "A"}
    doc, _, texts, data = _report(tmp_path, files)
    assert data["published_rows"] == {"imagenet-c": "dynmix-paper"}
    assert "generated" not in texts["report.md"]


def test_only_the_generated_runs_are_named_beside_released_ones(tmp_path):
    files = {str(_imagenet_c(tmp_path, "A", {"subset": COMPLETE, "images_key": "released"})): "A",
             str(_imagenet_c(tmp_path, "G", _generated(seed=3), shift=0.01)): "G"}
    doc, _, _, _ = _report(tmp_path, files)
    assert ("imagenet-c: The published rows were measured on the released ImageNet-C files; G was "
            "scored on ImageNet-C generated from the clean set by this toolkit (seed 3): the same "
            "corruptions, not the same images. CE is normalised by AlexNet's errors on the released "
            "ImageNet-C files.") in doc.summary


def test_the_summary_sentence_of_a_marked_run_carries_its_mark(tmp_path):
    files = {str(_imagenet_c(tmp_path, "B", _generated({"fast_jpeg": True}))): "B"}
    doc, _, _, _ = _report(tmp_path, files, reference="none")
    assert doc.summary[0].startswith("imagenet-c: B has mCE ")
    assert doc.summary[0].endswith("; n = 200 images per cell, 76 cells; fast JPEG); it is the only model "
                                   "scored on this suite.")


def test_a_paired_comparison_of_two_marked_runs_says_the_option(tmp_path):
    files = {str(_imagenet_c(tmp_path, "B", _generated({"fast_jpeg": True}))): "B",
             str(_imagenet_c(tmp_path, "C", _generated({"fast_jpeg": True}), shift=0.05)): "C"}
    _, _, _, data = _report(tmp_path, files, reference="none")
    (cmp,) = data["suites"][0]["comparisons"]
    assert cmp["sentence"].endswith("(paired over the same n = 200 images per cell, 76 cells; fast JPEG).")
