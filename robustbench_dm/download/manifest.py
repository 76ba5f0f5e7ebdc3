"""Download manifests: what each downloadable suite is made of, and where its checksums come from.

A manifest is JSON: ``{"manifest_version": 1, "suites": {NAME: ENTRY, ...}}``. The toolkit ships
one per suite (``manifests/<suite>.json``, package data); ``--manifest FILE`` replaces them (for
mirrors with other files, and for tests). An ENTRY holds ``title``, ``folder`` (the suite's
folder under the download folder), ``source`` (the record or page it comes from) and ``files``;
or ``unavailable`` (one sentence saying why it cannot be downloaded and where to get it). Each
file holds ``name``, ``url``, ``size`` (bytes or null), ``md5`` / ``sha256`` (hex or null),
``published`` (where those values were published, or null when nothing was), ``extract``
(``"tar"`` or null for a file kept as it is), ``strip_top`` (an archive holding one top folder
has that folder's contents placed in ``folder``) and optionally ``approx_size`` (a rounded
size, used only for the free-space check).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from robustbench_dm.errors import UserError

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class FileSpec:
    """One file of a suite, as its manifest describes it."""

    name: str
    url: str
    size: int | None
    md5: str | None
    sha256: str | None
    published: str | None
    extract: str | None
    strip_top: bool
    approx_size: int | None = None

    @property
    def expected_size(self) -> int | None:
        """The exact size when published, else the rounded one (for space checks only)."""
        return self.size if self.size is not None else self.approx_size


@dataclass(frozen=True)
class SuiteSpec:
    """A downloadable suite (or, with ``unavailable`` set, one that cannot be downloaded)."""

    name: str
    title: str
    folder: str | None
    source: str
    files: tuple[FileSpec, ...]
    unavailable: str | None = None


def _file(raw: dict, where: str) -> FileSpec:
    try:
        name, url = str(raw["name"]), str(raw["url"])
    except (KeyError, TypeError):
        raise UserError(f"{where}: every file needs a name and a url") from None
    if not name or "/" in name or name in (".", ".."):
        raise UserError(f"{where}: file name {name!r} must be a plain file name")
    if urlsplit(url).scheme not in ("http", "https"):
        raise UserError(f"{where}: url {url!r} of {name} must be http(s)")
    extract = raw.get("extract")
    if extract not in (None, "tar"):
        raise UserError(f"{where}: extract {extract!r} of {name}: expected \"tar\" or null")
    for key in ("size", "approx_size"):
        if raw.get(key) is not None and (not isinstance(raw[key], int) or raw[key] < 0):
            raise UserError(f"{where}: {key} of {name} must be a byte count or null")
    return FileSpec(name=name, url=url, size=raw.get("size"), md5=raw.get("md5"),
                    sha256=raw.get("sha256"), published=raw.get("published"), extract=extract,
                    strip_top=bool(raw.get("strip_top", False)), approx_size=raw.get("approx_size"))


def parse_manifest(data: dict, where: str) -> dict[str, SuiteSpec]:
    """The suites of one manifest document (validated); ``where`` names it in errors."""
    if not isinstance(data, dict) or data.get("manifest_version") != MANIFEST_VERSION:
        raise UserError(f"{where}: expected a JSON object with \"manifest_version\": "
                        f"{MANIFEST_VERSION} and \"suites\"")
    suites = {}
    for name, entry in (data.get("suites") or {}).items():
        files = tuple(_file(raw, f"{where} [{name}]") for raw in entry.get("files", []))
        folder = entry.get("folder")
        if entry.get("unavailable") is None and (not folder or "/" in folder or folder in (".", "..")):
            raise UserError(f"{where} [{name}]: folder must be a plain folder name")
        names = [f.name for f in files]
        if len(set(names)) != len(names):
            raise UserError(f"{where} [{name}]: file names repeat")
        suites[name] = SuiteSpec(name=name, title=entry.get("title", name), folder=folder,
                                 source=entry.get("source", ""), files=files,
                                 unavailable=entry.get("unavailable"))
    return suites


def load_manifest(path: str | os.PathLike | None = None) -> dict[str, SuiteSpec]:
    """Every suite of the manifest file ``path``, or of the packaged manifests when None."""
    if path is not None:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except OSError as err:
            raise UserError(f"manifest {path} cannot be read ({err.strerror or err})") from None
        except json.JSONDecodeError as err:
            raise UserError(f"manifest {path} is not valid JSON ({err})") from None
        return parse_manifest(data, str(path))
    suites: dict[str, SuiteSpec] = {}
    folder = resources.files("robustbench_dm.download") / "manifests"
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".json"):
            suites.update(parse_manifest(json.loads(item.read_text()), f"manifests/{item.name}"))
    return suites


def with_mirror(url: str, mirror: str | None) -> str:
    """``url`` with its scheme and host replaced by ``mirror``'s (whose path, if any, is put in
    front of the url's path)."""
    if not mirror:
        return url
    base = urlsplit(mirror)
    if base.scheme not in ("http", "https") or not base.netloc:
        raise UserError(f"mirror {mirror!r}: expected an http(s) URL such as https://mirror.example.org")
    parts = urlsplit(url)
    return urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + parts.path, parts.query, ""))


def download_hint(suite: str, data_root: str | os.PathLike | None = None) -> str | None:
    """The exact command that downloads ``suite`` (into the parent of ``data_root`` when its
    name is the suite's folder) and the data root to pass afterwards; None when the toolkit
    cannot download it."""
    spec = load_manifest().get(suite)
    if spec is None:
        return None
    if spec.unavailable:
        return spec.unavailable
    root = None if data_root is None else Path(data_root)
    if root is None:
        to, result = "DIR", f"DIR/{spec.folder}"
    elif root.name == spec.folder:
        to, result = str(root.parent), str(root)
    else:
        to, result = str(root), str(root / spec.folder)
    return f"download it with `robust-eval download {suite} --to {to}` and pass {result} as the data root"
