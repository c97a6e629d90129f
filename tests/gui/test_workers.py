from __future__ import annotations

import gc
import threading

import pytest
from pytestqt.qtbot import QtBot

from opus_desktop.core.errors import SheetError
from opus_desktop.gui.workers import Task, TaskRunner
from opus_desktop.jobs.state import BatchResult, RunState


def test_result_comes_back_on_the_gui_thread(qtbot: QtBot) -> None:
    runner = TaskRunner()
    seen: list[str] = []

    def work(state: RunState) -> str:
        seen.append(threading.current_thread().name)
        state.start(2)
        state.batch_done(BatchResult(ok=("a", "b")))
        return "done"

    task = Task(work, name="sample")
    results: list[object] = []
    batches: list[BatchResult] = []
    task.succeeded.connect(results.append)
    task.batch.connect(batches.append)
    with qtbot.waitSignals([task.succeeded, task.finished], order="strict"):
        runner.start(task)
    assert results == ["done"]
    assert seen and seen[0] != threading.main_thread().name
    qtbot.waitUntil(lambda: not runner.busy)
    assert [b.ok for b in batches] == [("a", "b")]


def test_failure_is_reported_then_finished(qtbot: QtBot) -> None:
    runner = TaskRunner()

    def work(state: RunState) -> None:
        raise SheetError("the sheet 'Cases' does not exist")

    task = Task(work)
    errors: list[BaseException] = []
    task.failed.connect(errors.append)
    with qtbot.waitSignals([task.failed, task.finished], order="strict"):
        runner.start(task)
    error = errors[0]
    assert isinstance(error, SheetError) and "Cases" in str(error)
    qtbot.waitUntil(lambda: not runner.busy)


def test_join_cancels_a_long_task(qtbot: QtBot) -> None:
    runner = TaskRunner()
    started = threading.Event()

    def work(state: RunState) -> str:
        started.set()
        while not state.cancel_requested:
            state.wait(0.01)
        return "cancelled"

    task = Task(work)
    runner.start(task)
    assert started.wait(5)
    assert runner.busy
    assert runner.join(5000) is True
    assert not runner.busy


@pytest.mark.parametrize("count", [3])
def test_several_tasks_run_side_by_side(qtbot: QtBot, count: int) -> None:
    runner = TaskRunner()
    gate = threading.Barrier(count, timeout=5)
    tasks = [Task(lambda state: gate.wait()) for _ in range(count)]
    with qtbot.waitSignals([t.succeeded for t in tasks], timeout=10_000):
        for t in tasks:
            runner.start(t)
    qtbot.waitUntil(lambda: not runner.busy)


def test_a_task_nobody_keeps_still_delivers_its_result(qtbot: QtBot) -> None:
    # The caller keeps no reference: the runner must hold the task until its signals
    # have reached the GUI thread, even when join() clears the finished thread first.
    runner = TaskRunner()
    results: list[object] = []
    done = threading.Event()

    def work(state: RunState) -> str:
        done.set()
        return "delivered"

    def start() -> None:
        task = Task(work)
        task.succeeded.connect(results.append)
        runner.start(task)

    start()
    assert done.wait(5)
    assert runner.join(5000)
    gc.collect()
    qtbot.waitUntil(lambda: results == ["delivered"], timeout=5000)
