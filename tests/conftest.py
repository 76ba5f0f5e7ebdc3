"""Fixtures shared by the ImageNet-style on-the-fly test modules (a module's own fixture of the
same name takes precedence)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagenet_fixtures import write_photo_folder, write_tiny_model


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    """A clean folder of photographs in the ImageNet val layout (three wnid classes)."""
    return write_photo_folder(tmp_path_factory.mktemp("imagenet") / "val")


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """The file of a tiny scripted three-class model that sees every pixel block."""
    return write_tiny_model(tmp_path_factory.mktemp("model") / "tiny.pt")
