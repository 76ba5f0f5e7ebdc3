"""The ImageNet-P videos as the release encodes them, and reading them back (PyAV).

HR ``make_imagenet_p.py`` writes each video with ffmpeg from PNG frames:
``ffmpeg -r 1 -framerate 1 -i img%01d.png -vcodec libx264 ... -preset veryslow``, adding
``-tune grain`` for the noise sequences (then x264's default CRF, 23) and ``-crf 20`` for every
other perturbation. It gives no ``-pix_fmt``: for RGB input ffmpeg then picks ``yuv444p``.
Readers decode every frame to RGB (HR: OpenCV; here PyAV, :func:`decode_video`).

:func:`encode_video` applies those settings with PyAV's libx264 in memory, with one encoder thread
(x264's output depends on its thread count), frames stamped 0, 1, 2, ... at 1 fps, and x264's C
code instead of its SIMD code (:data:`DETERMINISTIC`), so the bytes depend on the frames and the
x264 version only: images keys record it (:func:`x264_build`, and make-suite's manifest its
``encoder``), so videos of another build never pair with these. They are the files ``make-suite`` writes, and
:class:`VideoSave` gives an on-the-fly suite the frames a reader of those files gets. (Not the
release's own bytes: another x264 build and RGB -> YUV conversion.)
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from robustbench_dm.errors import UserError
from robustbench_dm.metrics import is_noise_perturbation
from robustbench_dm.suites.imagenet_pipeline import Threaded

PIX_FMT = "yuv444p"  # ffmpeg's choice for RGB (PNG) input when no -pix_fmt is given
FRAME_RATE = 1  # -r 1 -framerate 1
CODECS = ("x264", "none")  # the release's round trip, or the frames as generated
# x264's SIMD code (core 165 in PyAV 18) gave other bytes from run to run for the same frames, in
# one thread (here with AVX-512), and other bytes for each instruction set; its C code gives the
# same bytes every time, on any CPU, about 4 times slower (2.6 s of CPU per 31-frame video).
DETERMINISTIC = {"x264-params": "asm=0"}


def x264_settings(perturbation: str) -> dict[str, str]:
    """The libx264 options of the release for ``perturbation``'s videos."""
    if is_noise_perturbation(perturbation):
        return {"preset": "veryslow", "tune": "grain"}
    return {"preset": "veryslow", "crf": "20"}


@functools.cache
def x264_build() -> str:
    """The encoder that makes the bytes, as the images keys record it: x264's core version (from
    the version string x264 writes into every stream) and the PyAV / libavcodec that bundle it."""
    import av

    stream = encode_video(np.zeros((1, 16, 16, 3), np.uint8), "brightness")
    core = re.search(rb"x264 - core (\d+)", stream)
    libavcodec = ".".join(map(str, av.library_versions["libavcodec"]))
    return f"libx264 core {core.group(1).decode() if core else '?'} (PyAV {av.__version__}, libavcodec {libavcodec})"


def stored_as(encoder: str | None) -> str:
    """The storage tag of videos made by ``encoder`` (:func:`x264_build`) in an images key."""
    return f"x264 by {encoder}"


def encode_video(frames: np.ndarray, perturbation: str) -> bytes:
    """The mp4 bytes of uint8 (T, H, W, 3) RGB ``frames`` encoded as the release encodes the
    videos of ``perturbation``, with :data:`DETERMINISTIC` (the same frames give the same bytes)."""
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FRAME_RATE)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], PIX_FMT
        stream.codec_context.thread_count = 1
        stream.options = {**x264_settings(perturbation), **DETERMINISTIC}
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts = i  # without timestamps x264's rate control read unset durations (varying bytes)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return buffer.getvalue()


def decode_video(source: Path | bytes) -> np.ndarray:
    """Every frame of an mp4 (a file, or its bytes) as uint8 (T, H, W, 3) RGB; unreadable ->
    ``UserError``. PyAV is imported here, on first use: only ImageNet-P needs a video codec."""
    import av

    what = f"video {source}" if isinstance(source, Path) else "encoded video"
    try:
        with av.open(str(source) if isinstance(source, Path) else io.BytesIO(source)) as container:
            frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    except (av.error.FFmpegError, OSError, ValueError) as err:
        raise UserError(f"unreadable {what} ({err}); expected an mp4 of RGB frames") from None
    if not frames:
        raise UserError(f"{what} has no frames; expected an mp4 of RGB frames")
    return np.stack(frames)


def _thwc(videos: torch.Tensor) -> np.ndarray:
    """uint8 N x T x 3 x H x W (any device) as a numpy N x T x H x W x 3 array."""
    return videos.cpu().permute(0, 1, 3, 4, 2).numpy()


def _round_trip(frames: np.ndarray, perturbation: str) -> torch.Tensor:
    """T x 3 x H x W, contiguous as the batches of the files' reader (the same model outputs)."""
    return torch.from_numpy(decode_video(encode_video(frames, perturbation))).permute(0, 3, 1, 2).contiguous()


class VideoSave(Threaded):
    """The release's x264 encoding of generated ImageNet-P videos, and reading it back: one video
    per task on ``threads`` CPU threads (PyAV releases the GIL while x264 encodes)."""

    @staticmethod
    def describe(device: torch.device) -> str:
        """How the videos are encoded and read back, in words (for the provenance), naming the
        encoder build (:func:`x264_build`) that makes the bytes."""
        return (f"H.264 mp4 by {x264_build()} as the release (-preset veryslow; -tune grain for noise, "
                f"-crf 20 otherwise; {PIX_FMT}, {FRAME_RATE} fps), x264's C code in one thread for "
                f"determinism; read back by PyAV on the CPU, then on {device.type}")

    def encode(self, videos: torch.Tensor, perturbation: str) -> list[bytes]:
        """The mp4 bytes of each uint8 T x 3 x H x W video of ``videos`` (what make-suite writes)."""
        return list(self.pool.map(lambda frames: encode_video(frames, perturbation), _thwc(videos)))

    def submit(self, videos: torch.Tensor, perturbation: str) -> Callable[[], torch.Tensor]:
        """Start the round trip of ``videos``; the returned call gives the decoded videos on
        ``videos.device``, one encode per pool task running while the caller goes on."""
        device = videos.device
        if len(videos) == 0:
            return lambda: videos
        # the copy to the CPU waits for the device in a pool thread, not in the caller
        started = self.pool.submit(lambda: [self.pool.submit(_round_trip, frames, perturbation)
                                            for frames in _thwc(videos)])
        return lambda: torch.stack([f.result() for f in started.result()]).to(device)
