"""The Edit menu of the Records tab, in the order the main window shows it.

Shortcuts are the ones spreadsheet users know. They act only while the focus is in the
tab (undo, redo, find) or in the grid (the rest), never in another tab.
Undo and redo refuse while a task reads the rows (the grid is locked then).
"""

from __future__ import annotations

from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence

from opus_desktop.gui.editor.find import FindBar
from opus_desktop.gui.editor.model import RecordsModel
from opus_desktop.gui.editor.view import RecordsView

Keys = QKeySequence.StandardKey


def tr(text: str) -> str:
    return QCoreApplication.translate("EditActions", text)


class EditActions(QObject):
    def __init__(
        self, model: RecordsModel, view: RecordsView, find_bar: FindBar, parent: QObject
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.view = view
        stack = model.undo_stack
        self.undo = self._make(tr("&Undo"), self._undo, [Keys.Undo])
        self.redo = self._make(tr("&Redo"), self._redo, [Keys.Redo])
        self.cut = self._make(tr("Cu&t"), view.cut, [Keys.Cut])
        self.copy = self._make(tr("&Copy"), view.copy, [Keys.Copy])
        self.paste = self._make(tr("&Paste"), view.paste, [Keys.Paste])
        self.delete = self._make(tr("&Delete"), view.clear_cells, [Keys.Delete, "Backspace"])
        self.fill_down = self._make(tr("Fill &down"), view.fill_down, ["Ctrl+D"])
        self.find = self._make(tr("&Find…"), find_bar.open_bar, [Keys.Find])
        self.add_row = self._make(tr("&Add row"), view.add_row, ["Ctrl+Shift+=", "Ctrl++"])
        self.duplicate_rows = self._make(
            tr("D&uplicate rows"), view.duplicate_rows, ["Ctrl+Shift+D"]
        )
        self.delete_rows = self._make(tr("Delete &rows"), view.delete_rows, ["Ctrl+-"])
        self.delete.setStatusTip(tr("Empty the selected cells"))
        self.fill_down.setStatusTip(tr("Copy the top selected cell into the cells below it"))
        # Slots that use what the signal carries: the stack emits these while it is being
        # destroyed, when asking it anything would fail.
        stack.canUndoChanged.connect(self._can_undo)
        stack.canRedoChanged.connect(self._can_redo)
        stack.undoTextChanged.connect(self._undo_text)
        stack.redoTextChanged.connect(self._redo_text)
        self.update()

    def all(self) -> list[QAction]:
        return [
            self.undo,
            self.redo,
            self.cut,
            self.copy,
            self.paste,
            self.delete,
            self.fill_down,
            self.find,
            self.add_row,
            self.duplicate_rows,
            self.delete_rows,
        ]

    def grid_only(self) -> list[QAction]:
        """Actions on cells and rows: their keys act only while the grid has the focus,
        so Delete in the problems list or Ctrl+C in the preview do what they say there."""
        return [
            self.cut,
            self.copy,
            self.paste,
            self.delete,
            self.fill_down,
            self.add_row,
            self.duplicate_rows,
            self.delete_rows,
        ]

    def update(self) -> None:
        stack = self.model.undo_stack
        if not shiboken6.isValid(stack):
            return
        has_columns = self.model.columns is not None
        editable = has_columns and not self.model.locked
        has_rows = self.model.rowCount() > 0
        self._can_undo(stack.canUndo())
        self._can_redo(stack.canRedo())
        self._undo_text(stack.undoText())
        self._redo_text(stack.redoText())
        for action in (self.cut, self.delete, self.fill_down, self.duplicate_rows):
            action.setEnabled(editable and has_rows)
        self.delete_rows.setEnabled(editable and has_rows)
        self.copy.setEnabled(has_rows)
        self.find.setEnabled(has_rows)
        self.paste.setEnabled(editable)
        self.add_row.setEnabled(editable)

    def _make(self, text: str, slot: Callable[[], object], keys: list[Keys | str]) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(key) for key in keys])
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(lambda _=False: slot())
        return action

    def _can_undo(self, can: bool) -> None:
        self.undo.setEnabled(can and not self.model.locked)

    def _can_redo(self, can: bool) -> None:
        self.redo.setEnabled(can and not self.model.locked)

    def _undo_text(self, text: str) -> None:
        self.undo.setText(tr("&Undo {0}").format(text).strip())

    def _redo_text(self, text: str) -> None:
        self.redo.setText(tr("&Redo {0}").format(text).strip())

    def _undo(self) -> None:
        if not self.model.locked:
            self.model.undo_stack.undo()

    def _redo(self) -> None:
        if not self.model.locked:
            self.model.undo_stack.redo()
