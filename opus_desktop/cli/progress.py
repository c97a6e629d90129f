"""A progress bar on stderr for long runs: count, rate and time left.

On a terminal one line is redrawn in place, at most `interval` seconds apart (five times a
second by default), so thousands of batches cost nothing to show. When stderr is a file or
a pipe (a scheduled job, a log), a plain line is written instead every `plain_interval`
seconds and at the end, so the log shows progress without control characters.

    bar = ProgressBar()
    state.on_progress(bar.update)     # called from the run's threads, one at a time
    ...run...
    bar.close(state.progress())
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from opus_desktop.jobs.state import Progress

BAR_WIDTH = 24


def duration(seconds: float) -> str:
    """12:05 or 1:02:05."""
    whole = max(round(seconds), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def describe(progress: Progress, short: bool = False) -> str:
    """'1,234 / 6,000 records (21%), 153 records/s, 0:31 left' and any trouble; `short`
    leaves out the rate and the time left (to make room for the trouble)."""
    parts = [f"{progress.done:,} / {progress.total:,} records ({progress.fraction:.0%})"]
    if progress.failed:
        parts.append(f"{progress.failed:,} failed")
    if progress.rate is not None and not short:
        parts.append(f"{progress.rate:,.0f} records/s")
    if progress.eta is not None and progress.remaining and not short:
        parts.append(f"{duration(progress.eta)} left")
    text = ", ".join(parts)
    if progress.status and progress.remaining:
        text += f" · {progress.status}"
    return text


class ProgressBar:
    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        tty: bool | None = None,
        interval: float = 0.2,
        plain_interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self._is_tty() if tty is None else tty
        self.interval = interval if self.tty else plain_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._last_drawn = float("-inf")
        self._last: Progress | None = None
        self._width = 0  # of the line on screen, to blank what a shorter one leaves
        self._closed = False
        self._written = ""  # the last plain line, not written twice in a row

    def _is_tty(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def update(self, progress: Progress) -> None:
        """Show `progress`, unless the last drawing is too recent (the end always shows)."""
        with self._lock:
            if self._closed:
                return
            if progress.total == 0 and not progress.done:
                return  # nothing counted yet (the run is being prepared)
            self._last = progress
            now = self._clock()
            finished = progress.total > 0 and progress.remaining == 0
            if now - self._last_drawn < self.interval and not finished:
                return
            if finished and not self.tty and self._last_drawn > float("-inf"):
                # A log gets the final line once, from close().
                return
            self._last_drawn = now
            self._draw(progress)

    def close(self, progress: Progress | None = None) -> None:
        """Draw the final state and end the line."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            final = progress or self._last
            if final is not None and (final.total or final.done):
                self._draw(final)
            if self.tty and self._width:
                self.stream.write("\n")
            self.stream.flush()

    def _draw(self, progress: Progress) -> None:
        text = describe(progress)
        if not self.tty:
            if text == self._written:
                return
            self._written = text
            self.stream.write(text + "\n")
            self.stream.flush()
            return
        filled = int(BAR_WIDTH * progress.fraction)
        line = f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {text}"
        room = shutil.get_terminal_size((100, 20)).columns - 1
        if len(line) > room and progress.status:
            # What slows the run (and the time left before it stops) matters more then
            # than the bar, the rate and a time left that only grows.
            line = describe(progress, short=True)
        if len(line) > room:
            line = line[: max(room - 1, 0)] + "…"
        padding = " " * max(self._width - len(line), 0)
        self.stream.write("\r" + line + padding)
        self.stream.flush()
        self._width = len(line)
