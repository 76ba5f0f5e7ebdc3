"""CIFAR-10/100-C and CIFAR-10-P suites read from their released .npy layout."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from corruptions import CORRUPTIONS, EXTRA
from formats import write_cifar_c, write_cifar_p, write_cifar_pickle
from robustbench_dm.errors import UserError
from robustbench_dm.suites import get_suite

TWO = ["gaussian_noise", "fog"]


def _all(suite, name, level, batch_size=3):
    batches = list(suite.iter_cell(name, level, batch_size))
    return [torch.cat(parts) for parts in zip(*batches)]


def test_rows_of_each_severity_block_in_nchw(tmp_path):
    def pixels(name, s, labels):  # value = 10 * severity + image position
        return np.broadcast_to((10 * s + np.arange(len(labels)))[:, None, None, None], (len(labels), 32, 32, 3))

    write_cifar_c(tmp_path, 7, TWO, pixels=pixels)
    suite = get_suite("cifar10-c", tmp_path, corruptions=TWO)
    assert suite.kind == "c" and suite.num_classes == 10
    assert suite.cells() == [(c, s) for c in TWO for s in range(1, 6)]
    images, labels, index = _all(suite, "fog", 4)
    assert images.dtype == torch.uint8 and images.shape == (7, 3, 32, 32) and images.is_contiguous()
    assert images[:, 0, 0, 0].tolist() == [40 + i for i in range(7)]
    assert labels.dtype == torch.int64 and labels.tolist() == [i % 10 for i in range(7)]
    assert index.tolist() == list(range(7))


def test_channel_order_is_kept(tmp_path):
    def pixels(name, s, labels):
        block = np.zeros((len(labels), 32, 32, 3), np.uint8)
        block[..., 0], block[..., 1], block[..., 2] = 1, 2, 3
        return block

    write_cifar_c(tmp_path, 2, ["fog"], pixels=pixels)
    images = _all(get_suite("cifar10-c", tmp_path, corruptions="fog"), "fog", 1)[0]
    assert images[0, :, 5, 5].tolist() == [1, 2, 3]


def test_default_is_15_plus_present_extras_and_missing_benchmark_file_is_named(tmp_path):
    write_cifar_c(tmp_path, 2, list(CORRUPTIONS) + ["spatter"])
    suite = get_suite("cifar10-c", tmp_path)
    assert [c for c, _ in suite.cells()[::5]] == list(CORRUPTIONS) + ["spatter"]
    assert suite.metadata()["subset"]["complete"] is True
    (tmp_path / "frost.npy").unlink()
    with pytest.raises(UserError, match="frost.npy"):
        get_suite("cifar10-c", tmp_path)


def test_limit_and_selection_are_recorded(tmp_path):
    write_cifar_c(tmp_path, 6, TWO)
    suite = get_suite("cifar10-c", tmp_path, limit=4, corruptions=["fog"], severities="2,5")
    assert suite.cells() == [("fog", 2), ("fog", 5)]
    assert suite.cell_size("fog", 2) == 4
    assert len(_all(suite, "fog", 5)[1]) == 4
    subset = suite.metadata()["subset"]
    assert subset == {"limit": 4, "corruptions": ["fog"], "severities": [2, 5], "complete": False}
    with pytest.raises(UserError, match="no cell"):
        list(suite.iter_cell("fog", 1, 2))


def test_clean_cell_first_and_index_pairs_images(tmp_path):
    clean = np.random.default_rng(0).integers(0, 256, (5, 3, 32, 32), dtype=np.uint8)
    write_cifar_c(tmp_path / "c", 5, TWO)
    write_cifar_pickle(tmp_path / "clean", images=clean)
    suite = get_suite("cifar10-c", tmp_path / "c", corruptions=TWO, clean_root=tmp_path / "clean")
    assert suite.cells()[0] == ("clean", 0)
    images, labels, index = _all(suite, "clean", 0, 2)
    assert torch.equal(images, torch.from_numpy(clean))
    assert labels.tolist() == [0, 1, 2, 3, 4] and index.tolist() == [0, 1, 2, 3, 4]


def test_clean_labels_must_match(tmp_path):
    write_cifar_c(tmp_path / "c", 5, TWO)
    write_cifar_pickle(tmp_path / "clean", 5, labels=[9, 9, 9, 9, 9])
    with pytest.raises(UserError, match="does not match"):
        get_suite("cifar10-c", tmp_path / "c", corruptions=TWO, clean_root=tmp_path / "clean")


def test_cifar100_label_range(tmp_path):
    write_cifar_c(tmp_path, 4, TWO, labels=[0, 50, 99, 7], num_classes=100)
    assert get_suite("cifar100-c", tmp_path, corruptions=TWO).num_classes == 100
    with pytest.raises(UserError, match="out of range"):
        get_suite("cifar10-c", tmp_path, corruptions=TWO)


@pytest.mark.parametrize("defect, message", [
    ("shape", r"expected uint8 \(5n, 32, 32, 3\)"),
    ("dtype", "float32"),
    ("rows", "rows"),
    ("truncated", "truncated"),
    ("header", "not a valid .npy"),
    ("labels_length", "expected 10 integer labels"),
    ("labels_blocks", "severity blocks"),
    ("no_root", "does not exist"),
])
def test_bad_input_names_the_file(tmp_path, defect, message):
    write_cifar_c(tmp_path, 2, TWO)
    fog = tmp_path / "fog.npy"
    if defect == "shape":
        np.save(fog, np.zeros((10, 32, 32, 1), np.uint8))
    elif defect == "dtype":
        np.save(fog, np.zeros((10, 32, 32, 3), np.float32))
    elif defect == "rows":
        np.save(fog, np.zeros((9, 32, 32, 3), np.uint8))
    elif defect == "truncated":
        fog.write_bytes(fog.read_bytes()[:-50])
    elif defect == "header":
        fog.write_bytes(fog.read_bytes()[:40])
    elif defect == "labels_length":
        np.save(tmp_path / "labels.npy", np.zeros(9, np.uint8))
    elif defect == "labels_blocks":
        np.save(tmp_path / "labels.npy", np.arange(10, dtype=np.uint8) % 10)
    root = tmp_path / "nowhere" if defect == "no_root" else tmp_path
    with pytest.raises(UserError, match=message) as err:
        get_suite("cifar10-c", root, corruptions=TWO)
    assert str(root) in str(err.value)


def test_unknown_names_and_levels(tmp_path):
    write_cifar_c(tmp_path, 2, TWO)
    with pytest.raises(UserError, match="unknown corruption 'fogg'"):
        get_suite("cifar10-c", tmp_path, corruptions="fogg")
    with pytest.raises(UserError, match="severity"):
        get_suite("cifar10-c", tmp_path, corruptions=TWO, severities=[6])
    with pytest.raises(UserError, match="unknown suite"):
        get_suite("cifar11-c", tmp_path)
    with pytest.raises(UserError, match="option"):
        get_suite("cifar10-c", tmp_path, colour=True)
    with pytest.raises(UserError, match="limit"):
        get_suite("cifar10-c", tmp_path, corruptions=TWO, limit=0)


def test_extras_are_selectable(tmp_path):
    write_cifar_c(tmp_path, 2, list(EXTRA))
    suite = get_suite("cifar10-c", tmp_path, corruptions=EXTRA, severities=[1])
    assert [c for c, _ in suite.cells()] == list(EXTRA)


# ---- CIFAR-10-P ----

def test_cifar_p_frames_from_the_data_and_noise_difficulty_files(tmp_path):
    write_cifar_p(tmp_path, 3, ["gaussian_noise", "translate", "motion_blur"], difficulties=(1, 2))
    suite = get_suite("cifar10-p", tmp_path, corruptions="gaussian_noise,translate,motion_blur", severities=[1, 2])
    assert suite.kind == "p"
    assert suite.cells() == [(p, d) for p in ("gaussian_noise", "translate", "motion_blur") for d in (1, 2)]
    frames = {name: _all(suite, name, 1)[0].shape for name in ("gaussian_noise", "translate", "motion_blur")}
    assert frames == {"gaussian_noise": (3, 31, 3, 32, 32), "translate": (3, 16, 3, 32, 32),
                      "motion_blur": (3, 21, 3, 32, 32)}
    stored = np.load(tmp_path / "gaussian_noise_2.npy")
    videos, labels, index = _all(suite, "gaussian_noise", 2, 2)
    assert torch.equal(videos, torch.from_numpy(stored).permute(0, 1, 4, 2, 3))
    assert labels.tolist() == [-1, -1, -1] and index.tolist() == [0, 1, 2]
    assert torch.equal(_all(suite, "translate", 2)[0], _all(suite, "translate", 1)[0])


def test_cifar_p_labels_from_clean_root_or_labels_file(tmp_path):
    write_cifar_p(tmp_path / "p", 3, ["rotate"])
    write_cifar_pickle(tmp_path / "clean", 3, labels=[4, 5, 6])
    suite = get_suite("cifar10-p", tmp_path / "p", corruptions="rotate", clean_root=tmp_path / "clean")
    assert _all(suite, "rotate", 1)[1].tolist() == [4, 5, 6]
    np.save(tmp_path / "p" / "labels.npy", np.array([1, 2, 3], np.uint8))
    assert _all(get_suite("cifar10-p", tmp_path / "p", corruptions="rotate"), "rotate", 1)[1].tolist() == [1, 2, 3]
    write_cifar_pickle(tmp_path / "clean4", 4)
    with pytest.raises(UserError, match="one per video"):
        get_suite("cifar10-p", tmp_path / "p", corruptions="rotate", clean_root=tmp_path / "clean4")


def test_cifar_p_defaults_and_errors(tmp_path):
    write_cifar_p(tmp_path, 2)
    suite = get_suite("cifar10-p", tmp_path)
    assert [p for p, _ in suite.cells()] == ["gaussian_noise", "shot_noise", "motion_blur", "zoom_blur", "spatter",
                                             "brightness", "translate", "rotate", "tilt", "scale"]
    assert suite.metadata()["subset"]["complete"] is True
    with pytest.raises(UserError, match="gaussian_noise_3.npy"):
        get_suite("cifar10-p", tmp_path, difficulty=3)
    np.save(tmp_path / "tilt.npy", np.zeros((2, 31, 32, 32), np.uint8))
    with pytest.raises(UserError, match="tilt.npy"):
        get_suite("cifar10-p", tmp_path)
    with pytest.raises(UserError, match="not both"):
        get_suite("cifar10-p", tmp_path, severities=[1], difficulty=1)
