"""Cell editors by column type, all checking as the user types.

DateTime: text in the profile's format with a calendar button; SingleChoice: a list of
the profile's option labels; MultipleChoice: a checklist; MultipleText: several lines
(Ctrl+Enter or Tab to finish); Taxonomy: the profile's terms with completion; Number,
PeopleOrGroup and SingleText: one line. A value the column cannot take is still
accepted, as a spreadsheet would, and marked in the grid: the editor only warns
(red frame and the sentence as tooltip) so the user knows before leaving the cell.

As in a spreadsheet, a character typed on a selected cell replaces its value (a choice
takes the first option that starts with it), while F2 or a double-click edits the value.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import (
    QAbstractItemModel,
    QCoreApplication,
    QDate,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPointF,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QKeyEvent,
    QMouseEvent,
    QStandardItem,
    QStandardItemModel,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QAbstractItemDelegate,
    QApplication,
    QCalendarWidget,
    QComboBox,
    QCompleter,
    QLineEdit,
    QListView,
    QPlainTextEdit,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from opus_desktop.core import datetimes
from opus_desktop.core.schema import ColumnType
from opus_desktop.core.values import LIST_JOINER
from opus_desktop.gui.editor import icons
from opus_desktop.gui.editor.model import STATUS_COLUMN, RecordsModel
from opus_desktop.usecases.rows import ColumnSet

AnyIndex = QModelIndex | QPersistentModelIndex
Check = Callable[[str], "str | None"]  # the problem with a text, or None
_INVALID_STYLE = "border: 2px solid #d32f2f;"
_REPLACE = "opus-replace"  # editor property: opened by a typed character
_MODIFIERS = (
    Qt.KeyboardModifier.ControlModifier
    | Qt.KeyboardModifier.AltModifier
    | Qt.KeyboardModifier.MetaModifier
)


def tr(text: str) -> str:
    return QCoreApplication.translate("Delegates", text)


def typed_character(event: QEvent) -> str:
    """The character a key press types ("" for F2, arrows, shortcuts and other events)."""
    if not isinstance(event, QKeyEvent) or event.type() != QEvent.Type.KeyPress:
        return ""
    text = event.text()
    if not text or not text.isprintable() or event.modifiers() & _MODIFIERS:
        return ""
    return text


class CheckedLine(QLineEdit):
    """A line editor that frames itself in red while its text would be refused.

    Signals: problem(str): the sentence for the current text, "" when it is fine.
    """

    problem = Signal(str)

    def __init__(self, check: Check, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._check = check
        self.textChanged.connect(self._changed)

    def _changed(self, text: str) -> None:
        problem = self._check(text) or ""
        self.setStyleSheet(_INVALID_STYLE if problem else "")
        self.setToolTip(problem)
        self.problem.emit(problem)


class ClickThrough(QObject):
    """Installed on a completer's list: a click outside the list closes it and still
    reaches what it was aimed at. The list pops up by itself as the user types, and
    Qt on X11 spends the click that closes a pop-up on closing it, so a click on
    another cell did nothing. The click is sent again, as Qt does on other systems,
    as a whole click: the real button release may already have gone by."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() != QEvent.Type.MouseButtonPress
            or not isinstance(event, QMouseEvent)
            or not isinstance(watched, QWidget)
            or not watched.isVisible()
        ):
            return False
        spot = event.globalPosition().toPoint()
        if watched.rect().contains(watched.mapFromGlobal(spot)):
            return False  # a click on the list: the completer's own
        watched.hide()
        target = QApplication.widgetAt(spot)
        window = target.window().windowHandle() if target is not None else None
        if window is not None:
            local = QPointF(window.mapFromGlobal(spot))
            for kind, buttons in (
                (QEvent.Type.MouseButtonPress, event.buttons()),
                (QEvent.Type.MouseButtonRelease, Qt.MouseButton.NoButton),
            ):
                again = QMouseEvent(
                    kind, local, QPointF(spot), event.button(), buttons, event.modifiers()
                )
                QCoreApplication.postEvent(window, again)
        return True


class DateTimeLine(CheckedLine):
    """Text in the profile's date format, with a calendar to pick the date from."""

    def __init__(self, check: Check, pattern: str, parent: QWidget | None = None) -> None:
        super().__init__(check, parent)
        self.pattern = pattern
        self.setPlaceholderText(datetimes.format_datetime(datetime(2021, 3, 14, 13, 45), pattern))
        pick = QAction(icons.calendar(), tr("Pick a date"), self)
        pick.triggered.connect(self.show_calendar)
        self.addAction(pick, QLineEdit.ActionPosition.TrailingPosition)
        # A child of the editor, so the delegate does not take the focus move as "done".
        self.calendar = QCalendarWidget(self)
        self.calendar.setWindowFlags(Qt.WindowType.Popup)
        self.calendar.setGridVisible(True)
        self.calendar.clicked.connect(self._picked)
        self.calendar.activated.connect(self._picked)

    def current(self) -> datetime | None:
        try:
            return datetimes.parse_datetime(self.text(), self.pattern)
        except ValueError:
            return None

    def show_calendar(self) -> None:
        moment = self.current() or datetime.now()
        self.calendar.setSelectedDate(QDate(moment.year, moment.month, moment.day))
        self.calendar.move(self.mapToGlobal(self.rect().bottomLeft()))
        self.calendar.show()
        self.calendar.setFocus()

    def _picked(self, date: QDate) -> None:
        moment = self.current() or datetime(2000, 1, 1)
        chosen = moment.replace(year=date.year(), month=date.month(), day=date.day())
        self.setText(datetimes.format_datetime(chosen, self.pattern))
        self.calendar.hide()
        self.setFocus()


class ChecklistEditor(QListView):
    """Options with a box each; a click anywhere on a line ticks it, Enter keeps the choice."""

    def __init__(self, labels: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # The tick boxes' frame as a QCheckBox's (see gui/app.py): on the dark palette an
        # empty box in a list had none, so the options did not look tickable.
        self.setPalette(QApplication.palette("QCheckBox"))  # type: ignore[call-overload]
        self.options = QStandardItemModel(self)
        self.line_height = self.fontMetrics().height() + 10
        for label in labels:
            item = QStandardItem(label)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            item.setSizeHint(QSize(0, self.line_height))
            self.options.appendRow(item)
        self.setModel(self.options)
        self.extra: list[str] = []  # given labels that are not options, kept as they were
        self.replace_on_key = False  # opened by typing: the first letter picks the choice

    def set_text(self, text: str) -> None:
        wanted = [part.strip() for part in text.replace("\n", ";").split(";") if part.strip()]
        known = {self.options.item(i).text().casefold(): i for i in range(self.options.rowCount())}
        self.extra = []
        for part in wanted:
            at = known.get(part.casefold())
            if at is None:
                self.extra.append(part)
            else:
                self.options.item(at).setCheckState(Qt.CheckState.Checked)

    def text(self) -> str:
        chosen = [
            self.options.item(i).text()
            for i in range(self.options.rowCount())
            if self.options.item(i).checkState() == Qt.CheckState.Checked
        ]
        return LIST_JOINER.join(chosen + self.extra)

    def replace_with(self, typed: str) -> bool:
        """Tick only the first option that starts with `typed`; False if none does."""
        wanted = typed.casefold()
        for at in range(self.options.rowCount()):
            if self.options.item(at).text().casefold().startswith(wanted):
                for other in range(self.options.rowCount()):
                    checked = Qt.CheckState.Checked if other == at else Qt.CheckState.Unchecked
                    self.options.item(other).setCheckState(checked)
                self.extra = []
                self.setCurrentIndex(self.options.index(at, 0))
                return True
        return False

    def toggle(self, row: int) -> None:
        item = self.options.item(row)
        checked = item.checkState() == Qt.CheckState.Checked
        item.setCheckState(Qt.CheckState.Unchecked if checked else Qt.CheckState.Checked)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        index = self.indexAt(event.position().toPoint())
        if index.isValid():
            self.setCurrentIndex(index)
            self.toggle(index.row())
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        typed = typed_character(event).strip()
        if self.replace_on_key and typed:
            # The key that opened the editor: it is handed on by the view after
            # the value is set, so the choice is made here.
            self.replace_on_key = False
            if self.replace_with(typed):
                return
        if event.key() == Qt.Key.Key_Space and self.currentIndex().isValid():
            self.toggle(self.currentIndex().row())
            return
        super().keyPressEvent(event)

    def wanted_height(self) -> int:
        rows = max(self.options.rowCount(), 1)
        return min(rows * self.line_height + 2 * self.frameWidth() + 4, 300)


class MultiLineEditor(QPlainTextEdit):
    """Several lines; Enter makes a new line, Ctrl+Enter (or Tab) finishes.

    Signals: done(): Ctrl+Enter was pressed.
    """

    done = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.done.emit()
            return
        super().keyPressEvent(event)


class RecordsDelegate(QStyledItemDelegate):
    """Signals: hint(str): what is wrong with the text being typed; "" once it is fine
    or the editor has closed."""

    hint = Signal(str)

    def __init__(self, records: RecordsModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.records = records
        self._typed_on: QPersistentModelIndex | None = None  # the cell a character was typed on

    def editorEvent(
        self,
        event: QEvent,
        model: QAbstractItemModel,
        option: QStyleOptionViewItem,
        index: AnyIndex,
    ) -> bool:
        # The view asks here first with whatever may open an editor (a typed character,
        # F2, a click); createEditor follows at once if it does.
        self._typed_on = QPersistentModelIndex(index) if typed_character(event) else None
        return super().editorEvent(event, model, option, index)

    def _column(self, index: AnyIndex) -> tuple[ColumnSet, int] | None:
        columns = self.records.columns
        if columns is None or index.column() == STATUS_COLUMN:
            return None
        return columns, index.column() - 1

    def createEditor(
        self, parent: QWidget, option: QStyleOptionViewItem, index: AnyIndex
    ) -> QWidget:
        replace = self._typed_on is not None and self._typed_on == QPersistentModelIndex(index)
        self._typed_on = None
        found = self._column(index)
        if found is None:
            return super().createEditor(parent, option, index)
        columns, at = found
        kind = columns.columns[at].type

        def check(text: str) -> str | None:
            return columns.convert(at, text)[1]

        editor: QWidget
        if kind is ColumnType.SINGLE_CHOICE and columns.option_labels(at):
            combo = QComboBox(parent)
            if not columns.columns[at].required:
                combo.addItem("")
            combo.addItems(columns.option_labels(at))
            editor = combo
        elif kind is ColumnType.MULTIPLE_CHOICE and columns.option_labels(at):
            editor = ChecklistEditor(columns.option_labels(at), parent)
        elif kind is ColumnType.MULTIPLE_TEXT:
            text = MultiLineEditor(parent)
            text.setTabChangesFocus(True)
            text.done.connect(lambda: self._finish(text))
            editor = text
        elif kind is ColumnType.TAXONOMY and columns.terms(at):
            combo = QComboBox(parent)
            combo.setEditable(True)
            combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
            combo.addItems(columns.terms(at))
            line = CheckedLine(check, combo)
            combo.setLineEdit(line)
            completer = QCompleter(columns.terms(at), combo)
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            completer.setFilterMode(Qt.MatchFlag.MatchContains)
            combo.setCompleter(completer)
            terms_list = completer.popup()  # made now, with the completer's filter on it
            if terms_list is not None:  # ours goes on after, so it runs first
                terms_list.installEventFilter(ClickThrough(completer))
            line.problem.connect(self.hint)
            editor = combo
        elif kind is ColumnType.DATE_TIME:
            line = DateTimeLine(check, columns.settings.date_format, parent)
            line.problem.connect(self.hint)
            editor = line
        else:
            line = CheckedLine(check, parent)
            if kind is ColumnType.NUMBER:
                line.setAlignment(Qt.AlignmentFlag.AlignRight)
            elif kind is ColumnType.PEOPLE_OR_GROUP:
                line.setPlaceholderText(tr("name@example.com; other@example.com"))
            line.problem.connect(self.hint)
            editor = line
        editor.setObjectName(f"editor-{kind.value}")
        editor.setProperty(_REPLACE, replace)
        return editor

    def setEditorData(self, editor: QWidget, index: AnyIndex) -> None:
        text = index.data(Qt.ItemDataRole.EditRole) or ""
        # Opened by a typed character: the view hands that key to the editor right after
        # this, so text editors start empty for it, and choice editors keep the value for
        # it to pick another (a list searches from its current option). Only the first
        # call: the view calls again if the cell changes while its editor is open.
        replace = editor.property(_REPLACE) is True
        editor.setProperty(_REPLACE, False)
        typed_over = "" if replace else text
        if isinstance(editor, ChecklistEditor):
            editor.set_text(text)
            editor.replace_on_key = replace
        elif isinstance(editor, QPlainTextEdit):
            editor.setPlainText(typed_over)
            editor.moveCursor(QTextCursor.MoveOperation.End)  # F2 adds to the text
        elif isinstance(editor, QComboBox) and editor.isEditable():
            editor.setEditText(typed_over)
        elif isinstance(editor, QComboBox):
            at = editor.findText(text, Qt.MatchFlag.MatchFixedString)
            if at < 0 and text:
                # A value that is not an option stays, marked, until another is chosen.
                editor.insertItem(0, icons.problem(), text)
                at = 0
            editor.setCurrentIndex(max(at, 0))
        elif isinstance(editor, QLineEdit):
            editor.setText(typed_over)
        else:
            super().setEditorData(editor, index)

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: AnyIndex) -> None:
        if isinstance(editor, ChecklistEditor):
            text = editor.text()
        elif isinstance(editor, QPlainTextEdit):
            text = editor.toPlainText()
        elif isinstance(editor, QComboBox):
            text = editor.currentText()
        elif isinstance(editor, QLineEdit):
            text = editor.text()
        else:
            super().setModelData(editor, model, index)
            return
        model.setData(index, text, Qt.ItemDataRole.EditRole)
        self.hint.emit("")

    def destroyEditor(self, editor: QWidget, index: AnyIndex) -> None:
        # However the editor closes (Enter, Escape, another cell), its hint goes with it.
        self.hint.emit("")
        super().destroyEditor(editor, index)

    def updateEditorGeometry(
        self, editor: QWidget, option: QStyleOptionViewItem, index: AnyIndex
    ) -> None:
        rect = QRect(option.rect)
        if isinstance(editor, ChecklistEditor):
            rect.setWidth(max(rect.width(), 240))
            rect.setHeight(editor.wanted_height())
        elif isinstance(editor, QPlainTextEdit):
            rect.setWidth(max(rect.width(), 320))
            rect.setHeight(max(rect.height() * 5, 110))
        elif isinstance(editor, QComboBox | DateTimeLine):
            rect.setWidth(max(rect.width(), 200))
        # A widened editor near the right or bottom edge moves in rather than being cut.
        parent = editor.parentWidget()
        area = parent.rect() if parent is not None else rect
        if rect.right() > area.right():
            rect.moveRight(max(area.right(), rect.width() - 1))
        if rect.bottom() > area.bottom():
            rect.moveBottom(max(area.bottom(), rect.height() - 1))
        editor.setGeometry(rect)

    def _finish(self, editor: QWidget) -> None:
        self.commitData.emit(editor)
        self.closeEditor.emit(editor, QAbstractItemDelegate.EndEditHint.NoHint)
