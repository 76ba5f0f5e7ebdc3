"""The root group of ``robust-eval``: one ``error: ...`` line and exit status 2 for a
``UserError`` or a usage error, with the library parameters an error names written as the
running command's flags (click's own options know both spellings)."""

from __future__ import annotations

import sys
from typing import Iterable

import click

from robustbench_dm import __version__
from robustbench_dm.errors import UserError, respell


# click >= 8.2 raises this for a command run without its arguments; it shows the help
_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


def flag_for(param: click.Parameter, value: str | None) -> str | None:
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


def as_flags(text: str, params: Iterable[str] | None = None,
             command: click.Command | None = None) -> str:
    """``text`` (a ``UserError``'s message, a ``Note``) with the library parameters it names
    (``params``, default ``text.params``) written as the flags of ``command`` (default: the
    running one) whose Python name they are (:func:`robustbench_dm.errors.respell`)."""
    command = command or click.get_current_context().command
    by_name = {param.name: param for param in command.params}
    params = getattr(text, "params", ()) if params is None else params
    return respell(str(text), params, lambda name, value: flag_for(by_name[name], value)
                   if name in by_name else None)


class Group(click.Group):
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
            click.echo(f"error: {as_flags(str(err), err.params, command)}", err=True)
            sys.exit(2)


@click.group(cls=Group)
@click.version_option(__version__, prog_name="robust-eval")
def main() -> None:
    """Score image classifiers on corruption suites, train robust models, write reports."""
