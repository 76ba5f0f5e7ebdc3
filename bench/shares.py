"""Benchmark: does scoring a generation-bound suite under ``torchrun`` share the work?

    python bench/shares.py [--data-root /usr/share/datasets/fashion-mnist] [--limit 8000]
                           [--corruptions zoom_blur] [--severities 1,2,3,4,5] [--procs 2]

Scores ``small_cnn`` on ``fmnist-c`` made on the fly (the cost is the corruption of each image)
twice with the ``score`` command, each process on one thread: once as one process, once under
``torchrun --nproc-per-node N``. Prints the total CPU time (user + system of every process,
from ``getrusage(RUSAGE_CHILDREN)``) of the N-process run divided by that of one process
(target <= 1.15: each generated chunk is made by one rank only) and the wall-time ratio.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from robustbench_dm.models import NORMALIZATIONS, create_model, save_checkpoint

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(command: list[str]) -> tuple[float, float]:
    """(CPU seconds of ``command`` and its descendants, wall seconds)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--limit", type=int, default=8000)
    parser.add_argument("--corruptions", default="zoom_blur")
    parser.add_argument("--severities", default="1,2,3,4,5")
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        model = create_model("small_cnn", 10, NORMALIZATIONS["cifar"])
        ckpt = save_checkpoint(Path(tmp) / "m.pt", arch="small_cnn", num_classes=10,
                               normalization=model.normalization, state_dict=model.net.state_dict())
        score = ["-m", "cli", "score", str(ckpt), "--suite", "fmnist-c", "--data-root", args.data_root,
                 "--limit", str(args.limit), "--corruptions", args.corruptions,
                 "--severities", args.severities, "--batch-size", str(args.batch_size),
                 "--workers", "0"]
        one_cpu, one_wall = _run([sys.executable, *score, "--out", f"{tmp}/one"])
        many_cpu, many_wall = _run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node",
                                    str(args.procs), "--master-port", str(_free_port()), *score,
                                    "--out", f"{tmp}/many"])
    print(f"fmnist-c on the fly: {args.limit} images x {args.corruptions} x severities {args.severities}")
    print(f"1 process:  cpu {one_cpu:.1f} s, wall {one_wall:.1f} s")
    print(f"{args.procs} processes: cpu {many_cpu:.1f} s, wall {many_wall:.1f} s")
    print(f"cpu ratio {many_cpu / one_cpu:.3f} (target <= 1.15), wall ratio {many_wall / one_wall:.3f}")


if __name__ == "__main__":
    main()
