"""The line the connection panel shows for a sandbox profile: its latency and fault rates.

    sandbox_faults(profile)   # "Latency 0 ms · 0 % throttled (429) · ... : no faults."

The sandbox writes them to faults.json beside its certificate at each start (see
sandbox/faults.py); this reads that file rather than importing the sandbox, which the
window does not need for a profile that merely points at one. The file outlives the
sandbox, so the rates are told only when the sandbox that wrote it runs in this process
(`--sandbox`); for any other, nothing is said about rates.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication

if TYPE_CHECKING:
    from opus_desktop.profiles import Profile

FAULTS_FILE = "faults.json"  # sandbox.faults.FAULTS_FILE
RATES = (
    ("throttle_rate", "throttled (429)"),
    ("fail_rate", "failing (503)"),
    ("drop_rate", "dropped"),
)


def tr(text: str) -> str:
    return QCoreApplication.translate("ConnectionPanel", text)


def sandbox_faults(profile: Profile) -> str:
    """The sandbox's latency and fault rates, in words; "" for a profile of no sandbox or
    of a sandbox this process did not start."""
    if not profile.sandbox or not profile.cert_pem:
        return ""
    try:
        noted = json.loads((Path(profile.cert_pem).parent / FAULTS_FILE).read_text("utf-8"))
        if noted.get("pid") != os.getpid():
            return ""  # written by an earlier run or another process: may no longer be true
        latency = float(noted["latency_ms"])
        rates = [float(noted[name]) for name, _ in RATES]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return tr("Its latency and fault rates are not known (no faults.json beside it).")
    parts = [tr("Latency {0:g} ms").format(latency)]
    parts += [
        f"{rate * 100:g} % " + tr(words) for rate, (_, words) in zip(rates, RATES, strict=True)
    ]
    text = " · ".join(parts)
    if latency == 0 and not any(rates):
        return text + tr(": no faults, every call answered at once.")
    return text + "."
