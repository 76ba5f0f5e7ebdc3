"""Checkpoint files: the toolkit's own dict (saved atomically) as a torch file or as
safetensors, bare state dicts (torch or safetensors), torchvision weights by name, exported
programs (``.pt2``), TorchScript and — only on explicit request — full pickles.

The toolkit's checkpoint is a dict of plain types and tensors, so ``torch.load(weights_only=
True)`` reads it without running code::

    arch, num_classes, normalization ({"mean": [...], "std": [...]} | None), state_dict (of the
    bare net), method, method_options, dataset, epoch, optimizer, scheduler, config, metadata

As ``.safetensors`` (the safe format to share models in) the state dict is the file's tensors
and every other field but optimizer and scheduler is JSON in the header's metadata, under its
own name, beside ``"format": "robustbench_dm"``.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from robustbench_dm.atomic import write_atomic
from robustbench_dm.errors import UserError
from robustbench_dm.models.exported import is_exported_program, load_exported
from robustbench_dm.models.normalization import Normalized, resolve_normalization
from robustbench_dm.models.pickle_scan import is_torchscript, torch_load
from robustbench_dm.models.registry import build_network
from robustbench_dm.models.safetensors_file import (
    SUFFIX as SAFETENSORS_SUFFIX,
)
from robustbench_dm.models.safetensors_file import (
    is_safetensors,
    read_safetensors,
    save_safetensors,
)
from robustbench_dm.models.sources import is_weights_name, resolve_torchvision_weights
from robustbench_dm.models.state_dict import load_weights, state_dict_model

CHECKPOINT_KEYS = ("arch", "num_classes", "normalization", "state_dict", "method",
                   "method_options", "dataset", "epoch", "optimizer", "scheduler", "config",
                   "metadata")
_REQUIRED = ("arch", "num_classes", "state_dict")
_PLAIN = (type(None), bool, int, float, str, bytes, torch.Tensor, torch.dtype, torch.Size)

NormalizeArg = str | tuple[Sequence[float], Sequence[float]] | None
SAFETENSORS_FORMAT = "robustbench_dm"
# Training config fields that are not part of the recipe (paths, hardware, evaluation).
_NOT_RECIPE = ("data_root", "out", "device", "workers", "eval_batch_size", "seed")


def _check_plain(value: Any, where: str) -> None:
    if isinstance(value, _PLAIN):
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, (str, int)):
                raise TypeError(f"checkpoint key {where}[{key!r}] must be str or int")
            _check_plain(item, f"{where}[{key!r}]")
        return
    raise TypeError(f"checkpoint field {where} holds a {type(value).__name__}: only plain "
                    "types and tensors keep the file loadable with weights_only=True")


def save_checkpoint(path: str | os.PathLike, checkpoint: Mapping[str, Any] | None = None,
                    **fields: Any) -> Path:
    """Write the toolkit's checkpoint dict to ``path`` atomically (temp file, fsync, rename).

    Fields come from ``checkpoint`` and/or keywords (keywords win); missing optional fields are
    stored as ``None``. ``arch``, ``num_classes`` and ``state_dict`` are required. Everything
    must be plain types and tensors, so the file loads with ``torch.load(weights_only=True)``.
    A ``.safetensors`` path writes the model only: the state dict as tensors and the other
    fields as header metadata (no optimizer or scheduler state, so it cannot resume training).
    """
    data: dict[str, Any] = dict(checkpoint or {})
    data.update(fields)
    unknown = set(data) - set(CHECKPOINT_KEYS)
    if unknown:
        raise ValueError(f"unknown checkpoint fields {sorted(unknown)}; expected {CHECKPOINT_KEYS}")
    missing = [k for k in _REQUIRED if data.get(k) is None]
    if missing:
        raise ValueError(f"checkpoint is missing required fields {missing}")
    out = {key: data.get(key) for key in CHECKPOINT_KEYS}
    out["state_dict"] = dict(out["state_dict"])
    for key, value in out.items():
        _check_plain(value, key)
    path = Path(path)
    if path.suffix == SAFETENSORS_SUFFIX:
        meta = {key: json.dumps(out[key]) for key in CHECKPOINT_KEYS
                if key not in ("state_dict", "optimizer", "scheduler")}
        return save_safetensors(path, out["state_dict"], {"format": SAFETENSORS_FORMAT, **meta})
    return write_atomic(path, lambda f: torch.save(out, f), binary=True)


def _from_safetensors(path: Path) -> dict[str, Any]:
    """A safetensors file as the dict ``torch.load`` would give: the toolkit's checkpoint when
    its metadata says so, else a bare state dict."""
    tensors, meta = read_safetensors(path)
    if meta.get("format") != SAFETENSORS_FORMAT:
        return tensors
    try:
        fields = {key: json.loads(meta[key]) for key in CHECKPOINT_KEYS if key in meta}
    except json.JSONDecodeError as err:
        raise UserError(f"{path}: unreadable toolkit metadata in the safetensors header ({err})") from None
    return {**fields, "state_dict": tensors}


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes (streamed)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _normalization_from(normalization: NormalizeArg):
    if normalization is None:
        return None
    if isinstance(normalization, str):
        return resolve_normalization(normalization)
    mean, std = normalization
    return tuple(mean), tuple(std)


def _training_recipe(config: Any) -> dict[str, Any]:
    """``seed`` and ``recipe`` of a toolkit checkpoint's training ``config`` (``None`` each when
    the checkpoint has no config): the config's own ``recipe`` dict if it holds one, else the
    config less where the run read and wrote and on what hardware it ran."""
    if not isinstance(config, Mapping):
        return {"seed": None, "recipe": None}
    recipe = config.get("recipe")
    if not isinstance(recipe, Mapping):
        recipe = {k: v for k, v in config.items() if k not in _NOT_RECIPE}
    return {"seed": config.get("seed"), "recipe": dict(recipe)}


def _toolkit_model(obj: Mapping[str, Any], path: Path, arch: str | None, override: tuple,
                   info: dict[str, Any]) -> Normalized:
    """The model of a toolkit checkpoint dict (``override``: ``(normalisation asked for,)``,
    or empty when none was asked for)."""
    info.update(**{k: obj.get(k) for k in
                   ("arch", "num_classes", "method", "method_options", "dataset", "epoch")},
                **_training_recipe(obj.get("config")))
    if arch is not None and arch != obj["arch"]:
        raise UserError(f"{path} is a checkpoint of architecture {obj['arch']!r}, but "
                        f"arch={arch!r} was given; drop arch", params=("arch",))
    stored = obj.get("normalization")
    norm = override[0] if override else (
        None if stored is None else (tuple(stored["mean"]), tuple(stored["std"])))
    net = build_network(obj["arch"], int(obj["num_classes"]))
    load_weights(net, obj["state_dict"], path, obj["arch"])
    return Normalized(net, *(norm or (None, None)))


def load_model(path: str | os.PathLike | None = None, *, arch: str | None = None,
               weights: str | os.PathLike | None = None, download_weights: bool = False,
               normalization: NormalizeArg = None, unsafe_pickle: bool = False
               ) -> tuple[nn.Module, dict[str, Any]]:
    """Load a model taking float [0, 1] NCHW input, in eval mode on the CPU.

    ``path`` (or ``weights``, when it is a file) may be the toolkit's checkpoint (torch file or
    ``.safetensors`` with the toolkit's metadata), a bare state dict (``.pt``/``.pth``/
    ``.safetensors``, with ``arch``), an exported program (``.pt2``), a TorchScript file, or
    — only with ``unsafe_pickle=True`` — a pickled ``nn.Module``. ``arch`` is a toolkit model,
    ``torchvision:NAME`` or ``timm:NAME``; the class count comes from the weights.
    ``weights`` may instead name torchvision weights (``ResNet50_Weights.IMAGENET1K_V2``),
    read from the torch hub cache and downloaded only with ``download_weights``.

    Normalisation: ``normalization`` (a name in ``NORMALIZATIONS`` or ``(mean, std)``) overrides
    everything; else a checkpoint's own, torchvision weights' metadata, or timm's pretrained
    configuration; a bare state dict of another architecture needs ``normalization``. TorchScript,
    exported programs and pickled modules are assumed to take [0, 1] input unless it is given.
    Returns ``(model, info)``; ``info`` holds path (as given), sha256, format, arch,
    num_classes (``None`` when unknown), normalization, method, method_options, dataset,
    epoch, seed and recipe (training seed and recipe, ``None`` when the checkpoint has no
    training config) and weights (the torchvision weights name, or ``None``).
    """
    if path is not None and weights is not None:
        raise UserError(f"give a checkpoint ({path}) or weights ({weights}), not both")
    if path is None and weights is None:
        raise UserError("no model given: expected a checkpoint file, or weights (a file or a "
                        "torchvision weights name such as ResNet50_Weights.IMAGENET1K_V2)")
    tv_weights = None
    if path is None:
        if is_weights_name(str(weights)) and not Path(weights).exists():
            tv_weights = resolve_torchvision_weights(str(weights), arch, download=download_weights)
            path, arch = tv_weights.path, tv_weights.arch
        else:
            path = weights
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint {path} does not exist or is not a file")
    info: dict[str, Any] = {"path": str(path), "sha256": file_sha256(path),
                            "format": None, "arch": arch, "num_classes": None,
                            "normalization": None, "method": None, "method_options": None,
                            "dataset": None, "epoch": None, "seed": None, "recipe": None,
                            "weights": tv_weights.name if tv_weights else None}
    asked = (_normalization_from(normalization),) if normalization is not None else ()
    override = asked[0] if asked else None

    if is_safetensors(path):
        obj = _from_safetensors(path)
        if all(k in obj for k in _REQUIRED):
            model = _toolkit_model(obj, path, arch, asked, info)
            info["format"] = "safetensors"
        else:
            model = state_dict_model(obj, path, arch, asked, None, info)
            info["format"] = "safetensors_state_dict"
    elif is_exported_program(path):
        net = load_exported(path)
        info.update(format="exported_program", arch=arch or "exported_program")
        model = Normalized(net, *(override or (None, None)))
    elif is_torchscript(path):
        try:
            with warnings.catch_warnings():  # TorchScript's deprecation notice
                warnings.simplefilter("ignore", FutureWarning)
                net = torch.jit.load(str(path), map_location="cpu")
        except Exception as err:
            raise UserError(f"{path}: unreadable TorchScript file: {err}") from err
        info.update(format="torchscript", arch=arch or "torchscript")
        model = Normalized(net, *(override or (None, None)))
    else:
        obj = torch_load(path, unsafe_pickle)
        if isinstance(obj, nn.Module):
            info.update(format="pickle", arch=arch or type(obj).__name__)
            if isinstance(obj, Normalized) and override is None:
                model = obj
            else:
                model = Normalized(obj, *(override or (None, None)))
        elif isinstance(obj, Mapping) and all(k in obj for k in _REQUIRED):
            model = _toolkit_model(obj, path, arch, asked, info)
            info["format"] = "toolkit"
        elif isinstance(obj, Mapping):
            model = state_dict_model(obj, path, arch, asked,
                                      tv_weights.normalization if tv_weights else None, info)
            if tv_weights is not None:
                info["format"] = "torchvision_weights"
        else:
            raise UserError(f"{path} is not a checkpoint: it holds a {type(obj).__name__}; "
                            "expected the toolkit's checkpoint dict, a state dict or TorchScript")
    info["normalization"] = model.normalization
    model.eval()
    return model, info
