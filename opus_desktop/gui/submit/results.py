"""What a run's results mean for the grid, and how its progress reads.

    changes = status_changes(batch_result, columns)   # -> RecordsModel.set_row_statuses
    column = named_column("Column 'termFullPath' (Taxonomy): ...", columns)   # -> 2

A failed record's message goes on the cell it names when it names one: the service
speaks of columns by internal name ('_Page_%20_Count'), people by display name ("Page
Count"); both are looked for as whole words, the earliest mention winning.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from PySide6.QtCore import QCoreApplication

from opus_desktop.jobs.state import BatchResult, Progress
from opus_desktop.usecases.rows import FAILED, PENDING, SENT, SKIPPED, STORED, ColumnSet

StatusChange = tuple[str, str, str, "int | None"]  # key, status, message, named column


def tr(text: str) -> str:
    return QCoreApplication.translate("SubmitPanel", text)


class ColumnNames:
    """Finds the template column a message names; built once per ColumnSet."""

    def __init__(self, columns: ColumnSet) -> None:
        names: dict[str, int] = {}
        for index, column in enumerate(columns.columns):
            names.setdefault(column.internal_name, index)
            names.setdefault(column.display_name, index)
        # Longest first, so "Created time" wins over a shorter name inside it.
        ordered = sorted(names, key=len, reverse=True)
        self._index = names
        self._pattern = re.compile(
            "|".join(rf"(?<![\w%]){re.escape(name)}(?![\w%])" for name in ordered)
        )

    def find(self, message: str) -> int | None:
        if not message:
            return None
        found = self._pattern.search(message)
        return self._index[found.group(0)] if found is not None else None


def named_column(message: str, columns: ColumnSet) -> int | None:
    """The template column `message` names first, or None."""
    return ColumnNames(columns).find(message)


def status_changes(result: BatchResult, names: ColumnNames | None) -> list[StatusChange]:
    """The grid's status for each row key of one batch. Released records were either not
    sent (cancelled: pending again) or sent without an answer (sent, and sent again)."""
    changes: list[StatusChange] = [(key, STORED, "", None) for key in result.ok]
    for key, message in result.failed.items():
        column = names.find(message) if names is not None else None
        changes.append((key, FAILED, message, column))
    changes += [(key, SKIPPED, reason, None) for key, reason in result.skipped.items()]
    if result.released:
        if result.message:
            said = tr("No answer yet ({0}); it will be sent again.").format(result.message)
            changes += [(key, SENT, said, None) for key in result.released]
        else:
            changes += [(key, PENDING, "", None) for key in result.released]
    return changes


def duration(seconds: float) -> str:
    """'< 1 s', '45 s', '3 min 5 s', '1 h 12 min'."""
    if seconds < 1:
        return tr("< 1 s")
    whole = round(seconds)
    if whole < 60:
        return tr("{0} s").format(whole)
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return tr("{0} min {1} s").format(minutes, secs) if secs else tr("{0} min").format(minutes)
    hours, minutes = divmod(minutes, 60)
    return tr("{0} h {1} min").format(hours, minutes) if minutes else tr("{0} h").format(hours)


def progress_text(progress: Progress) -> str:
    """'4,215 of 10,000 records · 85 records/s · 1 min 8 s left'."""
    parts = [tr("{0} of {1} records").format(f"{progress.done:,}", f"{progress.total:,}")]
    if progress.failed:
        parts.append(tr("{0} failed").format(f"{progress.failed:,}"))
    if progress.rate is not None:
        parts.append(tr("{0} records/s").format(f"{progress.rate:,.0f}"))
    if progress.remaining and progress.eta is not None:
        parts.append(tr("{0} left").format(duration(progress.eta)))
    return " · ".join(parts)


def key_of(row_values: Sequence[object], key_index: int) -> str | None:
    value = row_values[key_index]
    return value if isinstance(value, str) and value else None
