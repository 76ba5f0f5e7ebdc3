"""Review of the day's changes: a results file's recorded completeness across resumes and merges."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from imagenet_fixtures import metadata_of
from robustbench_dm.scoring import score
from robustbench_dm.scoring.merge import merge
from scoring_fixtures import MemorySuite, PixelCodeNet

LABELS = np.array([0, 1, 2, 3])
CELLS = {("clean", 0): LABELS, ("fog", 1): LABELS, ("fog", 2): LABELS, ("snow", 1): LABELS}


def _suite(cells, complete: bool) -> MemorySuite:
    subset = {"limit": None, "corruptions": sorted({n for n, _ in cells if n != "clean"}),
              "severities": sorted({lv for n, lv in cells if n != "clean"}), "complete": complete}
    return MemorySuite("cifar10-c", LABELS, {c: CELLS[c] for c in cells}, 10, metadata={"subset": subset})


class _StopAt(PixelCodeNet):
    """PixelCodeNet raising KeyboardInterrupt (Ctrl-C) at its ``stop``-th forward pass."""

    def __init__(self, stop: int):
        super().__init__(10)
        self.calls, self.stop = 0, stop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls == self.stop:
            raise KeyboardInterrupt
        return super().forward(x)


def _run(model, suite, out, **kw):
    return score(model, suite, out_dir=out, batch_size=8, progress=False, **kw)


def test_a_whole_suite_rerun_with_nothing_left_records_the_file_complete(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        _run(_StopAt(2), _suite(list(CELLS), True), out)
    assert metadata_of(out / "results.h5")["subset"]["complete"] is False
    _run(PixelCodeNet(10), _suite(list(CELLS)[1:], False), out)  # a narrower resume adds the rest
    assert metadata_of(out / "results.h5")["subset"]["complete"] is False
    results = _run(PixelCodeNet(10), _suite(list(CELLS), True), out)  # the whole suite: nothing to score
    assert len(results.cells()) == len(CELLS)
    assert metadata_of(out / "results.h5")["subset"]["complete"] is True
    assert results.attrs["metadata"]["subset"]["complete"] is True


def test_merged_shards_of_a_whole_suite_are_recorded_complete(tmp_path):
    parts = []
    for i in (1, 2):
        _run(PixelCodeNet(10), _suite(list(CELLS), True), tmp_path / f"s{i}", shard=f"{i}/2")
        parts.append(tmp_path / f"s{i}")
    merged = merge(parts, tmp_path / "merged")
    assert merged.attrs["metadata"]["subset"]["complete"] is True


def test_a_run_whose_last_cell_fails_is_not_recorded_complete(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        _run(_StopAt(len(CELLS)), _suite(list(CELLS), True), out)
    assert metadata_of(out / "results.h5")["subset"]["complete"] is False


def test_in_memory_scoring_of_a_whole_suite_is_complete():
    results = score(PixelCodeNet(10), _suite(list(CELLS), True), out_dir=None, batch_size=8, progress=False)
    assert results.attrs["metadata"]["subset"]["complete"] is True


def test_a_released_tinyimagenet_c_folder_records_its_clean_cell_as_read(tmp_path):
    import shutil

    from imagenet_fixtures import write_photo_folder
    from robustbench_dm.suites import get_suite

    source = write_photo_folder(tmp_path / "tiny", size=64)
    shutil.copytree(source, tmp_path / "tiny-c" / "snow" / "2")  # released layout: no suite.json
    suite = get_suite("tinyimagenet-c", tmp_path / "tiny-c", clean_root=source, corruptions="snow", severities=[2])
    assert suite.cells() == [("clean", 0), ("snow", 2)]
    clean = torch.cat(next(zip(*suite.iter_cell("clean", 0, 4))))
    assert clean.shape[-2:] == (64, 64)  # read as stored
    assert suite.metadata()["clean_preprocessing"] == "as stored (no resize, no crop)"


def test_augmix_preprocessing_is_refused_on_a_folder_made_at_another_resolution(tmp_path):
    """Its clean cell is the clean images at the folder's resolution: resizing only the corrupted
    cells to 224 px would score one suite at two sizes."""
    from imagenet_fixtures import write_photo_folder
    from robustbench_dm.errors import UserError
    from robustbench_dm.suites import get_suite
    from robustbench_dm.suites.make_suite import make_suite

    clean = write_photo_folder(tmp_path / "val")
    make_suite("imagenet-c", "imagenet", clean, tmp_path / "out", resolution=48, corruptions="fog",
               severities="1", progress=False)
    with pytest.raises(UserError, match=r"preprocessing 'augmix' resizes ImageNet images to 224 px; .* imagenet-c-48px"):
        get_suite("imagenet-c", tmp_path / "out", clean_root=clean, preprocessing="augmix")
    suite = get_suite("imagenet-c", tmp_path / "out", clean_root=clean)
    assert {tuple(next(iter(suite.iter_cell(*c, batch_size=1)))[0].shape[-2:]) for c in suite.cells()} == {(48, 48)}


def test_a_released_imagenet_c_folder_reads_as_before(tmp_path):
    import shutil

    from imagenet_fixtures import write_photo_folder
    from robustbench_dm.suites import get_suite

    clean = write_photo_folder(tmp_path / "val")
    shutil.copytree(clean, tmp_path / "imagenet-c" / "fog" / "1")  # released layout: no suite.json
    suite = get_suite("imagenet-c", tmp_path / "imagenet-c", clean_root=clean, preprocessing="augmix",
                      corruptions="fog", severities=[1])
    assert suite.name == "imagenet-c" and suite.cells() == [("clean", 0), ("fog", 1)]
    assert {tuple(next(iter(suite.iter_cell(*c, batch_size=1)))[0].shape[-2:]) for c in suite.cells()} == {(224, 224)}
    meta = suite.metadata()
    assert "label" not in meta and meta["clean_preprocessing"] == "Resize(256) + CenterCrop(224)"
    assert meta["preprocessing"].startswith("Resize(256) + CenterCrop(224)")


def test_metadata_differing_only_by_an_entry_recorded_as_none_is_not_a_refusal_without_words(tmp_path):
    """A generator entry one file records as None and the other lacks is the same value
    (``_differing`` reads both with ``.get``): either accepted, or refused naming it."""
    from robustbench_dm.errors import UserError
    from robustbench_dm.scoring.resume import check_same_inputs
    from robustbench_dm.scoring.results import Results

    attrs = {"kind": "c", "suite": "imagenet-c", "num_classes": 10, "seed": 0, "settings": {"bf16": False},
             "metadata": {"generator": {"preset": "imagenet", "resolution": None}}}
    old = Results(tmp_path / "results.h5", {**attrs, "metadata": {"generator": {"preset": "imagenet"}}}, [])
    try:
        check_same_inputs(old, attrs)
    except UserError as err:
        assert "generator resolution" in str(err), str(err)
