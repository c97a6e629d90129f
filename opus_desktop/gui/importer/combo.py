"""A combo box of fixed choices as the editor of a table column (the import dialog's
headers and option labels), and Enter in such tables."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QAbstractItemModel, QEvent, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

AnyIndex = QModelIndex | QPersistentModelIndex
ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


def enter_edits(event: QKeyEvent, views: tuple[QAbstractItemView, ...]) -> bool:
    """Enter with the focus in one of `views` edits its current cell: it opens the
    editor, or (an editor open) leaves the commit to its delegate. True when it did, so
    that the dialog does not press its default button as well."""
    if event.key() not in ENTER or event.type() != QEvent.Type.KeyPress:
        return False
    focus = QApplication.focusWidget()
    for view in views:
        if focus is not None and (focus is view or view.isAncestorOf(focus)):
            if view.state() != QAbstractItemView.State.EditingState:
                view.edit(view.currentIndex())
            event.accept()
            return True
    return False


class ComboDelegate(QStyledItemDelegate):
    """A combo box of fixed choices for one column; `choices()` is asked each time."""

    def __init__(
        self, choices: Callable[[], list[tuple[str, str]]], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.choices = choices  # (shown text, stored text) pairs

    def createEditor(
        self, parent: QWidget, option: QStyleOptionViewItem, index: AnyIndex
    ) -> QWidget:
        combo = QComboBox(parent)
        for shown, stored in self.choices():
            combo.addItem(shown, stored)
        combo.activated.connect(lambda _: self.commitData.emit(combo))
        return combo

    def setEditorData(self, editor: QWidget, index: AnyIndex) -> None:
        assert isinstance(editor, QComboBox)
        at = editor.findData(index.data(Qt.ItemDataRole.EditRole) or "")
        editor.setCurrentIndex(max(at, 0))

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: AnyIndex) -> None:
        assert isinstance(editor, QComboBox)
        model.setData(index, editor.currentData(), Qt.ItemDataRole.EditRole)
