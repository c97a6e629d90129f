"""External tools and locales some tests need: skipped with a reason here, a failure in CI.

CI installs every one of them (`.ci/run`), so a missing one there means the check would
silently not happen; a developer's machine may lack them, and -ra shows why a test skipped.
"""

from __future__ import annotations

import os
import shutil

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def missing(what: str) -> None:
    """Stop the test: skip it with the reason, or fail it under CI=true."""
    message = f"{what} is missing; install it to run this test"
    if in_ci():
        pytest.fail(f"{message} (CI installs it, so this is a broken set-up)", pytrace=False)
    pytest.skip(message)


def pdftotext() -> str:
    """The pdftotext program (poppler-utils), or the test stops."""
    path = shutil.which("pdftotext")
    if path is None:
        missing("pdftotext (poppler-utils)")
    assert path is not None
    return path
