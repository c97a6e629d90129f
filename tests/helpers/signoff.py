"""Signed-off due lists for the disposal tests: the due dates Opus gives (read from the
sandbox through the client) and sheets laid out as `due --out` writes them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from openpyxl import Workbook

from opus_desktop.jobs.due import fetch_due
from opus_desktop.sandbox import Sandbox
from tests.integration.test_disposal_sandbox import open_connection

FAR = datetime(2200, 1, 1, tzinfo=UTC)


def due_dates(sandbox: Sandbox) -> dict[str, str]:
    """Row key -> the disposal due date Opus lists for it (any record with one)."""
    with open_connection(sandbox) as connection:
        profile = connection.profile
        listing = fetch_due(
            connection.client, FAR, template=profile.template(), date_format=profile.date_format
        )
    return {record.row_key: record.due for record in listing.records}


def signed_list(
    path: Path,
    keys: Sequence[str],
    dates: Mapping[str, str],
    *,
    decisions: Mapping[str, str] | None = None,
    key_header: str = "Row key",
) -> Path:
    """A signed-off due list of `keys` (each with its date from `dates`, "" if none), with
    a Decision column when `decisions` is given (Destroy where it names no key)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    decided = decisions is not None
    sheet.append(
        [key_header, *(["Decision"] if decided else []), "Disposal due date", "Approved by"]
    )
    for key in keys:
        decision = [(decisions or {}).get(key, "Destroy")] if decided else []
        sheet.append([key, *decision, dates.get(key, ""), "Records manager"])
    book.save(path)
    return path
