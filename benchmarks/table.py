"""The closing table of `make bench`: issue 18's figures beside this run's.

    python benchmarks/table.py [FIGURES.jsonl]

Reads what the benchmarks recorded (benchmarks/figures.py; `make bench` passes the file)
and prints one Markdown row per figure: the reference measured in this run, the figure
the issue quoted before the work, the figure now, the goal, and whether it is met. A
figure no benchmark recorded in this run is "not measured", never a number from before.

This module is not a benchmark: `make bench` runs it last, on its own.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from figures import read  # benchmarks/ is not a package

Figures = dict[str, dict[str, float | str | None]]
NOT_MEASURED = "not measured"


def _num(entry: dict[str, float | str | None], key: str) -> float:
    value = entry.get(key)
    return float(value) if isinstance(value, (int, float)) else float("nan")


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _submits(found: Figures) -> list[dict[str, float | str | None]]:
    """The submit-memory figures, smallest sheet first."""
    entries = [e for key, e in found.items() if key.startswith("submit-memory-")]
    return sorted(entries, key=lambda e: _num(e, "rows"))


def _memory(found: Figures) -> tuple[str, str, str]:
    shown = _submits(found)
    if not shown:
        return "memory flat with size", NOT_MEASURED, ""
    now = " / ".join(f"{_num(e, 'rows') / 1000:,.0f}k: {_num(e, 'peak_mb'):.0f} MB" for e in shown)
    rates = ", ".join(f"{_num(e, 'rate'):,.0f}" for e in shown)
    ok = all(_num(e, "peak_mb") <= 300 for e in shown)
    largest = shown[-1]  # the speed is judged where start-up no longer counts
    ok = ok and (_num(largest, "rows") < 100_000 or _num(largest, "rate") >= 4_750)
    return "memory flat with size", f"{now}; {rates} records/s", _met(ok)


def _journal(found: Figures) -> tuple[str, str, str]:
    shown = _submits(found)
    if not shown:
        return "the CSV", NOT_MEASURED, ""
    e = shown[-1]  # the largest run
    ratio = _num(e, "journal_ratio")
    ref = f"the CSV: {_num(e, 'csv_mb'):.0f} MB ({_num(e, 'rows'):,.0f} rows)"
    return ref, f"{_num(e, 'journal_mb'):.0f} MB ({ratio:.2f}x the CSV)", _met(ratio <= 1.5)


def _report(found: Figures) -> tuple[str, str, str]:
    e = found.get("report")
    if not e:
        return "XlsxWriter constant_memory", NOT_MEASURED, ""
    ref, now = _num(e, "xlsxwriter"), _num(e, "report")
    ratio = now / ref
    ok = ratio <= 1.2 or now <= 3
    text = f"{now:.2f} s ({ratio:.2f}x)"
    if "e2e_peak_mb" in e:  # the whole validate --report, as flat as any bulk command
        peak = _num(e, "e2e_peak_mb")
        text += f"; validate --report peak {peak:.0f} MB"
        ok = ok and peak <= 300
    return f"XlsxWriter constant_memory: {ref:.2f} s", text, _met(ok)


def _against_raw(
    key: str, goal: float, peak_goal: float | None
) -> Callable[[Figures], tuple[str, str, str]]:
    def row(found: Figures) -> tuple[str, str, str]:
        e = found.get(key)
        if not e:
            return "raw python-calamine read", NOT_MEASURED, ""
        raw, now, peak = _num(e, "raw"), _num(e, "seconds"), _num(e, "peak_mb")
        ratio = now / raw
        ok = ratio <= goal and (peak_goal is None or peak <= peak_goal)
        text = f"{now:.2f} s ({ratio:.2f}x), {peak:.0f} MB"
        if "stall_ms" in e:
            stall = _num(e, "stall_ms")
            text += f", longest stall {stall:.0f} ms"
            ok = ok and stall <= 100
        return f"raw python-calamine read: {raw:.2f} s", text, _met(ok)

    return row


def _startup(found: Figures) -> tuple[str, str, str]:
    e = found.get("startup")
    if not e:
        return "a bare PySide6 QMainWindow", NOT_MEASURED, ""
    bare, app = _num(e, "bare"), _num(e, "app")
    text = f"{app:.2f} s ({app - bare:+.2f} s beyond the bare window)"
    ok = app - bare <= 0.3
    if isinstance(e.get("bundle"), (int, float)):
        bundle = _num(e, "bundle")
        text += f"; bundle {bundle:.2f} s ({bundle - bare:+.2f} s)"
        ok = ok and bundle - bare <= 0.3
    else:
        text += "; bundle not measured (no dist/)"
    return f"a bare PySide6 QMainWindow: {bare:.2f} s", text, _met(ok)


def _throughput(found: Figures) -> tuple[str, str, str]:
    e = found.get("submit-throughput")
    if not e:
        return "a minimal hand-written concurrent client", NOT_MEASURED, ""
    client, command = _num(e, "client"), _num(e, "command")
    share = client / command
    text = f"{command:.2f} s ({share:.2f} of it)"
    if isinstance(e.get("run_share"), (int, float)):
        text += f"; the run alone {_num(e, 'run_share'):.2f}"
    return f"hand-written client: {client:.2f} s", text, _met(share >= 0.9)


def _due(found: Figures) -> tuple[str, str, str]:
    shown = [found[key] for key in ("due-out-xlsx", "due-out-csv") if key in found]
    if not shown:
        return "memory flat with size", NOT_MEASURED, ""
    kinds = [key.rsplit("-", 1)[1] for key in ("due-out-xlsx", "due-out-csv") if key in found]
    now = " / ".join(
        f"{kind}: {_num(e, 'peak_mb'):.0f} MB in {_num(e, 'seconds'):.1f} s"
        for kind, e in zip(kinds, shown, strict=True)
    )
    records = max(_num(e, "records") for e in shown)
    ok = all(_num(e, "peak_mb") <= 300 for e in shown)
    return f"memory flat with size ({records:,.0f} due)", now, _met(ok)


# (work, the figure before the work, the goal, how this run's row is made)
ROWS: list[tuple[str, str, str, Callable[[Figures], tuple[str, str, str]]]] = [
    (
        "`submit` CSV to the sandbox, concurrency 8: peak RSS",
        "85 MB at 10k, 344 MB at 100k, 2.9 GB at 1M; 4,000-4,750 records/s",
        "<= 300 MB at any size; >= 4,750 records/s",
        _memory,
    ),
    ("journal after that run", "3.1x the CSV", "<= 1.5x the CSV", _journal),
    (
        "`due --out` with 100k due records: peak RSS",
        "not in the issue's table (item 1 asks for it)",
        "<= 300 MB",
        _due,
    ),
    (
        "`validate --report` 100k x 11 (xlsx): the report alone",
        "12.5-13.7 s (2.1-2.25x XlsxWriter at 6.1 s)",
        "<= 1.2x XlsxWriter, or <= 3 s",
        _report,
    ),
    (
        "import + validate 100k x 11 xlsx",
        "1.90 s (2.14x a raw read of 0.88 s)",
        "<= 1.3x raw, <= 400 MB",
        _against_raw("import-validate", 1.3, 400),
    ),
    (
        "editor load of the same sheet (the import use case)",
        "2.09 s at 273 MB (2.76x)",
        "<= 1.6x raw",
        _against_raw("import-editor", 1.6, None),
    ),
    (
        "editor load in the window, 100k x 15 (demo columns)",
        "not in the issue (2.14x before this work)",
        "<= 1.6x raw; no stall > 100 ms",
        _against_raw("editor-window", 1.6, None),
    ),
    (
        "start-up to a shown main window",
        "about 0.6 s (bare window 0.10 s)",
        "<= 0.3 s beyond the bare window; the bundle the same",
        _startup,
    ),
    (
        "`submit` 6,000 records at 50 ms a call, concurrency 8",
        "3.40 s (0.84 of the client's 2.87 s)",
        ">= 0.9 of the hand-written client",
        _throughput,
    ),
]


def table(found: Figures) -> str:
    lines = [
        "| Work | Reference (this run) | Issue 18 (before) | Now | Goal | Met |",
        "|---|---|---|---|---|---|",
    ]
    for work, before, goal, make in ROWS:
        reference, now, met = make(found)
        lines.append(f"| {work} | {reference} | {before} | {now} | {goal} | {met} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else Path("build/bench-figures.jsonl")
    found = read(path)
    if not found:
        print(f"No figures in {path}: run `make bench`, which records them there.")
        return 2
    print(table(found))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
