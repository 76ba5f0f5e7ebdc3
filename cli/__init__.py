"""The ``robust-eval`` command line: parses, calls the library, prints. No logic of its own.

``_group`` holds the root group (errors as one line, library parameters as flags), ``_shared``
the device and output-folder handling several commands share, and one module per command
group: ``listing`` (list, shell completion), ``scoring`` (score, merge), ``suites`` (download,
make-suite), ``training`` (train), ``reporting`` (report, demo).
"""

from __future__ import annotations

from cli._group import main
from cli.listing import list_
from cli.reporting import demo, report
from cli.scoring import merge_command, score
from cli.suites import download_command, make_suite_command
from cli.training import train_command

for _command in (list_, score, merge_command, download_command, make_suite_command,
                 train_command, report, demo):
    main.add_command(_command)

__all__ = ["main"]
