"""Table models of the Runs tab: the runs in the journal, and the records of one run.

Both are read-only and replaced whole (a refresh reads the journal again in a worker).
The runs sort through a QSortFilterProxyModel on SORT_ROLE, which gives numbers and
times as themselves rather than as the text shown; a run's records sort in their model.
A disposal run's records are "Destroyed" or "Not destroyed", never "Stored"
(`outcome_words`).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import PureWindowsPath
from typing import Any, Generic, TypeVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)

from opus_desktop.gui.icons import status_icon
from opus_desktop.jobs.journal_types import Item, RunInfo

Index = QModelIndex | QPersistentModelIndex
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

RUN_STATUS = {
    "running": ("running", "Running"),
    "done": ("ok", "Done"),
    "cancelled": ("waiting", "Cancelled"),
    "interrupted": ("warning", "Interrupted"),
    "stopped": ("failed", "Stopped"),
}
ITEM_STATE = {
    "pending": ("waiting", "Pending"),
    "in_flight": ("running", "Being sent"),
    "ok": ("ok", "Stored"),
    "failed": ("failed", "Failed"),
    "skipped": ("waiting", "Skipped"),
}
# A disposal run's words for the same states (as the Disposal tab and `destroy` say them).
DESTROY_STATE = {
    **ITEM_STATE,
    "ok": ("ok", "Destroyed"),
    "failed": ("failed", "Not destroyed"),
    "skipped": ("waiting", "Not sent"),
}
KINDS = {"submit": "Submit", "destroy": "Disposal"}
ITEM_FIELDS = ("row", "key", "state", "attempts", "message")  # ItemsModel's columns


def outcome_words(kind: str) -> dict[str, str]:
    """How a run of `kind` names its counts: stored / failed, or destroyed / not destroyed."""
    if kind == "destroy":
        return {"ok": "destroyed", "failed": "not destroyed", "skipped": "not sent"}
    return {"ok": "stored", "failed": "failed", "skipped": "skipped"}


def tr(text: str) -> str:
    return QCoreApplication.translate("RunsTab", text)


def local_time(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment is not None else ""


def file_name(path: str | None) -> str:
    # Journals may hold paths written on Windows; PureWindowsPath splits on both separators.
    return PureWindowsPath(path).name if path else ""


T = TypeVar("T")


class _Column(Generic[T]):
    def __init__(
        self,
        title: str,
        text: Callable[[T], str],
        sort: Callable[[T], Any] | None = None,
        align: int | None = None,
        tooltip: Callable[[T], str | None] | None = None,
        status: Callable[[T], str] | None = None,
    ) -> None:
        self.title = title
        self.text = text
        self.sort = sort or text
        self.align = align
        self.tooltip = tooltip
        self.status = status


class _ListModel(QAbstractTableModel, Generic[T]):
    """Rows of T described by a tuple of columns; replaced whole by set_rows()."""

    columns: Sequence[_Column[T]] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: Sequence[T] = []

    def set_rows(self, rows: Sequence[T]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_at(self, row: int) -> T:
        return self._rows[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        column = self.columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return tr(column.title)
        if role == Qt.ItemDataRole.TextAlignmentRole and column.align is not None:
            return column.align
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        if not 0 <= index.column() < len(self.columns):
            return None
        column, row = self.columns[index.column()], self.row_at(index.row())
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(row)
        if role == SORT_ROLE:
            return column.sort(row)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return column.align
        if role == Qt.ItemDataRole.ToolTipRole and column.tooltip is not None:
            return column.tooltip(row)
        if role == Qt.ItemDataRole.DecorationRole and column.status is not None:
            return status_icon(column.status(row))
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


_COUNT_TITLES = {  # on two lines, so the numbers' columns stay narrow
    "ok": "Stored /\ndestroyed",
    "failed": "Failed /\nnot destroyed",
    "skipped": "Skipped",
    "pending": "Pending",
}


def _count(name: str) -> _Column[RunInfo]:
    return _Column(
        _COUNT_TITLES[name],
        lambda run: f"{_counts(run)[name]:,}",
        sort=lambda run: _counts(run)[name],
        align=RIGHT,
        tooltip=lambda run: _count_tip(run, name),
    )


def _count_tip(run: RunInfo, name: str) -> str:
    """ "30 destroyed" for a disposal run, "30 stored" for a submit run."""
    words = {**outcome_words(run.kind), "pending": "not sent yet"}
    return tr("{count} {what}").format(count=f"{_counts(run)[name]:,}", what=tr(words[name]))


def _counts(run: RunInfo) -> dict[str, int]:
    c = run.counts
    return {"ok": c.ok, "failed": c.failed, "skipped": c.skipped, "pending": c.remaining}


class RunsModel(_ListModel[RunInfo]):
    """Every run in the journal, newest first."""

    columns = (
        _Column("Run", lambda r: r.id, tooltip=lambda r: r.note or None),
        _Column("Kind", lambda r: tr(KINDS.get(r.kind, r.kind))),
        _Column("Profile", lambda r: r.profile),
        _Column("Input file", lambda r: file_name(r.input_path), tooltip=lambda r: r.input_path),
        _Column("Started", lambda r: local_time(r.started), sort=lambda r: r.started.timestamp()),
        _Column(
            "Ended",
            lambda r: local_time(r.ended),
            sort=lambda r: r.ended.timestamp() if r.ended else 0.0,
        ),
        _Column(
            "Status",
            lambda r: tr(RUN_STATUS.get(r.status, ("waiting", r.status))[1]),
            status=lambda r: RUN_STATUS.get(r.status, ("waiting", ""))[0],
        ),
        _count("ok"),
        _count("failed"),
        _count("skipped"),
        _count("pending"),
    )

    def run_ids(self) -> list[str]:
        return [run.id for run in self._rows]


class ItemsModel(_ListModel[Item]):
    """The records of one run, in the order they were sent; `kind` is the run's
    ("destroy": the states read Destroyed / Not destroyed / Not sent)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.kind = "submit"
        self._sort = (0, False)  # column, descending
        self._order: array[int] | None = None
        self.columns = (
            _Column(
                "Row",
                lambda i: str(i.row) if i.row is not None else "",
                sort=lambda i: i.row if i.row is not None else -1,
                align=RIGHT,
            ),
            _Column("Row key", lambda i: i.key),
            _Column(
                "State",
                lambda i: tr(self.states().get(i.state, ("waiting", i.state))[1]),
                status=lambda i: self.states().get(i.state, ("waiting", ""))[0],
            ),
            _Column("Attempts", lambda i: str(i.attempts), sort=lambda i: i.attempts, align=RIGHT),
            _Column("Message", lambda i: i.message, tooltip=lambda i: i.message or None),
        )

    def set_run(self, kind: str, rows: Sequence[Item]) -> None:
        """The records of a run of `kind` ("submit" or "destroy")."""
        self.kind = kind
        self.set_rows(rows)

    # A run may hold a million records: they are kept as given (usecases.runs.ItemRows
    # makes an Item only when one is asked for) and sorted here, on whole columns, where a
    # QSortFilterProxyModel would ask data() for each record many times (100k took 9 s).
    def set_rows(self, rows: Sequence[Item]) -> None:
        self.beginResetModel()
        self._rows = rows  # read, never changed: not copied
        self._order = self._sorted_order()
        self.endResetModel()

    def row_at(self, row: int) -> Item:
        return self._rows[self._order[row] if self._order is not None else row]

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.columns):
            return
        self._sort = (column, order == Qt.SortOrder.DescendingOrder)
        self.beginResetModel()
        self._order = self._sorted_order()
        self.endResetModel()

    def _sorted_order(self) -> array[int] | None:
        """The items' places in the chosen order; None for the order they were sent."""
        column, descending = self._sort
        field = ITEM_FIELDS[column]
        if (field == "row" and not descending) or not self._rows:
            return None  # as sent: rows in sheet order
        keys: Sequence[Any]
        whole = getattr(self._rows, "column", None)
        if whole is not None:  # ItemRows: the field of all items at once
            keys = whole(field)
            if field == "state":
                words = {state: tr(text) for state, (_, text) in self.states().items()}
                keys = [words.get(state, state) for state in keys]
        else:
            keys = [self.columns[column].sort(item) for item in self._rows]
        places = sorted(range(len(keys)), key=keys.__getitem__, reverse=descending)
        return array("q", places)

    def states(self) -> dict[str, tuple[str, str]]:
        return DESTROY_STATE if self.kind == "destroy" else ITEM_STATE
