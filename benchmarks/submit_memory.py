"""Memory and journal size of `opus-desktop submit` as the sheet grows.

    python benchmarks/submit_memory.py [--rows 10000 100000 300000] [--million] [--repeat 1]
                                       [--concurrency 8]

A CSV of each size is generated once (in <temp>/opus-desktop-bench/), a sandbox runs in
this process, and each size is sent by the real command line in a child process
(`opus-desktop submit`), so the peak memory (the child's ru_maxrss) is the client's
alone. Printed per size: wall time, records per second, peak memory, the CSV's size and
the journal's after the run (the SQLite file and its WAL), their ratio, and the peak
memory of reading the run's records as the window's Runs tab does. Targets:
peak <= 300 MB at any size; journal <= 1.5x the CSV (the bar names 300,000 rows).
`--million` adds 1,000,000 rows (several minutes). Prints figures only; nothing is
asserted.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from figures import record

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_PEAK_MB = 300
TARGET_JOURNAL = 1.5
VERSION = 1  # bump when the generated sheet changes
HEADERS = [
    "Row key", "Name", "Classification", "Created time", "Modified time", "Page Count",
    "Security Level", "Departments", "Record Owner", "Description",
]  # fmt: skip
TERMS = ("Records/Finance/Invoices", "Records/Legal/Contracts", "Records/Operations/Correspondence")
LEVELS = ("Public", "Internal", "Confidential", "Secret")
DEPARTMENTS = ("Finance", "Human Resources", "Legal", "Operations", "Information Technology")
OWNERS = ("alice.nguyen@contoso.example", "bob.smith@contoso.example")


def csv_path(rows: int) -> Path:
    folder = Path(tempfile.gettempdir()) / "opus-desktop-bench"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"submit-{rows}-v{VERSION}.csv"
    if not path.exists():
        partial = path.with_suffix(".partial")
        with partial.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(HEADERS)
            for n in range(1, rows + 1):
                writer.writerow(
                    [
                        f"MEM-{n:07d}",
                        f"Document {n} of the records team.pdf",
                        TERMS[n % 3],
                        f"2023-{1 + n % 12:02d}-{1 + n % 28:02d} 09:{n % 60:02d}:00",
                        "2024-01-02 03:04:05",
                        n % 400 + 1,
                        LEVELS[n % 4],
                        "; ".join(DEPARTMENTS[i] for i in sorted({n % 5, (n + 2) % 5})),
                        OWNERS[n % 2],
                        f"Benchmark record {n}, filed by the records team.",
                    ]
                )
        os.replace(partial, path)
    return path


def journal_bytes(home: Path) -> int:
    found = [p for p in home.rglob("journal*.sqlite3*") if p.is_file()]
    return sum(p.stat().st_size for p in found)


def submit(home: Path, path: Path, concurrency: int) -> dict[str, float]:
    """One `opus-desktop submit` of `path` in a child process, in a fresh journal."""
    for old in home.rglob("journal*.sqlite3*"):
        if old.is_file():
            old.unlink()
    env = dict(os.environ, OPUS_DESKTOP_HOME=str(home))
    command = [
        sys.executable, "-m", "opus_desktop", "submit", "--profile", "Sandbox",
        "--input", str(path), "--concurrency", str(concurrency),
    ]  # fmt: skip
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak, not the maximum
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        said = out.read().decode(errors="replace")
    peak = usage.ru_maxrss / 1024
    if child.returncode != 0:
        raise SystemExit(f"submit failed ({child.returncode}):\n{said}")
    return {"wall": wall, "peak": peak, "journal": journal_bytes(home)}


def runs_tab_peak(home: Path) -> float:
    """Peak memory of a child that reads the last run's records as the window's Runs tab
    does (usecases.runs.read_items)."""
    code = (
        "import resource, sys; from opus_desktop import paths; "
        "from opus_desktop.usecases.runs import read_items; "
        "info, rows = read_items(paths.journal_path(), 'last'); "
        "assert len(rows) == info.counts.total, (len(rows), info.counts); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    env = dict(os.environ, OPUS_DESKTOP_HOME=str(home))
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT
    )
    if done.returncode != 0:
        raise SystemExit(f"reading the run failed:\n{done.stderr}")
    return float(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 300_000])
    parser.add_argument("--million", action="store_true", help="add 1,000,000 rows")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size (median shown)")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    sizes = [*args.rows, *([1_000_000] if args.million else [])]
    home = Path(tempfile.mkdtemp(prefix="opus-desktop-submit-memory-"))
    os.environ["OPUS_DESKTOP_HOME"] = str(home)
    from opus_desktop.sandbox import Sandbox, SandboxConfig
    from opus_desktop.sandbox_profiles import save_sandbox_profiles

    print(
        f"opus-desktop submit of a CSV, concurrency {args.concurrency}, sandbox without latency;"
        f" targets: peak <= {TARGET_PEAK_MB} MB, journal <= {TARGET_JOURNAL}x the CSV\n"
    )
    print(
        f"{'rows':>9}  {'time':>7}  {'records/s':>9}  {'peak':>7}  {'CSV':>8}  "
        f"{'journal':>8}  {'ratio':>5}  {'Runs tab':>8}"
    )
    for rows in sorted(sizes):
        path = csv_path(rows)
        results = []
        for _ in range(args.repeat):
            with Sandbox(SandboxConfig(directory=home / f"sandbox-{len(results)}-{rows}")) as box:
                save_sandbox_profiles(box)
                results.append(submit(home, path, args.concurrency))
                results[-1]["tab"] = runs_tab_peak(home)
        wall = statistics.median(r["wall"] for r in results)
        peak = statistics.median(r["peak"] for r in results)
        size = statistics.median(r["journal"] for r in results)
        csv_size = path.stat().st_size
        record(
            f"submit-memory-{rows}",
            rows=rows,
            peak_mb=peak,
            rate=rows / wall,
            csv_mb=csv_size / 1e6,
            journal_mb=size / 1e6,
            journal_ratio=size / csv_size,
        )
        print(
            f"{rows:>9,}  {wall:>6.1f}s  {rows / wall:>9,.0f}  {peak:>4.0f} MB  "
            f"{csv_size / 1e6:>5.1f} MB  {size / 1e6:>5.1f} MB  {size / csv_size:>5.2f}  "
            f"{statistics.median(r['tab'] for r in results):>5.0f} MB"
        )


if __name__ == "__main__":
    main()
