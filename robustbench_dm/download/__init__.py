"""Downloading released suites and clean sets: resumable, verified, safely extracted.

``download(["cifar10-c"], to="data")`` fetches what the packaged manifests list (see
:mod:`robustbench_dm.download.manifest`) into ``data/CIFAR-10-C``; ``download_hint(suite)``
is the sentence that tells a user how to get a suite they lack.
"""

from robustbench_dm.download.manifest import FileSpec, SuiteSpec, download_hint, load_manifest
from robustbench_dm.download.run import RECORD_NAME, DownloadReport, FileResult, SuiteResult, download

__all__ = [
    "RECORD_NAME",
    "DownloadReport",
    "FileResult",
    "FileSpec",
    "SuiteResult",
    "SuiteSpec",
    "download",
    "download_hint",
    "load_manifest",
]
