"""Images/s of one training step (augment + forward + backward + SGD step) per method for the
small CNN, so the cost of the JSD methods (3 images per clean image in one forward) is visible.
The reference is the ``standard`` method's step, measured in the same run.

    python bench/train_step.py [--device cpu] [--threads 1] [--batch 128] [--seconds 2]
"""

from __future__ import annotations

import argparse

import torch
from augment import _device, _rate

from robustbench_dm.methods import create_method
from robustbench_dm.models import NORMALIZATIONS, create_model

METHODS = ("standard", "mixup", "cutmix", "autoaugment_star", "random_autoaugment_star",
           "augmix", "dynmix")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    device, sync = _device(args)
    g = torch.Generator(device).manual_seed(0)
    images = torch.randint(0, 256, (args.batch, 3, 32, 32), dtype=torch.uint8, generator=g,
                           device=device)
    labels = torch.randint(0, 10, (args.batch,), generator=g, device=device)
    print(f"small_cnn, batch {args.batch} clean 32 px images, device {device}, "
          f"{args.threads} thread(s)")
    print(f"{'method':<26} {'images/s':>10} {'augment share':>14} {'vs standard':>12}")
    rates = {}
    for name in METHODS:
        model = create_model("small_cnn", 10, normalization=NORMALIZATIONS["cifar"]).to(device)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        method = create_method(name)

        def step():
            out = method.loss(model, images, labels, g)
            optimizer.zero_grad(set_to_none=True)
            out.loss.backward()
            optimizer.step()
            sync()

        def augment():
            method.augment(images, labels, g)
            sync()

        rate = _rate(step, args.batch, args.seconds)
        aug_rate = _rate(augment, args.batch, args.seconds / 2)
        rates[name] = rate
        print(f"{name:<26} {rate:>10,.0f} {rate / aug_rate:>13.0%} "
              f"{rate / rates['standard']:>11.2f}x")


if __name__ == "__main__":
    main()
