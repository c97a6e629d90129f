"""The record editor with 100,000 rows: load time, memory, and how long the window froze.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_editor.py [--rows N] [--csv] [--repeat 3]

The sheet (the demo template's 15 columns, one row in 100 with a bad date) is written
once to <temp>/opus-desktop-bench/ as a minimal .xlsx built by hand (openpyxl would take
40 s), then loaded exactly as the Records tab does it: `RecordsTab.open_sheet(path)`,
which reads and checks the rows in a worker thread and swaps them into the model.

A 10 ms QTimer runs in the GUI thread throughout; the longest gap between its ticks is
the longest time the window could not repaint or take input (target: under 100 ms).

First the load alone, --repeat times, each in a fresh process and each beside the raw
python-calamine read of the same file (open, parse, iterate every row) in another, taken
in turn so a burst of load on a shared machine hits both alike: the medians, and the
load's ratio to the read (target: at most 1.6). Then one run with everything below.
Then: the rows written to the journal as a draft (in a worker), scrolling through the
grid, sorting, filtering, an edit, and find, each timed.

Last, a submission: --submit-rows valid rows (10,000) loaded and sent with the submit
panel to a sandbox tenant running in its own process (--latency-ms per call), with the
same 10 ms timer: the longest stall while the window shows every batch's results.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from figures import record

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["OPUS_DESKTOP_HOME"] = tempfile.mkdtemp(prefix="opus-bench-home-")

HEADERS = [
    "Row key", "Name", "Classification", "Created time", "Modified time", "Created by",
    "Modified by", "Case Number", "Description", "Date Received", "Page Count",
    "Security Level", "Departments", "Record Owner", "Storage Location",
]  # fmt: skip
TERMS = [
    "Records/Finance/Invoices", "Records/Finance/Payroll", "Records/Legal/Contracts",
    "Records/Human Resources/Recruitment", "Records/Operations/Meeting Minutes",
]  # fmt: skip
PEOPLE = ["alice.nguyen", "bob.smith", "carol.jones", "dmitri.ivanov", "records.team"]
LEVELS = ["Public", "Internal", "Confidential", "Secret"]
DEPARTMENTS = ["Finance", "Legal", "Operations", "Finance; Legal", "Human Resources"]
LOCATIONS = ["Sites/Melbourne/Head Office", "Sites/Sydney/Branch Office"]
TARGET_STALL_MS = 100
TARGET_RATIO = 1.6  # the editor's load beside the raw read
VERSION = 1  # bump when the generated sheet changes
_EPOCH = datetime(1899, 12, 30)


def sheet_path(rows: int, csv_file: bool, name: str = "editor") -> Path:
    folder = Path(tempfile.gettempdir()) / "opus-desktop-bench"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}-{rows}-v{VERSION}.{'csv' if csv_file else 'xlsx'}"


def sample_rows(rows: int, bad_dates: bool = True) -> list[list[object]]:
    chance = random.Random(20261128)
    start = datetime(2019, 1, 7, 8, 30)
    out: list[list[object]] = []
    for n in range(rows):
        created = start + timedelta(minutes=5 * n + chance.randrange(5))
        person = chance.choice(PEOPLE)
        out.append(
            [
                f"REG-{n + 1:06d}",
                f"Document {n + 1} - {chance.choice(LEVELS)} {chance.randrange(10_000)}.pdf",
                chance.choice(TERMS),
                "31/02/2021 09:30:00" if bad_dates and n % 100 == 99 else created,
                created + timedelta(days=chance.randrange(60)),
                f"{person}@contoso.example",
                f"{chance.choice(PEOPLE)}@contoso.example",
                f"CASE-{chance.randrange(100, 9999):04d}",
                f"Filed by {person.replace('.', ' ').title()}.",
                datetime(created.year, created.month, created.day),
                chance.randint(1, 240),
                chance.choice(LEVELS),
                chance.choice(DEPARTMENTS),
                f"{chance.choice(PEOPLE)}@contoso.example",
                chance.choice(LOCATIONS),
            ]
        )
    return out


def write_xlsx(path: Path, rows: list[list[object]]) -> None:
    """The smallest workbook calamine reads as Excel does: inline strings, dates as
    serial numbers with a built-in date-time format."""

    def cell(ref: str, value: object) -> str:
        if isinstance(value, datetime):
            serial = (value - _EPOCH).total_seconds() / 86400
            return f'<c r="{ref}" s="1"><v>{serial!r}</v></c>'
        if isinstance(value, int):
            return f'<c r="{ref}"><v>{value}</v></c>'
        return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'

    letters = [chr(ord("A") + i) for i in range(len(HEADERS))]
    lines = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        "<sheetData>"
    ]
    for number, values in enumerate([HEADERS, *rows], start=1):
        cells = "".join(cell(f"{letters[i]}{number}", v) for i, v in enumerate(values))
        lines.append(f'<row r="{number}">{cells}</row>')
    lines.append("</sheetData></worksheet>")
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rels = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package = "http://schemas.openxmlformats.org/package/2006"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr(
            "[Content_Types].xml",
            f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{package}/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
            'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="'
            'application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>',
        )
        book.writestr(
            "_rels/.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{package}/'
            f'relationships"><Relationship Id="rId1" Type="{rels}/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>',
        )
        book.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" '
            f'xmlns:r="{rels}"><sheets><sheet name="Register" sheetId="1" r:id="rId1"/>'
            "</sheets></workbook>",
        )
        book.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{package}/'
            f'relationships"><Relationship Id="rId1" Type="{rels}/worksheet" '
            f'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{rels}/styles" '
            'Target="styles.xml"/></Relationships>',
        )
        book.writestr(
            "xl/styles.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{main}">'
            '<fonts count="1"><font/></fonts><fills count="1"><fill/></fills>'
            '<borders count="1"><border/></borders><cellStyleXfs count="1"><xf/></cellStyleXfs>'
            '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="22" applyNumberFormat="1"/>'
            "</cellXfs></styleSheet>",
        )
        book.writestr("xl/worksheets/sheet1.xml", "".join(lines))


def write_csv(path: Path, rows: list[list[object]]) -> None:
    import csv

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for values in rows:
            writer.writerow(
                [v.strftime("%Y-%m-%d %H:%M:%S") if isinstance(v, datetime) else v for v in values]
            )


def peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


class StallMeter:
    """A 10 ms timer in the GUI thread; the longest gap between ticks is the longest
    the window could not react."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.last = 0.0
        self.gaps: list[float] = []
        self.ends: list[float] = []

    def start(self) -> None:
        self.gaps = []
        self.ends = []
        self.last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self._tick()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self.last)
        self.ends.append(now)
        self.last = now

    def worst(self, count: int, since: float) -> list[tuple[float, float]]:
        """The longest gaps as (ms, seconds after `since` at which the gap ended)."""
        pairs = sorted(zip(self.gaps, self.ends, strict=True), reverse=True)[:count]
        return [(gap * 1000, end - since) for gap, end in pairs]

    @property
    def longest_ms(self) -> float:
        return max(self.gaps, default=0.0) * 1000


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    """Run the event loop (as the app does) until `condition()` or `seconds` pass."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(5)
    poll.timeout.connect(lambda: condition() and loop.quit())
    poll.start()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    poll.stop()
    return condition()


def timed(what: str, action: Callable[[], object], note: str = "") -> float:
    started = time.perf_counter()
    action()
    seconds = time.perf_counter() - started
    print(f"  {what:<38} {seconds * 1000:9.1f} ms {note}")
    return seconds


def raw_read(path: Path) -> dict[str, float]:
    """The reference: python-calamine alone (for CSV, the csv module), every row iterated."""
    started = time.perf_counter()
    if path.suffix == ".csv":
        import csv

        with path.open(newline="", encoding="utf-8") as handle:
            sum(1 for _ in csv.reader(handle))
    else:
        import python_calamine

        book = python_calamine.CalamineWorkbook.from_path(str(path))
        sum(1 for _ in book.get_sheet_by_name(book.sheet_names[0]).iter_rows())
    return {"seconds": time.perf_counter() - started}


def load_only(path: Path) -> dict[str, float]:
    """One load as the Records tab does it, in this (fresh) process."""
    from opus_desktop.gui.app import make_application
    from opus_desktop.gui.editor.tab import RecordsTab
    from opus_desktop.gui.workers import TaskRunner
    from tests.helpers.editor import demo_profile

    app = make_application([sys.argv[0]])
    runner = TaskRunner()
    tab = RecordsTab(runner)
    tab.resize(1400, 900)
    tab.show()
    tab.set_profile(demo_profile())
    app.processEvents()
    before = peak_mb()
    meter = StallMeter()
    meter.start()
    started = time.perf_counter()
    tab.open_sheet(path)
    if not wait_until(lambda: not tab.tasks.busy and tab.model.rowCount() > 0, 300):
        raise SystemExit("the load did not finish in 5 minutes")
    seconds = time.perf_counter() - started
    wait_until(lambda: False, 0.3)  # the first paint of the grid, the problems panel
    meter.stop()
    assert tab.loaded is not None
    worker = tab.loaded.seconds
    runner.join()
    return {
        "seconds": seconds,
        "worker": worker,
        "peak_mb": peak_mb(),
        "before_mb": before,
        "stall_ms": meter.longest_ms,
    }


def child(mode: str, path: Path) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", mode, "--file", str(path)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{done.stderr}")
    found: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def compare(path: Path, repeat: int) -> None:
    """The load beside the raw read, each in fresh processes, `repeat` times in turn."""
    reads: list[dict[str, float]] = []
    loads: list[dict[str, float]] = []
    for _ in range(repeat):
        reads.append(child("raw", path))
        loads.append(child("load", path))

    def median(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(run[key] for run in runs)

    read, load = median(reads, "seconds"), median(loads, "seconds")
    ratio = load / read
    verdict = "ok" if ratio <= TARGET_RATIO else "OVER TARGET"
    stall = max(run["stall_ms"] for run in loads)
    peak = median(loads, "peak_mb")
    record("editor-window", raw=read, seconds=load, peak_mb=peak, stall_ms=stall)
    print(f"Medians of {repeat} runs, each in a fresh process, {path.name}:")
    print(f"  raw python-calamine read (the reference)     {read:6.2f} s")
    print(
        f"  editor load (read + check, then shown)       {load:6.2f} s   "
        f"({ratio:.2f}x the read; target <= {TARGET_RATIO}: {verdict})"
    )
    print(f"  of which the worker                          {median(loads, 'worker'):6.2f} s")
    print(
        f"  peak memory (ru_maxrss)                      {median(loads, 'peak_mb'):6.0f} MB"
        f"   (before loading: {median(loads, 'before_mb'):.0f} MB)"
    )
    print(
        f"  longest event-loop stall, worst run          {stall:6.1f} ms"
        f"   (target <= {TARGET_STALL_MS} ms: {'ok' if stall <= TARGET_STALL_MS else 'OVER'})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--csv", action="store_true", help="load a CSV file instead of .xlsx")
    parser.add_argument("--repeat", type=int, default=3, help="loads beside raw reads (0: none)")
    parser.add_argument("--submit-rows", type=int, default=10_000, help="0: no submission")
    parser.add_argument("--latency-ms", type=float, default=50, help="the sandbox's per call")
    parser.add_argument("--child", choices=("raw", "load"), help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps((raw_read if args.child == "raw" else load_only)(args.file)))
        return 0

    path = sheet_path(args.rows, args.csv)
    if not path.exists():
        started = time.perf_counter()
        rows = sample_rows(args.rows)
        (write_csv if args.csv else write_xlsx)(path, rows)
        del rows
        print(f"wrote {path} in {time.perf_counter() - started:.1f} s")
    if args.repeat:
        compare(path, args.repeat)
        print()

    from PySide6.QtCore import Qt

    from opus_desktop.gui.app import make_application

    app = make_application([sys.argv[0]])  # as the app makes it: style, palette, threads
    from opus_desktop.gui.editor.filters import RowFilter
    from opus_desktop.gui.editor.tab import RecordsTab
    from opus_desktop.gui.workers import TaskRunner
    from tests.helpers.editor import demo_profile

    runner = TaskRunner()
    tab = RecordsTab(runner)
    tab.resize(1400, 900)
    tab.show()
    tab.set_profile(demo_profile())
    app.processEvents()
    before = peak_mb()

    meter = StallMeter()
    meter.start()
    started = time.perf_counter()
    tab.open_sheet(path)
    if not wait_until(lambda: not tab.tasks.busy and tab.model.rowCount() > 0, 300):
        print("the load did not finish in 5 minutes")
        return 1
    load_seconds = time.perf_counter() - started
    wait_until(lambda: False, 0.3)  # the first paint of the grid, the problems panel
    meter.stop()
    loaded = tab.loaded
    assert loaded is not None
    model = tab.model
    print(f"Editor with {model.rowCount():,} rows x {len(HEADERS)} columns from {path.name}")
    print(
        f"  load (read + check in a worker, then shown)  {load_seconds:6.2f} s"
        f"   ({model.rowCount() / load_seconds:,.0f} rows/s; worker {loaded.seconds:.2f} s)"
    )
    print(f"  invalid rows                                 {model.invalid_rows:,}")
    print(
        f"  peak memory (ru_maxrss)                      {peak_mb():6.0f} MB"
        f"   (before loading: {before:.0f} MB)"
    )
    print(
        f"  longest event-loop stall during the load     {meter.longest_ms:6.1f} ms"
        f"   (target <= {TARGET_STALL_MS} ms: {verdict(meter)})"
    )
    worst = ", ".join(f"{ms:.0f} ms at {at:.2f} s" for ms, at in meter.worst(3, started))
    print(f"  longest gaps (time since open_sheet)         {worst}")
    ticks = sorted(meter.gaps)
    print(
        f"  timer gaps: median {statistics.median(ticks) * 1000:.1f} ms, "
        f"99th percentile {ticks[int(len(ticks) * 0.99)] * 1000:.1f} ms, {len(ticks)} ticks"
    )

    meter.start()
    started = time.perf_counter()
    tab.drafts.flush()  # the write the keeper would start a second later on its own
    wait_until(lambda: not tab.drafts.writing, 120)
    meter.stop()
    print(
        f"  the rows kept in the journal as a draft      {time.perf_counter() - started:6.2f} s"
        f"   (in a worker; longest stall meanwhile {meter.longest_ms:.1f} ms: {verdict(meter)})"
    )

    print("Interactions (each in the GUI thread):")
    view = tab.view
    bar = view.verticalScrollBar()
    steps: list[float] = []

    def scroll() -> None:
        for value in range(0, bar.maximum(), max(bar.maximum() // 60, 1)):
            begun = time.perf_counter()
            bar.setValue(value)
            view.viewport().repaint()
            steps.append(time.perf_counter() - begun)

    scrolled = timed("scroll top to bottom, 60 repaints", scroll)
    print(f"  {'':<38} slowest repaint {max(steps) * 1000:.1f} ms of {scrolled * 1000:.0f} ms")
    pages = 1 + HEADERS.index("Page Count")
    timed("sort by Name", lambda: view.sortByColumn(2, Qt.SortOrder.AscendingOrder))
    timed(
        "sort by Page Count, descending",
        lambda: view.sortByColumn(pages, Qt.SortOrder.DescendingOrder),
    )
    timed("sort by Created time", lambda: view.sortByColumn(4, Qt.SortOrder.AscendingOrder))
    timed("filter: Invalid", lambda: tab.set_filter(RowFilter.INVALID))
    print(f"  {'':<38} {tab.proxy.rowCount():,} rows shown")
    timed("filter: All rows", lambda: tab.set_filter(RowFilter.ALL))
    cell = model.index(model.rowCount() // 2, 2)
    timed("edit one cell (checked, undo step)", lambda: model.setData(cell, "Renamed.pdf"))
    key = model.index(model.rowCount() // 3, 1)
    timed("edit a row key (duplicates re-checked)", lambda: model.setData(key, "REG-000001"))
    timed("undo", model.undo_stack.undo)
    tab.problems.model.refresh()
    timed(
        "refresh the problems panel",
        tab.problems.model.refresh,
        f"({tab.problems.model.rowCount():,} problems)",
    )
    tab.find_bar.edit.setText("no such text anywhere")
    timed("find: no match in the whole grid", tab.find_bar.find_next)
    runner.join()
    if args.submit_rows:
        return submission(args.submit_rows, args.latency_ms, args.csv)
    return 0


def verdict(meter: StallMeter) -> str:
    return "ok" if meter.longest_ms <= TARGET_STALL_MS else "OVER TARGET"


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_sandbox(latency_ms: float) -> tuple[subprocess.Popen[str], Path]:
    """A sandbox tenant in its own process (its threads do not share our GIL), and the
    "Sandbox" profile pointing at it. Returns the process and the profile's folder."""
    from dataclasses import replace

    from opus_desktop.profiles import save_profile
    from opus_desktop.sandbox import Sandbox, SandboxConfig
    from opus_desktop.sandbox_profiles import save_sandbox_profiles

    folder = Path(tempfile.mkdtemp(prefix="opus-bench-sandbox-"))
    seeded = Sandbox(SandboxConfig(directory=folder))  # seeds the demo tenant, then stops
    try:
        profile = save_sandbox_profiles(seeded)
    finally:
        seeded.stop()
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "opus_desktop.sandbox", "--dir", str(folder), "--port", str(port),
         "--latency-ms", str(latency_ms)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    if "running at" not in line:
        process.kill()
        raise RuntimeError(f"the sandbox did not start: {line!r}")
    url = f"http://127.0.0.1:{port}"
    save_profile(replace(profile, api_url=url, identity_url=f"{url}/identity"))
    return process, folder


def submission(rows: int, latency_ms: float, csv_file: bool) -> int:
    """Send `rows` valid rows from the Records tab; measure the window's stalls."""
    from opus_desktop.gui.editor.tab import RecordsTab
    from opus_desktop.gui.workers import TaskRunner
    from opus_desktop.profiles import find_profile
    from opus_desktop.usecases.rows import STORED

    path = sheet_path(rows, csv_file, "submit")
    if not path.exists():
        (write_csv if csv_file else write_xlsx)(path, sample_rows(rows, bad_dates=False))
    process, _ = start_sandbox(latency_ms)
    runner = TaskRunner()
    tab = RecordsTab(runner)
    try:
        tab.resize(1400, 900)
        tab.show()
        tab.set_profile(find_profile("Sandbox"))
        tab.open_sheet(path)
        if not wait_until(lambda: not tab.tasks.busy and tab.model.rowCount() == rows, 120):
            print("the sheet to submit did not load")
            return 1
        tab.submit_panel.update_state()
        # The import's own work first: its rows kept as a draft, a second after they came.
        wait_until(lambda: tab.drafts.pending or tab.drafts.writing, 3)
        wait_until(lambda: not tab.drafts.pending and not tab.drafts.writing, 60)
        wait_until(lambda: False, 0.3)
        meter = StallMeter()
        meter.start()
        started = time.perf_counter()
        if not tab.submit_panel.submit():
            print(f"the submit panel refused: {tab.submit_panel.outcome.text()}")
            return 1
        wait_until(lambda: not tab.driver.busy, 600)
        seconds = time.perf_counter() - started
        wait_until(lambda: False, 0.3)  # the summary and the last repaint
        meter.stop()
        end = tab.submit_panel.last_end
        summary = end.summary if end is not None else None
        stored = sum(1 for row in tab.model.rows() if row.status == STORED)
        print(
            f"Submission of {rows:,} rows from the Records tab "
            f"(sandbox in its own process, {latency_ms:.0f} ms a call, "
            f"{tab.submit_panel.concurrency.value()} calls at a time)"
        )
        if summary is None:
            print(f"  the run did not finish: {tab.submit_panel.outcome.text()}")
            return 1
        print(
            f"  run {summary.run_id} {summary.status}: {summary.counts.ok:,} stored, "
            f"{summary.counts.failed:,} failed; {stored:,} rows marked stored in the grid"
        )
        print(
            f"  submit clicked to run ended                  {seconds:6.2f} s"
            f"   ({rows / seconds:,.0f} records/s)"
        )
        print(
            f"  longest event-loop stall during the run      {meter.longest_ms:6.1f} ms"
            f"   (target <= {TARGET_STALL_MS} ms: {verdict(meter)})"
        )
        worst = ", ".join(f"{ms:.0f} ms at {at:.2f} s" for ms, at in meter.worst(3, started))
        print(f"  longest gaps (time since Submit)             {worst}")
        ticks = sorted(meter.gaps)
        print(
            f"  timer gaps: median {statistics.median(ticks) * 1000:.1f} ms, "
            f"99th percentile {ticks[int(len(ticks) * 0.99)] * 1000:.1f} ms, {len(ticks)} ticks"
        )
        return 0
    finally:
        if tab.submit_panel.summary is not None:
            tab.submit_panel.summary.done(0)
        runner.join()
        process.terminate()
        process.wait(10)


if __name__ == "__main__":
    sys.exit(main())
