"""ImageNet-P made on the fly passes through the release's x264 encoding (``released_video.py``):
the frames scored are those a reader of ``make-suite imagenet-p``'s mp4 files gets, close to the
generated frames but not equal to them; ``video_codec="none"`` scores the generated frames."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from robustbench_dm.errors import UserError
from robustbench_dm.suites import get_suite
from robustbench_dm.suites.make_suite import make_suite
from robustbench_dm.suites.released_video import decode_video, encode_video, x264_build, x264_settings

from imagenet_fixtures import assert_same_records, metadata_of, run_cli, write_photo_folder, write_tiny_model

# ImageNet-P needs at least 5 classes (top-5 distance): one photograph per class
FIVE = {"n01440764": ("astronaut",), "n01443537": ("coffee",), "n01484850": ("chelsea",),
        "n01491361": ("rocket",), "n01494475": ("colorwheel",)}
PICKED = ["--corruptions", "gaussian_noise,rotate", "--seed", "4", "--limit", "1"]


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = ((a.double() - b.double()) ** 2).mean().item()
    return 10 * np.log10(255 ** 2 / mse)


def test_x264_settings_are_the_release_commands():
    # make_imagenet_p.py: "-vcodec libx264 -tune grain -preset veryslow" for the noise sequences,
    # "-vcodec libx264 -crf 20 -preset veryslow" for the others
    assert x264_settings("gaussian_noise") == x264_settings("shot_noise") == {"preset": "veryslow", "tune": "grain"}
    assert x264_settings("rotate") == x264_settings("motion_blur") == {"preset": "veryslow", "crf": "20"}


def test_encode_video_is_deterministic_and_read_back_as_files_are(tmp_path):
    frames = np.random.default_rng(0).integers(0, 256, (3, 32, 48, 3), dtype=np.uint8)
    data = encode_video(frames, "gaussian_noise")
    assert data == encode_video(frames, "gaussian_noise") != encode_video(frames, "rotate")
    (tmp_path / "v.mp4").write_bytes(data)
    decoded = decode_video(tmp_path / "v.mp4")
    assert decoded.shape == frames.shape and np.array_equal(decoded, decode_video(data))
    with pytest.raises(UserError, match="unreadable encoded video"):
        decode_video(b"not a video")


@pytest.mark.slow
def test_imagenet_p_on_the_fly_scores_the_videos_make_suite_writes(tmp_path):
    clean = write_photo_folder(tmp_path / "val", FIVE)
    model = write_tiny_model(tmp_path / "tiny.pt", classes=5)
    made = run_cli("make-suite", "imagenet-p", "--from", "imagenet", "--data-root", clean, "--out",
                   tmp_path / "written", *PICKED)
    assert made.exit_code == 0, made.output
    assert sorted(p.name for p in (tmp_path / "written/rotate/n01440764").iterdir()) == ["ILSVRC2012_val_00000001.mp4"]
    fly = run_cli("score", model, "--suite", "imagenet-p", "--generate", "--clean-root", clean, "--out",
                  tmp_path / "fly", "--batch-size", "2", *PICKED)
    assert fly.exit_code == 0, fly.output
    files = run_cli("score", model, "--suite", "imagenet-p", "--data-root", tmp_path / "written", "--out",
                    tmp_path / "files", "--batch-size", "2", "--corruptions", "gaussian_noise,rotate")
    assert files.exit_code == 0, files.output
    cells = assert_same_records(tmp_path / "fly/results.h5", tmp_path / "files/results.h5")
    assert sorted(cells) == ["gaussian_noise/1", "rotate/1"]
    fly_meta, files_meta = metadata_of(tmp_path / "fly/results.h5"), metadata_of(tmp_path / "files/results.h5")
    assert fly_meta["images_key"] == files_meta["images_key"]
    assert fly_meta["generator"]["options"] == {} and "libx264" in fly_meta["generator"]["final_save"]
    assert files_meta["provenance"]["source"] == "written"
    # the x264 build is part of the key: videos another build wrote do not pair with these
    manifest_path = tmp_path / "written" / "suite.json"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["encoder"] == x264_build() and x264_build().startswith("libx264 core ")
    manifest_path.write_text(json.dumps({**manifest, "encoder": "libx264 core 164 (another build)"}))
    other = get_suite("imagenet-p", tmp_path / "written", corruptions="gaussian_noise,rotate")
    assert other.images_key() != fly_meta["images_key"]
    manifest_path.write_text(json.dumps(manifest))

    # the written (x264) frames are close to the generated ones, not equal
    written = get_suite("imagenet-p", tmp_path / "written", corruptions="gaussian_noise,rotate")
    raw = get_suite("imagenet-p", generate=True, clean_root=clean, corruptions="gaussian_noise,rotate", seed=4,
                    limit=1, video_codec="none")
    assert raw.metadata()["images_key"] != fly_meta["images_key"]
    for cell, floor in ((("gaussian_noise", 1), 28), (("rotate", 1), 32)):
        coded = torch.cat([b[0] for b in written.iter_cell(*cell, 1)])
        frames = torch.cat([b[0] for b in raw.iter_cell(*cell, 1)])
        assert coded.shape == frames.shape == (1, 31, 3, 224, 224)
        assert not torch.equal(coded, frames) and psnr(coded, frames) > floor, (cell, psnr(coded, frames))


def test_video_codec_is_checked(tmp_path):
    clean = write_photo_folder(tmp_path / "val", FIVE)
    with pytest.raises(UserError, match="video_codec"):
        get_suite("imagenet-p", generate=True, clean_root=clean, video_codec="h265")
    with pytest.raises(UserError, match="video_codec"):
        get_suite("imagenet-c", generate=True, clean_root=clean, video_codec="none")
    with pytest.raises(UserError, match="generate=True"):
        get_suite("imagenet-p", tmp_path, video_codec="none")
    with pytest.raises(UserError, match="not available for imagenet-p"):
        make_suite("imagenet-p", "imagenet", clean, tmp_path / "out", fmt="npy")


def test_cli_option_video_codec_none_is_recorded(tmp_path):
    clean = write_photo_folder(tmp_path / "val", FIVE)
    model = write_tiny_model(tmp_path / "tiny.pt", classes=5)
    result = run_cli("score", model, "--suite", "imagenet-p", "--generate", "--clean-root", clean, "--out",
                     tmp_path / "raw", "--corruptions", "rotate", "--limit", "1", "--option", "video_codec=none")
    assert result.exit_code == 0, result.output
    meta = metadata_of(tmp_path / "raw/results.h5")
    assert meta["generator"]["options"] == {"video_codec": "none"}
    assert meta["generator"]["final_save"].startswith("none")
