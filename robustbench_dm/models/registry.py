"""The model registry: architectures by name, built for a class count.

A registered factory ``fn(num_classes) -> nn.Module`` builds a bare network that takes
*normalised* input. :func:`create_model` wraps it in :class:`Normalized` so the returned
model takes float images in [0, 1] (the RobustBench convention). Names not registered here
fall back to torchvision's classification models (``resnet50``, ``alexnet``, ...), always
built with ``weights=None``: nothing is ever downloaded.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence

from torch import nn

from corruptions._registry import Registry
from robustbench_dm.errors import UserError
from robustbench_dm.models.normalization import Normalized
from robustbench_dm.models.sources import build_prefixed

ModelFactory = Callable[[int], nn.Module]

MODELS: Registry[ModelFactory] = Registry("architecture", error=UserError, group="robustbench_dm.models")


def register_model(name: str, description: str = "") -> Callable[[ModelFactory], ModelFactory]:
    """Decorator registering ``fn(num_classes) -> nn.Module`` under ``name`` (the description
    defaults to the first docstring line); other packages add models through the entry-point
    group ``robustbench_dm.models``."""
    return MODELS.register(name, description=description)


def _torchvision_names() -> list[str]:
    from torchvision import models as tvm

    return sorted(tvm.list_models(module=tvm))


def list_models(filter: str | None = None) -> list[tuple[str, str]]:
    """``[(name, description)]``: the toolkit's own models, how to name torchvision and timm
    models, then torchvision's models by name; ``filter`` keeps the names matching an
    ``fnmatch`` pattern such as ``"res*"``."""
    own = sorted(MODELS.items())
    prefixed = [
        ("torchvision:NAME", ("any torchvision classification model, e.g. torchvision:resnet50; "
                              "weights: a state-dict file or a name such as ResNet50_Weights.IMAGENET1K_V2")),
        ("timm:NAME", ("any timm model, e.g. timm:convnext_tiny (needs pip install "
                       "'robustbench_dm[timm]'); normalisation from timm's pretrained configuration")),
    ]
    tv = [(n, "torchvision architecture (weights=None)") for n in _torchvision_names()
          if n not in MODELS]
    rows = own + prefixed + tv
    return rows if filter is None else [row for row in rows if fnmatch.fnmatch(row[0], filter)]


def build_network(name: str, num_classes: int) -> nn.Module:
    """The bare network ``name`` for ``num_classes`` classes (no normalisation wrapper):
    a toolkit model, a torchvision model name, or ``torchvision:NAME`` / ``timm:NAME``."""
    if ":" in name:
        return build_prefixed(name, num_classes)
    if name in MODELS:
        return MODELS.get(name)(num_classes)
    tv_names = _torchvision_names()
    if name in tv_names:
        from torchvision import models as tvm

        return tvm.get_model(name, weights=None, num_classes=num_classes)
    hint = " (or a torchvision model name such as resnet50 or alexnet; also torchvision:NAME, timm:NAME)"
    raise UserError(MODELS.unknown(name, hint=hint, candidates=tv_names))


def create_model(
    name: str,
    num_classes: int,
    normalization: tuple[Sequence[float], Sequence[float]] | None = None,
) -> Normalized:
    """``Normalized(build_network(name, num_classes), mean, std)``, taking [0, 1] input;
    ``normalization=None`` means identity normalisation."""
    net = build_network(name, num_classes)
    mean, std = normalization if normalization is not None else (None, None)
    return Normalized(net, mean, std)
