"""`score --shard I/N` and `robust-eval merge`: three shards merged equal one full run bit for
bit; parts of other checkpoints, settings or runs, missing and duplicated cells are refused."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import pytest
import torch
from click.testing import CliRunner

from cli import main
from formats import write_cifar_c
from robustbench_dm.errors import UserError
from robustbench_dm.models import NORMALIZATIONS, create_model, save_checkpoint
from robustbench_dm.scoring import Results, merge
from robustbench_dm.scoring.shards import parse_shard, shard_cells
from scoring_fixtures import write_random_cifar_clean
from training_fixtures import one_thread

_one_thread = pytest.fixture(autouse=True, scope="module")(one_thread)
N = 11  # images per cell
CORRUPTIONS = ("fog", "snow")


def _checkpoint(path: Path, seed: int) -> Path:
    torch.manual_seed(seed)
    model = create_model("small_cnn", 10, NORMALIZATIONS["cifar"])
    save_checkpoint(path, arch="small_cnn", num_classes=10, normalization=model.normalization,
                    state_dict=model.net.state_dict(), method="standard", dataset="cifar10",
                    epoch=1)
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    labels = write_random_cifar_clean(root / "clean", N, seed=1)
    return {"c10": write_cifar_c(root / "CIFAR-10-C", N, CORRUPTIONS, labels=labels),
            "clean": root / "clean", "ckpt": _checkpoint(root / "a.pt", 0),
            "other": _checkpoint(root / "b.pt", 1), "root": root}


def score(data, out, *extra, ckpt="ckpt"):
    result = CliRunner().invoke(main, [
        "score", str(data[ckpt]), "--suite", "cifar10-c", "--data-root", str(data["c10"]),
        "--clean-root", str(data["clean"]), "--corruptions", ",".join(CORRUPTIONS),
        "--out", str(out), "--batch-size", "4", *extra])
    return result


def merge_cli(parts, out):
    return CliRunner().invoke(main, ["merge", *map(str, parts), "--out", str(out)])


@pytest.fixture(scope="module")
def runs(data):
    root = data["root"]
    assert score(data, root / "full").exit_code == 0
    parts = []
    for i in (1, 2, 3):
        result = score(data, root / f"part{i}", "--shard", f"{i}/3")
        assert result.exit_code == 0, result.output
        assert f"wrote shard {i}/3" in result.output
        parts.append(root / f"part{i}")
    return {"full": root / "full", "parts": parts}


def _arrays(path: Path) -> dict:
    with h5py.File(path, "r") as f:
        out = {}
        f["cells"].visititems(lambda key, item: out.__setitem__(key, item[()])
                              if isinstance(item, h5py.Dataset) else None)
        attrs = {k: f.attrs[k] for k in f.attrs}
    return {"arrays": out, "attrs": attrs}


def test_three_shards_merged_equal_the_full_run_bit_for_bit(runs, tmp_path):
    parts = [Results.load(p / "results.h5") for p in runs["parts"]]
    assert [len(p.cells()) for p in parts] == [3, 4, 4]  # 11 cells: clean + 2 x 5
    assert not (runs["parts"][0] / "summary.json").exists()  # a part has no summary
    result = merge_cli([runs["parts"][2] / "results.h5", *runs["parts"][:2]], tmp_path / "m")
    assert result.exit_code == 0, result.output
    assert "merged 3 parts (11 cells)" in result.output
    full, merged = _arrays(runs["full"] / "results.h5"), _arrays(tmp_path / "m" / "results.h5")
    assert merged["arrays"].keys() == full["arrays"].keys()
    for key, value in full["arrays"].items():
        assert merged["arrays"][key].dtype == value.dtype, key
        assert merged["arrays"][key].tobytes() == value.tobytes(), key  # bit for bit
    assert merged["attrs"].keys() == full["attrs"].keys()
    for key in ("kind", "suite", "num_classes", "seed", "settings", "versions", "checkpoint",
                "metadata"):
        assert merged["attrs"][key] == full["attrs"][key], key
    assert Results.load(tmp_path / "m" / "results.h5").cells() == \
        Results.load(runs["full"] / "results.h5").cells()
    assert json.loads((tmp_path / "m" / "summary.json").read_text()) == \
        json.loads((runs["full"] / "summary.json").read_text())


def test_missing_and_duplicated_cells_are_reported_and_nothing_written(runs, tmp_path):
    one, two, three = runs["parts"]
    with pytest.raises(UserError) as err:
        merge([one, three], tmp_path / "a")
    message = str(err.value)
    assert message.startswith("cannot merge 2 parts: missing cells: fog/3 (shard 2/3), fog/4")
    assert "snow/1 (shard 2/3)" in message and "snow/2" not in message
    with pytest.raises(UserError, match=r"duplicated cells: clean/0 in .*part1.*part1"):
        merge([one, one, two, three], tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    result = merge_cli([one, three], tmp_path / "c")
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert result.output.startswith("error: cannot merge 2 parts: missing cells")


def test_parts_of_other_checkpoints_settings_or_shard_counts_are_refused(data, runs, tmp_path):
    one, two, three = runs["parts"]
    assert score(data, tmp_path / "other2", "--shard", "2/3", ckpt="other").exit_code == 0
    with pytest.raises(UserError, match=r"differ in checkpoint \(sha256"):
        merge([one, tmp_path / "other2", three], tmp_path / "x")
    assert score(data, tmp_path / "cl2", "--shard", "2/3", "--channels-last").exit_code == 0
    with pytest.raises(UserError, match=r"differ in settings .*channels_last: False vs True"):
        merge([one, tmp_path / "cl2", three], tmp_path / "x")
    assert score(data, tmp_path / "of4", "--shard", "2/4").exit_code == 0
    with pytest.raises(UserError, match="differ in shard count"):
        merge([one, tmp_path / "of4"], tmp_path / "x")
    with pytest.raises(UserError, match="is not a shard"):
        merge([one, runs["full"]], tmp_path / "x")
    assert not (tmp_path / "x").exists()
    assert merge([one, two, three], tmp_path / "ok").cells()
    with pytest.raises(UserError, match="already exists"):
        merge([one, two, three], tmp_path / "ok")


def test_a_shard_resumes_only_into_the_same_shard_and_settings(data, runs, tmp_path):
    two = runs["parts"][1]
    resumed = score(data, two, "--shard", "2/3")  # finished: nothing to do, same file
    assert resumed.exit_code == 0, resumed.output
    for extra, expected in ((["--shard", "1/3"], "holds shard 2/3, but this run scores shard 1/3"),
                            ([], "holds shard 2/3, but this run scores the whole suite"),
                            (["--shard", "2/3", "--channels-last"], "scored with settings")):
        result = score(data, two, *extra)
        assert result.exit_code == 2 and expected in result.output, result.output


@pytest.mark.parametrize("value,message", [("0/3", "1 <= I <= N"), ("4/3", "1 <= I <= N"),
                                           ("2", "expected I/N"), ("a/b", "expected I/N")])
def test_bad_shard_values(value, message):
    with pytest.raises(UserError, match=message):
        parse_shard(value)


def test_shards_are_even_contiguous_and_cover_every_cell_once():
    assert parse_shard("1/1") is None and parse_shard(" 2 / 5 ") == (2, 5)
    cells = [(f"c{i}", s) for i in range(15) for s in range(1, 6)] + [("clean", 0)]
    for count in (1, 2, 3, 7, 76, 80):
        shards = [shard_cells(cells, i, count) for i in range(1, count + 1)]
        assert sum(shards, []) == cells
        sizes = [len(s) for s in shards]
        assert max(sizes) - min(sizes) <= 1
