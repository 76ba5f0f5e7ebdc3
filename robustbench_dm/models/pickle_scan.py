"""What a torch file would do when loaded, found without loading it: TorchScript detection and
the globals a pickle imports (read from its opcodes, never unpickled), so ``torch_load`` can
refuse a full pickle by naming what it would import."""

from __future__ import annotations

import io
import pickletools
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from robustbench_dm.errors import UserError

# Globals a weights_only load accepts anyway; not worth naming in a refusal.
HARMLESS_GLOBALS = ("torch.", "collections.OrderedDict", "_codecs.encode", "builtins.set",
                     "__builtin__.set")


def is_torchscript(path: Path) -> bool:
    """Whether ``path`` is a TorchScript archive (a zip with code or ``constants.pkl``)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        return any(n.endswith("/constants.pkl") or "/code/" in n for n in zf.namelist())


def _pickle_streams(source: Path | bytes) -> list[bytes]:
    """The pickle byte streams a ``torch.load`` of ``source`` (a file, or its bytes) would
    unpickle (``data.pkl`` in a zip file; the whole file otherwise)."""
    file = io.BytesIO(source) if isinstance(source, bytes) else source
    if zipfile.is_zipfile(file):
        with zipfile.ZipFile(file) as zf:
            return [zf.read(n) for n in zf.namelist() if n.endswith("data.pkl")]
    return [source if isinstance(source, bytes) else source.read_bytes()]


def pickle_globals(source: Path | bytes) -> list[str] | None:
    """Names (``module.name``) of the globals the pickle in ``source`` (a file, or its bytes)
    imports when loaded, or ``None`` when it is not a pickle at all. Never unpickles anything."""
    found: list[str] = []
    parsed_any = False
    for stream in _pickle_streams(source):
        buf = io.BytesIO(stream)
        while buf.tell() < len(stream):  # several pickles in a row in torch's legacy format
            strings: list[str] = []
            memo: dict[int, Any] = {}
            try:
                for opcode, arg, _ in pickletools.genops(buf):
                    name = opcode.name
                    if name in ("GLOBAL", "INST"):
                        found.append(str(arg).replace(" ", "."))
                    elif name == "STACK_GLOBAL" and len(strings) >= 2:
                        found.append(f"{strings[-2]}.{strings[-1]}")
                    elif isinstance(arg, str) and "UNICODE" in name:
                        strings.append(arg)
                    elif name in ("BINGET", "LONG_BINGET", "GET") and memo.get(arg) is not None:
                        strings.append(memo[arg])
                    elif name in ("BINPUT", "LONG_BINPUT", "PUT") and strings:
                        memo[arg] = strings[-1]
                    elif name == "MEMOIZE":
                        memo[len(memo)] = strings[-1] if strings else None
                    if name == "STOP":
                        break
            except Exception:  # not (or no longer) a pickle stream
                if not parsed_any:
                    return None
                break
            parsed_any = True
    if not parsed_any:
        return None
    return list(dict.fromkeys(g for g in found if not g.startswith(HARMLESS_GLOBALS)))


def torch_load(path: Path, unsafe_pickle: bool) -> Any:
    """``torch.load(path, weights_only=True)``; a full pickle is refused (``UserError`` naming
    what it imports) unless ``unsafe_pickle``, when it is loaded with ``weights_only=False``."""
    try:
        with warnings.catch_warnings():  # e.g. "pickle protocol 4": the refusal below says it all
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        globals_ = pickle_globals(path)
        if globals_ is None:
            raise UserError(
                f"{path} is not a checkpoint: expected a file written by torch.save (the "
                "toolkit's checkpoint dict or a state dict) or a TorchScript file") from err
        if not unsafe_pickle:
            named = ", ".join(globals_[:4]) or "objects outside the tensor/plain-type whitelist"
            raise UserError(
                f"refused to load {path}: it is a full pickle that imports {named} when "
                "loaded, which can run arbitrary code (torch.load(weights_only=True) rejects "
                "it); pass unsafe_pickle=True only if you trust where the file came from",
                params=("unsafe_pickle",))
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:
        raise UserError(f"{path} could not be unpickled: {err}") from err
