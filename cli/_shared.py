"""What several commands share: the device they run on and the output folder they write."""

from __future__ import annotations

import contextlib

import click


#: ``--device`` of every command that computes.
device_option = click.option("--device", default="auto", show_default=True,
                             help="auto (CUDA when available, else the CPU), cpu, cuda or cuda:N.")
#: ``--channels-last/--no-channels-last`` of score and train.
channels_last_option = click.option(
    "--channels-last/--no-channels-last", default=None,
    help="channels_last memory format (default: on with CUDA, off on the CPU).")


def use_device(device: str) -> str:
    """``--device`` resolved (:func:`robustbench_dm.devices.resolve_device`), said once."""
    from robustbench_dm.devices import resolve_device
    from robustbench_dm.distributed import is_main

    resolved = str(resolve_device(device))
    if is_main():
        click.echo(f"device: {resolved}")
    return resolved


@contextlib.contextmanager
def output_folder(path: str):
    """Check that ``--out`` can be written before any work; hold its lock while writing."""
    from robustbench_dm.outdir import check_writable, lock_folder

    with lock_folder(check_writable(path, what="--out")):
        yield
