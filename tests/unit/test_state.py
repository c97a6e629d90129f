"""RunState: counts, rate over a sliding window, time left, cancel, listeners."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from opus_desktop.jobs.state import BatchResult, Progress, RunState


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def batch(ok: int = 0, failed: int = 0, skipped: int = 0, start: int = 0) -> BatchResult:
    keys = iter(f"K{n}" for n in range(start, start + ok + failed + skipped))
    return BatchResult(
        ok=tuple(next(keys) for _ in range(ok)),
        failed={next(keys): "refused" for _ in range(failed)},
        skipped={next(keys): "exists" for _ in range(skipped)},
    )


def test_counts_follow_batches(clock: FakeClock) -> None:
    state = RunState(clock=clock)
    state.start(100)
    state.batch_done(batch(ok=13, failed=2))
    state.batch_done(BatchResult(ok=("A",), skipped={"B": "already there"}, released=("C", "D")))
    p = state.progress()
    assert (p.total, p.stored, p.failed, p.skipped) == (100, 14, 2, 1)
    assert p.done == 17
    assert p.remaining == 83
    assert p.fraction == pytest.approx(0.17)


def test_rate_and_eta_over_the_window(clock: FakeClock) -> None:
    state = RunState(clock=clock, window=10.0)
    state.start(1000)
    assert state.progress().rate is None  # nothing measured yet
    assert state.progress().eta is None
    for _ in range(5):
        clock.advance(1.0)
        state.batch_done(batch(ok=15))
    p = state.progress()
    # 75 records in the 5 seconds since start.
    assert p.rate == pytest.approx(15.0)
    assert p.eta == pytest.approx((1000 - 75) / 15.0)
    assert p.elapsed == pytest.approx(5.0)


def test_rate_forgets_what_left_the_window(clock: FakeClock) -> None:
    state = RunState(clock=clock, window=10.0)
    state.start(10_000)
    for _ in range(10):  # fast at first: 100 per second
        clock.advance(1.0)
        state.add(stored=100)
    for _ in range(10):  # then slow: 10 per second
        clock.advance(1.0)
        state.add(stored=10)
    assert state.progress().rate == pytest.approx(10.0)
    clock.advance(30.0)  # stalled: nothing for longer than the window
    p = state.progress()
    assert p.rate == 0.0
    assert p.eta is None


def test_resumed_run_counts_earlier_work_but_not_in_the_rate(clock: FakeClock) -> None:
    state = RunState(clock=clock, window=10.0)
    state.start(100, stored=60, failed=10)
    clock.advance(2.0)
    state.batch_done(batch(ok=10))
    p = state.progress()
    assert p.done == 80
    assert p.rate == pytest.approx(5.0)
    assert p.eta == pytest.approx(4.0)


def test_finished_run_has_no_time_left(clock: FakeClock) -> None:
    state = RunState(clock=clock)
    state.start(15)
    clock.advance(1.0)
    state.batch_done(batch(ok=15))
    assert state.progress().eta == 0.0
    assert state.progress().fraction == 1.0
    empty = RunState(clock=clock)
    empty.start(0)
    assert empty.progress().fraction == 1.0


def test_listeners_get_every_batch_and_progress_in_order(clock: FakeClock) -> None:
    state = RunState(clock=clock)
    seen: list[str] = []
    results: list[BatchResult] = []
    progress: list[Progress] = []

    def batch_listener(result: BatchResult) -> None:
        results.append(result)
        seen.append("batch")

    def progress_listener(snapshot: Progress) -> None:
        progress.append(snapshot)
        seen.append("progress")

    state.on_batch(batch_listener)
    state.on_progress(progress_listener)
    state.start(30)
    state.set_status("Sending records 1 to 15")
    first, second = batch(ok=15), batch(ok=14, failed=1, start=15)
    state.batch_done(first)
    state.batch_done(second)
    assert results == [first, second]
    # Each batch reaches its listeners before the progress that counts it.
    assert seen == ["progress", "progress", "batch", "progress", "batch", "progress"]
    assert progress[1].status == "Sending records 1 to 15"
    assert [p.done for p in progress] == [0, 0, 15, 30]
    assert progress[-1].failed == 1


def test_unsubscribe_stops_a_listener(clock: FakeClock) -> None:
    state = RunState(clock=clock)
    calls: list[int] = []
    stop = state.on_progress(lambda p: calls.append(p.done))
    state.add(stored=1)
    stop()
    state.add(stored=1)
    assert calls == [1]


def test_a_failing_listener_does_not_stop_the_others(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    state = RunState(clock=clock)
    got: list[BatchResult] = []

    def broken(result: BatchResult) -> None:
        raise BrokenPipeError("the terminal went away")

    state.on_batch(broken)
    state.on_batch(got.append)
    with caplog.at_level(logging.ERROR, logger="opus_desktop.jobs.state"):
        state.batch_done(batch(ok=3))
    assert len(got) == 1
    assert state.progress().stored == 3
    assert "listener failed" in caplog.text


def test_listener_may_read_the_state_without_deadlock(clock: FakeClock) -> None:
    state = RunState(clock=clock)
    read: list[int] = []
    state.on_batch(lambda r: read.append(state.progress().stored))
    state.batch_done(batch(ok=4))
    assert read == [4]


def test_listeners_run_on_the_reporting_thread(clock: FakeClock) -> None:
    state = RunState(clock=clock)
    threads: list[str] = []
    state.on_batch(lambda r: threads.append(threading.current_thread().name))
    worker = threading.Thread(target=state.batch_done, args=(batch(ok=1),), name="run-thread")
    worker.start()
    worker.join()
    assert threads == ["run-thread"]


def test_cancel_is_seen_and_wakes_a_waiting_run(clock: FakeClock) -> None:
    state = RunState(clock=clock)
    assert not state.cancel_requested
    assert state.wait(0.0) is False
    woke: list[bool] = []
    sleeper = threading.Thread(target=lambda: woke.append(state.wait(60.0)))
    sleeper.start()
    state.cancel()
    sleeper.join(timeout=5.0)
    assert not sleeper.is_alive()
    assert woke == [True]
    assert state.cancel_requested
    assert state.progress().cancel_requested


def test_counts_are_exact_under_concurrent_batches(clock: FakeClock) -> None:
    state = RunState(clock=clock)
    state.start(8 * 100 * 3)
    seen: list[int] = []
    inside = threading.Lock()
    overlaps: list[int] = []

    def listener(p: Progress) -> None:
        # Never two calls at once, and the counts they see only grow.
        if not inside.acquire(blocking=False):
            overlaps.append(p.done)
            return
        try:
            seen.append(p.done)
            time.sleep(0.0002)  # a slow watcher widens any window for overlap
        finally:
            inside.release()

    state.on_progress(listener)

    def work() -> None:
        for _ in range(100):
            state.batch_done(batch(ok=2, failed=1))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    p = state.progress()
    assert (p.stored, p.failed, p.remaining) == (1600, 800, 0)
    assert overlaps == []
    assert seen == sorted(seen) and seen[-1] == 2400 and len(seen) == 800


def test_negative_counts_are_refused(clock: FakeClock) -> None:
    state = RunState(clock=clock)
    with pytest.raises(ValueError):
        state.start(-1)
    with pytest.raises(ValueError):
        state.add(stored=-3)
    with pytest.raises(ValueError):
        RunState(clock=clock, window=0)
