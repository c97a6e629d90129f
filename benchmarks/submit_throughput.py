"""Submit throughput against the sandbox: how close a run comes to the latency bound.

    python benchmarks/submit_throughput.py [--records 6000] [--latency-ms 50]
                                           [--concurrency 1 4 8] [--memory 2000 6000]
                                           [--repeat 3]

A sandbox with the given latency runs in this process; each measurement is a fresh
subprocess that journals a run of generated records and sends it with SubmitRun, so its
CPU time and peak memory (ru_maxrss) are the client's alone. Sign-in happens before the
clock starts.

Figures per concurrency: wall time, records per second, the latency bound (calls ÷
concurrency × latency: what a run that only waited on the network would take) and the
ratio bound ÷ time (target ≥ 0.9 at concurrency 4), and CPU time per 1,000 records.
"bare client" is the same calls from as many plain threads, with no journal and no run:
what the client and the sandbox manage on their own (its time, and its ratio to the
bound); "run/bare" is the run's speed as a share of it, the cost of the journal;
"journalling" is the time create_run took beforehand, not in the run's time. Then the
whole `opus-desktop submit` of a CSV of as many rows, start-up and reading included,
beside the bare client (the figure the target is about).
Then the peak memory of runs of --memory sizes at concurrency 4: it should stay flat as
the record count grows, since records are read from the journal 15 at a time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from figures import record

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

TARGET_RATIO = 0.9
PER_CALL = 15
TERMS = ("Records/Finance/Invoices", "Records/Legal/Contracts", "Records/Operations/Correspondence")


def payload(prefix: str, n: int) -> dict[str, Any]:
    return {
        "rowKey": f"{prefix}-{n:06d}",
        "leafName": f"Document {n}.pdf",
        "termFullPath": TERMS[n % len(TERMS)],
        "timeCreated": f"2023-{1 + n % 12:02d}-{1 + n % 28:02d} 09:{n % 60:02d}:00",
        "timeModified": "2024-01-02 03:04:05",
        "_Page_%20_Count": n,
        "_Security_%20_Level": 1 + n % 4,
        "_Departments": [1 + n % 5],
        "_Record_%20_Owner": ["alice.nguyen@contoso.example"],
        "_Description": f"Benchmark record {n}, filed by the records team.",
    }


# -- one measurement, in its own process ------------------------------------------------------


def measure(records: int, concurrency: int, prefix: str) -> dict[str, Any]:
    from opus_desktop.jobs.connect import connect
    from opus_desktop.jobs.journal import Journal
    from opus_desktop.jobs.submit import SubmitRun
    from opus_desktop.profiles import find_profile

    # As `submit` opens it (usecases/submitting.py: no fsync per commit).
    with (
        Journal(sync_each_commit=False) as journal,
        connect(find_profile("Sandbox"), None) as connection,
    ):
        connection.tokens.token()  # sign in before the clock starts
        items = ((n, f"{prefix}-{n:06d}", payload(prefix, n)) for n in range(1, records + 1))
        journalled = time.perf_counter()
        run_id = journal.create_run("submit", "Sandbox", items)
        journalled = time.perf_counter() - journalled
        wall, cpu = time.perf_counter(), time.process_time()
        summary = SubmitRun(journal, connection.client, run_id, concurrency=concurrency).run()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = None
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
        if sys.platform == "darwin":
            peak /= 1024  # bytes there
    except ImportError:  # Windows
        pass
    return {
        "records": records,
        "concurrency": concurrency,
        "stored": summary.counts.ok,
        "calls": summary.calls,
        "wall": wall,
        "cpu": cpu,
        "peak_mb": peak,
        "journal": journalled,
    }


def measure_bare(records: int, concurrency: int, prefix: str) -> dict[str, Any]:
    """The same calls from `concurrency` plain threads: no journal, no run, no pace. What
    the client and the sandbox manage on their own; the run can only come close to it."""
    from opus_desktop.jobs.connect import connect
    from opus_desktop.profiles import find_profile

    batches = [
        [payload(prefix, n) for n in range(first, min(first + PER_CALL, records + 1))]
        for first in range(1, records + 1, PER_CALL)
    ]
    lock = threading.Lock()
    queue = iter(batches)
    with connect(find_profile("Sandbox"), None) as connection:
        connection.tokens.token()

        def work() -> None:
            while True:
                with lock:
                    batch = next(queue, None)
                if batch is None:
                    return
                connection.client.submit(batch)

        wall = time.perf_counter()
        threads = [threading.Thread(target=work) for _ in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - wall
    return {"records": records, "stored": records, "calls": len(batches), "wall": wall}


def measure_command(records: int, concurrency: int) -> dict[str, Any]:
    """The whole `opus-desktop submit` of a CSV of `records` rows, as a user runs it:
    start-up, reading and validating the sheet, journalling it, signing in, sending."""
    from submit_memory import csv_path

    command = [
        sys.executable, "-m", "opus_desktop", "submit", "--profile", "Sandbox",
        "--input", str(csv_path(records)), "--concurrency", str(concurrency),
    ]  # fmt: skip
    environment = _with_bytecode()
    if not _BYTECODE.exists():  # once, untimed: it compiles every module the command loads
        subprocess.run(command, capture_output=True, check=False, cwd=ROOT, env=environment)
    wall, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, cwd=ROOT, env=environment
    )
    wall, cpu = time.perf_counter() - wall, _children_cpu() - cpu
    if done.returncode != 0:
        raise SystemExit(f"submit failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return {"wall": wall, "cpu": cpu}


_BYTECODE = Path(tempfile.gettempdir()) / "opus-desktop-bench" / "pycache"


def _with_bytecode() -> dict[str, str]:
    """The environment for the command, with compiled modules kept (an installed app has
    its .pyc files; with PYTHONDONTWRITEBYTECODE every module would be compiled at each
    start, a quarter of a second here)."""
    environment = dict(os.environ, PYTHONPYCACHEPREFIX=str(_BYTECODE))
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    return environment


def _children_cpu() -> float:
    try:
        import resource
    except ImportError:  # Windows
        return math.nan
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def in_subprocess(
    records: int, concurrency: int, prefix: str, bare: bool = False
) -> dict[str, Any]:
    mode = "--bare" if bare else "--child"
    command = [sys.executable, __file__, mode, str(records), str(concurrency), prefix]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the measurement failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["stored"] != records:
        raise SystemExit(f"only {result['stored']} of {records} records were stored")
    return result


# -- the whole benchmark ------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=6000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--memory", type=int, nargs="+", default=[2000, 6000])
    parser.add_argument("--repeat", type=int, default=3, help="whole commands timed (median)")
    parser.add_argument("--child", nargs=3, metavar=("RECORDS", "CONCURRENCY", "PREFIX"))
    parser.add_argument("--bare", nargs=3, metavar=("RECORDS", "CONCURRENCY", "PREFIX"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(int(args.child[0]), int(args.child[1]), args.child[2])))
        return
    if args.bare:
        print(json.dumps(measure_bare(int(args.bare[0]), int(args.bare[1]), args.bare[2])))
        return

    home = Path(tempfile.mkdtemp(prefix="opus-desktop-submit-bench-"))
    os.environ["OPUS_DESKTOP_HOME"] = str(home)
    from opus_desktop.sandbox import Sandbox, SandboxConfig
    from opus_desktop.sandbox_profiles import save_sandbox_profiles

    latency = args.latency_ms / 1000
    config = SandboxConfig(directory=home / "sandbox", latency_ms=args.latency_ms)
    with Sandbox(config) as sandbox:
        save_sandbox_profiles(sandbox)
        print(
            f"{args.records:,} records, {PER_CALL} per call, sandbox latency "
            f"{args.latency_ms:.0f} ms; target ≥ {TARGET_RATIO} of the bound at concurrency 4\n"
        )
        print(
            f"{'concurrency':>11}  {'time':>7}  {'records/s':>9}  {'bound':>7}  {'ratio':>5}  "
            f"{'calls':>5}  {'CPU per 1,000':>13}  {'peak':>7}  {'bare client':>11}  "
            f"{'run/bare':>8}  {'journalling':>11}"
        )
        bares: dict[int, float] = {}
        run_ratio: dict[int, float] = {}
        for number, concurrency in enumerate(args.concurrency):
            result = in_subprocess(args.records, concurrency, f"C{number}")
            bare = in_subprocess(args.records, concurrency, f"B{number}", bare=True)
            bares[concurrency] = bare["wall"]
            run_ratio[concurrency] = bare["wall"] / result["wall"]
            calls = math.ceil(args.records / PER_CALL)
            bound = calls / concurrency * latency
            print(
                f"{concurrency:>11}  {result['wall']:>6.2f}s  "
                f"{args.records / result['wall']:>9,.0f}  {bound:>6.2f}s  "
                f"{bound / result['wall']:>5.2f}  {result['calls']:>5}  "
                f"{result['cpu'] / args.records * 1000 * 1000:>10.0f} ms  "
                f"{_mb(result['peak_mb'])}  {bare['wall']:>6.2f}s {bound / bare['wall']:.2f}  "
                f"{bare['wall'] / result['wall']:>8.2f}  {result['journal']:>10.2f}s"
            )
        print(
            "\nThe whole `opus-desktop submit` of a CSV of as many rows (start-up, read, "
            "validate, journal, sign in, send, report), median of "
            f"{args.repeat}, beside the bare client; target ≥ {TARGET_RATIO} of it at "
            "concurrency 8 (the issue's figure):"
        )
        for concurrency in args.concurrency:
            runs = [measure_command(args.records, concurrency) for _ in range(args.repeat)]
            command = statistics.median(run["wall"] for run in runs)
            cpu = statistics.median(run["cpu"] for run in runs)
            print(
                f"  concurrency {concurrency}: whole command {command:.2f}s (CPU {cpu:.2f}s), "
                f"bare client {bares[concurrency]:.2f}s: whole-command ratio "
                f"{bares[concurrency] / command:.2f} (run alone: {run_ratio[concurrency]:.2f})"
            )
            if concurrency == 8:  # the figure
                client, share = bares[concurrency], run_ratio[concurrency]
                record("submit-throughput", client=client, command=command, run_share=share)
        print("\nPeak memory at concurrency 4 as the run grows:")
        peaks = []
        for number, records in enumerate(args.memory):
            result = in_subprocess(records, 4, f"M{number}")
            peaks.append(result["peak_mb"])
            print(f"  {records:>7,} records: {_mb(result['peak_mb'])}")
        if None not in peaks and len(peaks) > 1:
            growth = peaks[-1] - peaks[0]
            print(f"  growth from {args.memory[0]:,} to {args.memory[-1]:,}: {growth:+.1f} MB")


def _mb(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:>5.0f} MB"


if __name__ == "__main__":
    main()
