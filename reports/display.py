"""Text a report may print or write: paths and labels that came from the file system can hold
bytes that are not UTF-8 (``os.fsdecode`` turns them into lone surrogates, which UTF-8 writers
refuse). Every such string passes through :func:`display_text` once, where it is read."""

from __future__ import annotations

import os
from typing import Any


def display_text(value: Any) -> str:
    """``value`` as a printable str: undecodable bytes shown as ``\\xff`` escapes."""
    if isinstance(value, (bytes, os.PathLike)):
        value = os.fsdecode(value)
    text = str(value)
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:      # a surrogate that no file name produced
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def display_value(value: Any) -> Any:
    """``value`` with every str inside it (dict keys, list items) passed through
    :func:`display_text`; numbers, booleans and None unchanged."""
    if isinstance(value, dict):
        return {display_text(k): display_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [display_value(v) for v in value]
    if isinstance(value, (str, bytes, os.PathLike)):
        return display_text(value)
    return value
