"""Submit runs against the sandbox: faults, a refused record, an outage, exact values stored."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opus_desktop.jobs.connect import Connection, connect
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.state import BatchResult, RunState
from opus_desktop.jobs.submit import SubmitRun, take_run
from opus_desktop.opus.retry import RetryPolicy
from opus_desktop.profiles import find_profile
from opus_desktop.sandbox import Sandbox
from opus_desktop.sandbox_profiles import save_sandbox_profiles
from tests.helpers.workbooks import write_csv
from tests.integration.conftest import MakeSandbox

TERMS = (
    "Records/Finance/Invoices",
    "Records/Legal/Contracts",
    "Records/Operations/Correspondence",
)
LEVELS = ("Public", "Internal", "Confidential", "Secret")
DEPARTMENTS = ("Finance", "Human Resources", "Legal", "Operations", "Information Technology")
OWNERS = ("alice.nguyen@contoso.example", "bob.smith@contoso.example")
SHEET_HEADERS = [
    "Row key",
    "Name",
    "Classification",
    "Created time",
    "Modified time",
    "Page Count",
    "Security Level",
    "Departments",
    "Record Owner",
]


def key(n: int) -> str:
    return f"T-{n:05d}"


def payload(n: int) -> dict[str, Any]:
    """Record n as the client sends it (the demo tenant's columns, its date format)."""
    return {
        "rowKey": key(n),
        "leafName": f"Document {n}.pdf",
        "termFullPath": TERMS[n % len(TERMS)],
        "timeCreated": f"2023-{1 + n % 12:02d}-{1 + n % 28:02d} 09:{n % 60:02d}:00",
        "timeModified": "2024-01-02 03:04:05",
        "_Page_%20_Count": n,
        "_Security_%20_Level": 1 + n % 4,
        "_Departments": sorted({1 + n % 5, 1 + (n + 2) % 5}),
        "_Record_%20_Owner": [OWNERS[n % 2]],
    }


def sheet_row(n: int) -> list[object]:
    """Record n as an officer types it: labels, not option numbers."""
    return [
        key(n),
        f"Document {n}.pdf",
        TERMS[n % len(TERMS)],
        f"2023-{1 + n % 12:02d}-{1 + n % 28:02d} 09:{n % 60:02d}:00",
        "2024-01-02 03:04:05",
        n,
        LEVELS[n % 4],
        "; ".join(DEPARTMENTS[i - 1] for i in sorted({1 + n % 5, 1 + (n + 2) % 5})),
        OWNERS[n % 2],
    ]


def write_sheet(path: Path, count: int, first: int = 1) -> Path:
    """A CSV of `count` valid records whose payloads are payload(first..)."""
    rows = [sheet_row(n) for n in range(first, first + count)]
    return write_csv(path, [SHEET_HEADERS, *rows])


def stored_exactly(sandbox: Sandbox, numbers: range) -> None:
    records = sandbox.records()
    missing = [key(n) for n in numbers if key(n) not in records]
    assert not missing, f"{len(missing)} records missing, e.g. {missing[:5]}"
    wrong = [key(n) for n in numbers if records[key(n)] != payload(n)]
    assert not wrong, f"{wrong[0]}: {records[wrong[0]]} != {payload(wrong[0])}"


def fast_retry() -> RetryPolicy:
    return RetryPolicy(attempts=4, base=0.02, cap=0.2)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.sqlite3") as opened:
        yield opened


def open_connection(sandbox: Sandbox) -> Connection:
    save_sandbox_profiles(sandbox)
    return connect(find_profile("Sandbox"), None, retry=fast_retry())


def new_run(journal: Journal, payloads: list[dict[str, Any]]) -> str:
    items = [(n + 2, p["rowKey"], p) for n, p in enumerate(payloads)]
    return journal.create_run("submit", "Sandbox", items)


@pytest.mark.slow
def test_every_record_is_stored_once_through_throttling_failures_and_drops(
    make_sandbox: MakeSandbox, journal: Journal
) -> None:
    sandbox = make_sandbox(throttle_rate=0.1, fail_rate=0.1, drop_rate=0.05, retry_after=0)
    numbers = range(1, 3001)
    run_id = new_run(journal, [payload(n) for n in numbers])
    state = RunState()
    released: list[BatchResult] = []
    state.on_batch(lambda result: released.append(result) if result.released else None)

    started = time.monotonic()
    with open_connection(sandbox) as connection:
        summary = SubmitRun(journal, connection.client, run_id, state, concurrency=4).run()
    took = time.monotonic() - started

    assert summary.status == "done" and summary.exit_code == 0, summary
    assert (summary.counts.ok, summary.counts.failed) == (3000, 0)
    stored_exactly(sandbox, numbers)
    stats = sandbox.stats()
    assert stats["http_429"] > 0 and stats["http_503"] > 0 and stats["drops"] > 0
    # A record is written again only when an answer was lost after the work was done.
    assert stats["records_written"] - 3000 <= stats["drops"] * 15
    assert took < 60


def test_one_refused_record_does_not_sink_the_other_fourteen(
    sandbox: Sandbox, journal: Journal
) -> None:
    payloads = [payload(n) for n in range(1, 16)]
    payloads[6] = {**payloads[6], "_Shelf": "B-12"}  # not a column: the whole call is refused
    run_id = new_run(journal, payloads)

    with open_connection(sandbox) as connection:
        summary = SubmitRun(journal, connection.client, run_id, concurrency=1).run()

    assert summary.exit_code == 1 and (summary.counts.ok, summary.counts.failed) == (14, 1)
    (failed,) = journal.items(run_id, ["failed"])
    assert (failed.row, failed.key) == (8, key(7))
    assert "_Shelf" in failed.message
    stored_exactly(sandbox, range(1, 7))
    stored_exactly(sandbox, range(8, 16))
    assert key(7) not in sandbox.records()
    assert sandbox.stats()["http_400"] >= 2  # the bisection, not one call per record


def test_a_value_only_the_service_refuses_fails_its_row_alone(
    sandbox: Sandbox, journal: Journal
) -> None:
    payloads = [payload(n) for n in range(1, 16)]
    payloads[3] = {**payloads[3], "termFullPath": "Records/Finance/Receipts"}  # no such term
    run_id = new_run(journal, payloads)

    with open_connection(sandbox) as connection:
        summary = SubmitRun(journal, connection.client, run_id).run()

    assert (summary.counts.ok, summary.counts.failed) == (14, 1)
    (failed,) = journal.items(run_id, ["failed"])
    assert (failed.row, failed.key) == (5, key(4))
    assert "Records/Finance/Receipts" in failed.message
    assert sandbox.stats()["graph.submit"] == 1  # a partial failure needs no split


@pytest.mark.slow
def test_an_outage_stops_the_run_cleanly_and_resume_completes_it(
    make_sandbox: MakeSandbox, journal: Journal
) -> None:
    sandbox = make_sandbox(fail_rate=1.0)
    numbers = range(1, 91)
    run_id = new_run(journal, [payload(n) for n in numbers])

    with open_connection(sandbox) as connection:
        summary = SubmitRun(journal, connection.client, run_id, outage_limit=1.0).run()

        assert summary.status == "stopped" and summary.exit_code == 4
        assert summary.error is not None and "503" in summary.error.message
        info = journal.run(run_id)
        assert info.status == "stopped" and info.resumable
        assert (info.counts.pending, info.counts.in_flight, info.counts.ok) == (90, 0, 0)

        sandbox.faults.fail_rate = 0.0
        take_run(journal, run_id)
        summary = SubmitRun(journal, connection.client, run_id).run()

    assert summary.status == "done" and summary.counts.ok == 90
    stored_exactly(sandbox, numbers)


def test_the_legacy_protocol_stores_the_same_records(sandbox: Sandbox, journal: Journal) -> None:
    save_sandbox_profiles(sandbox)
    numbers = range(1, 41)
    run_id = new_run(journal, [payload(n) for n in numbers])
    with connect(find_profile("Sandbox (legacy)"), None, retry=fast_retry()) as connection:
        summary = SubmitRun(journal, connection.client, run_id, conflict="skip").run()
    assert summary.counts.ok == 40
    stored_exactly(sandbox, numbers)
