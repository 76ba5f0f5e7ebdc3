"""``download(suites, to)``: fetch, verify and extract released suites into ``to/<folder>``.

Layout under the download folder ``to``::

    to/<folder>/...                    the suite, ready for ``--data-root to/<folder>``
    to/<folder>/download-record.json   url, size, md5 and sha256 of every file it came from
    to/.downloads/<suite>/<file>.partial   bytes received so far (resumed by the next run)
    to/.downloads/<suite>/<file>.corrupt   a file whose checksum did not match (kept aside)

Each archive is extracted into a temporary folder inside ``to`` and then renamed into place,
so nothing outside ``to`` is ever written and a killed run leaves no half-extracted suite in
``to/<folder>`` that the record would claim complete. The whole run holds ``to``'s folder lock.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence, TextIO

from robustbench_dm.atomic import write_text_atomic
from robustbench_dm.download.extract import extract_tar
from robustbench_dm.download.manifest import FileSpec, SuiteSpec, load_manifest, with_mirror
from robustbench_dm.download.progress import ByteProgress, human_bytes
from robustbench_dm.download.transfer import fetch
from robustbench_dm.errors import UserError
from robustbench_dm.outdir import check_writable, lock_folder

RECORD_NAME = "download-record.json"
DOWNLOADS = ".downloads"
EXTRACT_PREFIX = ".extract-"


@dataclass
class FileResult:
    """One file: ``status`` is "planned" (dry run), "present" (already in place) or
    "downloaded"; ``received`` counts the bytes that came over the network in this run."""

    name: str
    url: str
    size: int | None
    status: str
    received: int = 0
    resumed_from: int = 0
    restarted: bool = False
    md5: str | None = None
    sha256: str | None = None
    published: str | None = None
    approx_size: int | None = None


@dataclass
class SuiteResult:
    """One suite and where it now lives (``folder``)."""

    name: str
    title: str
    folder: Path
    files: list[FileResult] = field(default_factory=list)

    @property
    def status(self) -> str:
        states = {f.status for f in self.files}
        return states.pop() if len(states) == 1 else "downloaded"


@dataclass
class DownloadReport:
    """What ``download`` did (or, with ``dry_run``, would do)."""

    to: Path
    dry_run: bool
    suites: list[SuiteResult]

    @property
    def total_bytes(self) -> int:
        """Sum of the known sizes of every file."""
        return sum(f.size or 0 for s in self.suites for f in s.files)

    @property
    def approx_total_bytes(self) -> int:
        """Sum of the known sizes, counting rounded sizes where no exact one is published."""
        return sum(f.size or f.approx_size or 0 for s in self.suites for f in s.files)

    @property
    def unknown_sizes(self) -> int:
        """How many files have no published size, exact or rounded."""
        return sum(f.size is None and f.approx_size is None for s in self.suites for f in s.files)


def _hashes(path: Path) -> tuple[str, str]:
    md5, sha256 = hashlib.md5(), hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            md5.update(block)
            sha256.update(block)
    return md5.hexdigest(), sha256.hexdigest()


def _read_record(folder: Path) -> dict:
    try:
        return json.loads((folder / RECORD_NAME).read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def _done(record: dict, spec: FileSpec) -> bool:
    entry = record.get("files", {}).get(spec.name)
    return bool(entry) and all(getattr(spec, key) in (None, entry.get(key))
                               for key in ("md5", "sha256", "size"))


def _verify(spec: FileSpec, path: Path) -> tuple[str, str]:
    """md5 and sha256 of the downloaded ``path``; a mismatch with the manifest moves it aside
    and raises."""
    md5, sha256 = _hashes(path)
    size = path.stat().st_size
    for kind, want, got in (("md5", spec.md5, md5), ("sha256", spec.sha256, sha256),
                            ("size", spec.size, size)):
        if want is not None and want != got:
            bad = path.with_name(spec.name + ".corrupt")
            os.replace(path, bad)
            raise UserError(f"checksum mismatch for {spec.name}: expected {kind} {want}"
                            f"{' (' + spec.published + ')' if spec.published else ''}, got {got}; "
                            f"the file was kept aside as {bad} and not extracted; run the "
                            "command again to download it afresh")
    return md5, sha256


def _merge(source: Path, target: Path) -> None:
    """Move ``source`` to ``target``, merging folders and replacing files."""
    if target.is_dir() and source.is_dir() and not target.is_symlink():
        for child in source.iterdir():
            _merge(child, target / child.name)
        source.rmdir()
        return
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    elif target.exists() or target.is_symlink():
        target.unlink()
    os.replace(source, target)


def _install(spec: FileSpec, archive: Path, to: Path, folder: Path) -> None:
    """Extract ``archive`` (or move a plain file) into ``folder`` through a temp folder in ``to``."""
    if spec.extract is None:
        folder.mkdir(parents=True, exist_ok=True)
        os.replace(archive, folder / spec.name)
        return
    tmp = Path(tempfile.mkdtemp(prefix=EXTRACT_PREFIX, dir=to))
    try:
        extract_tar(archive, tmp)
        folder.mkdir(parents=True, exist_ok=True)
        root = tmp
        entries = list(tmp.iterdir())
        if spec.strip_top and len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
            root = entries[0]
        for entry in list(root.iterdir()):
            _merge(entry, folder / entry.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _check_space(to: Path, work: list[tuple[FileSpec, Path]]) -> None:
    need = 0
    for spec, partial in work:
        size = spec.expected_size
        if size is None:
            continue
        have = partial.stat().st_size if partial.exists() else 0
        need += max(size - have, 0) + (size if spec.extract else 0)
    free = shutil.disk_usage(to).free
    if need > free:
        raise UserError(f"not enough free disk space in {to}: the download and extraction need "
                        f"{human_bytes(need)}, {human_bytes(free)} are free")


def _select(names: Sequence[str], manifest: str | os.PathLike | None) -> list[SuiteSpec]:
    if not names:
        raise UserError("no suite given; expected one or more of the downloadable suites")
    known = load_manifest(manifest)
    chosen = []
    for name in dict.fromkeys(names):
        if name not in known:
            raise UserError(f"unknown suite {name!r} to download; expected one of: "
                            f"{', '.join(sorted(known))}")
        if known[name].unavailable:
            raise UserError(known[name].unavailable)
        chosen.append(known[name])
    return chosen


def download(suites: Sequence[str], to: str | os.PathLike = ".", *, mirror: str | None = None,
             manifest: str | os.PathLike | None = None, dry_run: bool = False,
             keep_archives: bool = False, progress: TextIO | None = None,
             retry_wait: float = 1.0) -> DownloadReport:
    """Download, verify and extract ``suites`` into ``to/<folder of each suite>``.

    ``mirror`` replaces the scheme and host of every URL; ``manifest`` replaces the packaged
    manifests; ``dry_run`` only lists files and sizes; ``keep_archives`` keeps verified
    archives in ``to/.downloads``; ``progress`` is the stream progress lines go to (None: no
    progress). Files already recorded in a suite's ``download-record.json`` are skipped.
    Raises ``UserError`` (naming the file) on a failed download, a checksum mismatch, an
    unsafe archive or too little disk space.
    """
    specs = _select(suites, manifest)
    to = check_writable(to, what="to")
    report = DownloadReport(to=to, dry_run=dry_run, suites=[])
    for spec in specs:
        folder = to / spec.folder
        record = _read_record(folder)
        result = SuiteResult(spec.name, spec.title, folder)
        for f in spec.files:
            status = "present" if _done(record, f) else "planned"
            result.files.append(FileResult(f.name, with_mirror(f.url, mirror), f.size, status,
                                           md5=f.md5, sha256=f.sha256, published=f.published,
                                           approx_size=f.approx_size))
        report.suites.append(result)
    if dry_run:
        return report
    with lock_folder(to):
        for stale in to.glob(EXTRACT_PREFIX + "*"):
            shutil.rmtree(stale, ignore_errors=True)
        work = [(f, to / DOWNLOADS / s.name / (f.name + ".partial"))
                for s, r in zip(specs, report.suites, strict=True)
                for f, fr in zip(s.files, r.files, strict=True) if fr.status != "present"]
        _check_space(to, work)
        for spec, result in zip(specs, report.suites, strict=True):
            _download_suite(spec, result, to, keep_archives, progress, retry_wait)
        downloads = to / DOWNLOADS
        if downloads.is_dir() and not any(downloads.iterdir()):
            downloads.rmdir()
    return report


def _download_suite(spec: SuiteSpec, result: SuiteResult, to: Path, keep_archives: bool,
                    progress: TextIO | None, retry_wait: float) -> None:
    """Fetch, verify and install every file of ``spec`` not yet recorded (URLs as in
    ``result``, mirror applied), recording each one as soon as it is in place."""
    store = to / DOWNLOADS / spec.name
    record = _read_record(result.folder) or {"suite": spec.name, "title": spec.title,
                                             "source": spec.source, "files": {}}
    for fspec, fres in zip(spec.files, result.files, strict=True):
        if fres.status == "present":
            continue
        store.mkdir(parents=True, exist_ok=True)
        archive, partial = store / fspec.name, store / (fspec.name + ".partial")
        if not archive.exists():
            have = partial.stat().st_size if partial.exists() else 0
            bar = ByteProgress(f"{spec.name} {fspec.name}", progress, already=have) \
                if progress is not None else None
            transfer = fetch(fres.url, partial, size=fspec.size, progress=bar, retry_wait=retry_wait)
            if bar is not None:
                bar.close()
            fres.received, fres.resumed_from = transfer.received, transfer.resumed_from
            fres.restarted = transfer.restarted
            os.replace(partial, archive)
        fres.md5, fres.sha256 = _verify(fspec, archive)
        if fres.size is None:
            fres.size = archive.stat().st_size
        _install(fspec, archive, to, result.folder)
        if fspec.extract is not None and not keep_archives:
            archive.unlink()
        record["files"][fspec.name] = {
            "url": fres.url, "size": fres.size, "md5": fres.md5, "sha256": fres.sha256,
            "published": fspec.published,
            "checked": [k for k in ("md5", "sha256", "size") if getattr(fspec, k) is not None]}
        write_text_atomic(result.folder / RECORD_NAME, json.dumps(record, indent=2) + "\n")
        fres.status = "downloaded"
    if store.is_dir() and not any(store.iterdir()):
        store.rmdir()
