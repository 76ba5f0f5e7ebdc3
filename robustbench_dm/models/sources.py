"""Architectures from other libraries: ``torchvision:NAME`` and ``timm:NAME``, and torchvision
weights named as torchvision names them (``ResNet50_Weights.IMAGENET1K_V2``).

torchvision models are built with ``torchvision.models.get_model(NAME, weights=None)``; timm
models with ``timm.create_model(NAME, pretrained=False)`` (the optional ``timm`` extra). Weight
names resolve to the file torchvision itself would cache, ``$TORCH_HOME/hub/checkpoints/<file
name of the weights' URL>``; nothing is downloaded unless asked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn

from corruptions._registry import did_you_mean
from robustbench_dm.errors import UserError

PREFIXES = ("torchvision", "timm")
TIMM_EXTRA = "pip install 'robustbench_dm[timm]'"

Normalization = tuple[tuple[float, ...], tuple[float, ...]]


def split_arch(arch: str) -> tuple[str | None, str]:
    """``("torchvision" | "timm", NAME)`` for a prefixed name, ``(None, arch)`` otherwise."""
    prefix, sep, name = arch.partition(":")
    if not sep:
        return None, arch
    if prefix not in PREFIXES or not name:
        raise UserError(f"unknown architecture {arch!r}: expected a toolkit model name, "
                        "torchvision:NAME or timm:NAME")
    return prefix, name


def _timm():
    try:
        import timm
    except ImportError:
        raise UserError(f"timm: architectures need the optional timm package: {TIMM_EXTRA}") from None
    return timm


def build_prefixed(arch: str, num_classes: int) -> nn.Module:
    """The bare network of a ``torchvision:NAME`` or ``timm:NAME`` architecture, random weights."""
    prefix, name = split_arch(arch)
    if prefix == "torchvision":
        from torchvision import models as tvm

        names = sorted(tvm.list_models(module=tvm))
        if name not in names:
            raise UserError(f"unknown torchvision classification model {name!r}; "
                            f"{did_you_mean(name, names)}see torchvision.models.list_models()")
        return tvm.get_model(name, weights=None, num_classes=num_classes)
    timm = _timm()
    if not timm.is_model(name):
        raise UserError(f"unknown timm model {name!r}; "
                        f"{did_you_mean(name, timm.list_models())}see timm.list_models()")
    return timm.create_model(name, pretrained=False, num_classes=num_classes)


def default_normalization(arch: str, net: nn.Module | None = None) -> Normalization | None:
    """The input normalisation an architecture's own configuration names: timm's pretrained
    configuration (mean, std) for ``timm:NAME``; None for every other architecture."""
    prefix, name = split_arch(arch)
    if prefix != "timm":
        return None
    cfg = getattr(net, "pretrained_cfg", None) or {}
    if "mean" not in cfg or "std" not in cfg:
        cfg = _timm().create_model(name, pretrained=False).pretrained_cfg
    return tuple(float(v) for v in cfg["mean"]), tuple(float(v) for v in cfg["std"])


@dataclass(frozen=True)
class TorchvisionWeights:
    """A resolved torchvision weights name: the architecture, the cached file, its URL and
    what its metadata says (class count, normalisation)."""

    name: str
    arch: str
    path: Path
    url: str
    num_classes: int
    normalization: Normalization


def is_weights_name(value: str) -> bool:
    """Whether ``value`` reads as a torchvision weights name (``Xxx_Weights.TAG``, the tag in
    capitals as torchvision spells them: ``IMAGENET1K_V2``, ``DEFAULT``) rather than a file
    (``best_Weights.pt``)."""
    head, sep, tag = value.partition(".")
    return (bool(sep) and head.endswith("_Weights") and tag.isidentifier() and tag.isupper()
            and "/" not in value)


def _torchvision_name(arch: str) -> str | None:
    """The torchvision model ``arch`` builds: NAME of ``torchvision:NAME``, or a bare name that
    is no toolkit model (``build_network`` builds it from torchvision); else None."""
    prefix, name = split_arch(arch)
    if prefix is None:
        from robustbench_dm.models.registry import MODELS

        return None if name in MODELS else name
    return name if prefix == "torchvision" else None


def resolve_torchvision_weights(spec: str, arch: str | None = None, *,
                                download: bool = False) -> TorchvisionWeights:
    """Find torchvision weights ``spec`` in the torch hub cache (``$TORCH_HOME``); with
    ``download`` fetch them there when missing (torchvision's own download, hash checked).
    ``arch`` (``torchvision:NAME`` or the bare NAME), when given, must be the weights' architecture."""
    from torchvision import models as tvm

    try:
        weights = tvm.get_weight(spec)
    except (ValueError, KeyError, AttributeError):
        raise UserError(f"unknown torchvision weights {spec!r}; expected a name such as "
                        "ResNet50_Weights.IMAGENET1K_V2 (see torchvision.models.get_model_weights)"
                        ) from None
    owners = [n for n in tvm.list_models(module=tvm) if tvm.get_model_weights(n) is type(weights)]
    wanted = _torchvision_name(arch) if arch is not None else None
    if arch is not None and wanted not in owners:
        raise UserError(f"weights {spec} belong to torchvision:{owners[0]}, not to {arch!r}")
    transforms = weights.transforms()
    file = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(weights.url).path)
    if not file.is_file():
        if not download:
            raise UserError(f"torchvision weights {spec} are not in the torch hub cache "
                            f"(expected {file}); pass download_weights=True to fetch them from "
                            f"{weights.url}, or put the file there", params=("download_weights",))
        try:
            torch.hub.load_state_dict_from_url(weights.url, progress=True, check_hash=True,
                                               map_location="cpu", weights_only=True)
        except Exception as err:
            raise UserError(f"downloading torchvision weights {spec} from {weights.url} failed "
                            f"({err})") from None
    return TorchvisionWeights(name=spec, arch=f"torchvision:{wanted or owners[0]}", path=file,
                              url=weights.url, num_classes=len(weights.meta["categories"]),
                              normalization=(tuple(transforms.mean), tuple(transforms.std)))
