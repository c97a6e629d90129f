"""The Runs tab lists the journal's runs and opens one run's records."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt
from pytestqt.qtbot import QtBot

from opus_desktop import paths
from opus_desktop.gui.runs.models import ItemsModel, RunsModel
from opus_desktop.gui.runs.tab import RunsTab
from opus_desktop.gui.workers import TaskRunner
from opus_desktop.jobs.journal import Journal


def items(count: int, first_row: int = 2) -> list[tuple[int, str, dict[str, object]]]:
    return [(first_row + i, f"CASE-{i:03d}", {"rowKey": f"CASE-{i:03d}"}) for i in range(count)]


def make_runs(path: Path) -> tuple[str, str]:
    """A finished submit run (3 stored, 1 failed) and an interrupted disposal run."""
    with Journal(path) as journal:
        done = journal.create_run(
            "submit", "Sandbox", items(4), input_path="/home/officer/Register 2024.xlsx"
        )
        batch = journal.claim(done, 15)
        journal.finish(
            done,
            ok=[i.key for i in batch[:3]],
            failed={batch[3].key: "The Name column is empty."},
        )
        journal.mark_ended(done, "done")
        left = journal.create_run("destroy", "Contoso", items(2, first_row=10))
        journal.claim(left, 1)
    # The journal closed with the second run still running: it reads as interrupted.
    return done, left


def make_tab(qtbot: QtBot, runner: TaskRunner, path: Path | None = None) -> RunsTab:
    tab = RunsTab(runner, path)
    qtbot.addWidget(tab)
    return tab


def show_and_wait(qtbot: QtBot, tab: RunsTab) -> None:
    tab.show()  # showing the tab reads the journal
    qtbot.waitUntil(lambda: not tab.loading)


def column(model: RunsModel | ItemsModel, title: str) -> list[object]:
    titles = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    at = titles.index(title)
    return [model.index(r, at).data() for r in range(model.rowCount())]


def test_no_journal_yet_says_no_runs(qtbot: QtBot, runner: TaskRunner) -> None:
    tab = make_tab(qtbot, runner)
    show_and_wait(qtbot, tab)
    assert tab.pages.currentWidget() is tab.message
    assert tab.message.text().startswith("No runs yet.")
    assert not paths.journal_path().exists()  # looking created no journal


def test_runs_from_the_journal_are_listed(
    qtbot: QtBot, runner: TaskRunner, qtmodeltester: object
) -> None:
    done, left = make_runs(paths.journal_path())
    tab = make_tab(qtbot, runner)
    show_and_wait(qtbot, tab)

    model = tab.runs_model
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    assert tab.pages.currentWidget() is tab.splitter
    assert tab.title.text() == "Runs (2)"
    assert column(model, "Run") == [left, done]  # newest first
    assert column(model, "Kind") == ["Disposal", "Submit"]
    assert column(model, "Profile") == ["Contoso", "Sandbox"]
    assert column(model, "Input file") == ["", "Register 2024.xlsx"]
    assert column(model, "Status") == ["Interrupted", "Done"]
    assert column(model, "Stored /\ndestroyed") == ["0", "3"]
    assert column(model, "Failed /\nnot destroyed") == ["0", "1"]
    assert column(model, "Pending") == ["2", "0"]
    assert column(model, "Ended")[0] == ""
    assert model.index(1, 3).data(Qt.ItemDataRole.ToolTipRole).endswith("Register 2024.xlsx")

    # The view sorts by start time, newest on top, whatever the model order.
    first = tab.runs_proxy.index(0, 0).data()
    assert first == left


def test_opening_a_run_lists_its_records(
    qtbot: QtBot, runner: TaskRunner, qtmodeltester: object
) -> None:
    done, _ = make_runs(paths.journal_path())
    tab = make_tab(qtbot, runner)
    show_and_wait(qtbot, tab)
    row = [tab.runs_proxy.index(r, 0).data() for r in range(2)].index(done)
    index = tab.runs_proxy.index(row, 0)
    tab.runs_view.activated.emit(index)  # what a double-click or Enter does
    qtbot.waitUntil(lambda: tab.opened_run == done)

    model = tab.items_model
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    assert column(model, "Row") == ["2", "3", "4", "5"]
    assert column(model, "Row key") == ["CASE-000", "CASE-001", "CASE-002", "CASE-003"]
    assert column(model, "State") == ["Stored", "Stored", "Stored", "Failed"]
    assert column(model, "Attempts") == ["1", "1", "1", "1"]
    assert column(model, "Message")[3] == "The Name column is empty."
    assert tab.items_title.text() == (
        f"Run {done} · Register 2024.xlsx: 4 records (3 stored, 1 failed, 0 not sent yet)"
    )


def test_a_disposal_run_says_destroyed_and_not_destroyed(
    qtbot: QtBot, runner: TaskRunner, qtmodeltester: object
) -> None:
    with Journal(paths.journal_path()) as journal:
        run_id = journal.create_run(
            "destroy", "Sandbox", items(4), skipped={"CASE-003": "Unknown to Opus."}
        )
        batch = journal.claim(run_id, 15)
        journal.finish(run_id, ok=[batch[0].key, batch[1].key], failed={batch[2].key: "Nope."})
        journal.mark_ended(run_id, "done")
    done, _ = make_runs(paths.journal_path())
    tab = make_tab(qtbot, runner)
    show_and_wait(qtbot, tab)
    runs = tab.runs_model
    at = runs.run_ids().index(run_id)
    stored = [runs.headerData(c, Qt.Orientation.Horizontal) for c in range(runs.columnCount())]
    ok, failed = stored.index("Stored /\ndestroyed"), stored.index("Failed /\nnot destroyed")
    tip = Qt.ItemDataRole.ToolTipRole
    assert runs.index(at, ok).data() == "2" and runs.index(at, ok).data(tip) == "2 destroyed"
    assert runs.index(at, failed).data(tip) == "1 not destroyed"
    assert runs.index(at, stored.index("Skipped")).data(tip) == "1 not sent"
    other = runs.run_ids().index(done)
    assert runs.index(other, ok).data(tip) == "3 stored"
    assert runs.index(other, failed).data(tip) == "1 failed"
    assert runs.index(other, stored.index("Pending")).data(tip) == "0 not sent yet"

    tab.open_run(run_id)
    qtbot.waitUntil(lambda: tab.opened_run == run_id)
    model = tab.items_model
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    assert column(model, "State") == ["Destroyed", "Destroyed", "Not destroyed", "Not sent"]
    assert tab.items_title.text() == (
        f"Run {run_id}: 4 records (2 destroyed, 1 not destroyed, 0 not sent yet)"
    )

    tab.open_run(done)  # a submit run's records read as before
    qtbot.waitUntil(lambda: tab.opened_run == done)
    assert column(tab.items_model, "State") == ["Stored", "Stored", "Stored", "Failed"]
    assert "(3 stored, 1 failed, 0 not sent yet)" in tab.items_title.text()


def test_refresh_shows_new_runs(qtbot: QtBot, runner: TaskRunner) -> None:
    tab = make_tab(qtbot, runner)
    show_and_wait(qtbot, tab)
    assert tab.runs_model.rowCount(QModelIndex()) == 0
    make_runs(paths.journal_path())
    qtbot.mouseClick(tab.refresh_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.loading)
    assert tab.runs_model.rowCount(QModelIndex()) == 2


def test_a_journal_that_cannot_be_read_says_why(
    qtbot: QtBot, runner: TaskRunner, tmp_path: Path
) -> None:
    broken = tmp_path / "journal.sqlite3"
    broken.write_bytes(b"this is not a database, just some words " * 200)
    tab = make_tab(qtbot, runner, broken)
    show_and_wait(qtbot, tab)
    assert tab.pages.currentWidget() is tab.message
    assert tab.message.text().startswith(f"The journal {broken} is damaged")
