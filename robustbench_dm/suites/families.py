"""Which dataset each suite holds, and whether a checkpoint was trained for it.

A suite belongs to one dataset family (CIFAR-10-C and -P hold CIFAR-10 test images, ImageNet-C,
-P and -3DCC ImageNet validation images, ...). :func:`check_checkpoint` compares what a
checkpoint records (training dataset, class count, the input size of that dataset and the
normalisation the model applies) with the suite's family before any image is scored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from robustbench_dm.errors import UserError
from robustbench_dm.models.normalization import NORMALIZATIONS


@dataclass(frozen=True)
class Family:
    """A dataset family: its name, class count, image side in pixels and the normalisation its
    models use (a name in ``NORMALIZATIONS``; ``None`` where there is no single convention)."""

    dataset: str
    num_classes: int
    input_size: int
    normalization: str | None

    def describe(self) -> str:
        return f"{self.dataset}, {self.num_classes} classes, {self.input_size} px"


FAMILIES: dict[str, Family] = {f.dataset: f for f in (
    Family("cifar10", 10, 32, "cifar"),
    Family("cifar100", 100, 32, "cifar"),
    Family("fashion-mnist", 10, 32, "cifar"),   # 28 px padded to 32, made 3-channel
    Family("imagenet", 1000, 224, "imagenet"),
    Family("tinyimagenet", 200, 64, None),
)}

#: suite name -> dataset family
SUITE_FAMILIES: dict[str, str] = {
    "cifar10-c": "cifar10", "cifar10-p": "cifar10",
    "cifar100-c": "cifar100", "cifar100-p": "cifar100",
    "fmnist-c": "fashion-mnist", "fmnist-p": "fashion-mnist",
    "imagenet-c": "imagenet", "imagenet-p": "imagenet", "imagenet-3dcc": "imagenet",
    "tinyimagenet-c": "tinyimagenet",
}

_ALIASES = {"fmnist": "fashion-mnist", "fashion_mnist": "fashion-mnist",
            "tiny-imagenet": "tinyimagenet", "tiny_imagenet": "tinyimagenet",
            "cifar-10": "cifar10", "cifar-100": "cifar100"}


#: ImageNet-C generated at another resolution (``score --generate --resolution R``)
_RESIZED_IMAGENET_C = re.compile(r"imagenet-c-(\d+)px")


def suite_family(suite: str) -> Family | None:
    """The dataset family of suite ``suite`` (``None`` for a suite outside the table);
    ``imagenet-c-<R>px`` is the ImageNet family at an input size of R px."""
    resized = _RESIZED_IMAGENET_C.fullmatch(suite)
    if resized:
        return replace(FAMILIES["imagenet"], input_size=int(resized.group(1)))
    name = SUITE_FAMILIES.get(suite)
    return None if name is None else FAMILIES[name]


def registered_suite(suite: str) -> str:
    """The registry name that opens suite ``suite``: ``imagenet-c`` for ``imagenet-c-<R>px``
    (``get_suite("imagenet-c", ..., resolution=R)`` or a folder make-suite wrote at R), else
    ``suite`` itself."""
    return "imagenet-c" if _RESIZED_IMAGENET_C.fullmatch(suite) else suite


def family_label(suite: str) -> str:
    """``"[cifar10, 10 classes, 32 px]"``: the family of ``suite`` for listings."""
    family = suite_family(suite)
    return "[dataset family not in the table]" if family is None else f"[{family.describe()}]"


def canonical_dataset(name: str) -> str:
    """A dataset name as the family table spells it (``"fmnist"`` -> ``"fashion-mnist"``)."""
    key = str(name).strip().lower()
    return _ALIASES.get(key, key)


@dataclass(frozen=True)
class Compatibility:
    """The outcome of :func:`check_checkpoint`: ``status`` "ok", "mismatch" or "unverified" and
    one sentence per finding (what results files record as ``compatibility``)."""

    status: str
    messages: list[str] = field(default_factory=list)

    def to_attr(self) -> dict[str, Any]:
        return {"status": self.status, "messages": list(self.messages)}


def _normalization_name(norm: Mapping[str, Any] | None) -> str:
    if norm is None:
        return "none"
    values = (tuple(float(v) for v in norm["mean"]), tuple(float(v) for v in norm["std"]))
    for name, named in NORMALIZATIONS.items():
        if named is not None and all(abs(a - b) < 1e-6 for x, y in zip(values, named)
                                     for a, b in zip(x, y)):
            return name
    return f"mean {list(values[0])} std {list(values[1])}"


def check_checkpoint(suite: str, info: Mapping[str, Any], *,
                     allow_mismatch: bool = False) -> Compatibility:
    """Compare checkpoint ``info`` (from :func:`robustbench_dm.models.load_model`) with the
    dataset family of suite ``suite``.

    A checkpoint recording another training dataset, class count, input size or (for the
    toolkit's own checkpoints) normalisation than the family's is refused with one
    ``UserError`` sentence naming each differing field and both values, unless
    ``allow_mismatch`` (then status "mismatch"). A checkpoint without a recorded dataset, or a
    suite outside the table, gives status "unverified".
    """
    family = suite_family(suite)
    path = info.get("path") or "(in memory)"
    recorded = info.get("dataset")
    if family is None:
        return Compatibility("unverified", [(
            f"Suite {suite} has no dataset family in robustbench_dm.suites.families, so "
            f"checkpoint {path} could not be checked against it.")])
    if not recorded:
        return Compatibility("unverified", [(
            f"Checkpoint {path} records no training dataset, so it could not be checked "
            f"against suite {suite} ({family.describe()}).")])
    dataset = canonical_dataset(recorded)
    own = FAMILIES.get(dataset)
    found = []
    if dataset != family.dataset:
        found.append(f"was trained on {recorded} but suite {suite} holds {family.dataset} images")
    classes = info.get("num_classes")
    if classes is not None and int(classes) != family.num_classes:
        found.append(f"has {classes} classes but {family.dataset} has {family.num_classes}")
    # the input size a checkpoint records, else its dataset's (a model of the suite's own
    # dataset is not refused for another resolution of it: imagenet-c-<R>px)
    size = info.get("input_size")
    if size is None and own is not None and own.dataset != family.dataset:
        size = own.input_size
    if size is not None and int(size) != family.input_size:
        found.append(f"takes {size} px input ({own.dataset if own else recorded}) but suite "
                     f"{suite} holds {family.input_size} px images")
    # the toolkit trains every model of a family with the family's normalisation; models from
    # elsewhere may use their own (many ImageNet ViTs use mean = std = 0.5)
    if family.normalization is not None and info.get("format") in (None, "toolkit"):
        given = _normalization_name(info.get("normalization"))
        if given != family.normalization:
            found.append(f"normalises its input as {given} but {family.dataset} models use "
                         f"{family.normalization}")
    if not found:
        return Compatibility("ok")
    sentence = f"checkpoint {path} " + "; it ".join(found)
    if not allow_mismatch:
        raise UserError(f"{sentence}: pass allow_mismatch=True to score anyway",
                        params=("allow_mismatch",))
    return Compatibility("mismatch", [f"C{sentence[1:]}; scored anyway (allow_mismatch)."])
