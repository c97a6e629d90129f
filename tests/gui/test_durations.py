"""How long a run took, as the window says it (gui.submit.results.duration): a run of
300 records in a fifth of a second took "< 1 s", not "0 s"."""

from __future__ import annotations

import pytest

from opus_desktop.gui.submit.results import duration


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0.0, "< 1 s"),
        (0.2, "< 1 s"),
        (0.999, "< 1 s"),
        (-0.5, "< 1 s"),  # a clock that stepped back
        (1.0, "1 s"),
        (1.4, "1 s"),
        (59.4, "59 s"),
        (59.6, "1 min"),
        (185, "3 min 5 s"),
        (3600, "1 h"),
        (4320, "1 h 12 min"),
    ],
)
def test_durations_under_a_second_say_so(seconds: float, said: str) -> None:
    assert duration(seconds) == said
