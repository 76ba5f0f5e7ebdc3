"""``robust-eval list`` and the shell completion of the names it lists."""

from __future__ import annotations

import click


@click.command("list")
@click.argument("what", type=click.Choice(
    ["suites", "corruptions", "perturbations", "baselines", "methods", "models"]))
@click.argument("pattern", required=False)
def list_(what: str, pattern: str | None) -> None:
    """List what exists: suites, corruptions, perturbations, baselines, methods or models;
    PATTERN keeps the names it matches (shell-style wildcards, e.g. 'res*')."""
    import fnmatch

    for name, description in listing(what):
        if pattern is None or fnmatch.fnmatch(name, pattern):
            click.echo(f"{name:<28} {description}")


def listing(what: str) -> list[tuple[str, str]]:
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


def completer(*what: str, comma: bool = False):
    """A ``shell_complete`` callback offering the names ``list WHAT`` prints (for a
    comma-separated value, the names that can follow its last comma)."""

    def complete(ctx, param, incomplete: str):
        from click.shell_completion import CompletionItem

        head, sep, last = incomplete.rpartition(",") if comma else ("", "", incomplete)
        return [CompletionItem(f"{head}{sep}{name}", help=description)
                for kind in what for name, description in listing(kind)
                if name.startswith(last)]

    return complete


SUITES = completer("suites")
CELL_NAMES = completer("corruptions", "perturbations", comma=True)
ARCHS = completer("models")
