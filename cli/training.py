"""``robust-eval train``: train an architecture with a method (the paper recipe unless
overridden)."""

from __future__ import annotations

import click

from cli._shared import channels_last_option, device_option, output_folder, use_device
from cli.listing import ARCHS, completer
from robustbench_dm.errors import UserError


#: Flags of ``train`` kept as aliases of method options (the ablations of Dynamic Mixup, whose
#: options they are; AugMix has ``jsd`` too): flag -> (option, value).
_OPTION_ALIASES = {"no_jsd": ("jsd", "false"), "linear_only": ("linear_only", "true"),
                   "single_sample_jsd": ("single_sample_jsd", "true")}


def _method_options(pairs: tuple[str, ...], flags: dict[str, bool]) -> dict[str, str]:
    """``--option KEY=VALUE`` pairs plus the alias flags that are set (:data:`_OPTION_ALIASES`);
    the method converts the values and rejects options it does not have."""
    from robustbench_dm.options import parse_key_values

    options = parse_key_values(pairs, what="method option")
    for flag in (flag for flag, on in flags.items() if on):
        key, value = _OPTION_ALIASES[flag]
        if key in options:
            raise UserError(f"--{flag.replace('_', '-')} and --option {key}=... both set {key}")
        options[key] = value
    return options


@click.command("train")
@click.option("--method", required=True, shell_complete=completer("methods"),
              help="Method name (see `list methods`) or module:Class.")
@click.option("--arch", required=True, shell_complete=ARCHS, help="Architecture (see `list models`), e.g. wrn40_2.")
@click.option("--dataset", required=True, help="cifar10 | cifar100 | fashion-mnist | imagenet.")
@click.option("--data-root", required=True, type=click.Path(file_okay=False),
              help="Folder with the training set (CIFAR pickles, idx files, or train/ + val/).")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Run folder: last.pt, log.csv, config.json.")
@click.option("--epochs", type=int, help="Default: the paper recipe for the dataset and arch.")
@click.option("--batch-size", type=int, help="Clean images per step (128 CIFAR, 256 ImageNet).")
@click.option("--lr", type=float, help="Peak learning rate (0.1; ImageNet 0.1 x batch/256).")
@click.option("--weight-decay", type=float,
              help="5e-4; 1e-4 for Mixup, CutMix, DenseNets and ImageNet.")
@click.option("--seed", type=int, default=1, show_default=True)
@device_option
@click.option("--amp/--no-amp", default=None,
              help="bfloat16 autocast (CUDA only; default: on with CUDA).")
@channels_last_option
@click.option("--limit", type=int, help="Train on the first N training images only.")
@click.option("--workers", type=int, default=4, show_default=True,
              help="DataLoader workers decoding ImageNet images.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from last.pt.")
@click.option("--save-format", type=click.Choice(["pt", "safetensors"]), default="pt",
              show_default=True,
              help="safetensors: also write OUT/model.safetensors (the safe format to share).")
@click.option("--no-jsd", is_flag=True,
              help="Alias of --option jsd=false (Dynamic Mixup, AugMix: no Jensen-Shannon loss).")
@click.option("--linear-only", is_flag=True,
              help="Alias of --option linear_only=true (Dynamic Mixup: linear mixing only).")
@click.option("--single-sample-jsd", is_flag=True,
              help="Alias of --option single_sample_jsd=true (Dynamic Mixup: JS between the "
                   "original and one mixed image).")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Method option (repeatable), e.g. --option alpha=0.5.")
def train_command(method, arch, dataset, data_root, out, epochs, batch_size, lr, weight_decay,
                  seed, device, amp, channels_last, limit, workers, resume, save_format, no_jsd,
                  linear_only, single_sample_jsd, options) -> None:
    """Train ARCH with METHOD on DATASET (paper recipe unless overridden).

    Under `torchrun --nproc-per-node N` this trains with DistributedDataParallel (gloo on the
    CPU, NCCL on GPUs); --batch-size is the global batch (see docs/scale-out.md).
    """
    from robustbench_dm.distributed import is_main
    from robustbench_dm.training import resolve_config, train

    method_options = _method_options(options, {
        "no_jsd": no_jsd, "linear_only": linear_only, "single_sample_jsd": single_sample_jsd})
    config = resolve_config(method, arch, dataset, data_root, out, epochs=epochs,
                            batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                            seed=seed, device=device, amp=amp, limit=limit, workers=workers,
                            method_options=method_options, channels_last=channels_last)

    def report(row: dict) -> None:
        click.echo(f"epoch {row['epoch']}/{config.epochs}  lr {row['lr']:.4g}  "
                   f"loss {row['loss']:.4f}  train acc {row['train_acc']:.4f}  "
                   f"test acc {row['test_acc']:.4f}  {row['images_per_s']:.0f} img/s")

    with output_folder(out):
        use_device(config.device)
        result = train(config, resume=resume, on_epoch=report, save_format=save_format)
    if is_main():
        click.echo(f"checkpoint: {result['checkpoint']}")
        if "model" in result:
            click.echo(f"model: {result['model']}")
