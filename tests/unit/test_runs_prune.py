"""`runs prune`: finished submit runs lose their stored records' payloads, nothing else."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opus_desktop.cli import runs_cmd
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.report import run_outcomes

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def clock_at(moment: list[datetime]) -> Callable[[], datetime]:
    return lambda: moment[0]


def items(prefix: str, n: int) -> list[tuple[int, str, dict[str, object]]]:
    return [
        (i + 2, f"{prefix}-{i}", {"rowKey": f"{prefix}-{i}", "leafName": f"D {i}"})
        for i in range(n)
    ]


def finished_run(journal: Journal, prefix: str, *, send: int, fail: int = 0) -> str:
    run_id = journal.create_run("submit", "demo", items(prefix, send + fail + 1))
    journal.skip(run_id, {f"{prefix}-{send + fail}": "bad row"})
    batch = journal.claim(run_id, send + fail)
    journal.finish(
        run_id,
        ok=[item.key for item in batch[:send]],
        failed={item.key: "refused" for item in batch[send:]},
    )
    journal.mark_ended(run_id, "done")
    return run_id


def test_old_finished_runs_lose_stored_payloads_and_keep_everything_else(tmp_path: Path) -> None:
    moment = [NOW - timedelta(days=40)]
    path = tmp_path / "journal.sqlite3"
    with Journal(path, clock=clock_at(moment)) as journal:
        old = finished_run(journal, "OLD", send=300, fail=2)
        unfinished = journal.create_run("submit", "demo", items("LEFT", 5))
        journal.mark_ended(unfinished, "cancelled")
        moment[0] = NOW - timedelta(days=5)
        recent = finished_run(journal, "NEW", send=10)
        before = {item.key: (item.row, item.state, item.message) for item in journal.items(old)}
        moment[0] = NOW
        done = journal.prune(timedelta(days=30))
        assert done.pruned == (old,)
        assert done.records == 300
        assert done.kept == {unfinished: "not finished", recent: "newer"}
        assert done.size_after <= done.size_before
        after = list(journal.items(old))
        assert {item.key: (item.row, item.state, item.message) for item in after} == before
        kept = {item.key: item.payload for item in after if item.payload}
        assert set(kept) == {"OLD-300", "OLD-301", "OLD-302"}  # failed and skipped
        assert kept["OLD-300"] == {"rowKey": "OLD-300", "leafName": "D 300"}
        assert len(run_outcomes(journal, old)) == 303  # the report still lists every row
        assert all(item.payload for item in journal.items(recent))
        assert all(item.payload for item in journal.items(unfinished))
        # retry-failed still sends what failed, as it was
        journal.retry_failed(old)
        assert [item.payload["leafName"] for item in journal.claim(old, 15)] == ["D 300", "D 301"]
        assert journal.prune(timedelta(days=30)).records == 0  # nothing more to drop


def test_a_run_interrupted_while_read_in_is_dropped_whole(tmp_path: Path) -> None:
    moment = [NOW - timedelta(days=40)]
    path = tmp_path / "journal.sqlite3"
    journal = Journal(path, clock=clock_at(moment))
    half = journal.begin_run("submit", "demo")
    journal.add_items(half, items("HALF", 3))
    journal.close()  # a crash before complete_run
    moment[0] = NOW
    with Journal(path, clock=clock_at(moment)) as journal:
        done = journal.prune(timedelta(days=30))
        assert (done.dropped, done.pruned) == ((half,), ())
        assert journal.runs() == []


def test_the_command_names_what_it_dropped_and_what_it_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPUS_DESKTOP_HOME", str(tmp_path))
    from opus_desktop import paths

    moment = [datetime.now(UTC) - timedelta(days=10)]
    with Journal(paths.journal_path(), clock=clock_at(moment)) as journal:
        old = finished_run(journal, "A", send=4, fail=1)
        moment[0] = datetime.now(UTC)
        recent = finished_run(journal, "B", send=2)
    assert runs_cmd.run_prune(argparse.Namespace(older_than=7)) == 0
    out = capsys.readouterr().out
    assert f"Dropped the stored payloads of 4 stored records in 1 run: {old}." in out
    assert "failed and skipped records" in out
    assert f"Kept as they are, ended less than 7 days ago: 1 run ({recent})." in out
    assert "The journal:" in out
    assert runs_cmd.run_prune(argparse.Namespace(older_than=7)) == 0
    assert "Nothing to prune" in capsys.readouterr().out.splitlines()[-1]
