"""Injected faults for the connector API endpoints (never the identity service).

Each API request first waits `latency_ms`, then one draw of the seeded generator picks
at most one fault: 429 with Retry-After (nothing done), 503 (nothing done), or a drop
(the work is done, then the connection is closed without an answer, as when a reply is
lost on the way back). Tests may change the rates while the sandbox runs.
"""

from __future__ import annotations

import json
import math
import os
import random
import threading
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

# Written beside the tenant's files at each start, so that a window using the sandbox's
# profile can say which faults it injects (the window reads it; it never asks the server).
FAULTS_FILE = "faults.json"


class Fault(Enum):
    NONE = "none"
    THROTTLE = "throttle"
    FAIL = "fail"
    DROP = "drop"


@dataclass
class Faults:
    latency_ms: float = 0.0
    fail_rate: float = 0.0
    throttle_rate: float = 0.0
    drop_rate: float = 0.0
    retry_after: float = 1.0  # seconds in the Retry-After header of a 429; 0 for fast tests
    seed: int | None = None
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        for name in ("fail_rate", "throttle_rate", "drop_rate"):
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {rate}.")
        if self.latency_ms < 0 or self.retry_after < 0:
            raise ValueError("latency_ms and retry_after cannot be negative.")

    def write(self, directory: Path) -> None:
        """Note the latency and rates in `directory`/faults.json."""
        rates = {
            "latency_ms": self.latency_ms,
            "throttle_rate": self.throttle_rate,
            "fail_rate": self.fail_rate,
            "drop_rate": self.drop_rate,
            "pid": os.getpid(),  # the window shows the rates only of a sandbox in its own process
        }
        (Path(directory) / FAULTS_FILE).write_text(json.dumps(rates), encoding="utf-8")

    def retry_after_header(self) -> str:
        """Whole seconds, as HTTP wants them."""
        return str(math.ceil(self.retry_after))

    def wait(self) -> None:
        if self.latency_ms > 0:
            time.sleep(self.latency_ms / 1000.0)

    def draw(self) -> Fault:
        with self._lock:
            roll = self._rng.random()
        # One draw per request, so a seeded run is the same sequence of faults every time.
        edge = self.throttle_rate
        if roll < edge:
            return Fault.THROTTLE
        edge += self.fail_rate
        if roll < edge:
            return Fault.FAIL
        edge += self.drop_rate
        if roll < edge:
            return Fault.DROP
        return Fault.NONE
