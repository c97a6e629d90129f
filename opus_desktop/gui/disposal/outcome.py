"""What became of each record of a disposal run, as it happens and after: the outcome
table, the counts, the certificate, and "Retry failed".

    panel = OutcomePanel()
    panel.start(items)                      # every record waiting to be sent
    task.batch.connect(panel.apply_batch)   # answers as they come
    panel.show_result(result)               # the run as the journal and audit log hold it
    panel.retry_requested.connect(...)      # run id

A record the service may have destroyed without the app hearing back reads "May be
destroyed — check in Opus" (its message starts with NOT_CONFIRMED): retrying it tells.

Row keys are shown whole where they fit and elided in the middle where they do not (their
ends tell keys apart), the whole key in the tooltip; Ctrl+C copies the selected rows as
Excel reads them, "Copy key" the keys alone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QUrl,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QAction,
    QDesktopServices,
    QFontDatabase,
    QFontMetrics,
    QGuiApplication,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from opus_desktop.gui.disposal.model import SORT_ROLE
from opus_desktop.gui.editor.clipboard import to_text
from opus_desktop.gui.editor.words import count
from opus_desktop.gui.icons import status_icon
from opus_desktop.gui.submit.results import duration
from opus_desktop.jobs.audit import DisposedRecord
from opus_desktop.jobs.disposal import NOT_CONFIRMED
from opus_desktop.jobs.disposal_outcome import DESTROYED, FAILED, NOT_SENT, PENDING, reason_kind
from opus_desktop.jobs.due import DisposalItem
from opus_desktop.jobs.state import BatchResult, Progress
from opus_desktop.usecases.disposing import DestroyResult

log = logging.getLogger(__name__)

Index = QModelIndex | QPersistentModelIndex
HEADERS = ("Row key", "Name", "Classification", "Due date", "Outcome")
KEY_COLUMN = 0
OUTCOME_COLUMN = 4
_KEY_WIDTH = (100, 360)  # the key column's width at least and at most, in pixels
DOUBTFUL = "doubtful"
_ORDER = {FAILED: 0, DOUBTFUL: 1, PENDING: 2, NOT_SENT: 3, DESTROYED: 4}
_ICONS = {DESTROYED: "ok", FAILED: "failed", DOUBTFUL: "warning", NOT_SENT: "waiting"}


def tr(text: str) -> str:
    return QCoreApplication.translate("OutcomePanel", text)


def open_path(path: Path) -> bool:
    """Open a file or folder with the desktop's application for it."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


def kind_of(record: DisposedRecord) -> str:
    """destroyed, failed, doubtful (may be destroyed), not sent, or pending."""
    if record.outcome == FAILED and record.message.startswith(NOT_CONFIRMED):
        return DOUBTFUL
    return record.outcome or PENDING


def outcome_text(record: DisposedRecord) -> str:
    kind = kind_of(record)
    if kind == DESTROYED:
        return tr("Destroyed")
    if kind == DOUBTFUL:
        return tr("May be destroyed — check in Opus")
    if kind == FAILED:
        # Opus's refusal in a word when it is one of the known ones (the whole message is
        # the tooltip), else its message.
        known = reason_kind(record.message)
        reason = tr(known) if known != "other" else record.message or tr("no reason given")
        return tr("Not destroyed: {reason}").format(reason=reason)
    if kind == NOT_SENT:
        return tr("Not sent: {reason}").format(reason=record.message)
    return tr("Waiting to be sent")


def retryable(record: DisposedRecord) -> bool:
    """Whether sending it again may change the answer (not for "already destroyed" or
    "not found"): the test `destroy` uses before it suggests --retry-failed."""
    if record.outcome == PENDING:
        return True
    if record.outcome != FAILED:
        return False
    return record.message.startswith(NOT_CONFIRMED) or reason_kind(record.message) not in (
        "already destroyed",
        "not found",
    )


class OutcomeModel(QAbstractTableModel):
    """The records of one disposal run with their outcomes (read-only)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._records: list[DisposedRecord] = []
        self._rows: dict[str, int] = {}
        # Keys in a fixed-pitch font, the size of the rest: 0 and O, 1 and l apart.
        self.key_font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.key_font.setPointSizeF(QGuiApplication.font().pointSizeF())

    def set_records(self, records: Sequence[DisposedRecord]) -> None:
        self.beginResetModel()
        self._records = list(records)
        self._rows = {record.key: row for row, record in enumerate(self._records)}
        self.endResetModel()

    def records(self) -> list[DisposedRecord]:
        return list(self._records)

    def record_at(self, row: int) -> DisposedRecord:
        return self._records[row]

    def apply(self, result: BatchResult) -> None:
        """One batch's answers (during a run)."""
        answers = [(key, DESTROYED, "") for key in result.ok]
        answers += [(key, FAILED, message) for key, message in result.failed.items()]
        answers += [(key, NOT_SENT, message) for key, message in result.skipped.items()]
        changed: list[int] = []
        for key, outcome, message in answers:
            row = self._rows.get(key)
            if row is not None:
                self._records[row] = replace(self._records[row], outcome=outcome, message=message)
                changed.append(row)
        if changed:
            self.dataChanged.emit(
                self.index(min(changed), 0), self.index(max(changed), len(HEADERS) - 1)
            )

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._records)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(HEADERS)
        ):
            return tr(HEADERS[section])
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._records):
            return None
        if not 0 <= index.column() < len(HEADERS):
            return None
        record = self._records[index.row()]
        column = index.column()
        if column == OUTCOME_COLUMN:
            if role == Qt.ItemDataRole.DisplayRole:
                return outcome_text(record)
            if role == SORT_ROLE:
                return _ORDER.get(kind_of(record), 5)
            if role == Qt.ItemDataRole.DecorationRole:
                return status_icon(_ICONS.get(kind_of(record), "waiting"))
            if role == Qt.ItemDataRole.ToolTipRole:
                return record.message or None
            return None
        text = (record.key, record.name, record.classification, record.due)[column]
        if role == Qt.ItemDataRole.DisplayRole:
            return text
        if role == SORT_ROLE:
            return text.casefold()
        if role == Qt.ItemDataRole.ToolTipRole:
            return text or None  # whole, where the column cuts it
        if role == Qt.ItemDataRole.FontRole and column == KEY_COLUMN:
            return self.key_font
        return None

    def row_texts(self, row: int) -> list[str]:
        """The row as shown: key, name, classification, due date and outcome."""
        record = self._records[row]
        return [record.key, record.name, record.classification, record.due, outcome_text(record)]

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


class MiddleElided(QStyledItemDelegate):
    """Text cut in the middle when the column is too narrow: "ARCHIVE/FIN…/ITEM1"."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: Index) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideMiddle


class OutcomePanel(QWidget):
    """Signals:
    retry_requested(str): send the run's failed (and unsent) records again.
    close_requested(): the user is done with this outcome.
    """

    retry_requested = Signal(str)
    close_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("disposal-outcome")
        self.run_id: str | None = None
        self.result: DestroyResult | None = None
        self.running = False
        self.message_box: QMessageBox | None = None  # the last "cannot open" notice

        self.title = QLabel()
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.title.setWordWrap(True)
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.model = OutcomeModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.view = QTableView()
        self.view.setObjectName("outcome-view")
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(OUTCOME_COLUMN, Qt.SortOrder.AscendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(self.view.fontMetrics().height() + 8)
        header = self.view.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(True)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for column, width in enumerate((_KEY_WIDTH[0], 180, 160, 130)):
            header.resizeSection(column, width)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.key_delegate = MiddleElided(self.view)
        self.view.setItemDelegateForColumn(KEY_COLUMN, self.key_delegate)
        self.copy_rows_action = QAction(tr("Copy rows"), self.view)
        self.copy_rows_action.setShortcut(QKeySequence.StandardKey.Copy)
        self.copy_rows_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.copy_rows_action.triggered.connect(self.copy_rows)
        self.copy_key_action = QAction(tr("Copy key"), self.view)
        self.copy_key_action.triggered.connect(self.copy_keys)
        self.view.addAction(self.copy_key_action)
        self.view.addAction(self.copy_rows_action)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

        self.open_button = QPushButton(tr("&Open certificate"))
        self.open_button.setObjectName("open-certificate")
        self.open_button.setAutoDefault(True)  # Enter opens it, as Space does
        self.open_button.clicked.connect(self.open_certificate)
        self.folder_button = QPushButton(tr("Show folder"))
        self.folder_button.clicked.connect(self.open_folder)
        self.retry_button = QPushButton(tr("Retry failed"))
        self.retry_button.setObjectName("retry-failed")
        self.retry_button.clicked.connect(self._retry)
        self.close_button = QPushButton(tr("Close"))
        self.close_button.setToolTip(tr("Hide this outcome; the Runs tab keeps the run."))
        self.close_button.clicked.connect(self.close_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.detail, 1)
        for button in (self.open_button, self.folder_button, self.retry_button, self.close_button):
            buttons.addWidget(button, 0, Qt.AlignmentFlag.AlignBottom)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)
        self._update_buttons()

    # -- a run under way -------------------------------------------------------------------

    def start(self, items: Sequence[DisposalItem], title: str | None = None) -> None:
        """Show every record as waiting, before the first answer."""
        self.run_id = None
        self.result = None
        self.running = True
        self.model.set_records(
            [DisposedRecord(i.key, i.name, i.classification, i.due, PENDING) for i in items]
        )
        self._fit_key_column()
        n = len(items)
        self.title.setText(
            title
            or tr("Marking {records} destroyed...").format(
                records=count(n, tr("1 record"), tr("{0} records"))
            )
        )
        self.detail.setText("")
        self._update_buttons()

    def resume(self, title: str) -> None:
        """A retry of the run shown: the same records, answers kept until new ones come."""
        self.running = True
        self.title.setText(title)
        self.detail.setText("")
        self._update_buttons()

    @Slot(str)
    def set_run(self, run_id: str) -> None:
        self.run_id = run_id

    @Slot(object)
    def apply_batch(self, result: BatchResult) -> None:
        self.model.apply(result)

    @Slot(object)
    def show_progress(self, progress: Progress) -> None:
        if not self.running:
            return
        text = tr("{done} of {total} answered").format(
            done=f"{progress.done:,}", total=f"{progress.total:,}"
        )
        if progress.failed:
            text += tr(", {n} not destroyed").format(n=f"{progress.failed:,}")
        if progress.rate:
            text += tr(" · {rate:.1f} records a second").format(rate=progress.rate)
        if progress.eta is not None and progress.remaining:
            text += tr(" · about {left} left").format(left=duration(progress.eta))
        if progress.status:
            text += f" · {progress.status}"
        self.detail.setText(text)

    # -- after it -------------------------------------------------------------------------

    def show_result(self, result: DestroyResult) -> None:
        """The run as the journal and audit log hold it, and its certificate."""
        self.running = False
        self.result = result
        outcome = result.outcome
        self.run_id = outcome.run.id
        self.model.set_records(outcome.records)
        self._fit_key_column()
        words = {"done": tr("finished"), "cancelled": tr("was cancelled"), "stopped": tr("stopped")}
        line = tr("Run {id} {how}: {destroyed} destroyed, {failed} not destroyed").format(
            id=outcome.run.id,
            how=words.get(outcome.run.status, outcome.run.status),
            destroyed=f"{len(outcome.destroyed):,}",
            failed=f"{len(outcome.failed):,}",
        )
        doubtful = sum(1 for r in outcome.failed if kind_of(r) == DOUBTFUL)
        if doubtful:
            line += tr(" ({n} may be destroyed: check in Opus or retry)").format(n=doubtful)
        if outcome.pending:
            line += tr(", {n} not sent yet").format(n=f"{len(outcome.pending):,}")
        if result.finished_already:
            line += tr(". Nothing was left to send, so nothing was sent")
        self.title.setText(line + ".")
        notes: list[str] = []
        if outcome.error is not None:
            notes.append(outcome.error.message)
        if result.certificate is not None:
            notes.append(tr("Certificate of destruction: {path}").format(path=result.certificate))
        elif result.document_error:
            notes.append(
                tr("The certificate could not be written: {why} Retry writes it again.").format(
                    why=result.document_error
                )
            )
        elif not outcome.destroyed:
            notes.append(tr("No record was destroyed, so there is no certificate."))
        if outcome.entry is not None:
            notes.append(
                tr("Audit log entry {seq}, SHA-256 {hash}").format(
                    seq=outcome.entry.seq, hash=outcome.entry.hash[:16] + "…"
                )
            )
        self.detail.setText("\n".join(notes))
        self._update_buttons()
        if self.open_button.isEnabled() and self.isVisible():
            self.open_button.setFocus(Qt.FocusReason.OtherFocusReason)  # Enter opens it

    def show_failure(self, message: str) -> None:
        """The action stopped before an outcome could be read."""
        self.running = False
        self.title.setText(tr("The disposal stopped."))
        self.detail.setText(message)
        self._update_buttons()

    def certificate(self) -> Path | None:
        return self.result.certificate if self.result is not None else None

    # -- keys ------------------------------------------------------------------------------

    def _fit_key_column(self) -> None:
        """Wide enough for the longest key, within bounds: a longer one is elided in the
        middle, and the column can be dragged wider."""
        keys = [r.key for r in self.model.records()]
        if not keys:
            return
        metrics = QFontMetrics(self.model.key_font)
        width = max(metrics.horizontalAdvance(k) for k in keys) + 16
        self.view.horizontalHeader().resizeSection(
            KEY_COLUMN, max(_KEY_WIDTH[0], min(width, _KEY_WIDTH[1]))
        )

    def selected_rows(self) -> list[int]:
        """The model rows selected, in the order the view shows them (else the current one)."""
        chosen = self.view.selectionModel().selectedRows()
        if not chosen and self.view.currentIndex().isValid():
            chosen = [self.view.currentIndex()]
        return [self.proxy.mapToSource(i).row() for i in sorted(chosen, key=lambda i: i.row())]

    @Slot()
    def copy_rows(self) -> None:
        """The selected rows to the clipboard, a tab between cells, as Excel pastes them."""
        rows = self.selected_rows()
        if rows:
            QGuiApplication.clipboard().setText(to_text([self.model.row_texts(r) for r in rows]))

    @Slot()
    def copy_keys(self) -> None:
        """The selected rows' keys to the clipboard, one a line, whole."""
        rows = self.selected_rows()
        if rows:
            keys = [self.model.record_at(r).key for r in rows]
            QGuiApplication.clipboard().setText("\n".join(keys))

    @Slot()
    def open_certificate(self) -> None:
        path = self.certificate()
        if path is not None:
            self._open(path)

    @Slot()
    def open_folder(self) -> None:
        path = self.certificate()
        if path is not None:
            self._open(path.parent)

    def _open(self, path: Path) -> None:
        if open_path(path):
            return
        box = QMessageBox(
            QMessageBox.Icon.Information,
            tr("Open certificate"),
            tr(
                "This computer has no application set to open {path}. The file is there: "
                "open it from your file manager."
            ).format(path=path),
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_box = box
        box.open()

    @Slot()
    def _retry(self) -> None:
        if self.run_id is not None and not self.running:
            self.retry_requested.emit(self.run_id)

    def _update_buttons(self) -> None:
        has_certificate = self.certificate() is not None
        for button in (self.open_button, self.folder_button):
            button.setEnabled(has_certificate and not self.running)
            button.setToolTip(
                ""
                if has_certificate
                else tr("There is no certificate yet: it is written once records are destroyed.")
            )
        records = self.model.records()
        again = [r for r in records if retryable(r)]
        pending = any(r.outcome == PENDING for r in records)
        self.retry_button.setText(
            tr("Resume")
            if pending and not any(r.outcome == FAILED for r in records)
            else tr("Retry failed")
        )
        enabled = bool(again) and self.run_id is not None and not self.running
        self.retry_button.setEnabled(enabled)
        if self.running:
            tip = tr("Wait for the run to end.")
        elif enabled:
            tip = tr("Send {records} again; Opus's answers go into the audit log.").format(
                records=count(len(again), tr("1 record"), tr("{0} records"))
            )
        elif any(r.outcome == FAILED for r in records):
            tip = tr(
                "Opus refused these for good (not found, or already destroyed): sending them "
                "again would change nothing."
            )
        else:
            tip = tr("Nothing failed.")
        self.retry_button.setToolTip(tip)
        self.close_button.setEnabled(not self.running)
