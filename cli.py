"""The ``robust-eval`` command line: parses, calls the library, prints. No logic of its own."""

from __future__ import annotations

import contextlib
import sys

import click

from robustbench_dm import __version__
from robustbench_dm.errors import UserError, respell


# click >= 8.2 raises this for a command run without its arguments; it shows the help
_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


def _flag(param: click.Parameter, value: str | None) -> str | None:
    """How the command line writes a mention of the library parameter ``param`` stands for
    (``value``: the text after ``name=``, None for the bare name): its flag, ``FLAG VALUE``, the
    flag that sets a boolean (``--no-X`` for False), or an argument's metavar."""
    if isinstance(param, click.Argument):
        return param.human_readable_name if value is None else value
    if not isinstance(param, click.Option):
        return None
    flag = max(param.opts, key=len)
    if not param.is_flag:
        return flag if value is None else f"{flag} {value}"
    if value in (None, "True"):
        return flag
    return max(param.secondary_opts, key=len) if value == "False" and param.secondary_opts else None


def _as_flags(text: str, params=None, command: click.Command | None = None) -> str:
    """``text`` (a ``UserError``'s message, a ``Note``) with the library parameters it names
    (``params``, default ``text.params``) written as the flags of ``command`` (default: the
    running one) whose Python name they are (:func:`robustbench_dm.errors.respell`)."""
    command = command or click.get_current_context().command
    by_name = {param.name: param for param in command.params}
    params = getattr(text, "params", ()) if params is None else params
    return respell(str(text), params, lambda name, value: _flag(by_name[name], value)
                   if name in by_name else None)


class _Group(click.Group):
    """Click group that turns ``UserError`` and click's own usage errors (a bad choice, a
    missing option, an --out that is a file) into one ``error: ...`` line and exit status 2;
    the parameters a ``UserError`` names are written as the command's flags."""

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except _NO_ARGS_IS_HELP as err:  # bare `robust-eval` or `robust-eval score`: the help
            err.show()
            sys.exit(2)
        except click.ClickException as err:
            click.echo(f"error: {err.format_message()}", err=True)
            sys.exit(2)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UserError as err:
            command = self.get_command(ctx, ctx.invoked_subcommand) if ctx.invoked_subcommand else self
            click.echo(f"error: {_as_flags(str(err), err.params, command)}", err=True)
            sys.exit(2)


_DEVICE_HELP = "auto (CUDA when available, else the CPU), cpu, cuda or cuda:N."


def _device(device: str) -> str:
    """``--device`` resolved (:func:`robustbench_dm.devices.resolve_device`), said once."""
    from robustbench_dm.devices import resolve_device
    from robustbench_dm.distributed import is_main

    resolved = str(resolve_device(device))
    if is_main():
        click.echo(f"device: {resolved}")
    return resolved


@contextlib.contextmanager
def _output_folder(path: str):
    """Check that ``--out`` can be written before any work; hold its lock while writing."""
    from robustbench_dm.outdir import check_writable, lock_folder

    with lock_folder(check_writable(path, what="--out")):
        yield


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="robust-eval")
def main() -> None:
    """Score image classifiers on corruption suites, train robust models, write reports."""


# -- command: list --
@main.command("list")
@click.argument("what", type=click.Choice(
    ["suites", "corruptions", "perturbations", "baselines", "methods", "models"]))
@click.argument("pattern", required=False)
def list_(what: str, pattern: str | None) -> None:
    """List what exists: suites, corruptions, perturbations, baselines, methods or models;
    PATTERN keeps the names it matches (shell-style wildcards, e.g. 'res*')."""
    import fnmatch

    for name, description in _listing(what):
        if pattern is None or fnmatch.fnmatch(name, pattern):
            click.echo(f"{name:<28} {description}")


def _listing(what: str) -> list[tuple[str, str]]:
    if what == "suites":
        from robustbench_dm.suites import list_suites
        from robustbench_dm.suites.families import family_label
        return [(name, f"{family_label(name)} {desc}") for name, desc in list_suites()]
    if what in ("corruptions", "perturbations"):
        import corruptions
        from corruptions.descriptions import CORRUPTION_DESCRIPTIONS, PERTURBATION_DESCRIPTIONS
        if what == "corruptions":
            return [(n, CORRUPTION_DESCRIPTIONS[n]) for n in corruptions.CORRUPTIONS + corruptions.EXTRA]
        return [(n, PERTURBATION_DESCRIPTIONS[n]) for n in corruptions.PERTURBATIONS]
    if what == "baselines":
        from robustbench_dm.metrics import list_baselines
        return list_baselines()
    if what == "methods":
        from robustbench_dm.methods import list_methods
        return [(name, f"{description} [{source}]") for name, description, source in list_methods()]
    from robustbench_dm.models import list_models
    return list_models()


def _complete(*what: str, comma: bool = False):
    """A ``shell_complete`` callback offering the names ``list WHAT`` prints (for a
    comma-separated value, the names that can follow its last comma)."""

    def complete(ctx, param, incomplete: str):
        from click.shell_completion import CompletionItem

        head, sep, last = incomplete.rpartition(",") if comma else ("", "", incomplete)
        return [CompletionItem(f"{head}{sep}{name}", help=description)
                for kind in what for name, description in _listing(kind)
                if name.startswith(last)]

    return complete


_SUITES = _complete("suites")
_CELL_NAMES = _complete("corruptions", "perturbations", comma=True)
_ARCHS = _complete("models")


@main.command()
@click.argument("checkpoint", type=click.Path(dir_okay=False), required=False)
@click.option("--suite", "suite_name", required=True, shell_complete=_SUITES,
              help="Suite name (see `robust-eval list suites`).")
@click.option("--data-root", type=click.Path(), default=None, help="Folder holding the suite.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder: results.h5 and summary.json (re-running resumes).")
@click.option("--batch-size", type=int, default=256, show_default=True)
@click.option("--device", default="auto", show_default=True, help=_DEVICE_HELP)
@click.option("--workers", type=int, default=1, show_default=True,
              help="Batches read ahead in a background thread (0: none).")
@click.option("--limit", type=int, default=None, help="Score only the first N images per cell.")
@click.option("--corruptions", default=None, shell_complete=_CELL_NAMES,
              help="Comma-separated corruption/perturbation names.")
@click.option("--severities", default=None, help="Comma-separated severities (difficulties for -P).")
@click.option("--arch", default=None, shell_complete=_ARCHS,
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
@click.option("--clean-root", type=click.Path(), default=None, help="Clean test set (adds the clean cell).")
@click.option("--seed", type=int, default=None, help="Seed of generated suites.")
@click.option("--generate", is_flag=True,
              help="Make the corrupted images on the fly from --clean-root with the toolkit's "
                   "corruption library instead of reading the released files (cifar10-c, "
                   "cifar100-c, imagenet-c, tinyimagenet-c, imagenet-p; the images make-suite "
                   "writes); generated on --device. imagenet-3dcc is released-files only.")
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
@click.option("--channels-last/--no-channels-last", default=None,
              help="channels_last memory format (default: on with CUDA, off on the CPU).")
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
    device = _device(device)
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
                  log=lambda note: click.echo(_as_flags(note), err=True) if is_main() else None,
                  **extra)
    if not is_main():
        return
    if ev.summary is None:
        part = ev.results.attrs["shard"]
        click.echo(f"wrote shard {part['index']}/{part['count']} ({len(ev.results.cells())} "
                   f"cells) to {ev.results.path}; combine all {part['count']} parts with "
                   "robust-eval merge")
        return
    click.echo(_as_flags(format_summary(ev.summary)))
    click.echo(f"wrote {ev.results.path} and {ev.results.path.parent / 'summary.json'}")


@main.command("merge")
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

    with _output_folder(out_dir):
        results = merge(list(parts), out_dir, baseline=baseline)
    summary_path = Path(out_dir) / "summary.json"
    click.echo(_as_flags(format_summary(json.loads(summary_path.read_text()))))
    click.echo(f"merged {len(parts)} parts ({len(results.cells())} cells) into {results.path} "
               f"and {summary_path}")


@main.command("download")
@click.argument("suites", nargs=-1, required=True, shell_complete=_SUITES)
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


@main.command("make-suite")
@click.argument("suite", shell_complete=_SUITES)
@click.option("--from", "source", required=True,
              help="clean dataset: cifar10, cifar100, fashion-mnist, imagenet (a val folder) or "
                   "tinyimagenet (64 px images in <wnid>/ folders)")
@click.option("--data-root", required=True, type=click.Path(), help="folder holding the clean dataset")
@click.option("--out", required=True, type=click.Path(), help="folder to write the suite into")
@click.option("--format", "fmt", type=click.Choice(["npy", "folder", "h5"]), default=None,
              help="npy (CIFAR-C/-P style, default for 32 px), folder (ImageNet-C style JPEG q85) "
                   "or h5 (the npy arrays in one OUT/suite.h5; read back with --data-root OUT/suite.h5)")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--corruptions", default=None, shell_complete=_CELL_NAMES,
              help="comma-separated corruption/perturbation names")
@click.option("--severities", default=None, help="comma-separated severities (difficulties for -P)")
@click.option("--limit", type=int, default=None, help="first N clean images only")
@click.option("--batch-size", type=int, default=256, show_default=True)
@click.option("--device", default="auto", show_default=True, help=_DEVICE_HELP)
def make_suite_command(suite, source, data_root, out, fmt, seed, corruptions, severities, limit,
                       batch_size, device):
    """Write SUITE (cifar10-c, fmnist-c, imagenet-c, fmnist-p, ...) made from a clean dataset."""
    from robustbench_dm.suites.make_suite import make_suite

    with _output_folder(out):
        device = _device(device)
        done = make_suite(suite, source, data_root, out, fmt=fmt, seed=seed,
                          corruptions=corruptions, severities=severities, limit=limit,
                          batch_size=batch_size, device=device)
    click.echo(f"{suite} in {out}: {len(done['written'])} written, "
               f"{len(done['skipped'])} already complete")


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


@main.command("train")
@click.option("--method", required=True, shell_complete=_complete("methods"),
              help="Method name (see `list methods`) or module:Class.")
@click.option("--arch", required=True, shell_complete=_ARCHS, help="Architecture (see `list models`), e.g. wrn40_2.")
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
@click.option("--device", default="auto", show_default=True, help=_DEVICE_HELP)
@click.option("--amp/--no-amp", default=None,
              help="bfloat16 autocast (CUDA only; default: on with CUDA).")
@click.option("--channels-last/--no-channels-last", default=None,
              help="channels_last memory format (default: on with CUDA, off on the CPU).")
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

    with _output_folder(out):
        _device(config.device)
        result = train(config, resume=resume, on_epoch=report, save_format=save_format)
    if is_main():
        click.echo(f"checkpoint: {result['checkpoint']}")
        if "model" in result:
            click.echo(f"model: {result['model']}")


@main.command("report")
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
    with _output_folder(out):
        doc = write_report(list(results), out, names=labels, baseline=baseline,
                           reference=reference, n_boot=n_boot, seed=seed)
    for line in doc.warnings:
        click.echo(f"warning: {line}", err=True)
    for line in doc.summary:
        click.echo(line)
    click.echo(f"wrote {display_text(out)}/report.html, report.md, cells.csv, tables.tex, "
               f"report.json and {len(doc.plots)} plots")


# -- command: demo --
@main.command()
@click.option("--data-root", type=click.Path(), default=None,
              help="Folder with the Fashion-MNIST idx files (default: the Debian package's "
                   "/usr/share/datasets/fashion-mnist, else torchvision's FashionMNIST/raw).")
@click.option("--out", default="runs/demo", show_default=True, type=click.Path(file_okay=False),
              help="Output folder; re-running resumes and reuses finished work.")
@click.option("--epochs", type=int, default=2, show_default=True, help="Training epochs per method.")
@click.option("--device", default="auto", show_default=True, help=_DEVICE_HELP)
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
    with _output_folder(out):
        click.echo(f"Fashion-MNIST: {root}")
        device = _device(device)
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


if __name__ == "__main__":
    main()
