"""Import speed: reading 100,000 rows x 11 columns from .xlsx, alone and with map + validate.

    python benchmarks/import_validate.py [--rows N] [--repeat 3] [--with-report] [--profile]

The workbook is generated once with openpyxl's write-only mode and kept in
<temp>/opus-desktop-bench/. Each measurement runs in a fresh subprocess, so peak memory
(ru_maxrss: Python objects and calamine's own Rust allocations alike) is that
measurement's alone. Prints the median of the repeats, wall and CPU time, the ratio of
each mode to the raw read, and the peak memory, against the targets: validate <= 1.3x
the raw read, the editor's import <= 1.6x, peak <= 400 MB. CPU time is shown beside
wall time because on a busy machine it is the steadier of the two.

Modes, each in its own process:
  raw       python-calamine alone: open, parse the sheet, iterate every row
  validate  what `opus-desktop validate` does: stream the sheet, map, convert, check,
            keep only the problems
  editor    what the Records tab's import does in its worker (usecases.importing):
            every row checked and kept as an editor row
  records   what `submit` does before sending: validate keeping every Record
  report    validate straight into an .xlsx report (only with --with-report; slow)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from figures import record

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HEADERS = [
    "Row key", "Name", "Classification", "Created time", "Modified time", "Created by",
    "Modified by", "Case Number", "Date Received", "Page Count", "Security Level",
]  # fmt: skip
TERMS = [
    "Records/Finance/Invoices", "Records/Finance/Payroll", "Records/Legal/Contracts",
    "Records/Human Resources/Recruitment", "Records/Operations/Meeting Minutes",
]  # fmt: skip
PEOPLE = [
    "alice.nguyen@contoso.example",
    "bob.smith@contoso.example",
    "carol.jones@contoso.example",
]
LEVELS = ["Public", "Internal", "Confidential", "Secret"]
TARGET_RATIO = 1.3
TARGETS = {"validate": TARGET_RATIO, "editor": 1.6}  # the others are shown, not judged
TARGET_PEAK_MB = 400
VERSION = 1  # bump when the generated workbook changes


def bench_folder() -> Path:
    folder = Path(tempfile.gettempdir()) / "opus-desktop-bench"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def workbook_path(rows: int) -> Path:
    return bench_folder() / f"records-{rows}x{len(HEADERS)}-v{VERSION}.xlsx"


def generate(path: Path, rows: int) -> None:
    """Realistic values: unique keys, names and times; repeated terms, people, labels,
    dates and case numbers; about one row in 200 with a bad value."""
    import openpyxl

    chance = random.Random(20240501)
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Records")
    sheet.append(HEADERS)
    start = datetime(2019, 1, 1, 8, 0, 0)
    for n in range(rows):
        created = start + timedelta(minutes=7 * n, seconds=chance.randrange(60))
        row: list[object] = [
            f"REC-{n:06d}",
            f"Document {n} {chance.choice(['report', 'invoice', 'minutes', 'contract'])}.pdf",
            chance.choice(TERMS),
            created,
            created + timedelta(days=chance.randrange(30), hours=chance.randrange(8)),
            chance.choice(PEOPLE),
            chance.choice(PEOPLE),
            f"C-{chance.randrange(5000):04d}",
            created.date(),
            chance.randrange(1, 400),
            chance.choice(LEVELS),
        ]
        if chance.random() < 0.005:
            row[chance.choice([4, 8, 10])] = chance.choice(["2023-02-30", "Top secret", "soon"])
        sheet.append(row)
    partial = path.with_suffix(".partial.xlsx")
    book.save(partial)
    os.replace(partial, path)


# -- one measurement, in a child process ------------------------------------------------------


def peak_mb() -> float | None:
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def measure(mode: str, path: Path, profile: bool) -> dict[str, object]:
    import python_calamine

    from opus_desktop.core.reports import validate_into_report
    from opus_desktop.core.sheets import open_sheet
    from opus_desktop.core.validation import validate
    from opus_desktop.usecases.importing import ImportRequest, load_records
    from tests.helpers.workbooks import demo_settings, demo_template

    template, settings = demo_template(), demo_settings()
    details: dict[str, object] = {}

    def run() -> None:
        if mode == "raw":
            workbook = python_calamine.CalamineWorkbook.from_path(str(path))
            rows = sum(1 for _ in workbook.get_sheet_by_name("Records").iter_rows())
            details["rows"] = rows - 1
        elif mode == "validate":
            result = validate(open_sheet(path), template, settings, keep_records=False)
            details.update(rows=result.rows, invalid=result.invalid_rows)
        elif mode == "editor":
            loaded = load_records(ImportRequest(path, template, settings))
            details.update(rows=len(loaded.rows), invalid=loaded.invalid_rows)
        elif mode == "records":
            result = validate(open_sheet(path), template, settings)
            details.update(rows=result.rows, invalid=result.invalid_rows, kept=len(result.records))
        elif mode == "report":
            out = bench_folder() / "report.xlsx"
            result = validate_into_report(out, open_sheet(path), template, settings)
            details.update(rows=result.rows, invalid=result.invalid_rows)
        else:
            raise SystemExit(f"unknown mode {mode}")

    wall, cpu = time.perf_counter(), time.process_time()
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(run)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(20)
    else:
        run()
    return {
        "mode": mode,
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "peak_mb": peak_mb(),
        **details,
    }


def child(mode: str, path: Path, profile: bool = False) -> dict[str, object]:
    command = [sys.executable, __file__, "--child", mode, "--file", str(path)]
    if profile:
        command.append("--profile")
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if profile:
        print(done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{done.stderr}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- the report ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--with-report", action="store_true", help="also time an .xlsx report")
    parser.add_argument("--profile", action="store_true", help="print a profile of validate")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(measure(args.child, args.file, args.profile)))
        return

    path = workbook_path(args.rows)
    if not path.exists():
        print(f"Generating {path} ({args.rows} rows) once; later runs reuse it ...", flush=True)
        began = time.perf_counter()
        generate(path, args.rows)
        print(f"  written in {time.perf_counter() - began:.1f} s", flush=True)
    print(f"Workbook: {path} ({path.stat().st_size / 1e6:.1f} MB), {os.cpu_count()} CPUs")

    modes = ["raw", "validate", "editor", "records"] + (["report"] if args.with_report else [])
    runs: dict[str, list[dict[str, object]]] = {mode: [] for mode in modes}
    # Interleaved, so a burst of load on a shared machine hits every mode alike.
    for _ in range(args.repeat):
        for mode in modes:
            runs[mode].append(child(mode, path))

    def median(mode: str, key: str) -> float:
        return statistics.median(float(str(r[key])) for r in runs[mode])

    print(f"\n{'mode':<10}{'wall s':>9}{'cpu s':>9}{'peak MB':>10}  rows")
    for mode in modes:
        peaks = [r["peak_mb"] for r in runs[mode] if r["peak_mb"] is not None]
        peak = f"{max(float(str(p)) for p in peaks):.0f}" if peaks else "n/a"
        extra = {
            k: v for k, v in runs[mode][0].items() if k not in ("mode", "wall", "cpu", "peak_mb")
        }
        print(
            f"{mode:<10}{median(mode, 'wall'):>9.2f}{median(mode, 'cpu'):>9.2f}{peak:>10}  {extra}"
        )

    print()
    for mode in modes[1:]:
        wall = median(mode, "wall") / median("raw", "wall")
        cpu = median(mode, "cpu") / median("raw", "cpu")
        target = TARGETS.get(mode)
        if target is None:
            print(f"{mode} / raw: {wall:.2f} wall, {cpu:.2f} cpu")
            continue
        verdict = "meets" if wall <= target else "misses"
        print(f"{mode} / raw: {wall:.2f} wall, {cpu:.2f} cpu ({verdict} the target {target})")
    for mode, key in (("validate", "import-validate"), ("editor", "import-editor")):
        peaks = [float(str(r["peak_mb"])) for r in runs[mode] if r["peak_mb"] is not None]
        seconds = median(mode, "wall")
        peak = max(peaks) if peaks else None
        record(key, raw=median("raw", "wall"), seconds=seconds, peak_mb=peak)
    for mode in [m for m in modes if m in ("validate", "report")]:
        peaks = [float(str(r["peak_mb"])) for r in runs[mode] if r["peak_mb"] is not None]
        if peaks:
            verdict = "meets" if max(peaks) <= TARGET_PEAK_MB else "misses"
            print(f"{mode} peak: {max(peaks):.0f} MB ({verdict} the target {TARGET_PEAK_MB} MB)")

    if args.profile:
        child("validate", path, profile=True)


if __name__ == "__main__":
    main()
