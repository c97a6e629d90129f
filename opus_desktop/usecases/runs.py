"""The journal's runs as the front ends show them: the list, one run, its report.

runs = list_runs(20)
shown = show_run("last")            # RunInfo, its failed items, first ones only
written = run_report(path, run_id)
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, overload

from opus_desktop import paths
from opus_desktop.core.reports import ReportError
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.journal_types import ITEM_STATES, Item, Pruned, RunInfo

if TYPE_CHECKING:
    from opus_desktop.jobs.report import ReportSummary


@dataclass(frozen=True)
class ShownRun:
    info: RunInfo
    failed: list[Item]  # the first `limit` failed items, in order
    more_failed: int  # failed items beyond those


def reading(path: Path | None = None) -> Journal:
    """The journal for reading only; in a folder this user cannot write to (a read-only
    home) it is opened as it is, and a write to it says it is read-only."""
    path = path if path is not None else paths.journal_path(create=False)
    return Journal(path, read_only=path.exists() and not os.access(path.parent, os.W_OK))


def list_runs(limit: int, journal_path: Path | None = None) -> list[RunInfo]:
    """The newest runs, newest first; none when there is no journal yet."""
    return read_runs(journal_path or paths.journal_path(create=False), limit)


def read_runs(path: Path, limit: int = 1000) -> list[RunInfo]:
    """Every run in the journal at `path`, newest first; none when there is no journal yet."""
    if not path.exists():
        return []
    with reading(path) as journal:
        return journal.runs(limit=limit)


class ItemRows(Sequence[Item]):
    """A run's items for a list, without their payloads (Item.payload is empty), kept as
    columns: about 80 bytes a record, where Items with payloads take kilobytes. An Item
    is made when one is asked for."""

    def __init__(self, rows: Iterable[tuple[int, int | None, str, str, int, str]]) -> None:
        self._seq = array("q")
        self._row = array("q")
        self._attempts = array("l")
        self._state = bytearray()
        self._keys: list[str] = []
        self._messages: dict[int, str] = {}  # index -> message, for those that have one
        codes: dict[str, int] = {state: code for code, state in enumerate(ITEM_STATES)}
        for index, (seq, row, key, state, attempts, message) in enumerate(rows):
            self._seq.append(seq)
            self._row.append(-1 if row is None else row)
            self._keys.append(key)
            self._state.append(codes[state])
            self._attempts.append(attempts)
            if message:
                self._messages[index] = message

    def __len__(self) -> int:
        return len(self._keys)

    def column(self, field: str) -> Sequence[object]:
        """One field of every item, in order, for sorting a million without making an Item
        of each: "row" (-1 where none), "key", "state", "attempts" or "message"."""
        if field == "row":
            return self._row
        if field == "key":
            return self._keys
        if field == "state":
            return [ITEM_STATES[code] for code in self._state]
        if field == "attempts":
            return self._attempts
        if field == "message":
            messages = self._messages
            return [messages.get(index, "") for index in range(len(self._keys))]
        raise ValueError(f"no item field {field!r}")

    @overload
    def __getitem__(self, index: int) -> Item: ...
    @overload
    def __getitem__(self, index: slice) -> list[Item]: ...
    def __getitem__(self, index: int | slice) -> Item | list[Item]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        row = self._row[index]
        return Item(
            self._seq[index],
            None if row < 0 else row,
            self._keys[index],
            {},
            ITEM_STATES[self._state[index]],
            self._attempts[index],
            self._messages.get(index, ""),
        )


def read_items(path: Path, run_id: str) -> tuple[RunInfo, ItemRows]:
    """A run and every one of its items in order, without payloads (ItemRows)."""
    with reading(path) as journal:
        return journal.run(run_id), ItemRows(journal.outcomes(run_id))


def run_info(run: str, journal_path: Path | None = None) -> RunInfo:
    """One run by id, unique start of an id, or "last"; RunNotFound otherwise."""
    with reading(journal_path) as journal:
        return journal.run(run)


def show_run(
    run: str,
    limit: int,
    *,
    report: Path | None = None,
    journal_path: Path | None = None,
) -> tuple[ShownRun, ReportSummary | None]:
    """A run with its first `limit` failed items, and its report written to `report`."""
    with reading(journal_path) as journal:
        info = journal.run(run)
        failed: list[Item] = []
        more = 0
        for item in journal.items(info.id, ["failed"]):
            if len(failed) < limit:
                failed.append(item)
            else:
                more += 1
        written = None
        if report is not None:
            from opus_desktop.jobs.report import write_run_report  # the writers, when asked

            written = write_run_report(report, journal, info.id)
    return ShownRun(info, failed, more), written


def run_report(path: Path, run_id: str, journal_path: Path | None = None) -> ReportSummary:
    from opus_desktop.jobs.report import write_run_report  # the writers, when asked

    with Journal(journal_path) as journal:
        return write_run_report(path, journal, run_id)


def input_change(info: RunInfo) -> str:
    """One sentence when the input sheet of a submit run has changed or gone since the
    run started (its SHA-256 is in the journal), "" when it is the same or there is none.

    Resuming sends the records as they were read then, which the sentence says: the run
    goes on either way (`runs resume`, the Runs tab's Resume).
    """
    if info.kind != "submit" or not info.input_path or not info.input_sha256:
        return ""
    from opus_desktop.jobs.report import file_sha256

    path = Path(info.input_path)
    try:
        same = file_sha256(path) == info.input_sha256
    except FileNotFoundError:
        return f"{path} is no longer there; the run sends the records it read then."
    except OSError as exc:
        return (
            f"{path} cannot be read ({exc.strerror or exc}); the run sends the records it "
            "read then."
        )
    if same:
        return ""
    return f"{path} has changed since the run started; the run sends the records it read then."


def check_report_path(path: Path | None) -> None:
    """Refuse a report name that cannot work before any work is done."""
    if path is None:
        return
    if path.suffix.lower() not in (".xlsx", ".xlsm", ".csv"):
        raise ReportError(f"{path.name}: a report must be an .xlsx or a .csv file.")
    if not path.resolve().parent.is_dir():
        raise ReportError(f"Cannot write {path}: the folder {path.parent} does not exist.")


def prune_runs(days: int, journal_path: Path | None = None) -> Pruned:
    """`runs prune`: drop the stored payloads of the submit runs finished `days` ago or
    more (Journal.prune says what stays)."""
    with Journal(journal_path) as journal:
        return journal.prune(timedelta(days=days))
