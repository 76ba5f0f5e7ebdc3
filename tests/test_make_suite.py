"""``make-suite``: released formats written from a clean set, atomic, resumable, deterministic."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import corruptions.registry as registry
from cli import main
from formats import write_cifar_pickle, write_fashion_mnist_idx, write_imagenet_folder
from robustbench_dm.errors import UserError
from robustbench_dm.suites import get_suite
from robustbench_dm.suites.make_suite import make_suite
from test_suites_generated import fake_corruption, fake_sequence


@pytest.fixture(autouse=True)
def kernels(monkeypatch):
    for name in ("brightness", "fog"):
        monkeypatch.setitem(registry._CORRUPTIONS, name, fake_corruption)
    for name in ("gaussian_noise", "rotate"):
        monkeypatch.setitem(registry._SEQUENCES, name, fake_sequence)


def _all(suite, name, level, batch_size=8):
    return [torch.cat(parts) for parts in zip(*suite.iter_cell(name, level, batch_size))]


def test_npy_suite_loads_back_with_the_bytes_of_the_generated_suite(tmp_path):
    write_cifar_pickle(tmp_path / "clean", 11, seed=2)
    done = make_suite("cifar10-c", "cifar10", tmp_path / "clean", tmp_path / "out", seed=9,
                      corruptions="fog,brightness", batch_size=4)
    assert sorted(os.path.basename(p) for p in done["written"]) == ["brightness.npy", "fog.npy"]
    stored = np.load(tmp_path / "out" / "fog.npy")
    assert stored.shape == (55, 32, 32, 3) and stored.dtype == np.uint8
    labels = np.load(tmp_path / "out" / "labels.npy")
    assert labels.dtype == np.uint8 and labels.tolist() == [i % 10 for i in range(11)] * 5
    written = get_suite("cifar10-c", tmp_path / "out", corruptions="fog,brightness", clean_root=tmp_path / "clean")
    generated = get_suite("cifar10-c", generate=True, clean_root=tmp_path / "clean", corruptions="fog,brightness", seed=9)
    assert written.cells() == generated.cells()
    for cell in written.cells():
        assert all(torch.equal(a, b) for a, b in zip(_all(written, *cell), _all(generated, *cell)))
    assert not list((tmp_path / "out").glob(".*partial"))


def test_resume_skips_finished_files_and_redoes_partial_ones(tmp_path):
    write_cifar_pickle(tmp_path / "clean", 6)
    args = ("cifar10-c", "cifar10", tmp_path / "clean", tmp_path / "out")
    make_suite(*args, corruptions="fog")
    fog = (tmp_path / "out" / "fog.npy").read_bytes()
    (tmp_path / "out" / ".brightness.npy.partial").write_bytes(b"killed mid-write")
    done = make_suite(*args, corruptions="fog,brightness")
    assert [os.path.basename(p) for p in done["skipped"]] == ["fog.npy"]
    assert [os.path.basename(p) for p in done["written"]] == ["brightness.npy"]
    assert (tmp_path / "out" / "fog.npy").read_bytes() == fog
    assert get_suite("cifar10-c", tmp_path / "out", corruptions="fog,brightness").cell_size("fog", 1) == 6
    with pytest.raises(UserError, match="seed"):
        make_suite(*args, corruptions="fog", seed=1)
    with pytest.raises(UserError, match="not empty"):
        make_suite("cifar10-c", "cifar10", tmp_path / "clean", tmp_path / "clean")


def test_folder_format_jpeg_q85_loads_with_imagenet_c(tmp_path):
    write_fashion_mnist_idx(tmp_path / "fm", 5)
    make_suite("fmnist-c", "fashion-mnist", tmp_path / "fm", tmp_path / "out", fmt="folder",
               corruptions="fog", severities="1,3", limit=4)
    files = sorted((tmp_path / "out" / "fog" / "3").rglob("*.JPEG"))
    assert [f.relative_to(tmp_path / "out" / "fog" / "3").as_posix() for f in files] == \
        ["0/0.JPEG", "1/1.JPEG", "2/2.JPEG", "3/3.JPEG"]
    suite = get_suite("imagenet-c", tmp_path / "out", corruptions="fog", severities=[1, 3])
    assert suite.num_classes == 10  # every class folder is written, even empty ones
    images, labels, _ = _all(suite, "fog", 3)
    generated = _all(get_suite("fmnist-c", tmp_path / "fm", corruptions="fog", severities=[3], limit=4), "fog", 3)
    assert labels.tolist() == generated[1].tolist()
    for image, expected in zip(images, generated[0]):  # one PIL JPEG q85 pass, as in the release
        buffer = io.BytesIO()
        Image.fromarray(expected.permute(1, 2, 0).numpy()).save(buffer, "JPEG", quality=85, optimize=True)
        assert np.array_equal(image.permute(1, 2, 0).numpy(), np.asarray(Image.open(buffer).convert("RGB")))


def test_imagenet_c_from_val_folder_keeps_names(tmp_path):
    write_imagenet_folder(tmp_path / "val", ["n02", "n01"], 1, size=(256, 300))
    make_suite("imagenet-c", "imagenet", tmp_path / "val", tmp_path / "out", corruptions="fog", severities=[2])
    assert (tmp_path / "out/fog/2/n02/ILSVRC2012_val_00000001.JPEG").is_file()
    suite = get_suite("imagenet-c", tmp_path / "out", corruptions="fog", severities=[2])
    assert _all(suite, "fog", 2)[0].shape == (2, 3, 224, 224)


def test_p_npy_loads_back_as_fmnist_p(tmp_path):
    write_fashion_mnist_idx(tmp_path / "fm", 5)
    make_suite("fmnist-p", "fashion-mnist", tmp_path / "fm", tmp_path / "out",
               corruptions="gaussian_noise,rotate", severities="1,2", seed=4)
    assert sorted(p.name for p in (tmp_path / "out").glob("*.npy")) == \
        ["gaussian_noise.npy", "gaussian_noise_2.npy", "labels.npy", "rotate.npy"]
    assert np.load(tmp_path / "out" / "rotate.npy").shape == (5, 4, 32, 32, 3)
    written = get_suite("fmnist-p", tmp_path / "out", corruptions="gaussian_noise,rotate", severities="1,2")
    generated = get_suite("fmnist-p", tmp_path / "fm", corruptions="gaussian_noise,rotate", severities="1,2", seed=4)
    for cell in generated.cells():
        assert all(torch.equal(a, b) for a, b in zip(_all(written, *cell), _all(generated, *cell)))


def test_bad_requests(tmp_path):
    write_cifar_pickle(tmp_path / "clean", 3)
    with pytest.raises(UserError, match="5 severities"):
        make_suite("cifar10-c", "cifar10", tmp_path / "clean", tmp_path / "o1", severities="1,2")
    with pytest.raises(UserError, match="imagenet-c is made from the imagenet test set; source 'cifar10' "
                                        "would write cifar10 images under the name imagenet-c"):
        make_suite("imagenet-c", "cifar10", tmp_path / "clean", tmp_path / "o2")
    with pytest.raises(UserError, match="cifar100-c is made from the cifar100 test set"):
        make_suite("cifar100-c", "cifar10", tmp_path / "clean", tmp_path / "o2")
    with pytest.raises(UserError, match="cannot make suite"):
        make_suite("svhn-c", "cifar10", tmp_path / "clean", tmp_path / "o3")
    with pytest.raises(UserError, match="format"):
        make_suite("fmnist-p", "fashion-mnist", tmp_path / "clean", tmp_path / "o4", fmt="folder")
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()
    made = CliRunner().invoke(main, ["make-suite", "cifar10-c", "--from", "imagenet", "--data-root",
                                     str(tmp_path / "clean"), "--out", str(tmp_path / "o5")])
    assert made.exit_code == 2 and "source 'imagenet'" not in made.output
    assert "error: cifar10-c is made from the cifar10 test set; --from 'imagenet' would" in made.output
    assert not (tmp_path / "o5").exists()


def test_cli(tmp_path):
    write_cifar_pickle(tmp_path / "clean", 4)
    runner = CliRunner()
    args = ["make-suite", "cifar10-c", "--from", "cifar10", "--data-root", str(tmp_path / "clean"),
            "--out", str(tmp_path / "out"), "--corruptions", "fog", "--seed", "2"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "1 written" in result.output and (tmp_path / "out" / "fog.npy").is_file()
    assert "1 already complete" in runner.invoke(main, args).output
    bad = runner.invoke(main, args[:-1] + ["3"])
    assert bad.exit_code == 2 and "seed" in bad.output
    assert bad.output.splitlines() == ["device: cpu", bad.output.splitlines()[1]]  # said at start
    assert bad.output.splitlines()[1].startswith("error: ")
