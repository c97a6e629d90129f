"""When `--sandbox` cannot start its tenant, the dialog says so: the sandbox did not start,
why, and that the app runs without it (not only the cause, a folder in the way, say)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opus_desktop.errors import AppError
from opus_desktop.gui.app import _sandbox_failure, start_sandbox


def test_a_sandbox_that_cannot_start_is_named_with_its_cause(opus_home: Path) -> None:
    (opus_home / "data").mkdir(parents=True, exist_ok=True)
    (opus_home / "data" / "sandbox").write_text("in the way")
    with pytest.raises(AppError) as caught:
        start_sandbox()

    told = _sandbox_failure(caught.value).message

    assert told.startswith("The sandbox tenant could not start: ")
    assert caught.value.message in told and "is a file, not a folder" in told
    assert told.endswith("The app runs without it.")
