"""``score --generate`` for ImageNet-C, Tiny-ImageNet-C and ImageNet-P: the images scored on the
fly are the images ``make-suite`` writes (the released pipeline: Resize(256) + CenterCrop(224),
the corruption, the JPEG q85 save), with the real corruption kernels on a small folder of clean
JPEGs made from skimage's photographs."""

from __future__ import annotations

import io
import json

import h5py
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from torchvision.transforms.v2 import functional as F

from cli import main
from robustbench_dm.errors import UserError
from robustbench_dm.suites import get_suite
from robustbench_dm.suites.imagenet_generated import open_generated
from robustbench_dm.suites.imagenet_pipeline import CleanImages
from robustbench_dm.suites.released_jpeg import ReleasedSave
from robustbench_dm.suites.make_suite import make_suite

from imagenet_fixtures import assert_same_records, run_cli, write_photo_folder

PICKED = ["--corruptions", "gaussian_noise,motion_blur,frost,pixelate", "--severities", "1,5", "--seed", "7"]


def score(*args):
    return run_cli("score", *args)


def test_imagenet_c_on_the_fly_scores_the_images_make_suite_writes(clean, model, tmp_path):
    written = tmp_path / "written"
    made = CliRunner().invoke(main, ["make-suite", "imagenet-c", "--from", "imagenet", "--data-root",
                                     str(clean), "--out", str(written), *PICKED])
    assert made.exit_code == 0, made.output
    fly = score(model, "--suite", "imagenet-c", "--generate", "--clean-root", clean, "--out",
                tmp_path / "fly", "--batch-size", "4", *PICKED)
    assert fly.exit_code == 0, fly.output
    files = score(model, "--suite", "imagenet-c", "--data-root", written, "--clean-root", clean,
                  "--out", tmp_path / "files", "--batch-size", "4", *PICKED)
    assert files.exit_code == 0, files.output
    on_the_fly = assert_same_records(tmp_path / "fly/results.h5", tmp_path / "files/results.h5")
    assert sorted(on_the_fly) == sorted(
        ["clean/0"] + [f"{c}/{s}" for c in ("gaussian_noise", "motion_blur", "frost", "pixelate") for s in (1, 5)])
    assert len(np.unique(on_the_fly["frost/5"]["logits"].round(4), axis=0)) > 1  # the model sees the images
    with h5py.File(tmp_path / "fly/results.h5", "r") as f, h5py.File(tmp_path / "files/results.h5", "r") as g:
        meta = json.loads(f.attrs["metadata"])
        assert meta["images_key"] == json.loads(g.attrs["metadata"])["images_key"]  # the same images
    assert meta["label"] == "ImageNet-C (generated)" and meta["seed"] == 7
    assert meta["generator"]["resolution"] == 224 and meta["generator"]["options"] == {}
    assert "quality 85" in meta["generator"]["final_save"]
    assert meta["source"]["data_root"] == str(clean) and len(meta["source"]["clean_fingerprint"]) == 64


def test_the_released_save_is_what_a_reader_of_the_written_file_gets(clean):
    images = CleanImages(clean)[0:4]
    assert images.shape == (4, 3, 224, 224)
    save = ReleasedSave(threads=2)
    decoded = torch.cat([done() for done in [save.submit(images[:2]), save.submit(images[2:])]])
    for data, image in zip(save.encode(images), decoded):
        with Image.open(io.BytesIO(data)) as f:
            assert np.array_equal(np.asarray(f.convert("RGB")), image.permute(1, 2, 0).numpy())
    assert not torch.equal(decoded, images)  # the q85 pass changes pixels
    # on the CPU torchvision's encoder is the same libjpeg-turbo at the same quality: the Huffman
    # tables differ (no optimize), the decoded pixels do not (nvJPEG on CUDA differs)
    assert torch.equal(ReleasedSave(fast=True).submit(images)(), decoded)


def test_tinyimagenet_c_on_the_fly_equals_make_suite_files(tmp_path):
    source = write_photo_folder(tmp_path / "tiny", size=64)
    make_suite("tinyimagenet-c", "tinyimagenet", source, tmp_path / "out", corruptions="snow", severities="2",
               seed=1)
    files = get_suite("tinyimagenet-c", tmp_path / "out", corruptions="snow", severities=[2])
    fly = get_suite("tinyimagenet-c", generate=True, clean_root=source, corruptions="snow", severities=[2], seed=1)
    assert fly.cells() == [("clean", 0), ("snow", 2)] and fly.metadata()["label"] == "Tiny-ImageNet-C (generated)"
    a = [torch.cat(p) for p in zip(*files.iter_cell("snow", 2, 4))]
    b = [torch.cat(p) for p in zip(*fly.iter_cell("snow", 2, 4))]
    assert a[0].shape == (6, 3, 64, 64) and all(torch.equal(x, y) for x, y in zip(a, b))
    assert fly.metadata()["images_key"] == files.metadata()["images_key"]
    # the written folder with its clean val images: the on-the-fly suite's cells, clean cell included
    with_clean = get_suite("tinyimagenet-c", tmp_path / "out", clean_root=source, corruptions="snow", severities=[2])
    assert with_clean.cells() == fly.cells()
    for cell in fly.cells():
        a = [torch.cat(p) for p in zip(*with_clean.iter_cell(*cell, 4))]
        b = [torch.cat(p) for p in zip(*fly.iter_cell(*cell, 4))]
        assert a[0].shape == (6, 3, 64, 64) and all(torch.equal(x, y) for x, y in zip(a, b)), cell
    assert with_clean.metadata()["images_key"] == fly.metadata()["images_key"]
    with pytest.raises(UserError, match="64x64"):
        get_suite("tinyimagenet-c", generate=True, clean_root=write_photo_folder(tmp_path / "big"))


def test_imagenet_p_on_the_fly_gives_seeded_videos(clean):
    """The frames as generated (video_codec="none"; the x264 round trip is tested in
    test_onthefly_imagenet_p_x264.py)."""
    suite = get_suite("imagenet-p", generate=True, clean_root=clean, corruptions="gaussian_noise,translate",
                      severities="1,2", seed=2, limit=2, video_codec="none")
    assert suite.cells() == [("gaussian_noise", 1), ("gaussian_noise", 2), ("translate", 1), ("translate", 2)]
    videos, labels, _ = next(iter(suite.iter_cell("gaussian_noise", 2, 8)))
    assert videos.shape[0] == 2 and videos.shape[2:] == (3, 224, 224) and labels.tolist() == [0, 0]
    again = get_suite("imagenet-p", generate=True, clean_root=clean, corruptions="gaussian_noise", severities="2",
                      seed=2, limit=2, video_codec="none")
    assert torch.equal(next(iter(again.iter_cell("gaussian_noise", 2, 8)))[0], videos)
    meta = suite.metadata()
    assert meta["label"] == "ImageNet-P (generated)" and "video_codec='none'" in meta["generator"]["final_save"]
    assert meta["generator"]["options"] == {"video_codec": "none"}
    with pytest.raises(UserError, match="imagenet-c only"):
        open_generated("imagenet-p", clean, resolution=256)


def test_resolution_is_its_own_suite_and_options_change_the_images_key(clean):
    kwargs = {"generate": True, "clean_root": clean, "corruptions": "fog", "severities": [1], "limit": 2}
    default = get_suite("imagenet-c", **kwargs)
    same = get_suite("imagenet-c", resolution=224, **kwargs)
    big = get_suite("imagenet-c", resolution=256, **kwargs)
    fast = get_suite("imagenet-c", fast_jpeg=True, **kwargs)
    assert default.metadata()["images_key"] == same.metadata()["images_key"]
    keys = {s.metadata()["images_key"] for s in (default, big, fast)}
    assert len(keys) == 3
    assert big.name == "imagenet-c-256px" and big.metadata()["label"] == "ImageNet-C at 256 px (generated)"
    assert big.metadata()["generator"]["options"] == {"resolution": 256}
    assert fast.metadata()["generator"]["options"] == {"fast_jpeg": True}
    images = next(iter(big.iter_cell("clean", 0, 2)))[0]
    first = min(clean.rglob("*.JPEG"), key=lambda p: (p.stem, p.parent.name))
    expected = F.center_crop(F.resize(Image.open(first).convert("RGB"), [293]), [256, 256])  # 256 * 256/224
    assert np.array_equal(images[0].permute(1, 2, 0).numpy(), np.asarray(expected))
    assert images.shape == (2, 3, 256, 256)
    assert next(iter(big.iter_cell("fog", 1, 2)))[0].shape == (2, 3, 256, 256)


def test_released_only_and_misused_options_are_one_line_errors(clean, model, tmp_path):
    result = score(model, "--suite", "imagenet-3dcc", "--generate", "--clean-root", clean, "--out", tmp_path / "o")
    assert result.exit_code == 2 and "released files only" in result.output
    assert len([line for line in result.output.splitlines() if line.startswith("error:")]) == 1
    result = score(model, "--suite", "imagenet-c", "--data-root", clean, "--resolution", "384",
                   "--out", tmp_path / "o2")
    assert result.exit_code == 2 and "generate" in result.output
    with pytest.raises(UserError, match="clean_root"):
        get_suite("imagenet-c", generate=True)
    with pytest.raises(UserError, match="resolution"):
        get_suite("imagenet-c", generate=True, clean_root=clean, resolution=16)


def test_the_clean_set_is_decoded_once_for_all_cells_when_held(clean, monkeypatch):
    calls = []
    decode_one = CleanImages._decode_one
    monkeypatch.setattr(CleanImages, "_decode_one", lambda self, path: calls.append(path) or decode_one(self, path))
    kwargs = {"generate": True, "clean_root": clean, "corruptions": "contrast,brightness", "severities": [2]}
    held = get_suite("imagenet-c", **kwargs)
    out_held = [torch.cat([b[0] for b in held.iter_cell(*cell, 4)]) for cell in held.cells()]
    assert len(calls) == 6  # 6 clean images, 3 cells
    calls.clear()
    again = open_generated("imagenet-c", clean, corruptions="contrast,brightness", severities=[2], cache=False)
    out_again = [torch.cat([b[0] for b in again.iter_cell(*cell, 4)]) for cell in again.cells()]
    assert len(calls) >= 18 and all(torch.equal(a, b) for a, b in zip(out_held, out_again))  # every cell decodes


def test_read_ahead_never_waits_on_its_own_pool(clean):
    """One pool thread, overlapping read-aheads (a probe twice, then the whole set): no task of
    the pool waits on another, so this finishes (it deadlocked when a read-ahead used the pool)."""
    images = CleanImages(clean, threads=1)
    first = images[0:1]
    assert torch.equal(images[0:1], first)
    assert torch.equal(images[0:6][:1], first) and images[0:6].shape == (6, 3, 224, 224)


def test_cli_resolution_and_fast_jpeg_are_recorded_and_never_called_imagenet_c(clean, model, tmp_path):
    picked = ["--corruptions", "fog", "--severities", "1", "--batch-size", "4", "--limit", "3"]
    result = score(model, "--suite", "imagenet-c", "--generate", "--clean-root", clean, "--resolution", "256",
                   "--fast-jpeg", "--out", tmp_path / "r256", *picked)
    assert result.exit_code == 0, result.output
    with h5py.File(tmp_path / "r256/results.h5", "r") as f:
        meta = json.loads(f.attrs["metadata"])
        assert f.attrs["suite"] == "imagenet-c-256px"
    assert meta["label"] == "ImageNet-C at 256 px (generated)"
    assert meta["generator"]["options"] == {"resolution": 256, "fast_jpeg": True}
    assert "encode_jpeg" in meta["generator"]["final_save"]
    summary = json.loads((tmp_path / "r256/summary.json").read_text())
    assert summary["suite"] == "imagenet-c-256px"  # not imagenet-c: never normalised by its AlexNet table
