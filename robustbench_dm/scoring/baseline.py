"""The one rule for a baseline results file (``score(baseline=...)`` and ``report --baseline``):
it normalises only results of its own suite."""

from __future__ import annotations

import os
from collections.abc import Iterable

from robustbench_dm.errors import UserError


def check_baseline_suite(path: str | os.PathLike, baseline_suite: str,
                         suites: Iterable[str]) -> None:
    """Raise ``UserError`` unless ``baseline_suite`` (the suite of the baseline results file at
    ``path``) is one of ``suites``, the suites of the results it is to normalise."""
    suites = list(dict.fromkeys(suites))
    if baseline_suite not in suites:
        raise UserError(f"baseline {path} holds {baseline_suite} results, but no input holds "
                        f"{baseline_suite} results (inputs: {', '.join(suites)}); a baseline "
                        "normalises only results of its own suite")
