"""The released ImageNet pipeline's geometry, in one place: ``Resize(round(R*256/224))`` then
``CenterCrop(R)`` (R = 224 in the releases), on PIL images and uint8 tensors alike."""

from __future__ import annotations

RELEASED_SIZE = 224


def resize_size(resolution: int) -> int:
    """The short side the clean image is resized to before ``CenterCrop(resolution)``:
    ``round(resolution * 256 / 224)`` (256 at the released 224 px)."""
    return round(resolution * 256 / RELEASED_SIZE)


def resize_center_crop(image, resolution: int = RELEASED_SIZE):
    """``Resize(resize_size(resolution))`` + ``CenterCrop(resolution)`` of a PIL image (PIL's
    antialiased resampling, as the references) or a uint8 C x H x W tensor (antialiased)."""
    from torchvision.transforms.v2 import functional as F  # torchvision costs a second to import

    return F.center_crop(F.resize(image, [resize_size(resolution)], antialias=True), [resolution, resolution])
