"""Severity-table presets and how ``preset="auto"`` picks one from the image size."""

from __future__ import annotations

PRESETS = {
    "imagenet": 224,  # make_imagenet_c.py / make_imagenet_p.py
    "tinyimagenet": 64,  # make_tinyimagenet_c.py
    "cifar": 32,  # make_cifar_c.py / make_cifar_p.py
}


def resolve_preset(preset: str, height: int, width: int) -> str:
    """Return the concrete preset for images of ``height`` x ``width``.

    ``auto`` picks the preset whose published image size equals the input size and refuses any
    other size: a severity table is only faithful at the size it was made for.
    """
    if preset != "auto":
        if preset not in PRESETS:
            raise ValueError(
                f"unknown preset {preset!r}; expected one of: auto, {', '.join(PRESETS)}"
            )
        return preset
    for name, size in PRESETS.items():
        if height == size and width == size:
            return name
    sizes = ", ".join(f"{s}x{s} ({n})" for n, s in PRESETS.items())
    raise ValueError(
        f"no severity table for {height}x{width} images (tables exist for {sizes}); "
        "resize the images or name a preset explicitly"
    )
