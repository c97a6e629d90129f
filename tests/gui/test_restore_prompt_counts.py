"""The restore prompt's line about the run to resume names every record of it: stored,
failed, skipped and still to send add up to the run's total (a run of the demo sheet
with its 6 invalid rows skipped read "105 of 200 stored, 89 still to send")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opus_desktop.gui.submit.restore import RestoreOffer
from opus_desktop.jobs.journal_types import Counts, RunInfo
from opus_desktop.usecases.drafts import Unsent


def cancelled_run(counts: Counts) -> RunInfo:
    return RunInfo(
        id="0a916631",
        kind="submit",
        profile="Sandbox",
        status="cancelled",
        started=datetime(2026, 12, 7, 20, 48, tzinfo=UTC),
        ended=None,
        counts=counts,
        input_path="demo-records.xlsx",
        input_sha256=None,
        template_sha256=None,
        mapping=None,
        options={},
        owner_pid=None,
        owner_host=None,
        note="",
        audit_hash=None,
    )


@pytest.mark.parametrize(
    ("counts", "said"),
    [
        (
            Counts(pending=89, ok=105, skipped=6),
            "105 of 200 records stored, 6 skipped, 89 still to send.",
        ),
        (
            Counts(pending=80, ok=105, failed=9, skipped=6),
            "105 of 200 records stored, 9 failed, 6 skipped, 80 still to send.",
        ),
        (Counts(pending=95, ok=105), "105 of 200 records stored, 95 still to send."),
    ],
)
def test_the_run_line_adds_up(qapp: object, counts: Counts, said: str) -> None:
    text = RestoreOffer._text(Unsent(profile="Sandbox", run=cancelled_run(counts)))
    assert f"• Run 0a916631 (cancelled): {said}" in text.splitlines()
