"""The signed-off due list (jobs/due.py): only a sheet with a "Disposal due date" column is
read, a Decision of Destroy / Keep, the plan's reasons for each key left out (held back,
destroyed already, not due yet, unknown), due dates compared as moments, the far lookup
of keys not due yet, and earlier disposals found in the audit log; plus a finished run
(jobs/disposal.finished) and per-key reasons in a run."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from opus_desktop.core.errors import SheetError
from opus_desktop.jobs.audit import AuditLog
from opus_desktop.jobs.disposal import finished
from opus_desktop.jobs.disposal_outcome import Tenant, destroyed_earlier, reason_kind
from opus_desktop.jobs.due import (
    DESTROYED_ALREADY,
    HELD_BACK,
    NOT_DUE_YET,
    UNKNOWN,
    UNKNOWN_REASON,
    DisposalItem,
    DueRecord,
    EarlierDisposal,
    due_table,
    find_due,
    normalise_due,
    plan_disposal,
    read_selection,
    same_due,
)
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.state import RunState
from opus_desktop.opus.protocols import DuePage
from opus_desktop.usecases.disposing import export_due
from tests.unit.test_disposal import (
    BEFORE,
    TEMPLATE,
    TENANT,
    FakeOpus,
    items_of,
    key,
    runner,
    write_xlsx,
)

HEAD = ["Row key", "Decision", "Name", "Disposal due date"]


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.sqlite3", lock_timeout=0.1) as opened:
        yield opened


@pytest.fixture
def audit(tmp_path: Path) -> AuditLog:
    return AuditLog(tmp_path / "audit.jsonl")


def due_of(opus: FakeOpus, count: int) -> list[DueRecord]:
    return normalise_due([opus.item(key(n)) for n in range(count)], TEMPLATE)


# -- the sheet -----------------------------------------------------------------------------------


def test_the_exported_list_reads_back_as_signed_off(tmp_path: Path) -> None:
    records = due_of(FakeOpus(3), 3)
    headers, made = due_table(records, TEMPLATE)
    rows = list(made)
    assert headers[:2] == ["Row key", "Decision"] and headers[-1] == "Disposal due date"
    assert [row[1] for row in rows] == ["Destroy"] * 3
    rows[1][1] = "keep"  # as the officer types it
    path = write_xlsx(tmp_path / "due.xlsx", [headers, *rows])
    selection = read_selection(path)
    assert selection.keys == [key(0), key(2)]
    assert [item.key for item in selection.kept] == [key(1)]
    assert selection.items[1] == DisposalItem(
        key(2), "Minutes 2", "Records/Class 2", "2025-03-01 00:00:00", 4
    )
    assert selection.kept[0].row == 3


def test_the_exported_xlsx_offers_destroy_and_keep_in_the_decision_column(
    tmp_path: Path,
) -> None:
    records = due_of(FakeOpus(4), 4)
    path = tmp_path / "due.xlsx"
    assert export_due(path, records, TEMPLATE, RunState()) == 4
    book = load_workbook(path)  # not read-only: that mode does not read validations
    try:
        sheet = book["Due records"]
        (rule,) = sheet.data_validations.dataValidation
        assert sheet["B1"].value == "Decision"
        assert [sheet.cell(r, 2).value for r in range(2, 6)] == ["Destroy"] * 4
    finally:
        book.close()
    assert rule.type == "list" and rule.formula1 == '"Destroy,Keep"'
    assert str(rule.sqref).startswith("B2:B")
    assert read_selection(path).keys == [key(n) for n in range(4)]


def test_the_exported_csv_has_the_same_rows_and_no_drop_down(tmp_path: Path) -> None:
    records = due_of(FakeOpus(2), 2)
    path = tmp_path / "due.csv"
    assert export_due(path, records, TEMPLATE, RunState()) == 2
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    headers, made = due_table(records, TEMPLATE)
    assert rows == [headers, *made]


def test_a_column_called_decision_in_the_template_moves_the_decision_aside() -> None:
    record = DueRecord("K-1", "n", "c", "2025-01-01", None, {"rowKey": "K-1", "Decision": "x"})
    headers, rows = due_table([record])
    assert headers == [
        "Row key",
        "Disposal decision",
        "Name",
        "Classification",
        "Decision",
        "Disposal due date",
    ]
    assert list(rows) == [["K-1", "Destroy", "", "", "x", "2025-01-01"]]


def test_the_disposal_decision_column_is_read_before_one_called_decision(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "due.xlsx",
        [
            ["Row key", "Decision", "Disposal decision", "Disposal due date"],
            ["A", "anything", "Keep", "2025-01-01"],
            ["B", "", "Destroy", "2025-01-01"],
        ],
    )
    selection = read_selection(path)
    assert selection.keys == ["B"] and [i.key for i in selection.kept] == ["A"]


def test_without_a_decision_column_every_row_is_destroyed(tmp_path: Path) -> None:
    path = tmp_path / "due.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(
            [["rowKey", "Disposal Due Date"], ["A-1", "2025-01-01"], ["A-2", ""]]
        )
    selection = read_selection(path)
    assert selection.keys == ["A-1", "A-2"] and selection.kept == []
    assert [item.due for item in selection.items] == ["2025-01-01", ""]


@pytest.mark.parametrize("header", ["Due date", "Disposal date", "Created time", "disposal_due"])
def test_a_sheet_without_the_due_date_column_is_no_due_list(tmp_path: Path, header: str) -> None:
    path = write_xlsx(tmp_path / "import.xlsx", [["Row key", header], ["A", "2025-01-01"]])
    with pytest.raises(SheetError) as caught:
        read_selection(path)
    assert caught.value.message == (
        'import.xlsx, sheet "Sheet" has no "Disposal due date" column, so it is not a due '
        "list as `opus-desktop due --out` or the Disposal tab's export writes it."
    )


@pytest.mark.parametrize(
    ("decision", "said"),
    [
        ("Maybe", 'the Decision "Maybe"'),
        (None, "no Decision"),
        ("Destroyed", 'the Decision "Destroyed"'),
    ],
)
def test_a_decision_neither_destroy_nor_keep_names_its_row(
    tmp_path: Path, decision: str | None, said: str
) -> None:
    path = write_xlsx(
        tmp_path / "due.xlsx",
        [
            HEAD,
            ["A", "Destroy", "a", "2025-01-01"],
            [None, "Maybe", "", ""],
            ["B", decision, "b", ""],
        ],
    )
    with pytest.raises(SheetError) as caught:
        read_selection(path)
    assert caught.value.message == (
        f'due.xlsx, sheet "Sheet", row 4: {said}; write Destroy or Keep (Keep is never sent).'
    )


def test_a_key_decided_both_ways_is_refused_and_once_counts_once(tmp_path: Path) -> None:
    same = write_xlsx(
        tmp_path / "same.xlsx",
        [HEAD, ["A", "Keep", "", ""], ["B", "Destroy", "", ""], ["A", "KEEP", "", ""]],
    )
    selection = read_selection(same)
    assert selection.keys == ["B"] and selection.repeated == {"A": [4]}
    both = write_xlsx(
        tmp_path / "both.xlsx", [HEAD, ["A", "Destroy", "", ""], ["A", "Keep", "", ""]]
    )
    with pytest.raises(SheetError) as caught:
        read_selection(both)
    assert caught.value.message == (
        'both.xlsx, sheet "Sheet" marks A Destroy in row 2 and Keep in row 3: decide once.'
    )


def test_a_list_of_keep_rows_only_is_read_and_an_empty_one_refused(tmp_path: Path) -> None:
    kept = write_xlsx(tmp_path / "kept.xlsx", [HEAD, ["A", "Keep", "", ""]])
    selection = read_selection(kept)
    assert selection.items == [] and [i.key for i in selection.kept] == ["A"]
    empty = write_xlsx(tmp_path / "empty.xlsx", [HEAD, [None, "Keep", "", ""]])
    with pytest.raises(SheetError, match='lists no row keys: the column "Row key" is empty'):
        read_selection(empty)


# -- the plan ------------------------------------------------------------------------------------


def record(key_: str, due: str, due_at: datetime | None) -> DueRecord:
    return DueRecord(key_, f"Name {key_}", "Records/A", due, due_at)


NOW = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)


def test_each_key_left_out_gets_its_own_kind_and_words() -> None:
    due = [
        record("DUE", "2025-01-01 09:00:00", datetime(2025, 1, 1, 9)),
        record("STALE", "2025-03-01 09:00:00", datetime(2025, 3, 1, 9)),
    ]
    later = {"LATER": record("LATER", "2031-05-01 09:00:00", datetime(2031, 5, 1, 9))}
    destroyed = {"GONE": EarlierDisposal("ab12cd34", "2025-06-01T10:04:05.123Z")}
    selected = [
        DisposalItem("DUE", due="2025-01-01 09:00:00", row=2),
        DisposalItem("STALE", due="2024-03-01 09:00:00", row=3),
        DisposalItem("LATER", due="2031-05-01 09:00:00", row=4),
        DisposalItem("GONE", due="2024-01-01 09:00:00", row=5),
        DisposalItem("NOPE", due="2024-01-01 09:00:00", row=6),
    ]
    plan = plan_disposal(selected, due, before=NOW, later=later, destroyed=destroyed)

    assert [(i.key, i.name, i.row) for i in plan.send] == [("DUE", "Name DUE", 2)]
    kinds = {out.item.key: out.kind for out in plan.left_out}
    assert kinds == {
        "STALE": HELD_BACK,
        "LATER": NOT_DUE_YET,
        "GONE": DESTROYED_ALREADY,
        "NOPE": UNKNOWN,
    }
    reasons = {out.item.key: out.reason for out in plan.left_out}
    assert reasons["STALE"] == (
        "Held back: Opus now gives its disposal due date as 2025-03-01 09:00:00, not "
        "2024-03-01 09:00:00 as on the signed-off list, so the retention changed after "
        "sign-off; sign it off again."
    )
    assert reasons["LATER"] == (
        "Not due yet: its disposal is due on 2031-05-01 09:00:00, after 2025-06-30 12:00 UTC."
    )
    assert (
        reasons["GONE"]
        == "Already destroyed: run ab12cd34 marked it destroyed on 2025-06-01 10:04 UTC."
    )
    assert reasons["NOPE"] == UNKNOWN_REASON
    assert {out.item.key: reason_kind(out.reason) for out in plan.left_out} == {
        "STALE": "held back",
        "LATER": "not due",
        "GONE": "already destroyed",
        "NOPE": "not found",
    }
    assert len(set(reasons.values())) == 4
    assert [i.key for i in plan.not_due] == ["LATER", "GONE", "NOPE"]
    assert [out.item.key for out in plan.of_kind(HELD_BACK)] == ["STALE"]
    assert [out.item.key for out in plan.not_sent] == ["STALE", "LATER", "GONE", "NOPE"]


def test_with_include_not_due_all_but_the_held_back_are_sent() -> None:
    due = [record("STALE", "2025-03-01", datetime(2025, 3, 1))]
    later = {"LATER": record("LATER", "2031-05-01", datetime(2031, 5, 1))}
    selected = [
        DisposalItem("STALE", due="2024-03-01", row=2),
        DisposalItem("LATER", due="", row=3),
        DisposalItem("NOPE", "As signed", row=4),
    ]
    plan = plan_disposal(selected, due, True, later=later)
    assert [(i.key, i.name, i.row) for i in plan.send] == [
        ("LATER", "Name LATER", 3),  # described as Opus lists it
        ("NOPE", "As signed", 4),
    ]
    assert [out.item.key for out in plan.not_sent] == ["STALE"]
    assert [out.item.key for out in plan.left_out] == ["STALE", "LATER", "NOPE"]
    assert plan.left_out[1].reason == "Not due yet: its disposal is due on 2031-05-01."


def test_a_blank_signed_off_date_is_held_back() -> None:
    due = [record("K", "2025-03-01 09:00:00", datetime(2025, 3, 1, 9))]
    plan = plan_disposal([DisposalItem("K", row=2)], due)
    assert plan.send == [] and plan.left_out[0].kind == HELD_BACK
    assert plan.left_out[0].reason == (
        "Held back: the signed-off list gives no disposal due date for it (Opus gives "
        "2025-03-01 09:00:00), so its sign-off cannot be checked; sign it off again."
    )


@pytest.mark.parametrize(
    ("signed", "same"),
    [
        ("2025-03-01 09:30:15", True),  # the same text
        (" 2025-03-01 09:30:15 ", True),
        ("2025-03-01T09:30:15", True),  # the same moment, written otherwise
        ("2025-03-01 09:30:00", True),  # seconds dropped by a sheet program
        ("2025-03-01 09:30", True),
        ("2025-03-01", True),  # a day only
        ("2025-03-01 00:00:00", True),
        ("2025-03-01T10:30:15+01:00", True),  # the same moment with an offset
        ("2025-03-01 09:31:15", False),
        ("2025-03-02", False),
        ("2026-03-01 09:30:15", False),
        ("2025-03-01 09:30:15 extra", False),
        ("soon", False),
        ("", False),
    ],
)
def test_due_dates_are_compared_as_moments(signed: str, same: bool) -> None:
    opus = record("K", "2025-03-01 09:30:15", datetime(2025, 3, 1, 9, 30, 15))
    assert same_due(signed, opus) is same


def test_a_record_whose_date_cannot_be_read_matches_its_text_only() -> None:
    opus = record("K", "1 March", None)
    assert same_due("1 March", opus) and not same_due("2025-03-01", opus)


def test_the_profile_s_date_format_reads_the_signed_off_date() -> None:
    opus = record("K", "3-1-2025 9:30:15 AM", datetime(2025, 3, 1, 9, 30, 15))
    assert same_due("3-1-2025 9:30:00 AM", opus, "M-d-yyyy h:mm:ss tt")
    assert not same_due("3-2-2025 9:30:15 AM", opus, "M-d-yyyy h:mm:ss tt")


# -- looking keys up -----------------------------------------------------------------------------


class Pages:
    """Due pages of two records each, counting the calls."""

    def __init__(self, pages: Sequence[Sequence[str]]) -> None:
        self.pages = [list(page) for page in pages]
        self.calls: list[tuple[datetime, str | None]] = []

    def due_page(self, before: datetime, start: str | None = None, per_page: int = 100) -> DuePage:
        self.calls.append((before, start))
        index = int(start) if start else 0
        more = str(index + 1) if index + 1 < len(self.pages) else None
        items = [
            {"rowKey": k, "leafName": k.lower(), "disposalDueDate": "2030-01-01 00:00:00"}
            for k in self.pages[index]
        ]
        return DuePage(items, more, "")


def test_find_due_stops_once_every_key_is_found() -> None:
    client = Pages([["A", "B"], ["C", "D"], ["E", "F"]])
    state = RunState()
    found = find_due(client, ["C", "A", "C"], BEFORE, state=state)
    assert sorted(found) == ["A", "C"] and found["C"].name == "c"
    assert found["C"].due_at == datetime(2030, 1, 1)
    assert client.calls == [(BEFORE, None), (BEFORE, "1")]
    assert state.progress().status == "Looking up the due dates of 2 keys: page 2"


def test_find_due_goes_to_the_end_for_a_key_it_cannot_find_and_stops_on_cancel() -> None:
    client = Pages([["A", "B"], ["C", "D"], ["E", "F"]])
    assert list(find_due(client, ["F", "NOPE"], BEFORE)) == ["F"] and len(client.calls) == 3
    assert find_due(client, [], BEFORE) == {} and len(client.calls) == 3
    state = RunState()
    state.cancel()
    client.calls.clear()
    assert find_due(client, ["NOPE"], BEFORE, state=state) == {}
    assert len(client.calls) == 1


def test_destroyed_earlier_reads_this_tenant_s_destroyed_answers(
    tmp_path: Path, audit: AuditLog
) -> None:
    other_api = Tenant(
        TENANT.profile, TENANT.identity_url, "https://elsewhere", TENANT.connection_id
    )
    other_connection = Tenant(TENANT.profile, TENANT.identity_url, TENANT.api_url, "another")

    def entry(run: str, tenant: Tenant, answers: dict[str, str]) -> None:
        audit.append(
            {
                "action": "destroy",
                "run": run,
                "tenant": {"identity": tenant.identity_url, "api": tenant.api_url},
                "connection": tenant.connection_id,
                "answers": {k: {"outcome": v, "message": ""} for k, v in answers.items()},
            }
        )

    entry("run-1", TENANT, {"A": "destroyed", "B": "failed", "C": "not sent"})
    audit.append(
        {
            "action": "destroy",
            "tenant": {"identity": TENANT.identity_url, "api": TENANT.api_url},
            "connection": TENANT.connection_id,
            "answers": {"F": {"outcome": "destroyed", "message": ""}},
        }
    )  # an entry that names no run
    entry("run-2", other_api, {"B": "destroyed"})
    entry("run-3", other_connection, {"B": "destroyed"})
    audit.append({"action": "submit", "run": "run-4", "connection": TENANT.connection_id})
    entry("run-5", TENANT, {"A": "destroyed", "D": "destroyed", "E": "destroyed"})

    found = destroyed_earlier(audit, TENANT, ["A", "B", "C", "D", "F", "Z"])
    assert {k: v.run for k, v in found.items()} == {"A": "run-1", "D": "run-5", "F": ""}
    first = next(iter(audit.entries()))
    assert found["A"].time == first.time
    assert destroyed_earlier(audit, TENANT, []) == {}
    assert destroyed_earlier(AuditLog(tmp_path / "none.jsonl"), TENANT, ["A"]) == {}
    (tmp_path / "audit.jsonl").write_text("not json\n", encoding="utf-8")
    assert destroyed_earlier(audit, TENANT, ["A"]) == {}  # a damaged log tells nothing


# -- a run: reasons per key, and whether it is finished ------------------------------------------


def test_each_record_left_out_keeps_its_own_reason(journal: Journal, audit: AuditLog) -> None:
    opus = FakeOpus(3)
    run = runner(journal, audit, opus)
    left = [DisposalItem("X", row=5), DisposalItem("Y", row=6), DisposalItem("Z", row=7)]
    run_id = run.create(
        items_of(opus, [key(0)]),
        "Schedule",
        not_sent=left,
        reason="The fallback.",
        reasons={"X": UNKNOWN_REASON, "Y": "Held back: the retention changed after sign-off."},
    )
    messages = {item.key: item.message for item in journal.items(run_id, ["skipped"])}
    assert messages == {
        "X": UNKNOWN_REASON,
        "Y": "Held back: the retention changed after sign-off.",
        "Z": "The fallback.",
    }
    outcome = run.run(run_id, RunState())
    assert {r.key: r.message for r in outcome.not_sent} == messages
    other = run.create(items_of(opus, [key(1)]), "Schedule", not_sent=[DisposalItem("W")])
    assert next(journal.items(other, ["skipped"])).message == "Not sent."


def test_a_run_is_finished_once_it_ended_with_nothing_to_send_and_all_audited(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(4)
    opus.state[key(2)] = "awaiting approval"
    run = runner(journal, audit, opus)
    run_id = run.create(items_of(opus, [key(0), key(1), key(2)]), "Schedule")
    assert not finished(journal, audit, run_id)  # nothing sent yet
    run.run(run_id, RunState())
    assert finished(journal, audit, run_id)  # resuming would send nothing
    assert not finished(journal, audit, run_id, failed_only=True)  # a retry sends key 2

    opus.state[key(2)] = "due"
    run.retry_failed(run_id, RunState())
    assert finished(journal, audit, run_id) and finished(journal, audit, run_id, True)
    calls = len(opus.destroy_calls)
    assert finished(journal, audit, run_id) and len(opus.destroy_calls) == calls


def test_a_run_whose_answers_are_not_all_audited_is_not_finished(
    journal: Journal, audit: AuditLog, tmp_path: Path
) -> None:
    opus = FakeOpus(2)
    run = runner(journal, audit, opus)
    run_id = run.create(items_of(opus, [key(0), key(1)]), "Schedule")
    run.run(run_id, RunState())
    elsewhere = AuditLog(tmp_path / "other.jsonl")  # a log without the run's entry
    assert finished(journal, audit, run_id) and not finished(journal, elsewhere, run_id)


def test_a_run_that_did_not_end_is_not_finished(journal: Journal, audit: AuditLog) -> None:
    opus = FakeOpus(2)
    run = runner(journal, audit, opus)
    run_id = run.create(items_of(opus, [key(0)]), "Schedule")
    journal.mark_started(run_id)
    assert journal.run(run_id).status == "running"
    assert not finished(journal, audit, run_id)

    done = run.create(items_of(opus, [key(1)]), "Schedule")
    run.run(done, RunState())
    assert finished(journal, audit, done)
    journal.mark_started(done)  # taken up again: it is running, with nothing left
    assert journal.run(done).counts.remaining == 0
    assert not finished(journal, audit, done)
    journal.mark_ended(done, "stopped", "Stopped: the sign-in was refused.")
    assert finished(journal, audit, done)  # stopped, but nothing was left to send


def test_a_run_cancelled_after_its_last_call_is_finished(journal: Journal, audit: AuditLog) -> None:
    opus = FakeOpus(2)
    run = runner(journal, audit, opus)
    state = RunState()
    state.on_batch(lambda _result: state.cancel())
    run_id = run.create(items_of(opus, [key(0), key(1)]), "Schedule")
    outcome = run.run(run_id, state)
    assert outcome.run.status == "cancelled" and outcome.all_destroyed
    assert finished(journal, audit, run_id)
    cut = run.create(items_of(FakeOpus(20), [key(n) for n in range(2, 20)]), "Schedule")
    stopped = run.run(cut, state)  # cancelled before its first call
    assert stopped.run.status == "cancelled" and stopped.pending
    assert not finished(journal, audit, cut)


def test_finished_is_for_disposal_runs_only(journal: Journal, audit: AuditLog) -> None:
    run_id = journal.create_run("submit", "demo", [(2, "K", {"rowKey": "K"})])
    with pytest.raises(Exception, match="submitted records; it is not a disposal"):
        finished(journal, audit, run_id)
