"""A combo box of fixed choices as the editor of a table column (the import dialog's
headers and option labels)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QComboBox, QStyledItemDelegate, QStyleOptionViewItem, QWidget

AnyIndex = QModelIndex | QPersistentModelIndex


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
