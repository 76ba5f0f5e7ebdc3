"""A make-suite ``folder`` suite is read as the suite its ``suite.json`` names: through the generic
``imagenet-c`` folder reading or by its own name (``cifar10-c``, ``fmnist-c``), never as another
-C suite; the results, the checkpoint check, the AlexNet normalisation and the report's gallery
follow that name."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from formats import write_cifar_pickle, write_fashion_mnist_idx
from results_fixtures import c_suite_cells, write_results

from cli import main
from corruptions import CORRUPTIONS
from reports import plots
from reports.load import load_run
from robustbench_dm.errors import UserError
from robustbench_dm.models import create_model, save_checkpoint
from robustbench_dm.scoring.results import Results
from robustbench_dm.scoring.summary import summarize
from robustbench_dm.suites import get_suite
from robustbench_dm.suites.make_suite import make_suite

CELLS = dict(corruptions="fog", severities="1,3")


@pytest.fixture(scope="module")
def fm(tmp_path_factory) -> Path:
    return write_fashion_mnist_idx(tmp_path_factory.mktemp("idx"), 6)


@pytest.fixture(scope="module")
def fm_folder(fm, tmp_path_factory) -> Path:
    """A Fashion-MNIST-C folder: fog at severities 1 and 3, 4 images a cell."""
    out = tmp_path_factory.mktemp("written") / "out"
    make_suite("fmnist-c", "fashion-mnist", fm, out, fmt="folder", limit=4, progress=False, **CELLS)
    return out


@pytest.fixture(scope="module")
def cifar_folder(tmp_path_factory) -> Path:
    """A CIFAR-10-C folder: fog at severities 1 and 3, 3 images a cell."""
    root = tmp_path_factory.mktemp("pickle")
    write_cifar_pickle(root, 5, seed=2)
    out = root.parent / f"{root.name}-out"
    make_suite("cifar10-c", "cifar10", root, out, fmt="folder", limit=3, progress=False, **CELLS)
    return out


def _images(suite) -> list[torch.Tensor]:
    return [torch.cat([b[0] for b in suite.iter_cell(*cell, 2)]) for cell in suite.cells()]


def _checkpoint(path: Path, dataset: str) -> Path:
    net = create_model("small_cnn", 10)
    return save_checkpoint(path, arch="small_cnn", num_classes=10, state_dict=net.state_dict(),
                           normalization={"mean": [0.5] * 3, "std": [0.5] * 3}, dataset=dataset)


# ---- the suite a folder is read as ----

def test_the_generic_imagenet_c_reading_takes_the_suite_of_the_manifest(fm_folder, cifar_folder):
    for folder, recorded in ((fm_folder, "fmnist-c"), (cifar_folder, "cifar10-c")):
        suite = get_suite("imagenet-c", folder)
        assert suite.name == recorded
        meta = suite.metadata()
        assert meta["suite"] == recorded and "label" not in meta
        assert meta["provenance"]["source"] == "written"
        assert meta["provenance"]["manifest"]["suite"] == recorded


@pytest.mark.parametrize("name", ["fmnist-c", "cifar10-c"])
def test_a_folder_opens_by_the_name_of_its_own_suite(name, fm_folder, cifar_folder):
    folder = fm_folder if name == "fmnist-c" else cifar_folder
    own = get_suite(name, folder)
    generic = get_suite("imagenet-c", folder)
    assert own.name == name and own.metadata()["suite"] == name
    assert own.cells() == generic.cells() == [("fog", 1), ("fog", 3)]
    assert own.metadata()["images_key"] == generic.metadata()["images_key"]
    assert own.metadata()["provenance"] == generic.metadata()["provenance"]
    assert all(torch.equal(a, b) for a, b in zip(_images(own), _images(generic)))
    narrowed = get_suite(name, folder, severities="3", limit=2)
    assert narrowed.cells() == [("fog", 3)] and narrowed.cell_size("fog", 3) == 2


@pytest.mark.parametrize("asked", ["cifar10-c", "cifar100-c", "tinyimagenet-c", "imagenet-3dcc", "cifar10-p"])
def test_another_suite_name_is_refused_naming_the_folder_and_both_suites(asked, fm_folder):
    with pytest.raises(UserError) as err:
        get_suite(asked, fm_folder)
    message = str(err.value)
    assert str(fm_folder) in message and "fmnist-c" in message and asked in message
    assert "suite.json" in message


def test_a_manifest_of_another_format_or_kind_is_not_read_as_a_c_folder(fm, fm_folder, tmp_path):
    npy = tmp_path / "arrays"
    make_suite("fmnist-c", "fashion-mnist", fm, npy, limit=2, corruptions="fog", progress=False)
    with pytest.raises(UserError, match=r"fmnist-c suite .*npy format.*score it as fmnist-c"):
        get_suite("imagenet-c", npy)
    relabelled = tmp_path / "p"  # a suite.json naming a -P suite over -C-looking folders
    shutil.copytree(fm_folder, relabelled)
    manifest = json.loads((relabelled / "suite.json").read_text())
    (relabelled / "suite.json").write_text(json.dumps(manifest | {"suite": "fmnist-p"}))
    with pytest.raises(UserError, match=r"holds a fmnist-p suite .*not imagenet-c"):
        get_suite("imagenet-c", relabelled)


def test_the_p_folder_reader_refuses_a_folder_of_another_suite(fm_folder):
    """Regression guard (already so before): the -P folder reader reads only imagenet-p folders."""
    with pytest.raises(UserError, match=r"holds a fmnist-c suite .*not imagenet-p"):
        get_suite("imagenet-p", fm_folder)


def test_clean_root_is_refused_on_a_folder_of_a_non_imagenet_suite(fm_folder, tmp_path):
    clean = tmp_path / "clean"
    for c in range(10):
        (clean / str(c)).mkdir(parents=True)
    with pytest.raises(UserError, match=r"clean_root .*fmnist-c"):
        get_suite("imagenet-c", fm_folder, clean_root=clean)


def test_imagenet_preprocessing_is_refused_on_a_folder_of_a_non_imagenet_suite(fm_folder):
    with pytest.raises(UserError, match=r"preprocessing 'augmix' resizes ImageNet images to 224 px; .* fmnist-c suite"):
        get_suite("imagenet-c", fm_folder, preprocessing="augmix")
    assert get_suite("imagenet-c", fm_folder, preprocessing="none").name == "fmnist-c"


def test_options_of_suites_made_on_the_fly_are_refused_on_a_written_folder(fm_folder):
    with pytest.raises(UserError, match="device"):
        get_suite("fmnist-c", fm_folder, device="meta")


# ---- what follows from the name ----

@pytest.mark.parametrize("asked", ["fmnist-c", "imagenet-c"])
def test_scoring_records_the_folder_s_suite_and_checks_the_checkpoint_against_it(asked, fm_folder, tmp_path):
    ckpt = _checkpoint(tmp_path / "model.pt", "fashion-mnist")
    result = CliRunner().invoke(main, ["score", str(ckpt), "--suite", asked, "--data-root", str(fm_folder),
                                       "--out", str(tmp_path / "scores"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    attrs = Results.load(tmp_path / "scores" / "results.h5").attrs
    assert attrs["suite"] == "fmnist-c" and attrs["metadata"]["suite"] == "fmnist-c"
    assert attrs["compatibility"] == {"status": "ok", "messages": []}


def test_a_cifar10_checkpoint_on_a_cifar10_c_folder_is_no_mismatch(cifar_folder, tmp_path):
    ckpt = _checkpoint(tmp_path / "model.pt", "cifar10")
    result = CliRunner().invoke(main, ["score", str(ckpt), "--suite", "cifar10-c", "--data-root",
                                       str(cifar_folder), "--out", str(tmp_path / "scores"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    attrs = Results.load(tmp_path / "scores" / "results.h5").attrs
    assert attrs["suite"] == "cifar10-c" and attrs["compatibility"]["status"] == "ok"


def test_the_alexnet_table_normalises_only_imagenet_c(fm_folder, tmp_path):
    suite = get_suite("imagenet-c", fm_folder)
    errors = {("clean", 0): 0.1, **{(c, s): 0.5 for c in CORRUPTIONS for s in range(1, 6)}}
    cells = c_suite_cells(errors, 20)
    written = summarize(Results.load(write_results(tmp_path / "w.h5", cells, suite=suite.name,
                                                   metadata=suite.metadata())))
    assert written["suite"] == "fmnist-c" and written["mce"] is None and written["relative_mce"] is None
    assert all(row["ce"] is None for row in written["corruptions"].values())
    real = summarize(Results.load(write_results(tmp_path / "r.h5", cells, suite="imagenet-c")))
    assert real["mce"] is not None  # the same errors on ImageNet-C are normalised by AlexNet


def test_the_gallery_reopens_a_folder_by_the_suite_it_recorded(fm_folder, tmp_path):
    suite = get_suite("imagenet-c", fm_folder)
    metadata = suite.metadata()
    assert metadata["suite"] == "fmnist-c"
    errors = {("fog", 1): 0.2, ("fog", 3): 0.3}
    run = load_run(write_results(tmp_path / "r.h5", c_suite_cells(errors, 4), suite="fmnist-c",
                                 metadata=metadata), "A")
    plot, reason = plots.suite_gallery([run])
    assert plot is not None, reason
    for level in (1, 3):
        (ax,) = [ax for ax in plot.figure.axes if ax.get_label() == f"cell fog {level}"]
        first = next(iter(suite.iter_cell("fog", level, 1)))[0][0].permute(1, 2, 0).numpy()
        assert np.array_equal(np.asarray(ax.images[0].get_array()), first)


def test_list_suites_says_a_folder_is_read_as_its_manifest_s_suite():
    listing = CliRunner().invoke(main, ["list", "suites"]).output
    (line,) = [row for row in listing.splitlines() if row.startswith("imagenet-c ")]
    assert "suite.json" in line
