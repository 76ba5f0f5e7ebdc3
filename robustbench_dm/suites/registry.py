"""Name -> suite factory registry: ``register_suite``, ``get_suite``, ``list_suites``."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path

from corruptions._registry import Registry
from robustbench_dm.errors import UserError
from robustbench_dm.suites.base import Suite

SuiteFactory = Callable[..., Suite]

SUITES: Registry[SuiteFactory] = Registry("suite", error=UserError, group="robustbench_dm.suites")


def register_suite(name: str, description: str) -> Callable[[SuiteFactory], SuiteFactory]:
    """Decorator registering ``factory(data_root, *, limit, corruptions, severities, ...)``;
    other packages add suites through the entry-point group ``robustbench_dm.suites``."""
    return SUITES.register(name, description=description)


def list_suites(filter: str | None = None) -> list[tuple[str, str]]:
    """Every registered suite as ``(name, one-line description)``, sorted by name; ``filter``
    keeps the names matching an ``fnmatch`` pattern such as ``"cifar*"``."""
    return sorted(SUITES.items(filter))


def get_suite(
    name: str,
    data_root: str | Path | None = None,
    *,
    limit: int | None = None,
    corruptions=None,
    severities=None,
    **options,
) -> Suite:
    """Open suite ``name`` on ``data_root``; validates eagerly and raises ``UserError``.

    ``limit`` keeps the first N images of every cell; ``corruptions`` / ``severities`` select
    cells (for -P suites ``severities`` selects difficulties). Suite-specific ``options`` are
    listed in each factory's docstring (e.g. ``clean_root``, ``preprocessing``, ``seed``).
    """
    factory = SUITES.get(name)
    kwargs = dict(limit=limit, corruptions=corruptions, severities=severities, **options)
    try:
        inspect.signature(factory).bind(data_root, **kwargs)
    except TypeError:
        accepted = [
            p for p in inspect.signature(factory).parameters if p not in ("data_root",)
        ]
        bad = [k for k in options if k not in accepted]
        raise UserError(
            f"suite {name!r} does not take option(s) {', '.join(bad) or '?'}; "
            f"expected some of: {', '.join(accepted)}", params=(*bad, *accepted)
        ) from None
    _check_generate_source(data_root, options)
    if not options.get("generate"):  # a make-suite folder is read as the suite its suite.json names
        from robustbench_dm.suites.image_folder_c import folder_reader  # registers suites: imports this module

        factory = folder_reader(name, data_root) or factory
    try:
        return factory(data_root, **kwargs)
    except UserError as err:
        hint = None if options.get("generate") else _download_hint(name, data_root)
        if hint is None:
            raise
        raise UserError(f"{err}; {hint}", params=err.params) from None


def _check_generate_source(data_root, options) -> None:
    """A suite made on the fly reads one clean set: with ``generate=True``, a ``data_root``
    other than ``clean_root`` (released or written suite files) would be silently unused."""
    clean_root = options.get("clean_root")
    if not options.get("generate") or data_root is None or clean_root is None:
        return
    if Path(data_root).expanduser().resolve() != Path(clean_root).expanduser().resolve():
        raise UserError(f"data_root {data_root} is not read with generate=True, which makes the suite from "
                        f"clean_root {clean_root} only; drop data_root, or drop generate to score the files "
                        "in data_root", params=("data_root", "generate", "clean_root"))


def _download_hint(name: str, data_root) -> str | None:
    """How to download suite ``name`` when ``data_root`` is missing or empty, else None."""
    root = None if data_root is None else Path(data_root)
    if root is not None and (root.is_file() or (root.is_dir() and any(root.iterdir()))):
        return None
    from robustbench_dm.download import download_hint

    return download_hint(name, data_root)
