"""The one name -> object registry behind corruptions, sequences, suites, methods and models.

Built-ins register themselves when their package imports them (``register`` or its decorator
form); third-party objects come from an entry-point group, listed on every call and loaded only
when asked for. It lives in ``corruptions`` (the bottom layer, which imports nothing of
``robustbench_dm``) so that both packages can use it.
"""

from __future__ import annotations

import difflib
import fnmatch
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar

T = TypeVar("T")
_MISSING: Any = object()


def did_you_mean(name: str, candidates) -> str:
    """``"did you mean 'x'? "`` naming the closest of ``candidates`` to ``name``, or ``""``."""
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    return f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""


def first_doc_line(obj: Any) -> str:
    """The first line of ``obj``'s docstring, or ``""``."""
    lines = (getattr(obj, "__doc__", None) or "").strip().splitlines()
    return lines[0] if lines else ""


class Registry(Generic[T]):
    """Objects by name: ``register``, ``get`` (unknown names fail with the closest names
    suggested), ``list`` with an ``fnmatch`` filter, ``describe`` and ``source``.

    ``kind`` names an entry in messages ("corruption", "method"); ``error`` is the exception
    type ``get`` raises for an unknown name; ``group`` is the entry-point group whose entries
    add to the built-ins (a built-in wins over an entry point of the same name).
    """

    def __init__(self, kind: str, *, error: type[Exception] = ValueError, group: str | None = None):
        self.kind = kind
        self.error = error
        self.group = group
        self.objects: dict[str, T] = {}  # the built-ins, name -> object
        self._descriptions: dict[str, str] = {}
        self._loaded: dict[str, T] = {}  # entry points loaded so far

    def register(self, name: str, obj: T = _MISSING, description: str = "") -> Any:
        """Register ``obj`` under ``name`` and return it; without ``obj``, a decorator.
        ``description`` defaults to the object's ``description`` attribute or docstring."""
        if obj is _MISSING:
            return lambda target: self.register(name, target, description)
        if self.objects.get(name, obj) is not obj:
            raise ValueError(f"{self.kind} {name!r} registered twice")
        self.objects[name] = obj
        self._descriptions[name] = description
        return obj

    def entry_points(self) -> dict[str, EntryPoint]:
        """The group's entry points by name, minus those a built-in shadows (not loaded)."""
        if self.group is None:
            return {}
        return {ep.name: ep for ep in entry_points(group=self.group) if ep.name not in self.objects}

    def list(self, filter: str | None = None) -> list[str]:
        """Names of the built-ins (in registration order), then of the entry points (sorted),
        those matching the ``fnmatch`` pattern ``filter`` (e.g. ``"res*"``) when given."""
        names = [*self.objects, *sorted(self.entry_points())]
        return names if filter is None else fnmatch.filter(names, filter)

    def __contains__(self, name: str) -> bool:
        return name in self.objects or name in self.entry_points()

    def get(self, name: str, *, hint: str = "") -> T:
        """The object registered as ``name`` (an entry point is loaded on first use), else
        ``error`` naming the closest names and all known ones (``hint`` appended)."""
        if name in self.objects:
            return self.objects[name]
        if name in self._loaded:
            return self._loaded[name]
        ep = self.entry_points().get(name)
        if ep is None:
            raise self.error(self.unknown(name, hint=hint))
        self._loaded[name] = ep.load()
        return self._loaded[name]

    def unknown(self, name: str, *, hint: str = "", candidates=()) -> str:
        """The message for an unknown ``name``: ``unknown KIND 'name'; did you mean ...?
        available: ...``; ``candidates`` are further names the suggestion may pick."""
        known = sorted(self.list())
        suggestion = did_you_mean(name, [*known, *candidates])
        return f"unknown {self.kind} {name!r}; {suggestion}available: {', '.join(known) or 'none'}{hint}"

    def describe(self, name: str) -> str:
        """The registered description, else the object's ``description`` or first doc line."""
        if self._descriptions.get(name):
            return self._descriptions[name]
        obj = self.get(name)
        return getattr(obj, "description", None) or first_doc_line(obj)

    def source(self, name: str) -> str:
        """``"built-in"``, or ``"package <distribution>"`` for an entry point."""
        if name in self.objects:
            return "built-in"
        ep = self.entry_points()[name]
        return f"package {ep.dist.name if ep.dist is not None else ep.module}"

    def items(self, filter: str | None = None) -> list[tuple[str, str]]:
        """``(name, description)`` of every listed name (loads the entry points)."""
        return [(name, self.describe(name)) for name in self.list(filter)]

