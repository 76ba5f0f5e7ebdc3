"""The out-of-the-box demo: Fashion-MNIST, a small CNN, Standard vs Dynamic Mixup (vs AugMix),
scored on generated Fashion-MNIST-C and Fashion-MNIST-P.

``find_fashion_mnist`` locates the data; ``demo_experiment`` is the plan that
``robust-eval demo`` runs with :func:`robustbench_dm.experiment.run_experiment`.
"""

from __future__ import annotations

import os
from pathlib import Path

from robustbench_dm.errors import UserError
from robustbench_dm.experiment import Experiment, RunSpec, SuiteSpec

DEBIAN_ROOT = Path("/usr/share/datasets/fashion-mnist")
_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
          "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _holds_fashion_mnist(folder: Path) -> bool:
    return all((folder / f).is_file() or (folder / f"{f}.gz").is_file() for f in _FILES)


def torchvision_roots() -> list[Path]:
    """Where ``torchvision.datasets.FashionMNIST(root, download=True)`` puts the files for the
    roots people commonly use (``./data``, ``~/data``, ``$TORCH_HOME/datasets``)."""
    torch_home = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch"))
    return [Path(r) / "FashionMNIST" / "raw"
            for r in (Path("data"), Path.home() / "data", torch_home / "datasets")]


def find_fashion_mnist(data_root: str | os.PathLike | None) -> Path:
    """The folder holding the Fashion-MNIST idx files: ``data_root`` if given, else the Debian
    package's folder, else torchvision's download folder. One clear error if none has them."""
    if data_root is not None:
        root = Path(data_root)
        for candidate in (root, root / "FashionMNIST" / "raw"):
            if _holds_fashion_mnist(candidate):
                return candidate
        raise UserError(f"data_root {root}: expected the Fashion-MNIST idx files "
                        f"({', '.join(_FILES)}, gzipped or not)", params=("data_root",))
    for candidate in [DEBIAN_ROOT, *torchvision_roots()]:
        if _holds_fashion_mnist(candidate):
            return candidate
    raise UserError(
        "Fashion-MNIST not found (looked in /usr/share/datasets/fashion-mnist and torchvision's "
        "FashionMNIST/raw folders). Install it with `apt-get install dataset-fashion-mnist`, or "
        "where internet is available: python -c \"import torchvision; "
        "torchvision.datasets.FashionMNIST('data', download=True)\", then pass data_root",
        params=("data_root",))


def demo_experiment(out: str, data_root: Path, *, epochs: int = 2, quick: bool = False,
                    train_limit: int | None = None, eval_limit: int | None = None,
                    score_limit: int = 1000, p_limit: int = 250, device: str = "auto",
                    seed: int = 1) -> Experiment:
    """The demo's plan. ``train_limit`` caps the training images; ``eval_limit`` caps the
    scored images (videos for -P) per cell on top of ``score_limit`` (-C) and ``p_limit`` (-P).
    A budget too small for the models to leave chance is allowed: the report says so."""
    runs = [RunSpec("standard", "standard", seed), RunSpec("dynmix", "dynmix", seed)]
    if not quick:
        runs.append(RunSpec("augmix", "augmix", seed))
    c_limit = min(score_limit, eval_limit) if eval_limit else score_limit
    v_limit = min(p_limit, eval_limit) if eval_limit else p_limit
    suites = (SuiteSpec("fmnist-c", str(data_root), c_limit, {"seed": 0},
                        generate_from="fashion-mnist"),
              SuiteSpec("fmnist-p", str(data_root), v_limit, {"seed": 0},
                        generate_from="fashion-mnist"))
    return Experiment(out=out, dataset="fashion-mnist", data_root=str(data_root),
                      arch="small_cnn", runs=tuple(runs), suites=suites, epochs=epochs,
                      train_limit=train_limit, device=device)
