"""``make-suite imagenet-c --resolution R`` writes the images ``score --generate --resolution R``
scores: the suite ``imagenet-c-<R>px``, its options in the manifest, the same images key and
identical per-image records scored both ways (CLI and Python)."""

from __future__ import annotations

import json

import h5py
import pytest
import torch

from robustbench_dm.errors import UserError
from robustbench_dm.suites import get_suite
from robustbench_dm.suites.make_suite import make_suite

from imagenet_fixtures import assert_same_records, metadata_of, run_cli, write_tiny_model

PICKED = ["--corruptions", "motion_blur,frost,pixelate", "--severities", "2", "--seed", "3"]


def test_cli_make_suite_at_a_resolution_scores_as_on_the_fly(clean, tmp_path):
    model = write_tiny_model(tmp_path / "tiny.pt")
    made = run_cli("make-suite", "imagenet-c", "--from", "imagenet", "--data-root", clean, "--out",
                   tmp_path / "written", "--resolution", "256", *PICKED)
    assert made.exit_code == 0, made.output
    manifest = json.loads((tmp_path / "written/suite.json").read_text())
    assert manifest["suite"] == "imagenet-c-256px" and manifest["options"] == {"resolution": 256}
    assert manifest["label"] == "ImageNet-C at 256 px (generated)"
    fly = run_cli("score", model, "--suite", "imagenet-c", "--generate", "--clean-root", clean, "--resolution",
                  "256", "--out", tmp_path / "fly", "--batch-size", "4", *PICKED)
    assert fly.exit_code == 0, fly.output
    files = run_cli("score", model, "--suite", "imagenet-c", "--data-root", tmp_path / "written", "--clean-root",
                    clean, "--out", tmp_path / "files", "--batch-size", "4", *PICKED)
    assert files.exit_code == 0, files.output
    cells = assert_same_records(tmp_path / "fly/results.h5", tmp_path / "files/results.h5")
    assert sorted(cells) == ["clean/0", "frost/2", "motion_blur/2", "pixelate/2"]
    with h5py.File(tmp_path / "fly/results.h5", "r") as f, h5py.File(tmp_path / "files/results.h5", "r") as g:
        assert f.attrs["suite"] == g.attrs["suite"] == "imagenet-c-256px"
    fly_meta, files_meta = metadata_of(tmp_path / "fly/results.h5"), metadata_of(tmp_path / "files/results.h5")
    assert fly_meta["images_key"] == files_meta["images_key"]
    assert files_meta["label"] == fly_meta["label"] == "ImageNet-C at 256 px (generated)"
    assert files_meta["clean_preprocessing"] == "Resize(293) + CenterCrop(256)"
    summary = json.loads((tmp_path / "files/summary.json").read_text())
    assert summary["suite"] == "imagenet-c-256px"  # never normalised by ImageNet-C's AlexNet table


def test_make_suite_resolution_in_python_and_its_refusals(clean, tmp_path):
    out = tmp_path / "r240"
    make_suite("imagenet-c", "imagenet", clean, out, corruptions="fog", severities="1", resolution=240, limit=3)
    files = get_suite("imagenet-c", out)
    fly = get_suite("imagenet-c", generate=True, clean_root=clean, corruptions="fog", severities=[1],
                    resolution=240, limit=3)
    a = torch.cat([b[0] for b in files.iter_cell("fog", 1, 2)])
    b = torch.cat([b[0] for b in fly.iter_cell("fog", 1, 2)])
    assert a.shape == (3, 3, 240, 240) and torch.equal(a, b)
    assert files.name == "imagenet-c-240px" and files.metadata()["images_key"] == fly.metadata()["images_key"]
    at_224 = get_suite("imagenet-c", generate=True, clean_root=clean, corruptions="fog", severities=[1], limit=3)
    assert at_224.metadata()["images_key"] != files.metadata()["images_key"]
    with pytest.raises(UserError, match="other settings"):  # resuming at another resolution
        make_suite("imagenet-c", "imagenet", clean, out, corruptions="fog", severities="1", resolution=256, limit=3)
    with pytest.raises(UserError, match="imagenet-c only"):
        make_suite("tinyimagenet-c", "tinyimagenet", clean, tmp_path / "t", resolution=128)
    with pytest.raises(UserError, match="imagenet-c only"):
        make_suite("cifar10-c", "cifar10", clean, tmp_path / "c", resolution=64)
    with pytest.raises(UserError, match="resolution"):
        make_suite("imagenet-c", "imagenet", clean, tmp_path / "s", resolution=16)
