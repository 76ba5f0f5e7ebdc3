"""``robust-eval report`` and ``demo``: compare results files; the whole pipeline on
Fashion-MNIST."""

from __future__ import annotations

import click

from cli._shared import device_option, output_folder, use_device
from robustbench_dm.errors import UserError


@click.command("report")
@click.argument("results", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="Folder for report.html, report.md + PNGs, cells.csv, tables.tex, report.json.")
@click.option("--name", "names", multiple=True, metavar="LABEL=RESULTS",
              help="Label for a results file (repeatable); the file is added if not listed.")
@click.option("--baseline", type=click.Path(dir_okay=False), default=None,
              help="Results file of the model that normalises CE / FR (same suite).")
@click.option("--reference", type=click.Choice(["auto", "dynmix-paper", "augmix-paper", "none"]),
              default="auto", show_default=True,
              help="Published reference rows to show (auto: the paper that measured the suite); "
                   "shown only beside results of that whole suite.")
@click.option("--bootstrap", "n_boot", type=int, default=1000, show_default=True,
              help="Bootstrap replicates for the 95% intervals.")
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed.")
def report(results, out, names, baseline, reference, n_boot, seed):
    """Compare results files: tables, plots and bootstrap intervals in one report folder."""
    from reports.build import write_report
    from reports.display import display_text

    labels = {}
    for item in names:
        label, sep, path = item.partition("=")
        if not sep or not label or not path:
            raise UserError(f"--name {item!r}: expected LABEL=RESULTS")
        labels[path] = label
    with output_folder(out):
        doc = write_report(list(results), out, names=labels, baseline=baseline,
                           reference=reference, n_boot=n_boot, seed=seed)
    for line in doc.warnings:
        click.echo(f"warning: {line}", err=True)
    for line in doc.summary:
        click.echo(line)
    click.echo(f"wrote {display_text(out)}/report.html, report.md, cells.csv, tables.tex, "
               f"report.json and {len(doc.plots)} plots")


@click.command()
@click.option("--data-root", type=click.Path(), default=None,
              help="Folder with the Fashion-MNIST idx files (default: the Debian package's "
                   "/usr/share/datasets/fashion-mnist, else torchvision's FashionMNIST/raw).")
@click.option("--out", default="runs/demo", show_default=True, type=click.Path(file_okay=False),
              help="Output folder; re-running resumes and reuses finished work.")
@click.option("--epochs", type=int, default=2, show_default=True, help="Training epochs per method.")
@device_option
@click.option("--quick", is_flag=True, help="Train Standard and Dynamic Mixup only (skip AugMix).")
@click.option("--train-limit", type=int, default=None,
              help="Train on the first N training images only.")
@click.option("--eval-limit", type=int, default=None,
              help="Score at most M images (videos for -P) per cell.")
@click.option("--limit", type=int, default=None,
              help="Both: --train-limit N and --eval-limit N (each wins where also given).")
@click.option("--score-limit", type=int, default=1000, show_default=True,
              help="Test images per Fashion-MNIST-C cell (10000 = the whole test set).")
@click.option("--p-limit", type=int, default=250, show_default=True,
              help="Test videos per Fashion-MNIST-P perturbation.")
def demo(data_root, out, epochs, device, quick, train_limit, eval_limit, limit, score_limit,
         p_limit) -> None:
    """Train a small CNN on Fashion-MNIST with Standard, Dynamic Mixup and AugMix, score each
    on generated Fashion-MNIST-C (15 corruptions x 5 severities, CIFAR-C severities at 32 px)
    and Fashion-MNIST-P, and write a comparison report.

    \b
    The same pipeline on your own data, step by step:
      robust-eval train --method dynmix --arch wrn40_2 --dataset cifar10 --data-root DIR --out runs/dynmix
      robust-eval score runs/dynmix/last.pt --suite cifar10-c --data-root CIFAR-10-C --out runs/dynmix/c
      robust-eval report runs/*/c/results.h5 --out report
    For ImageNet: --dataset imagenet --arch resnet50 and --suite imagenet-c / imagenet-p.
    """
    import time

    from reports import write_report
    from robustbench_dm.demo import demo_experiment, find_fashion_mnist
    from robustbench_dm.experiment import run_experiment

    started = time.perf_counter()
    root = find_fashion_mnist(data_root)
    with output_folder(out):
        click.echo(f"Fashion-MNIST: {root}")
        device = use_device(device)
        plan = demo_experiment(out, root, epochs=epochs, quick=quick,
                               train_limit=limit if train_limit is None else train_limit,
                               eval_limit=limit if eval_limit is None else eval_limit,
                               score_limit=score_limit, p_limit=p_limit, device=device)
        outcomes = run_experiment(plan, log=click.echo)
        files = {str(path): o.label for o in outcomes for path in o.results.values()}
        report_dir = f"{out}/report"
        click.echo(f"writing the comparison report to {report_dir}")
        doc = write_report(list(files), report_dir,
                           names={p: label for p, label in files.items()})
    click.echo("")
    for line in doc.summary:
        click.echo(line)
    click.echo(f"\nreport: {report_dir}/report.html (also report.md, cells.csv, tables.tex)")
    click.echo(f"total time: {time.perf_counter() - started:.0f} s")
