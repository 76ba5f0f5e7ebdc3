"""Names are looked up, never matched by a part of them: a suite generated at another resolution
(``imagenet-c-<R>px``) reopens as the registered suite it was made by, and an architecture gets
the same recipe and takes the same torchvision weights however it is spelt (``densenet121``,
``torchvision:densenet121``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from results_fixtures import c_suite_cells, write_results

from reports import plots
from reports.load import load_run
from robustbench_dm.suites import get_suite
from robustbench_dm.suites.make_suite import make_suite
from robustbench_dm.training import resolve_config

LEVELS = (1, 3, 5)


def _run(tmp_path: Path, suite):
    errors = {("clean", 0): 0.1, **{("fog", s): 0.2 for s in LEVELS}}
    path = write_results(tmp_path / "r.h5", c_suite_cells(errors, 6, num_classes=3), suite=suite.name,
                         num_classes=3, metadata=suite.metadata())
    return load_run(path, "A")


def _first_image(suite, level: int) -> np.ndarray:
    return next(iter(suite.iter_cell("fog", level, 1)))[0][0].permute(1, 2, 0).numpy()


def _shown(fig, level: int) -> np.ndarray:
    (ax,) = [ax for ax in fig.axes if ax.get_label() == f"cell fog {level}"]
    return np.asarray(ax.images[0].get_array())


@pytest.mark.parametrize("name,registered", [
    ("imagenet-c-384px", "imagenet-c"), ("imagenet-c-48px", "imagenet-c"), ("imagenet-c", "imagenet-c"),
    ("tinyimagenet-c", "tinyimagenet-c"), ("imagenet-3dcc", "imagenet-3dcc"), ("cifar100-c", "cifar100-c"),
    ("fmnist-p", "fmnist-p"), ("tinyimagenet-c-384px", "tinyimagenet-c-384px"),
])
def test_registered_suite_of_every_suite_name(name, registered):
    from robustbench_dm.suites.families import registered_suite

    assert registered_suite(name) == registered


def test_gallery_reopens_imagenet_c_generated_at_another_resolution(clean, tmp_path):
    suite = get_suite("imagenet-c", None, generate=True, clean_root=clean, resolution=48,
                      corruptions=["fog"], severities=list(LEVELS))
    assert suite.name == "imagenet-c-48px"
    plot, reason = plots.suite_gallery([_run(tmp_path, suite)])
    assert plot is not None, reason
    assert plot.filename == "gallery_imagenet-c-48px.png" and "48x48 px" in plot.caption
    for level in LEVELS:
        assert np.array_equal(_shown(plot.figure, level), _first_image(suite, level))


def test_gallery_reopens_a_folder_written_at_another_resolution(clean, tmp_path):
    make_suite("imagenet-c", "imagenet", clean, tmp_path / "written", corruptions="fog",
               severities=LEVELS, resolution=48, progress=False)
    suite = get_suite("imagenet-c", tmp_path / "written")
    assert suite.name == "imagenet-c-48px"
    plot, reason = plots.suite_gallery([_run(tmp_path, suite)])
    assert plot is not None, reason
    for level in LEVELS:
        assert np.array_equal(_shown(plot.figure, level), _first_image(suite, level))


def test_densenet_and_resnext_recipes_by_any_spelling():
    def recipe(arch):
        config = resolve_config("augmix", arch, "cifar10", "data", "out", device="cpu")
        return config.epochs, config.weight_decay

    assert recipe("torchvision:densenet121") == recipe("timm:densenet121") == recipe("densenet121") == (200, 1e-4)
    assert recipe("torchvision:resnext50_32x4d") == recipe("resnext50_32x4d") == (200, 5e-4)
    assert recipe("torchvision:resnet18") == recipe("resnet18") == (100, 5e-4)


def test_torchvision_weights_with_the_bare_name_of_their_architecture(tmp_path, monkeypatch):
    import torch
    import torchvision

    from robustbench_dm.errors import UserError
    from robustbench_dm.models import load_model

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    spec = "SqueezeNet1_1_Weights.IMAGENET1K_V1"
    file = tmp_path / "torch/hub/checkpoints" / Path(torchvision.models.get_weight(spec).url).name
    file.parent.mkdir(parents=True)
    torch.save(torchvision.models.squeezenet1_1().state_dict(), file)
    for arch in ("squeezenet1_1", "torchvision:squeezenet1_1"):
        _, info = load_model(weights=spec, arch=arch)
        assert info["arch"] == "torchvision:squeezenet1_1" and info["weights"] == spec
    for arch in ("squeezenet1_0", "small_cnn", "timm:squeezenet1_1"):
        with pytest.raises(UserError, match="belong to torchvision:squeezenet1_1"):
            load_model(weights=spec, arch=arch)
