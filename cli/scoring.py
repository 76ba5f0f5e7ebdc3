"""``robust-eval score`` and ``merge``: score a model on a suite, combine sharded runs."""

from __future__ import annotations

import click

from cli._group import as_flags
from cli._shared import channels_last_option, device_option, output_folder, use_device
from cli.listing import ARCHS, CELL_NAMES, SUITES


@click.command()
@click.argument("checkpoint", type=click.Path(dir_okay=False), required=False)
@click.option("--suite", "suite_name", required=True, shell_complete=SUITES,
              help="Suite name (see `robust-eval list suites`).")
@click.option("--data-root", type=click.Path(), default=None, help="Folder holding the suite.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder: results.h5 and summary.json (re-running resumes).")
@click.option("--batch-size", type=int, default=256, show_default=True)
@device_option
@click.option("--workers", type=int, default=1, show_default=True,
              help="Batches read ahead in a background thread (0: none).")
@click.option("--limit", type=int, default=None, help="Score only the first N images per cell.")
@click.option("--corruptions", default=None, shell_complete=CELL_NAMES,
              help="Comma-separated corruption/perturbation names.")
@click.option("--severities", default=None, help="Comma-separated severities (difficulties for -P).")
@click.option("--arch", default=None, shell_complete=ARCHS,
              help="Architecture of a bare state dict: a toolkit model (see `list models`), "
                   "torchvision:NAME or timm:NAME.")
@click.option("--weights", default=None, metavar="FILE|NAME",
              help="Instead of CHECKPOINT: a state-dict file (.pt, .pth, .safetensors) or "
                   "torchvision weights such as ResNet50_Weights.IMAGENET1K_V2 (from $TORCH_HOME).")
@click.option("--download-weights", is_flag=True,
              help="Let --weights NAME download torchvision weights missing from $TORCH_HOME.")
@click.option("--normalize", "normalization", type=click.Choice(["imagenet", "cifar", "none"]), default=None,
              help="Input normalisation (required for bare state dicts; overrides a checkpoint's).")
@click.option("--unsafe-pickle", is_flag=True, help="Allow full pickles (they can run code).")
@click.option("--baseline", type=click.Path(dir_okay=False), default=None,
              help="Results file of a reference model to normalise CE/mCE or FR/T5D by.")
@click.option("--clean-root", type=click.Path(), default=None,
              help="Clean test set: adds the clean cell, or with --generate the set the suite is made from.")
@click.option("--seed", type=int, default=None, help="Seed of generated suites.")
@click.option("--generate", is_flag=True,
              help="Make the corrupted images on the fly from --clean-root with the toolkit's "
                   "corruption library instead of reading the released files (cifar10-c, "
                   "cifar100-c, cifar10-p, cifar100-p, imagenet-c, tinyimagenet-c, imagenet-p; the "
                   "images make-suite writes; fmnist-c and fmnist-p are always made on the fly); generated "
                   "on --device. imagenet-3dcc is released-files only.")
@click.option("--resolution", type=int, default=None,
              help="With --generate, imagenet-c at R px: Resize(R*256/224) + CenterCrop(R), "
                   "spatial corruption parameters scaled by R/224 (docs/resolution.md); "
                   "labelled 'ImageNet-C at R px (generated)'.")
@click.option("--fast-jpeg", is_flag=True,
              help="With --generate, encode the final JPEG q85 save on --device (nvJPEG on "
                   "CUDA): faster, other bytes than the release; recorded in the results.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Extra suite option, e.g. difficulty=2 or generate=true (repeatable).")
@click.option("--shard", default=None, metavar="I/N",
              help="Score only shard I of N (1-based) of the cells into a partial results file; "
                   "combine the N parts with `robust-eval merge`.")
@click.option("--bf16/--no-bf16", default=None,
              help="bfloat16 autocast (default: on with CUDA, off on the CPU).")
@channels_last_option
@click.option("--gpu-decode/--no-gpu-decode", default=None,
              help="Decode JPEG folder suites with nvJPEG on the GPU (default: on with CUDA "
                   "where the suite allows it).")
@click.option("--allow-mismatch", is_flag=True,
              help="Score a checkpoint whose recorded dataset, classes, input size or "
                   "normalisation differ from the suite's dataset family (recorded as a "
                   "mismatch in the results).")
def score(checkpoint, suite_name, data_root, out_dir, batch_size, device, workers, limit,
          corruptions, severities, arch, weights, download_weights, normalization, unsafe_pickle,
          baseline, clean_root, seed,
          generate, resolution, fast_jpeg, options, shard, bf16, channels_last, gpu_decode,
          allow_mismatch) -> None:
    """Score CHECKPOINT (or --weights) on a corruption suite; writes OUT/results.h5 and
    OUT/summary.json. Checkpoints may be .safetensors (the safe format), .pt/.pth, exported
    programs (.pt2) or TorchScript.

    Under `torchrun --nproc-per-node N` each cell is split across the N processes and rank 0
    writes the one results file (see docs/scale-out.md).
    """
    from robustbench_dm.distributed import is_main
    from robustbench_dm.evaluation import evaluate
    from robustbench_dm.options import parse_key_values
    from robustbench_dm.outdir import check_writable
    from robustbench_dm.scoring import format_summary

    check_writable(out_dir, what="--out")
    device = use_device(device)
    extra = parse_key_values(options, what="--option", typed=True)
    clean_root = extra.pop("clean_root", None) if clean_root is None else clean_root
    seed = extra.pop("seed", None) if seed is None else seed
    if generate:
        extra["generate"] = True
    if resolution is not None:
        extra["resolution"] = resolution
    if fast_jpeg:
        extra["fast_jpeg"] = True
    ev = evaluate(checkpoint, suite_name, data_root=data_root, clean_root=clean_root,
                  limit=limit, corruptions=corruptions, severities=severities, device=device,
                  batch_size=batch_size, baseline=baseline, normalization=normalization,
                  out=out_dir, arch=arch, unsafe_pickle=unsafe_pickle,
                  allow_mismatch=allow_mismatch, seed=seed, weights=weights,
                  download_weights=download_weights, workers=workers, shard=shard, bf16=bf16,
                  channels_last=channels_last, gpu_decode=gpu_decode,
                  log=lambda note: click.echo(as_flags(note), err=True) if is_main() else None,
                  **extra)
    if not is_main():
        return
    if ev.summary is None:
        part = ev.results.attrs["shard"]
        click.echo(f"wrote shard {part['index']}/{part['count']} ({len(ev.results.cells())} "
                   f"cells) to {ev.results.path}; combine all {part['count']} parts with "
                   "robust-eval merge")
        return
    click.echo(as_flags(format_summary(ev.summary, ev.results.attrs.get("metadata"))))
    click.echo(f"wrote {ev.results.path} and {ev.results.path.parent / 'summary.json'}")


@click.command("merge")
@click.argument("parts", nargs=-1, required=True, type=click.Path())
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder: results.h5 and summary.json of the whole suite.")
@click.option("--baseline", type=click.Path(dir_okay=False), default=None,
              help="Results file of a reference model to normalise CE/mCE or FR/T5D by.")
def merge_command(parts, out_dir, baseline) -> None:
    """Merge the partial results of `score --shard I/N` runs (files or their OUT folders)."""
    import json
    from pathlib import Path

    from robustbench_dm.scoring import format_summary, merge

    with output_folder(out_dir):
        results = merge(list(parts), out_dir, baseline=baseline)
    summary_path = Path(out_dir) / "summary.json"
    click.echo(as_flags(format_summary(json.loads(summary_path.read_text()), results.attrs.get("metadata"))))
    click.echo(f"merged {len(parts)} parts ({len(results.cells())} cells) into {results.path} "
               f"and {summary_path}")
