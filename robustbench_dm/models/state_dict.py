"""Bare state dicts: fitting one to an architecture (DataParallel ``module.`` and wrapper
``net.`` prefixes removed, the class count read from the classifier's weights) and the model it
makes, with the normalisation asked for, the weights' own or the architecture's."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from robustbench_dm.errors import UserError
from robustbench_dm.models.normalization import Normalized
from robustbench_dm.models.registry import build_network
from robustbench_dm.models.sources import default_normalization


def _state_dict_variants(state: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The state dict as given, and with a DataParallel ``module.`` or wrapper ``net.`` prefix
    removed."""
    variants = [dict(state)]
    for prefix in ("module.", "net.", "module.net."):
        if state and all(k.startswith(prefix) for k in state):
            variants.append({k[len(prefix):]: v for k, v in state.items()})
    return variants


def load_weights(net: nn.Module, state: Mapping[str, Any], path: Path, arch: str) -> None:
    expected = set(net.state_dict())
    for candidate in _state_dict_variants(state):
        if set(candidate) == expected:
            try:
                net.load_state_dict(candidate, strict=True)
            except RuntimeError as err:
                first = str(err).strip().splitlines()[-1].strip()
                raise UserError(f"{path}: weights do not fit architecture {arch!r}: {first}") from err
            return
    got = set(_state_dict_variants(state)[-1])
    missing = sorted(expected - got)[:3]
    extra = sorted(got - expected)[:3]
    raise UserError(f"{path}: state dict does not match architecture {arch!r} (missing keys "
                    f"{missing}, unexpected keys {extra}); check arch", params=("arch",))


def _class_count_keys(arch: str) -> list[str]:
    """State-dict keys of ``arch`` whose shape depends on the class count (its classifier),
    found by building it (on the meta device: no memory) for two class counts."""
    shapes = []
    for count in (3, 5):
        try:
            with torch.device("meta"):
                net = build_network(arch, count)
        except (RuntimeError, NotImplementedError):  # an init the meta device cannot run
            net = build_network(arch, count)
        shapes.append({k: tuple(v.shape) for k, v in net.state_dict().items()})
    return [k for k, shape in shapes[0].items() if shapes[1].get(k) != shape]


def _infer_num_classes(state: Mapping[str, Any], path: Path, arch: str) -> int:
    """The class count of ``state`` for ``arch``: the first dimension of its classifier
    (else of the last weight matrix, for architectures that ignore the class count)."""
    for key in _class_count_keys(arch):
        value = state.get(key)
        if isinstance(value, torch.Tensor) and value.ndim >= 1:
            return int(value.shape[0])
    for key in reversed(list(state)):
        value = state[key]
        if key.endswith("weight") and isinstance(value, torch.Tensor) and value.ndim >= 2:
            return int(value.shape[0])
    raise UserError(f"{path}: cannot tell the class count: the state dict has no weight matrix")


def state_dict_model(obj: Mapping[str, Any], path: Path, arch: str | None, override: tuple,
                      default_norm, info: dict[str, Any]) -> Normalized:
    """The model of a bare state dict (or ``{"state_dict": ...}``) for ``arch``; normalised by
    ``override`` (``(normalisation asked for,)``, or empty when none was asked for), else
    ``default_norm`` (the weights' own), else the architecture's own, else an error."""
    state = obj.get("state_dict", obj)
    if not isinstance(state, Mapping) or not state or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        keys = sorted(map(str, obj))[:8]
        raise UserError(f"{path} is not a checkpoint: a dict with keys {keys}; expected "
                        "the toolkit's checkpoint (arch, num_classes, normalization, "
                        "state_dict) or a state dict of tensors")
    if arch is None:
        raise UserError(f"{path} is a bare state dict: pass arch=NAME (a toolkit model, "
                        "torchvision:NAME or timm:NAME; and normalization=imagenet|cifar|none)",
                        params=("arch", "normalization"))
    variant = _state_dict_variants(state)[-1]
    num_classes = _infer_num_classes(variant, path, arch)
    net = build_network(arch, num_classes)
    norm = override[0] if override else (
        default_norm if default_norm is not None else default_normalization(arch, net))
    if norm is None and not override:
        raise UserError(f"{path} is a bare state dict without normalisation: pass "
                        "normalization=imagenet|cifar|none", params=("normalization",))
    load_weights(net, state, path, arch)
    info.update(format="state_dict", arch=arch, num_classes=num_classes,
                epoch=obj.get("epoch") if "state_dict" in obj else None)
    return Normalized(net, *(norm or (None, None)))
