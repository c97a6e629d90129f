"""Disposal edges, continued: reading the answer, what the outcome and audit keep, pauses and
errors (found by make mutate)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from opus_desktop import paths
from opus_desktop.jobs.audit import AuditLog
from opus_desktop.jobs.disposal import NOT_CONFIRMED, DestroyRun
from opus_desktop.jobs.disposal_outcome import (
    DESTROYED,
    FAILED,
    certificate_path,
    destroy_outcome,
    reason_kind,
)
from opus_desktop.jobs.due import DisposalItem
from opus_desktop.jobs.errors import AuditError, JobError
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.state import BatchResult, RunState
from opus_desktop.opus.errors import (
    AuthError,
    Failure,
    RequestRejected,
    ServerError,
    ServiceUnavailable,
)
from opus_desktop.opus.protocols import DestroyResult
from opus_desktop.opus.retry import RetryPolicy
from tests.unit.test_disposal import TENANT, FakeOpus, key
from tests.unit.test_disposal_edges import Waits, entries_of, runner


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.sqlite3", lock_timeout=0.1) as opened:
        yield opened


@pytest.fixture
def audit(tmp_path: Path) -> AuditLog:
    return AuditLog(tmp_path / "audit.jsonl")


# -- reading the answer ------------------------------------------------------------------------


def test_a_reply_with_unnamed_failures_fails_the_destroyed_as_not_confirmed(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(2)
    opus.state[key(1)] = "rejected"
    opus.unmatched = ["Some items failed.", "Try later."]
    run = runner(journal, audit, opus)
    outcome = run.run(run.create([DisposalItem(key(0)), DisposalItem(key(1))], "S"), RunState())
    messages = {r.key: r.message for r in outcome.failed}
    assert messages[key(0)] == (
        f"{NOT_CONFIRMED} Opus reported failures without naming the records (Some items "
        "failed.; Try later.). Retry to find out whether this record was destroyed."
    )
    assert messages[key(1)] == f"Record '{key(1)}' cannot be destroyed: its disposal is rejected."


def test_a_repeated_call_s_already_destroyed_counts_as_destroyed(
    journal: Journal, audit: AuditLog
) -> None:
    class Repeating(FakeOpus):
        def destroy(self, row_keys: Any) -> DestroyResult:
            self.destroy_calls.append(list(row_keys))
            failed = {k: f"Record '{k}' is already destroyed." for k in row_keys}
            return DestroyResult([], failed, [], "0 destroyed.", repeated=True)

    opus = Repeating(1)
    run = runner(journal, audit, opus)
    outcome = run.run(run.create([DisposalItem(key(0))], "S"), RunState())
    (record,) = outcome.destroyed
    assert record.message == (
        f"Opus answered: Record '{key(0)}' is already destroyed. An earlier sending of this "
        "run that got no answer destroyed it."
    )


def test_a_record_the_reply_does_not_mention_fails_as_not_confirmed_and_a_retry_settles(
    journal: Journal, audit: AuditLog
) -> None:
    class Forgetful(FakeOpus):
        forget = True

        def destroy(self, row_keys: Any) -> DestroyResult:
            result = super().destroy(row_keys)
            if self.forget:  # destroyed, but the reply leaves the last record out
                return replace(result, destroyed=result.destroyed[:-1])
            return result

    opus = Forgetful(2)
    run = runner(journal, audit, opus)
    run_id = run.create([DisposalItem(key(0)), DisposalItem(key(1))], "S")
    outcome = run.run(run_id, RunState())
    assert outcome.run.status == "done" and [r.key for r in outcome.destroyed] == [key(0)]
    (unsure,) = outcome.failed
    assert unsure.key == key(1) and unsure.message == (
        f"{NOT_CONFIRMED} Opus's answer did not mention this record. Retry to find out "
        "whether it was destroyed."
    )
    opus.forget = False
    again = run.retry_failed(run_id, RunState())
    assert again.all_destroyed and opus.destroyed_times[key(1)] == 1


def test_the_service_s_messages_are_kept_once_each_and_at_most_twenty(
    journal: Journal, audit: AuditLog
) -> None:
    class Chatty(FakeOpus):
        def destroy(self, row_keys: Any) -> DestroyResult:
            self.destroy_calls.append(list(row_keys))
            n = len(self.destroy_calls)
            return DestroyResult(list(row_keys), {}, [], f"Call {min(n, 22)}." if n > 1 else "")

    opus = Chatty(1)
    run = runner(journal, audit, opus)
    keys = [f"R{n:03d}" for n in range(15 * 24)]
    outcome = run.run(run.create([DisposalItem(k) for k in keys], "S"), RunState())
    assert outcome.entry is not None
    said = outcome.entry.entry["serviceMessage"].split(" | ")
    assert said == [f"Call {n}." for n in range(2, 22)]  # the first said nothing, 20 kept


def test_resume_audits_only_new_answers_and_changed_failures(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(3)
    opus.state[key(1)] = "awaiting approval"
    run = runner(journal, audit, opus)
    run_id = run.create([DisposalItem(key(n)) for n in range(3)], "S")
    run.run(run_id, RunState())
    opus.state[key(1)] = "rejected"
    run.retry_failed(run_id, RunState())
    first, second = entries_of(audit)
    assert set(first["answers"]) == {key(0), key(1), key(2)}
    assert second["answers"] == {
        key(1): {
            "outcome": FAILED,
            "message": f"Record '{key(1)}' cannot be destroyed: its disposal is rejected.",
        }
    }
    assert second["recovered"] == []
    # A resume that sends nothing writes nothing: every answer is in the log already.
    assert run.resume(run_id, RunState()).entry is None and len(entries_of(audit)) == 2


def test_an_answer_journalled_but_never_audited_is_recovered_by_the_next_action(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(3)
    run = runner(journal, audit, opus)
    run_id = run.create([DisposalItem(key(n)) for n in range(3)], "S")
    journal.claim(run_id, 1)
    journal.finish(run_id, failed={key(0): "Record is awaiting approval."})
    journal.mark_ended(run_id, "cancelled")
    outcome = run.resume(run_id, RunState())
    (entry,) = entries_of(audit)
    assert entry["recovered"] == [key(0)]
    said = {"outcome": FAILED, "message": "Record is awaiting approval."}
    assert entry["answers"][key(0)] == said
    assert sorted(r.key for r in outcome.destroyed) == [key(1), key(2)]


def test_destroyed_records_show_the_audited_note_and_failed_ones_the_journal_s(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(2)
    opus.state[key(1)] = "rejected"
    run = runner(journal, audit, opus)
    run_id = run.create([DisposalItem(key(0)), DisposalItem(key(1))], "S")
    run.run(run_id, RunState())
    outcome = destroy_outcome(journal, audit, run_id)
    assert [(r.key, r.outcome, r.message) for r in outcome.records] == [
        (key(0), DESTROYED, ""),
        (key(1), FAILED, f"Record '{key(1)}' cannot be destroyed: its disposal is rejected."),
    ]


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("It has ALREADY BEEN DESTROYED", "already destroyed"),
        ("Item already disposed of", "already destroyed"),
        ("The record does not exist", "not found"),
        ("No record with that key", "not found"),
        ("Unknown row key", "not found"),
        ("Pending approval by the owner", "awaiting approval"),
        ("Awaiting the reviewer", "awaiting approval"),
        ("Not yet due for disposal", "not due"),
        ("Something else went wrong", "other"),
    ],
)
def test_every_phrase_of_a_reason_is_recognised(message: str, kind: str) -> None:
    assert reason_kind(message) == kind


# -- what the outcome and the audit entry keep -------------------------------------------------


def test_an_old_run_without_options_or_item_details_reads_back_empty_not_none(
    journal: Journal, audit: AuditLog
) -> None:
    run_id = journal.create_run("destroy", "old", [(None, key(0), {"rowKey": key(0)})])
    outcome = destroy_outcome(journal, audit, run_id)
    (record,) = outcome.records
    assert (record.name, record.classification, record.due) == ("", "", "")
    assert (outcome.justification, outcome.before, outcome.organisation) == ("", "", "")
    done = runner(journal, audit, FakeOpus(1)).run(run_id, RunState())
    assert done.all_destroyed and done.destroyed[0].message == ""
    (entry,) = entries_of(audit)
    assert entry["justification"] == "" and entry["operator"]["name"] == ""
    assert entry["profile"] == TENANT.profile


def test_the_outcome_keeps_the_due_before_date_the_organisation_and_the_input_hash(
    journal: Journal, audit: AuditLog, tmp_path: Path
) -> None:
    run_id = runner(journal, audit, FakeOpus(1)).create(
        [DisposalItem(key(0))],
        "S",
        before=datetime(2026, 1, 1, tzinfo=UTC),
        organisation="City Archive",
        input_path=tmp_path / "due.xlsx",
        input_hash="ab" * 32,
    )
    outcome = destroy_outcome(journal, audit, run_id)
    assert (outcome.before, outcome.organisation) == ("2026-01-01T00:00:00+00:00", "City Archive")
    assert outcome.run.input_sha256 == "ab" * 32


def test_an_empty_justification_is_refused_with_a_sentence_that_says_what_to_do(
    journal: Journal, audit: AuditLog
) -> None:
    with pytest.raises(JobError) as refused:
        runner(journal, audit, FakeOpus(1)).create([DisposalItem(key(0))], "\t ")
    assert refused.value.message == "A disposal needs a justification: say why these records go."


def test_the_operator_named_for_an_action_is_the_one_audited(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(2)
    opus.state[key(1)] = "awaiting approval"
    run = runner(journal, audit, opus)
    run_id = run.create([DisposalItem(key(0)), DisposalItem(key(1))], "S", operator_name="Jane")
    run.run(run_id, RunState(), operator_name="Ann")
    opus.state[key(1)] = "due"
    run.retry_failed(run_id, RunState(), operator_name="Bob")
    assert [e["operator"]["name"] for e in entries_of(audit)] == ["Ann", "Bob"]


def test_a_finished_run_keeps_the_note_it_was_created_with(
    journal: Journal, audit: AuditLog
) -> None:
    run = runner(journal, audit, FakeOpus(1))
    outcome = run.run(run.create([DisposalItem(key(0))], "S"), RunState())
    assert (outcome.run.status, outcome.run.note) == ("done", "Destroy 1 records")


def test_the_entries_of_a_run_are_its_own_destroy_entries_only(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(2)
    run = runner(journal, audit, opus)
    first = run.create([DisposalItem(key(0))], "S")
    run.run(first, RunState())
    audit.append({"action": "note", "run": first})
    second = run.create([DisposalItem(key(1))], "S")
    run.run(second, RunState())
    assert [e.entry["run"] for e in destroy_outcome(journal, audit, first).entries] == [first]
    assert [e.entry["run"] for e in destroy_outcome(journal, audit, second).entries] == [second]


def test_answers_of_another_shape_in_the_log_are_read_without_failing(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(3)
    run = runner(journal, audit, opus)
    run_id = run.create([DisposalItem(key(n)) for n in range(3)], "S")
    journal.claim(run_id, 3)
    journal.finish(run_id, ok=[key(0), key(1)], failed={key(2): ""})
    journal.mark_ended(run_id, "done")
    # An entry written by hand (or another version): a plain-text answer, and answers
    # without a message.
    audit.append(
        {
            "action": "destroy",
            "run": run_id,
            "answers": {
                key(0): "destroyed",
                key(1): {"outcome": DESTROYED},
                key(2): {"outcome": FAILED},
            },
        }
    )
    outcome = destroy_outcome(journal, audit, run_id)
    assert [(r.key, r.outcome, r.message) for r in outcome.records] == [
        (key(0), DESTROYED, ""),
        (key(1), DESTROYED, ""),
        (key(2), FAILED, ""),
    ]
    # The failure without a message is in the log already: a later action does not repeat it.
    state = RunState()
    state.cancel()
    again = run.resume(run_id, state)
    assert again.entry is not None and set(again.entry.entry["answers"]) == {key(0)}


def test_a_destroyed_record_journalled_but_never_audited_has_no_note(
    journal: Journal, audit: AuditLog
) -> None:
    run_id = runner(journal, audit, FakeOpus(1)).create([DisposalItem(key(0))], "S")
    journal.claim(run_id, 1)
    journal.finish(run_id, ok=[key(0)])
    (record,) = destroy_outcome(journal, audit, run_id).records
    assert (record.outcome, record.message) == (DESTROYED, "")


def test_a_destroyed_record_s_note_is_not_audited_again_by_a_later_action(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(2)
    opus.state[key(1)] = "awaiting approval"
    lost = iter([True])

    def lose_answer(keys: list[str]) -> None:
        if next(lost, False):
            raise ServiceUnavailable("The connection dropped.")

    opus.after_call = lose_answer
    run = runner(journal, audit, opus)
    run_id = run.create([DisposalItem(key(0)), DisposalItem(key(1))], "S")
    first = run.run(run_id, RunState())
    assert "earlier sending" in first.destroyed[0].message
    opus.state[key(1)] = "due"
    run.retry_failed(run_id, RunState())
    assert set(entries_of(audit)[-1]["answers"]) == {key(1)}


def test_a_record_sent_again_after_a_plain_resume_counts_already_destroyed_as_destroyed(
    journal: Journal, audit: AuditLog, tmp_path: Path
) -> None:
    opus = FakeOpus(1)
    run_id = runner(journal, audit, opus).create([DisposalItem(key(0))], "S")
    claimed = journal.claim(run_id, 1)
    opus.destroy([item.key for item in claimed])  # reached Opus; then the app died
    journal.close()
    with Journal(tmp_path / "journal.sqlite3") as again:
        again.prepare_resume(run_id)  # back to pending, with no message
        outcome = runner(again, audit, opus).run(run_id, RunState())
    assert outcome.all_destroyed and "earlier sending" in outcome.destroyed[0].message
    assert opus.destroyed_times[key(0)] == 1


def test_a_resumed_run_counts_what_earlier_actions_did(journal: Journal, audit: AuditLog) -> None:
    opus = FakeOpus(20)
    opus.state[key(0)] = "rejected"
    run = runner(journal, audit, opus)
    run_id = run.create(
        [DisposalItem(key(n)) for n in range(20)], "S", not_sent=[DisposalItem("OLD")]
    )
    state = RunState()
    state.on_batch(lambda batch: state.cancel())
    run.run(run_id, state)
    resumed = RunState()
    started: list[tuple[int, int, int]] = []
    resumed.on_progress(lambda p: started.append((p.stored, p.failed, p.skipped)))
    run.resume(run_id, resumed)
    assert started[0] == (14, 1, 1)
    assert (resumed.progress().stored, resumed.progress().failed) == (19, 1)


# -- pauses and errors -------------------------------------------------------------------------


def test_by_default_pauses_start_at_one_second_and_stop_growing_at_thirty(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(1)
    down = iter(range(7))

    def unreachable(keys: list[str]) -> None:
        if next(down, None) is not None:
            raise ServiceUnavailable("Opus could not be reached.")

    opus.before_call = unreachable
    run = DestroyRun(journal, audit, opus, TENANT, rng=lambda: 1.0)  # no jitter
    state = Waits()
    assert run.run(run.create([DisposalItem(key(0))], "S"), state).all_destroyed
    assert state.waited == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_pauses_are_jittered_but_never_below_a_tenth_of_their_ceiling(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(1)
    down = iter(range(3))

    def unreachable(keys: list[str]) -> None:
        if next(down, None) is not None:
            raise ServiceUnavailable("Opus could not be reached.")

    opus.before_call = unreachable
    run = DestroyRun(journal, audit, opus, TENANT, rng=lambda: 0.0)
    state = Waits()
    assert run.run(run.create([DisposalItem(key(0))], "S"), state).all_destroyed
    assert state.waited == pytest.approx([0.1, 0.2, 0.4])


def test_two_records_that_get_500_are_split_before_either_is_retried(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(2)

    def fail_on_second(keys: list[str]) -> None:
        if key(1) in keys:
            raise ServerError("The service failed (HTTP 500).")

    opus.before_call = fail_on_second
    run = runner(journal, audit, opus)
    outcome = run.run(run.create([DisposalItem(key(0)), DisposalItem(key(1))], "S"), RunState())
    assert opus.destroy_calls == [[key(0), key(1)], [key(0)], [key(1)], [key(1)], [key(1)]]
    assert [r.key for r in outcome.destroyed] == [key(0)]
    assert [r.key for r in outcome.failed] == [key(1)]


def test_each_call_s_answer_reaches_the_listener_and_the_audit_entry(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(2)

    def refuse(keys: list[str]) -> None:
        if key(1) in keys:
            raise RequestRejected("The service refused the request.", "Row key is not valid.")

    opus.before_call = refuse
    run = runner(journal, audit, opus)
    state = RunState()
    batches: list[BatchResult] = []
    state.on_batch(batches.append)
    outcome = run.run(run.create([DisposalItem(key(0)), DisposalItem(key(1))], "S"), state)
    assert [(b.ok, b.failed, b.message) for b in batches] == [
        ((key(0),), {}, "1 of 1 records marked as destroyed."),
        ((), {key(1): "Row key is not valid."}, "The service refused the request."),
    ]
    assert outcome.entry is not None
    assert outcome.entry.entry["serviceMessage"] == (
        "1 of 1 records marked as destroyed. | The service refused the request."
    )


def test_a_dropped_call_after_part_of_a_split_batch_puts_back_only_the_rest(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(4)
    dropped = iter([True])

    def refuse_whole_then_drop(keys: list[str]) -> None:
        if len(keys) == 4:
            raise RequestRejected("The service refused the request.", "One key is bad.")
        if keys == [key(2), key(3)] and next(dropped, False):
            raise ServiceUnavailable("The connection dropped.")

    opus.before_call = refuse_whole_then_drop
    run = runner(journal, audit, opus)
    outcome = run.run(run.create([DisposalItem(key(n)) for n in range(4)], "S"), Waits())
    assert outcome.all_destroyed and outcome.run.status == "done"
    assert opus.destroy_calls[1:] == [[key(0), key(1)], [key(2), key(3)], [key(2), key(3)]]


def test_the_damaged_audit_log_message_says_where_to_look(
    journal: Journal, audit: AuditLog
) -> None:
    audit.append({"action": "test"})
    audit.path.write_text(audit.path.read_text("utf-8").replace("test", "tost"), "utf-8")
    run = runner(journal, audit, FakeOpus(1))
    outcome = run.run(run.create([DisposalItem(key(0))], "S"), RunState())
    assert outcome.error is not None
    assert outcome.error.message.startswith(
        f"The audit log {audit.path} is damaged, so nothing was sent to Opus: "
    )
    assert outcome.error.message.endswith(
        "Keep the file for your records manager; `opus-desktop audit verify` shows the same."
    )
    assert outcome.run.note == outcome.error.message


def test_an_audit_log_that_cannot_be_written_is_the_run_s_error(
    journal: Journal, audit: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(entry: Any) -> Any:
        raise AuditError("The audit log could not be written: the disk is full.")

    monkeypatch.setattr(audit, "append", full)
    run = runner(journal, audit, FakeOpus(1))
    outcome = run.run(run.create([DisposalItem(key(0))], "S"), RunState())
    assert isinstance(outcome.error, AuditError) and outcome.entry is None
    assert outcome.run.status == "done" and outcome.all_destroyed
    assert outcome.run.note == "The audit log could not be written: the disk is full."
    assert outcome.exit_code == 2


def test_a_sign_in_refused_and_an_unwritable_audit_log_report_the_sign_in(
    journal: Journal, audit: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    opus = FakeOpus(20)

    def refuse(keys: list[str]) -> None:
        if len(opus.destroy_calls) > 1:
            raise AuthError("The identity service refused the app.")

    def full(entry: Any) -> Any:
        raise AuditError("The audit log could not be written.")

    opus.before_call = refuse
    monkeypatch.setattr(audit, "append", full)
    run = runner(journal, audit, opus)
    outcome = run.run(run.create([DisposalItem(key(n)) for n in range(20)], "S"), RunState())
    assert isinstance(outcome.error, AuthError)
    assert outcome.run.note == "The identity service refused the app."


@pytest.mark.parametrize(
    ("error", "status"), [(RuntimeError("a bug"), "stopped"), (KeyboardInterrupt(), "cancelled")]
)
def test_a_bug_mid_run_audits_what_was_answered_and_ends_the_run(
    journal: Journal, audit: AuditLog, error: BaseException, status: str
) -> None:
    opus = FakeOpus(20)

    def second_call_breaks(keys: list[str]) -> None:
        if len(opus.destroy_calls) > 1:
            raise error

    opus.after_call = second_call_breaks
    run = runner(journal, audit, opus)
    run_id = run.create([DisposalItem(key(n)) for n in range(20)], "S", operator_name="Jane")
    with pytest.raises(type(error)):
        run.run(run_id, RunState())
    info = journal.run(run_id)
    assert (info.status, info.note) == (status, f"Stopped by an error: {error!r}")
    (entry,) = entries_of(audit)
    assert set(entry["answers"]) == {key(n) for n in range(15)}
    assert entry["operator"]["name"] == "Jane"
    messages = {i.message for i in journal.items(run_id) if i.state == "pending"}
    assert messages == {
        f"{NOT_CONFIRMED} the run stopped on an error while this record was being sent. "
        "Sending it again tells."
    }


def test_a_failing_clean_up_after_a_bug_is_logged_and_the_bug_raised(
    journal: Journal, audit: AuditLog, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    opus = FakeOpus(20)

    def second_call_breaks(keys: list[str]) -> None:
        if len(opus.destroy_calls) > 1:
            raise RuntimeError("a bug")

    def broken(entry: Any) -> Any:
        raise OSError("the disk is gone")

    opus.after_call = second_call_breaks
    monkeypatch.setattr(audit, "append", broken)
    run = runner(journal, audit, opus)
    run_id = run.create([DisposalItem(key(n)) for n in range(20)], "S")
    with (
        caplog.at_level("ERROR", logger="opus_desktop.jobs.disposal"),
        pytest.raises(RuntimeError, match="a bug"),
    ):
        run.run(run_id, RunState())
    assert [r.getMessage() for r in caplog.records] == [
        f"run {run_id}: cleaning up after an error failed"
    ]
    assert journal.run(run_id).status == "stopped"  # the later steps still ran


def test_a_certificate_beside_a_sheet_whose_folder_is_a_file_goes_to_the_data_folder(
    journal: Journal, audit: AuditLog, tmp_path: Path
) -> None:
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    run_id = runner(journal, audit, FakeOpus(1)).create(
        [DisposalItem(key(0))], "S", input_path=not_a_folder / "due.xlsx"
    )
    found = certificate_path(journal.run(run_id))
    assert found.parent == paths.data_dir() / "certificates"


def test_a_destroy_run_gives_the_client_s_retries_its_outage_limit_as_patience(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(2)
    policy = RetryPolicy(sleep=lambda _s: None)
    seen: list[float | None] = []

    def during_the_call(keys: list[str]) -> None:
        seen.append(policy.patience())
        policy.tell(Failure.THROTTLED, 429, 1.0)  # the run's listener hears it unharmed

    opus.before_call = during_the_call
    run = DestroyRun(journal, audit, opus, TENANT, outage_limit=42.0, retries=policy)
    assert run.run(run.create([DisposalItem(key(n)) for n in range(2)], "S"), Waits()).all_destroyed
    assert seen == [42.0]
    assert policy.patience() is None  # no longer listening once the run ended


def test_an_untrusted_server_stops_a_destroy_run_at_once_without_a_pause(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(1)

    def untrusted(keys: list[str]) -> None:
        raise ServiceUnavailable("The server could not prove its identity.", kind=Failure.TLS)

    opus.before_call = untrusted
    run = runner(journal, audit, opus)
    state = Waits()
    outcome = run.run(run.create([DisposalItem(key(0))], "S"), state)
    assert state.waited == []
    assert outcome.error is not None and outcome.error.message.startswith("The server could not")
    (item,) = journal.items(outcome.run.id)
    assert item.state == "pending" and not item.message  # never sent: nothing to confirm
