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


def test_an_answer_after_failures_in_a_row_starts_the_backoff_again_from_the_base() -> None:
    p, clock = pace(4, base_delay=1.0)
    for _ in range(3):
        p.failed()
        clock.now += 100.0  # separate episodes: the backoff grows
    p.succeeded()
    assert p.failed() == 1.0


def test_the_defaults_grow_back_after_ten_answers_settle_in_a_second_and_back_off_1_to_60_s() -> (
    None
):
    clock = Clock()
    p = Pace(8, clock=clock, rng=lambda: 1.0)
    waits = []
    for _ in range(8):
        waits.append(p.failed())
        clock.now += 1000.0
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    assert p.limit == 1
    for _ in range(9):
        p.succeeded()
    assert p.limit == 1
    p.succeeded()
    assert p.limit == 2

    p = Pace(8, clock=clock, rng=lambda: 1.0)
    p.throttled(0.0)
    clock.now += 0.999
    p.throttled(0.0)
    assert p.limit == 4  # still the same episode
    clock.now += 0.001
    p.throttled(0.0)
    assert p.limit == 2


def test_halving_an_odd_limit_rounds_down_to_a_whole_number_and_never_below_one() -> None:
    p, clock = pace(5)
    p.throttled(0.0)
    assert p.limit == 2
    assert isinstance(p.limit, int)
    for _ in range(3):
        clock.now += 100.0
        p.throttled(0.0)
    assert p.limit == 1


def test_after_growing_by_one_it_needs_a_whole_new_run_of_answers_to_grow_again() -> None:
    p, _ = pace(8, grow_after=3)
    p.throttled(0.0)
    assert p.limit == 4
    for expected in (4, 4, 5, 5, 5, 6):
        p.succeeded()
        assert p.limit == expected


def test_grow_after_one_grows_on_every_answer() -> None:
    p, _ = pace(4, grow_after=1)
    p.throttled(0.0)
    p.succeeded()
    assert p.limit == 3


def test_a_throttle_without_a_wait_holds_back_for_a_backoff_and_a_negative_wait_for_none() -> None:
    p, clock = pace(8, base_delay=1.0)
    p.throttled()
    assert p.delay() == pytest.approx(1.0)
    clock.now += 100.0
    p.throttled(-5.0)
    assert p.delay() == 0.0


def test_nonsense_settings_are_refused_with_a_sentence() -> None:
    with pytest.raises(ValueError, match=r"^at least one call must be allowed in flight$"):
        Pace(0)
    with pytest.raises(ValueError, match=r"^grow_after must be at least 1$"):
        Pace(4, grow_after=0)
    assert Pace(1, grow_after=1).limit == 1
