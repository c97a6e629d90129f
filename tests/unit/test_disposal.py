"""jobs.disposal over a fake service: due pages, the officer's sheet, the destroy run, its
journal and its audit entries, lost answers, outages, kills and retries."""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from opus_desktop import paths
from opus_desktop.core.errors import SheetError
from opus_desktop.core.schema import parse_template
from opus_desktop.jobs.audit import AuditLog
from opus_desktop.jobs.disposal import NOT_CONFIRMED, DestroyRun
from opus_desktop.jobs.disposal_outcome import (
    DESTROYED,
    FAILED,
    NOT_SENT,
    Tenant,
    certificate_path,
    reason_kind,
)
from opus_desktop.jobs.due import (
    DisposalItem,
    DueRecord,
    due_table,
    fetch_due,
    normalise_due,
    not_due_reason,
    plan_disposal,
    read_selection,
    summarise,
)
from opus_desktop.jobs.errors import AuditError, JobError
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.state import BatchResult, RunState
from opus_desktop.opus.errors import (
    AuthError,
    ProtocolError,
    RequestRejected,
    ServerError,
    ServiceUnavailable,
)
from opus_desktop.opus.protocols import DestroyResult, DuePage

BEFORE = datetime(2026, 1, 1, tzinfo=UTC)
TENANT = Tenant(
    "demo",
    "https://identity.example",
    "https://graph-us.example",
    "6f1c2a4e-3b7d-4e21-9a5c-0d8e7f6a1b2c",
)
TEMPLATE = parse_template(
    json.dumps(
        {
            "id": TENANT.connection_id,
            "conflictOption": "Overwrite",
            "data": [
                {
                    "rowKey": "SingleText",
                    "leafName": "SingleText",
                    "termFullPath": "Taxonomy",
                    "timeCreated": "DateTime",
                    "timeModified": "DateTime",
                    "_Case_%20_Number": "SingleText",
                }
            ],
        }
    )
)


def key(n: int) -> str:
    return f"K-{n:03d}"


class FakeOpus:
    """A tenant of due records: pages through them and marks them destroyed, like Opus.

    `before_call(keys)` may raise to refuse a call before it acts; `after_call(keys)` may
    raise after the records were destroyed (the answer is lost on the way back).
    """

    def __init__(self, count: int, *, display_names: bool = False) -> None:
        self.state: dict[str, str] = {key(n): "due" for n in range(count)}
        self.display_names = display_names
        self.destroy_calls: list[list[str]] = []
        self.destroyed_times: Counter[str] = Counter()
        self.before_call: Callable[[list[str]], None] | None = None
        self.after_call: Callable[[list[str]], None] | None = None
        self.unmatched: list[str] = []
        self.tokens: dict[str, int] = {}

    def item(self, row_key: str) -> dict[str, str]:
        n = int(row_key.split("-")[1])
        values = {
            "rowKey": row_key,
            "leafName": f"Minutes {n}",
            "termFullPath": f"Records/Class {n % 3}",
            "timeCreated": "2010-01-01 00:00:00",
            "timeModified": "2010-01-01 00:00:00",
            "_Case_%20_Number": f"C{n}",
            "disposalDueDate": f"2025-{n % 12 + 1:02d}-01 00:00:00",
        }
        if self.display_names:
            names = {
                "rowKey": "Row key",
                "leafName": "Name",
                "termFullPath": "Classification",
                "_Case_%20_Number": "Case Number",
                "disposalDueDate": "Disposal due date",
            }
            values = {names.get(k, k): v for k, v in values.items()}
        return values

    def due_page(self, before: datetime, start: str | None = None, per_page: int = 100) -> DuePage:
        due = [k for k, s in self.state.items() if s == "due"]
        offset = self.tokens[start] if start else 0
        page = due[offset : offset + per_page]
        following = offset + per_page
        token = None
        if following < len(due):
            token = f"t{following}"
            self.tokens[token] = following
        return DuePage([self.item(k) for k in page], token, f"{len(page)} due records.")

    def destroy(self, row_keys: Sequence[str]) -> DestroyResult:
        keys = list(row_keys)
        assert 1 <= len(keys) <= 15 and len(set(keys)) == len(keys)
        self.destroy_calls.append(keys)
        if self.before_call:
            self.before_call(keys)
        failed: dict[str, str] = {}
        for k in keys:
            state = self.state.get(k)
            if state is None:
                failed[k] = f"Record '{k}' was not found."
            elif state == "destroyed":
                failed[k] = f"Record '{k}' is already destroyed."
            elif state != "due":
                failed[k] = f"Record '{k}' cannot be destroyed: its disposal is {state}."
            else:
                self.state[k] = "destroyed"
                self.destroyed_times[k] += 1
        if self.after_call:
            self.after_call(keys)
        destroyed = [k for k in keys if k not in failed]
        return DestroyResult(
            destroyed,
            failed,
            list(self.unmatched),
            f"{len(destroyed)} of {len(keys)} records marked as destroyed.",
        )


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.sqlite3", lock_timeout=0.1) as j:
        yield j


@pytest.fixture
def audit(tmp_path: Path) -> AuditLog:
    return AuditLog(tmp_path / "audit.jsonl")


def items_of(opus: FakeOpus, keys: Sequence[str]) -> list[DisposalItem]:
    listed = {r.row_key: r for r in normalise_due([opus.item(k) for k in keys], TEMPLATE)}
    return [listed[k].item(row) for row, k in enumerate(keys, start=2)]


def runner(journal: Journal, audit: AuditLog, opus: FakeOpus, **kwargs: Any) -> DestroyRun:
    kwargs.setdefault("pause", 0.0)
    return DestroyRun(journal, audit, opus, TENANT, **kwargs)


def states(journal: Journal, run_id: str) -> dict[str, str]:
    return {item.key: item.state for item in journal.items(run_id)}


def answers_in_log(audit: AuditLog, run_id: str) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for entry in audit.entries():
        if entry.entry["run"] == run_id:
            found.update(entry.entry["answers"])
    return found


class Repeating(FakeOpus):
    """Lists key 1 on both of its two pages (the list moved between them)."""

    def due_page(self, before: datetime, start: str | None = None, per_page: int = 100) -> DuePage:
        if start is None:
            return DuePage([self.item(key(0)), self.item(key(1))], "next")
        return DuePage([self.item(key(1)), self.item(key(2))], None)


# -- due records -----------------------------------------------------------------------------


def test_fetch_due_follows_the_token_and_normalises() -> None:
    opus = FakeOpus(8)
    pages: list[int] = []
    listing = fetch_due(
        opus,
        BEFORE,
        per_page=3,
        template=TEMPLATE,
        on_page=lambda batch: pages.append(len(batch.records)),
    )
    assert pages == [3, 3, 2] and listing.pages == 3 and listing.complete
    assert [r.row_key for r in listing.records] == [key(n) for n in range(8)]
    first = listing.records[1]
    assert (first.name, first.classification, first.due) == (
        "Minutes 1",
        "Records/Class 1",
        "2025-02-01 00:00:00",
    )
    assert first.due_at == datetime(2025, 2, 1)
    assert first.values["_Case_%20_Number"] == "C1"
    assert "disposalDueDate" not in first.values


def test_display_name_keys_become_internal_names() -> None:
    opus = FakeOpus(2, display_names=True)
    record = fetch_due(opus, BEFORE, template=TEMPLATE).records[0]
    assert record.row_key == key(0) and record.name == "Minutes 0"
    assert record.values["_Case_%20_Number"] == "C0"
    assert record.due == "2025-01-01 00:00:00"


def test_fetch_due_stops_on_cancel_and_can_go_on() -> None:
    opus = FakeOpus(10)
    state = RunState()
    progress: list[int] = []
    state.on_progress(lambda p: progress.append(p.done))
    listing = fetch_due(opus, BEFORE, per_page=4, state=state, on_page=lambda batch: state.cancel())
    assert len(listing.records) == 4 and not listing.complete
    assert max(progress) == 4
    rest = fetch_due(opus, BEFORE, per_page=4, start=listing.next_start)
    assert [r.row_key for r in listing.records + rest.records] == [key(n) for n in range(10)]
    assert rest.complete


def test_a_key_listed_twice_is_kept_once() -> None:
    items = [FakeOpus(3).item(key(1)), FakeOpus(3).item(key(1)), FakeOpus(3).item(key(2))]
    records = normalise_due(items, TEMPLATE)
    assert len(records) == 3  # normalising keeps all; fetch_due drops repeats across pages

    listing = fetch_due(Repeating(3), BEFORE, per_page=2)
    assert [r.row_key for r in listing.records] == [key(0), key(1), key(2)]


def test_due_table_has_row_key_first_and_the_due_date_last() -> None:
    records = normalise_due([FakeOpus(1).item(key(0))], TEMPLATE)
    headers, made = due_table(records, TEMPLATE)
    rows = list(made)
    assert headers == [
        "Row key",
        "Decision",
        "Name",
        "Classification",
        "Created time",
        "Modified time",
        "Case Number",
        "Disposal due date",
    ]
    assert rows == [
        [
            key(0),
            "Destroy",
            "Minutes 0",
            "Records/Class 0",
            "2010-01-01 00:00:00",
            "2010-01-01 00:00:00",
            "C0",
            "2025-01-01 00:00:00",
        ]
    ]


# -- the officer's sheet ---------------------------------------------------------------------


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_read_selection_takes_the_row_key_column(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "signed.xlsx",
        [
            ["Row key", "Name", "Classification", "Disposal due date", "Approved by"],
            ["K-001", "Minutes 1", "Records/A", "2025-01-01 00:00:00", "Ann"],
            [None, None, None, None, None],
            [1002, "Numbered", "", "", "Ann"],
            ["K-001", "again", "", "", ""],
            ["K-003", "", "", "", ""],
        ],
    )
    selection = read_selection(path)
    assert selection.keys == ["K-001", "1002", "K-003"]
    assert selection.items[0] == DisposalItem(
        "K-001", "Minutes 1", "Records/A", "2025-01-01 00:00:00", 2
    )
    assert selection.repeated == {"K-001": [5]}


def test_read_selection_accepts_rowkey_in_csv(tmp_path: Path) -> None:
    path = tmp_path / "keys.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(
            [["rowKey", "disposalDueDate"], ["A-1", "2025-01-01"], ["A-2", "2025-01-02"]]
        )
    assert read_selection(path).keys == ["A-1", "A-2"]


def test_a_sheet_without_a_row_key_column_is_refused_by_name(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "wrong.xlsx", [["Key", "Name"], ["K-1", "x"]])
    with pytest.raises(SheetError, match=r'wrong\.xlsx.*"Row key".*"Key", "Name"'):
        read_selection(path)
    empty = write_xlsx(
        tmp_path / "empty.xlsx", [["Row key", "Name", "Disposal due date"], [None, "x", None]]
    )
    with pytest.raises(SheetError, match="lists no row keys"):
        read_selection(empty)


def test_plan_sends_due_keys_and_lists_the_others() -> None:
    opus = FakeOpus(5)
    due = normalise_due([opus.item(key(n)) for n in range(5)], TEMPLATE)
    selected = [
        DisposalItem(key(1), due=due[1].due, row=2),
        DisposalItem("GONE", "Old", row=3),
        DisposalItem(key(3), due=due[3].due, row=4),
    ]
    plan = plan_disposal(selected, due)
    assert [i.key for i in plan.send] == [key(1), key(3)]
    assert plan.send[0].name == "Minutes 1" and plan.send[0].row == 2  # from the fresh list
    assert [i.key for i in plan.not_due] == ["GONE"]
    assert [out.item.key for out in plan.not_sent] == ["GONE"]
    with_all = plan_disposal(selected, due, include_not_due=True)
    assert [i.key for i in with_all.send] == [key(1), "GONE", key(3)]
    assert with_all.not_sent == []


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("Record 'X' is already destroyed.", "already destroyed"),
        ("Record 'X' was not found.", "not found"),
        ("Record 'X' cannot be destroyed: its disposal is awaiting approval.", "awaiting approval"),
        ("Record 'X' cannot be destroyed: its disposal is rejected.", "rejected"),
        ("Record 'X' is not due for disposal.", "not due"),
        ("Something else", "other"),
    ],
)
def test_reasons_are_recognised(message: str, kind: str) -> None:
    assert reason_kind(message) == kind


# -- the destroy run -------------------------------------------------------------------------


def test_a_run_destroys_in_calls_of_fifteen_and_audits_every_key(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(50)
    keys = [key(n) for n in range(40)]
    run = runner(journal, audit, opus)
    run_id = run.create(
        items_of(opus, keys),
        "Retention over (schedule 4.2)",
        operator_name="Jane Officer",
        before=BEFORE,
    )
    batches: list[BatchResult] = []
    state = RunState()
    state.on_batch(batches.append)

    outcome = run.run(run_id, state)

    assert [len(c) for c in opus.destroy_calls] == [15, 15, 10]
    assert {k for k, s in opus.state.items() if s == "destroyed"} == set(keys)
    assert set(states(journal, run_id).values()) == {"ok"}
    assert [len(b.ok) for b in batches] == [15, 15, 10]
    assert outcome.all_destroyed and outcome.run.status == "done"
    assert state.progress().stored == 40
    (entry,) = audit.entries()
    body = entry.entry
    assert body["run"] == run_id and body["justification"] == "Retention over (schedule 4.2)"
    assert body["operator"]["name"] == "Jane Officer" and body["operator"]["account"]
    assert body["tenant"] == {"identity": TENANT.identity_url, "api": TENANT.api_url}
    assert body["connection"] == TENANT.connection_id and body["part"] == "run"
    assert [r["rowKey"] for r in body["records"]] == keys
    assert body["records"][1] == {
        "rowKey": key(1),
        "name": "Minutes 1",
        "classification": "Records/Class 1",
        "dueDate": "2025-02-01 00:00:00",
    }
    assert {a["outcome"] for a in body["answers"].values()} == {DESTROYED}
    assert journal.audit_anchors() == [entry.hash] and outcome.entry == entry
    assert audit.verify(journal.audit_anchors()).ok


def test_refusals_keep_opus_reasons_and_are_retried(journal: Journal, audit: AuditLog) -> None:
    opus = FakeOpus(6)
    opus.state[key(1)] = "awaiting approval"
    opus.state[key(2)] = "rejected"
    opus.state[key(3)] = "destroyed"
    run = runner(journal, audit, opus)
    wanted = [key(0), key(1), key(2), key(3), "NOPE"]
    items = [DisposalItem(k) for k in wanted]
    run_id = run.create(items, "Schedule 4.2")

    outcome = run.run(run_id, RunState())

    assert [r.key for r in outcome.destroyed] == [key(0)]
    reasons = {r.key: reason_kind(r.message) for r in outcome.failed}
    assert reasons == {
        key(1): "awaiting approval",
        key(2): "rejected",
        key(3): "already destroyed",
        "NOPE": "not found",
    }
    assert outcome.run.status == "done" and not outcome.all_destroyed
    assert {k: a["outcome"] for k, a in answers_in_log(audit, run_id).items()} == {
        key(0): DESTROYED,
        key(1): FAILED,
        key(2): FAILED,
        key(3): FAILED,
        "NOPE": FAILED,
    }

    opus.state[key(1)] = "due"  # approved meanwhile
    again = run.retry_failed(run_id, RunState())

    assert opus.destroy_calls[-1] == [key(1), key(2), key(3), "NOPE"]
    assert sorted(r.key for r in again.destroyed) == [key(0), key(1)]
    # Already destroyed before this run: still a failure, not claimed by the retry.
    assert reason_kind(next(r.message for r in again.failed if r.key == key(3))) == (
        "already destroyed"
    )
    second = list(audit.entries())[-1].entry
    assert second["part"] == "retry" and set(second["answers"]) == {key(1), key(2), key(3), "NOPE"}
    assert second["answers"][key(1)]["outcome"] == DESTROYED
    assert opus.destroyed_times[key(1)] == 1


def test_records_left_out_are_audited_as_not_sent(journal: Journal, audit: AuditLog) -> None:
    opus = FakeOpus(3)
    run = runner(journal, audit, opus)
    left = [DisposalItem("OLD-1", "Old file", "Records/X", "", 7)]
    run_id = run.create(
        [DisposalItem(key(0))], "Schedule", not_sent=left, reason=not_due_reason(BEFORE)
    )
    outcome = run.run(run_id, RunState())
    assert [r.key for r in outcome.not_sent] == ["OLD-1"]
    assert "not sent" in outcome.not_sent[0].message
    answer = answers_in_log(audit, run_id)["OLD-1"]
    assert answer["outcome"] == NOT_SENT and "--include-not-due" in answer["message"]
    assert all("OLD-1" not in call for call in opus.destroy_calls)
    assert journal.run(run_id).counts.skipped == 1
    assert outcome.exit_code == 1  # not everything selected was destroyed


def test_a_lost_answer_is_sent_again_and_counts_once(journal: Journal, audit: AuditLog) -> None:
    opus = FakeOpus(20)
    lost = iter([True])

    def lose_answer(keys: list[str]) -> None:
        if next(lost, False):
            raise ServiceUnavailable("The connection dropped before the answer came.")

    opus.after_call = lose_answer
    run = runner(journal, audit, opus)
    run_id = run.create(items_of(opus, [key(n) for n in range(20)]), "Schedule")

    outcome = run.run(run_id, RunState())

    assert [len(c) for c in opus.destroy_calls] == [15, 15, 5]
    assert outcome.all_destroyed and len(outcome.destroyed) == 20
    assert all(count == 1 for count in opus.destroyed_times.values())
    note = next(r.message for r in outcome.destroyed if r.key == key(0))
    assert "already destroyed" in note and "earlier sending" in note
    logged = answers_in_log(audit, run_id)
    assert logged[key(0)]["outcome"] == DESTROYED and "earlier sending" in logged[key(0)]["message"]


def test_already_destroyed_on_a_first_sending_is_a_failure(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(2)
    opus.state[key(0)] = "destroyed"
    run = runner(journal, audit, opus)
    outcome = run.run(run.create([DisposalItem(key(0)), DisposalItem(key(1))], "S"), RunState())
    assert [r.key for r in outcome.failed] == [key(0)]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_long_outage_stops_cleanly_and_resume_finishes(
    journal: Journal, audit: AuditLog, tmp_path: Path
) -> None:
    opus = FakeOpus(30)
    clock = Clock()
    calls = Counter[str]()

    def down_after_first(keys: list[str]) -> None:
        calls["n"] += 1
        if calls["n"] > 1:
            clock.now += 100
            raise ServiceUnavailable("Opus could not be reached (connection refused).")

    opus.before_call = down_after_first
    run = runner(journal, audit, opus, outage_limit=250, clock=clock)
    run_id = run.create(items_of(opus, [key(n) for n in range(30)]), "Schedule")

    outcome = run.run(run_id, RunState())

    assert outcome.run.status == "stopped" and "no answer for" in outcome.run.note
    assert isinstance(outcome.error, ServiceUnavailable) and outcome.exit_code == 4
    assert len(outcome.destroyed) == 15 and len(outcome.pending) == 15
    assert len(list(audit.entries())) == 1  # the first fifteen are audited already
    pending = [i for i in journal.items(run_id) if i.state == "pending"]
    assert all(i.message.startswith(NOT_CONFIRMED) for i in pending)

    opus.before_call = None
    journal.close()
    with Journal(tmp_path / "journal.sqlite3") as reopened:
        done = runner(reopened, audit, opus).resume(run_id, RunState())
    assert done.all_destroyed and done.run.status == "done"
    assert len(list(audit.entries())) == 2
    assert set(answers_in_log(audit, run_id)) == {key(n) for n in range(30)}


def test_a_kill_mid_run_then_resume_destroys_each_key_once(
    journal: Journal, audit: AuditLog, tmp_path: Path
) -> None:
    opus = FakeOpus(40)
    keys = [key(n) for n in range(40)]
    run = runner(journal, audit, opus)
    run_id = run.create(items_of(opus, keys), "Schedule 4.2", operator_name="Jane")
    # The first call is answered and journalled; the second reaches Opus, then the app dies.
    first = journal.claim(run_id, 15)
    opus.destroy([i.key for i in first])
    journal.finish(run_id, ok=[i.key for i in first])
    second = journal.claim(run_id, 15)
    opus.destroy([i.key for i in second])
    journal.close()  # killed: no answer journalled, no audit entry written

    with Journal(tmp_path / "journal.sqlite3") as again:
        outcome = runner(again, audit, opus).resume(run_id, RunState(), operator_name="Sam")

    assert outcome.all_destroyed and len(outcome.destroyed) == 40
    assert all(opus.destroyed_times[k] == 1 for k in keys)
    assert opus.destroy_calls[2] == [i.key for i in second]  # resent, then the rest
    (entry,) = audit.entries()
    assert set(entry.entry["answers"]) == set(keys)
    assert entry.entry["recovered"] == [i.key for i in first]
    assert entry.entry["part"] == "resume" and entry.entry["operator"]["name"] == "Sam"
    assert all(a["outcome"] == DESTROYED for a in entry.entry["answers"].values())


def test_an_unclear_answer_is_a_failure_that_a_retry_settles(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(3)
    opus.unmatched = ["Some items failed."]
    run = runner(journal, audit, opus)
    run_id = run.create([DisposalItem(key(n)) for n in range(3)], "S")
    outcome = run.run(run_id, RunState())
    assert len(outcome.failed) == 3
    assert all(r.message.startswith(NOT_CONFIRMED) for r in outcome.failed)
    opus.unmatched = []
    again = run.retry_failed(run_id, RunState())
    assert again.all_destroyed and all(n == 1 for n in opus.destroyed_times.values())


def test_a_call_refused_as_a_whole_is_split_to_find_the_bad_key(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(5)

    def refuse_bad(keys: list[str]) -> None:
        if "BAD KEY" in keys:
            raise RequestRejected(
                "The service refused the request.", "Row key 'BAD KEY' is not valid."
            )

    opus.before_call = refuse_bad
    run = runner(journal, audit, opus)
    run_id = run.create([DisposalItem(key(0)), DisposalItem("BAD KEY"), DisposalItem(key(1))], "S")
    outcome = run.run(run_id, RunState())
    assert sorted(r.key for r in outcome.destroyed) == [key(0), key(1)]
    assert [(r.key, r.message) for r in outcome.failed] == [
        ("BAD KEY", "Row key 'BAD KEY' is not valid.")
    ]


def test_a_refused_sign_in_stops_the_run_with_nothing_lost(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(20)

    def refuse(keys: list[str]) -> None:
        if len(opus.destroy_calls) > 1:
            raise AuthError("The identity service refused the app.")

    opus.before_call = refuse
    run = runner(journal, audit, opus)
    run_id = run.create(items_of(opus, [key(n) for n in range(20)]), "S")
    stopped = run.run(run_id, RunState())
    assert isinstance(stopped.error, AuthError) and stopped.exit_code == 3
    info = journal.run(run_id)
    assert info.status == "stopped" and info.counts.ok == 15 and info.counts.pending == 5
    assert info.audit_hash is not None  # the fifteen destroyed are in the log
    assert len(answers_in_log(audit, run_id)) == 15
    opus.before_call = None
    assert run.resume(run_id, RunState()).all_destroyed


def test_cancel_stops_between_calls_and_resume_goes_on(journal: Journal, audit: AuditLog) -> None:
    opus = FakeOpus(40)
    run = runner(journal, audit, opus)
    run_id = run.create(items_of(opus, [key(n) for n in range(40)]), "S")
    state = RunState()
    state.on_batch(lambda batch: state.cancel())
    outcome = run.run(run_id, state)
    assert outcome.run.status == "cancelled" and len(outcome.destroyed) == 15
    assert outcome.exit_code == 130
    assert run.resume(run_id, RunState()).all_destroyed
    assert sum(opus.destroyed_times.values()) == 40


def test_a_damaged_audit_log_stops_everything(journal: Journal, audit: AuditLog) -> None:
    audit.append({"action": "test"})
    text = audit.path.read_text(encoding="utf-8")
    audit.path.write_text(text.replace("test", "tost"), encoding="utf-8")
    opus = FakeOpus(3)
    run = runner(journal, audit, opus)
    run_id = run.create([DisposalItem(key(0))], "S")
    outcome = run.run(run_id, RunState())
    assert isinstance(outcome.error, AuditError) and "nothing was sent" in outcome.error.message
    assert outcome.exit_code == 2
    assert opus.destroy_calls == []
    assert journal.run(run_id).status == "stopped"


def test_create_refuses_an_empty_justification_and_resume_checks_the_run(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(2)
    run = runner(journal, audit, opus)
    with pytest.raises(JobError, match="justification"):
        run.create([DisposalItem(key(0))], "   ")
    submit = journal.create_run("submit", "demo", [(2, "A", {"rowKey": "A"})])
    journal.mark_ended(submit, "cancelled")
    with pytest.raises(JobError, match="not a disposal"):
        run.resume(submit, RunState())
    run_id = run.create([DisposalItem(key(0))], "S")
    journal.mark_ended(run_id, "cancelled")
    other = Tenant(
        "other", TENANT.identity_url, TENANT.api_url, "00000000-0000-0000-0000-000000000000"
    )
    with pytest.raises(JobError, match="use its profile"):
        DestroyRun(journal, audit, opus, other).resume(run_id, RunState())


def test_due_record_item_keeps_what_the_audit_needs() -> None:
    record = DueRecord("K", "Name", "Class", "2025-01-01", None, {"rowKey": "K"})
    assert record.item(4).payload() == {
        "rowKey": "K",
        "name": "Name",
        "classification": "Class",
        "dueDate": "2025-01-01",
    }


def test_a_server_error_is_split_and_a_record_that_keeps_failing_is_failed(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(6)
    first = iter([True])

    def fail_on_bad(keys: list[str]) -> None:
        if key(3) in keys:
            raise ServerError("The service failed while marking records destroyed.")
        if next(first, False):  # the first call acts, then fails: the answer is a 500
            for k in keys:
                opus.state[k] = "destroyed"
            raise ServerError("The service failed after doing its work.")

    opus.before_call = fail_on_bad
    run = runner(journal, audit, opus)
    run_id = run.create(items_of(opus, [key(n) for n in range(6)]), "S")
    outcome = run.run(run_id, RunState())
    assert sorted(r.key for r in outcome.destroyed) == [key(n) for n in (0, 1, 2, 4, 5)]
    (bad,) = outcome.failed
    assert bad.key == key(3) and bad.message.startswith(NOT_CONFIRMED) and "3 times" in bad.message
    assert sum(1 for call in opus.destroy_calls if call == [key(3)]) == 3


def test_an_unreadable_answer_is_sent_again_and_a_wrong_url_stops(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(4)
    garbled = iter([True])

    def garble(keys: list[str]) -> None:
        if next(garbled, False):
            raise ProtocolError("The reply is not JSON.", status=200)

    opus.after_call = garble
    run = runner(journal, audit, opus)
    run_id = run.create(items_of(opus, [key(n) for n in range(4)]), "S")
    # Before Opus ever answered the run, a reply that is not the API's stops it at once.
    first = run.run(run_id, RunState())
    assert isinstance(first.error, ProtocolError) and first.exit_code == 4
    item = next(iter(journal.items(run_id)))
    assert item.state == "pending" and item.message.startswith(NOT_CONFIRMED)
    outcome = run.resume(run_id, RunState())
    assert outcome.all_destroyed and outcome.exit_code == 0
    assert all(n == 1 for n in opus.destroyed_times.values())

    lost = FakeOpus(2)

    def not_there(keys: list[str]) -> None:
        raise ProtocolError("Nothing at that URL handles this.", status=404)

    lost.before_call = not_there
    other = runner(journal, audit, lost)
    stopped = other.run(other.create([DisposalItem(key(0))], "S"), RunState())
    assert isinstance(stopped.error, ProtocolError) and stopped.exit_code == 4
    assert stopped.run.status == "stopped" and len(stopped.pending) == 1
    item = next(iter(journal.items(stopped.run.id)))
    assert item.state == "pending" and not item.message.startswith(NOT_CONFIRMED)


def test_a_journal_failure_is_raised_after_the_run_is_ended(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(3)

    def boom(keys: list[str]) -> None:
        raise RuntimeError("a bug")

    opus.after_call = boom
    run = runner(journal, audit, opus)
    run_id = run.create([DisposalItem(key(0))], "S")
    with pytest.raises(RuntimeError, match="a bug"):
        run.run(run_id, RunState())
    info = journal.run(run_id)
    assert info.status == "stopped" and info.counts.pending == 1
    (item,) = journal.items(run_id)
    assert item.message.startswith(NOT_CONFIRMED)  # it reached Opus: a resume confirms it
    opus.after_call = None
    assert run.resume(run_id, RunState()).all_destroyed
    assert opus.destroyed_times[key(0)] == 1


def test_summarise_counts_classes_and_due_dates_in_the_tenant_format() -> None:
    items = [
        DisposalItem("A", classification="Records/Finance", due="14-03-2021 13:45:00"),
        DisposalItem("B", classification="Records/Legal", due="02-01-2022 08:00:00"),
        DisposalItem("C", classification="Records/Finance", due="30-12-2019 00:00:00"),
        DisposalItem("D"),
    ]
    summary = summarise(items, "dd-MM-yyyy HH:mm:ss")
    assert summary.count == 4
    assert summary.by_classification == [
        ("Records/Finance", 2),
        ("(no classification)", 1),
        ("Records/Legal", 1),
    ]
    assert (summary.earliest_due, summary.latest_due) == (
        "30-12-2019 00:00:00",
        "02-01-2022 08:00:00",
    )  # by date, not as text
    assert summarise([]).earliest_due == ""


def test_the_certificate_goes_where_chosen_beside_the_input_or_in_the_data_folder(
    journal: Journal, audit: AuditLog, tmp_path: Path
) -> None:
    run = runner(journal, audit, FakeOpus(1))
    chosen = run.create([DisposalItem(key(0))], "S", certificate=tmp_path / "mine.pdf")
    assert certificate_path(journal.run(chosen)) == tmp_path / "mine.pdf"
    sheet = tmp_path / "signed" / "due.xlsx"
    sheet.parent.mkdir()
    beside = run.create([DisposalItem(key(0))], "S", input_path=sheet)
    assert certificate_path(journal.run(beside)) == (
        sheet.parent / f"certificate-of-destruction-{beside}.pdf"
    )
    nowhere = run.create([DisposalItem(key(0))], "S")
    found = certificate_path(journal.run(nowhere))
    assert found.parent == paths.data_dir() / "certificates" and found.parent.is_dir()
