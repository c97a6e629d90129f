"""Memory and time of `opus-desktop due --out` with many due records.

    python benchmarks/due_memory.py [--records 100000] [--formats xlsx csv]

A sandbox without latency runs in this process, holding --records due records (stored
through its own checks, as its submit endpoint stores them, without the HTTP calls that
would take minutes to put them there). Each format is then written by the real command
line in a child process (`opus-desktop due --before now --out FILE`), which pages through
the list 100 at a time, so the child's peak memory (its own ru_maxrss) is the client's
alone. Printed per format: wall time, records per second, peak memory and the file's size.
The target is the issue's for every bulk command: peak <= 300 MB whatever the size.
Prints figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from figures import record

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_PEAK_MB = 300
CHUNK = 5_000
OWNERS = ("alice.nguyen@contoso.example", "bob.smith@contoso.example")


def payload(n: int, terms: list[str]) -> dict[str, Any]:
    """A record created in 2000-2009: due by now under every term that has a retention."""
    return {
        "rowKey": f"DUE-{n:07d}",
        "leafName": f"Old document {n}.pdf",
        "termFullPath": terms[n % len(terms)],
        "timeCreated": f"{2000 + n % 10}-{1 + n % 12:02d}-{1 + n % 28:02d} 09:{n % 60:02d}:00",
        "timeModified": "2010-01-02 03:04:05",
        "_Description": f"Benchmark record {n}, due for disposal.",
    }


def seed(box: Any, records: int) -> int:
    """Store `records` due records in the sandbox's tenant; returns how many are due."""
    from opus_desktop.sandbox.values import check_item

    connection = box.tenant.connection(box.connection_id)
    terms = sorted(
        path for path, years in connection.terms["termFullPath"].items() if years is not None
    )
    now = datetime.now(UTC).isoformat()
    due = 0
    for first in range(1, records + 1, CHUNK):
        good = []
        for n in range(first, min(first + CHUNK, records + 1)):
            values, why = check_item(connection, payload(n, terms), box.pattern)
            if why:
                raise SystemExit(f"the sandbox refused a seeded record: {why}")
            good.append((f"DUE-{n:07d}", values, connection.due_at(values)))
        box.tenant.write_records(connection.id, good, True, now)
        due += sum(1 for *_, at in good if at is not None and at <= now)
    return due


def due_out(home: Path, out: Path) -> dict[str, float]:
    """One `opus-desktop due --out` in a child process: its wall time and peak memory."""
    env = dict(os.environ, OPUS_DESKTOP_HOME=str(home))
    command = [
        sys.executable, "-m", "opus_desktop", "due", "--profile", "Sandbox",
        "--before", "now", "--out", str(out),
    ]  # fmt: skip
    with tempfile.TemporaryFile() as said:
        started = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=said, stderr=subprocess.STDOUT, cwd=ROOT)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak
        wall = time.perf_counter() - started
        said.seek(0)
        text = said.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"due failed:\n{text}")
    return {"wall": wall, "peak": usage.ru_maxrss / 1024, "bytes": out.stat().st_size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--formats", nargs="+", default=["xlsx", "csv"], choices=["xlsx", "csv"])
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="opus-desktop-due-memory-"))
    os.environ["OPUS_DESKTOP_HOME"] = str(home)
    from opus_desktop.sandbox import Sandbox, SandboxConfig
    from opus_desktop.sandbox_profiles import save_sandbox_profiles

    with Sandbox(SandboxConfig(directory=home / "sandbox")) as box:
        save_sandbox_profiles(box)
        due = seed(box, args.records)
        print(
            f"opus-desktop due --out with {due:,} seeded due records and the demo tenant's "
            "(sandbox without latency); "
            f"target: peak <= {TARGET_PEAK_MB} MB\n"
        )
        print(f"{'format':>6}  {'time':>7}  {'records/s':>9}  {'peak':>7}  {'file':>8}")
        for kind in args.formats:
            result = due_out(home, home / f"due.{kind}")
            record(f"due-out-{kind}", records=due, seconds=result["wall"], peak_mb=result["peak"])
            print(
                f"{kind:>6}  {result['wall']:>6.1f}s  {due / result['wall']:>9,.0f}  "
                f"{result['peak']:>4.0f} MB  {result['bytes'] / 1e6:>5.1f} MB"
            )


if __name__ == "__main__":
    main()
