"""Report speed: the .xlsx report of `validate --report` for 100,000 rows x 11 columns,
beside plain XlsxWriter (constant_memory) writing the same cells.

    python benchmarks/reports.py [--rows N] [--repeat 3] [--no-old]

The sheet is the one benchmarks/import_validate.py generates (kept in
<temp>/opus-desktop-bench/). Each measurement runs in a fresh subprocess; the validation
that feeds it runs before the clock starts, except in "validate" and "e2e". Modes:

  xlsxwriter  the reference: XlsxWriter, constant_memory, write_row of the same cells
  writer      the app's writer (`write_workbook`) given the same cells
  app         the app's report of a finished validation (`write_validation_report`):
              the cells built from the records (display text) and written
  old         the same with the report module as it was on openpyxl's write-only mode
              (read from git history; left out with --no-old or when git cannot)
  validate    `validate` alone: stream, map, convert, check
  e2e         `validate --report`: the same, writing the report as rows go by

Prints medians (wall, CPU and peak memory) and the ratios to the reference; the goal is
app <= 1.2x, and `validate --report` (e2e) within the 300 MB every bulk command keeps to.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from figures import record

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from import_validate import bench_folder, generate, workbook_path  # noqa: E402

GOAL = 1.2
OLD = "from openpyxl import Workbook"  # a line only the openpyxl report module had


def old_reports() -> ModuleType | None:
    """core/reports.py as it was before XlsxWriter, loaded from git history."""
    path = bench_folder() / "old_reports.py"
    if not path.exists():
        found = subprocess.run(
            ["git", "log", "--format=%H", "-S", OLD, "--", "opus_desktop/core/reports.py"],
            capture_output=True, text=True, cwd=ROOT, check=False,
        )  # fmt: skip
        commits = found.stdout.split()
        if found.returncode != 0 or not commits:
            return None
        source = subprocess.run(
            ["git", "show", f"{commits[0]}^:opus_desktop/core/reports.py"],
            capture_output=True, text=True, cwd=ROOT, check=False,
        )  # fmt: skip
        if source.returncode != 0 or OLD not in source.stdout:
            return None
        path.write_text(source.stdout, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("old_reports", path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def cells(result: Any, template: Any, settings: Any) -> tuple[list[Any], list[Any]]:
    """The rows of the report's two sheets, as the app writes them."""
    from opus_desktop.core.reports import ValidationReport

    scratch = bench_folder() / "scratch.csv"
    with ValidationReport(scratch, template, settings, result.blocked) as report:
        records = [report.record_row(r) for r in result.records]
    for path in scratch.parent.glob("scratch*.csv"):
        path.unlink()
    problems = [[p.row, p.column, p.value, p.message] for p in result.problems]
    return problems, records


def measure(mode: str, path: Path) -> dict[str, object]:
    from opus_desktop.core.reports import (
        PROBLEM_HEADERS,
        SheetSpec,
        validate_into_report,
        write_validation_report,
        write_workbook,
    )
    from opus_desktop.core.sheets import open_sheet
    from opus_desktop.core.validation import validate
    from tests.helpers.workbooks import demo_settings, demo_template

    template, settings = demo_template(), demo_settings()
    out = bench_folder() / f"report-{mode}.xlsx"
    headers = ["Row", *(c.display_name for c in template.columns), "Status"]
    result = None
    if mode not in ("validate", "e2e"):
        result = validate(open_sheet(path), template, settings)
    if mode in ("xlsxwriter", "writer"):
        problems, records = cells(result, template, settings)
    old = old_reports() if mode == "old" else None
    if mode == "old" and old is None:
        return {"mode": mode, "skipped": True}

    def run() -> None:
        if mode == "xlsxwriter":
            import xlsxwriter

            book = xlsxwriter.Workbook(str(out), {"constant_memory": True})
            for title, head, rows in (
                ("Problems", PROBLEM_HEADERS, problems),
                ("Records", headers, records),
            ):
                sheet = book.add_worksheet(title)
                sheet.write_row(0, 0, head)
                for number, row in enumerate(rows, start=1):
                    sheet.write_row(number, 0, row)
            book.close()
        elif mode == "writer":
            write_workbook(
                out,
                [
                    SheetSpec("Problems", PROBLEM_HEADERS, problems, (8, 20, 30, 80)),
                    SheetSpec("Records", headers, records, [14.0] * len(headers)),
                ],
            )
        elif mode == "app":
            write_validation_report(out, result, template, settings)
        elif mode == "old":
            assert old is not None
            old.write_validation_report(out, result, template, settings)
        elif mode == "validate":
            validate(open_sheet(path), template, settings, keep_records=False)
        elif mode == "e2e":
            validate_into_report(out, open_sheet(path), template, settings)
        else:
            raise SystemExit(f"unknown mode {mode}")

    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return {
        "mode": mode,
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "bytes": out.stat().st_size if out.exists() else 0,
        "peak": _peak_mb(),
    }


def _peak_mb() -> float:
    """This process's peak memory (the child's: one mode each), NaN where not known."""
    try:
        import resource
    except ImportError:  # Windows
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
    return peak / 1024 if sys.platform == "darwin" else peak


def child(mode: str, path: Path) -> dict[str, object]:
    command = [sys.executable, __file__, "--child", mode, "--file", str(path)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{done.stderr}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-old", action="store_true", help="leave out the openpyxl writer")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(measure(args.child, args.file)))
        return

    path = workbook_path(args.rows)
    if not path.exists():
        print(f"Generating {path} ({args.rows} rows) once; later runs reuse it ...", flush=True)
        generate(path, args.rows)
    modes = ["xlsxwriter", "writer", "app", "validate", "e2e"] + ([] if args.no_old else ["old"])
    runs: dict[str, list[dict[str, object]]] = {mode: [] for mode in modes}
    for _ in range(args.repeat):  # interleaved: a burst of load hits every mode alike
        for mode in modes:
            runs[mode].append(child(mode, path))
    if any(r.get("skipped") for r in runs.get("old", [])):
        print("old: the openpyxl report module is not in git history here; left out")
        modes.remove("old")

    def median(mode: str, key: str) -> float:
        return statistics.median(float(str(r[key])) for r in runs[mode])

    print(f"{args.rows:,} rows x 11 columns, medians of {args.repeat} (wall s, cpu s, peak MB):")
    for mode in modes:
        print(
            f"  {mode:<11}{median(mode, 'wall'):>8.2f}{median(mode, 'cpu'):>8.2f}"
            f"{median(mode, 'peak'):>8.0f}"
        )
    reference = median("xlsxwriter", "wall")
    alone = median("e2e", "wall") - median("validate", "wall")
    print(f"  report alone in validate --report (e2e - validate): {alone:.2f} s")
    record("report", xlsxwriter=reference, report=alone, e2e_peak_mb=median("e2e", "peak"))
    print("ratios to plain XlsxWriter (wall):")
    for mode, seconds in [
        *((m, median(m, "wall")) for m in modes if m in ("writer", "app", "old")),
        ("e2e - validate", alone),
    ]:
        verdict = "" if mode == "old" else (" meets" if seconds / reference <= GOAL else " misses")
        goal = "" if mode == "old" else f" the goal {GOAL}x"
        print(f"  {mode:<15}{seconds / reference:>6.2f}x{verdict}{goal}")


if __name__ == "__main__":
    main()
