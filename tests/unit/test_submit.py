"""Submit runs against a fake client: batches, splitting, pace, cancel, outage, resume."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from opus_desktop.cli.progress import ProgressBar, duration
from opus_desktop.core.sheets import SheetData, SheetRow, read_sheet
from opus_desktop.core.validation import validate
from opus_desktop.jobs.errors import JobError, RunInProgress
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.report import file_sha256, write_run_report
from opus_desktop.jobs.state import BatchResult, RunState
from opus_desktop.jobs.submit import (
    SERVER_ERROR_TRIES,
    SubmitRun,
    conflict_option,
    create_submit_run,
    take_run,
)
from opus_desktop.opus.errors import (
    AuthError,
    Failure,
    ProtocolError,
    RequestRejected,
    ServerError,
    ServiceUnavailable,
)
from opus_desktop.opus.protocols import SubmitResult
from opus_desktop.opus.retry import RetryPolicy
from tests.helpers.workbooks import demo_settings, demo_template, write_csv

Outcome = SubmitResult | BaseException
Behaviour = Callable[[list[str]], Outcome]


def stored(keys: list[str]) -> SubmitResult:
    return SubmitResult(message=f"{len(keys)} records submitted.", stored=list(keys))


class FakeClient:
    """Answers each call through `behaviour(keys)`; records every call's row keys."""

    def __init__(self, behaviour: Behaviour = stored, delay: float = 0.0) -> None:
        self.behaviour = behaviour
        self.delay = delay
        self.calls: list[list[str]] = []
        self.payloads: list[dict[str, Any]] = []
        self.conflicts: set[str] = set()
        self.lock = threading.Lock()
        self.active = 0
        self.most_active = 0
        self.retry = RetryPolicy(sleep=lambda _: None)

    def submit(
        self, records: Sequence[Mapping[str, object]], conflict: str = "Overwrite"
    ) -> SubmitResult:
        keys = [str(record["rowKey"]) for record in records]
        with self.lock:
            self.calls.append(keys)
            self.payloads.extend(dict(record) for record in records)
            self.conflicts.add(conflict)
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            if self.delay:
                time.sleep(self.delay)
            outcome = self.behaviour(keys)
        finally:
            with self.lock:
                self.active -= 1
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def sent(self) -> list[str]:
        return [key for call in self.calls for key in call]


class FakeClock:
    """Time that passes only when the run sleeps (or a test moves it)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()
        self.slept: list[float] = []

    def __call__(self) -> float:
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.slept.append(seconds)
            self.now += seconds


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.sqlite3") as opened:
        yield opened


def keys(count: int, prefix: str = "K") -> list[str]:
    return [f"{prefix}{n:04d}" for n in range(1, count + 1)]


def new_run(journal: Journal, count: int) -> str:
    items = [
        (n + 1, key, {"rowKey": key, "leafName": f"Doc {key}"}) for n, key in enumerate(keys(count))
    ]
    return journal.create_run("submit", "Sandbox", items)


def states(journal: Journal, run_id: str) -> dict[str, str]:
    return {item.key: item.state for item in journal.items(run_id)}


def submit(
    journal: Journal,
    run_id: str,
    client: FakeClient,
    state: RunState | None = None,
    clock: FakeClock | None = None,
    **options: Any,
) -> Any:
    clock = clock or FakeClock()
    options.update(clock=clock, sleep=clock.sleep)
    options.setdefault("retries", client.retry)
    return SubmitRun(journal, client, run_id, state, **options).run()


# -- batches and concurrency ----------------------------------------------------------------


def test_records_go_in_batches_of_fifteen_in_order_and_end_done(journal: Journal) -> None:
    run_id = new_run(journal, 40)
    client = FakeClient()
    state = RunState()
    results: list[BatchResult] = []
    state.on_batch(results.append)

    summary = submit(journal, run_id, client, state, concurrency=1)

    assert client.calls == [keys(40)[:15], keys(40)[15:30], keys(40)[30:]]
    assert set(states(journal, run_id).values()) == {"ok"}
    assert summary.status == "done" and summary.exit_code == 0
    assert (summary.counts.ok, summary.calls) == (40, 3)
    assert journal.run(run_id).status == "done"
    assert [len(r.ok) for r in results] == [15, 15, 10]
    assert state.progress().stored == 40 and state.progress().fraction == 1.0


def test_the_calls_in_flight_reach_the_concurrency_and_never_exceed_it(journal: Journal) -> None:
    run_id = new_run(journal, 15 * 12)
    client = FakeClient(delay=0.03)

    submit(journal, run_id, client, concurrency=3)

    assert client.most_active == 3
    assert sorted(client.sent()) == keys(180)  # each record sent exactly once


def test_the_conflict_option_reaches_the_client(journal: Journal) -> None:
    run_id = new_run(journal, 3)
    client = FakeClient()
    submit(journal, run_id, client, conflict="skip")
    assert client.conflicts == {"Skip"}
    assert conflict_option("OVERWRITE") == "Overwrite"
    with pytest.raises(ValueError):
        conflict_option("merge")


def test_a_run_not_held_by_this_journal_cannot_be_sent(journal: Journal, tmp_path: Path) -> None:
    run_id = new_run(journal, 3)
    with Journal(tmp_path / "journal.sqlite3") as other, pytest.raises(RuntimeError):
        SubmitRun(other, FakeClient(), run_id).run()


# -- the service's verdicts -------------------------------------------------------------------


def test_items_the_service_names_as_failed_are_failed_with_its_message(journal: Journal) -> None:
    run_id = new_run(journal, 15)

    def some_fail(sent: list[str]) -> SubmitResult:
        failed = {"K0003": "Name: a value is required.", "K0011": "Date is not a date."}
        return SubmitResult("13 of 15 submitted", [k for k in sent if k not in failed], failed)

    summary = submit(journal, run_id, FakeClient(some_fail))

    items = {item.key: item for item in journal.items(run_id)}
    assert (
        items["K0003"].state == "failed" and items["K0003"].message == "Name: a value is required."
    )
    assert items["K0003"].row == 3  # the failure maps back to its row
    assert items["K0011"].state == "failed"
    assert sum(item.state == "ok" for item in items.values()) == 13
    assert summary.exit_code == 1


def test_a_refused_batch_is_split_until_the_bad_record_is_found(journal: Journal) -> None:
    run_id = new_run(journal, 15)

    def one_bad(sent: list[str]) -> Outcome:
        if "K0009" in sent:
            return RequestRejected(
                "The service refused the request.", service_message="Column _Foo is unknown."
            )
        return stored(sent)

    client = FakeClient(one_bad)
    summary = submit(journal, run_id, client, concurrency=1)

    found = states(journal, run_id)
    assert [key for key, state in found.items() if state == "failed"] == ["K0009"]
    assert sum(state == "ok" for state in found.values()) == 14
    message = next(journal.items(run_id, ["failed"])).message
    assert message == "The service refused this record: Column _Foo is unknown."
    # 15 -> 7 + 8 -> 8 is split 4 + 4 -> 2 + 2 -> 1 + 1: a bisection, not one call per record.
    assert client.calls[0] == keys(15)
    assert len(client.calls) <= 1 + 2 * 4
    assert client.sent().count("K0001") == 2  # once refused with the batch, once stored
    assert summary.counts.ok == 14 and summary.counts.failed == 1


def test_a_single_record_refused_fails_without_splitting(journal: Journal) -> None:
    run_id = journal.create_run("submit", "p", [(2, "A", {"rowKey": "A"})])
    client = FakeClient(lambda sent: RequestRejected("The service refused the request: bad."))
    submit(journal, run_id, client)
    assert client.calls == [["A"]]
    assert next(journal.items(run_id)).message == "The service refused the request: bad."


def test_unnamed_failures_make_the_rest_uncertain_and_they_are_sent_again(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 15)

    def unnamed_once(sent: list[str]) -> SubmitResult:
        if len(sent) == 15:
            return SubmitResult(
                "some failed",
                [k for k in sent if k != "K0002"],
                {"K0002": "bad name"},
                unmatched=["An item failed."],
            )
        return stored(sent)

    client = FakeClient(unnamed_once)
    submit(journal, run_id, client, concurrency=1)

    found = states(journal, run_id)
    assert found["K0002"] == "failed"
    assert all(state == "ok" for key, state in found.items() if key != "K0002")
    assert "K0002" not in client.sent()[15:]  # a named failure is not sent again
    assert sorted(client.sent()[15:]) == sorted(k for k in keys(15) if k != "K0002")


def test_an_unnamed_failure_of_a_single_record_fails_it(journal: Journal) -> None:
    run_id = new_run(journal, 2)

    def second_fails(sent: list[str]) -> SubmitResult:
        if "K0002" in sent:
            return SubmitResult("failed", [k for k in sent], {}, unmatched=["Invalid item."])
        return stored(sent)

    submit(journal, run_id, FakeClient(second_fails), concurrency=1)

    items = {item.key: item for item in journal.items(run_id)}
    assert items["K0001"].state == "ok"
    assert (items["K0002"].state, items["K0002"].message) == ("failed", "Invalid item.")


def test_a_record_the_answer_leaves_out_is_failed_not_waited_for(journal: Journal) -> None:
    run_id = new_run(journal, 3)
    client = FakeClient(lambda sent: SubmitResult("2 records submitted.", sent[:2]))
    summary = submit(journal, run_id, client)
    assert summary.status == "done" and len(client.calls) == 1
    (left_out,) = journal.items(run_id, ["failed"])
    assert left_out.key == "K0003" and "did not mention" in left_out.message


def test_a_record_that_keeps_getting_500_fails_and_the_others_are_stored(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 6)

    def crashes_on_k4(sent: list[str]) -> Outcome:
        if "K0004" in sent:
            return ServerError("The service failed.", service_message="NullReference")
        return stored(sent)

    client = FakeClient(crashes_on_k4)
    submit(journal, run_id, client, concurrency=1)

    items = {item.key: item for item in journal.items(run_id)}
    assert items["K0004"].state == "failed"
    assert items["K0004"].message == (
        f"The service failed on this record {SERVER_ERROR_TRIES} times: NullReference"
    )
    assert sum(item.state == "ok" for item in items.values()) == 5
    assert client.calls.count(["K0004"]) == SERVER_ERROR_TRIES


# -- transient faults, pace and outages ---------------------------------------------------------


def test_transient_failures_release_the_batch_and_it_is_sent_again(journal: Journal) -> None:
    run_id = new_run(journal, 30)
    failures = iter([True, True, False, True])

    def flaky(sent: list[str]) -> Outcome:
        if next(failures, False):
            return ServiceUnavailable("The service answered HTTP 503 six times.", 503)
        return stored(sent)

    clock = FakeClock()
    state = RunState()
    results: list[BatchResult] = []
    state.on_batch(results.append)
    statuses: list[str] = []
    state.on_progress(lambda p: statuses.append(p.status))
    summary = submit(journal, run_id, FakeClient(flaky), state, clock, concurrency=2)

    assert summary.status == "done" and summary.counts.ok == 30 and summary.counts.failed == 0
    released = [r for r in results if r.released]
    assert len(released) == 3
    assert all("HTTP 503" in r.message for r in released)
    assert len(clock.slept) >= 1  # the run backed off before sending again
    assert any(
        text.startswith("The service is unavailable (HTTP 503); trying again in")
        for text in statuses
    )
    assert statuses[-1] == "Done"


def test_a_cut_off_reply_mid_run_is_sent_again_but_a_wrong_address_stops_the_run(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 30)
    answers = iter([None, ProtocolError("The reply is not JSON.", status=200)])
    client = FakeClient(lambda sent: next(answers, None) or stored(sent))
    assert submit(journal, run_id, client, concurrency=1).counts.ok == 30
    assert len(client.calls) == 3

    run_id = new_run(journal, 15)
    wrong = FakeClient(lambda sent: ProtocolError("Nothing at that URL.", status=404))
    summary = submit(journal, run_id, wrong)
    assert summary.status == "stopped" and summary.exit_code == 4
    assert len(wrong.calls) == 1
    assert set(states(journal, run_id).values()) == {"pending"}


def test_a_429_heard_during_a_call_halves_the_calls_in_flight(journal: Journal) -> None:
    run_id = new_run(journal, 15 * 4)
    client = FakeClient()
    heard: list[tuple[str, int | None]] = []
    client.retry.on_retry = lambda reason, status, delay: heard.append((reason, status))
    limits: list[int] = []

    def throttled_first(sent: list[str]) -> SubmitResult:
        if len(client.calls) == 1:
            client.retry.tell(Failure.THROTTLED, 429, 0.0)
        limits.append(run.pace.limit)
        return stored(sent)

    client.behaviour = throttled_first
    clock = FakeClock()
    run = SubmitRun(
        journal, client, run_id, concurrency=4, clock=clock, sleep=clock.sleep, retries=client.retry
    )
    run.run()

    assert limits[0] == 2  # halved from 4 by the 429
    assert heard == [("throttled", 429)]  # the policy's own hook still hears
    assert client.retry.patience() is None  # the run stopped listening when it ended


def test_a_run_not_given_the_retry_policy_does_not_listen_to_it(journal: Journal) -> None:
    run_id = new_run(journal, 15 * 4)
    client = FakeClient()
    limits: list[int] = []

    def throttled_first(sent: list[str]) -> SubmitResult:
        if len(client.calls) == 1:
            assert client.retry.patience() is None
            client.retry.tell(Failure.THROTTLED, 429, 0.0)
        limits.append(run.pace.limit)
        return stored(sent)

    client.behaviour = throttled_first
    clock = FakeClock()
    run = SubmitRun(journal, client, run_id, concurrency=4, clock=clock, sleep=clock.sleep)
    run.run()
    assert limits[0] == 4


def test_the_outage_limit_is_the_patience_of_the_calls_retries(journal: Journal) -> None:
    run_id = new_run(journal, 3)
    client = FakeClient()
    seen: list[float | None] = []
    client.behaviour = lambda sent: seen.append(client.retry.patience()) or stored(sent)
    submit(journal, run_id, client, outage_limit=42.0)
    assert seen == [42.0]
    assert client.retry.patience() is None


def test_a_long_outage_stops_the_run_cleanly_and_resume_completes(
    journal: Journal, tmp_path: Path
) -> None:
    run_id = new_run(journal, 45)
    answers = iter([True])

    def down_after_first(sent: list[str]) -> Outcome:
        if next(answers, False):
            return stored(sent)
        return ServiceUnavailable("K0016 could not be reached (no connection).")

    clock = FakeClock()
    client = FakeClient(down_after_first)
    summary = submit(journal, run_id, client, clock=clock, concurrency=2, outage_limit=120.0)

    assert summary.status == "stopped" and summary.exit_code == 4
    assert summary.error is not None and "no answer for 2 minutes" in summary.error.message
    assert "could not be reached" in summary.error.message
    assert clock.now >= 120.0
    info = journal.run(run_id)
    assert info.status == "stopped" and info.resumable
    assert (info.counts.ok, info.counts.pending, info.counts.in_flight) == (15, 30, 0)

    take_run(journal, run_id)
    again = FakeClient()
    summary = submit(journal, run_id, again)
    assert summary.status == "done" and summary.counts.ok == 45
    assert sorted(again.sent()) == keys(45)[15:]  # stored records are never sent again


def test_an_auth_error_stops_the_run_with_the_records_back_to_pending(journal: Journal) -> None:
    run_id = new_run(journal, 60)
    answers = iter([False])

    def refused(sent: list[str]) -> Outcome:
        if next(answers, True):
            return AuthError("The identity service refused the app: wrong client id.")
        return stored(sent)

    client = FakeClient(refused)
    summary = submit(journal, run_id, client, concurrency=1)

    assert summary.status == "stopped" and summary.exit_code == 3
    assert "wrong client id" in summary.error.message
    assert len(client.calls) == 2  # nothing new starts after the refusal
    info = journal.run(run_id)
    assert (info.counts.ok, info.counts.pending, info.counts.in_flight) == (15, 45, 0)
    assert "wrong client id" in info.note


def test_a_bug_in_the_client_is_raised_after_ending_the_run(journal: Journal) -> None:
    run_id = new_run(journal, 20)
    client = FakeClient(lambda sent: RuntimeError("boom"))
    with pytest.raises(RuntimeError, match="boom"):
        submit(journal, run_id, client)
    info = journal.run(run_id)
    assert info.status == "stopped" and info.counts.in_flight == 0 and info.resumable


# -- cancel and resume ----------------------------------------------------------------------


def test_cancel_lets_calls_under_way_finish_and_starts_nothing_new(journal: Journal) -> None:
    run_id = new_run(journal, 150)
    state = RunState()
    client = FakeClient(delay=0.02)

    def cancel_on_third(sent: list[str]) -> SubmitResult:
        if len(client.calls) >= 3:
            state.cancel()
        return stored(sent)

    client.behaviour = cancel_on_third
    summary = submit(journal, run_id, client, state, concurrency=2)

    assert summary.status == "cancelled" and summary.exit_code == 130
    calls = len(client.calls)
    assert 3 <= calls <= 4  # the third, and the one beside it, finished; no more started
    assert state.progress().cancel_requested
    info = journal.run(run_id)
    assert info.status == "cancelled" and info.resumable
    assert info.counts.ok == calls * 15 and info.counts.in_flight == 0

    take_run(journal, run_id)
    rest = FakeClient()
    assert submit(journal, run_id, rest).counts.ok == 150
    assert not set(rest.sent()) & set(client.sent())  # nothing stored is sent again
    assert sorted(rest.sent() + client.sent()) == keys(150)


def test_a_crash_mid_run_resumes_sending_only_what_was_in_flight_or_pending(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.sqlite3"
    first = Journal(path)
    run_id = new_run(first, 45)
    batch = first.claim(run_id, 15)
    first.finish(run_id, ok=[item.key for item in batch])
    in_flight = [item.key for item in first.claim(run_id, 15)]
    first.close()  # as after a kill: the lock is gone, the journal says in flight

    with Journal(path) as journal:
        assert journal.run(run_id).status == "interrupted"
        info = take_run(journal, "last")
        assert (info.counts.pending, info.counts.ok) == (30, 15)
        client = FakeClient()
        summary = submit(journal, run_id, client)
        assert summary.status == "done" and summary.counts.ok == 45
        assert client.sent()[:15] == in_flight  # sent again, first
        assert sorted(client.sent()) == keys(45)[15:]


def test_a_run_being_sent_elsewhere_cannot_be_resumed(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    with Journal(path) as owner:
        run_id = new_run(owner, 3)
        with Journal(path, lock_timeout=0.05) as other, pytest.raises(RunInProgress):
            take_run(other, run_id)


def test_retry_failed_sends_only_the_failed_records(journal: Journal) -> None:
    run_id = new_run(journal, 20)
    submit(
        journal,
        run_id,
        FakeClient(
            lambda sent: SubmitResult("", [k for k in sent if k != "K0005"], {"K0005": "no"})
        ),
    )
    assert journal.run(run_id).counts.failed == 1

    info = take_run(journal, run_id, failed=True)
    assert info.counts.pending == 1
    client = FakeClient()
    summary = submit(journal, run_id, client)
    assert client.calls == [["K0005"]]
    assert summary.counts.ok == 20 and summary.exit_code == 0


def test_a_disposal_run_is_not_taken_as_a_submit_run(journal: Journal) -> None:
    run_id = journal.create_run("destroy", "p", [(None, "A", {"rowKey": "A"})])
    journal.mark_ended(run_id, "cancelled")
    with pytest.raises(JobError, match="disposal run"):
        take_run(journal, run_id)


def test_resuming_a_finished_run_sends_nothing(journal: Journal) -> None:
    run_id = new_run(journal, 5)
    submit(journal, run_id, FakeClient())
    take_run(journal, run_id)
    client = FakeClient()
    summary = submit(journal, run_id, client)
    assert client.calls == [] and summary.status == "done"


# -- creating a run from a validation ---------------------------------------------------------

HEADERS = ["Row key", "Name", "Created time", "Modified time", "Page count"]


def sheet(rows: list[list[object]]) -> SheetData:
    return SheetData(
        Path("Transfer.xlsx"),
        "Register",
        HEADERS,
        1,
        rows=[SheetRow(number, cells) for number, cells in enumerate(rows, start=2)],
    )


def test_a_run_from_a_validation_sends_valid_rows_and_skips_invalid_ones(
    journal: Journal,
) -> None:
    time_ = "2024-01-02 03:04:05"
    result = validate(
        sheet(
            [
                ["A-1", "First", time_, time_, 3],
                ["A-2", "Second", "yesterday", time_, "twelve"],
                [None, "No key", time_, time_, 1],
                ["A-1", "Repeated key", time_, time_, 1],
                ["A-3", "Third", time_, time_, None],
            ]
        ),
        demo_template(),
        demo_settings(),
    )

    new = create_submit_run(journal, "Sandbox", result, options={"conflict": "Overwrite"})

    assert (new.to_send, new.invalid) == (2, 3)
    items = {item.row: item for item in journal.items(new.run_id)}
    assert items[2].state == "pending" and items[2].payload == {
        "rowKey": "A-1",
        "leafName": "First",
        "timeCreated": time_,
        "timeModified": time_,
        "_Page_%20_Count": 3,
    }
    assert items[3].state == "skipped" and items[3].key == "A-2"
    assert "Created time:" in items[3].message and "Page Count:" in items[3].message
    assert items[4].state == "skipped" and items[4].key == "(row 4)"
    assert items[5].state == "skipped" and items[5].key == "(row 5)"
    assert "row 2" in items[5].message  # the repeated key names the earlier row
    assert items[6].state == "pending"

    client = FakeClient()
    summary = submit(journal, new.run_id, client)
    assert sorted(client.sent()) == ["A-1", "A-3"]
    assert summary.exit_code == 1  # some rows were invalid
    assert (summary.counts.ok, summary.counts.skipped) == (2, 3)


def test_a_crash_right_after_creating_a_run_never_sends_an_invalid_row(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    result = validate(
        sheet([["A-1", "Ok", "2024-01-02", "2024-01-02", 1], ["A-2", None, None, None, None]]),
        demo_template(),
        demo_settings(),
    )
    first = Journal(path)
    run_id = create_submit_run(first, "Sandbox", result).run_id
    first.close()  # killed before a single call
    with Journal(path) as journal:
        take_run(journal, run_id)
        client = FakeClient()
        submit(journal, run_id, client)
        assert client.sent() == ["A-1"]


# -- the CLI's progress bar -----------------------------------------------------------------


def test_the_progress_bar_redraws_one_line_at_most_five_times_a_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # the line is cut to the terminal's width
    clock = FakeClock()
    stream = io.StringIO()
    bar = ProgressBar(stream, tty=True, clock=clock)
    state = RunState(clock=clock)
    state.on_progress(bar.update)
    state.start(600)
    for _ in range(10):  # ten batches within a tenth of a second: drawn once
        clock.sleep(0.01)
        state.batch_done(BatchResult(ok=tuple(str(n) for n in range(15))))
    clock.sleep(0.2)
    state.batch_done(BatchResult(ok=("x",)))
    bar.close(state.progress())

    text = stream.getvalue()
    assert text.count("\r") == 3  # the start, one redraw after 0.2 s, the close
    assert text.endswith("\n") and "\n" not in text[:-1]
    last = text.rsplit("\r", 1)[1]
    assert last.startswith("[#") and "151 / 600 records (25%)" in last
    assert "records/s" in last and "left" in last


def test_without_a_terminal_the_progress_is_plain_lines() -> None:
    clock = FakeClock()
    stream = io.StringIO()
    bar = ProgressBar(stream, tty=False, clock=clock, plain_interval=10.0)
    state = RunState(clock=clock)
    state.on_progress(bar.update)
    state.start(30)
    clock.sleep(1.0)
    state.batch_done(BatchResult(ok=tuple(str(n) for n in range(15)), failed={"f": "no"}))
    clock.sleep(10.0)
    state.batch_done(BatchResult(ok=tuple(str(n) for n in range(14))))
    bar.close()

    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert lines[0] == "0 / 30 records (0%)"
    assert lines[-1].startswith("30 / 30 records (100%), 1 failed")
    assert len(lines) == 2  # the middle report came too soon; the end is written once


def test_durations_read_as_minutes_or_hours() -> None:
    assert duration(5) == "0:05"
    assert duration(754.4) == "12:34"
    assert duration(3725) == "1:02:05"


# -- run reports ------------------------------------------------------------------------------


def report_run(journal: Journal, path: Path) -> str:
    """A run from a CSV: row 2 stored, row 3 failed at the service, row 4 invalid."""
    time_ = "2024-01-02 03:04:05"
    write_csv(
        path,
        [
            [*HEADERS, "Notes"],
            ["A-1", "First", time_, time_, 3, "keep"],
            ["A-2", "=Second", time_, time_, 4, "call back"],
            ["A-3", "Third", "soon", time_, 5, ""],
        ],
    )
    result = validate(read_sheet(path), demo_template(), demo_settings())
    run_id = create_submit_run(
        journal,
        "Sandbox",
        result,
        input_path=path,
        input_hash=file_sha256(path),
        options={"sheet": result.source.sheet, "header_row": result.source.header_row},
    ).run_id
    client = FakeClient(lambda sent: SubmitResult("", ["A-1"], {"A-2": "Name is reserved."}))
    submit(journal, run_id, client)
    return run_id


def test_a_report_lists_every_row_and_copies_failed_rows_from_the_input(
    journal: Journal, tmp_path: Path
) -> None:
    run_id = report_run(journal, tmp_path / "in.csv")

    summary = write_run_report(tmp_path / "out.xlsx", journal, run_id)

    assert (summary.rows, summary.to_fix, summary.from_input, summary.note) == (3, 2, True, "")
    book = openpyxl.load_workbook(tmp_path / "out.xlsx")
    assert list(book["Outcome"].iter_rows(values_only=True)) == [
        ("Row", "Row key", "Outcome", "Message"),
        (2, "A-1", "stored", None),
        (3, "A-2", "failed", "Name is reserved."),
        (4, "A-3", "skipped", next(journal.items(run_id, ["skipped"])).message),
    ]
    failed = list(book["Failed rows"].iter_rows(values_only=True))
    assert failed[0] == (*HEADERS, "Notes", "Reason")
    assert failed[1][:2] == ("A-2", "=Second") and failed[1][-2:] == (
        "call back",
        "Name is reserved.",
    )
    assert book["Failed rows"]["B2"].data_type == "s"  # text, never a formula
    assert failed[2][0] == "A-3" and failed[2][-1].startswith("Created time:")


def test_a_changed_input_makes_the_report_rebuild_failed_rows_from_the_journal(
    journal: Journal, tmp_path: Path
) -> None:
    source = tmp_path / "in.csv"
    run_id = report_run(journal, source)
    source.write_text(source.read_text() + "A-9,Later,,,,\n")

    summary = write_run_report(tmp_path / "out.csv", journal, run_id)

    assert not summary.from_input and "has changed since the run" in summary.note
    lines = (tmp_path / "out.failed.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("Opus Desktop report: a ' was put before")  # "=Second"
    assert lines[1].split(",")[:3] == ["rowKey", "leafName", "timeCreated"]
    assert lines[1].endswith(",Reason")
    assert lines[2].startswith("A-2,'=Second,2024-01-02 03:04:05")
    outcome = (tmp_path / "out.csv").read_text(encoding="utf-8-sig").splitlines()
    assert outcome[0] == "Row,Row key,Outcome,Message" and len(outcome) == 4
