"""In one process: the shares of a cell that ranks read (a rank reads only its own items) and
the fast-path flags on a machine without CUDA."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from cli import main
from formats import WNIDS, write_cifar_c, write_imagenet_c_folder, write_imagenet_folder
from robustbench_dm.distributed import split_range
from robustbench_dm.errors import UserError
from robustbench_dm.models import NORMALIZATIONS, create_model, save_checkpoint
from robustbench_dm.scoring.cell_reader import can_gpu_decode, read_share
from robustbench_dm.scoring.fast_path import DEFAULT_SETTINGS, resolve_fast_path
from robustbench_dm.suites import get_suite
from robustbench_dm.suites import folders


@pytest.fixture(scope="module")
def suites(tmp_path_factory):
    root = tmp_path_factory.mktemp("shares")
    c_root = write_imagenet_c_folder(root / "in-c", ("fog",), WNIDS, per_class=3,
                                     severities=(1,), size=24)
    png_root = write_imagenet_c_folder(root / "in-png", ("fog",), WNIDS, per_class=2,
                                       severities=(1,), size=24, ext="png")
    clean = write_imagenet_folder(root / "val", WNIDS, per_class=3, size=(30, 26))
    return {
        "folder": get_suite("imagenet-c", c_root, corruptions="fog", severities="1",
                            clean_root=clean),
        "png": get_suite("imagenet-c", png_root, corruptions="fog", severities="1"),
        "npy": get_suite("cifar10-c", write_cifar_c(root / "c10", 13, ("fog",)),
                         corruptions="fog", severities="2,3"),
    }


def _concat(batches):
    images, labels, index = zip(*batches)
    return torch.cat(images), torch.cat(labels), torch.cat(index)


@pytest.mark.parametrize("name", ["folder", "npy"])
@pytest.mark.parametrize("world", [1, 2, 3, 4])
def test_the_shares_of_all_ranks_are_the_cell(suites, name, world):
    suite = suites[name]
    for cell in suite.cells():
        whole = _concat(suite.iter_cell(*cell, 4))
        n = suite.cell_size(*cell)
        shares = [list(read_share(suite, *cell, 4, *split_range(n, r, world)))
                  for r in range(world)]
        assert all(len(images) <= 4 for share in shares for images, _, _ in share)
        got = _concat([batch for share in shares for batch in share])
        for a, b in zip(whole, got):
            assert torch.equal(a, b)


def test_a_folder_rank_decodes_only_its_own_files(suites, monkeypatch):
    suite = suites["folder"]
    decoded = []
    original = folders.decode

    def spy(path, preprocessing):
        decoded.append(path)
        return original(path, preprocessing)

    monkeypatch.setattr(folders, "decode", spy)
    list(suite.iter_cell("fog", 1, 2))
    paths, decoded[:] = list(decoded), []
    lo, hi = split_range(len(paths), 1, 2)
    list(read_share(suite, "fog", 1, 2, lo, hi))
    assert decoded == paths[lo:hi]


def test_gpu_decode_applies_to_jpeg_folders_fed_as_stored(suites):
    assert can_gpu_decode(suites["folder"])
    assert suites["folder"].jpeg_as_stored("clean", 0) is False  # resized
    assert not can_gpu_decode(suites["png"]) and not can_gpu_decode(suites["npy"])


def test_fast_path_is_off_on_the_cpu_and_refuses_cuda_only_flags():
    cpu = torch.device("cpu")
    assert resolve_fast_path(cpu, can_gpu_decode=True).settings() == DEFAULT_SETTINGS
    assert resolve_fast_path(cpu, channels_last=True).settings()["channels_last"] is True
    with pytest.raises(UserError, match="bf16=True needs a CUDA device"):
        resolve_fast_path(cpu, bf16=True)
    with pytest.raises(UserError, match="gpu_decode=True needs a CUDA device"):
        resolve_fast_path(cpu, gpu_decode=True)
    cuda = resolve_fast_path(torch.device("cuda"), can_gpu_decode=False)
    assert cuda.settings() == {"precision": "bfloat16", "channels_last": True, "decode": "cpu"}
    with pytest.raises(UserError, match="JPEG folder suite"):
        resolve_fast_path(torch.device("cuda"), gpu_decode=True, can_gpu_decode=False)


def test_score_command_rejects_bf16_on_the_cpu_and_bad_shards(suites, tmp_path):
    model = create_model("small_cnn", 10, NORMALIZATIONS["cifar"])
    ckpt = save_checkpoint(tmp_path / "m.pt", arch="small_cnn", num_classes=10,
                           normalization=model.normalization, state_dict=model.net.state_dict())
    args = ["score", str(ckpt), "--suite", "cifar10-c", "--data-root", str(suites["npy"].root),
            "--corruptions", "fog", "--out", str(tmp_path / "o")]
    for extra, expected in ((["--bf16"], "--bf16 needs a CUDA device"),
                            (["--gpu-decode"], "--gpu-decode needs a CUDA device"),
                            (["--shard", "3/2"], "1 <= I <= N")):
        result = CliRunner().invoke(main, [*args, *extra])
        assert result.exit_code == 2 and expected in result.output, result.output
        assert not (tmp_path / "o").exists()
