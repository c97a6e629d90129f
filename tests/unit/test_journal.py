"""The journal: runs, the item state machine, crashes, threads, drafts, file modes."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opus_desktop import paths
from opus_desktop.jobs.database import SCHEMA_VERSION
from opus_desktop.jobs.errors import DuplicateRowKey, JournalError, RunInProgress, RunNotFound
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.journal_types import Counts, Item

POSIX = os.name == "posix"


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
    with Journal(path, lock_timeout=0.1) as j:
        yield j


def states(journal: Journal, run_id: str) -> dict[str, str]:
    return {item.key: item.state for item in journal.items(run_id)}


# -- the file ------------------------------------------------------------------------


def test_default_path_is_the_private_journal_in_the_data_folder() -> None:
    with Journal() as journal:
        assert journal.path == paths.journal_path()
        journal.create_run("submit", "demo", records(3))
    assert journal.path.is_file()


@pytest.mark.skipif(not POSIX, reason="file modes are POSIX")
def test_files_are_readable_by_the_user_only(path: Path) -> None:
    os.umask(0o022)
    with Journal(path) as journal:
        run_id = journal.create_run("submit", "demo", records(3))
        journal.save_draft("demo", {0: {"a": 1}})
        created = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        for file in created:
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
        locks = path.with_name(path.name + "-locks")
        assert stat.S_IMODE(locks.stat().st_mode) == 0o700
        assert stat.S_IMODE((locks / f"{run_id}.lock").stat().st_mode) == 0o600


@pytest.mark.skipif(not POSIX, reason="file modes are POSIX")
def test_an_existing_journal_is_made_private(path: Path) -> None:
    path.write_bytes(b"")
    os.chmod(path, 0o644)
    Journal(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_schema_is_versioned_and_in_wal_mode(path: Path) -> None:
    Journal(path).close()
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    finally:
        db.close()
    assert {"runs", "items", "drafts", "draft_rows", "items_by_state", "items_by_key"} <= tables
    # Opening again does not migrate twice.
    Journal(path).close()


def test_a_journal_from_a_newer_version_is_refused(path: Path) -> None:
    Journal(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(JournalError, match="newer version"):
        Journal(path)


def test_a_damaged_journal_is_a_plain_error(path: Path) -> None:
    path.write_bytes(b"this is not a database at all, just some text" * 100)
    with pytest.raises(JournalError, match="damaged") as caught:
        Journal(path)
    assert str(path) in caught.value.message


def test_closed_journal_refuses_work(path: Path) -> None:
    journal = Journal(path)
    journal.close()
    journal.close()  # twice is fine
    with pytest.raises(RuntimeError, match="closed"):
        journal.runs()


# -- runs ----------------------------------------------------------------------------


def test_create_run_records_everything(journal: Journal) -> None:
    run_id = journal.create_run(
        "submit", "demo", records(20),
        input_path=Path("/data/register.xlsx"), input_hash="a" * 64, template_hash="b" * 64,
        mapping={"columns": {"Title": "leafName"}}, options={"conflict": "Skip", "concurrency": 4},
        note="first try",
    )
    assert len(run_id) == 8 and int(run_id, 16) >= 0
    info = journal.run(run_id)
    assert info.kind == "submit" and info.profile == "demo"
    assert info.status == "running" and info.ended is None
    assert info.counts.pending == 20 and info.counts.total == 20 and info.counts.done == 0
    assert info.input_path == str(Path("/data/register.xlsx"))
    assert (info.input_sha256, info.template_sha256) == ("a" * 64, "b" * 64)
    assert info.mapping == {"columns": {"Title": "leafName"}}
    assert info.options == {"conflict": "Skip", "concurrency": 4}
    assert info.owner_pid == os.getpid() and info.note == "first try"
    assert info.started.tzinfo is not None
    assert not info.resumable


def test_runs_are_found_by_id_prefix_case_and_last(journal: Journal) -> None:
    with pytest.raises(RunNotFound, match="no runs"):
        journal.run("last")
    first = journal.create_run("submit", "demo", records(1))
    second = journal.create_run("destroy", "demo", records(1))
    assert journal.run("last").id == second
    assert journal.run(first.upper()).id == first
    assert journal.run(f" {first[:6]} ").id == first
    with pytest.raises(RunNotFound, match="runs list"):
        journal.run("nothing")
    with pytest.raises(RunNotFound):
        journal.run("ffffffff" if "ffffffff" not in (first, second) else "00000000")
    assert [r.id for r in journal.runs()] == [second, first]
    assert [r.id for r in journal.runs(limit=1)] == [second]
    assert [r.id for r in journal.runs(kind="submit")] == [first]


def test_duplicate_row_keys_change_nothing(journal: Journal, path: Path) -> None:
    items = [*records(3), (9, "R-000001", {"rowKey": "R-000001"})]
    with pytest.raises(DuplicateRowKey, match=r"R-000001.*row 3.*row 9"):
        journal.create_run("submit", "demo", items)
    assert journal.runs() == []
    assert list(path.with_name(path.name + "-locks").iterdir()) == []
    with pytest.raises(ValueError, match="no row key"):
        journal.create_run("submit", "demo", [(2, "", {})])


def test_payloads_come_back_exactly(journal: Journal) -> None:
    payload = {"rowKey": "é-1", "leafName": "Zoë's \"file\"", "n": 3.5, "multi": [1, 3], "z": None}
    run_id = journal.create_run("submit", "demo", [(None, "é-1", payload)])
    [item] = journal.claim(run_id, 15)
    assert item.payload == payload
    assert list(item.payload) == list(payload)  # key order kept: the exact object sent
    assert item.row is None and item.seq == 1


# -- the state machine ----------------------------------------------------------------


def test_claim_finish_and_counts(journal: Journal) -> None:
    run_id = journal.create_run("submit", "demo", records(40))
    batch = journal.claim(run_id, 15)
    assert [i.seq for i in batch] == list(range(1, 16))
    assert all(i.state == "in_flight" and i.attempts == 1 for i in batch)
    assert journal.run(run_id).counts.in_flight == 15
    keys = [i.key for i in batch]
    journal.finish(run_id, ok=keys[:12], failed={keys[12]: "Name is required"},
                   skipped={keys[13]: "already in Opus"})
    journal.release(run_id, [keys[14]])
    counts = journal.run(run_id).counts
    assert (counts.ok, counts.failed, counts.skipped, counts.pending, counts.in_flight) == (
        12, 1, 1, 26, 0,
    )
    again = journal.claim(run_id, 15)
    assert again[0].key == keys[14] and again[0].attempts == 2
    failed = list(journal.items(run_id, ["failed"]))
    assert [(i.key, i.message) for i in failed] == [(keys[12], "Name is required")]


def test_finish_refuses_records_not_in_flight_and_changes_nothing(journal: Journal) -> None:
    run_id = journal.create_run("submit", "demo", records(5))
    batch = journal.claim(run_id, 2)
    with pytest.raises(ValueError, match=r"R-000004.*pending"):
        journal.finish(run_id, ok=[batch[0].key, "R-000004"])
    with pytest.raises(ValueError, match="not in this run"):
        journal.finish(run_id, failed={"nope": "?"})
    with pytest.raises(ValueError, match="two outcomes"):
        journal.finish(run_id, ok=[batch[0].key], failed={batch[0].key: "x"})
    assert journal.run(run_id).counts.in_flight == 2  # the valid key was not finished
    journal.finish(run_id, ok=[batch[0].key], skipped=[batch[1].key])
    with pytest.raises(ValueError, match=r"\(ok\)"):
        journal.finish(run_id, ok=[batch[0].key])


def test_release_keeps_a_message_and_ignores_other_records(journal: Journal) -> None:
    run_id = journal.create_run("submit", "demo", records(4))
    batch = journal.claim(run_id, 2)
    journal.finish(run_id, ok=[batch[0].key])
    moved = journal.release(run_id, [batch[0].key, batch[1].key, "R-000003"],
                            message="The service did not answer")
    assert moved == 1
    found = {i.key: i for i in journal.items(run_id)}
    assert found[batch[0].key].state == "ok"
    assert found[batch[1].key].state == "pending"
    assert found[batch[1].key].message == "The service did not answer"
    assert journal.release(run_id, []) == 0


def test_retry_failed_and_skip(journal: Journal) -> None:
    run_id = journal.create_run("submit", "demo", records(6))
    journal.skip(run_id, {"R-000005": "removed by the user"})
    batch = journal.claim(run_id, 10)
    assert [i.key for i in batch] == [f"R-00000{n}" for n in range(5)]
    journal.finish(run_id, ok=["R-000000", "R-000001"],
                   failed={"R-000002": "bad date", "R-000003": "bad date"},
                   skipped={"R-000004": "exists"})
    journal.mark_ended(run_id, "done")
    info = journal.run(run_id)
    assert info.status == "done" and info.ended is not None and not info.resumable
    assert journal.retry_failed(run_id) == 2
    assert journal.run(run_id).status == "running"
    retried = journal.claim(run_id, 10)
    assert [(i.key, i.attempts, i.message) for i in retried] == [
        ("R-000002", 2, "bad date"), ("R-000003", 2, "bad date"),
    ]
    journal.finish(run_id, ok=[i.key for i in retried])
    journal.mark_ended(run_id, "done")
    final = states(journal, run_id)
    assert Counter(final.values()) == {"ok": 4, "skipped": 2}
    journal.mark_started(run_id)
    with pytest.raises(ValueError, match=r"'R-000000' \(ok\)"):
        journal.skip(run_id, {"R-000000": "too late"})


def test_mark_ended(journal: Journal, path: Path) -> None:
    run_id = journal.create_run("submit", "demo", records(5))
    journal.claim(run_id, 3)
    with pytest.raises(ValueError, match="still has 5"):
        journal.mark_ended(run_id, "done")
    with pytest.raises(ValueError):
        journal.mark_ended(run_id, "running")  # type: ignore[arg-type]
    journal.mark_ended(run_id, "cancelled", note="Cancelled by the user")
    info = journal.run(run_id)
    assert info.status == "cancelled" and info.note == "Cancelled by the user"
    assert info.counts.in_flight == 0 and info.counts.pending == 5
    assert info.resumable
    with pytest.raises(RuntimeError, match="not held"):
        journal.claim(run_id, 1)
    # Ended, the run is free: another window may resume it.
    with Journal(path, lock_timeout=0.1) as other:
        assert other.prepare_resume(run_id) == 0
        assert len(other.claim(run_id, 15)) == 5


def test_a_run_is_held_by_one_journal_at_a_time(journal: Journal, path: Path) -> None:
    run_id = journal.create_run("submit", "demo", records(3))
    with Journal(path, lock_timeout=0.1) as other:
        assert other.run(run_id).status == "running"
        assert other.find_interrupted() == []
        with pytest.raises(RunInProgress, match=rf"{run_id}.*process {os.getpid()}"):
            other.prepare_resume(run_id)
        with pytest.raises(RunInProgress):
            other.retry_failed(run_id)
        with pytest.raises(RuntimeError, match="not held"):
            other.claim(run_id, 1)
    with pytest.raises(RunInProgress, match="this window"):
        journal.prepare_resume(run_id)


def test_notes_and_audit_anchors(journal: Journal) -> None:
    first = journal.create_run("destroy", "demo", records(2))
    second = journal.create_run("destroy", "demo", records(2))
    journal.record_audit(first, "a" * 64)
    journal.record_audit(second, "b" * 64)
    journal.record_audit(first, "c" * 64)  # the newest entry of the run replaces the older
    journal.set_note(second, "signed off by J. Smith")
    assert journal.audit_anchors() == ["c" * 64, "b" * 64]
    assert journal.run(second).note == "signed off by J. Smith"
    assert journal.run(first).audit_hash == "c" * 64


def test_items_are_listed_in_order_across_pages(journal: Journal) -> None:
    run_id = journal.create_run("submit", "demo", records(2500))
    batch = journal.claim(run_id, 1500)
    journal.finish(run_id, failed={i.key: "x" for i in batch[1000:1010]})
    listed = list(journal.items(run_id))
    assert [i.seq for i in listed] == list(range(1, 2501))
    assert [i.row for i in listed[:2]] == [2, 3]
    assert len(list(journal.items(run_id, ["failed"]))) == 10
    assert len(list(journal.items(run_id, ["pending", "failed"]))) == 1010
    with pytest.raises(ValueError, match="unknown"):
        journal.items(run_id, ["lost"])  # type: ignore[list-item]
    with pytest.raises(RunNotFound):
        journal.items("abcdef12")


# -- crashes -------------------------------------------------------------------------


class Service:
    """Stands in for Opus: counts how often each row key was stored."""

    def __init__(self) -> None:
        self.stored: Counter[str] = Counter()

    def send(self, items: list[Item]) -> None:
        for item in items:
            self.stored[item.key] += 1


class Crash(Exception):
    pass


def drive(journal: Journal, run_id: str, service: Service, ok_keys: set[str],
          crash_after: int | None = None) -> None:
    """A submit loop, 4 records a batch; every 5th record is refused once.

    `crash_after` steps (claim, send, finish each count one), the process "dies".
    """
    steps = 0
    refused = {i.key for i in journal.items(run_id) if i.message == "refused"}

    def step() -> None:
        nonlocal steps
        steps += 1
        if crash_after is not None and steps > crash_after:
            raise Crash

    while True:
        batch = journal.claim(run_id, 4)
        step()
        if not batch:
            journal.mark_ended(run_id, "done")
            return
        assert not {i.key for i in batch} & ok_keys, "a stored record was claimed again"
        service.send(batch)
        step()
        failed = {i.key: "refused" for i in batch if i.seq % 5 == 0 and i.key not in refused}
        ok = [i.key for i in batch if i.key not in failed]
        journal.finish(run_id, ok=ok, failed=failed)
        ok_keys.update(ok)
        refused.update(failed)
        step()


@pytest.mark.parametrize("crash_after", range(10))  # 10 steps: 3 batches and a last claim
def test_a_crash_between_any_two_steps_loses_nothing(path: Path, crash_after: int) -> None:
    service = Service()
    ok_keys: set[str] = set()
    journal = Journal(path)
    run_id = journal.create_run("submit", "demo", records(10))
    with pytest.raises(Crash):
        drive(journal, run_id, service, ok_keys, crash_after)
    in_flight = journal.run(run_id).counts.in_flight
    # Those in flight may or may not have reached the service before the crash.
    reached = {i.key for i in journal.items(run_id, ["in_flight"])} & set(service.stored)
    journal.close()  # the process is gone: no mark_ended, no release

    with Journal(path) as journal:
        assert [r.id for r in journal.find_interrupted()] == [run_id]
        info = journal.run(run_id)
        assert info.status == "interrupted"
        assert info.counts.ok == len(ok_keys)
        assert journal.prepare_resume(run_id) == in_flight
        drive(journal, run_id, service, ok_keys)
        assert journal.retry_failed(run_id) == 2
        drive(journal, run_id, service, ok_keys)
        final = journal.run(run_id)
        assert final.status == "done" and final.counts.ok == 10
        assert journal.find_interrupted() == []

    assert set(service.stored) == {key for _, key, _ in records(10)}
    # Sent twice: what had reached the service while in flight at the crash, and the two
    # records refused at their first attempt (seq 5 and 10). Nothing else.
    resent = {key for key, count in service.stored.items() if count > 1}
    assert resent == reached | {"R-000004", "R-000009"}
    assert max(service.stored.values()) <= 3


_CHILD = """
import sys
from pathlib import Path
from opus_desktop.jobs.journal import Journal
journal = Journal(Path(sys.argv[1]))
run_id = journal.create_run("submit", "demo",
    [(i, f"K{i}", {"rowKey": f"K{i}"}) for i in range(20)])
batch = journal.claim(run_id, 5)
journal.finish(run_id, ok=[batch[0].key])
journal.claim(run_id, 5)
print(run_id, flush=True)
if sys.argv[2] == "hold":
    sys.stdin.readline()
import os
os._exit(9)  # killed: no close, no clean-up
"""


def _child(path: Path, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path), mode],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )


def test_a_killed_process_leaves_a_run_that_resumes(path: Path) -> None:
    with _child(path, "die") as child:
        assert child.stdout is not None
        run_id = child.stdout.readline().strip()
        assert child.wait(timeout=60) == 9
    with Journal(path) as journal:
        [found] = journal.find_interrupted()
        assert found.id == run_id and found.owner_pid == child.pid
        assert (found.counts.ok, found.counts.in_flight, found.counts.pending) == (1, 9, 10)
        assert journal.prepare_resume(run_id) == 9
        keys = [i.key for i in journal.claim(run_id, 100)]
        assert "K0" not in keys and len(keys) == 19


def test_a_live_process_keeps_its_run(path: Path) -> None:
    with _child(path, "hold") as child:
        assert child.stdout is not None and child.stdin is not None
        try:
            run_id = child.stdout.readline().strip()
            with Journal(path, lock_timeout=0.1) as journal:
                assert journal.run(run_id).status == "running"
                with pytest.raises(RunInProgress, match=f"process {child.pid}"):
                    journal.prepare_resume(run_id)
        finally:
            child.stdin.write("\n")
            child.stdin.flush()
            child.wait(timeout=60)
    with Journal(path) as journal:
        assert journal.run(run_id).status == "interrupted"
        assert journal.prepare_resume(run_id) == 9


# -- threads and size ----------------------------------------------------------------


def test_worker_threads_share_one_journal(journal: Journal) -> None:
    run_id = journal.create_run("submit", "demo", records(1200))
    claimed: list[str] = []
    errors: list[BaseException] = []
    guard = threading.Lock()

    def worker() -> None:
        try:
            while batch := journal.claim(run_id, 15):
                with guard:
                    claimed.extend(i.key for i in batch)
                journal.finish(run_id, ok=[i.key for i in batch[1:]],
                               failed={batch[0].key: "refused"})
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert len(claimed) == len(set(claimed)) == 1200
    counts = journal.run(run_id).counts
    assert counts.ok + counts.failed == 1200 and counts.remaining == 0
    assert counts.failed == 80


@pytest.mark.slow
def test_two_hundred_thousand_items(journal: Journal) -> None:
    # Not a timed assert: it must just finish well inside the test timeout.
    started = time.perf_counter()
    run_id = journal.create_run("submit", "migration", records(200_000))
    created = time.perf_counter() - started
    assert journal.run(run_id).counts.pending == 200_000
    batch = journal.claim(run_id, 15)
    assert batch[0].key == "R-000000"
    journal.finish(run_id, ok=[i.key for i in batch])
    assert journal.run(run_id).counts.ok == 15
    print(f"create_run of 200,000 items: {created:.1f} s")


# -- drafts --------------------------------------------------------------------------


def test_draft_round_trip_and_partial_updates(journal: Journal) -> None:
    assert journal.load_draft("demo") is None
    rows = {i: {"leafName": f"Record {i}", "rowKey": f"K{i}"} for i in range(5)}
    journal.save_draft("demo", rows, {"sheet": "Register", "mapping": {"Title": "leafName"}})
    journal.save_draft("demo", {1: {"leafName": "Changed", "rowKey": "K1"}, 3: None})
    draft = journal.load_draft("demo")
    assert draft is not None
    assert draft.meta == {"sheet": "Register", "mapping": {"Title": "leafName"}}  # kept
    assert sorted(draft.rows) == [0, 1, 2, 4]
    assert draft.rows[1] == {"leafName": "Changed", "rowKey": "K1"}
    assert draft.rows[4] == rows[4]
    assert draft.updated.tzinfo is not None

    journal.save_draft("demo", {}, row_count=2)
    draft = journal.load_draft("demo")
    assert draft is not None and sorted(draft.rows) == [0, 1]
    journal.save_draft("other", {0: ["a", 1]}, {"sheet": "Other"})
    journal.save_draft("demo", {7: "x"}, {"sheet": "New"}, replace=True)
    draft = journal.load_draft("demo")
    assert draft is not None and draft.rows == {7: "x"} and draft.meta == {"sheet": "New"}

    journal.clear_draft("demo")
    assert journal.load_draft("demo") is None
    other = journal.load_draft("other")
    assert other is not None and other.rows == {0: ["a", 1]}


@pytest.mark.slow
def test_a_large_draft_survives_a_reopen(path: Path) -> None:
    rows = {i: {"leafName": f"Record {i}", "n": i} for i in range(100_000)}
    with Journal(path) as journal:
        journal.save_draft("demo", rows, {"sheet": "Big"}, replace=True)
        journal.save_draft("demo", {50_000: {"leafName": "edited", "n": -1}})
    with Journal(path) as journal:
        draft = journal.load_draft("demo")
    assert draft is not None and len(draft.rows) == 100_000
    assert draft.rows[50_000] == {"leafName": "edited", "n": -1}
    assert draft.rows[99_999] == {"leafName": "Record 99999", "n": 99_999}


def test_a_draft_refuses_what_is_not_json(journal: Journal) -> None:
    with pytest.raises(ValueError):
        journal.save_draft("demo", {0: float("nan")})
    with pytest.raises(TypeError):
        journal.save_draft("demo", {0: object()})
    assert journal.load_draft("demo") is None  # nothing half-saved


def test_done_counts_stored_failed_and_skipped_and_remaining_the_rest() -> None:
    counts = Counts(pending=1, in_flight=2, ok=4, failed=8, skipped=16)
    assert counts.done == 28
    assert counts.remaining == 3
    assert counts.total == 31
    assert Counts().done == Counts().remaining == Counts().total == 0
