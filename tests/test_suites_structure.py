"""Structurally invalid suites are refused when opened, before any cell is scored (issue 11)."""

from __future__ import annotations

import shutil

import pytest

from formats import write_fashion_mnist_idx, write_imagenet_p
from robustbench_dm.errors import UserError
from robustbench_dm.suites import get_suite
from robustbench_dm.suites.make_suite import make_suite

WNIDS = ["n01", "n02", "n03", "n04", "n05"]


def test_imagenet_p_with_fewer_than_5_classes_is_refused(tmp_path):
    write_imagenet_p(tmp_path, ["gaussian_noise"], WNIDS[:4], 1, size=16, frames=3)
    with pytest.raises(UserError, match=r"4 class folder\(s\) .*at least 5 classes"):
        get_suite("imagenet-p", tmp_path, corruptions="gaussian_noise")


def test_imagenet_p_cells_holding_other_videos_are_refused_when_opened(tmp_path):
    write_imagenet_p(tmp_path, ["gaussian_noise", "rotate"], WNIDS, 1, size=16, frames=3)
    get_suite("imagenet-p", tmp_path, corruptions="gaussian_noise,rotate")
    video = next((tmp_path / "rotate" / "n03").iterdir())
    shutil.move(video, tmp_path / "rotate" / "n04" / video.name)
    with pytest.raises(UserError, match="does not hold the same videos"):
        get_suite("imagenet-p", tmp_path, corruptions="gaussian_noise,rotate")


def test_written_p_suite_scores_the_cells_its_manifest_lists(tmp_path, monkeypatch):
    import corruptions.registry as registry
    from test_suites_generated import fake_sequence

    for name in ("gaussian_noise", "rotate"):
        monkeypatch.setitem(registry._SEQUENCES, name, fake_sequence)
    write_fashion_mnist_idx(tmp_path / "fm", 4)
    out = tmp_path / "out"
    make_suite("fmnist-p", "fashion-mnist", tmp_path / "fm", out, corruptions="gaussian_noise", severities="1,2")
    make_suite("fmnist-p", "fashion-mnist", tmp_path / "fm", out, corruptions="rotate")
    suite = get_suite("fmnist-p", out)
    assert suite.cells() == [("gaussian_noise", 1), ("gaussian_noise", 2), ("rotate", 1)]
    assert suite.metadata()["provenance"]["source"] == "written"
    with pytest.raises(UserError, match=r"rotate/2 .*not in the written suite's manifest"):
        get_suite("fmnist-p", out, severities="2")
