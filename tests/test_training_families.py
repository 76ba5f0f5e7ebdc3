"""The training datasets take their class count and normalisation from the suites' dataset
family table, so a model trained by the toolkit passes the family check of its suites."""

import pytest

from robustbench_dm.models.normalization import NORMALIZATIONS
from robustbench_dm.suites.families import FAMILIES, SUITE_FAMILIES, check_checkpoint
from robustbench_dm.training.config import DATASETS, resolve_config


@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_a_trained_checkpoint_fits_every_suite_of_its_family(dataset, tmp_path):
    config = resolve_config("standard", "small_cnn", dataset, tmp_path, tmp_path / "run", device="cpu")
    assert (config.num_classes, config.normalization) == (
        FAMILIES[dataset].num_classes, FAMILIES[dataset].normalization)
    mean, std = NORMALIZATIONS[config.normalization]
    info = {"dataset": config.dataset, "num_classes": config.num_classes, "format": "toolkit",
            "normalization": {"mean": list(mean), "std": list(std)}, "path": "last.pt"}
    suites = [suite for suite, family in SUITE_FAMILIES.items() if family == dataset]
    assert suites
    for suite in suites:
        assert check_checkpoint(suite, info).status == "ok"
