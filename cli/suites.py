"""``robust-eval download`` and ``make-suite``: get the released suites or write your own."""

from __future__ import annotations

import sys

import click

from cli._shared import device_option, output_folder, use_device
from cli.listing import CELL_NAMES, SUITES


@click.command("download")
@click.argument("suites", nargs=-1, required=True, shell_complete=SUITES)
@click.option("--to", "to", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Folder to download into; each suite lands in TO/<its folder>.")
@click.option("--mirror", default=None, metavar="URL",
              help="Replace the scheme and host of every URL (an institutional mirror).")
@click.option("--manifest", default=None, type=click.Path(dir_okay=False), metavar="FILE",
              help="Use this manifest instead of the packaged ones (mirrors with other files, tests).")
@click.option("--dry-run", is_flag=True, help="Only list the files, their sizes and the total.")
@click.option("--keep-archives", is_flag=True, help="Keep verified archives in TO/.downloads.")
def download_command(suites, to, mirror, manifest, dry_run, keep_archives) -> None:
    """Download released SUITES (cifar10-c, imagenet-c, ..., cifar10, fashion-mnist): resumable,
    checked against published checksums, safely extracted."""
    from robustbench_dm.download import download
    from robustbench_dm.download.progress import human_bytes

    report = download(list(suites), to, mirror=mirror, manifest=manifest, dry_run=dry_run,
                      keep_archives=keep_archives, progress=sys.stderr)
    for suite in report.suites:
        for f in suite.files:
            size = human_bytes(f.size) if f.size is not None or f.approx_size is None \
                else f"~{human_bytes(f.approx_size)}"
            line = f"{suite.name:<15} {f.name:<28} {size:>12}  {f.status}"
            click.echo(line + (f"  {f.url}" if dry_run else ""))
    if dry_run:
        unknown = f" (+ {report.unknown_sizes} files of unknown size)" if report.unknown_sizes else ""
        approx = "~" if report.approx_total_bytes != report.total_bytes else ""
        click.echo(f"total {approx}{human_bytes(report.approx_total_bytes)}{unknown}")
        return
    for suite in report.suites:
        click.echo(f"{suite.name}: {suite.status} in {suite.folder} "
                   f"(score with --suite {suite.name} --data-root {suite.folder})")


@click.command("make-suite")
@click.argument("suite", shell_complete=SUITES)
@click.option("--from", "source", required=True,
              help="clean dataset: cifar10, cifar100, fashion-mnist, imagenet (a val folder) or "
                   "tinyimagenet (64 px images in <wnid>/ folders)")
@click.option("--data-root", required=True, type=click.Path(), help="folder holding the clean dataset")
@click.option("--out", required=True, type=click.Path(), help="folder to write the suite into")
@click.option("--format", "fmt", type=click.Choice(["npy", "folder", "h5"]), default=None,
              help="npy (CIFAR-C/-P style, default for 32 px), folder (ImageNet-C style JPEG q85; "
                   "imagenet-p: ImageNet-P style x264 mp4 videos) or h5 (the npy arrays in one "
                   "OUT/suite.h5; read back with --data-root OUT/suite.h5)")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--corruptions", default=None, shell_complete=CELL_NAMES,
              help="comma-separated corruption/perturbation names")
@click.option("--severities", default=None, help="comma-separated severities (difficulties for -P)")
@click.option("--limit", type=int, default=None, help="first N clean images only")
@click.option("--batch-size", type=int, default=256, show_default=True)
@click.option("--resolution", type=int, default=None,
              help="imagenet-c at R px: the suite imagenet-c-<R>px that score --generate --resolution R "
                   "scores (docs/resolution.md)")
@device_option
def make_suite_command(suite, source, data_root, out, fmt, seed, corruptions, severities, limit,
                       batch_size, resolution, device):
    """Write SUITE (cifar10-c, fmnist-c, imagenet-c, imagenet-p, fmnist-p, ...) made from a clean dataset."""
    from robustbench_dm.suites.make_suite import make_suite

    with output_folder(out):
        device = use_device(device)
        done = make_suite(suite, source, data_root, out, fmt=fmt, seed=seed,
                          corruptions=corruptions, severities=severities, limit=limit,
                          batch_size=batch_size, device=device, resolution=resolution)
    click.echo(f"{done['suite']} in {out}: {len(done['written'])} written, "
               f"{len(done['skipped'])} already complete")
