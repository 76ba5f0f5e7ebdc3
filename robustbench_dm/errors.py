"""The one exception type for failures a user can cause (bad paths, files, names, values), and
the rule by which its messages speak of parameters.

Library messages speak of the library's parameters by their Python names, never of a command
line's flags: ``pass allow_mismatch=True to score anyway``, ``weight_decay must be >= 0``. A
message lists the names it speaks of in ``params`` (:class:`UserError`, :class:`Note`); a front
end that offers those parameters under other names rewrites each mention with :func:`respell`
(the ``robust-eval`` command line turns ``allow_mismatch=True`` into ``--allow-mismatch``).

A mention is the name as a whole word, alone (``drop arch``) or as ``name=VALUE`` (``arch=NAME``,
``shard='2-8'``: VALUE runs to the next space, comma, semicolon or closing bracket); a name in
quotes (a dict key), in a path or inside a longer word is not a mention. So a message that lists
a name in ``params`` uses that word for the parameter only (``a checkpoint of architecture
'wrn40_2', but arch='resnet18' was given``, not ``of arch 'wrn40_2'``).
"""

from __future__ import annotations

import re
from typing import Callable, Iterable

#: ``spell(name, value)``: how a front end writes the mention of parameter ``name``
#: (``value``: the text after ``name=``, or None for the bare name); None keeps it as it is.
Spell = Callable[[str, "str | None"], "str | None"]


class UserError(ValueError):
    """A problem with the user's input: the message names the file or value and what was
    expected. The CLI prints it as one line and exits non-zero, without a traceback.
    ``params``: the parameters the message speaks of (see the module docstring)."""

    def __init__(self, message: str, *, params: Iterable[str] = ()):
        super().__init__(message)
        self.params = tuple(params)


class Note(str):
    """A warning or hint for the user (a ``log`` line, a table's footnote) that, like a
    :class:`UserError`, lists in ``params`` the parameters it speaks of."""

    params: tuple[str, ...] = ()

    def __new__(cls, text: str, params: Iterable[str] = ()) -> Note:
        note = super().__new__(cls, text)
        note.params = tuple(params)
        return note


def respell(text: str, params: Iterable[str], spell: Spell) -> str:
    """``text`` with every mention of each of ``params`` replaced by ``spell(name, value)``
    (mentions ``spell`` answers None for stay as they are)."""
    for name in params:
        pattern = re.compile(rf"(?<![\w./\\'\"-]){re.escape(name)}(?:=([^\s,;)\]]+))?(?![\w/\\'\"-])")

        def replace(match: re.Match, name: str = name) -> str:
            spelled = spell(name, match.group(1))
            return match.group(0) if spelled is None else spelled

        text = pattern.sub(replace, text)
    return text
