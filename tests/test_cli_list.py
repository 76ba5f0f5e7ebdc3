"""`robust-eval --version` and `robust-eval list ...` show what exists."""

from click.testing import CliRunner

import corruptions
from cli import main
from robustbench_dm import __version__


def _run(*args):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_version():
    assert __version__ in _run("--version")


def test_list_corruptions_in_canonical_order_with_extras():
    names = [line.split()[0] for line in _run("list", "corruptions").splitlines()]
    assert names == list(corruptions.CORRUPTIONS + corruptions.EXTRA)


def test_list_suites_methods_models_baselines_perturbations():
    suites = _run("list", "suites")
    for name in ("cifar10-c", "cifar100-c", "imagenet-c", "imagenet-p", "imagenet-3dcc",
                 "tinyimagenet-c", "cifar10-p", "fmnist-c", "fmnist-p"):
        assert name in suites
    methods = _run("list", "methods")
    for name in ("standard", "mixup", "cutmix", "autoaugment_star", "random_autoaugment_star",
                 "augmix", "dynmix"):
        assert f"{name} " in methods and "[built-in]" in methods
    models = _run("list", "models")
    for name in ("small_cnn", "wrn40_2", "allconvnet", "densenet_bc_100_12", "resnext29_32x4d",
                 "resnet18_cifar", "resnet50", "alexnet"):
        assert name in models
    assert "alexnet" in _run("list", "baselines")
    perturbations = [line.split()[0] for line in _run("list", "perturbations").splitlines()]
    assert perturbations == list(corruptions.PERTURBATIONS)


def test_unknown_listing_is_refused():
    result = CliRunner().invoke(main, ["list", "nonsense"])
    assert result.exit_code == 2
    assert "nonsense" in result.output
