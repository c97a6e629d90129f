"""The compact journal: payloads as value lists against the run's fields, runs journalled
in chunks (incomplete until the last), older journals upgraded."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opus_desktop.core.records import Problem, Record
from opus_desktop.jobs.database import SCHEMA_VERSION
from opus_desktop.jobs.errors import JournalError
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.payloads import Codec, dumps, item_rows
from opus_desktop.jobs.submit_runs import CHUNK, journal_submit_run


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.sqlite3") as opened:
        yield opened


@pytest.mark.parametrize(
    "payloads",
    [
        [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}],
        [{"a": 1, "b": "x"}, {"b": "only b"}, {"c": [1, 2], "a": None}, {}],
        [{"rowKey": "K", "é": "ü", "n": 1.5, "t": True, "l": []}],
    ],
)
def test_payloads_come_back_as_they_went_in(payloads: list[dict[str, Any]]) -> None:
    codec = Codec()
    items = [(n, f"K-{n}", p) for n, p in enumerate(payloads)]
    rows = list(item_rows("run", items, codec, 1))
    assert [codec.decode(row[4]) for row in rows] == payloads
    assert len(codec.fields) == len({name for p in payloads for name in p})
    again = Codec.stored(dumps(codec.fields), codec.zdict)  # as the journal reads it back
    assert [again.decode(row[4]) for row in rows] == payloads


def test_field_names_are_stored_once_a_run_not_once_a_record(
    journal: Journal, tmp_path: Path
) -> None:
    items = [(n + 2, f"K-{n}", {"rowKey": f"K-{n}", "leafName": f"Doc {n}"}) for n in range(50)]
    items.append((60, "K-odd", {"leafName": "no key field", "extra": 1}))
    run_id = journal.create_run("submit", "demo", items)
    got = {item.key: item.payload for item in journal.items(run_id)}
    assert got == {key: payload for _, key, payload in items}
    db = sqlite3.connect(tmp_path / "journal.sqlite3")
    try:
        stored = [row[0] for row in db.execute("SELECT payload FROM items")]
    finally:
        db.close()
    # Deflated against the run's first payloads: far shorter than the JSON objects.
    assert all(isinstance(blob, bytes) for blob in stored)
    assert sum(map(len, stored)) * 3 < sum(len(dumps(p)) for *_, p in items)


def record(n: int, key: str | None = None, bad: bool = False) -> Record:
    values: dict[str, object] = {"leafName": f"Doc {n}"}
    values["rowKey"] = key if key is not None else f"K-{n:06d}"
    problems = [Problem(n, "Name", "x", "bad value")] if bad else []
    return Record(n, values, problems)


def test_a_run_journalled_in_chunks_has_every_record_once(journal: Journal) -> None:
    count = CHUNK * 2 + 7
    records = [record(n + 2, bad=n % 500 == 0) for n in range(count)]
    records.append(record(count + 2, key="K-000002"))  # the key of the first row again
    new = journal_submit_run(journal, "demo", iter(records))
    assert new is not None
    items = list(journal.items(new.run_id))
    assert len(items) == count + 1 == len({item.key for item in items})
    assert [item.seq for item in items] == list(range(1, count + 2))
    assert items[-1].key == f"(row {count + 2})" and items[-1].state == "skipped"
    assert new.invalid == sum(1 for item in items if item.state == "skipped")
    assert new.to_send == sum(1 for item in items if item.state == "pending")
    assert journal.run(new.run_id).complete


def test_a_run_failing_mid_chunk_is_dropped_whole(journal: Journal) -> None:
    def records() -> Iterator[Record]:
        for n in range(CHUNK + 10):
            yield record(n + 2)
        raise OSError("the sheet went away")

    with pytest.raises(OSError):
        journal_submit_run(journal, "demo", records())
    assert journal.runs() == []


def test_a_cancelled_reading_leaves_no_run(journal: Journal) -> None:
    asked = iter([False, True])
    new = journal_submit_run(
        journal, "demo", (record(n + 2) for n in range(CHUNK * 3)), cancelled=lambda: next(asked)
    )
    assert new is None
    assert journal.runs() == []


def test_an_incomplete_run_sends_nothing_and_cannot_be_resumed(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    first = Journal(path)
    run_id = first.begin_run("submit", "demo")
    first.add_items(run_id, [(2, "K-1", {"rowKey": "K-1"})])
    assert first.claim(run_id, 15) == []  # not complete: nothing may go out yet
    first.close()  # as a crash would leave it: incomplete, held by no one
    with Journal(path) as journal:
        info = journal.run(run_id)
        assert (info.complete, info.status, info.resumable) == (False, "interrupted", False)
        with pytest.raises(JournalError, match="cannot be resumed"):
            journal.prepare_resume(run_id)
        assert journal.run(run_id).counts.pending == 1


def test_items_cannot_be_added_to_a_complete_run(journal: Journal) -> None:
    run_id = journal.create_run("submit", "demo", [(2, "K-1", {"rowKey": "K-1"})])
    with pytest.raises(ValueError, match="complete"):
        journal.add_items(run_id, [(3, "K-2", {})])


def test_a_journal_of_the_first_schema_is_upgraded_and_its_runs_still_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.sqlite3"
    db = sqlite3.connect(path)
    from opus_desktop.jobs.database import MIGRATIONS

    for statement in MIGRATIONS[0]:
        db.execute(statement)
    db.execute("PRAGMA user_version = 1")
    db.execute(
        "INSERT INTO runs (id, kind, profile, started, ended, status) VALUES"
        " ('abcd1234', 'submit', 'demo', '2026-01-01T00:00:00+00:00',"
        " '2026-01-01T01:00:00+00:00', 'cancelled')"
    )
    db.executemany(
        "INSERT INTO items (run, seq, row, key, payload, state, updated) VALUES"
        " ('abcd1234', ?, ?, ?, ?, ?, '2026-01-01T00:00:00+00:00')",
        [
            (1, 2, "K-1", '{"rowKey":"K-1","leafName":"Old"}', "ok"),
            (2, 3, "K-2", '{"rowKey":"K-2"}', "pending"),
        ],
    )
    db.commit()
    db.close()
    with Journal(path) as journal:
        info = journal.run("abcd1234")
        assert (info.complete, info.counts.ok, info.counts.pending) == (True, 1, 1)
        journal.prepare_resume("abcd1234")
        (claimed,) = journal.claim("abcd1234", 15)
        assert claimed.payload == {"rowKey": "K-2"}
        assert [item.payload for item in journal.items("abcd1234", ["ok"])] == [
            {"rowKey": "K-1", "leafName": "Old"}
        ]
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        db.close()
