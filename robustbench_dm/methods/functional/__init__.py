"""Batched image kernels with per-sample parameters (torchvision-v2-style functional layer).

Every ``*_image`` kernel takes a ``uint8`` batch ``N x C x H x W`` on any device plus per-sample
parameter tensors and returns a ``uint8`` batch of the same shape, following PIL's semantics (the
AugMix reference applies its operations to PIL images); ``*_matrices`` build the per-sample PIL
affine matrices that ``affine_image`` applies.
"""

from robustbench_dm.methods.functional.geometry import (
    affine_image,
    crop_padded_image,
    hflip_image,
    rotate_matrices,
    shear_x_matrices,
    shear_y_matrices,
    translate_x_matrices,
    translate_y_matrices,
    vflip_image,
)
from robustbench_dm.methods.functional.imageops import (
    autocontrast_image,
    equalize_image,
    posterize_image,
    solarize_image,
)
from robustbench_dm.methods.functional.resize import downscale_image

__all__ = [
    "affine_image",
    "autocontrast_image",
    "crop_padded_image",
    "downscale_image",
    "equalize_image",
    "hflip_image",
    "posterize_image",
    "rotate_matrices",
    "shear_x_matrices",
    "shear_y_matrices",
    "solarize_image",
    "translate_x_matrices",
    "translate_y_matrices",
    "vflip_image",
]
