"""Architectures (a registry by name), input normalisation and checkpoint I/O.

Every module in this package is imported here, so an architecture file registers itself with
``@register_model`` just by existing (no list to keep in sync).
"""

import importlib
import pkgutil

from robustbench_dm.models.checkpoint import file_sha256, load_model, save_checkpoint
from robustbench_dm.models.normalization import NORMALIZATIONS, Normalized, resolve_normalization
from robustbench_dm.models.registry import build_network, create_model, list_models, register_model

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

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
