"""Row keys in the certificate of destruction, read back with pdftotext: each key whole on
one line, however long; a key longer than a line cut only after its own separators, with
the continuation mark; the exceptions with their reasons as recorded; the manifest whole."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from opus_desktop.documents.certificate import write_disposal_documents
from opus_desktop.documents.schedule import (
    CONTINUATION,
    EXCEPTIONS_HEADING,
    SEPARATORS,
    key_lines,
    outcome_text,
)
from opus_desktop.jobs.audit import AuditEntry, DisposedRecord
from opus_desktop.jobs.disposal_outcome import DESTROYED, FAILED, NOT_SENT, DestroyOutcome
from opus_desktop.jobs.journal_types import Counts, RunInfo
from tests.helpers.tools import pdftotext

ISSUED = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)


def long_key(n: int) -> str:
    key = f"ARCHIVE/FINANCE/LEDGERS-2019/BATCH-{n:04d}/ITEM1"
    assert len(key) == 45
    return key


def huge_key(n: int) -> str:
    """About 200 characters, with separators of four kinds."""
    key = ("ARCHIVE/FINANCE-DEPARTMENT/GENERAL_LEDGER.2019/" * 5)[:193] + f"/{n:06d}"
    assert len(key) == 200
    return key


def outcome_of(records: list[DisposedRecord]) -> DestroyOutcome:
    run = RunInfo(
        "20260302-keys",
        "destroy",
        "demo",
        "done",
        datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
        None,
        Counts(),
        "/tmp/due.xlsx",
        None,
        None,
        None,
        {"tenant": {"api": "https://graph-us.example"}},
        None,
        None,
        "",
        None,
    )
    answers = {r.key: {"outcome": r.outcome} for r in records}
    who = {"account": "jdoe", "name": "Jane Officer"}
    entry = AuditEntry(
        1, "2026-03-02T10:30:00Z", "0" * 64, {"answers": answers, "operator": who}, "ab" * 32
    )
    return DestroyOutcome(
        run, records, "Schedule 4.2 is over.", "2026-03-01T00:00:00+00:00", "Contoso", [entry]
    )


def destroyed(keys: list[str]) -> list[DisposedRecord]:
    return [
        DisposedRecord(
            k, f"Minutes {n}", f"Records/Class {n % 3}", "2025-01-01 00:00:00", DESTROYED
        )
        for n, k in enumerate(keys)
    ]


def layout_lines(pdf: Path) -> list[str]:
    text = subprocess.run(
        [pdftotext(), "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return [line.strip() for line in text.splitlines() if line.strip()]


def joined_keys(lines: list[str], first_piece: str) -> list[tuple[str, list[str]]]:
    """Every key set over several lines, found by its first piece: the key with the mark
    and the line ends taken out, and the lines it took."""
    found = []
    number = 0
    while number < len(lines):
        if not lines[number].startswith(first_piece):
            number += 1
            continue
        taken = [lines[number].split()[0]]
        while taken[-1].endswith(CONTINUATION):
            taken.append(lines[number + len(taken)].split()[0])
        found.append(("".join(piece.removesuffix(CONTINUATION) for piece in taken), taken))
        number += len(taken)
    return found


def test_thirty_keys_of_45_characters_are_each_whole_on_one_line(
    qapp: object, tmp_path: Path
) -> None:
    keys = [long_key(n) for n in range(30)]
    written = write_disposal_documents(outcome_of(destroyed(keys)), tmp_path / "c.pdf", ISSUED)
    lines = layout_lines(written.pdf)
    for key in keys:
        holding = [line for line in lines if key in line]
        assert len(holding) == 1, (key, holding)
        assert holding[0].startswith(key)  # the key first, then its name and the rest
    # No piece of a key is left on a line of its own (as "LEDGERS-2019" was).
    assert not [line for line in lines if line.startswith(("FINANCE/", "LEDGERS", "/BATCH"))]
    assert all(CONTINUATION not in line for line in lines)


def test_a_200_character_key_is_cut_only_after_its_own_separators(
    qapp: object, tmp_path: Path
) -> None:
    keys = [huge_key(n) for n in range(3)]
    written = write_disposal_documents(outcome_of(destroyed(keys)), tmp_path / "c.pdf", ISSUED)
    found = joined_keys(layout_lines(written.pdf), "ARCHIVE/FINANCE-DEPARTMENT/")
    assert sorted(key for key, _ in found) == keys  # each whole, and once
    for _, taken in found:
        assert len(taken) >= 2  # too long for one line
        for piece in taken[:-1]:
            assert piece.endswith(CONTINUATION)
            assert piece.removesuffix(CONTINUATION)[-1] in SEPARATORS
        assert CONTINUATION not in taken[-1]


def test_a_long_key_without_separators_is_cut_with_the_mark(qapp: object, tmp_path: Path) -> None:
    key = "X" * 150 + "0123456789" * 5
    written = write_disposal_documents(outcome_of(destroyed([key])), tmp_path / "c.pdf", ISSUED)
    ((joined, taken),) = joined_keys(layout_lines(written.pdf), "XXXXXXXXXX")
    assert joined == key
    assert len(taken) >= 2 and all(piece.endswith(CONTINUATION) for piece in taken[:-1])


def test_many_long_keys_over_pages_are_never_split_by_a_page_break(
    qapp: object, tmp_path: Path
) -> None:
    keys = [huge_key(n) for n in range(90)]
    written = write_disposal_documents(outcome_of(destroyed(keys)), tmp_path / "c.pdf", ISSUED)
    assert written.pages >= 4
    found = joined_keys(layout_lines(written.pdf), "ARCHIVE/FINANCE-DEPARTMENT/")
    assert sorted(key for key, _ in found) == keys  # every key whole, none twice


def test_the_exceptions_show_each_key_whole_with_its_reason_as_recorded(
    qapp: object, tmp_path: Path
) -> None:
    reasons = [
        (NOT_SENT, "Unknown to Opus: no record has this key."),
        (NOT_SENT, "Not yet due: its disposal is due on 2027-05-01."),
        (FAILED, "Record is already destroyed."),
        (NOT_SENT, "Held back: its due date in Opus is not the one signed off."),
        (FAILED, "The vault is sealed until Friday."),
    ]
    records = destroyed([long_key(n) for n in range(20)])
    others = {long_key(100 + n): reasons[n % 5] for n in range(10)}
    records += [
        DisposedRecord(k, "Other", "Records/Class 1", "2025-02-01", outcome, message)
        for k, (outcome, message) in others.items()
    ]
    written = write_disposal_documents(outcome_of(records), tmp_path / "c.pdf", ISSUED)
    lines = layout_lines(written.pdf)
    section = lines[lines.index(EXCEPTIONS_HEADING) :]
    for key, (_, message) in others.items():
        (line,) = [line for line in section if key in line]
        assert " ".join(line.split()) == f"{key} {message}"
    titles = [line for line in section if line.endswith("records)")]
    by_kind = {outcome_text(r) for r in records if r.outcome != DESTROYED}
    assert {t.rsplit(" (", 1)[0] for t in titles} == by_kind
    assert sum(int(t.rsplit("(", 1)[1].split()[0]) for t in titles) == len(others)
    # Not destroyed before not sent; within each, the reasons a word names before the others.
    failed = [n for n, t in enumerate(titles) if t.startswith("Not destroyed")]
    assert failed == list(range(len(failed)))
    # Each of them is in the schedule too, once, and nowhere else.
    assert all(sum(key in line for line in lines) == 2 for key in others)


def test_the_manifest_holds_every_key_whole(qapp: object, tmp_path: Path) -> None:
    keys = [long_key(n) for n in range(5)] + [huge_key(n) for n in range(5)]
    written = write_disposal_documents(outcome_of(destroyed(keys)), tmp_path / "c.pdf", ISSUED)
    book = load_workbook(written.manifest, read_only=True)
    try:
        rows = list(book["Records"].iter_rows(values_only=True))
    finally:
        book.close()
    assert rows[0][0] == "Row key"
    assert [row[0] for row in rows[1:]] == keys
    # Opened in Excel, a 45-character key shows whole in its column.
    sheet = load_workbook(written.manifest)["Records"]
    assert sheet.column_dimensions["A"].width >= len(long_key(0))


@pytest.mark.parametrize("width", [1, 7, 20, 60])
def test_key_lines_fit_join_back_and_break_after_separators(width: int) -> None:
    key = huge_key(7)
    lines = key_lines(key, lambda text: len(text) <= width)
    assert "".join(line.removesuffix(CONTINUATION) for line in lines) == key
    assert all(line.endswith(CONTINUATION) for line in lines[:-1])
    assert CONTINUATION not in lines[-1]
    if width > 1:
        assert all(len(line) <= width for line in lines)
    if width >= 20:  # wider than any run between two separators of this key
        assert all(line.removesuffix(CONTINUATION)[-1] in SEPARATORS for line in lines[:-1])
    assert key_lines("SHORT-KEY", lambda text: len(text) <= 60) == ["SHORT-KEY"]
