"""`make bench`'s closing table: figures recorded by the benchmarks, judged against goals."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture()
def bench(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    for name in ("figures", "table"):
        sys.modules.pop(name, None)
    return importlib.import_module("figures"), importlib.import_module("table")


def test_recorded_figures_fill_their_rows(bench, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    figures, table = bench
    out = tmp_path / "figures.jsonl"
    monkeypatch.setenv(figures.VARIABLE, str(out))
    figures.record("import-validate", raw=1.0, seconds=1.25, peak_mb=134)
    figures.record("import-editor", raw=1.0, seconds=1.7, peak_mb=164)
    figures.record("submit-throughput", client=2.87, command=3.0, run_share=0.98)
    text = table.table(figures.read(out))
    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines()[2:]}
    assert "1.25 s (1.25x), 134 MB" in rows["import + validate 100k x 11 xlsx"]
    assert rows["import + validate 100k x 11 xlsx"].endswith("| yes |")
    editor = rows["editor load of the same sheet (the import use case)"]
    assert "1.70 s (1.70x)" in editor and editor.endswith("| **no** |")
    throughput = rows["`submit` 6,000 records at 50 ms a call, concurrency 8"]
    assert "(0.96 of it); the run alone 0.98" in throughput and throughput.endswith("| yes |")
    # What no benchmark recorded in this run is said so, not filled from before.
    assert "not measured" in rows["`due --out` with 100k due records: peak RSS"]
    assert "not measured" in rows["start-up to a shown main window"]


def test_the_last_figure_under_a_key_counts(bench, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    figures, table = bench
    out = tmp_path / "figures.jsonl"
    monkeypatch.setenv(figures.VARIABLE, str(out))
    figures.record("report", xlsxwriter=6.0, report=9.0)
    figures.record("report", xlsxwriter=6.0, report=6.6)
    assert figures.read(out)["report"] == {"xlsxwriter": 6.0, "report": 6.6}
    row = next(line for line in _table(figures, table, out) if "the report alone" in line)
    assert "6.60 s (1.10x)" in row and row.endswith("| yes |")
    figures.record("report", xlsxwriter=6.0, report=6.6, e2e_peak_mb=420)
    row = next(line for line in _table(figures, table, out) if "the report alone" in line)
    assert "validate --report peak 420 MB" in row and row.endswith("| **no** |")


def _table(figures, table, out: Path) -> list[str]:  # type: ignore[no-untyped-def]
    return str(table.table(figures.read(out))).splitlines()


def test_nothing_is_recorded_without_the_variable(bench, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    figures, table = bench
    monkeypatch.delenv(figures.VARIABLE, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    figures.record("report", xlsxwriter=6.0, report=6.6)
    assert list(work.iterdir()) == []
    assert table.main([str(tmp_path / "none.jsonl")]) == 2


def test_the_due_row_judges_every_format(bench, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    figures, table = bench
    out = tmp_path / "figures.jsonl"
    monkeypatch.setenv(figures.VARIABLE, str(out))
    figures.record("due-out-xlsx", records=100_000, seconds=41.0, peak_mb=120)
    figures.record("due-out-csv", records=100_000, seconds=30.5, peak_mb=310)
    text = table.table(figures.read(out))
    row = next(line for line in text.splitlines() if line.startswith("| `due --out`"))
    assert "memory flat with size (100,000 due)" in row
    assert "xlsx: 120 MB in 41.0 s / csv: 310 MB in 30.5 s" in row
    assert row.endswith("| **no** |")  # the CSV's peak is over the goal
