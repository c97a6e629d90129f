"""The Runs tab's records: every item of a run, as the journal has it, without payloads."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from opus_desktop.jobs.journal import Journal
from opus_desktop.usecases.runs import read_items


def test_the_rows_are_the_journals_items_without_their_payloads(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    with Journal(path) as journal:
        items = [
            (n + 2, f"K-{n}", {"rowKey": f"K-{n}", "leafName": "x" * 50}) for n in range(12_000)
        ]
        items.append((None, "no-row", {"rowKey": "no-row"}))
        run_id = journal.create_run("submit", "demo", items, skipped={"K-7": "bad date"})
        batch = journal.claim(run_id, 3)
        journal.finish(run_id, ok=[batch[0].key], failed={batch[1].key: "refused"})
        expected = [dataclasses.replace(item, payload={}) for item in journal.items(run_id)]
    info, rows = read_items(path, run_id)
    assert info.id == run_id
    assert len(rows) == len(expected) == 12_001
    assert list(rows) == expected
    assert rows[-1].row is None and rows[-1] == rows[len(rows) - 1]
    assert [item.state for item in rows[:4]] == ["ok", "failed", "in_flight", "pending"]
    assert rows[7].message == "bad date"
