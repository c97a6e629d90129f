"""Submit runs at their limits, continued: what an outage heard only through the client's
retries says, where each count starts again, what the stop keeps of the error, and the
status line's words and clock (found by make mutate)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from opus_desktop.jobs import outage as outage_module
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.outage import Outage, Ticker
from opus_desktop.jobs.pace import Pace
from opus_desktop.jobs.state import RunState
from opus_desktop.jobs.submit import SERVER_ERROR_STOP, SubmitRun
from opus_desktop.opus.errors import (
    Failure,
    OpusError,
    ProtocolError,
    ServerError,
    ServiceUnavailable,
)
from tests.unit.test_submit import FakeClient, FakeClock, Outcome, new_run, stored, submit
from tests.unit.test_submit_edges import listen, unrepeated
from tests.unit.test_submit_outages import GARBLED, REFUSED, answers


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.sqlite3") as opened:
        yield opened


# -- outages ------------------------------------------------------------------------------------


def test_an_outage_heard_only_through_the_client_s_retries_stops_the_run_without_a_last_attempt(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 15)
    clock = FakeClock()
    client = FakeClient()
    run: SubmitRun | None = None

    def retries_past_the_limit(sent: list[str]) -> Outcome:
        client.retry.tell(Failure.TIMEOUT, None, 0.0)
        clock.sleep(700.0)
        deadline = time.monotonic() + 5
        while run is not None and run._stop is None and time.monotonic() < deadline:
            time.sleep(0.01)  # the dispatcher sees the silence while this call is under way
        return stored(sent)

    client.behaviour = retries_past_the_limit
    run = SubmitRun(journal, client, run_id, clock=clock, sleep=clock.sleep, retries=client.retry)
    summary = run.run()

    assert summary.status == "stopped" and summary.error is not None
    assert summary.error.message == (
        "The service gave no answer for 11 minutes, so the run stopped. Every record's state "
        "is in the journal; resume the run when the service is back."
    )
    assert summary.error.kind is Failure.UNAVAILABLE


def test_an_outage_keeps_the_kind_of_its_last_failure(journal: Journal) -> None:
    run_id = new_run(journal, 30)
    client = answers(None, *[REFUSED] * 100)
    summary = submit(journal, run_id, client, concurrency=1, outage_limit=30.0)
    assert summary.status == "stopped" and summary.error is not None
    assert summary.error.kind is Failure.REFUSED
    assert REFUSED.message in summary.error.message


def test_a_run_resumed_after_a_single_record_was_stored_has_reached_the_service(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 16)
    away = ServiceUnavailable("Come back tomorrow.", 429, asked=86400.0)
    first = submit(journal, run_id, answers(None, away), concurrency=1, batch_size=1)
    assert first.status == "stopped" and first.counts.ok == 1
    journal.prepare_resume(run_id)

    summary = submit(journal, run_id, answers(REFUSED), concurrency=1)
    assert summary.status == "done" and summary.counts.ok == 16


# -- the counts in a row ---------------------------------------------------------------------------


def test_an_answer_between_500s_starts_their_count_again(journal: Journal) -> None:
    run_id = new_run(journal, 15 * 20)
    crash = ServerError("The service failed.")
    count = SERVER_ERROR_STOP - 1
    client = answers(*[crash] * count, None, *[crash] * count)
    summary = submit(journal, run_id, client, concurrency=1)
    assert summary.status == "done", summary.error


def test_the_stop_after_500s_keeps_the_status_and_puts_the_records_back_with_the_message(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 20)
    crash = ServerError("The service failed (HTTP 500).", status=500)
    state = RunState()
    _, results = listen(state)
    summary = submit(journal, run_id, FakeClient(lambda sent: crash), state, concurrency=1)

    assert summary.error is not None and summary.error.message == (
        f"The service failed on {SERVER_ERROR_STOP} calls in a row, so the run stopped: "
        f"{crash.message} Every record's state is in the journal; resume the run once the "
        "service works again."
    )
    assert summary.error.status == 500  # type: ignore[attr-defined]
    released = [result for result in results if result.released]
    assert any(result.message == crash.message for result in released)


def test_the_stop_after_bad_replies_says_so_and_keeps_the_status(journal: Journal) -> None:
    run_id = new_run(journal, 45)
    summary = submit(journal, run_id, answers(None, *[GARBLED] * 5), concurrency=1)
    assert summary.error is not None and summary.error.message == (
        f"{GARBLED.message} That is 3 such replies in a row, so the run stopped; every "
        "record's state is in the journal: resume the run once the service answers as the "
        "API should."
    )
    assert isinstance(summary.error, ProtocolError) and summary.error.status == 200


def test_a_retry_after_as_long_as_the_outage_limit_is_waited_out(journal: Journal) -> None:
    run_id = new_run(journal, 30)
    asked = ServiceUnavailable("Throttled.", 429, asked=600.0)
    summary = submit(journal, run_id, answers(None, asked), concurrency=1, outage_limit=600.0)
    assert summary.status == "done"


def test_the_stop_for_a_long_retry_after_keeps_the_error_s_status_kind_and_wait(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 30)
    asked = ServiceUnavailable("Later.", None, Failure.THROTTLED, asked=9000.0)
    summary = submit(journal, run_id, answers(None, asked), concurrency=1)
    error = summary.error
    assert isinstance(error, ServiceUnavailable)
    assert (error.status, error.kind, error.asked) == (None, Failure.THROTTLED, 9000.0)

    run_id = new_run(journal, 30)
    summary = submit(journal, run_id, answers(None, ServiceUnavailable("Later.", 429, asked=9e3)))
    assert isinstance(summary.error, ServiceUnavailable) and summary.error.status == 429


# -- pauses ---------------------------------------------------------------------------------------


def test_a_record_s_500s_are_paused_between_unless_the_run_is_stopping(journal: Journal) -> None:
    run_id = new_run(journal, 1)
    clock = FakeClock()
    crash = ServerError("The service failed.")
    submit(journal, run_id, answers(crash, crash), clock=clock)
    assert len(clock.slept) == 2  # a pause before each try again

    run_id = new_run(journal, 1)
    clock = FakeClock()
    state = RunState()

    def crash_and_cancel(sent: list[str]) -> Outcome:
        state.cancel()
        return crash

    summary = submit(journal, run_id, FakeClient(crash_and_cancel), state, clock)
    assert summary.status == "cancelled" and clock.slept == []


# -- the status line ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "shown"),
    [
        (Failure.REFUSED, "Nothing answers at the service's address; trying again in 3 s"),
        (Failure.SERVER, "No answer; trying again in 3 s"),
    ],
)
def test_a_retry_heard_without_a_status_names_what_failed(
    journal: Journal, kind: Failure, shown: str
) -> None:
    run_id = new_run(journal, 15)
    client = FakeClient()
    state = RunState()
    statuses, _ = listen(state)

    def retried(sent: list[str]) -> Outcome:
        client.retry.tell(kind, None, 3.0)
        return stored(sent)

    client.behaviour = retried
    submit(journal, run_id, client, state, concurrency=1)
    assert unrepeated(statuses)[1] == shown


def test_the_status_line_counts_down_on_its_own_while_a_call_waits(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outage_module, "TICK", 0.05)
    run_id = new_run(journal, 15)
    client = FakeClient()
    state = RunState()
    statuses, _ = listen(state)
    moved = threading.Event()
    state.on_progress(lambda p: moved.set() if "trying again in 1 s" in p.status else None)

    def waits(sent: list[str]) -> Outcome:
        client.retry.tell(Failure.TIMEOUT, None, 1.5)
        assert moved.wait(5.0)  # redrawn by the run's ticker half a second later
        return stored(sent)

    client.behaviour = waits
    SubmitRun(journal, client, run_id, state, retries=client.retry).run()  # real time
    assert "The service did not answer in time; trying again in 2 s" in statuses


def test_the_countdown_starts_at_half_a_short_limit_and_ends_at_zero() -> None:
    clock = FakeClock()
    outage = Outage(4.0, clock)
    outage.trouble("no answer")  # no next try known
    clock.now = 1.5
    assert outage.text(1, 1) == "No answer"
    clock.now = 2.0
    assert outage.text(1, 1) == "No answer; the run stops in 0:02 unless the service answers"
    clock.now = 9.0
    assert outage.text(1, 1) == "No answer; the run stops in 0:00 unless the service answers"


def test_an_answer_or_a_restart_ends_the_outage_for_good() -> None:
    clock = FakeClock()
    for end in ("answered", "restart"):
        outage = Outage(600.0, clock)
        outage.trouble("no answer", 1.0)
        getattr(outage, end)()
        clock.now += 100.0
        assert outage.text(4, 4) == "" and outage.silence() is None and not outage.failing


def test_a_ticker_logs_a_failing_redraw_and_stops_from_anywhere(
    caplog: pytest.LogCaptureFixture,
) -> None:
    Ticker(lambda: None).stop()  # never started: nothing to wait for
    failed = threading.Event()

    def tick() -> None:
        failed.set()
        raise RuntimeError("a listener failed")

    with caplog.at_level(logging.ERROR, logger="opus_desktop.jobs.outage"):
        ticker = Ticker(tick, every=0.01).start()
        assert failed.wait(5.0)
        ticker.stop()
    assert not ticker._thread.is_alive() and ticker._every == 0.01
    assert {r.getMessage() for r in caplog.records} == {"redrawing the run's status failed"}

    stopped = threading.Event()
    holder: list[Ticker] = []

    def stop_itself() -> None:
        holder[0].stop()  # from its own thread: it must not wait for itself
        stopped.set()

    holder.append(Ticker(stop_itself, every=0.01))
    holder[0].start()
    assert stopped.wait(5.0)


def test_the_status_line_is_redrawn_while_the_dispatcher_waits_out_a_backoff(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outage_module, "TICK", 0.02)
    run_id = new_run(journal, 15)
    state = RunState()
    due = threading.Event()  # the next try is due: the line no longer says when
    state.on_progress(
        lambda p: due.set() if p.status == "The service is unavailable (HTTP 503)" else None
    )
    slept: list[bool] = []

    def wait_for_the_redraw(seconds: float) -> None:
        slept.append(due.wait(5.0))  # no call is under way: only the ticker redraws

    client = answers(ServiceUnavailable("Away.", 503))
    pace = Pace(1, base_delay=0.2, rng=lambda: 1.0)  # real time, a backoff of 0.2 s at least
    run = SubmitRun(
        journal, client, run_id, state, concurrency=1, pace=pace, sleep=wait_for_the_redraw
    )
    assert run.run().status == "done"
    assert slept and slept[0]


def test_a_bare_opus_error_is_a_bad_reply_and_stops_the_run_after_a_few(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 45)
    garbled = OpusError("The reply could not be read.")
    summary = submit(journal, run_id, answers(None, *[garbled] * 5), concurrency=1)
    assert isinstance(summary.error, ProtocolError) and summary.error.status is None
    assert summary.error.message.startswith("The reply could not be read. That is 3 such")
