"""The plug-in interface for training methods (``Method``) and its loss record (``LossOutput``).

A method owns how a batch is augmented and how the loss is computed; the training loop owns
everything else. A new method is one subclass:

    class MyMethod(Method):
        name = "mymethod"
        description = "base transform + cross-entropy with label smoothing"
        defaults = {"smoothing": 0.1}

        def loss(self, model, images, targets, generator):
            logits = model(self.augment(images, targets, generator))
            loss = F.cross_entropy(logits, targets, label_smoothing=self.opts["smoothing"])
            return LossOutput(loss, logits, targets)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from robustbench_dm.errors import UserError
from robustbench_dm.methods.base_transform import base_transform, to_float

SCALES = ("cifar", "imagenet")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass
class LossOutput:
    """What ``Method.loss`` returns to the training loop."""

    loss: torch.Tensor  # scalar
    logits: torch.Tensor  # logits on the clean (or primary) images, for train accuracy
    targets: torch.Tensor  # hard int64 targets matching logits (for accuracy)


@dataclass(frozen=True)
class Check:
    """A rule an option's value must keep: ``ok(value)``, else a ``UserError`` that says the
    value is not ``expected``."""

    ok: Callable[[Any], bool]
    expected: str


POSITIVE = Check(lambda value: value > 0, "a number > 0")
NON_NEGATIVE = Check(lambda value: value >= 0, "a number >= 0")
PROBABILITY = Check(lambda value: 0.0 <= value <= 1.0, "a probability in [0, 1]")
#: the severity of the AugMix operations (levels drawn from U(0.1, severity), 10 the strongest)
LEVEL = Check(lambda value: 0.1 <= value <= 10, "a level in [0.1, 10]")


class Method:
    """Base class of every training method.

    Subclasses set ``name`` and ``description``, declare their options in ``defaults`` (with
    ``imagenet_defaults`` overriding some at ImageNet scale, ``choices`` restricting string
    options and ``checks`` the rule each checked option keeps; ``check_options`` adds rules
    between options), and override ``augment`` and/or ``loss``. The default is the base transform
    followed by cross-entropy (the ``standard`` method).

    ``images_uint8`` is ``N x C x H x W`` uint8 on the model's device; the model takes float
    ``[0, 1]`` NCHW. All randomness comes from the given ``torch.Generator``.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    needs_cpu_per_sample: ClassVar[bool] = False
    defaults: ClassVar[dict[str, Any]] = {}
    imagenet_defaults: ClassVar[dict[str, Any]] = {}
    choices: ClassVar[dict[str, tuple[str, ...]]] = {}
    checks: ClassVar[dict[str, Check]] = {}

    def __init__(self, *, scale: str = "cifar", **options: Any) -> None:
        if scale not in SCALES:
            raise UserError(f"method scale {scale!r} is not one of {', '.join(SCALES)}")
        self.scale = scale
        resolved = self.option_defaults(scale)
        for key, value in options.items():
            key = key.replace("-", "_")
            if key not in resolved:
                valid = ", ".join(sorted(resolved)) or "(none)"
                raise UserError(
                    f"unknown option {key!r} for method {self.name!r}; valid options: {valid}"
                )
            resolved[key] = _coerce(self.name, key, value, resolved[key])
        for key, allowed in self.choices.items():
            if resolved[key] not in allowed:
                raise UserError(
                    f"option {key}={resolved[key]!r} of method {self.name!r} must be one of "
                    f"{', '.join(allowed)}"
                )
        self.opts = resolved
        for key, check in self.checks.items():
            self._require(check.ok(resolved[key]), key, check.expected)
        self.check_options()

    @classmethod
    def option_defaults(cls, scale: str = "cifar") -> dict[str, Any]:
        """The documented defaults at ``scale`` (used by ``list methods`` and config.json)."""
        return {**cls.defaults, **(cls.imagenet_defaults if scale == "imagenet" else {})}

    def options(self) -> dict[str, Any]:
        """The resolved options (saved in the run configuration and the checkpoint)."""
        return dict(self.opts)

    def check_options(self) -> None:
        """Validate what ``checks`` cannot (rules between options); raise ``UserError``."""

    def _require(self, ok: bool, key: str, expected: str) -> None:
        if not ok:
            raise UserError(
                f"option {key}={self.opts[key]!r} of method {self.name!r}: expected {expected}"
            )

    def base_transform(self, images_uint8: torch.Tensor, generator: torch.Generator):
        """The shared batched base transform (crop + flip at CIFAR scale, flip at ImageNet)."""
        return base_transform(images_uint8, self.scale, generator)

    def augment(self, images_uint8: torch.Tensor, targets: torch.Tensor, generator):
        """What the method feeds the model; here the base-transformed images as float [0, 1]."""
        return to_float(self.base_transform(images_uint8, generator))

    def loss(self, model, images_uint8: torch.Tensor, targets: torch.Tensor, generator):
        """Cross-entropy on the augmented images."""
        logits = model(self.augment(images_uint8, targets, generator))
        return LossOutput(F.cross_entropy(logits.float(), targets), logits, targets)


def _coerce(method: str, key: str, value: Any, default: Any) -> Any:
    """Convert an option value (possibly a command-line string) to the type of its default."""
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                if value.lower() not in _TRUE | _FALSE:
                    raise ValueError(value)
                return value.lower() in _TRUE
            if value not in (0, 1):
                raise ValueError(value)
            return bool(value)
        if isinstance(default, int):
            if isinstance(value, bool) or float(value) != int(float(value)):
                raise ValueError(value)
            return int(float(value))
        if isinstance(default, float):
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
    except (TypeError, ValueError):
        kind = type(default).__name__
        raise UserError(
            f"option {key}={value!r} of method {method!r}: expected a {kind} like {default!r}"
        ) from None
    return value


__all__ = ["LEVEL", "NON_NEGATIVE", "POSITIVE", "PROBABILITY", "Check", "LossOutput", "Method", "SCALES"]
