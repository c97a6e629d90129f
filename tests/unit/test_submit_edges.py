"""Behaviour of the submit module that the main tests leave open (found by make mutate)."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from opus_desktop.core.records import Problem, Record
from opus_desktop.core.validation import ValidationResult, validate
from opus_desktop.jobs.errors import JobError
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.journal_types import Item
from opus_desktop.jobs.pace import Pace
from opus_desktop.jobs.state import BatchResult, RunState
from opus_desktop.jobs.submit import (
    SubmitRun,
    conflict_option,
    create_submit_run,
    problem_text,
    take_run,
)
from opus_desktop.jobs.submit_runs import CHUNK, _keyless
from opus_desktop.opus.errors import (
    AuthError,
    InvalidRequest,
    ProtocolError,
    RequestRejected,
    ServerError,
)
from opus_desktop.opus.protocols import SubmitResult
from tests.helpers.workbooks import demo_settings, demo_template
from tests.unit.test_submit import (
    FakeClient,
    FakeClock,
    Outcome,
    keys,
    new_run,
    sheet,
    states,
    stored,
    submit,
)

TIME = "2024-01-02 03:04:05"
UNREACHABLE = "The service could not be reached (no connection)."


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.sqlite3") as opened:
        yield opened


class GuardedClock(FakeClock):
    """A FakeClock whose sleep gives up after many sleeps, so a run that would loop
    forever (sleeping zero seconds over and over) fails instead of hanging."""

    def sleep(self, seconds: float) -> None:
        if len(self.slept) > 200:
            raise AssertionError("the run keeps sleeping")
        super().sleep(seconds)


class PlainClient:
    """A client with no `retry` attribute at all."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def submit(
        self, records: Sequence[Mapping[str, object]], conflict: str = "Overwrite"
    ) -> SubmitResult:
        sent = [str(record["rowKey"]) for record in records]
        self.calls.append(sent)
        return stored(sent)


def steady_pace(ceiling: int, clock: FakeClock, base: float = 10.0) -> Pace:
    """A pace without jitter: failures in a row wait base, 2 * base, 4 * base, ..."""
    return Pace(ceiling, clock=clock, base_delay=base, max_delay=10_000.0, rng=lambda: 1.0)


def listen(state: RunState) -> tuple[list[str], list[BatchResult]]:
    statuses: list[str] = []
    results: list[BatchResult] = []
    state.on_progress(lambda progress: statuses.append(progress.status))
    state.on_batch(results.append)
    return statuses, results


def unrepeated(texts: list[str]) -> list[str]:
    """The texts without consecutive repeats."""
    return [text for n, text in enumerate(texts) if n == 0 or texts[n - 1] != text]


def items_by_key(journal: Journal, run_id: str) -> dict[str, Item]:
    return {item.key: item for item in journal.items(run_id)}


def signal_on_claim(
    monkeypatch: pytest.MonkeyPatch, journal: Journal, count: int
) -> threading.Event:
    """An event set once the run has claimed `count` batches from the journal."""
    claimed = threading.Event()
    real = journal.claim
    made: list[list[Item]] = []

    def claim(run_id: str, limit: int) -> list[Item]:
        batch = real(run_id, limit)
        made.append(batch)
        if len(made) >= count:
            claimed.set()
        return batch

    monkeypatch.setattr(journal, "claim", claim)
    return claimed


def validation_of(records: list[Record]) -> ValidationResult:
    """A validation result holding exactly `records`."""
    base = validate(sheet([["A-1", "First", TIME, TIME, 3]]), demo_template(), demo_settings())
    return dataclasses.replace(base, records=records)


def outage_message(span: str, last: str = UNREACHABLE) -> str:
    return (
        f"The service gave no answer for {span}, so the run stopped. The last attempt: {last} "
        "Every record's state is in the journal; resume the run when the service is back."
    )


# -- creating a run ---------------------------------------------------------------------------


def test_a_validation_that_leaves_a_required_column_without_a_source_cannot_become_a_run(
    journal: Journal,
) -> None:
    result = dataclasses.replace(validation_of([]), blocked=True)
    with pytest.raises(ValueError) as raised:
        create_submit_run(journal, "Sandbox", result)
    assert str(raised.value) == (
        "the mapping leaves a required column without a source: nothing to send"
    )
    assert journal.runs() == []


def test_a_row_without_a_key_or_problems_is_skipped_as_having_no_row_key(
    journal: Journal,
) -> None:
    result = validation_of([Record(4, values={"leafName": "No key"})])
    new = create_submit_run(journal, "Sandbox", result)
    (item,) = journal.items(new.run_id)
    assert (item.key, item.state, item.message) == (
        "(row 4)",
        "skipped",
        "This row has no row key.",
    )
    assert (new.to_send, new.invalid) == (0, 1)


def test_an_invalid_row_whose_problems_say_nothing_is_skipped_as_not_valid(
    journal: Journal,
) -> None:
    silent = Record(2, values={"rowKey": "A-1"}, problems=[Problem(2, None, None, "")])
    new = create_submit_run(journal, "Sandbox", validation_of([silent]))
    (item,) = journal.items(new.run_id)
    assert (item.key, item.state, item.message) == ("A-1", "skipped", "This row is not valid.")


def test_stand_in_keys_are_wrapped_again_until_no_row_of_the_run_has_them(
    journal: Journal,
) -> None:
    records = [
        Record(2, values={"rowKey": "(row 4)"}),  # a real row key that looks like a stand-in
        Record(4, values={"leafName": "First sheet"}, sheet="One"),
        Record(4, values={"leafName": "Second sheet"}, sheet="Two"),
    ]
    new = create_submit_run(journal, "Sandbox", validation_of(records))
    found = {item.key: (item.row, item.state) for item in journal.items(new.run_id)}
    assert found == {
        "(row 4)": (2, "pending"),
        "((row 4))": (4, "skipped"),
        "(((row 4)))": (4, "skipped"),
    }
    assert (new.to_send, new.invalid) == (1, 2)


def test_a_new_run_keeps_the_template_hash_mapping_and_options_it_was_made_with(
    journal: Journal,
) -> None:
    new = create_submit_run(
        journal,
        "Sandbox",
        validation_of([Record(2, values={"rowKey": "A-1"})]),
        input_path="Transfer.xlsx",
        input_hash="in-hash",
        template_hash="template-hash",
        mapping={"Name": "leafName"},
        options={"conflict": "Skip"},
    )
    info = journal.run(new.run_id)
    assert (info.input_path, info.input_sha256, info.template_sha256) == (
        "Transfer.xlsx",
        "in-hash",
        "template-hash",
    )
    assert info.mapping == {"Name": "leafName"}
    assert info.options == {"conflict": "Skip"}


def test_a_row_s_problems_read_as_one_sentence_with_their_columns_named() -> None:
    record = Record(
        3,
        problems=[
            Problem(3, "Created time", "soon", "'soon' is not a date."),
            Problem(3, None, None, "The row key is used by row 2."),
        ],
    )
    assert problem_text(record) == (
        "Created time: 'soon' is not a date. The row key is used by row 2."
    )


def test_an_unknown_conflict_option_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match=r"^unknown conflict option 'merge'$"):
        conflict_option("merge")
    assert conflict_option(" skip ") == "Skip"


def test_a_disposal_run_taken_as_a_submit_run_says_disposals_are_never_sent_again(
    journal: Journal,
) -> None:
    run_id = journal.create_run("destroy", "p", [(None, "A", {"rowKey": "A"})])
    journal.mark_ended(run_id, "cancelled")
    with pytest.raises(JobError) as raised:
        take_run(journal, run_id)
    assert raised.value.message == (
        f"Run {run_id} is a disposal run, not a submit run; disposals are never sent "
        "again automatically."
    )


# -- settings -----------------------------------------------------------------------------------


def test_concurrency_runs_from_one_to_thirty_two(journal: Journal) -> None:
    run_id = new_run(journal, 3)
    assert SubmitRun(journal, FakeClient(), run_id, concurrency=32).concurrency == 32
    assert SubmitRun(journal, FakeClient(), run_id, concurrency=1).concurrency == 1
    for wrong in (0, 33):
        with pytest.raises(ValueError, match=r"^concurrency must be from 1 to 32$"):
            SubmitRun(journal, FakeClient(), run_id, concurrency=wrong)


def test_a_batch_holds_one_to_fifteen_records(journal: Journal) -> None:
    run_id = new_run(journal, 3)
    for wrong in (0, 16):
        with pytest.raises(ValueError, match=r"^a batch holds 1 to 15 records$"):
            SubmitRun(journal, FakeClient(), run_id, batch_size=wrong)
    client = FakeClient()
    submit(journal, run_id, client, concurrency=1, batch_size=1)
    assert client.calls == [["K0001"], ["K0002"], ["K0003"]]


# -- what the run reports -------------------------------------------------------------------


def test_a_smooth_run_reports_progress_at_the_start_once_per_batch_and_at_the_end(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 30)
    state = RunState()
    statuses, _ = listen(state)
    submit(journal, run_id, FakeClient(), state, concurrency=1)
    assert statuses == ["", "", "", "Done"]


def test_the_summary_carries_the_run_id_and_the_time_the_run_took(journal: Journal) -> None:
    run_id = new_run(journal, 30)
    clock = FakeClock()
    clock.now = 1000.0

    def slow(sent: list[str]) -> SubmitResult:
        clock.sleep(2.5)
        return stored(sent)

    summary = submit(journal, run_id, FakeClient(slow), clock=clock, concurrency=1)
    assert summary.run_id == run_id
    assert summary.elapsed == 5.0
    assert summary.calls == 2


def test_a_resumed_run_starts_its_progress_from_the_counts_in_the_journal(
    journal: Journal,
) -> None:
    items = [(n, key, {"rowKey": key}) for n, key in enumerate(keys(5), start=2)]
    run_id = journal.create_run("submit", "Sandbox", items, skipped={"K0003": "No name."})
    journal.claim(run_id, 2)
    journal.finish(run_id, ok=["K0001"], failed={"K0002": "Name is reserved."})
    state = RunState()
    seen: list[tuple[int, int, int, int]] = []
    state.on_progress(lambda p: seen.append((p.total, p.stored, p.failed, p.skipped)))

    submit(journal, run_id, FakeClient(), state)

    assert seen[0] == (5, 1, 1, 1)
    assert seen[-1] == (5, 3, 1, 1)


def test_worker_threads_are_named_after_the_run(journal: Journal) -> None:
    run_id = new_run(journal, 30)
    names: list[str] = []

    def named(sent: list[str]) -> SubmitResult:
        names.append(threading.current_thread().name)
        return stored(sent)

    submit(journal, run_id, FakeClient(named), concurrency=2)
    assert len(names) == 2
    assert all(name.startswith(f"submit-{run_id}_") for name in names)


def test_a_client_without_a_retry_policy_can_send_a_run(journal: Journal) -> None:
    run_id = new_run(journal, 20)
    client = PlainClient()
    clock = FakeClock()
    summary = SubmitRun(journal, client, run_id, clock=clock, sleep=clock.sleep).run()
    assert summary.status == "done" and summary.counts.ok == 20
    assert client.calls == [keys(20)[:15], keys(20)[15:]]


# -- the service's answers ------------------------------------------------------------------


def test_the_answer_s_message_reaches_the_batch_listeners_with_the_outcomes(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 3)
    state = RunState()
    _, results = listen(state)
    answer = SubmitResult("2 of 3 submitted.", ["K0001", "K0003"], {"K0002": "Bad name."})

    submit(journal, run_id, FakeClient(lambda sent: answer), state)

    assert results == [
        BatchResult(ok=("K0001", "K0003"), failed={"K0002": "Bad name."}, message=answer.message)
    ]


def test_a_record_the_answer_leaves_out_fails_with_a_message_saying_so(journal: Journal) -> None:
    run_id = new_run(journal, 2)
    submit(journal, run_id, FakeClient(lambda sent: SubmitResult("1 submitted.", sent[:1])))
    assert items_by_key(journal, run_id)["K0002"].message == (
        "The service's answer did not mention this record."
    )


def test_keys_listed_as_stored_that_were_not_sent_or_that_also_failed_are_not_stored(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 3)
    state = RunState()
    _, results = listen(state)

    def confused(sent: list[str]) -> SubmitResult:
        return SubmitResult("done", [*sent, "K9999"], {"K0002": "Bad name.", "K7777": "?"})

    summary = submit(journal, run_id, FakeClient(confused), state)

    assert results == [
        BatchResult(ok=("K0001", "K0003"), failed={"K0002": "Bad name."}, message="done")
    ]
    assert states(journal, run_id) == {"K0001": "ok", "K0002": "failed", "K0003": "ok"}
    assert (summary.counts.ok, summary.counts.failed) == (2, 1)
    assert state.progress().stored == 2


def test_unnamed_failures_of_a_single_record_fail_it_with_their_texts_joined_by_a_space(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 1)
    state = RunState()
    _, results = listen(state)
    answer = SubmitResult("0 of 1 submitted.", [], {}, unmatched=["Invalid item.", "No name."])

    submit(journal, run_id, FakeClient(lambda sent: answer), state)

    assert items_by_key(journal, run_id)["K0001"].message == "Invalid item. No name."
    assert results == [
        BatchResult(failed={"K0001": "Invalid item. No name."}, message=answer.message)
    ]


def test_a_record_left_uncertain_beside_a_named_failure_is_sent_again_alone(
    journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    run_id = new_run(journal, 2)
    state = RunState()
    _, results = listen(state)

    def one_named(sent: list[str]) -> SubmitResult:
        if len(sent) == 2:
            return SubmitResult("1 failed.", [], {"K0001": "Bad name."}, unmatched=["Failed."])
        return stored(sent)

    client = FakeClient(one_named)
    with caplog.at_level(logging.INFO, logger="opus_desktop.jobs.submit"):
        submit(journal, run_id, client, state)

    assert client.calls == [["K0001", "K0002"], ["K0002"]]
    assert states(journal, run_id) == {"K0001": "failed", "K0002": "ok"}
    assert results[0] == BatchResult(failed={"K0001": "Bad name."}, message="1 failed.")
    assert (
        "1 records are uncertain after failures the service did not tie to a row key; "
        "sending them again in smaller calls"
    ) in caplog.messages


def test_a_refused_pair_is_split_into_two_single_calls(journal: Journal) -> None:
    run_id = new_run(journal, 2)

    def pairs_refused(sent: list[str]) -> Outcome:
        if len(sent) > 1:
            return RequestRejected("The service refused the request.")
        return stored(sent)

    client = FakeClient(pairs_refused)
    summary = submit(journal, run_id, client)
    assert client.calls == [["K0001", "K0002"], ["K0001"], ["K0002"]]
    assert summary.status == "done" and summary.counts.ok == 2


def test_a_pair_the_service_failed_on_is_split_into_two_single_calls(journal: Journal) -> None:
    run_id = new_run(journal, 2)

    def pairs_crash(sent: list[str]) -> Outcome:
        if len(sent) > 1:
            return ServerError("The service failed (HTTP 500).")
        return stored(sent)

    client = FakeClient(pairs_crash)
    summary = submit(journal, run_id, client)
    assert client.calls == [["K0001", "K0002"], ["K0001"], ["K0002"]]
    assert summary.status == "done" and summary.counts.ok == 2


def test_a_single_record_refused_before_sending_fails_with_the_client_s_message(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 1)
    state = RunState()
    _, results = listen(state)
    refusal = InvalidRequest("The record has a field the API does not accept.")

    submit(journal, run_id, FakeClient(lambda sent: refusal), state)

    assert items_by_key(journal, run_id)["K0001"].message == refusal.message
    assert results == [BatchResult(failed={"K0001": refusal.message}, message=refusal.message)]


def test_time_spent_on_records_refused_before_sending_never_counts_as_an_outage(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 3)
    clock = GuardedClock()

    def refuses_slowly(sent: list[str]) -> Outcome:
        if sent == ["K0002"]:
            return stored(sent)
        clock.sleep(700.0)  # longer than the outage limit, without an answer
        return InvalidRequest(f"{sent[0]} has a field the API does not accept.")

    summary = submit(
        journal, run_id, FakeClient(refuses_slowly), clock=clock, concurrency=1, batch_size=1
    )

    assert summary.status == "done" and summary.error is None
    found = items_by_key(journal, run_id)
    assert found["K0001"].message == "K0001 has a field the API does not accept."
    assert found["K0003"].message == "K0003 has a field the API does not accept."
    assert found["K0002"].state == "ok"


def test_a_record_that_keeps_getting_500_without_a_service_message_fails_with_the_error_s(
    journal: Journal,
) -> None:
    run_id = new_run(journal, 1)
    state = RunState()
    _, results = listen(state)
    crash = ServerError("The service failed (HTTP 500).")

    submit(journal, run_id, FakeClient(lambda sent: crash), state)

    message = "The service failed on this record 3 times: The service failed (HTTP 500)."
    assert items_by_key(journal, run_id)["K0001"].message == message
    assert results == [BatchResult(failed={"K0001": message}, message=crash.message)]


# -- stopping on the service's word ---------------------------------------------------------------


def test_a_405_stops_the_run_and_its_records_go_back_with_the_message(journal: Journal) -> None:
    run_id = new_run(journal, 15)
    state = RunState()
    _, results = listen(state)
    wrong = ProtocolError("The API does not allow this method here.", status=405)
    client = FakeClient(lambda sent: wrong)

    summary = submit(journal, run_id, client, state)

    assert summary.status == "stopped" and summary.error is wrong and len(client.calls) == 1
    assert {item.message for item in journal.items(run_id, ["pending"])} == {wrong.message}
    assert results == [BatchResult(released=tuple(keys(15)), message=wrong.message)]
    assert state.progress().status == "Stopped"


def test_an_auth_refusal_puts_the_batch_back_with_its_message_and_logs_why_the_run_stops(
    journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    run_id = new_run(journal, 15)
    refusal = AuthError("The identity service refused the app: wrong client id.")
    with caplog.at_level(logging.INFO, logger="opus_desktop.jobs.submit"):
        summary = submit(journal, run_id, FakeClient(lambda sent: refusal))

    assert summary.status == "stopped" and summary.exit_code == 3
    assert {item.message for item in journal.items(run_id)} == {refusal.message}
    assert {item.attempts for item in journal.items(run_id)} == {1}  # not claimed again
    assert f"run {run_id} stops: {refusal.message}" in caplog.messages


def test_a_repeated_row_key_without_problems_is_skipped_naming_the_key(journal: Journal) -> None:
    first = Record(2, {"rowKey": "K-1"})
    again = Record(3, {"rowKey": "K-1"})
    new = create_submit_run(journal, "Sandbox", [first, again])
    assert (new.to_send, new.invalid) == (1, 1)
    messages = {item.key: item.message for item in journal.items(new.run_id)}
    assert messages["(row 3)"] == "The row key 'K-1' is also used on row 2."


def test_a_key_repeated_chunks_later_names_the_row_that_holds_it(journal: Journal) -> None:
    # The earlier row is in the journal by then, no longer in memory: the journal says which.
    records = [Record(n, {"rowKey": f"K-{n}"}) for n in range(2, CHUNK + 5)]
    records.append(Record(CHUNK + 9, {"rowKey": "K-7"}))
    new = create_submit_run(journal, "Sandbox", records)
    assert (new.to_send, new.invalid) == (CHUNK + 3, 1)
    messages = {item.key: item.message for item in journal.items(new.run_id)}
    assert messages[f"(row {CHUNK + 9})"] == "The row key 'K-7' is also used on row 7."


def test_a_repeated_key_of_an_item_without_a_row_says_an_earlier_row_has_it() -> None:
    assert _keyless("K-1", None) == "The row key K-1 is used by an earlier row."
    assert _keyless(None, None) == "This row has no row key."
