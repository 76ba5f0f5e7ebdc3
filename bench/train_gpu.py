"""WRN-40-2 training step with Dynamic Mixup on a GPU, and the share of it spent augmenting.

    python bench/train_gpu.py                # on a CUDA machine: batch 128, fp32 and bf16 AMP
    python bench/train_gpu.py --quick        # CPU smoke test (batch 8, 1 timed step)

The step is the training loop's own ``train_step`` (Dynamic Mixup loss with JSD: one forward
over [clean, mix1, mix2] = 3 x batch images, backward, Nesterov SGD, schedule) on the recipe's
model and optimiser (``build_training``), channels_last on CUDA as in the loop. Timed side by
side in the same process:

- ``augment``: ``DynamicMixup.augment`` alone (base transform + two Dynamic Mixup views);
- ``model``: the same step on views augmented beforehand (the reference: no augmentation);
- ``step``: the full step.

Printed: ms per step, clean images/s, the augmentation share ``augment / step`` (target on a
GPU: under 10 %, issue 15) and the overhead ratio ``step / model``. Inputs are synthetic uint8
32 px images already on the device, as the loop holds CIFAR.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import statistics
import time

import torch

from robustbench_dm.devices import resolve_device
from robustbench_dm.methods import LossOutput, create_method, jsd_loss
from robustbench_dm.training import build_training, resolve_config, train_step


def _timer(device: torch.device, fn, steps: int, warmup: int) -> float:
    """Median milliseconds of ``fn()`` over ``steps`` calls after ``warmup`` calls."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def bench(device: torch.device, batch: int, steps: int, warmup: int, amp: bool,
          arch: str) -> dict[str, float]:
    config = resolve_config("dynmix", arch, "cifar10", "-", "-", batch_size=batch,
                            device=str(device), amp=amp, epochs=1)
    method = create_method("dynmix", scale=config.scale)
    model, optimizer, scheduler = build_training(config, steps_per_epoch=10 ** 6)
    model.train()
    generator = torch.Generator(device=device).manual_seed(0)
    images = torch.randint(0, 256, (batch, 3, 32, 32), dtype=torch.uint8, device=device,
                           generator=generator)
    if config.channels_last:  # as the loop runs it (on by default on CUDA)
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, config.num_classes, (batch,), device=device, generator=generator)
    autocast = (functools.partial(torch.autocast, "cuda", dtype=torch.bfloat16) if amp
                else contextlib.nullcontext)
    views = method.augment(images, labels, generator)

    class Preaugmented:
        """Dynamic Mixup's loss (CE + lambda * JSD over 3 views) on views computed once."""

        def loss(self, model, images, targets, generator):
            parts = model(views).chunk(3)
            return LossOutput(jsd_loss(parts, targets, method.opts["lam"]), parts[0], targets)

    def augment_only():
        method.augment(images, labels, generator)

    def model_only():
        train_step(model, Preaugmented(), optimizer, scheduler, images, labels, generator,
                   autocast)

    def full_step():
        train_step(model, method, optimizer, scheduler, images, labels, generator, autocast)

    return {"augment": _timer(device, augment_only, steps, warmup),
            "model": _timer(device, model_only, steps, warmup),
            "step": _timer(device, full_step, steps, warmup)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke test: batch 8, 1 timed step")
    parser.add_argument("--device", default="auto", help="auto (cuda if available, else cpu)")
    parser.add_argument("--batch-size", type=int, default=None, help="clean images (128)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps (30)")
    parser.add_argument("--arch", default="wrn40_2")
    args = parser.parse_args()
    device = resolve_device(args.device)
    batch = args.batch_size or (8 if args.quick else 128)
    steps = args.steps or (1 if args.quick else 30)
    warmup = 1 if args.quick else 10
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        print(f"device: {torch.cuda.get_device_name(device)}")
    else:
        print(f"device: cpu ({torch.get_num_threads()} threads)")
    print(f"{args.arch}, Dynamic Mixup + JSD, batch {batch} clean (x3 per forward), "
          f"median of {steps} steps\n")
    header = (f"{'precision':<10}{'augment ms':>12}{'model ms':>10}{'step ms':>10}"
              f"{'img/s':>9}{'aug share':>11}{'step/model':>12}")
    print(header)
    print("-" * len(header))
    for amp in ([False, True] if device.type == "cuda" else [False]):
        r = bench(device, batch, steps, warmup, amp, args.arch)
        share = r["augment"] / r["step"]
        print(f"{'bf16 amp' if amp else 'fp32':<10}{r['augment']:>12.2f}{r['model']:>10.2f}"
              f"{r['step']:>10.2f}{batch / r['step'] * 1e3:>9.0f}{share:>10.1%}"
              f"{r['step'] / r['model']:>12.2f}")
    print("\ntarget on a GPU: augmentation share under 10 % of the step (issue 15)")


if __name__ == "__main__":
    main()
