"""Submit edges, continued: the pace, outages, cancel, bugs and a failing journal (found by
make mutate)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.journal_types import Item
from opus_desktop.jobs.pace import Pace
from opus_desktop.jobs.state import BatchResult, RunState
from opus_desktop.jobs.submit import (
    SubmitRun,
)
from opus_desktop.opus.errors import (
    Failure,
    RequestRejected,
    ServiceUnavailable,
)
from opus_desktop.opus.protocols import SubmitResult
from tests.unit.test_submit import (
    FakeClient,
    FakeClock,
    Outcome,
    keys,
    new_run,
    states,
    stored,
    submit,
)
from tests.unit.test_submit_edges import (
    UNREACHABLE,
    GuardedClock,
    items_by_key,
    listen,
    outage_message,
    signal_on_claim,
    steady_pace,
    unrepeated,
)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.sqlite3") as opened:
        yield opened


# -- pace -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("concurrency", "shown"),
    [
        (2, "1 of 2 calls at a time, more as calls succeed"),
        (4, "2 of 4 calls at a time, more as calls succeed"),
    ],
)
def test_a_429_shows_how_many_calls_the_run_keeps_in_flight_once(
    journal: Journal, concurrency: int, shown: str
) -> None:
    run_id = new_run(journal, 15 * 5)
    client = FakeClient()
    state = RunState()
    statuses, _ = listen(state)

    def throttled_first(sent: list[str]) -> SubmitResult:
        if sent[0] == "K0001":
            client.retry.tell(Failure.THROTTLED, 429, 0.0)
        return stored(sent)

    client.behaviour = throttled_first
    submit(journal, run_id, client, state, concurrency=concurrency)

    busy = "The service is busy (HTTP 429)"  # and no word of stopping: it answered at once
    assert unrepeated(statuses) == ["", f"{busy}; {shown}", shown, "Done"]
    # the start, the 429, the answer after it, each batch, the end
    assert len(statuses) == 1 + 1 + 1 + 5 + 1


def test_the_throttled_status_clears_as_soon_as_a_call_succeeds_at_full_pace(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 1)
    client = FakeClient()
    clock = FakeClock()
    state = RunState()
    statuses, _ = listen(state)
    busy = threading.Event()
    state.on_progress(lambda p: busy.set() if "busy" in str(p.status) else None)
    at_batch: list[str] = []
    state.on_batch(lambda result: at_batch.append(state.progress().status))

    def throttled_once(sent: list[str]) -> SubmitResult:
        client.retry.tell(Failure.THROTTLED, 429, 0.0)
        assert busy.wait(5.0)  # the run has shown it is slowed down
        return stored(sent)

    client.behaviour = throttled_once
    pace = Pace(2, clock=clock, grow_after=1)
    submit(journal, run_id, client, state, clock, concurrency=2, pace=pace)

    assert at_batch == [""]  # cleared by the call that brought the pace back to full
    assert unrepeated(statuses) == [
        "",
        "The service is busy (HTTP 429); 1 of 2 calls at a time, more as calls succeed",
        "",
        "Done",
    ]


def test_calls_in_flight_never_exceed_a_pace_already_slowed_to_one(journal: Journal) -> None:
    run_id = new_run(journal, 15 * 4)
    clock = FakeClock()
    pace = Pace(2, clock=clock)
    pace.throttled(0.0)
    client = FakeClient(delay=0.02)
    state = RunState()
    statuses, _ = listen(state)

    submit(journal, run_id, client, state, clock, concurrency=2, pace=pace)

    assert client.most_active == 1
    assert statuses[1] == "1 of 2 calls at a time, more as calls succeed"
    assert not any("busy" in text for text in statuses)  # slowed, but nothing said it is busy


def test_a_retry_after_heard_during_a_call_holds_new_calls_back_that_long(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 30)
    client = FakeClient()
    heard: list[tuple[str, int | None, float]] = []
    client.retry.on_retry = lambda reason, status, delay: heard.append((reason, status, delay))

    def asked_to_wait(sent: list[str]) -> SubmitResult:
        if sent[0] == "K0001":
            client.retry.tell(Failure.THROTTLED, 429, 7.0)
        return stored(sent)

    client.behaviour = asked_to_wait
    clock = GuardedClock()
    summary = submit(journal, run_id, client, clock=clock, concurrency=1)

    assert summary.status == "done"
    assert clock.slept == [7.0]
    assert heard == [("throttled", 429, 7.0)]


def test_only_throttling_and_unavailability_slow_the_pace_and_every_retry_is_still_heard(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 15)
    client = FakeClient()
    heard: list[tuple[str, int | None, float]] = []
    client.retry.on_retry = lambda reason, status, delay: heard.append((reason, status, delay))
    clock = FakeClock()
    pace = Pace(4, clock=clock)
    limits: list[int] = []

    def retried(sent: list[str]) -> SubmitResult:
        for kind, status in [
            (Failure.TIMEOUT, None),
            (Failure.REFUSED, None),
            (Failure.UNAVAILABLE, 503),
        ]:
            client.retry.tell(kind, status, 0.0)
            limits.append(pace.limit)
        return stored(sent)

    client.behaviour = retried
    submit(journal, run_id, client, clock=clock, concurrency=4, pace=pace)

    assert limits == [4, 4, 2]
    assert heard == [("timeout", None, 0.0), ("refused", None, 0.0), ("unavailable", 503, 0.0)]


def test_without_a_sleep_function_a_backoff_is_waited_out_on_the_run_state(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 3)
    answers = iter([ServiceUnavailable(UNREACHABLE)])
    client = FakeClient(lambda sent: next(answers, None) or stored(sent))
    pace = Pace(1, base_delay=0.02, rng=lambda: 1.0)  # real time, a 20 ms backoff

    summary = SubmitRun(journal, client, run_id, concurrency=1, pace=pace).run()

    assert summary.status == "done" and summary.counts.ok == 3
    assert len(client.calls) == 2


# -- outages --------------------------------------------------------------------------------


def test_no_answer_shows_when_the_run_tries_again_and_the_batch_goes_back_with_the_message(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 15)
    answers = iter([ServiceUnavailable(UNREACHABLE)])
    client = FakeClient(lambda sent: next(answers, None) or stored(sent))
    clock = GuardedClock()
    state = RunState()
    statuses, results = listen(state)

    summary = submit(
        journal, run_id, client, state, clock, concurrency=1, pace=steady_pace(1, clock, 8.0)
    )

    assert summary.status == "done"
    # The time left is shown once the silence lasts 5 s (the still clock moves as it sleeps).
    assert unrepeated(statuses)[:3] == [
        "",
        "No usable answer from the service; trying again in 8 s",
        "No usable answer from the service; the run stops in 9:52 unless the service answers",
    ]
    assert results[0] == BatchResult(released=tuple(keys(15)), message=UNREACHABLE)
    assert clock.slept == [8.0]


def test_an_outage_is_measured_from_the_last_answer_and_its_message_names_the_last_attempt(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 5)
    clock = GuardedClock()
    clock.now = 1000.0

    def answers_once(sent: list[str]) -> Outcome:
        if sent == ["K0001"]:
            clock.sleep(100.0)
            return stored(sent)
        return ServiceUnavailable(UNREACHABLE)

    pace = steady_pace(1, clock)
    state = RunState()
    summary = submit(
        journal,
        run_id,
        FakeClient(answers_once),
        state,
        clock,
        concurrency=1,
        batch_size=1,
        outage_limit=15.0,
        pace=pace,
    )

    # 10 s after the first failure, then the 20 s backoff is cut to the 5 s left.
    assert clock.slept == [100.0, 10.0, 5.0]
    assert summary.status == "stopped" and summary.error is not None
    assert summary.error.message == outage_message("15 seconds")
    assert summary.elapsed == 115.0
    info = journal.run(run_id)
    assert (info.status, info.note) == ("stopped", outage_message("15 seconds"))
    found = items_by_key(journal, run_id)
    assert (found["K0002"].message, found["K0003"].message) == (UNREACHABLE, UNREACHABLE)
    assert state.progress().status == "Stopped"


def test_the_last_wait_before_the_outage_limit_is_cut_to_the_time_left(journal: Journal) -> None:
    run_id = new_run(journal, 5)
    clock = GuardedClock()
    state = RunState()
    _, results = listen(state)
    client = FakeClient(lambda sent: ServiceUnavailable(UNREACHABLE))

    summary = submit(
        journal,
        run_id,
        client,
        state,
        clock,
        concurrency=1,
        batch_size=1,
        outage_limit=10.5,
        pace=steady_pace(1, clock),
    )

    assert clock.slept == [10.0, 0.5]  # and no more once the limit is reached
    assert summary.status == "stopped" and len(client.calls) == 2
    assert [result.message for result in results] == [UNREACHABLE, UNREACHABLE]


@pytest.mark.parametrize(
    ("limit", "span"), [(1.0, "1 second"), (59.0, "59 seconds"), (120.0, "2 minutes")]
)
def test_the_outage_message_says_how_long_the_service_gave_no_answer(
    journal: Journal, limit: float, span: str
) -> None:
    run_id = new_run(journal, 5)
    clock = GuardedClock()
    client = FakeClient(lambda sent: ServiceUnavailable(UNREACHABLE))

    summary = submit(
        journal,
        run_id,
        client,
        clock=clock,
        outage_limit=limit,
        pace=steady_pace(4, clock, base=1000.0),
    )

    assert clock.slept == [limit]
    assert summary.error is not None and summary.error.message == outage_message(span)


# -- cancel, bugs and a failing journal ---------------------------------------------------------


def test_after_a_cancel_the_rest_of_a_split_batch_goes_back_without_a_message(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 4)
    state = RunState()
    _, results = listen(state)

    def refused_then_cancelled(sent: list[str]) -> Outcome:
        if len(sent) > 1:
            return RequestRejected("The service refused the request.")
        state.cancel()
        return stored(sent)

    client = FakeClient(refused_then_cancelled)
    summary = submit(journal, run_id, client, state, concurrency=1)

    assert client.calls == [keys(4), keys(2), ["K0001"]]
    assert [r for r in results if r.released] == [
        BatchResult(released=("K0002",), message=""),
        BatchResult(released=("K0003", "K0004"), message=""),
    ]
    assert summary.status == "cancelled"
    assert state.progress().status == "Cancelled"
    assert states(journal, run_id) == {
        "K0001": "ok",
        "K0002": "pending",
        "K0003": "pending",
        "K0004": "pending",
    }


def test_a_bug_in_the_client_ends_the_run_stopped_with_the_error_in_its_note(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 5)
    with pytest.raises(RuntimeError, match="boom"):
        submit(journal, run_id, FakeClient(lambda sent: RuntimeError("boom")))
    info = journal.run(run_id)
    assert (info.status, info.note) == ("stopped", "Stopped by an error: RuntimeError('boom')")


def test_ctrl_c_in_a_call_ends_the_run_cancelled_and_is_raised(journal: Journal) -> None:
    run_id = new_run(journal, 5)
    with pytest.raises(KeyboardInterrupt):
        submit(journal, run_id, FakeClient(lambda sent: KeyboardInterrupt()))
    info = journal.run(run_id)
    assert info.status == "cancelled" and info.resumable and info.counts.pending == 5


def test_ctrl_c_during_a_backoff_ends_the_run_cancelled_and_is_raised(journal: Journal) -> None:
    run_id = new_run(journal, 5)
    clock = FakeClock()

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    client = FakeClient(lambda sent: ServiceUnavailable(UNREACHABLE))
    run = SubmitRun(journal, client, run_id, clock=clock, sleep=interrupted)
    with pytest.raises(KeyboardInterrupt):
        run.run()
    info = journal.run(run_id)
    assert info.status == "cancelled" and info.counts.pending == 5


def test_a_journal_failing_while_claiming_ends_the_run_stopped_and_is_raised(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = new_run(journal, 30)
    real = journal.claim
    claims: list[int] = []

    def claim(run: str, limit: int) -> list[Item]:
        claims.append(limit)
        if len(claims) > 1:
            raise sqlite3.OperationalError("disk I/O error")
        return real(run, limit)

    monkeypatch.setattr(journal, "claim", claim)
    with pytest.raises(sqlite3.OperationalError):
        submit(journal, run_id, FakeClient(), concurrency=1)
    info = journal.run(run_id)
    assert info.status == "stopped"
    assert info.note == "Stopped by an error: OperationalError('disk I/O error')"
    assert (info.counts.ok, info.counts.pending) == (15, 15)  # the call under way was journalled


def test_when_the_journal_cannot_end_a_broken_run_the_unsent_batch_is_still_put_back(
    journal: Journal, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    run_id = new_run(journal, 3)
    claimed = signal_on_claim(monkeypatch, journal, 2)

    def broken(sent: list[str]) -> Outcome:
        assert claimed.wait(5.0)  # the next batch is claimed, waiting to be sent
        return RuntimeError("boom")

    def cannot_end(run: str, status: str, note: str | None = None) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(journal, "mark_ended", cannot_end)
    with pytest.raises(RuntimeError, match="boom"):
        submit(journal, run_id, FakeClient(broken), concurrency=1, batch_size=1)

    assert states(journal, run_id) == {"K0001": "in_flight", "K0002": "pending", "K0003": "pending"}
    assert f"run {run_id} could not be marked stopped" in caplog.messages


def test_a_journal_failing_to_put_back_an_unsent_batch_is_logged_and_the_end_puts_it_back(
    journal: Journal, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    run_id = new_run(journal, 3)
    claimed = signal_on_claim(monkeypatch, journal, 2)
    state = RunState()

    def cancels(sent: list[str]) -> SubmitResult:
        assert claimed.wait(5.0)
        state.cancel()
        return stored(sent)

    def cannot_release(run: str, keys: object, message: str | None = None) -> int:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(journal, "release", cannot_release)
    summary = submit(journal, run_id, FakeClient(cancels), state, concurrency=1, batch_size=1)

    assert summary.status == "cancelled"
    assert states(journal, run_id) == {"K0001": "ok", "K0002": "pending", "K0003": "pending"}
    assert f"run {run_id}: records claimed but not sent stay in flight" in caplog.messages


def test_a_run_left_with_records_it_cannot_claim_ends_stopped_saying_so(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = new_run(journal, 3)
    monkeypatch.setattr(journal, "claim", lambda run, limit: [])
    state = RunState()

    summary = submit(journal, run_id, FakeClient(), state)

    assert summary.status == "stopped" and summary.error is None
    info = journal.run(run_id)
    assert (info.status, info.note) == ("stopped", "The run ended with records still to send.")
    assert state.progress().status == "Stopped"


def test_a_note_given_when_the_run_was_created_survives_a_run_that_ends_done(
    journal: Journal,
) -> None:
    items = [(2, "A", {"rowKey": "A"})]
    run_id = journal.create_run("submit", "Sandbox", items, note="Sent from the CLI.")
    summary = submit(journal, run_id, FakeClient())
    assert summary.status == "done"
    assert journal.run(run_id).note == "Sent from the CLI."
