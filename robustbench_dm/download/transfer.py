"""Resumable HTTP(S) transfer of one file with urllib: ``.partial`` file, Range requests, retries.

Bytes go to ``<name>.partial``; a later call continues it with ``Range: bytes=N-`` and appends
only what is missing. A server that answers a Range request with the whole file (status 200)
has the partial file truncated and rewritten from the start. Connection errors, timeouts and
5xx answers are retried three times with exponential backoff; a 404 (or any other 4xx) is one
clear error at once.
"""

from __future__ import annotations

import http.client
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from robustbench_dm import __version__
from robustbench_dm.errors import UserError

RETRIES = 3
CHUNK = 1 << 20
TIMEOUT_S = 60.0

#: ``progress(done_bytes, total_bytes_or_None)`` after every chunk.
ProgressFn = Callable[[int, int | None], None]


@dataclass
class Transfer:
    """What one fetch did: bytes received over the network, whether it resumed a partial file,
    and whether the server ignored the Range request (so the file was restarted)."""

    received: int = 0
    resumed_from: int = 0
    restarted: bool = False


class _Retry(Exception):
    """A failure worth another attempt (connection trouble, 5xx)."""


def _total_from(response, start: int) -> int | None:
    content_range = response.headers.get("Content-Range", "")
    if "/" in content_range and content_range.rsplit("/", 1)[1].strip().isdigit():
        return int(content_range.rsplit("/", 1)[1])
    length = response.headers.get("Content-Length")
    return start + int(length) if length and length.isdigit() else None


def _attempt(url: str, partial: Path, size: int | None, transfer: Transfer,
             progress: ProgressFn | None) -> None:
    have = partial.stat().st_size if partial.exists() else 0
    if size is not None and have == size:
        return
    if size is not None and have > size:
        partial.unlink()
        have = 0
    headers = {"User-Agent": f"robustbench_dm/{__version__}"}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:  # our partial file is already whole (size unknown)
            return
        if err.code >= 500:
            raise _Retry(f"HTTP {err.code} {err.reason}") from None
        if err.code == 404:
            raise UserError(f"{url} was not found (HTTP 404); check the manifest or mirror",
                            params=("mirror",)) from None
        raise UserError(f"{url}: the server refused the download (HTTP {err.code} {err.reason})") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
        reason = getattr(err, "reason", err)
        raise _Retry(f"connection failed ({reason})") from None
    with response:
        start = 0
        if response.status == 206:
            content_range = response.headers.get("Content-Range", "")
            try:
                start = int(content_range.split()[1].split("-")[0])
            except (IndexError, ValueError):
                start = -1
            if start != have:  # not the range we asked for: start over cleanly
                start = 0
                transfer.restarted = True
                response.close()
                partial.unlink(missing_ok=True)
                raise _Retry(f"server answered an unexpected range {content_range!r}")
            if have and not transfer.resumed_from:
                transfer.resumed_from = have
        elif have:  # 200 to a Range request: the server sends the whole file
            transfer.restarted = True
        total = _total_from(response, start)
        if size is not None and total is not None and total != size:
            raise UserError(f"{url}: the server offers {total} bytes, but the manifest says "
                            f"{size}; refusing a different file")
        with open(partial, "r+b" if start else "wb") as out:
            out.seek(start)
            out.truncate()
            done = start
            while True:
                try:
                    block = response.read1(CHUNK)
                except (OSError, http.client.HTTPException) as err:
                    raise _Retry(f"connection lost after {done} bytes ({err})") from None
                if not block:
                    break
                out.write(block)
                done += len(block)
                transfer.received += len(block)
                if progress is not None:
                    progress(done, total if total is not None else size)
        expected = size if size is not None else total
        if expected is not None and done != expected:
            raise _Retry(f"connection closed after {done} of {expected} bytes")


def fetch(url: str, partial: str | os.PathLike, *, size: int | None = None,
          progress: ProgressFn | None = None, retry_wait: float = 1.0,
          retries: int = RETRIES) -> Transfer:
    """Download ``url`` into ``partial`` (continuing what it already holds); returns what was
    transferred. ``size`` (bytes, when known) bounds the file. Retries ``retries`` times after
    connection errors and 5xx answers, waiting ``retry_wait * 2**i`` seconds; an attempt that
    received bytes resets the count. Raises ``UserError`` when it gives up."""
    partial = Path(partial)
    transfer = Transfer()
    failures = 0
    while True:
        before = transfer.received
        try:
            _attempt(url, partial, size, transfer, progress)
            return transfer
        except _Retry as err:
            if transfer.received > before:
                failures = 0
            if failures >= retries:
                raise UserError(f"{url}: download failed after {retries} retries: {err}; run "
                                f"the same command again to resume from {partial}") from None
            time.sleep(retry_wait * 2 ** failures)
            failures += 1
