"""Start-up: the time to a shown main window, beside a bare PySide6 QMainWindow in the same run.

    python benchmarks/startup.py [--runs 7] [--bundle dist/opus-desktop/opus-desktop]

Every run is a fresh process in an empty OPUS_DESKTOP_HOME (as `make package` smoke-tests
the bundle), started one after another (bare, app, bundle, bare, app, ...) so that a busy
machine weighs on each alike. Three figures a run:

  shown   from starting the process to the window shown and the event loop running: the
          app's OPUS_DESKTOP_TEST_HOOK (called once its window is shown) prints the clock;
          the bare window does the same from a QTimer.singleShot(0) after show()
  smoke   `--smoke-test` less its 0.5 s wait (the window shown, closed, the process gone),
          the bare window waiting as long; the only figure the frozen bundle gives, since
          it cannot import a hook from outside
  cpu     the CPU time the process used (user and system): on a busy machine the steadier
          figure, since the wait costs none and other processes' work is not counted

Medians of --runs, after one run of each that is not counted; the goal is app and bundle
<= 0.3 s beyond the bare window. Python runs with its bytecode cache (in a folder of its
own, PYTHONPYCACHEPREFIX, so none is written into the tree) even where
PYTHONDONTWRITEBYTECODE is set: compiling every module again at each start is not what a
user's installed app does. The bundle is `make package`'s output, skipped with a line
saying so when it is not there.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from figures import record

ROOT = Path(__file__).resolve().parents[1]
GOAL = 0.3  # seconds beyond the bare window
SMOKE_WAIT = 0.5  # gui/app.py's SMOKE_TEST_MS
BUNDLE = ROOT / "dist" / "opus-desktop" / "opus-desktop"
SHOWN = "shown-at"
BARE_NAME = "bare QMainWindow"

BARE = f"""
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv)
window = QMainWindow()
window.resize(1280, 800)
window.show()
QTimer.singleShot(0, lambda: print("{SHOWN}", time.time(), flush=True))
QTimer.singleShot({int(SMOKE_WAIT * 1000)}, app.quit)
sys.exit(app.exec())
"""

HOOK = f"""
import time


def shown(window):
    print("{SHOWN}", time.time(), flush=True)
"""


@dataclass(frozen=True)
class Run:
    shown: float | None  # seconds to the shown line (None: the bundle prints none)
    smoke: float  # seconds to the process's end, less the wait
    cpu: float  # CPU seconds, user and system


def run(command: list[str], env: dict[str, str]) -> Run:
    with tempfile.TemporaryDirectory(prefix="opus-startup-") as home:
        env = {**env, "OPUS_DESKTOP_HOME": home, "QT_QPA_PLATFORM": "offscreen"}
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.time()
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        ended = time.time()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed (exit {done.returncode}): {done.stderr}")
    shown = None
    for line in done.stdout.splitlines():
        if line.startswith(SHOWN):
            shown = float(line.split()[1]) - began
    cpu = (after.ru_utime - used.ru_utime) + (after.ru_stime - used.ru_stime)
    return Run(shown, ended - began - SMOKE_WAIT, cpu)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each (default 7, at least 5)")
    parser.add_argument("--bundle", type=Path, default=BUNDLE, help=f"default {BUNDLE}")
    args = parser.parse_args(argv)
    runs = max(args.runs, 5)

    hooks = Path(tempfile.mkdtemp(prefix="opus-startup-hook-"))
    (hooks / "startup_hook.py").write_text(HOOK, encoding="utf-8")
    left_out = ("OPUS_DESKTOP_TEST_HOOK", "PYTHONDONTWRITEBYTECODE")
    base = {k: v for k, v in os.environ.items() if k not in left_out}
    base["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "opus-startup-pycache")
    python_path = os.pathsep.join(filter(None, [str(hooks), base.get("PYTHONPATH", "")]))
    app_env = {**base, "PYTHONPATH": python_path, "OPUS_DESKTOP_TEST_HOOK": "startup_hook:shown"}

    kinds: dict[str, Callable[[], Run]] = {
        BARE_NAME: lambda: run([sys.executable, "-c", BARE], base),
        "opus-desktop": lambda: run(
            [sys.executable, "-m", "opus_desktop", "--smoke-test"], app_env
        ),
    }
    if args.bundle.exists():
        kinds["bundle"] = lambda: run([str(args.bundle), "--smoke-test"], base)
    for measure in kinds.values():  # the bytecode cache, the disk cache
        measure()
    results: dict[str, list[Run]] = {kind: [] for kind in kinds}
    for _ in range(runs):
        for kind, measure in kinds.items():
            results[kind].append(measure())

    figures = ("shown", "smoke", "cpu")
    medians = {
        kind: {f: median([getattr(r, f) for r in found]) for f in figures}
        for kind, found in results.items()
    }
    print(f"Start-up to a shown main window, medians of {runs} fresh processes (seconds)")
    print(f"{'':18}" + "".join(f" {f:>7} {'beyond bare':>12}" for f in figures))
    bare = medians[BARE_NAME]
    for kind, found in medians.items():
        line = f"{kind:18}"
        for f in figures:
            value, reference = found[f], bare[f]
            if value is None or reference is None:
                line += f" {'-':>7} {'-':>12}"
            else:
                line += f" {value:7.3f} {value - reference:+12.3f}"
        print(line)
    record(
        "startup",
        bare=bare["shown"],
        app=medians["opus-desktop"]["shown"],
        bundle=medians["bundle"]["shown"] if "bundle" in medians else None,
    )
    if "bundle" not in kinds:
        print(f"bundle: skipped, {args.bundle} is not there (make package builds it)")
    print(f"goal: <= {GOAL:.1f} s beyond the bare window")
    return 0


def median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


if __name__ == "__main__":
    raise SystemExit(main())
