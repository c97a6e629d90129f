"""jobs.disposal against the sandbox over loopback: 250 due records on three pages, forty
of them ticked and destroyed, refusals with Opus's reasons, lost answers, and the audit log.

Every test checks what the sandbox holds (destroyed(), due_keys()), not only what the run
says came back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opus_desktop.core.datetimes import format_datetime
from opus_desktop.jobs.audit import AuditLog
from opus_desktop.jobs.connect import Connection, connect
from opus_desktop.jobs.disposal import DestroyRun
from opus_desktop.jobs.disposal_outcome import DESTROYED, Tenant, reason_kind
from opus_desktop.jobs.due import DisposalItem, fetch_due
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.state import RunState
from opus_desktop.opus import RetryPolicy
from opus_desktop.profiles import find_profile
from opus_desktop.sandbox import Sandbox
from opus_desktop.sandbox_profiles import LEGACY_PROFILE, save_sandbox_profiles
from tests.integration.conftest import MakeSandbox

ADDED = 130  # the demo tenant has 120 due records; these make 250
CLASSES = ("Records/Operations/Correspondence", "Records/Finance/Invoices")


def fast_retry() -> RetryPolicy:
    return RetryPolicy(attempts=10, base=0.002, cap=0.01)


def add_due_records(connection: Connection, sandbox: Sandbox, count: int = ADDED) -> list[str]:
    """Submit `count` records created in 2010, so their disposal is long due."""
    fmt = sandbox.pattern.pattern
    keys: list[str] = []
    records: list[dict[str, object]] = []
    for n in range(count):
        created = datetime(2010, 1, 1, 9, 0) + timedelta(days=n)
        key = f"OLD-{n:04d}"
        keys.append(key)
        records.append(
            {
                "rowKey": key,
                "leafName": f"Correspondence file {n}.docx",
                "termFullPath": CLASSES[n % 2],
                "timeCreated": format_datetime(created, fmt),
                "timeModified": format_datetime(created + timedelta(hours=2), fmt),
            }
        )
    for start in range(0, count, 15):
        result = connection.client.submit(records[start : start + 15])
        assert not result.failed and not result.unmatched
    return keys


def open_connection(sandbox: Sandbox, protocol: str = "graph") -> Connection:
    save_sandbox_profiles(sandbox)
    profile = find_profile("Sandbox" if protocol == "graph" else LEGACY_PROFILE)
    return connect(profile, None, retry=fast_retry())


def tenant_of(connection: Connection) -> Tenant:
    profile = connection.profile
    return Tenant(
        profile.name, profile.identity_url, profile.api_url, connection.client.connection_id
    )


@pytest.fixture
def opened() -> Iterator[Callable[..., Connection]]:
    connections: list[Connection] = []

    def open_(sandbox: Sandbox, protocol: str = "graph") -> Connection:
        connection = open_connection(sandbox, protocol)
        connections.append(connection)
        return connection

    yield open_
    for connection in connections:
        connection.close()


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.sqlite3") as opened_journal:
        yield opened_journal


@pytest.fixture
def audit(tmp_path: Path) -> AuditLog:
    return AuditLog(tmp_path / "audit.jsonl")


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.mark.parametrize("protocol", ["graph", "legacy"])
def test_page_through_tick_forty_destroy_exactly_those(
    make_sandbox: MakeSandbox,
    opened: Callable[..., Connection],
    journal: Journal,
    audit: AuditLog,
    protocol: str,
) -> None:
    sandbox = make_sandbox()
    connection = opened(sandbox, protocol)
    add_due_records(connection, sandbox)
    before = now()
    due_before = sandbox.due_keys(before)
    assert len(due_before) == 250

    pages: list[int] = []
    listing = fetch_due(
        connection.client,
        before,
        per_page=100,
        template=connection.profile.template(),
        date_format=connection.profile.date_format,
        on_page=lambda batch: pages.append(len(batch.records)),
    )
    assert pages == [100, 100, 50] and listing.complete
    assert {r.row_key for r in listing.records} == due_before
    added = next(r for r in listing.records if r.row_key == "OLD-0003")
    assert added.name == "Correspondence file 3.docx"
    assert added.classification == CLASSES[1]
    assert added.due.startswith("2017-01-04")  # created 2010-01-04, seven years' retention

    ticked = [r for n, r in enumerate(listing.records) if n % 6 == 0][:40]
    assert len(ticked) == 40
    run = DestroyRun(journal, audit, connection.client, tenant_of(connection), pause=0)
    run_id = run.create([r.item() for r in ticked], "Retention over (schedule 4.2)", before=before)
    outcome = run.run(run_id, RunState())

    keys = {r.row_key for r in ticked}
    assert sandbox.destroyed() == keys
    assert sandbox.due_keys(before) == due_before - keys
    assert outcome.all_destroyed and outcome.exit_code == 0
    after = fetch_due(connection.client, before, per_page=100)
    assert len(after.records) == 250 - 40
    assert not keys & {r.row_key for r in after.records}

    check = audit.verify(journal.audit_anchors())
    assert check.ok and check.entries == 1
    (entry,) = audit.entries()
    assert {k for k, a in entry.entry["answers"].items() if a["outcome"] == DESTROYED} == keys
    listed = {r["rowKey"]: r for r in entry.entry["records"]}
    assert listed[ticked[0].row_key]["dueDate"] == ticked[0].due
    assert listed[ticked[0].row_key]["classification"] == ticked[0].classification


def test_unknown_refused_and_already_destroyed_keys_come_back_with_reasons(
    sandbox: Sandbox, opened: Callable[..., Connection], journal: Journal, audit: AuditLog
) -> None:
    connection = opened(sandbox)
    due = sorted(sandbox.due_keys(now()))
    gone, waiting, refused, fine = due[:4]
    assert connection.client.destroy([gone]).destroyed == [gone]
    sandbox.set_record_state(waiting, "awaiting approval")
    sandbox.set_record_state(refused, "rejected")
    not_yet = next(iter(set(sandbox.records()) - sandbox.due_keys(now()) - {gone}))

    run = DestroyRun(journal, audit, connection.client, tenant_of(connection), pause=0)
    wanted = [gone, waiting, "NO-SUCH-KEY", refused, fine, not_yet]
    outcome = run.run(run.create([DisposalItem(k) for k in wanted], "Schedule 4.2"), RunState())

    assert [r.key for r in outcome.destroyed] == [fine]
    reasons = {r.key: reason_kind(r.message) for r in outcome.failed}
    assert reasons == {
        gone: "already destroyed",
        waiting: "awaiting approval",
        "NO-SUCH-KEY": "not found",
        refused: "rejected",
        not_yet: "not due",
    }
    assert sandbox.destroyed() == {gone, fine}
    assert outcome.exit_code == 1
    answers = {k: a["message"] for k, a in next(iter(audit.entries())).entry["answers"].items()}
    assert "not found" in answers["NO-SUCH-KEY"]

    sandbox.set_record_state(waiting, "active")  # approved meanwhile
    again = run.retry_failed(outcome.run.id, RunState())
    assert sorted(r.key for r in again.destroyed) == sorted([fine, waiting])
    assert sandbox.destroyed() == {gone, fine, waiting}
    assert reason_kind(next(r.message for r in again.failed if r.key == gone)) == (
        "already destroyed"
    )
    assert audit.verify(journal.audit_anchors()).ok and len(list(audit.entries())) == 2


def test_answers_lost_on_the_way_back_still_count_once(
    make_sandbox: MakeSandbox, opened: Callable[..., Connection], journal: Journal, audit: AuditLog
) -> None:
    sandbox = make_sandbox(drop_rate=0.4, seed=7)
    connection = opened(sandbox)
    keys = sorted(sandbox.due_keys(now()))[:60]
    run = DestroyRun(journal, audit, connection.client, tenant_of(connection), pause=0)
    outcome = run.run(run.create([DisposalItem(k) for k in keys], "Schedule"), RunState())

    assert sandbox.stats().get("drops", 0) > 0  # some answers were lost
    assert sandbox.destroyed() == set(keys)
    assert outcome.all_destroyed, [(r.key, r.message) for r in outcome.failed]
    assert sandbox.stats()["records_destroyed"] == 60


def test_an_unreachable_service_stops_the_run_and_resume_finishes(
    sandbox: Sandbox, opened: Callable[..., Connection], journal: Journal, audit: AuditLog
) -> None:
    connection = opened(sandbox)
    keys = sorted(sandbox.due_keys(now()))[:20]
    tenant = tenant_of(connection)
    gone = replace(connection.profile, api_url="http://127.0.0.1:9")  # nothing listens there
    with connect(gone, None, retry=RetryPolicy(attempts=1)) as nowhere:
        run = DestroyRun(journal, audit, nowhere.client, tenant, pause=0, outage_limit=0)
        run_id = run.create([DisposalItem(k) for k in keys], "Schedule")
        stopped = run.run(run_id, RunState())
    assert stopped.run.status == "stopped" and stopped.exit_code == 4
    assert sandbox.destroyed() == set()
    assert list(audit.entries()) == []  # nothing answered, nothing to audit

    resumed = DestroyRun(journal, audit, connection.client, tenant, pause=0).resume(
        run_id, RunState()
    )
    assert resumed.all_destroyed and sandbox.destroyed() == set(keys)
    assert audit.verify(journal.audit_anchors()).ok
