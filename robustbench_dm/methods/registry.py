"""Method registry: built-ins, the ``robustbench_dm.methods`` entry-point group, and
``"some.module:ClassName"`` specs."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from corruptions._registry import Registry
from robustbench_dm.errors import UserError
from robustbench_dm.methods.base import Method

ENTRY_POINT_GROUP = "robustbench_dm.methods"
METHODS: Registry[type[Method]] = Registry("method", error=UserError, group=ENTRY_POINT_GROUP)


def register_method(cls: type[Method]) -> type[Method]:
    """Class decorator: register a built-in ``Method`` subclass under ``cls.name``."""
    if not (isinstance(cls, type) and issubclass(cls, Method)) or not cls.name:
        raise TypeError(f"{cls!r} is not a Method subclass with a name")
    return METHODS.register(cls.name, cls)


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
    return _check_class(METHODS.get(spec, hint=" (or a 'some.module:ClassName' spec)"), spec)


def create_method(spec: str, *, scale: str = "cifar", **options: Any) -> Method:
    """Load the method class for ``spec`` and instantiate it with ``scale`` and ``options``."""
    return load_method(spec)(scale=scale, **options)


def list_methods(filter: str | None = None) -> list[tuple[str, str, str]]:
    """``(name, description, source)`` of every method, sorted by name: source is
    ``"built-in"`` or ``"package <distribution>"``; ``filter`` is an ``fnmatch`` pattern."""
    return [
        (name, _check_class(METHODS.get(name), name).description, METHODS.source(name))
        for name in sorted(METHODS.list(filter))
    ]


__all__ = ["ENTRY_POINT_GROUP", "create_method", "list_methods", "load_method", "register_method"]
