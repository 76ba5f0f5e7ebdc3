"""The ``robust-eval`` command line: parses, calls the library, prints. No logic of its own."""

from __future__ import annotations

import sys

import click

from robustbench_dm import __version__
from robustbench_dm.errors import UserError


class _Group(click.Group):
    """Click group that turns ``UserError`` into one clear line and exit status 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UserError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="robust-eval")
def main() -> None:
    """Score image classifiers on corruption suites, train robust models, write reports."""


# -- command: list --
# -- command: score --
# -- command: make-suite --
# -- command: train --
# -- command: report --
# -- command: demo --


if __name__ == "__main__":
    main()
