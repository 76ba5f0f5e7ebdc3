"""The one ``KEY=VALUE`` parser (suite options of ``score --option``, method options of
``train --option``)."""

from __future__ import annotations

import json
from typing import Any, Iterable

from robustbench_dm.errors import UserError


def parse_key_values(pairs: Iterable[str], *, what: str = "option",
                     typed: bool = False) -> dict[str, Any]:
    """``["key=value", ...]`` -> ``{"key": value}``; dashes in keys become underscores.

    ``typed`` parses each value as JSON where it is JSON (``2`` -> 2, ``true`` -> True), else
    values stay strings. A pair without ``=``, an empty key or a key given twice is a
    :class:`UserError` naming ``what``.
    """
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise UserError(f"{what} {pair!r}: expected KEY=VALUE, e.g. alpha=0.5")
        if key in options:
            raise UserError(f"{what} {key} given twice")
        value = value.strip()
        if typed:
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                pass
        options[key] = value
    return options
