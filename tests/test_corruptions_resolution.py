"""Resolution scaling of the corruptions (``scaled_preset``, docs/resolution.md): at the preset's
own size nothing changes, elsewhere exactly the spatial parameters scale, so that a corruption at
2x the size on a 2x image is (after halving) close to the corruption at 1x -- the same corruption
over the same scene."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import corruptions
from corruptions.presets import Preset, scale_count, scale_length, scaled_preset, spatial_scale

SPATIAL = ("defocus_blur", "glass_blur", "motion_blur", "snow", "frost", "fog", "elastic_transform",
           "pixelate", "gaussian_blur", "spatter")
INVARIANT = ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise", "brightness", "contrast",
             "saturate", "jpeg_compression", "zoom_blur")


def photo(size: int) -> torch.Tensor:
    """skimage's astronaut as uint8 1 x 3 x size x size (PIL bilinear)."""
    import skimage.data

    image = Image.fromarray(skimage.data.astronaut()).resize((size, size), Image.BILINEAR)
    return torch.from_numpy(np.asarray(image).transpose(2, 0, 1).copy())[None]


def run(images, name, severity, preset, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return corruptions.corrupt(images, name, severity, preset=preset, generator=gen)


def test_scale_helpers_leave_values_alone_at_scale_one():
    assert spatial_scale("imagenet") == 1.0 and scaled_preset("imagenet", 224, 224).scale == 1.0
    assert scaled_preset("imagenet", 384, 384).scale == pytest.approx(384 / 224)
    one, big = Preset("imagenet", 1.0), Preset("imagenet", 1.5)
    assert scale_length(3, one) == 3 and isinstance(scale_length(3, one), int)
    assert scale_length(3, big) == 4.5 and scale_count(3, big) == 4 and scale_count(1, Preset("x", 0.1)) == 1
    assert big == "imagenet" and hash(big) == hash("imagenet")  # still indexes the tables


@pytest.mark.parametrize("name", SPATIAL + INVARIANT)
def test_scale_one_gives_the_published_bytes_and_other_scales_change_only_spatial_ones(name):
    small = photo(64)
    plain = run(small, name, 3, "tinyimagenet")
    assert torch.equal(run(small, name, 3, scaled_preset("tinyimagenet", 64, 64)), plain)
    big = photo(112)
    scaled = run(big, name, 3, scaled_preset("tinyimagenet", 112, 112))
    assert scaled.shape == big.shape
    if name == "frost":  # the 64 px textures are too small for 112 px images unless scaled
        with pytest.raises(ValueError, match="smaller than its textures"):
            run(big, name, 3, "tinyimagenet")
        return
    assert torch.equal(scaled, run(big, name, 3, "tinyimagenet")) == (name in INVARIANT)


@pytest.mark.parametrize("name", ("defocus_blur", "gaussian_blur", "motion_blur", "pixelate", "fog", "frost"))
def test_scaled_corruption_of_a_doubled_image_is_the_corruption_of_the_image(name):
    """corrupt(up2(x), scale 2), halved, is nearer corrupt(x) than corrupt(up2(x)) halved is
    (same seed: motion angles, fog plasma and frost draws are the same draws). Printed errors are
    mean absolute differences on 0..255."""
    small = photo(64)
    big = F.interpolate(small.float(), scale_factor=2, mode="nearest").to(torch.uint8)
    target = run(small, name, 4, "tinyimagenet").float()

    def halved(images):
        return F.avg_pool2d(images.float(), 2)

    scaled = halved(run(big, name, 4, scaled_preset("tinyimagenet", 128, 128)))
    # frost cannot run unscaled at 128 px (textures too small): compare with no corruption
    unscaled = halved(big if name == "frost" else run(big, name, 4, "tinyimagenet"))
    err_scaled = (scaled - target).abs().mean().item()
    err_unscaled = (unscaled - target).abs().mean().item()
    assert err_scaled < 0.9 * err_unscaled, (err_scaled, err_unscaled)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", SPATIAL)
def test_scaled_kernels_on_the_device(name):
    """On CUDA (bench/gpu_session.sh runs it): scale 1 gives the plain preset's bytes, 384 px runs."""
    images = photo(224).cuda()
    plain = corruptions.corrupt(images, name, 3, preset="imagenet",
                                generator=torch.Generator("cuda").manual_seed(1))
    scaled = corruptions.corrupt(images, name, 3, preset=scaled_preset("imagenet", 224, 224),
                                 generator=torch.Generator("cuda").manual_seed(1))
    assert torch.equal(plain, scaled)
    big = photo(384).cuda()
    out = corruptions.corrupt(big, name, 3, preset=scaled_preset("imagenet", 384, 384),
                              generator=torch.Generator("cuda").manual_seed(1))
    assert out.shape == big.shape and out.is_cuda
