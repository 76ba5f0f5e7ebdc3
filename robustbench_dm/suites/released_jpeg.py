"""The final JPEG quality-85 save of ImageNet-C and Tiny-ImageNet-C (HR ``make_imagenet_c.py``,
``make_tinyimagenet_c.py``: PIL ``quality=85, optimize=True``), and reading it back.

:meth:`ReleasedSave.encode` gives the bytes ``make-suite`` writes, :meth:`ReleasedSave.submit`
the images a reader of those files gets (decoded by PIL on the CPU, by nvJPEG on CUDA, as
``score`` reads files), encoding on CPU threads while the device corrupts the next chunk.
``fast=True`` encodes with torchvision's ``encode_jpeg`` on the images' device instead (nvJPEG on
CUDA: other bytes; recorded in the suite's provenance).
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import torch
from PIL import Image

from robustbench_dm.suites.folders import to_chw
from robustbench_dm.suites.imagenet_pipeline import Threaded

RELEASED_SAVE = {"quality": 85, "optimize": True}  # make_imagenet_c.py / make_tinyimagenet_c.py


def _encode_pil(hwc: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(hwc).save(buffer, "JPEG", **RELEASED_SAVE)
    return buffer.getvalue()


def _decode_pil(data: bytes) -> torch.Tensor:
    with Image.open(io.BytesIO(data)) as file:
        return to_chw(file.convert("RGB"))


def _decode_pil_of_encoded(hwc: np.ndarray) -> torch.Tensor:
    return _decode_pil(_encode_pil(hwc))


def pil_jpeg_build() -> str:
    """The JPEG library PIL encodes with, as the provenance records it (``"Pillow 13.0.0,
    libjpeg-turbo 3.2.0"``)."""
    import PIL
    from PIL import features

    turbo = features.version("libjpeg_turbo")
    return f"Pillow {PIL.__version__}, " + (f"libjpeg-turbo {turbo}" if turbo else f"libjpeg {features.version('jpg')}")


class ReleasedSave(Threaded):
    """The final JPEG q85 save of ImageNet-C and Tiny-ImageNet-C, and reading it back.

    Exact (default): PIL ``quality=85, optimize=True`` on CPU threads, the bytes ``make-suite``
    writes; read back by PIL on the CPU, by nvJPEG when the images are on CUDA (as ``score``
    reads JPEG files there). ``fast=True``: torchvision ``encode_jpeg(quality=85)`` on the images'
    device (nvJPEG on CUDA) and ``decode_jpeg`` on the same device.
    """

    def __init__(self, *, fast: bool = False, threads: int | None = None):
        self.fast = bool(fast)
        super().__init__(threads)

    def describe(self, device: torch.device) -> str:
        """How the save is made and read back, in words (for the provenance)."""
        if self.fast:
            return f"JPEG quality 85 by torchvision encode_jpeg on {device.type}, decode_jpeg on {device.type}"
        reader = "nvJPEG" if device.type == "cuda" else "PIL"
        return f"JPEG quality 85, optimize=True by PIL (as the release; {pil_jpeg_build()}); read back by {reader}"

    def _encode_device(self, images: torch.Tensor) -> list[torch.Tensor]:
        from corruptions.codec import encode_jpeg

        return encode_jpeg(list(images.contiguous()), quality=RELEASED_SAVE["quality"])

    def encode(self, images: torch.Tensor) -> list[bytes]:
        """The JPEG bytes of each uint8 3 x H x W image of ``images`` (what make-suite writes)."""
        if self.fast:
            return [bytes(e.cpu().numpy()) for e in self._encode_device(images)]
        hwc = images.cpu().permute(0, 2, 3, 1).numpy()
        return list(self.pool.map(_encode_pil, hwc))

    def _decode(self, encoded: list, device: torch.device) -> torch.Tensor:
        if device.type == "cuda":
            from corruptions.codec import decode_jpeg

            # decode_jpeg reads its input from the CPU (nvJPEG's encoder leaves it on the GPU)
            data = [e.cpu() if isinstance(e, torch.Tensor) else torch.frombuffer(bytearray(e), dtype=torch.uint8)
                    for e in encoded]
            return torch.stack(decode_jpeg(data, rgb=True, device=device))
        data = [bytes(e.numpy()) if isinstance(e, torch.Tensor) else e for e in encoded]
        return torch.stack([_decode_pil(d) for d in data])

    def submit(self, images: torch.Tensor) -> Callable[[], torch.Tensor]:
        """Start the round trip of ``images``; the returned call gives the decoded batch on
        ``images.device``. Exact mode: one PIL encode (and decode on the CPU) per image on the
        thread pool, running while the caller goes on."""
        device = images.device
        if len(images) == 0:
            return lambda: images
        if self.fast:
            encoded = self._encode_device(images)
            return lambda: self._decode(encoded, device)
        work = _encode_pil if device.type == "cuda" else _decode_pil_of_encoded
        # the copy to the CPU waits for the device in a pool thread, not in the caller
        started = self.pool.submit(lambda: [self.pool.submit(work, image)
                                            for image in images.cpu().permute(0, 2, 3, 1).numpy()])

        def done() -> torch.Tensor:
            results = [f.result() for f in started.result()]
            return self._decode(results, device) if device.type == "cuda" else torch.stack(results)
        return done
