"""The connection test of `profile test`, run in a worker thread, step by step.

    test = ConnectionTest(profile, password)
    test.step.connect(panel.show_step)          # each Step as soon as it is known
    test.finished.connect(panel.show_outcome)   # a ConnectionOutcome, always, last
    runner.start(test.task)

The steps come from jobs.connect.test_connection (Profile, Certificate, Discovery, Token,
Due records; it stops at the first failure). Each step is emitted from the worker thread
on a signal of this object, which lives in the GUI thread, so Qt queues it across and
re-emits it there: every slot, lambdas included, runs in the GUI thread, and the steps
arrive before the task's own `succeeded` and `finished`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal, Slot

from opus_desktop.errors import AppError
from opus_desktop.gui.workers import Task
from opus_desktop.jobs.connect import TOKEN, Step
from opus_desktop.jobs.state import RunState
from opus_desktop.profiles import Profile

StepsFunction = Callable[[Profile, str | None], Iterable[Step]]

_LIFETIME = re.compile(r"valid for (\d+) (second|minute|hour)s?\b")
_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600}


def token_lifetime(step: Step) -> float | None:
    """Seconds the token of a passed Token step is valid for, read from its sentence."""
    if step.name != TOKEN or not step.ok:
        return None
    found = _LIFETIME.search(step.detail)
    if found is None:
        return None
    return float(int(found.group(1)) * _UNIT_SECONDS[found.group(2)])


@dataclass(frozen=True)
class ConnectionOutcome:
    """How a connection test ended. `error` is set when the test itself broke off."""

    steps: list[Step] = field(default_factory=list)
    error: BaseException | None = None
    token_seconds: float | None = None  # the token's lifetime when it was received
    token_received: float | None = None  # time.monotonic() of that moment

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.steps) and all(s.ok for s in self.steps)

    @property
    def failed_step(self) -> Step | None:
        return next((s for s in self.steps if not s.ok), None)

    def token_left(self, now: float | None = None) -> float | None:
        """Seconds the token has left, counted from when it arrived; None without one."""
        if self.token_seconds is None or self.token_received is None:
            return None
        elapsed = (time.monotonic() if now is None else now) - self.token_received
        return max(self.token_seconds - elapsed, 0.0)


def _default_steps(profile: Profile, password: str | None) -> Iterable[Step]:
    from opus_desktop.jobs.connect import test_connection

    return test_connection(profile, password)


class ConnectionTest(QObject):
    """One connection test. Signals, all emitted in the GUI thread:

    step(Step): each step as soon as it is known.
    finished(ConnectionOutcome): last, whether the test passed, failed or broke off.
    """

    step = Signal(object)
    finished = Signal(object)
    _step_from_worker = Signal(object)

    def __init__(
        self,
        profile: Profile,
        password: str | None,
        steps: StepsFunction | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.profile = profile
        self._password = password
        self._steps_function = steps or _default_steps
        self._received: list[Step] = []
        self._token: tuple[float, float] | None = None
        # A bound slot of this GUI-thread object: emitting from the worker queues the call.
        self._step_from_worker.connect(self._on_step)
        self.task = Task(self._run, name=f"connection test: {profile.name}")
        self.task.failed.connect(self._on_failed)
        self.task.finished.connect(self._on_finished)
        self._error: BaseException | None = None

    def cancel(self) -> None:
        self.task.cancel()

    def _run(self, state: RunState) -> int:
        """Runs in the worker thread."""
        steps = iter(self._steps_function(self.profile, self._password))
        count = 0
        try:
            for step in steps:
                count += 1
                self._step_from_worker.emit(step)
                if state.cancel_requested:
                    break
        finally:
            close = getattr(steps, "close", None)
            if close is not None:
                close()  # a generator closes its connection now, not at garbage collection
        return count

    @Slot(object)
    def _on_step(self, step: Step) -> None:
        self._received.append(step)
        lifetime = token_lifetime(step)
        if lifetime is not None:
            self._token = (lifetime, time.monotonic())
        self.step.emit(step)

    @Slot(object)
    def _on_failed(self, exc: BaseException) -> None:
        self._error = exc

    @Slot()
    def _on_finished(self) -> None:
        lifetime, received = self._token if self._token is not None else (None, None)
        self.finished.emit(ConnectionOutcome(list(self._received), self._error, lifetime, received))

    @staticmethod
    def describe_error(exc: BaseException) -> str | None:
        """The sentence for an expected failure; None for a bug (show_error handles it)."""
        return exc.message if isinstance(exc, AppError) else None
