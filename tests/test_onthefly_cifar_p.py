"""CIFAR-10-P / CIFAR-100-P on the fly (``score --generate``): the sequences ``make-suite`` writes,
scored without writing them, with the same per-image records and images key."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from cli import main
from formats import write_cifar_pickle
from imagenet_fixtures import assert_same_records, metadata_of
from robustbench_dm.errors import UserError
from robustbench_dm.suites import get_suite
from scoring_fixtures import PixelCodeNet
from test_cli_score import scripted

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")

PICKED = ["--corruptions", "gaussian_noise,rotate", "--severities", "1,2", "--seed", "3"]


def _invoke(*args) -> str:
    result = CliRunner().invoke(main, list(map(str, args)))
    assert result.exit_code == 0, result.output
    return result.output


def test_cifar10_p_on_the_fly_scores_the_sequences_make_suite_writes(tmp_path):
    write_cifar_pickle(tmp_path / "clean", 6, seed=1)
    model = scripted(tmp_path, PixelCodeNet(10))
    _invoke("make-suite", "cifar10-p", "--from", "cifar10", "--data-root", tmp_path / "clean",
            "--out", tmp_path / "written", *PICKED)
    common = [model, "--suite", "cifar10-p", "--clean-root", tmp_path / "clean", "--batch-size", "64", *PICKED]
    _invoke("score", *common, "--data-root", tmp_path / "written", "--out", tmp_path / "files")
    _invoke("score", *common, "--generate", "--out", tmp_path / "fly")
    cells = assert_same_records(tmp_path / "fly" / "results.h5", tmp_path / "files" / "results.h5")
    assert sorted(cells) == ["gaussian_noise/1", "gaussian_noise/2", "rotate/1", "rotate/2"]
    fly, files = (metadata_of(tmp_path / run / "results.h5") for run in ("fly", "files"))
    assert fly["images_key"] == files["images_key"]
    assert fly["provenance"]["source"] == "generated" and files["provenance"]["source"] == "written"


def test_cifar100_p_generated_frames_equal_the_written_arrays(tmp_path):
    write_cifar_pickle(tmp_path / "clean", 4, seed=2, dataset="cifar100")
    _invoke("make-suite", "cifar100-p", "--from", "cifar100", "--data-root", tmp_path / "clean",
            "--out", tmp_path / "written", "--corruptions", "shot_noise,brightness", "--seed", "7")
    fly = get_suite("cifar100-p", generate=True, clean_root=tmp_path / "clean",
                    corruptions="shot_noise,brightness", seed=7)
    assert fly.name == "cifar100-p" and fly.num_classes == 100
    for name in ("shot_noise", "brightness"):
        stored = np.load(tmp_path / "written" / f"{name}.npy")  # (N, T, 32, 32, 3)
        frames = torch.cat([batch[0] for batch in fly.iter_cell(name, 1, 2)])
        assert np.array_equal(frames.permute(0, 1, 3, 4, 2).numpy(), stored)
    other = get_suite("cifar100-p", generate=True, clean_root=tmp_path / "clean", corruptions="brightness", seed=8)
    assert other.images_key() != fly.images_key()


def test_generate_without_a_clean_set_names_the_parameter(tmp_path):
    with pytest.raises(UserError, match="generate=True needs clean_root"):
        get_suite("cifar10-p", generate=True)
