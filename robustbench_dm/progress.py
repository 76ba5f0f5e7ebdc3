"""The one progress reporter of long commands (make-suite, score, demo, train).

On a terminal it is a tqdm bar. When stderr is not a terminal (output redirected to a file, a
batch job's log) a bar would print nothing readable, so it writes one plain line at least every
``interval`` seconds (30 by default) and at the end of each cell: what is being done,
done/total, the rate and the estimated time left, e.g.
``score cifar10-c: 12000/760000 img (1.6%), 412.5 img/s, ETA 0:30:13 (fog/3 done)``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from tqdm import tqdm

INTERVAL_S = 30.0


def _clock_text(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
    """Progress of ``total`` units of work (images, videos, batches) described by ``desc``.

    ``show=None`` reports on stderr when this process should (a bar on a terminal, plain lines
    elsewhere); ``False`` reports nothing. Call :meth:`update` as work is done, :meth:`cell`
    when a cell starts and :meth:`cell_done` when it is finished; use it as a context manager
    (or call :meth:`close`). ``stream``, ``interval`` and ``clock`` are for tests.
    """

    def __init__(self, total: int, desc: str, *, unit: str = "img", show: bool | None = None,
                 stream: TextIO | None = None, interval: float = INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic):
        self.total, self.desc, self.unit = int(total), desc, unit
        self.stream = stream if stream is not None else sys.stderr
        self.interval, self.clock = interval, clock
        self.done = 0
        self.label: str | None = None
        self.enabled = show is not False
        isatty = getattr(self.stream, "isatty", None)
        self.bar = None
        if self.enabled and isatty is not None and isatty():
            self.bar = tqdm(total=self.total, desc=desc, unit=unit, file=self.stream)
        self.started = self.last = clock()

    def update(self, n: int = 1) -> None:
        """``n`` more units done; a plain line when ``interval`` passed since the last one."""
        self.done += int(n)
        if self.bar is not None:
            self.bar.update(n)
        elif self.enabled and self.clock() - self.last >= self.interval:
            self._line()

    def cell(self, label: str) -> None:
        """A new cell (e.g. ``fog/3``) starts."""
        self.label = label
        if self.bar is not None:
            self.bar.set_postfix_str(label)

    def cell_done(self) -> None:
        """The current cell is finished: a plain line saying so (off a terminal)."""
        if self.bar is None and self.enabled:
            self._line(f" ({self.label} done)" if self.label else "")

    def line(self) -> str:
        """The plain progress line as it stands now."""
        elapsed = max(self.clock() - self.started, 1e-9)
        rate = self.done / elapsed
        text = f"{self.desc}: {self.done}/{self.total} {self.unit}"
        if self.total:
            text += f" ({100 * self.done / self.total:.1f}%)"
        text += f", {rate:.1f} {self.unit}/s"
        if rate > 0 and self.done < self.total:
            text += f", ETA {_clock_text((self.total - self.done) / rate)}"
        return text

    def _line(self, suffix: str = "") -> None:
        print(self.line() + suffix, file=self.stream, flush=True)
        self.last = self.clock()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
