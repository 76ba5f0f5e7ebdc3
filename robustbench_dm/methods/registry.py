"""Method registry: built-ins, the ``robustbench_dm.methods`` entry-point group, and
``"some.module:ClassName"`` specs."""

from __future__ import annotations

import importlib
import os
import sys
from importlib.metadata import entry_points
from typing import Any

from robustbench_dm.errors import UserError
from robustbench_dm.methods.base import Method

ENTRY_POINT_GROUP = "robustbench_dm.methods"
_BUILTIN_MODULES = (
    "standard",
    "mixup",
    "cutmix",
    "autoaugment_star",
    "random_autoaugment_star",
    "augmix",
    "dynmix",
)
_BUILTINS: dict[str, type[Method]] = {}


def register_method(cls: type[Method]) -> type[Method]:
    """Class decorator: register a built-in ``Method`` subclass under ``cls.name``."""
    if not (isinstance(cls, type) and issubclass(cls, Method)) or not cls.name:
        raise TypeError(f"{cls!r} is not a Method subclass with a name")
    if cls.name in _BUILTINS and _BUILTINS[cls.name] is not cls:
        raise ValueError(f"method {cls.name!r} is already registered")
    _BUILTINS[cls.name] = cls
    return cls


def _builtins() -> dict[str, type[Method]]:
    for module in _BUILTIN_MODULES:
        importlib.import_module(f"robustbench_dm.methods.{module}")
    return _BUILTINS


def _entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _check_class(obj: Any, spec: str) -> type[Method]:
    if not (isinstance(obj, type) and issubclass(obj, Method)):
        raise UserError(f"method {spec!r} is {obj!r}, not a robustbench_dm.methods.Method subclass")
    return obj


def _import_module(module: str, spec: str):
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        cwd = os.getcwd()
        if err.name != module.split(".")[0] or cwd in sys.path:
            raise UserError(f"method {spec!r}: cannot import module {module!r} ({err})") from None
    # Like `python -m`, let a module in the current directory be found.
    sys.path.insert(0, cwd)
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        raise UserError(f"method {spec!r}: cannot import module {module!r} ({err})") from None


def load_method(spec: str) -> type[Method]:
    """The ``Method`` class for ``spec``: a built-in name, an entry-point name in the group
    ``robustbench_dm.methods``, or ``"some.module:ClassName"``."""
    if ":" in spec:
        module, _, attr = spec.partition(":")
        obj = _import_module(module, spec)
        for part in attr.split("."):
            if not hasattr(obj, part):
                raise UserError(f"method {spec!r}: module {module!r} has no attribute {attr!r}")
            obj = getattr(obj, part)
        return _check_class(obj, spec)
    builtins = _builtins()
    if spec in builtins:
        return builtins[spec]
    eps = _entry_points()
    if spec in eps:
        return _check_class(eps[spec].load(), spec)
    names = ", ".join(sorted(set(builtins) | set(eps)))
    raise UserError(
        f"unknown method {spec!r}; available: {names} (or a 'some.module:ClassName' spec)"
    )


def create_method(spec: str, *, scale: str = "cifar", **options: Any) -> Method:
    """Load the method class for ``spec`` and instantiate it with ``scale`` and ``options``."""
    return load_method(spec)(scale=scale, **options)


def list_methods() -> list[tuple[str, str, str]]:
    """``(name, description, source)`` of every method: source is ``"built-in"`` or
    ``"package <distribution>"``."""
    rows = [(name, cls.description, "built-in") for name, cls in sorted(_builtins().items())]
    for name, ep in sorted(_entry_points().items()):
        if name in _BUILTINS:
            continue
        dist = ep.dist.name if ep.dist is not None else ep.module
        cls = _check_class(ep.load(), name)
        rows.append((name, cls.description, f"package {dist}"))
    return rows


__all__ = ["ENTRY_POINT_GROUP", "create_method", "list_methods", "load_method", "register_method"]
