"""Benchmark: the release's x264 round trip of ImageNet-P videos against making their frames.

    python bench/imagenet_p_x264.py [--perturbations gaussian_noise,rotate,...] [--videos 2]

For each perturbation, makes ``--videos`` videos (224 px, 31 frames; translate 41) from the
bundled photographs with ``corruptions.sequence`` on the CPU, then encodes each as the release
does and decodes it back (``robustbench_dm.suites.released_video``), all on one thread. Prints per
video the CPU seconds of making the frames, of the x264 encode and of the decode, the mp4 size,
and the PSNR of the decoded frames against the generated ones.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import skimage.data
import torch
from PIL import Image

import corruptions
from robustbench_dm.suites.crop import resize_center_crop
from robustbench_dm.suites.imagenet_p import IMAGENET_P_TEST
from robustbench_dm.suites.released_video import decode_video, encode_video

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")


def clean_batch(count: int) -> torch.Tensor:
    """``count`` photographs as the release feeds them: Resize(256) + CenterCrop(224), uint8 N x 3 x 224 x 224."""
    images = []
    for i in range(count):
        image = resize_center_crop(Image.fromarray(getattr(skimage.data, PHOTOS[i % len(PHOTOS)])()).convert("RGB"))
        images.append(torch.from_numpy(np.asarray(image).transpose(2, 0, 1).copy()))
    return torch.stack(images)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = ((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean()
    return float(10 * np.log10(255 ** 2 / mse))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--perturbations", default=",".join(IMAGENET_P_TEST))
    parser.add_argument("--videos", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    clean = clean_batch(args.videos)
    print(f"{'perturbation':<15} {'frames':>6} {'make s':>7} {'encode s':>8} {'decode s':>8} {'KB':>6} {'PSNR dB':>7}")
    totals = np.zeros(3)
    names = args.perturbations.split(",")
    for name in names:
        start = time.process_time()
        videos = corruptions.sequence(clean, name, difficulty=1, preset="imagenet",
                                      generator=torch.Generator().manual_seed(0))
        made = (time.process_time() - start) / len(clean)
        encode = decode = size = quality = 0.0
        for video in videos.permute(0, 1, 3, 4, 2).numpy():
            start = time.process_time()
            data = encode_video(video, name)
            encode += time.process_time() - start
            start = time.process_time()
            frames = decode_video(data)
            decode += time.process_time() - start
            size += len(data) / 1024
            quality += psnr(frames, video)
        n = len(videos)
        totals += (made, encode / n, decode / n)
        print(f"{name:<15} {videos.shape[1]:>6} {made:>7.2f} {encode / n:>8.2f} {decode / n:>8.2f} "
              f"{size / n:>6.0f} {quality / n:>7.1f}")
    made, encode, decode = totals / len(names)
    print(f"mean per video: make {made:.2f} s, x264 encode {encode:.2f} s, decode {decode:.2f} s of CPU "
          f"(encode / make = {encode / made:.1f})")


if __name__ == "__main__":
    main()
