"""JPEG coding across the torchvision range (corruptions.codec): where torchvision no longer has
its JPEG functions, the Pillow fallback gives the same bytes and pixels, and device decoding is
reported unavailable so callers decode on the CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import corruptions.codec as codec
from corruptions.jpeg import jpeg_roundtrip
from robustbench_dm.scoring import cell_reader


def _images(size: int, n: int = 4, channels: int = 3) -> list[torch.Tensor]:
    rng = np.random.default_rng(size)
    base = rng.integers(0, 256, (n, channels, size // 4, size // 4)).astype(np.uint8)
    smooth = base.repeat(4, axis=2).repeat(4, axis=3)  # blocks: JPEG-like content, not noise
    return list(torch.from_numpy(np.ascontiguousarray(smooth)))


@pytest.fixture
def without_torchvision_jpeg(monkeypatch):
    monkeypatch.setattr(codec, "torchvision_jpeg", lambda: None)


@pytest.mark.parametrize("size, channels", [(32, 3), (64, 1), (224, 3)])
def test_pillow_fallback_gives_torchvisions_bytes_and_pixels(size, channels, monkeypatch):
    images = _images(size, channels=channels)
    encoded = codec.encode_jpeg(images, quality=58)
    decoded = codec.decode_jpeg(encoded)
    rgb = codec.decode_jpeg(encoded, rgb=True)
    monkeypatch.setattr(codec, "torchvision_jpeg", lambda: None)
    fallback = codec.encode_jpeg(images, quality=58)
    assert all(torch.equal(a, b) for a, b in zip(encoded, fallback))
    assert all(torch.equal(a, b) for a, b in zip(decoded, codec.decode_jpeg(fallback)))
    assert all(torch.equal(a, b) for a, b in zip(rgb, codec.decode_jpeg(fallback, rgb=True)))
    assert rgb[0].shape[0] == 3 and decoded[0].shape[0] == channels


def test_jpeg_corruption_is_unchanged_without_torchvision_jpeg(without_torchvision_jpeg):
    batch = torch.stack(_images(32))
    with_pillow = jpeg_roundtrip(batch, 40)
    expected = torch.stack([codec._pillow_decode(bytes(codec.pillow_jpeg(x.numpy(), 40).numpy()),
                                                 False) for x in batch])
    assert torch.equal(with_pillow, expected)


def test_no_device_codec_means_no_gpu_decode(without_torchvision_jpeg, tmp_path):
    with pytest.raises(RuntimeError, match="decode on the CPU"):
        codec.decode_jpeg([codec.pillow_jpeg(_images(32)[0].numpy(), 80)], device="meta")
    assert cell_reader.can_gpu_decode(object()) is False
