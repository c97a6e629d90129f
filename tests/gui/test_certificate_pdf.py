"""The certificate of destruction as a PDF, read back with pdftotext: every destroyed key, the
facts, the hashes, and a long list over several pages each with the table's header row."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from opus_desktop.documents import DocumentError
from opus_desktop.documents.certificate import (
    gui_application,
    manifest_path_for,
    write_disposal_documents,
)
from opus_desktop.documents.schedule import RECORD_HEADERS, outcome_text
from opus_desktop.jobs.audit import AuditLog, DisposedRecord
from opus_desktop.jobs.disposal import DestroyRun
from opus_desktop.jobs.disposal_outcome import DestroyOutcome
from opus_desktop.jobs.due import DisposalItem, not_due_reason
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.state import RunState
from tests.helpers.tools import pdftotext
from tests.unit.test_disposal import TENANT, FakeOpus, items_of, key

ISSUED = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
BEFORE = datetime(2026, 3, 1, tzinfo=UTC)


def pages_of(pdf: Path, mode: str = "-layout") -> list[str]:
    """The text of each page: as laid out, or (-raw) in drawing order, each cell whole."""
    text = subprocess.run(
        [pdftotext(), mode, str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return [page for page in text.split("\f") if page.strip()]


def words_of(pdf: Path) -> str:
    """The whole text in drawing order, lines joined: phrases survive their wrapping."""
    return " ".join("\n".join(pages_of(pdf, "-raw")).split())


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.sqlite3") as opened:
        yield opened


def disposal(
    journal: Journal, tmp_path: Path, count: int, refused: int | None = None
) -> DestroyOutcome:
    opus = FakeOpus(count)
    if refused is not None:
        opus.state[key(refused)] = "awaiting approval"
    run = DestroyRun(journal, AuditLog(tmp_path / "audit.jsonl"), opus, TENANT, pause=0)
    items = [
        # Some names wrap over several lines, so rows of different heights meet page breaks.
        replace(item, name=f"{item.name} - correspondence with the regional office " * (n % 4))
        if n % 4
        else item
        for n, item in enumerate(items_of(opus, [key(n) for n in range(count)]))
    ]
    run_id = run.create(
        items,
        "Retention period of schedule 4.2 is over; signed off by the records manager.",
        operator_name="Jane Officer",
        before=BEFORE,
        organisation="Contoso Records Office",
        not_sent=[DisposalItem("OLD-FILE", "Old file", "Records/Old", "", 99)],
        reason=not_due_reason(BEFORE),
    )
    return run.run(run_id, RunState())


def test_the_certificate_names_every_destroyed_key_and_the_facts(
    qapp: object, journal: Journal, tmp_path: Path
) -> None:
    outcome = disposal(journal, tmp_path, 40, refused=7)
    written = write_disposal_documents(outcome, tmp_path / "cert.pdf", ISSUED)

    assert written.manifest == manifest_path_for(tmp_path / "cert.pdf")
    assert written.manifest.name == "cert-manifest.xlsx"
    digest = hashlib.sha256(written.manifest.read_bytes()).hexdigest()
    assert written.manifest_sha256 == digest
    text = words_of(written.pdf)
    assert "Certificate of destruction" in text and "Contoso Records Office" in text
    assert "Jane Officer" in text and "signed off by the records manager" in text
    assert "Certificate issued" in text and "2026-03-02 10:30:00 UTC" in text
    assert "destroyed in the source" in text and "marked destroyed in Opus" in text
    assert all(key(n) in text for n in range(40) if n != 7)
    assert "Not destroyed: awaiting approval" in text
    # The exceptions section: each record not destroyed with its reason as recorded.
    exceptions = text[text.index("Records not destroyed Row key Reason, as recorded") :]
    assert "Not destroyed: awaiting approval (1 record)" in exceptions
    assert f"{key(7)} Record '{key(7)}' cannot be destroyed" in exceptions
    left_out = DisposedRecord("OLD-FILE", outcome="not sent", message=not_due_reason(BEFORE))
    title = f"{outcome_text(left_out)} (1 record)"
    assert f"{title} OLD-FILE {not_due_reason(BEFORE)[:50]}" in exceptions
    assert digest in text
    (entry,) = outcome.entries
    assert entry.hash in text
    # Counts by classification: 39 destroyed, in three classes.
    assert "Records/Class 0" in text and "Total" in text and "39" in text

    book = load_workbook(written.manifest, read_only=True)
    try:
        rows = list(book["Records"].iter_rows(values_only=True))
    finally:
        book.close()
    assert rows[0][:5] == ("Row key", "Name", "Classification", "Disposal due date", "Outcome")
    outcomes = {row[0]: row[4] for row in rows[1:]}
    assert outcomes[key(0)] == "Destroyed" and outcomes[key(7)] == "Not destroyed"
    assert outcomes["OLD-FILE"] == "Not sent" and len(outcomes) == 41


def test_three_hundred_records_take_several_pages_each_with_the_header(
    qapp: object, journal: Journal, tmp_path: Path
) -> None:
    outcome = disposal(journal, tmp_path, 300)
    written = write_disposal_documents(outcome, tmp_path / "long.pdf", ISSUED)
    pages = pages_of(written.pdf)

    assert written.pages == len(pages) >= 5
    header = " ".join(RECORD_HEADERS)
    schedule = [n for n, page in enumerate(pages) if "Schedule: every record" in page]
    assert len(schedule) == 1  # the certificate, then the schedule on pages of its own
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {written.pages}" in page
        lines = [" ".join(line.split()) for line in page.splitlines() if line.strip()]
        if number - 1 == schedule[0]:
            assert lines[:2] == ["Schedule: every record of this disposal", header]
        elif number - 1 > schedule[0]:
            assert lines[0] == header, lines[0]
    text = words_of(written.pdf)
    # Every key once: no row is split by a page break (whose text would be drawn, clipped,
    # on both pages).
    assert all(text.count(f"{key(n)} ") == 1 for n in range(300))


def test_a_missing_folder_or_wrong_name_is_a_sentence(
    qapp: object, journal: Journal, tmp_path: Path
) -> None:
    outcome = disposal(journal, tmp_path, 2)
    with pytest.raises(DocumentError, match=r"nowhere.*does not exist"):
        write_disposal_documents(outcome, tmp_path / "nowhere" / "cert.pdf")
    with pytest.raises(DocumentError, match=r"cert\.docx: the certificate must be a \.pdf"):
        write_disposal_documents(outcome, tmp_path / "cert.docx")
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".cert*"))


def test_the_running_application_is_used(qapp: object) -> None:
    assert gui_application() is qapp
