"""Severity-table presets, how ``preset="auto"`` picks one from the image size, and the spatial scale.

A kernel receives the resolved preset name. Passing ``preset=scaled_preset(name, H, W)`` to
``corruptions.corrupt`` gives it a :class:`Preset`: still the name (a ``str``, so it indexes the
severity tables) but carrying ``scale`` = image size / the preset's size, by which the kernel
multiplies every spatial parameter (docs/resolution.md). ``spatial_scale(preset)`` is 1.0 for a plain name, and every
kernel keeps its exact published behaviour at scale 1.0.
"""

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


class Preset(str):
    """A resolved preset name carrying the spatial ``scale`` of its kernels' pixel parameters."""

    scale: float

    def __new__(cls, name: str, scale: float = 1.0) -> Preset:
        preset = super().__new__(cls, name)
        preset.scale = float(scale)
        return preset

    def __repr__(self) -> str:
        return f"Preset({str(self)!r}, scale={self.scale!r})"


def scaled_preset(preset: str, height: int, width: int) -> Preset:
    """``preset`` with scale min(``height``, ``width``) / the preset's image size."""
    return Preset(preset, min(height, width) / PRESETS[str(preset)])


def spatial_scale(preset: str) -> float:
    """The factor a kernel applies to its spatial parameters (1.0 unless rescaled)."""
    return getattr(preset, "scale", 1.0)


def scale_length(value: float, preset: str) -> float:
    """A length in pixels (blur sigma, radius, zoom of a noise layer) at ``preset``'s scale;
    ``value`` itself, untouched, at scale 1."""
    scale = spatial_scale(preset)
    return value if scale == 1.0 else value * scale


def scale_count(value: int, preset: str) -> int:
    """A whole number of pixels (tap radius, displacement) at ``preset``'s scale, rounded, at
    least 1; ``value`` itself at scale 1."""
    scale = spatial_scale(preset)
    return value if scale == 1.0 else max(1, round(value * scale))
