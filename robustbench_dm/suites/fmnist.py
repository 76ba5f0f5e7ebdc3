"""Fashion-MNIST-C and Fashion-MNIST-P: generated from the Fashion-MNIST test set.

Images are the 28 px test images padded with zeros to 32 px (2 px per side) and repeated to 3
channels, then corrupted with the ``cifar`` preset (the 32 px severity tables). When
``data_root`` holds a suite written by ``make-suite`` (a ``labels.npy`` next to CIFAR-C/-P-style
arrays, or a ``suite.h5`` / an ``.h5`` file) the files are read instead, with ``clean_root``
(the idx folder) as the optional clean set.
"""

from __future__ import annotations

from pathlib import Path

from corruptions import CORRUPTIONS, EXTRA, PERTURBATIONS
from robustbench_dm.errors import UserError
from robustbench_dm.suites.base import Suite, check_limit, select_difficulties, select_levels, select_names
from robustbench_dm.suites.cifar_c import CifarCSuite
from robustbench_dm.suites.cifar_p import CIFAR_P_TEST, CifarPSuite
from robustbench_dm.suites.clean_fmnist import load_fashion_mnist
from robustbench_dm.suites.generated import GeneratedSuite
from robustbench_dm.suites.h5 import h5_file
from robustbench_dm.suites.registry import register_suite

PREPROCESSING = "28x28 gray zero-padded to 32x32 (2 px per side), repeated to 3 channels"


def _written(data_root) -> bool:
    return data_root is not None and ((Path(data_root) / "labels.npy").is_file() or h5_file(data_root) is not None)


def _load(name: str, data_root):
    if data_root is None:
        raise UserError(f"suite {name!r} needs a data root: the folder holding the Fashion-MNIST idx files")
    return load_fashion_mnist(data_root, "test")


def _source(name: str, data_root, clean_root, generate: bool):
    """The folder the suite reads: ``data_root``, or with ``generate=True`` the idx folder
    ``clean_root`` (else ``data_root``), as the other suites made on the fly take it."""
    if not generate:
        return data_root
    root = clean_root if clean_root is not None else data_root
    if root is None:
        raise UserError("generate=True needs clean_root: the folder holding the Fashion-MNIST idx files",
                        params=("generate", "clean_root"))
    if _written(root):
        raise UserError(f"{root} holds a {name} suite written by make-suite; generate=True makes {name} from "
                        "the Fashion-MNIST idx files in clean_root", params=("generate", "clean_root"))
    return root


@register_suite("fmnist-c", "Fashion-MNIST-C: the Fashion-MNIST test set corrupted on the fly (cifar preset, seeded)")
def fmnist_c(data_root=None, *, limit=None, corruptions=None, severities=None, seed=0, device="cpu",
             clean_root=None, generate=False) -> Suite:
    """Generated Fashion-MNIST-C; ``data_root`` holds the idx files (gz or not), or a suite
    written by ``make-suite`` (then ``clean_root`` may name the idx folder for the clean cell).
    ``generate=True``: made from the idx files in ``clean_root``, as other suites made on the fly."""
    data_root = _source("fmnist-c", data_root, clean_root, generate)
    if _written(data_root):
        return CifarCSuite("fmnist-c", "fashion-mnist", 10, data_root, limit=limit,
                           corruptions=corruptions, severities=severities, clean_root=clean_root)
    if clean_root is not None and not generate:
        raise UserError(f"clean_root adds the clean cell of a fmnist-c suite written by make-suite; {data_root} "
                        "holds the Fashion-MNIST idx files, whose clean cell fmnist-c scores already "
                        "(or pass generate=True to make fmnist-c from clean_root)", params=("clean_root", "generate"))
    images, labels = _load("fmnist-c", data_root)
    names = select_names(corruptions, CORRUPTIONS, CORRUPTIONS + EXTRA, "corruption")
    levels = select_levels(severities, (1, 2, 3, 4, 5), "severity")
    return GeneratedSuite(
        "fmnist-c", "c", images, labels, 10, names=names, levels=levels,
        complete=names == list(CORRUPTIONS) and levels == [1, 2, 3, 4, 5],
        limit=check_limit(limit), seed=seed, preset="cifar", device=device,
        source={"dataset": "fashion-mnist", "data_root": str(data_root), "preprocessing": PREPROCESSING},
    )


@register_suite("fmnist-p", "Fashion-MNIST-P: perturbation sequences of the Fashion-MNIST test set made on the fly")
def fmnist_p(data_root=None, *, limit=None, corruptions=None, severities=None, difficulty=None,
             seed=0, device="cpu", clean_root=None, generate=False) -> Suite:
    """Generated Fashion-MNIST-P (CIFAR-P test perturbations); ``severities`` or ``difficulty``
    select difficulties (default 1). Reads a suite written by ``make-suite`` when given one.
    ``generate=True``: made from the idx files in ``clean_root``, as other suites made on the fly."""
    if clean_root is not None and not generate:
        raise UserError("clean_root is the source of a generated fmnist-p (generate=True); fmnist-p reads "
                        "its labels from its own files", params=("clean_root", "generate"))
    data_root = _source("fmnist-p", data_root, clean_root, generate)
    if _written(data_root):
        return CifarPSuite("fmnist-p", "fashion-mnist", 10, data_root, limit=limit,
                           corruptions=corruptions, severities=severities, difficulty=difficulty)
    images, labels = _load("fmnist-p", data_root)
    names = select_names(corruptions, CIFAR_P_TEST, PERTURBATIONS, "perturbation")
    levels = select_difficulties(severities, difficulty)
    return GeneratedSuite(
        "fmnist-p", "p", images, labels, 10, names=names, levels=levels,
        complete=names == list(CIFAR_P_TEST) and levels == [1],
        limit=check_limit(limit), seed=seed, preset="cifar", device=device,
        source={"dataset": "fashion-mnist", "data_root": str(data_root), "preprocessing": PREPROCESSING},
    )
