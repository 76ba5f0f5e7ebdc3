"""ImageNet-P / CIFAR-P perturbation sequences (Hendrycks' make_imagenet_p.py / make_cifar_p.py).

Each kernel turns uint8 N x C x H x W images into uint8 N x T x C x H x W videos and is reached
through :func:`corruptions.sequence`. Presets: ``cifar`` is make_cifar_p.py (32 px recipe),
``imagenet`` is make_imagenet_p.py (224 px recipe), ``tinyimagenet`` uses the ImageNet recipe
with the height and width of the input. Difficulty (1..3) selects the noise level of the noise
sequences (the released ``<name>_2`` / ``<name>_3`` folders); for every other perturbation the
frames do not depend on it (the difficulty is a comparison stride at evaluation time).

Modules: :mod:`.noise_seq` (gaussian, shot, speckle), :mod:`.blur_seq` (motion, zoom, gaussian),
:mod:`.geometric_seq` (translate, rotate, scale, shear, tilt), :mod:`.weather_seq` (snow,
brightness, spatter); :mod:`.warp` holds the PIL/OpenCV-compatible batched warps and
:mod:`.frames` the frame counts.
"""

from corruptions.sequences import blur_seq, geometric_seq, noise_seq, weather_seq  # noqa: F401
from corruptions.sequences.frames import FRAMES, frame_count

__all__ = ["FRAMES", "frame_count"]
