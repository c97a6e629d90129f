"""Behaviour of the journal module that the main tests leave open (found by make mutate)."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from opus_desktop.jobs.errors import DuplicateRowKey, JournalError, RunInProgress, RunNotFound
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.journal_types import Counts
from opus_desktop.jobs.locks import FileLock


def records(n: int, start: int = 0) -> list[tuple[int, str, dict[str, Any]]]:
    """n records as create_run takes them; source rows start at 2 (row 1 is the header)."""
    return [
        (i + 2, f"R-{i:06d}", {"rowKey": f"R-{i:06d}", "leafName": f"Record {i}"})
        for i in range(start, start + n)
    ]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite3"


@pytest.fixture
def journal(path: Path) -> Iterator[Journal]:
    with Journal(path, lock_timeout=0.01) as j:
        yield j


def locks_dir(path: Path) -> Path:
    return path.with_name(path.name + "-locks")


@contextlib.contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    """Another program's connection to the journal file, committing on exit."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        yield db
    finally:
        db.close()


class _Contended:
    """Stands in for the journal's connection. Every BEGIN is recorded; the BEGIN equal to
    `fail` fails (as when another program holds the file) once `after` of them went by."""

    def __init__(self, real: sqlite3.Connection, fail: str, after: int) -> None:
        self.real = real
        self.fail = fail
        self.after = after
        self.begins: list[str] = []

    def execute(self, sql: str, *args: Any) -> Any:
        if sql.startswith("BEGIN"):
            self.begins.append(sql)
            if sql == self.fail:
                if self.after == 0:
                    raise sqlite3.OperationalError("database is locked")
                self.after -= 1
        return self.real.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@contextlib.contextmanager
def contended(journal: Journal, fail: str, after: int = 0) -> Iterator[_Contended]:
    store: Any = journal._store
    real = store._db
    proxy = _Contended(real, fail, after)
    store._db = proxy
    try:
        yield proxy
    finally:
        store._db = real


READ, WRITE = "BEGIN", "BEGIN IMMEDIATE"
Prepare = Callable[[Journal, str, list[Journal]], str]
Act = Callable[[Journal, str], object]


def _same(journal: Journal, run_id: str, others: list[Journal]) -> str:
    return run_id


def _ended(journal: Journal, run_id: str, others: list[Journal]) -> str:
    journal.mark_ended(run_id, "cancelled")
    return run_id


def _claimed(journal: Journal, run_id: str, others: list[Journal]) -> str:
    journal.claim(run_id, 1)
    return run_id


def _left_running(journal: Journal, run_id: str, others: list[Journal]) -> str:
    other = Journal(journal.path)
    left = other.create_run("submit", "demo", records(1))
    other.close()
    return left


def _held_elsewhere(journal: Journal, run_id: str, others: list[Journal]) -> str:
    other = Journal(journal.path)
    others.append(other)
    return other.create_run("submit", "demo", records(1))


# (prepare, act, which BEGIN fails, after how many such BEGINs, what could not be done)
CONTENDED: dict[str, tuple[Prepare, Act, str, int, str]] = {
    "create_run": (
        _same,
        lambda j, r: j.create_run("submit", "p", records(1)),
        WRITE,
        0,
        "updated",
    ),
    "run": (_same, lambda j, r: j.run(r), READ, 0, "read"),
    "runs": (_same, lambda j, r: j.runs(), READ, 0, "read"),
    "find_interrupted": (_ended, lambda j, r: j.find_interrupted(), READ, 0, "read"),
    "mark_started": (_same, lambda j, r: j.mark_started(r), READ, 0, "read"),
    "take": (_ended, lambda j, r: j.mark_started(r), WRITE, 0, "updated"),
    "mark_ended": (_same, lambda j, r: j.mark_ended(r, "cancelled"), WRITE, 0, "updated"),
    "set_note": (_same, lambda j, r: j.set_note(r, "n"), WRITE, 0, "updated"),
    "record_audit": (_same, lambda j, r: j.record_audit(r, "h"), WRITE, 0, "updated"),
    "audit_anchors": (_same, lambda j, r: j.audit_anchors(), READ, 0, "read"),
    "claim": (_same, lambda j, r: j.claim(r, 1), WRITE, 0, "updated"),
    "release": (_claimed, lambda j, r: j.release(r, ["R-000000"]), WRITE, 0, "updated"),
    "finish": (_claimed, lambda j, r: j.finish(r, ok=["R-000000"]), WRITE, 0, "updated"),
    "resume_lookup": (_ended, lambda j, r: j.prepare_resume(r), READ, 0, "read"),
    "retry_update": (_ended, lambda j, r: j.retry_failed(r), WRITE, 1, "updated"),
    "items": (_same, lambda j, r: j.items(r), READ, 0, "read"),
    "item_pages": (_same, lambda j, r: list(j.items(r)), READ, 1, "read"),
    "save_draft": (_same, lambda j, r: j.save_draft("p", {0: 1}), WRITE, 0, "updated"),
    "load_draft": (_same, lambda j, r: j.load_draft("p"), READ, 0, "read"),
    "clear_draft": (_same, lambda j, r: j.clear_draft("p"), WRITE, 0, "updated"),
    "interrupted_check": (_left_running, lambda j, r: j.run(r), WRITE, 0, "updated"),
    "owner_lookup": (_held_elsewhere, lambda j, r: j.mark_started(r), READ, 1, "read"),
}


@pytest.mark.parametrize("case", list(CONTENDED))
def test_a_locked_journal_says_whether_it_could_not_be_read_or_updated(
    journal: Journal, case: str
) -> None:
    prepare, act, fail, after, doing = CONTENDED[case]
    others: list[Journal] = []
    try:
        run_id = prepare(journal, journal.create_run("submit", "demo", records(2)), others)
        journal.save_draft("p", {0: {"a": 1}})
        with contended(journal, fail, after) as db, pytest.raises(JournalError) as caught:
            act(journal, run_id)
    finally:
        for other in others:
            other.close()
    assert str(caught.value) == (
        f"The journal {journal.path} stayed locked by another program and could not be "
        f"{doing}. Close other Opus Desktop windows or commands and try again."
    )
    # Reads never ask for the write lock; every change takes it up front.
    assert db.begins[-1] == fail


def test_reads_go_on_while_another_program_writes_and_writes_give_up_after_busy_timeout(
    path: Path,
) -> None:
    with Journal(path, busy_timeout=0.05, lock_timeout=0.01) as journal:
        run_id = journal.create_run("submit", "demo", records(2))
        journal.record_audit(run_id, "abc")
        journal.save_draft("demo", {0: {"a": 1}})
        with raw(path) as other:
            other.execute("BEGIN IMMEDIATE")
            assert journal.run(run_id).counts == Counts(pending=2)
            assert [info.id for info in journal.runs()] == [run_id]
            assert journal.audit_anchors() == ["abc"]
            assert [item.key for item in journal.items(run_id)] == ["R-000000", "R-000001"]
            assert journal.load_draft("demo") is not None
            started = time.monotonic()
            with pytest.raises(JournalError, match="could not be updated"):
                journal.set_note(run_id, "late")
            assert time.monotonic() - started < 1.0
            other.execute("ROLLBACK")
        assert journal.run(run_id).note == ""


# -- what is stored ---------------------------------------------------------------------


def test_payloads_and_settings_are_stored_as_compact_unescaped_json(
    journal: Journal, path: Path
) -> None:
    run_id = journal.create_run(
        "submit",
        "demo",
        [(2, "K-1", {"leafName": "Café", "tags": [1, 2]})],
        mapping={"Name": "leafName"},
        options={"mode": "é"},
    )
    journal.save_draft("demo", {0: {"b": "ü", "c": [1]}}, {"sheet": "Blatt ä"})
    with raw(path) as db:
        payload = db.execute("SELECT payload FROM items WHERE run = ?", (run_id,)).fetchone()
        run = db.execute("SELECT mapping, options FROM runs WHERE id = ?", (run_id,)).fetchone()
        fields = db.execute("SELECT fields, zdict FROM runs WHERE id = ?", (run_id,)).fetchone()
        draft = db.execute("SELECT data FROM draft_rows WHERE profile = 'demo'").fetchone()
        meta = db.execute("SELECT meta FROM drafts WHERE profile = 'demo'").fetchone()
    # The field names once a run, each payload a presence mask and its values, deflated
    # against the run's first payloads (here the only one).
    assert fields == ('["leafName","tags"]', '[3,"Café",[1,2]]'.encode())
    unpack = zlib.decompressobj(-12, fields[1])
    assert (unpack.decompress(payload[0]) + unpack.flush()).decode() == '[3,"Café",[1,2]]'
    assert run == ('{"Name":"leafName"}', '{"mode":"é"}')
    assert draft == ('{"b":"ü","c":[1]}',)
    assert meta == ('{"sheet":"Blatt ä"}',)
    with pytest.raises(ValueError):
        journal.create_run("submit", "demo", [(2, "K-2", {"x": float("nan")})])


@pytest.fixture
def tokyo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        yield
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.usefixtures("tokyo")
def test_times_are_stored_in_utc_whatever_the_local_time_zone(path: Path) -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    with Journal(path, clock=lambda: moment) as journal:
        run_id = journal.create_run("submit", "demo", records(1))
        journal.mark_ended(run_id, "cancelled")
        journal.save_draft("demo", {0: 1})
        info = journal.run(run_id)
        draft = journal.load_draft("demo")
    assert info.started == moment
    assert info.started.utcoffset() == timedelta(0)
    assert info.ended is not None and info.ended.utcoffset() == timedelta(0)
    assert draft is not None and draft.updated.utcoffset() == timedelta(0)
    with raw(path) as db:
        assert db.execute("SELECT started FROM runs").fetchone() == (
            "2026-01-02T03:04:05.000006+00:00",
        )


def test_a_new_run_records_its_owner_and_an_empty_note(journal: Journal) -> None:
    info = journal.run(journal.create_run("submit", "demo", records(1)))
    assert info.note == ""
    assert info.owner_pid == os.getpid()
    assert info.owner_host == platform.node()
    assert info.status == "running"


def test_runs_lists_twenty_by_default_each_with_its_own_counts(journal: Journal) -> None:
    ids = [journal.create_run("submit", "demo", records(i % 3 + 1)) for i in range(21)]
    listed = journal.runs()
    assert [info.id for info in listed] == ids[::-1][:20]
    assert [info.counts for info in listed[:3]] == [
        Counts(pending=3),
        Counts(pending=2),
        Counts(pending=1),
    ]


def test_claimed_and_listed_items_carry_their_source_row_and_attempts(journal: Journal) -> None:
    run_id = journal.create_run("submit", "demo", records(2))
    [first] = journal.claim(run_id, 1)
    assert (first.seq, first.row, first.key, first.attempts) == (1, 2, "R-000000", 1)
    journal.release(run_id, ["R-000000"], "timed out")
    [again] = journal.claim(run_id, 1)
    assert (again.row, again.attempts, again.message) == (2, 2, "timed out")
    listed = list(journal.items(run_id))
    assert [(i.seq, i.row, i.key, i.state, i.attempts) for i in listed] == [
        (1, 2, "R-000000", "in_flight", 2),
        (2, 3, "R-000001", "pending", 0),
    ]


def test_a_draft_is_loaded_under_its_profile(journal: Journal) -> None:
    journal.save_draft("demo", {1: {"a": 1}}, {"sheet": "S"})
    draft = journal.load_draft("demo")
    assert draft is not None
    assert (draft.profile, draft.meta, draft.rows) == ("demo", {"sheet": "S"}, {1: {"a": 1}})


# -- messages ---------------------------------------------------------------------------


def test_refusals_name_the_bad_argument_exactly(journal: Journal) -> None:
    with pytest.raises(ValueError, match=r"^unknown run kind 'dispose'$"):
        journal.create_run("dispose", "demo", records(1))  # type: ignore[arg-type]
    run_id = journal.create_run("submit", "demo", records(1))
    with pytest.raises(ValueError, match=r"^claim at least one item$"):
        journal.claim(run_id, 0)
    with pytest.raises(ValueError, match=r"^a run cannot end as 'finished'$"):
        journal.mark_ended(run_id, "finished")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^some records to skip are not among the run's items$"):
        journal.create_run("submit", "demo", records(1), skipped={"nope": "why"})


def test_row_key_problems_name_the_row_or_the_record_number(journal: Journal) -> None:
    with pytest.raises(ValueError, match=r"^record 2 has no row key$"):
        journal.create_run("submit", "demo", [(None, "A", {}), (None, " ", {})])
    with pytest.raises(DuplicateRowKey) as caught:
        journal.create_run("submit", "demo", [(2, "A", {}), (None, "A", {})])
    assert str(caught.value) == (
        "The row key 'A' appears twice, in row 2 and in record 2. "
        "Each record needs its own row key."
    )


def test_a_closed_journal_says_so(journal: Journal) -> None:
    journal.close()
    with pytest.raises(
        RuntimeError, match=f"^the journal {re.escape(str(journal.path))} is closed$"
    ):
        journal.create_run("submit", "demo", records(1))


def test_run_ids_that_resolve_to_nothing_say_why(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(RunNotFound) as caught:
        journal.run("last")
    assert str(caught.value) == "There are no runs in the journal yet."
    tokens = iter(["abcd0001", "abcd0001", "abcd0002"])
    monkeypatch.setattr("secrets.token_hex", lambda n: next(tokens))
    first = journal.create_run("submit", "demo", records(1))
    second = journal.create_run("submit", "demo", records(1))
    assert (first, second) == ("abcd0001", "abcd0002")
    with pytest.raises(RunNotFound) as caught:
        journal.run("abcd")
    assert str(caught.value) == "Several runs start with 'abcd'; give more of the id."
    assert journal.run(" ABCD0002 ").id == "abcd0002"
    with pytest.raises(RunNotFound) as caught:
        journal.run("ffff")
    assert str(caught.value) == (
        "There is no run 'ffff' in the journal. A run id is the 8-character code "
        "printed when the run started; `opus-desktop runs list` shows them."
    )


def test_working_on_a_run_not_held_says_how_to_hold_it(journal: Journal) -> None:
    run_id = journal.create_run("submit", "demo", records(1))
    journal.mark_ended(run_id, "cancelled")
    with pytest.raises(RuntimeError) as caught:
        journal.claim(run_id, 1)
    assert str(caught.value) == (
        f"run {run_id} is not held by this journal: create it, or call "
        "prepare_resume(), retry_failed() or mark_started() first"
    )


def test_outcomes_for_records_not_in_flight_list_the_first_ten(journal: Journal) -> None:
    run_id = journal.create_run("submit", "demo", records(1))
    strays = [f"X-{i:02d}" for i in range(11)]
    with pytest.raises(ValueError) as caught:
        journal.finish(run_id, ok=["R-000000", *strays])
    listed = ", ".join(["'R-000000' (pending)"] + [f"'{k}' (not in this run)" for k in strays[:9]])
    assert str(caught.value) == f"records of run {run_id} that are not in_flight: {listed}"


def test_records_skipped_by_key_alone_get_an_empty_reason(journal: Journal) -> None:
    run_id = journal.create_run("submit", "demo", records(2))
    journal.claim(run_id, 2)
    journal.finish(run_id, ok=["R-000000"], skipped=["R-000001"])
    assert [(i.key, i.state, i.message) for i in journal.items(run_id)] == [
        ("R-000000", "ok", ""),
        ("R-000001", "skipped", ""),
    ]


def test_a_run_held_by_another_window_names_that_process(journal: Journal, path: Path) -> None:
    with Journal(path) as other:
        run_id = other.create_run("submit", "demo", records(1))
        tail = " Wait for it to finish or close that window, then try again."
        with pytest.raises(RunInProgress) as caught:
            journal.mark_started(run_id)
        assert str(caught.value) == (
            f"Run {run_id} is being worked on by another window or command"
            f" (process {os.getpid()} on {platform.node()})." + tail
        )
        with raw(path) as db:
            db.execute("UPDATE runs SET owner_host = NULL")
        with pytest.raises(RunInProgress) as caught:
            journal.mark_started(run_id)
        assert str(caught.value) == (
            f"Run {run_id} is being worked on by another window or command"
            f" (process {os.getpid()} on this computer)." + tail
        )
        with raw(path) as db:
            db.execute("UPDATE runs SET owner_pid = NULL")
        with pytest.raises(RunInProgress) as caught:
            journal.mark_started(run_id)
        assert str(caught.value) == (
            f"Run {run_id} is being worked on by another window or command." + tail
        )


def test_a_run_whose_lock_file_is_held_by_another_program_is_not_created(
    journal: Journal, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("secrets.token_hex", lambda n: "0badc0de")
    locks_dir(path).mkdir()
    squatter = FileLock(locks_dir(path) / "0badc0de.lock")
    assert squatter.acquire(timeout=0)
    try:
        with pytest.raises(JournalError) as caught:
            journal.create_run("submit", "demo", records(1))
    finally:
        squatter.release()
    assert str(caught.value) == "The lock file of run 0badc0de is held by another program."
    assert journal.runs() == []


def test_an_unusable_lock_folder_is_reported_with_the_system_reason(
    journal: Journal, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("secrets.token_hex", lambda n: "0badc0de")
    locks_dir(path).write_text("not a folder")
    with pytest.raises(JournalError) as caught:
        journal.create_run("submit", "demo", records(1))
    lock = locks_dir(path) / "0badc0de.lock"
    folder = locks_dir(path)
    assert str(caught.value) == (
        f"The lock file {lock} cannot be used: Cannot create the folder {folder}: {folder} is a "
        "file, not a folder; move it away, or set OPUS_DESKTOP_HOME to a folder you can write to."
    )


# -- lock files and status ----------------------------------------------------------------


def test_lock_files_are_removed_when_a_run_ends_or_the_journal_closes(path: Path) -> None:
    with Journal(path) as journal:
        ended = journal.create_run("submit", "demo", records(1))
        journal.mark_ended(ended, "cancelled")
        assert not (locks_dir(path) / f"{ended}.lock").exists()
        held = journal.create_run("submit", "demo", records(1))
        assert (locks_dir(path) / f"{held}.lock").exists()
    assert not (locks_dir(path) / f"{held}.lock").exists()
    with Journal(path) as journal:
        assert journal.run(held).status == "interrupted"
        # Looking whether it was interrupted leaves no lock file behind either.
        assert not (locks_dir(path) / f"{held}.lock").exists()
        assert [info.id for info in journal.find_interrupted()] == [held]


def test_a_run_held_elsewhere_reads_as_running_at_once_and_keeps_its_recorded_end(
    journal: Journal, path: Path
) -> None:
    with Journal(path) as other:
        run_id = other.create_run("submit", "demo", records(1))
        started = time.monotonic()
        assert journal.run(run_id).status == "running"
        assert time.monotonic() - started < 0.5
        with raw(path) as db:
            db.execute("UPDATE runs SET status = 'done' WHERE id = ?", (run_id,))
        assert journal.run(run_id).status == "done"
