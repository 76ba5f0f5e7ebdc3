"""``Corrupt``: a random corruption and severity per call, for training with corruptions or
test-time checks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

import corruptions
from robustbench_dm.errors import UserError
from robustbench_dm.transforms._base import RandomTransform

_SUBSETS = ("common", "validation", "all", *corruptions.GROUPS)


class Corrupt(RandomTransform):
    """Corrupt each image with a corruption drawn uniformly from ``names`` (a list of names or
    a subset of :func:`corruptions.get_corruption_names`: ``common``, ``noise``, ...) at a
    severity drawn uniformly from ``severities``, with the severity table of ``preset``
    (``auto``: by image size). Takes and returns what :func:`corruptions.corrupt` takes: a
    numpy array, a PIL image or a uint8 ``C x H x W`` / ``N x C x H x W`` tensor (one draw of
    name and severity per call)."""

    params = ("names", "severities", "preset")

    def __init__(
        self,
        names: str | Sequence[str] = "common",
        severities: Sequence[int] = (1, 2, 3, 4, 5),
        preset: str = "auto",
        *,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__(generator)
        known = corruptions.get_corruption_names("all")
        if isinstance(names, str):
            if names not in _SUBSETS:
                raise UserError(
                    f"names={names!r} is neither a list of corruption names nor a subset "
                    f"({', '.join(_SUBSETS)})"
                )
            names = corruptions.get_corruption_names(names)
        names = tuple(names)
        unknown = [n for n in names if n not in known]
        if not names or unknown:
            raise UserError(
                f"names must be corruption names from {', '.join(known)}; got {list(names)!r}"
            )
        severities = tuple(severities)
        if not severities or any(
            isinstance(s, bool) or not isinstance(s, int) or not 1 <= s <= 5 for s in severities
        ):
            raise UserError(f"severities must be integers in 1..5, got {list(severities)!r}")
        if preset != "auto" and preset not in corruptions.PRESETS:
            raise UserError(
                f"preset must be auto or one of {', '.join(corruptions.PRESETS)}, got {preset!r}"
            )
        self.names, self.severities, self.preset = names, severities, preset

    def __call__(self, image: Any) -> Any:
        device = image.device if isinstance(image, torch.Tensor) else torch.device("cpu")
        generator = self.draw_generator(device)
        name = self.names[_draw(len(self.names), generator)]
        severity = self.severities[_draw(len(self.severities), generator)]
        return corruptions.corrupt(image, name, severity, preset=self.preset, generator=generator)


def _draw(count: int, generator: torch.Generator) -> int:
    """A uniform index in ``range(count)``."""
    return int(torch.randint(0, count, (), generator=generator, device=generator.device))


__all__ = ["Corrupt"]
