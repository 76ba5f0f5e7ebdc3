"""A real local HTTP server for the download tests (run as its own process), and a helper to
start it and write a manifest pointing at it.

``python download_server.py ROOT`` serves the files of ROOT on a free port of 127.0.0.1 only
and prints the port. Range requests are honoured (206 + Content-Range). The first path
component picks a behaviour, the rest names the file:

- ``/files/NAME``: plain serving with Range support.
- ``/norange/NAME``: ignores Range, always answers 200 with the whole file.
- ``/missing/NAME``: 404.  ``/error/NAME``: always 500.  ``/error-once/NAME``: 500 the first time.
- ``/reset-once/NAME``: the first time, sends half the body and resets the connection.
- ``/stall-once/NAME``: the first time, sends half the body then holds the connection open
  (so a test can kill the client at a known point).

``/_stats`` answers JSON ``{"bytes": {path: body bytes sent}, "requests": [[path, range]]}``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

ROOT = Path(".")
STATS: dict = {"bytes": {}, "requests": []}
SEEN: set[str] = set()
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def _count(self, n: int) -> None:
        with LOCK:
            STATS["bytes"][self.path] = STATS["bytes"].get(self.path, 0) + n

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/_stats":
            body = json.dumps(STATS).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        with LOCK:
            STATS["requests"].append([path, self.headers.get("Range")])
            first = path not in SEEN
            SEEN.add(path)
        _, mode, name = path.split("/", 2)
        file = ROOT / name
        if mode == "missing" or not file.is_file():
            return self._status(404)
        if mode == "error" or (mode == "error-once" and first):
            return self._status(500)
        data = file.read_bytes()
        start = 0
        requested = self.headers.get("Range")
        if requested and mode != "norange":
            start = int(requested.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if mode in ("reset-once", "stall-once") and first:
            half = body[: len(body) // 2]
            self.wfile.write(half)
            self.wfile.flush()
            self._count(len(half))
            if mode == "stall-once":
                time.sleep(3600)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            return
        # counted before writing: once the client holds the last byte it may ask /_stats at once
        self._count(len(body))
        self.wfile.write(body)

    def _status(self, code: int) -> None:
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()


def main() -> None:
    global ROOT
    ROOT = Path(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


@contextlib.contextmanager
def serve(root: str | os.PathLike) -> Iterator["Server"]:
    """Start the server process on ``root``; yields a :class:`Server`; kills it afterwards."""
    proc = subprocess.Popen([sys.executable, __file__, str(root)], stdout=subprocess.PIPE,
                            text=True)
    try:
        port = int(proc.stdout.readline())
        yield Server(f"http://127.0.0.1:{port}")
    finally:
        proc.kill()
        proc.wait()


class Server:
    """The running server: its base URL, and what it has sent so far."""

    def __init__(self, base: str):
        self.base = base

    def url(self, mode: str, name: str) -> str:
        return f"{self.base}/{mode}/{name}"

    def stats(self) -> dict:
        with urllib.request.urlopen(f"{self.base}/_stats", timeout=10) as response:
            return json.loads(response.read())


def file_entry(path: Path, url: str, *, checksums: bool = True, extract: str | None = "tar",
               strip_top: bool = True, size: bool = True, published: str | None = "test") -> dict:
    """A manifest file entry for ``path`` served at ``url``."""
    data = path.read_bytes()
    return {"name": path.name, "url": url, "size": len(data) if size else None,
            "md5": hashlib.md5(data).hexdigest() if checksums else None,
            "sha256": hashlib.sha256(data).hexdigest() if checksums else None,
            "published": published if checksums else None, "extract": extract, "strip_top": strip_top}


def write_manifest(path: Path, suites: dict) -> Path:
    """A manifest file with ``suites`` ({name: {"folder": ..., "files": [...]}})."""
    doc = {"manifest_version": 1,
           "suites": {name: {"title": name, "source": "test", **entry} for name, entry in suites.items()}}
    path.write_text(json.dumps(doc, indent=2))
    return path


if __name__ == "__main__":
    main()
