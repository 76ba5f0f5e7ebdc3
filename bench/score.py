"""Benchmark: end-to-end `score` throughput vs bare forward passes of the same model.

    python bench/score.py [--images 2000] [--corruptions 3] [--batch-size 256] [--workers 1]
                          [--threads 1]

Writes a CIFAR-10-C-format fixture (``--corruptions`` corruptions x 5 severities x ``--images``
random images, uint8 .npy + labels.npy) to a temp folder, then in the same process times
(a) ``robustbench_dm.scoring.score`` with ``small_cnn`` on the ``cifar10-c`` suite (memory-mapped
reads, softmax/top-5, atomic HDF5 cell writes, summary.json) and (b) the bare forward passes of the
same model on the same tensors (already in memory, converted to float [0, 1]). Prints images/s
and the pipeline efficiency (a / b; target >= 0.85). Each side runs ``--repeats`` times,
interleaved; the best time of each counts. Both sides use ``--threads`` torch threads (default 1:
on a small shared machine, OpenMP's 2-thread barriers under contention make forward passes
several times slower and far noisier than 1 thread, which would swamp the comparison).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from robustbench_dm.models import NORMALIZATIONS, create_model
from robustbench_dm.scoring import score
from robustbench_dm.suites import get_suite

CORRUPTIONS = ("gaussian_noise", "fog", "jpeg_compression", "snow", "contrast")


def write_fixture(root: Path, n: int, names: tuple[str, ...], seed: int) -> None:
    rng = np.random.default_rng(seed)
    for name in names:
        np.save(root / f"{name}.npy", rng.integers(0, 256, (5 * n, 32, 32, 3), dtype=np.uint8))
    np.save(root / "labels.npy", np.tile(rng.integers(0, 10, n), 5).astype(np.uint8))


def bare_forward(model: torch.nn.Module, batches: list[torch.Tensor]) -> float:
    start = time.perf_counter()
    with torch.inference_mode():
        for batch in batches:
            model(batch.float().div_(255.0))
    return time.perf_counter() - start


def pipeline(model: torch.nn.Module, root: Path, names, out: Path, batch_size: int,
             workers: int) -> float:
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    suite = get_suite("cifar10-c", root, corruptions=list(names))
    score(model, suite, out_dir=out, batch_size=batch_size, progress=False, workers=workers,
          checkpoint_info={"path": "bench", "sha256": "0" * 64, "num_classes": 10})
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000, help="images per severity")
    parser.add_argument("--corruptions", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    torch.manual_seed(args.seed)
    model = create_model("small_cnn", 10, NORMALIZATIONS["cifar"]).eval()
    names = CORRUPTIONS[: args.corruptions]
    total = len(names) * 5 * args.images
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "CIFAR-10-C"
        root.mkdir()
        write_fixture(root, args.images, names, args.seed)
        batches = []
        for name in names:
            array = torch.from_numpy(np.load(root / f"{name}.npy")).permute(0, 3, 1, 2).contiguous()
            batches += list(array.split(args.batch_size))
        bare_forward(model, batches[:2])  # warm-up
        bare_times, pipe_times = [], []
        for _ in range(args.repeats):
            bare_times.append(bare_forward(model, batches))
            pipe_times.append(pipeline(model, root, names, Path(tmp) / "out", args.batch_size,
                                       args.workers))
    bare, pipe = min(bare_times), min(pipe_times)
    print(f"CIFAR-10-C format: {len(names)} corruptions x 5 severities x {args.images} images "
          f"= {total} images, small_cnn, batch {args.batch_size}, workers {args.workers}, "
          f"torch threads {torch.get_num_threads()}")
    print(f"{'':<28}{'seconds':>10}{'images/s':>12}")
    print(f"{'bare forward passes':<28}{bare:>10.2f}{total / bare:>12.0f}")
    print(f"{'robust-eval score pipeline':<28}{pipe:>10.2f}{total / pipe:>12.0f}")
    print(f"efficiency (pipeline / bare throughput): {bare / pipe:.3f}  (target >= 0.85)")


if __name__ == "__main__":
    main()
