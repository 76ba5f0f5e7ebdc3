"""The released ImageNet-C pipeline around the corruption, shared by ``make-suite`` and ``score --generate``.

HR ``make_imagenet_c.py`` (and ``make_tinyimagenet_c.py``): decode the clean JPEG (PIL, RGB) ->
``Resize(256)`` + ``CenterCrop(224)`` (PIL bilinear; Tiny-ImageNet: the 64 px images as they are)
-> corrupt -> ``np.uint8`` truncation (the corruption kernels return it) -> JPEG ``quality=85,
optimize=True`` by PIL. A reader then decodes that JPEG. Here:

- :class:`CleanImages` is the clean side: the class-folder listing of ``ImageNetFolder``, decoded
  on a thread pool (PIL, as the release) or with nvJPEG on a GPU, ``Resize(round(R*256/224))`` +
  ``CenterCrop(R)`` at resolution R (R = 224 is the release), optionally held in memory after the
  first cell so the 75 cells of a suite decode each clean image once, with the next slice decoded
  ahead while the current one is corrupted.
- the final save of the release after the corruption is in ``released_jpeg.py`` (-C: JPEG q85)
  and ``released_video.py`` (-P: x264 mp4); :func:`pipelined` keeps a few chunks of it in
  flight, so CPU threads encode one chunk while the device corrupts the next.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

from robustbench_dm.devices import resolve_device
from robustbench_dm.errors import UserError
from robustbench_dm.suites.base import Batch
from robustbench_dm.suites.clean_imagenet import ImageNetFolder
from robustbench_dm.suites.crop import RELEASED_SIZE, resize_center_crop, resize_size
from robustbench_dm.suites.folders import open_rgb, to_chw

JPEG_SUFFIXES = (".jpeg", ".jpg")


def default_threads() -> int:
    """CPU threads for decoding and JPEG encoding: every core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class Threaded:
    """Base of the classes that decode or encode on ``threads`` CPU threads (None: every core this
    process may use); ``pool`` is their thread pool, started on first use."""

    def __init__(self, threads: int | None = None):
        self.threads = threads or default_threads()
        self._executor: ThreadPoolExecutor | None = None

    @property
    def pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="imagenet-pipeline")
        return self._executor

    def close(self) -> None:
        """Stop the thread pool (started again on next use)."""
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None


def clean_image(path: Path, resolution: int = RELEASED_SIZE, resize: bool = True) -> torch.Tensor:
    """The clean image of ``path`` as the released pipeline feeds it, uint8 3 x R x R: PIL
    ``Resize(round(R*256/224))`` + ``CenterCrop(R)``; ``resize=False``: as stored, which must
    be R x R (Tiny-ImageNet)."""
    image = open_rgb(path)
    if resize:
        image = resize_center_crop(image, resolution)
    elif image.size != (resolution, resolution):
        raise UserError(f"{path} is {image.size[0]}x{image.size[1]} px; expected "
                        f"{resolution}x{resolution} clean images")
    return to_chw(image)


class CleanImages(Threaded):
    """The clean images of an ImageNet-style ``<root>/<wnid>/<file>`` folder at ``resolution``.

    Slicing (``clean[a:b]``) gives uint8 N x 3 x R x R in (stem, wnid) order, like
    ``ImageNetFolder``; ``labels``, ``classes``, ``keys`` and ``files`` are its listing. ``resize=True``:
    PIL ``Resize(round(R*256/224))`` + ``CenterCrop(R)`` (at R = 224 exactly
    ``ImageNetFolder``'s images); ``resize=False``: every image must already be R x R (Tiny-ImageNet).
    ``decoder="nvjpeg"`` decodes JPEGs on ``device`` (CUDA) and resizes there with torchvision's
    antialiased bilinear resize (other bytes than PIL). ``cache=True`` keeps every decoded image
    (on the device it was decoded on; see :meth:`hold_in_memory`) so later cells do not decode
    again.
    """

    def __init__(self, root: str | Path, *, resolution: int = RELEASED_SIZE, resize: bool = True,
                 decoder: str = "pil", device: str | torch.device = "cpu", cache: bool = False,
                 threads: int | None = None):
        if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 8:
            raise UserError(f"invalid resolution {resolution!r}; expected an integer number of pixels >= 8")
        if decoder not in ("pil", "nvjpeg"):
            raise UserError(f"unknown decoder {decoder!r}; expected pil or nvjpeg")
        folder = ImageNetFolder(root)
        self.root, self.classes, self.keys, self.labels = folder.root, folder.classes, folder.keys, folder.labels
        self.files = folder.files
        self.paths = [p for _, _, p in folder.files]
        self.resolution, self.resize, self.decoder = resolution, resize, decoder
        self.device = resolve_device(device)
        if decoder == "nvjpeg" and self.device.type != "cuda":
            raise UserError(f"decoder 'nvjpeg' needs a CUDA device; got {self.device}")
        super().__init__(threads)
        self._cache: torch.Tensor | None = None
        self._cache_device: torch.device | None = None
        self._filled = torch.zeros(len(self.paths), dtype=torch.bool) if cache else None
        self._ahead: dict[tuple[int, int], Callable[[], torch.Tensor]] = {}
        self._lock = threading.Lock()

    @property
    def preprocessing(self) -> str:
        """What is done to a clean file before the corruption, in words."""
        if not self.resize:
            return f"as stored ({self.resolution}x{self.resolution} required)"
        how = "PIL" if self.decoder == "pil" else "nvJPEG decode, torchvision antialiased resize"
        return f"Resize({resize_size(self.resolution)}) + CenterCrop({self.resolution}) ({how})"

    def __len__(self) -> int:
        return len(self.paths)

    def hold_in_memory(self, device: str | torch.device | None = None) -> None:
        """Keep every image once decoded (``cache=True``), from now on, on ``device`` (default:
        where it is decoded); slices are then returned on that device."""
        if self._filled is None:
            self._filled = torch.zeros(len(self.paths), dtype=torch.bool)
        self._cache_device = torch.device(device) if device is not None else None

    def _decode_one(self, path: Path) -> torch.Tensor:
        return clean_image(path, self.resolution, self.resize)

    def _decode_nvjpeg(self, paths: list[Path]) -> torch.Tensor:
        from corruptions.codec import decode_jpeg, read_bytes

        images = decode_jpeg([read_bytes(p) for p in paths], rgb=True, device=self.device)
        size = [self.resolution, self.resolution]
        if self.resize:
            images = [resize_center_crop(i, self.resolution) for i in images]
        for path, image in zip(paths, images):
            if tuple(image.shape[-2:]) != tuple(size):
                raise UserError(f"{path} is {image.shape[-1]}x{image.shape[-2]} px; expected "
                                f"{size[1]}x{size[0]} clean images")
        return torch.stack(images)

    def start_decode(self, start: int, stop: int) -> Callable[[], torch.Tensor]:
        """Start decoding rows ``[start, stop)`` on the thread pool (one task per image, or one
        nvJPEG batch; no task waits on another); the returned call gives the batch."""
        paths = self.paths[start:stop]
        if self.decoder == "nvjpeg" and all(p.suffix.lower() in JPEG_SUFFIXES for p in paths):
            batch = self.pool.submit(self._decode_nvjpeg, paths)
            return batch.result
        futures = [self.pool.submit(self._decode_one, p) for p in paths]

        def done() -> torch.Tensor:
            images = torch.stack([f.result() for f in futures])
            return images.to(self.device) if self.decoder == "nvjpeg" else images
        return done

    def decode(self, start: int, stop: int) -> torch.Tensor:
        """Decode rows ``[start, stop)`` now (PIL on the thread pool, or nvJPEG)."""
        return self.start_decode(start, stop)()

    def _rows(self, start: int, stop: int) -> torch.Tensor:
        """Rows ``[start, stop)``, starting with the rows of a decode started ahead at ``start``."""
        with self._lock:
            ahead = next(((k, f) for k, f in self._ahead.items() if k[0] == start and k[1] <= stop), None)
            self._ahead = {}
        if ahead is None:
            return self.decode(start, stop)
        (_, end), done = ahead
        first = done()
        return first if end == stop else torch.cat([first, self.decode(end, stop).to(first.device)])

    def _read_ahead(self, start: int, stop: int) -> None:
        """Start decoding ``[start, stop)`` in the background (not when cached or past the end)."""
        if start >= stop or (self._filled is not None and bool(self._filled[start:stop].all())):
            return
        with self._lock:
            if (start, stop) not in self._ahead:
                self._ahead = {(start, stop): self.start_decode(start, stop)}

    def __getitem__(self, rows: slice) -> torch.Tensor:
        start, stop, step = rows.indices(len(self))
        if step != 1:
            raise ValueError("CleanImages takes contiguous slices only")
        if stop <= start:
            return torch.empty((0, 3, self.resolution, self.resolution), dtype=torch.uint8)
        if self._filled is None:
            images = self._rows(start, stop)
            self._read_ahead(stop, min(stop + (stop - start), len(self)))
            return images
        missing = (~self._filled[start:stop]).nonzero().flatten()
        if len(missing):  # decode the rows not held yet (their bounding range), read ahead
            lo, hi = start + int(missing[0]), start + int(missing[-1]) + 1
            images = self._rows(lo, hi)
            self._read_ahead(stop, min(stop + (stop - start), len(self)))
            if self._cache is None:
                self._cache = torch.empty((len(self),) + tuple(images.shape[1:]), dtype=torch.uint8,
                                          device=self._cache_device or images.device)
            self._cache[lo:hi] = images
            self._filled[lo:hi] = True
        return self._cache[start:stop]


def pipelined(batches: Iterable[Batch], submit: Callable[[torch.Tensor], Callable[[], torch.Tensor]],
              depth: int) -> Iterator[Batch]:
    """``batches`` with ``submit`` (which starts the work on the images and returns the call that
    gives its result) applied to the images, ``depth`` batches in flight."""
    pending: deque = deque()
    for images, labels, index in batches:
        pending.append((submit(images), labels, index))
        if len(pending) > depth:
            done, labels_, index_ = pending.popleft()
            yield done(), labels_, index_
    while pending:
        done, labels_, index_ = pending.popleft()
        yield done(), labels_, index_
