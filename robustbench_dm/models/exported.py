"""Exported programs (``torch.export.save``, ``.pt2``): detected, checked, loaded.

An exported program is a zip of a JSON graph, raw weight files and, for some entries, pickles
written by ``torch.save``. Before ``torch.export.load`` touches it, every pickle inside is
scanned (never unpickled) for the globals it would import: anything beyond tensors and plain
types is refused, as for checkpoints, since it could run code when loaded.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from pathlib import Path

import torch
from torch import nn

from robustbench_dm.errors import UserError
from robustbench_dm.models.pickle_scan import pickle_globals


class ExportedModule(nn.Module):
    """An exported program's module, made to accept ``train()``/``eval()`` (it is exported
    for one mode; switching is a no-op here instead of the ``NotImplementedError`` of
    ``torch.export``)."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def train(self, mode: bool = True) -> ExportedModule:
        self.training = mode
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x)


def is_exported_program(path: Path) -> bool:
    """Whether ``path`` is a zip written by ``torch.export.save``."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        return any(n.endswith("/archive_format") or n.endswith("/models/model.json")
                   for n in zf.namelist())


def _is_pickle(data: bytes) -> bool:
    return data[:1] == b"\x80" or zipfile.is_zipfile(io.BytesIO(data))


def load_exported(path: Path) -> ExportedModule:
    """The module of the exported program ``path``. Refuses unsafe pickles inside (found by
    the checkpoint scanner, :func:`robustbench_dm.models.pickle_scan.pickle_globals`)."""
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            data = zf.read(name)
            if not _is_pickle(data):
                continue
            found = pickle_globals(data)
            if found:
                raise UserError(f"refused to load {path}: its entry {name} is a pickle that "
                                f"imports {', '.join(found[:4])} when loaded, which can run "
                                "arbitrary code")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.export.load(str(path))
    except Exception as err:
        raise UserError(f"{path}: unreadable exported program ({err})") from None
    return ExportedModule(program.module())
