"""Architectures (a registry by name), input normalisation and checkpoint I/O.

Architecture modules register themselves with ``@register_model`` when imported below (the
built-ins); other packages add architectures through the entry-point group
``robustbench_dm.models``.
"""

from robustbench_dm.models.checkpoint import file_sha256, load_model, save_checkpoint
from robustbench_dm.models.normalization import (
    NORMALIZATIONS,
    Normalized,
    resolve_normalization,
)
from robustbench_dm.models.registry import (
    build_network,
    create_model,
    list_models,
    register_model,
)

from robustbench_dm.models import allconv, densenet, resnet_cifar, resnext, small_cnn, wrn  # noqa: F401  isort: skip

__all__ = [
    "NORMALIZATIONS",
    "Normalized",
    "build_network",
    "create_model",
    "file_sha256",
    "list_models",
    "load_model",
    "register_model",
    "resolve_normalization",
    "save_checkpoint",
]
