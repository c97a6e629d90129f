"""The adaptive pace of a submit run, on a fake clock: halve on overload, grow back slowly."""

from __future__ import annotations

import pytest

from opus_desktop.jobs.pace import Pace


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def pace(ceiling: int = 8, **options: object) -> tuple[Pace, Clock]:
    clock = Clock()
    options.setdefault("rng", lambda: 1.0)  # the largest backoff: predictable
    return Pace(ceiling, clock=clock, **options), clock  # type: ignore[arg-type]


def test_starts_at_the_concurrency_asked_for_with_no_delay() -> None:
    p, _ = pace(8)
    assert p.limit == 8
    assert p.delay() == 0.0


def test_a_throttle_halves_and_holds_back_for_the_wait_named() -> None:
    p, clock = pace(8)
    p.throttled(3.0)
    assert p.limit == 4
    assert p.delay() == pytest.approx(3.0)
    clock.now += 2.0
    assert p.delay() == pytest.approx(1.0)
    clock.now += 1.5
    assert p.delay() == 0.0


def test_signs_of_one_episode_halve_only_once() -> None:
    p, clock = pace(8, settle=1.0)
    for _ in range(4):  # four calls in flight all throttled at once
        p.throttled(0.0)
    assert p.limit == 4
    clock.now += 1.0  # the episode goes on past the settle time
    p.throttled(0.0)
    assert p.limit == 2
    clock.now += 1.0
    p.throttled(0.0)
    clock.now += 1.0
    p.throttled(0.0)
    assert p.limit == 1  # never below one


def test_a_long_retry_after_counts_as_one_episode() -> None:
    p, clock = pace(8, settle=1.0)
    p.throttled(10.0)
    clock.now += 5.0
    p.throttled(10.0)  # the same throttling, still within the first wait
    assert p.limit == 4
    assert p.delay() == pytest.approx(10.0)  # held back from the later sign


def test_grows_back_by_one_after_a_run_of_successes() -> None:
    p, _ = pace(4, grow_after=3)
    p.throttled(0.0)
    assert p.limit == 2
    for _ in range(2):
        p.succeeded()
    assert p.limit == 2
    p.succeeded()
    assert p.limit == 3
    for _ in range(3):
        p.succeeded()
    assert p.limit == 4
    for _ in range(10):
        p.succeeded()
    assert p.limit == 4  # never above the ceiling


def test_trouble_resets_the_run_of_successes() -> None:
    p, clock = pace(4, grow_after=3, settle=0.0)
    p.throttled(0.0)
    p.succeeded()
    p.succeeded()
    clock.now += 1.0
    p.throttled(0.0)  # halves again and starts the count afresh
    assert p.limit == 1
    p.succeeded()
    p.succeeded()
    assert p.limit == 1
    p.succeeded()
    assert p.limit == 2


def test_failures_in_a_row_back_off_exponentially_up_to_a_cap() -> None:
    p, clock = pace(4, base_delay=1.0, max_delay=5.0)
    waits = []
    for _ in range(5):
        waits.append(p.failed())
        clock.now += 100.0
    assert waits == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_calls_failing_together_grow_the_backoff_once() -> None:
    p, clock = pace(8, base_delay=1.0, settle=1.0)
    assert [p.failed() for _ in range(4)] == [1.0, 1.0, 1.0, 1.0]
    assert p.limit == 4
    clock.now += 1.0
    assert p.failed() == 2.0  # the next episode
    assert p.limit == 2


def test_an_answer_resets_the_backoff() -> None:
    p, _ = pace(4, base_delay=1.0)
    p.failed()
    p.failed()
    p.succeeded()
    assert p.failed() == 1.0


def test_jitter_stays_between_a_tenth_and_the_whole_backoff() -> None:
    low, _ = pace(4, base_delay=2.0, rng=lambda: 0.0)
    assert low.failed() == pytest.approx(0.2)
    high, _ = pace(4, base_delay=2.0, rng=lambda: 1.0)
    assert high.failed() == pytest.approx(2.0)


def test_a_failure_holds_back_new_calls_for_its_backoff() -> None:
    p, _ = pace(4, base_delay=1.0)
    wait = p.failed()
    assert p.limit == 2
    assert p.delay() == pytest.approx(wait)


def test_refuses_nonsense_settings() -> None:
    with pytest.raises(ValueError):
        Pace(0)
    with pytest.raises(ValueError):
        Pace(4, grow_after=0)
