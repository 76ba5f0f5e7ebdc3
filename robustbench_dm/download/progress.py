"""Byte progress of a download: one rewritten line (bytes, rate, ETA) on a terminal, plain
lines at most every ``interval`` seconds (and at the end) otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def human_bytes(n: int | float | None) -> str:
    """``1.5 GB`` style (decimal units, as archive sizes are quoted)."""
    if n is None:
        return "unknown size"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class ByteProgress:
    """Callable ``(done, total)`` reporting the download of ``label`` to ``stream``."""

    def __init__(self, label: str, stream: TextIO | None = None, interval: float = 30.0,
                 already: int = 0):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval if not self.tty else 0.2
        self.started = time.monotonic()
        self.first = already  # bytes already on disk do not count in the rate
        self.reported = False
        self.last_report = 0.0
        self.done = 0
        self.total: int | None = None

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = (self.done - self.first) / elapsed
        text = f"{self.label}: {human_bytes(self.done)}"
        if self.total:
            text += f" / {human_bytes(self.total)} ({100 * self.done / self.total:.0f}%)"
        text += f", {human_bytes(rate)}/s"
        if self.total and rate > 0:
            text += f", ETA {_duration((self.total - self.done) / rate)}"
        return text

    def __call__(self, done: int, total: int | None) -> None:
        self.reported = True
        self.done, self.total = done, total
        now = time.monotonic()
        if now - self.last_report >= self.interval:
            self.last_report = now
            self._write()

    def _write(self) -> None:
        if self.tty:
            self.stream.write("\r" + self.line().ljust(79))
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Report the final state (and end the terminal line)."""
        if not self.reported:
            return
        self._write()
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
