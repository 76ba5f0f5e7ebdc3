"""What every transform shares: parameters shown in ``repr``, the generator it draws from, and
the conversion of PIL images and uint8 tensors to the uint8 N x C x H x W batches the kernels
take."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from PIL import Image

from robustbench_dm.errors import UserError
from robustbench_dm.methods.base_transform import to_float


class RandomTransform:
    """Base of the random transforms. ``generator=None`` draws from torch's default generator
    of the image's device, which ``torch.manual_seed`` seeds and which ``DataLoader`` seeds
    differently in every worker; an explicit ``generator`` must be on the image's device (a copy
    of it goes to every worker, so workers would repeat each other's draws)."""

    # the constructor parameters, in order: shown by ``repr``
    params: ClassVar[tuple[str, ...]] = ()

    def __init__(self, generator: torch.Generator | None = None) -> None:
        if generator is not None and not isinstance(generator, torch.Generator):
            raise UserError(f"generator must be a torch.Generator or None, got {generator!r}")
        self.generator = generator

    def draw_generator(self, device: torch.device) -> torch.Generator:
        """The generator for images on ``device``."""
        if self.generator is not None:
            if self.generator.device.type != device.type:
                raise UserError(
                    f"the transform's generator is on {self.generator.device}, the image on "
                    f"{device}: pass a generator on the image's device"
                )
            return self.generator
        if device.type == "cpu":
            return torch.default_generator
        if device.type == "cuda":
            index = device.index if device.index is not None else torch.cuda.current_device()
            return torch.cuda.default_generators[index]
        raise UserError(f"no default generator for images on {device}: pass generator=")

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.params)
        return f"{type(self).__name__}({args})"


def uint8_batch(image: Any) -> tuple[torch.Tensor, bool]:
    """``(batch, single)``: a PIL image (mode RGB or L) or a uint8 ``C x H x W`` tensor as a
    1 x C x H x W batch (``single`` True), a uint8 ``N x C x H x W`` tensor as it is."""
    if isinstance(image, Image.Image):
        if image.mode not in ("RGB", "L"):
            raise UserError(f"expected a PIL image of mode RGB or L, got mode {image.mode!r}")
        array = np.array(image)
        hwc = array if array.ndim == 3 else array[:, :, None]
        return torch.from_numpy(hwc).permute(2, 0, 1).unsqueeze(0), True
    if isinstance(image, torch.Tensor) and image.dtype == torch.uint8 and image.ndim in (3, 4):
        if image.shape[-3] not in (1, 3):
            raise UserError(f"expected 1 or 3 channels, got a tensor of shape {tuple(image.shape)}")
        return (image.unsqueeze(0), True) if image.ndim == 3 else (image, False)
    got = (
        f"a {image.dtype} tensor of shape {tuple(image.shape)}"
        if isinstance(image, torch.Tensor)
        else type(image).__name__
    )
    raise UserError(
        f"expected a PIL image or a uint8 C x H x W or N x C x H x W tensor, got {got}"
    )


def as_float(image: Any) -> torch.Tensor:
    """A float32 tensor in [0, 1]: PIL images and uint8 tensors are converted (x / 255), float
    tensors returned as they are."""
    if isinstance(image, torch.Tensor) and image.is_floating_point():
        return image
    batch, single = uint8_batch(image)
    out = to_float(batch)
    return out[0] if single else out


__all__ = ["RandomTransform", "as_float", "uint8_batch"]
