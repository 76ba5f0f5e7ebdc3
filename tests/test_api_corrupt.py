"""``corruptions.corrupt`` as imagecorruptions' drop-in: numpy, PIL, C x H x W and N x C x H x W
inputs all take the batched path (same bytes for the same generator state), and
``get_corruption_names`` lists what imagecorruptions lists."""

import imagecorruptions
import numpy as np
import pytest
import torch
from PIL import Image

import corruptions
from corruptions import corrupt, get_corruption_names

ALL = get_corruption_names("all")
# kernels that draw image by image: a batch equals its images corrupted one after the other
IMAGE_MAJOR = ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise", "glass_blur",
               "motion_blur")


def _rgb(seed=0, size=32) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] * (255.0 / size)
    base = np.stack([xx, yy, (xx + yy) / 2], -1) + rng.integers(0, 40, (size, size, 3))
    return base.clip(0, 255).astype(np.uint8)


def _gen(seed=3):
    return torch.Generator().manual_seed(seed)


def _batched(hwc: np.ndarray, name: str, severity: int, seed=3) -> torch.Tensor:
    batch = torch.from_numpy(np.ascontiguousarray(hwc.transpose(2, 0, 1)))[None]
    return corrupt(batch, name, severity, generator=_gen(seed))


@pytest.mark.parametrize("subset", ["common", "validation", "all", "noise", "blur", "weather",
                                    "digital"])
def test_names_as_imagecorruptions(subset):
    assert get_corruption_names(subset) == imagecorruptions.get_corruption_names(subset)


def test_default_subset_and_unknown_subset():
    assert get_corruption_names() == list(corruptions.CORRUPTIONS)
    with pytest.raises(ValueError, match="unknown subset 'rain'"):
        get_corruption_names("rain")


@pytest.mark.parametrize("name", ALL)
def test_every_input_form_equals_the_batched_path(name):
    rgb = _rgb()
    expected = _batched(rgb, name, 3)
    out = corrupt(rgb, corruption_name=name, severity=3, generator=_gen())
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8 and out.shape == rgb.shape
    np.testing.assert_array_equal(out, expected[0].permute(1, 2, 0).numpy())
    pil = corrupt(Image.fromarray(rgb), name, 3, generator=_gen())
    assert isinstance(pil, Image.Image) and pil.mode == "RGB" and pil.size == (32, 32)
    np.testing.assert_array_equal(np.asarray(pil), out)
    chw = torch.from_numpy(rgb).permute(2, 0, 1)
    one = corrupt(chw, name, 3, generator=_gen())
    assert one.shape == chw.shape and one.dtype == torch.uint8
    assert torch.equal(one, expected[0])
    by_number = corrupt(rgb, severity=3, corruption_number=ALL.index(name), generator=_gen())
    np.testing.assert_array_equal(by_number, out)


@pytest.mark.parametrize("name", ["gaussian_noise", "glass_blur", "fog", "contrast", "frost"])
def test_grey_images_are_corrupted_as_one_channel(name):
    grey = _rgb(1)[:, :, 0]
    expected = corrupt(torch.from_numpy(grey)[None, None], name, 2, generator=_gen())[0, 0]
    out = corrupt(grey, name, 2, generator=_gen())
    assert out.shape == grey.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out, expected.numpy())
    np.testing.assert_array_equal(corrupt(grey[:, :, None], name, 2, generator=_gen())[:, :, 0], out)
    pil = corrupt(Image.fromarray(grey), name, 2, generator=_gen())
    assert pil.mode == "L"
    np.testing.assert_array_equal(np.asarray(pil), out)


@pytest.mark.parametrize("name", IMAGE_MAJOR)
def test_per_image_calls_equal_one_batched_call(name):
    images = [_rgb(seed) for seed in range(3)]
    batch = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    together = corrupt(batch, name, 4, generator=_gen(5))
    gen = _gen(5)
    for k, image in enumerate(images):
        np.testing.assert_array_equal(
            corrupt(image, name, 4, generator=gen), together[k].permute(1, 2, 0).numpy()
        )


def test_preset_by_size_and_by_name():
    big = np.tile(_rgb(2), (7, 7, 1))  # 224 x 224: the ImageNet table
    a = corrupt(big, "contrast", 5)
    b = corrupt(big, "contrast", 5, preset="imagenet")
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, corrupt(big, "contrast", 5, preset="cifar"))
    with pytest.raises(ValueError, match="no severity table for 40x40"):
        corrupt(_rgb(size=40), "contrast", 1)
    assert corrupt(_rgb(size=40), "contrast", 1, preset="imagenet").shape == (40, 40, 3)


def test_imagecorruptions_keywords_and_clear_errors():
    rgb = _rgb()
    out = corrupt(image=rgb, severity=2, corruption_name="brightness")
    assert out.shape == rgb.shape and out.mean() > rgb.mean()
    with pytest.raises(ValueError, match="pass them by keyword"):
        corrupt(rgb, 2, "brightness")
    with pytest.raises(ValueError, match="either corruption_name or corruption_number"):
        corrupt(rgb)
    with pytest.raises(ValueError, match="corruption_number must be an integer in 0..18"):
        corrupt(rgb, corruption_number=19)
    with pytest.raises(ValueError, match="unknown corruption 'rain'"):
        corrupt(rgb, "rain")
    with pytest.raises(ValueError, match="severity must be an integer in 1..5"):
        corrupt(rgb, "fog", 6)
    with pytest.raises(ValueError, match="numpy uint8 .* got float64 array of shape"):
        corrupt(rgb.astype(float), "fog")
    with pytest.raises(ValueError, match="got uint8 array of shape \\(32, 32, 4\\)"):
        corrupt(np.zeros((32, 32, 4), np.uint8), "fog")
    with pytest.raises(ValueError, match="mode RGB or L, got mode 'RGBA'"):
        corrupt(Image.new("RGBA", (32, 32)), "fog")
    with pytest.raises(ValueError, match="C x H x W or N x C x H x W tensor"):
        corrupt(torch.zeros(32, 32, dtype=torch.uint8), "fog")
    with pytest.raises(ValueError, match="got list"):
        corrupt([[0]], "fog")
