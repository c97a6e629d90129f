"""Behaviour of the disposal module that the main tests leave open (found by make mutate)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from opus_desktop.jobs.audit import AuditLog
from opus_desktop.jobs.disposal import NOT_CONFIRMED, DestroyRun
from opus_desktop.jobs.disposal_outcome import NOT_SENT, PENDING, Tenant, destroy_outcome
from opus_desktop.jobs.due import DisposalItem
from opus_desktop.jobs.errors import JobError
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.state import RunState
from opus_desktop.opus.errors import (
    Failure,
    InvalidRequest,
    ProtocolError,
    RequestRejected,
    ServerError,
    ServiceUnavailable,
)
from opus_desktop.opus.retry import RetryPolicy
from opus_desktop.profiles import Profile
from tests.unit.test_disposal import TENANT, FakeOpus, items_of, key


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.sqlite3", lock_timeout=0.1) as opened:
        yield opened


@pytest.fixture
def audit(tmp_path: Path) -> AuditLog:
    return AuditLog(tmp_path / "audit.jsonl")


def runner(journal: Journal, audit: AuditLog, opus: FakeOpus, **kwargs: Any) -> DestroyRun:
    kwargs.setdefault("pause", 0.0)
    kwargs.setdefault("rng", lambda: 1.0)  # pauses without jitter
    return DestroyRun(journal, audit, opus, TENANT, **kwargs)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Waits(RunState):
    """A RunState that records each pause and every status shown, and never sleeps."""

    def __init__(self, cancel_after: int | None = None) -> None:
        super().__init__()
        self.waited: list[float] = []
        self.shown: list[str] = []
        self.cancel_after = cancel_after

    def wait(self, seconds: float) -> bool:
        self.waited.append(seconds)
        if self.cancel_after is not None and len(self.waited) >= self.cancel_after:
            self.cancel()
            return True
        return False

    def set_status(self, text: str) -> None:
        self.shown.append(text)
        super().set_status(text)


def entries_of(audit: AuditLog) -> list[dict[str, Any]]:
    return [entry.entry for entry in audit.entries()]


# -- the tenant and the run's options ----------------------------------------------------------


def test_a_tenant_is_taken_from_the_profile_and_kept_under_its_four_names() -> None:
    profile = Profile(
        name="records",
        identity_url="https://id.example",
        api_url="https://api.example",
        client_id="app",
    )
    tenant = Tenant.of(profile, "conn-1")
    assert tenant == Tenant("records", "https://id.example", "https://api.example", "conn-1")
    assert tenant.as_json() == {
        "profile": "records",
        "identity": "https://id.example",
        "api": "https://api.example",
        "connection": "conn-1",
    }


def test_create_keeps_the_options_trimmed_and_the_left_out_as_not_sent(
    journal: Journal, audit: AuditLog, tmp_path: Path
) -> None:
    run = runner(journal, audit, FakeOpus(2))
    run_id = run.create(
        [DisposalItem(key(0))],
        "  Schedule 4.2  ",
        operator_name="  Jane  ",
        before=datetime(2026, 1, 1, tzinfo=UTC),
        not_sent=[DisposalItem("OLD")],
        organisation="  City Archive ",
        certificate=tmp_path / "cert.pdf",
    )
    info = journal.run(run_id)
    assert info.options == {
        "justification": "Schedule 4.2",
        "operatorName": "Jane",
        "before": "2026-01-01T00:00:00+00:00",
        "organisation": "City Archive",
        "tenant": TENANT.as_json(),
        "certificate": str(tmp_path / "cert.pdf"),
    }
    assert info.note == "Destroy 1 records" and info.profile == TENANT.profile
    (left,) = [item for item in journal.items(run_id) if item.state == "skipped"]
    assert (left.key, left.message) == ("OLD", "Not sent.")  # no reason given


def test_create_without_the_optional_parts_keeps_them_empty(
    journal: Journal, audit: AuditLog
) -> None:
    run_id = runner(journal, audit, FakeOpus(1)).create([DisposalItem(key(0))], "S")
    options = journal.run(run_id).options
    assert (options["before"], options["certificate"], options["operatorName"]) == ("", "", "")
    outcome = destroy_outcome(journal, audit, run_id)
    assert (outcome.before, outcome.organisation, outcome.justification) == ("", "", "S")


def test_the_outcome_of_a_run_not_yet_sent_is_all_pending(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(2)
    run_id = runner(journal, audit, opus).create(items_of(opus, [key(0), key(1)]), "S")
    outcome = destroy_outcome(journal, audit, run_id)
    assert [r.outcome for r in outcome.records] == [PENDING, PENDING]
    assert [r.key for r in outcome.pending] == [key(0), key(1)]
    assert outcome.rows == {key(0): 2, key(1): 3}
    assert (outcome.records[1].name, outcome.records[1].classification) == (
        "Minutes 1",
        "Records/Class 1",
    )
    assert outcome.records[1].due == "2025-02-01 00:00:00"
    assert not outcome.all_destroyed and outcome.exit_code == 1
    assert outcome.entries == [] and outcome.operators == []


def test_a_run_of_nothing_but_records_left_out_is_not_all_destroyed(
    journal: Journal, audit: AuditLog
) -> None:
    run = runner(journal, audit, FakeOpus(1))
    run_id = run.create([], "S", not_sent=[DisposalItem("OLD")], reason="Not due yet.")
    outcome = run.run(run_id, RunState())
    assert outcome.run.status == "done" and not outcome.all_destroyed
    assert [(r.key, r.outcome, r.message) for r in outcome.records] == [
        ("OLD", NOT_SENT, "Not due yet.")
    ]
    # Records left out are audited, but they are not "recovered" answers of an earlier action.
    (entry,) = entries_of(audit)
    assert entry["recovered"] == [] and entry["answers"]["OLD"]["outcome"] == NOT_SENT


def test_an_empty_run_is_not_all_destroyed_and_writes_no_audit_entry(
    journal: Journal, audit: AuditLog
) -> None:
    run = runner(journal, audit, FakeOpus(1))
    outcome = run.run(run.create([], "S"), RunState())
    assert outcome.records == [] and not outcome.all_destroyed and outcome.exit_code == 1
    assert outcome.entry is None and entries_of(audit) == []


def test_the_operators_are_listed_once_each_in_the_order_they_acted(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(40)
    run = runner(journal, audit, opus)
    run_id = run.create(items_of(opus, [key(n) for n in range(40)]), "S", operator_name="Jane")
    state = RunState()
    state.on_batch(lambda batch: state.cancel())
    run.run(run_id, state)  # Jane, from the run's options
    state = RunState()
    state.on_batch(lambda batch: state.cancel())
    run.resume(run_id, state, operator_name="Sam")
    outcome = run.resume(run_id, RunState(), operator_name="Jane")
    names = [who["name"] for who in outcome.operators]
    assert names == ["Jane", "Sam"]
    assert all(set(who) == {"account", "name"} and who["account"] for who in outcome.operators)
    assert [e.entry["part"] for e in outcome.entries] == ["run", "resume", "resume"]


# -- going on with a run -----------------------------------------------------------------------


def test_a_submit_run_is_refused_by_id_as_not_a_disposal(journal: Journal, audit: AuditLog) -> None:
    submit = journal.create_run("submit", "demo", [(2, "A", {"rowKey": "A"})])
    journal.mark_ended(submit, "cancelled")
    run = runner(journal, audit, FakeOpus(1))
    message = f"Run {submit} submitted records; it is not a disposal."
    with pytest.raises(JobError) as refused:
        run.retry_failed(submit, RunState())
    assert refused.value.message == message
    with pytest.raises(JobError) as read:
        destroy_outcome(journal, audit, submit)
    assert read.value.message == message


def test_another_api_url_is_refused_naming_the_run_s_connection_and_profile(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(1)
    run_id = runner(journal, audit, opus).create([DisposalItem(key(0))], "S")
    journal.mark_ended(run_id, "cancelled")
    moved = Tenant("moved", TENANT.identity_url, "https://elsewhere.example", TENANT.connection_id)
    with pytest.raises(JobError) as refused:
        DestroyRun(journal, audit, opus, moved).resume(run_id, RunState())
    assert refused.value.message == (
        f"Run {run_id} destroys records of the connection {TENANT.connection_id} at "
        f"{TENANT.api_url}; use its profile ({TENANT.profile}) to go on with it."
    )
    assert opus.destroy_calls == []


def test_another_profile_name_or_identity_at_the_same_api_and_connection_may_go_on(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(1)
    run_id = runner(journal, audit, opus).create([DisposalItem(key(0))], "S")
    journal.mark_ended(run_id, "cancelled")
    renamed = Tenant("renamed", "https://other-id.example", TENANT.api_url, TENANT.connection_id)
    assert DestroyRun(journal, audit, opus, renamed).resume(run_id, RunState()).all_destroyed


def test_a_run_kept_without_a_tenant_goes_on_under_any_profile(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(1)
    run_id = journal.create_run(
        "destroy", "old", [(2, key(0), DisposalItem(key(0)).payload())], options={}
    )
    journal.mark_ended(run_id, "cancelled")
    assert runner(journal, audit, opus).resume(run_id, RunState()).all_destroyed


def test_records_stranded_in_flight_are_marked_not_confirmed_on_resume(
    journal: Journal, audit: AuditLog, tmp_path: Path
) -> None:
    opus = FakeOpus(3)
    run_id = runner(journal, audit, opus).create([DisposalItem(key(n)) for n in range(3)], "S")
    journal.claim(run_id, 2)
    journal.close()
    with Journal(tmp_path / "journal.sqlite3") as again:
        run = runner(again, audit, opus)
        state = RunState()
        state.cancel()  # nothing is sent: what resume does before sending stays visible
        run.resume(run_id, state)
        messages = {item.key: item.message for item in again.items(run_id)}
    stranded = (
        f"{NOT_CONFIRMED} the app stopped while this record was being sent. "
        "Sending it again tells whether it was destroyed."
    )
    assert messages == {key(0): stranded, key(1): stranded, key(2): ""}


# -- sending -----------------------------------------------------------------------------------


def test_the_status_names_the_records_being_marked_and_the_end(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(20)
    run = runner(journal, audit, opus)
    state = Waits()
    run.run(run.create(items_of(opus, [key(n) for n in range(20)]), "S"), state)
    assert state.shown == [
        "Marking records 1 to 15 destroyed",
        "Marking records 16 to 20 destroyed",
        "Done",
    ]


def test_pauses_without_an_answer_double_up_to_the_longest_and_are_shown(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(1)
    down = iter(range(6))

    def unreachable(keys: list[str]) -> None:
        if next(down, None) is not None:
            raise ServiceUnavailable("Opus could not be reached.")

    opus.before_call = unreachable
    run = runner(journal, audit, opus, pause=2.0, max_pause=10.0, rng=lambda: 1.0)
    state = Waits()
    outcome = run.run(run.create([DisposalItem(key(0))], "S"), state)
    assert state.waited == [2.0, 4.0, 8.0, 10.0, 10.0, 10.0]
    assert [s for s in state.shown if s.startswith("No answer")] == [
        f"No answer from Opus; trying again in {n} s" for n in (2, 4, 8, 10, 10, 10)
    ]
    assert outcome.all_destroyed and state.shown[-1] == "Done"


def test_an_answer_between_outages_starts_the_pauses_and_the_limit_afresh(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(30)
    clock = Clock()
    pattern = iter([True, True, False, True, False])

    def sometimes_down(keys: list[str]) -> None:
        clock.now += 100
        if next(pattern, False):
            raise ServiceUnavailable("Opus could not be reached.")

    opus.before_call = sometimes_down
    run = runner(journal, audit, opus, pause=1.0, outage_limit=150, clock=clock)
    state = Waits()
    outcome = run.run(run.create([DisposalItem(key(n)) for n in range(30)], "S"), state)
    # Down for 100 s, answered, down again: never 150 s in a row, so the run finishes.
    assert state.waited == [1.0, 2.0, 1.0]
    assert outcome.all_destroyed and outcome.error is None


def test_an_outage_is_measured_from_its_first_failure_and_named_in_the_stop(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(1)
    clock = Clock()

    def down(keys: list[str]) -> None:
        clock.now += 40
        raise ServiceUnavailable("Opus could not be reached (connection refused).")

    opus.before_call = down
    run = runner(journal, audit, opus, outage_limit=120, clock=clock)
    state = Waits()
    outcome = run.run(run.create([DisposalItem(key(0))], "S"), state)
    # Failures at 40, 80, 120 and 160 s: the fourth is 120 s after the first.
    assert len(opus.destroy_calls) == 4 and len(state.waited) == 3
    assert isinstance(outcome.error, ServiceUnavailable)
    assert outcome.error.message == (
        "Opus gave no answer for 120 seconds, so the run stopped. The last attempt: Opus "
        "could not be reached (connection refused). Every record's state is in the journal; "
        "resume the run when the service is back."
    )
    assert outcome.run.note == outcome.error.message and outcome.run.status == "stopped"
    assert state.shown[-1] == "Stopped"


def test_a_cancel_during_a_pause_ends_the_run_cancelled_with_the_record_pending(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(1)

    def down(keys: list[str]) -> None:
        raise ServiceUnavailable("Opus could not be reached.")

    opus.before_call = down
    run = runner(journal, audit, opus)
    state = Waits(cancel_after=1)
    outcome = run.run(run.create([DisposalItem(key(0))], "S"), state)
    assert outcome.run.status == "cancelled" and outcome.exit_code == 130
    assert outcome.run.note == "Cancelled while Opus gave no answer."
    assert state.shown[-1] == "Cancelled" and [r.key for r in outcome.pending] == [key(0)]
    # Nothing was answered, so no audit entry is written.
    assert outcome.entry is None and entries_of(audit) == []


def test_a_cancel_before_any_call_ends_the_run_cancelled(journal: Journal, audit: AuditLog) -> None:
    opus = FakeOpus(1)
    run = runner(journal, audit, opus)
    state = RunState()
    state.cancel()
    outcome = run.run(run.create([DisposalItem(key(0))], "S"), state)
    assert outcome.run.status == "cancelled" and outcome.run.note == "Cancelled."
    assert opus.destroy_calls == []


@pytest.mark.parametrize("refusal", [RequestRejected, InvalidRequest])
def test_a_single_refused_record_fails_with_the_service_s_words_or_else_the_message(
    journal: Journal, audit: AuditLog, refusal: type[RequestRejected | InvalidRequest]
) -> None:
    opus = FakeOpus(3)

    def refuse(keys: list[str]) -> None:
        if key(1) in keys:
            if refusal is RequestRejected:
                raise RequestRejected("The service refused the request.", "")
            raise InvalidRequest("A row key is too long for the service.")

    opus.before_call = refuse
    run = runner(journal, audit, opus)
    outcome = run.run(run.create([DisposalItem(key(n)) for n in range(3)], "S"), RunState())
    expected = (
        "The service refused the request."
        if refusal is RequestRejected
        else "A row key is too long for the service."
    )
    assert [(r.key, r.message) for r in outcome.failed] == [(key(1), expected)]
    assert sorted(r.key for r in outcome.destroyed) == [key(0), key(2)]
    # Halves: [0] then [1, 2]; the half [1, 2] is refused, then [1] and [2] alone.
    assert opus.destroy_calls == [
        [key(0), key(1), key(2)],
        [key(0)],
        [key(1), key(2)],
        [key(1)],
        [key(2)],
    ]


def test_a_record_that_keeps_failing_with_500_names_the_service_s_words_and_pauses(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(1)

    def fail(keys: list[str]) -> None:
        raise ServerError("The service failed (HTTP 500).", service_message="Database timeout.")

    opus.before_call = fail
    run = runner(journal, audit, opus, pause=0.5)
    state = Waits()
    outcome = run.run(run.create([DisposalItem(key(0))], "S"), state)
    (bad,) = outcome.failed
    assert bad.message == (
        f"{NOT_CONFIRMED} Opus failed on this record 3 times (Database timeout.). Retry to "
        "find out whether it was destroyed."
    )
    assert state.waited == [0.5, 0.5] and len(opus.destroy_calls) == 3
    assert outcome.entry is not None
    assert outcome.entry.entry["serviceMessage"] == "The service failed (HTTP 500)."


def test_a_500_then_already_destroyed_counts_as_destroyed_by_this_run(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(2)
    failed_once = iter([True])

    def act_then_fail(keys: list[str]) -> None:
        if next(failed_once, False):
            for k in keys:
                opus.state[k] = "destroyed"
            raise ServerError("The service failed after doing its work.")

    opus.before_call = act_then_fail
    run = runner(journal, audit, opus)
    outcome = run.run(run.create([DisposalItem(key(0)), DisposalItem(key(1))], "S"), RunState())
    assert outcome.all_destroyed
    assert all("earlier sending" in r.message for r in outcome.destroyed)


def test_a_wrong_address_found_mid_split_stops_with_the_unsent_back_to_pending(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(2)

    def refuse_then_vanish(keys: list[str]) -> None:
        if len(keys) > 1:
            raise RequestRejected("The service refused the request.", "One key is bad.")
        raise ProtocolError("Nothing at that URL handles this.", status=405)

    opus.before_call = refuse_then_vanish
    run = runner(journal, audit, opus)
    outcome = run.run(run.create([DisposalItem(key(0)), DisposalItem(key(1))], "S"), RunState())
    assert isinstance(outcome.error, ProtocolError) and outcome.run.status == "stopped"
    assert outcome.run.note == "Nothing at that URL handles this."
    assert {item.state for item in journal.items(outcome.run.id)} == {"pending"}


def test_an_unreadable_answer_leaves_the_records_pending_as_not_confirmed(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(1)

    def garble(keys: list[str]) -> None:
        raise ProtocolError("The reply is not JSON.", status=200)

    opus.after_call = garble
    run = runner(journal, audit, opus)
    state = Waits(cancel_after=1)
    outcome = run.run(run.create([DisposalItem(key(0))], "S"), state)
    (item,) = journal.items(outcome.run.id)
    assert item.state == "pending"
    assert item.message == (
        f"{NOT_CONFIRMED} Opus's answer could not be read (The reply is not JSON.). "
        "Sending it again tells."
    )


def test_a_dropped_call_leaves_the_records_pending_as_not_confirmed(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(1)

    def drop(keys: list[str]) -> None:
        raise ServiceUnavailable("The connection dropped.")

    opus.after_call = drop
    run = runner(journal, audit, opus)
    outcome = run.run(run.create([DisposalItem(key(0))], "S"), Waits(cancel_after=1))
    (item,) = journal.items(outcome.run.id)
    assert item.message == (
        f"{NOT_CONFIRMED} the call may have reached Opus before it failed (The connection "
        "dropped.). Sending it again tells."
    )


def test_a_wait_asked_beyond_the_outage_limit_stops_the_run_at_once(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(1)

    def throttled(keys: list[str]) -> None:
        raise ServiceUnavailable(
            "Opus is busy (HTTP 429), and asked to wait 27 h 47 min before trying again.",
            429,
            asked=100_000.0,
        )

    opus.before_call = throttled
    run = runner(journal, audit, opus, outage_limit=600)
    state = Waits()
    outcome = run.run(run.create([DisposalItem(key(0))], "S"), state)
    assert len(opus.destroy_calls) == 1 and state.waited == []
    assert isinstance(outcome.error, ServiceUnavailable) and outcome.error.asked == 100_000.0
    assert (outcome.error.status, outcome.error.kind) == (429, Failure.THROTTLED)
    assert outcome.error.message == (
        "Opus is busy (HTTP 429), and asked to wait 27 h 47 min before trying again. The run "
        "stopped; every record's state is in the journal: resume it later."
    )
    assert outcome.run.status == "stopped" and outcome.pending


@pytest.mark.parametrize("kind", [Failure.REFUSED, Failure.NAME, Failure.BAD_REPLY])
def test_nothing_answering_before_opus_ever_answered_stops_at_once(
    journal: Journal, audit: AuditLog, kind: Failure
) -> None:
    opus = FakeOpus(1)

    def nobody(keys: list[str]) -> None:
        raise ServiceUnavailable("Nothing answers at https://opus.example.", kind=kind)

    opus.before_call = nobody
    run = runner(journal, audit, opus, outage_limit=600)
    state = Waits()
    outcome = run.run(run.create([DisposalItem(key(0))], "S"), state)
    assert len(opus.destroy_calls) == 1 and state.waited == []
    assert outcome.error is not None
    assert outcome.error.message == "Nothing answers at https://opus.example."
    assert outcome.run.status == "stopped"


def test_after_opus_answered_a_refused_connection_is_an_outage(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(20)
    clock = Clock()

    def down_after_the_first(keys: list[str]) -> None:
        if len(opus.destroy_calls) > 1:
            clock.now += 40
            raise ServiceUnavailable("Nothing answers.", kind=Failure.REFUSED)

    opus.before_call = down_after_the_first
    run = runner(journal, audit, opus, outage_limit=120, clock=clock)
    state = Waits()
    outcome = run.run(run.create([DisposalItem(key(n)) for n in range(20)], "S"), state)
    assert len(opus.destroy_calls) == 5 and len(state.waited) == 3  # then the limit
    assert len(outcome.destroyed) == 15 and outcome.error is not None
    resumed = runner(journal, audit, opus, outage_limit=120, clock=clock)
    assert resumed.resume(outcome.run.id, Waits()).error is not None
    assert len(opus.destroy_calls) == 9  # a resumed run that was answered waits, too


def test_replies_that_are_not_the_apis_stop_the_run_after_three_in_a_row(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(20)

    def garbled_after_the_first(keys: list[str]) -> None:
        if len(opus.destroy_calls) > 1:
            raise ProtocolError("The reply is HTML, not JSON: <html>Sign in", status=200)

    opus.before_call = garbled_after_the_first
    run = runner(journal, audit, opus, outage_limit=600)
    state = Waits()
    outcome = run.run(run.create([DisposalItem(key(n)) for n in range(20)], "S"), state)
    assert len(opus.destroy_calls) == 4 and len(state.waited) == 2
    assert isinstance(outcome.error, ProtocolError) and outcome.exit_code == 4
    assert outcome.error.status == 200
    assert outcome.error.message == (
        "The reply is HTML, not JSON: <html>Sign in That is 3 such replies in a row, so the "
        "run stopped; every record's state is in the journal: resume the run once Opus "
        "answers as the API should."
    )
    assert len(outcome.destroyed) == 15 and outcome.run.status == "stopped"


def test_a_wait_asked_of_just_the_outage_limit_is_waited_for(
    journal: Journal, audit: AuditLog
) -> None:
    opus = FakeOpus(1)
    asked = iter([True])

    def throttled_once(keys: list[str]) -> None:
        if next(asked, False):
            raise ServiceUnavailable("Opus is busy (HTTP 429).", 429, asked=600.0)

    opus.before_call = throttled_once
    run = runner(journal, audit, opus, outage_limit=600)
    outcome = run.run(run.create([DisposalItem(key(0))], "S"), Waits())
    assert outcome.all_destroyed and len(opus.destroy_calls) == 2


def test_the_client_gives_up_at_once_on_a_refusal_only_before_opus_answered(
    journal: Journal, audit: AuditLog
) -> None:
    policy = RetryPolicy(attempts=4, sleep=lambda seconds: None, rng=lambda: 0.0)
    waits: list[str] = []
    policy.listen(lambda kind, status, delay: waits.append(str(kind)))
    clock = Clock()

    def refused() -> httpx.Response:
        clock.now += 10
        raise httpx.ConnectError("[Errno 111] Connection refused")

    never = FakeOpus(1)

    def always(keys: list[str]) -> None:
        policy.call(refused, "destroying")

    never.before_call = always
    run = runner(journal, audit, never, retries=policy, outage_limit=5, clock=clock)
    outcome = run.run(run.create([DisposalItem(key(0))], "S"), Waits())
    assert outcome.error is not None and outcome.run.status == "stopped"
    assert waits == [] and len(never.destroy_calls) == 1  # nothing answers there: no retry

    answered = FakeOpus(20)

    def after_the_first(keys: list[str]) -> None:
        if len(answered.destroy_calls) > 1:
            policy.call(refused, "destroying")

    answered.before_call = after_the_first
    run = runner(journal, audit, answered, retries=policy, outage_limit=5, clock=clock)
    outcome = run.run(run.create([DisposalItem(key(n)) for n in range(20)], "S"), Waits())
    assert len(outcome.destroyed) == 15 and outcome.error is not None
    assert len(waits) == 6  # Opus answered the run first: four tries a call, two calls
