"""The grid to a file: every row as shown (the text that would be sent), its Excel row
number, its status and its problems, so an officer can fix a sheet in Excel and import
it again. Runs in a worker over the rows as they were when the export started."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from opus_desktop.core.reports import write_table
from opus_desktop.errors import AppError
from opus_desktop.jobs.state import RunState
from opus_desktop.usecases.rows import ColumnSet, Row

PROBLEMS_HEADER = "Problems"


class ExportCancelled(AppError):
    """The user stopped the export; nothing was written."""


def export_rows(path: Path, rows: Sequence[Row], columns: ColumnSet, state: RunState) -> int:
    """Write the rows to `path` (.xlsx or .csv); return how many were written."""
    headers = ["Row", "Status", *(c.display_name for c in columns.columns), PROBLEMS_HEADER]
    state.start(len(rows))

    def lines() -> Iterator[list[object]]:
        text = columns.text
        for number, row in enumerate(rows, start=1):
            if number % 1000 == 0:
                if state.cancel_requested:
                    raise ExportCancelled(f"Export cancelled; {path.name} was not written.")
                state.add(stored=1000)
            cells = [text(i, value) for i, value in enumerate(row.values)]
            problems = "; ".join(
                f"{columns.columns[i].display_name}: {sentence}"
                for i, sentence in columns.row_problems(row)
            )
            yield [row.source, row.status, *cells, problems]

    return write_table(path, headers, lines(), sheet_title="Records")
