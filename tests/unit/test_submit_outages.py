"""A run against a service that is away, wrong or strange: it stops at once when the address
is wrong from the start, retries what passes mid-run up to its limits, and says why and how
long is left meanwhile (outage.py)."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from opus_desktop.cli.progress import ProgressBar
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.outage import Outage, Ticker, clock_time
from opus_desktop.jobs.state import Progress, RunState
from opus_desktop.jobs.submit import BAD_REPLY_TRIES, SERVER_ERROR_STOP, SERVER_ERROR_TRIES
from opus_desktop.opus.errors import (
    Failure,
    ProtocolError,
    ServerError,
    ServiceUnavailable,
)
from tests.unit.test_submit import FakeClient, FakeClock, Outcome, new_run, states, stored, submit
from tests.unit.test_submit_edges import listen

REFUSED = ServiceUnavailable(
    "Nothing answers at https://opus.example (the connection was refused) while submitting "
    "15 records: is the address right, is the service up?",
    kind=Failure.REFUSED,
    brief="nothing answers at https://opus.example",
)
GARBLED = ProtocolError("The service's reply to submitting 15 records is not JSON.", 200)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.sqlite3") as opened:
        yield opened


def answers(*outcomes: Outcome | None) -> FakeClient:
    """A client giving `outcomes` in turn (None: stored), then storing everything."""
    left = iter(outcomes)
    return FakeClient(lambda sent: next(left, None) or stored(sent))


# -- before the service ever answered ------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        REFUSED,
        ServiceUnavailable("The name opus.example is not known.", kind=Failure.NAME),
        GARBLED,
    ],
)
def test_a_wrong_address_from_the_start_stops_the_run_at_once_resumable(
    journal: Journal, error: Exception
) -> None:
    run_id = new_run(journal, 30)
    client = FakeClient(lambda sent: error)
    summary = submit(journal, run_id, client, concurrency=1)

    assert summary.status == "stopped" and summary.exit_code == 4
    assert summary.error is error
    assert len(client.calls) == 1
    assert set(states(journal, run_id).values()) == {"pending"}
    assert journal.run(run_id).note == str(error)


def test_mid_run_a_refused_connection_is_an_outage_and_the_run_goes_on(journal: Journal) -> None:
    run_id = new_run(journal, 45)
    client = answers(None, REFUSED, REFUSED)
    state = RunState()
    statuses, _ = listen(state)
    summary = submit(journal, run_id, client, state, concurrency=1)

    assert summary.status == "done" and summary.counts.ok == 45
    assert len(client.calls) == 5
    told = [text for text in statuses if text.startswith("Nothing answers at https://opus.example")]
    assert "Nothing answers at https://opus.example; trying again in 1 s" in told
    assert not any("busy" in text for text in statuses)


def test_a_run_resumed_after_records_were_stored_counts_a_refusal_as_an_outage(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 30)
    away = ServiceUnavailable("Come back tomorrow.", 429, asked=86400.0)
    assert submit(journal, run_id, answers(None, away), concurrency=1).status == "stopped"
    journal.prepare_resume(run_id)  # 15 stored before: the service was reached

    client = answers(REFUSED)
    summary = submit(journal, run_id, client, concurrency=1)
    assert summary.status == "done" and len(client.calls) == 2


def test_the_client_is_told_to_give_up_at_once_only_until_the_service_answered(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 30)
    client = FakeClient()
    tries: list[int] = []

    def refused_inside_the_client(sent: list[str]) -> Outcome:
        attempts: list[int] = []

        def send() -> httpx.Response:
            attempts.append(1)
            if len(attempts) < 3:
                raise httpx.ConnectError(
                    "refused", request=httpx.Request("POST", "https://opus.example/records")
                )
            return httpx.Response(200)

        try:
            client.retry.call(send, "submitting")
        except ServiceUnavailable as exc:
            tries.append(len(attempts))
            return exc
        tries.append(len(attempts))
        return stored(sent)

    first = new_run(journal, 15)
    client.behaviour = refused_inside_the_client
    assert submit(journal, first, client).status == "stopped"
    assert tries == [1]  # no retry before the service was ever reached

    tries.clear()
    calls: list[int] = []

    def stored_then_refused(sent: list[str]) -> Outcome:
        calls.append(1)
        return stored(sent) if len(calls) == 1 else refused_inside_the_client(sent)

    client.behaviour = stored_then_refused
    assert submit(journal, run_id, client, concurrency=1).status == "done"
    assert tries == [3]  # reached: the client retries a refusal as before


# -- mid-run limits -----------------------------------------------------------------------------


def test_replies_that_are_not_the_api_s_are_sent_again_a_few_times_then_stop_the_run(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 45)
    client = answers(None, *[GARBLED] * 10)
    summary = submit(journal, run_id, client, concurrency=1)

    assert summary.status == "stopped" and summary.exit_code == 4
    assert len(client.calls) == 1 + BAD_REPLY_TRIES
    assert summary.error is not None
    assert summary.error.message.startswith(GARBLED.message)
    assert f"That is {BAD_REPLY_TRIES} such replies in a row, so the run stopped" in str(
        summary.error
    )
    assert summary.error.kind is Failure.BAD_REPLY
    info = journal.run(run_id)
    assert (info.counts.ok, info.counts.pending) == (15, 30)


def test_a_good_answer_between_bad_replies_starts_their_count_again(journal: Journal) -> None:
    run_id = new_run(journal, 15 * 6)
    client = answers(None, GARBLED, GARBLED, None, GARBLED, GARBLED)
    summary = submit(journal, run_id, client, concurrency=1)
    assert summary.status == "done" and summary.counts.ok == 90


def test_a_retry_after_longer_than_the_outage_limit_stops_the_run_at_once(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 30)
    asked = ServiceUnavailable(
        "The service answered HTTP 429 (too many requests) while submitting 15 records, and "
        "asked to wait 27 h 47 min before trying again (Retry-After).",
        429,
        asked=100000.0,
    )
    client = answers(None, asked)
    summary = submit(journal, run_id, client, concurrency=1, outage_limit=600.0)

    assert summary.status == "stopped" and summary.exit_code == 4
    assert len(client.calls) == 2
    assert summary.error is not None and summary.error.message == (
        f"{asked.message} The run stopped; every record's state is in the journal."
    )
    assert summary.error.kind is Failure.THROTTLED


def test_a_retry_after_within_the_outage_limit_is_waited_out(journal: Journal) -> None:
    run_id = new_run(journal, 30)
    asked = ServiceUnavailable("Throttled.", 429, asked=30.0)
    summary = submit(journal, run_id, answers(None, asked), concurrency=1, outage_limit=600.0)
    assert summary.status == "done"


def test_a_service_failing_on_every_call_stops_the_run_instead_of_failing_every_record(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 20)
    crash = ServerError("The service failed (HTTP 500, a stack trace).")
    client = FakeClient(lambda sent: crash)
    summary = submit(journal, run_id, client, concurrency=1)

    assert summary.status == "stopped" and summary.exit_code == 4
    assert len(client.calls) == SERVER_ERROR_STOP
    assert summary.error is not None and summary.error.kind is Failure.SERVER
    assert summary.error.message.startswith(
        f"The service failed on {SERVER_ERROR_STOP} calls in a row, so the run stopped: "
        + crash.message
    )
    counts = journal.run(run_id).counts
    assert counts.failed <= 1 and counts.ok == 0 and counts.remaining >= 19


def test_a_record_the_service_fails_on_among_good_ones_still_fails_alone(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 15 * 4)

    def crashes_on_some(sent: list[str]) -> Outcome:
        if any(key in sent for key in ("K0004", "K0020", "K0040")):
            return ServerError("The service failed.", service_message="NullReference")
        return stored(sent)

    summary = submit(journal, run_id, FakeClient(crashes_on_some), concurrency=1)
    assert summary.status == "done" and summary.counts.failed == 3
    assert summary.counts.ok == 57
    assert SERVER_ERROR_TRIES == 3


# -- the outage's words ------------------------------------------------------------------------


def test_the_outage_line_counts_down_from_the_last_answer() -> None:
    clock = FakeClock()
    outage = Outage(600.0, clock)
    assert outage.text(4, 4) == "" and outage.left() == float("inf")
    assert outage.silence() is None

    clock.now = 19.0
    outage.trouble("nothing answers at https://opus.example", 12.0)
    assert outage.text(2, 4) == (
        "Nothing answers at https://opus.example; trying again in 12 s; the run stops in 9:41 "
        "unless the service answers; 2 of 4 calls at a time, more as calls succeed"
    )
    clock.now = 40.0  # the try is due: no "trying again" any more
    assert outage.text(4, 4) == (
        "Nothing answers at https://opus.example; the run stops in 9:20 unless the service answers"
    )
    assert outage.left() == 560.0 and outage.silence() is None
    clock.now = 600.0
    assert outage.silence() == 600.0 and outage.left() == 0.0

    outage.answered()
    assert outage.text(4, 4) == "" and outage.silence() is None
    assert outage.text(1, 4) == "1 of 4 calls at a time, more as calls succeed"

    outage.trouble("the service is busy (HTTP 429)", 1.0)  # a second after an answer
    clock.now += 4.9
    assert outage.text(4, 4) == "The service is busy (HTTP 429)"  # too soon to speak of stopping
    clock.now += 0.1
    assert outage.text(4, 4).endswith("; the run stops in 9:55 unless the service answers")


def test_clock_times_round_up_to_whole_seconds() -> None:
    assert [clock_time(s) for s in (0.0, 0.2, 59.0, 581.5, 3725.0)] == [
        "0:00",
        "0:01",
        "0:59",
        "9:42",
        "1:02:05",
    ]


def test_the_ticker_redraws_until_stopped_and_outlives_a_failing_redraw() -> None:
    ticks: list[int] = []
    twice = threading.Event()

    def tick() -> None:
        ticks.append(1)
        if len(ticks) == 1:
            raise RuntimeError("a listener failed")
        twice.set()

    ticker = Ticker(tick, every=0.01).start()
    assert twice.wait(5.0)
    ticker.stop()
    count = len(ticks)
    assert count >= 2
    ticker.stop()  # twice is harmless
    assert len(ticks) == count


def test_on_a_narrow_terminal_the_trouble_wins_over_the_bar_and_the_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    stream = io.StringIO()
    bar = ProgressBar(stream, tty=True)
    trouble = (
        "Nothing answers at http://127.0.0.1:8731; trying again in 3 s; the run stops in 0:25 "
        "unless the service answers"
    )
    bar.update(Progress(3000, 60, 0, 0, 4.0, 693.0, 30.0, trouble, False))
    line = stream.getvalue().rsplit("\r", 1)[1]
    assert line.startswith("60 / 3,000 records (2%) · Nothing answers at http://127.0.0.1:8731")
    assert "records/s" not in line and "[" not in line and len(line) <= 99

    stream = io.StringIO()
    bar = ProgressBar(stream, tty=True)
    bar.update(Progress(3000, 60, 0, 0, 4.0, 693.0, 30.0, "", False))
    line = stream.getvalue().rsplit("\r", 1)[1]
    assert line.startswith("[") and "4 records/s, 11:33 left" in line
