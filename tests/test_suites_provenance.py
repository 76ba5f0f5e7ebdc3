"""Suite provenance (issue 11): what a suite records about its images, and the images key that
pairs a make-suite folder with its on-the-fly twin (observed cases 3 and 4)."""

from __future__ import annotations

import json
import shutil

import h5py
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from cli import main
from formats import write_cifar_c, write_cifar_pickle, write_fashion_mnist_idx
from robustbench_dm.errors import UserError
from robustbench_dm.models import create_model, save_checkpoint
from robustbench_dm.suites import get_suite
from robustbench_dm.suites.make_suite import make_suite


def _all(suite, name, level, batch_size=4):
    return [torch.cat(parts) for parts in zip(*suite.iter_cell(name, level, batch_size))]


def _same_cells(a, b) -> None:
    for cell in a.cells():
        assert all(torch.equal(x, y) for x, y in zip(_all(a, *cell), _all(b, *cell))), cell


@pytest.fixture(scope="module")
def fm(tmp_path_factory):
    return write_fashion_mnist_idx(tmp_path_factory.mktemp("fm"), 12)


# ---- observed case 4: a written suite and its on-the-fly twin hold the same images ----

def test_written_fmnist_c_and_its_twin_share_the_images_key(fm, tmp_path):
    make_suite("fmnist-c", "fashion-mnist", fm, tmp_path / "out", seed=3, limit=5, corruptions="fog,contrast")
    written = get_suite("fmnist-c", tmp_path / "out")
    twin = get_suite("fmnist-c", fm, seed=3, limit=5, corruptions="fog,contrast")
    assert written.metadata()["images_key"] == twin.metadata()["images_key"]
    _same_cells(written, twin)
    assert written.metadata()["provenance"]["source"] == "written"
    assert twin.metadata()["provenance"] == {"source": "generated", "manifest": None, "data": None}
    # the key does not depend on the cells selected, nor on where the clean set lies
    moved = shutil.copytree(fm, tmp_path / "moved")
    assert get_suite("fmnist-c", moved, seed=3, limit=5, corruptions="fog").metadata()["images_key"] == \
        twin.metadata()["images_key"]
    # other seed, other number of images, other clean images: other key
    for other in (get_suite("fmnist-c", fm, seed=4, limit=5, corruptions="fog,contrast"),
                  get_suite("fmnist-c", fm, seed=3, limit=6, corruptions="fog,contrast"),
                  get_suite("fmnist-c", write_fashion_mnist_idx(tmp_path / "fm2", 12, seed=1), seed=3, limit=5)):
        assert other.metadata()["images_key"] != written.metadata()["images_key"]
    # scored on its first 3 images, the written suite pairs with the twin limited to 3
    assert get_suite("fmnist-c", tmp_path / "out", limit=3).metadata()["images_key"] == \
        get_suite("fmnist-c", fm, seed=3, limit=3).metadata()["images_key"]


def test_written_cifar10_c_with_its_clean_set_pairs_with_the_generated_suite(tmp_path):
    clean = write_cifar_pickle(tmp_path / "clean", 9, seed=2)
    make_suite("cifar10-c", "cifar10", clean, tmp_path / "out", seed=7, limit=6, corruptions="fog")
    written = get_suite("cifar10-c", tmp_path / "out", clean_root=clean)
    twin = get_suite("cifar10-c", generate=True, clean_root=clean, seed=7, limit=6, corruptions="fog")
    assert written.cells() == twin.cells() == [("clean", 0)] + [("fog", s) for s in range(1, 6)]
    _same_cells(written, twin)
    assert written.metadata()["images_key"] == twin.metadata()["images_key"]
    assert written.cell_fingerprint("clean", 0) == twin.cell_fingerprint("clean", 0)
    assert twin.cell_fingerprint("fog", 1) is None  # made on the fly
    # adding the clean cell does not change the key
    assert get_suite("cifar10-c", tmp_path / "out").metadata()["images_key"] == written.metadata()["images_key"]
    assert get_suite("cifar10-c", generate=True, clean_root=clean, seed=8, limit=6,
                     corruptions="fog").metadata()["images_key"] != written.metadata()["images_key"]
    # a clean set with the same labels but other images: its clean cell is not the twin's
    other = write_cifar_pickle(tmp_path / "other", 9, seed=5)
    mixed = get_suite("cifar10-c", tmp_path / "out", clean_root=other)
    assert mixed.metadata()["images_key"] != twin.metadata()["images_key"]


def test_written_folder_suite_is_keyed_as_jpeg(fm, clean, tmp_path):
    make_suite("fmnist-c", "fashion-mnist", fm, tmp_path / "npy", seed=1, limit=4, corruptions="fog")
    make_suite("fmnist-c", "fashion-mnist", fm, tmp_path / "jpeg", fmt="folder", seed=1, limit=4,
               corruptions="fog")
    npy = get_suite("fmnist-c", tmp_path / "npy").metadata()
    jpeg = get_suite("imagenet-c", tmp_path / "jpeg").metadata()
    assert jpeg["provenance"]["source"] == "written" and jpeg["images_key"] != npy["images_key"]
    make_suite("imagenet-c", "imagenet", clean, tmp_path / "inet", seed=1, limit=2, corruptions="fog", severities="1")
    as_stored = get_suite("imagenet-c", tmp_path / "inet").metadata()["images_key"]
    assert get_suite("imagenet-c", tmp_path / "inet", preprocessing="augmix").metadata()["images_key"] != as_stored


# ---- make-suite's manifest and what a scored written suite records (observed case 3) ----

def test_manifest_lists_its_cells_and_is_carried_into_the_metadata(fm, tmp_path):
    out = tmp_path / "out"
    make_suite("fmnist-c", "fashion-mnist", fm, out, seed=2, limit=4, corruptions="fog")
    make_suite("fmnist-c", "fashion-mnist", fm, out, seed=2, limit=4, corruptions="contrast")
    manifest = json.loads((out / "suite.json").read_text())
    assert manifest["cells"] == [["fog", s] for s in range(1, 6)] + [["contrast", s] for s in range(1, 6)]
    assert {k: manifest[k] for k in ("suite", "source", "format", "seed", "limit", "preset")} == \
        {"suite": "fmnist-c", "source": "fashion-mnist", "format": "npy", "seed": 2, "limit": 4, "preset": "cifar"}
    assert manifest["generator_version"] and manifest["clean_fingerprint"] and manifest["data_root"] == str(fm)
    meta = get_suite("fmnist-c", out).metadata()
    assert meta["provenance"]["manifest"] == manifest
    files = [out / "fog.npy", out / "contrast.npy", out / "labels.npy"]
    assert meta["provenance"]["data"] == {"files": 3, "bytes": sum(f.stat().st_size for f in files)}
    assert meta["subset"] == {"limit": 4, "corruptions": ["fog", "contrast"], "severities": [1, 2, 3, 4, 5],
                              "complete": False}
    assert get_suite("fmnist-c", out, limit=2).metadata()["subset"]["limit"] == 2


def test_a_whole_written_suite_is_complete(tmp_path, monkeypatch):
    import corruptions.registry as registry
    from test_suites_generated import fake_corruption

    for name in list(registry._CORRUPTIONS):
        monkeypatch.setitem(registry._CORRUPTIONS, name, fake_corruption)
    write_fashion_mnist_idx(tmp_path / "fm", 3)
    make_suite("fmnist-c", "fashion-mnist", tmp_path / "fm", tmp_path / "out")
    assert get_suite("fmnist-c", tmp_path / "out").metadata()["subset"]["complete"] is True
    assert get_suite("fmnist-c", tmp_path / "out", corruptions="fog").metadata()["subset"]["complete"] is False
    assert get_suite("fmnist-c", tmp_path / "out", limit=2).metadata()["subset"]["complete"] is False


def _checkpoint(tmp_path):
    net = create_model("small_cnn", 10)
    return save_checkpoint(tmp_path / "model.pt", arch="small_cnn", num_classes=10,
                           normalization={"mean": [0.5] * 3, "std": [0.5] * 3},
                           state_dict=net.state_dict(), dataset="fashion-mnist")


def test_scoring_a_limited_subset_suite_records_its_manifest(fm, tmp_path):
    """Observed cases 3 and the ``--corruptions fog,contrast`` folder: score takes the listed
    cells and records limit and completeness from the manifest."""
    runner = CliRunner()
    made = runner.invoke(main, ["make-suite", "fmnist-c", "--from", "fashion-mnist", "--data-root", str(fm),
                                "--out", str(tmp_path / "S"), "--corruptions", "fog,contrast", "--limit", "5"])
    assert made.exit_code == 0, made.output
    scored = runner.invoke(main, ["score", str(_checkpoint(tmp_path)), "--suite", "fmnist-c",
                                  "--data-root", str(tmp_path / "S"), "--out", str(tmp_path / "scores")])
    assert scored.exit_code == 0, scored.output
    with h5py.File(tmp_path / "scores" / "results.h5", "r") as f:
        meta = json.loads(f.attrs["metadata"])
        cells = {(n, int(lv)) for n in f["cells"] for lv in f["cells"][n]}
    assert meta["subset"]["limit"] == 5 and meta["subset"]["complete"] is False
    assert meta["subset"]["corruptions"] == ["fog", "contrast"]
    assert meta["provenance"]["source"] == "written"
    assert meta["provenance"]["manifest"] == json.loads((tmp_path / "S" / "suite.json").read_text())
    assert cells == {(c, s) for c in ("fog", "contrast") for s in range(1, 6)}
    summary = json.loads((tmp_path / "scores" / "summary.json").read_text())
    assert "gaussian_noise" not in json.dumps(summary)


def test_a_cell_the_manifest_lacks_is_one_clear_error(fm, tmp_path):
    out = tmp_path / "out"
    make_suite("fmnist-c", "fashion-mnist", fm, out, corruptions="fog", limit=3)
    with pytest.raises(UserError, match=r"gaussian_noise/1 .*not in the written suite's manifest .*suite\.json"):
        get_suite("fmnist-c", out, corruptions="fog,gaussian_noise")
    folder = tmp_path / "folder"
    make_suite("fmnist-c", "fashion-mnist", fm, folder, fmt="folder", corruptions="fog", severities="1,3", limit=3)
    make_suite("fmnist-c", "fashion-mnist", fm, folder, fmt="folder", corruptions="contrast", severities="2", limit=3)
    suite = get_suite("imagenet-c", folder)
    assert suite.cells() == [("fog", 1), ("fog", 3), ("contrast", 2)]
    with pytest.raises(UserError, match=r"contrast/3 .*not in the written suite's manifest"):
        get_suite("imagenet-c", folder, severities="3")  # severity 3 of every listed corruption
    assert get_suite("imagenet-c", folder, corruptions="fog").cells() == [("fog", 1), ("fog", 3)]
    with pytest.raises(UserError, match=r"fog/2 .*not in the written suite's manifest"):
        get_suite("imagenet-c", folder, corruptions="fog", severities="2")
    runner = CliRunner()
    bad = runner.invoke(main, ["score", str(_checkpoint(tmp_path)), "--suite", "fmnist-c", "--data-root", str(out),
                               "--out", str(tmp_path / "scores"), "--corruptions", "gaussian_noise"])
    last = bad.output.strip().splitlines()[-1]  # after the "device: ..." line
    assert bad.exit_code == 2 and last.startswith("error: ") and "gaussian_noise/1" in last
    assert not (tmp_path / "scores" / "results.h5").exists()


def test_a_folder_written_for_another_suite_is_refused(fm, tmp_path):
    """Observed case 1 at the suite: a Fashion-MNIST-C folder is not CIFAR-10-C."""
    make_suite("fmnist-c", "fashion-mnist", fm, tmp_path / "out", corruptions="fog", limit=3)
    with pytest.raises(UserError, match=r"holds a fmnist-c suite written by make-suite .*not cifar10-c"):
        get_suite("cifar10-c", tmp_path / "out")


# ---- released suites ----

def test_released_suite_records_its_files_and_a_key_over_every_cell(tmp_path):
    root = write_cifar_c(tmp_path / "C", 4, ("fog", "snow"))
    suite = get_suite("cifar10-c", root, corruptions="fog")
    meta = suite.metadata()
    assert meta["provenance"] == {"source": "released", "manifest": None, "data": {
        "files": 2, "bytes": (root / "fog.npy").stat().st_size + (root / "labels.npy").stat().st_size}}
    key = meta["images_key"]
    assert get_suite("cifar10-c", root, corruptions="fog,snow").metadata()["images_key"] == key
    assert get_suite("cifar10-c", shutil.copytree(root, tmp_path / "copy"), corruptions="fog") \
        .metadata()["images_key"] == key
    fingerprint = suite.cell_fingerprint("fog", 2)
    assert fingerprint == get_suite("cifar10-c", root, corruptions="fog").cell_fingerprint("fog", 2)
    assert suite.cell_fingerprint("fog", 1) != fingerprint
    snow = np.load(root / "snow.npy")
    snow[-1, 0, 0, 0] ^= 1  # one byte of a cell not selected
    np.save(root / "snow.npy", snow)
    assert get_suite("cifar10-c", root, corruptions="fog").metadata()["images_key"] != key
    fog = np.load(root / "fog.npy")
    fog[4, 1, 1, 1] ^= 1  # severity 2, first image
    np.save(root / "fog.npy", fog)
    changed = get_suite("cifar10-c", root, corruptions="fog")
    assert changed.cell_fingerprint("fog", 2) != fingerprint
    assert get_suite("cifar10-c", root, corruptions="fog", limit=3).cell_fingerprint("fog", 2) != \
        changed.cell_fingerprint("fog", 2)


# ---- paths as the user gave them ----

def test_paths_are_recorded_as_given(fm, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(fm, "fm")
    write_cifar_pickle("clean", 5)
    make_suite("fmnist-c", "fashion-mnist", "fm", "rel/out", corruptions="fog", limit=3)
    meta = get_suite("fmnist-c", "rel/out", clean_root="fm").metadata()
    assert meta["data_root"] == "rel/out" and meta["clean_root"] == "fm"
    assert meta["provenance"]["manifest"]["data_root"] == "fm"
    assert get_suite("fmnist-c", "fm", corruptions="fog").metadata()["data_root"] == "fm"
    assert get_suite("cifar10-c", generate=True, clean_root="clean", corruptions="fog") \
        .metadata()["data_root"] == "clean"


def test_written_p_and_h5_suites_pair_with_their_twins(fm, tmp_path):
    opts = dict(corruptions="gaussian_noise,rotate", severities="1,2", seed=5, limit=4)
    make_suite("fmnist-p", "fashion-mnist", fm, tmp_path / "p", **opts)
    make_suite("fmnist-c", "fashion-mnist", fm, tmp_path / "h5", fmt="h5", corruptions="fog", seed=5, limit=4)
    written_p = get_suite("fmnist-p", tmp_path / "p")
    twin_p = get_suite("fmnist-p", fm, **opts)
    assert written_p.cells() == twin_p.cells()
    _same_cells(written_p, twin_p)
    assert written_p.metadata()["images_key"] == twin_p.metadata()["images_key"]
    for root in (tmp_path / "h5", tmp_path / "h5" / "suite.h5"):
        written_h5 = get_suite("fmnist-c", root).metadata()
        assert written_h5["provenance"]["source"] == "written"
        assert written_h5["provenance"]["data"] == {"files": 1, "bytes": (tmp_path / "h5" / "suite.h5").stat().st_size}
        assert written_h5["images_key"] == get_suite("fmnist-c", fm, corruptions="fog", seed=5,
                                                     limit=4).metadata()["images_key"]


def test_images_made_on_another_device_type_get_another_key():
    """Random corruptions draw other numbers on CUDA: the device type enters the key (a CPU-made
    suite keeps its key), and a make-suite manifest records it."""
    from robustbench_dm.suites.provenance import generated_key, manifest_key

    fields = dict(suite="cifar10-c", dataset="cifar10", clean="c" * 64, seed=0,
                  generator_version="1", count=10, preset="cifar", chunk_size=256)
    cpu = generated_key(**fields)
    assert generated_key(**fields, device="cpu") == cpu
    assert generated_key(**fields, device="cuda") != cpu
    manifest = {"suite": "cifar10-c", "source": "cifar10", "clean_fingerprint": "c" * 64,
                "seed": 0, "generator_version": "1", "preset": "cifar", "chunk_size": 256}
    assert manifest_key(manifest, 10, stored="exact") == cpu
    assert manifest_key({**manifest, "device": "cuda"}, 10, stored="exact") != cpu
