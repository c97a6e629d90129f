"""Undo steps. Each holds the Row objects it touched, not their positions, so sorting or
filtering between a step and its undo changes nothing; the model does the actual work."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from PySide6.QtGui import QUndoCommand

from opus_desktop.usecases.rows import Row

# One cell as a step finds or leaves it: row, column, value, problem, text, status.
CellState = tuple[Row, int, object, "str | None", str, str]


class EditableRows(Protocol):
    """What the steps ask of the grid's model (model.py), which does the actual work."""

    def capture(
        self, edits: Sequence[tuple[Row, int, str | None]]
    ) -> tuple[list[CellState], list[CellState]]: ...

    def apply_cells(
        self, states: Sequence[CellState], hints: dict[int, int] | None = None
    ) -> None: ...

    def insert_placed(self, placed: Sequence[tuple[int, Row]]) -> None: ...

    def remove_placed(self, rows: Sequence[Row]) -> list[tuple[int, Row]]: ...


class EditCells(QUndoCommand):
    """New text in one or more cells. The states before and after are taken once, on the
    first redo, so undo and redo restore exactly what was there."""

    def __init__(
        self,
        model: EditableRows,
        edits: list[tuple[Row, int, str | None]],
        label: str,
        hints: dict[int, int] | None = None,
    ) -> None:
        super().__init__(label)
        self._model = model
        self._edits = edits
        self._hints = hints or {}  # where the rows were: checked before use
        self._before: list[CellState] = []
        self._after: list[CellState] = []

    def redo(self) -> None:
        if not self._after:
            self._before, self._after = self._model.capture(self._edits)
            self._edits = []
        self._model.apply_cells(self._after, self._hints)

    def undo(self) -> None:
        self._model.apply_cells(list(reversed(self._before)), self._hints)


class InsertRows(QUndoCommand):
    """Rows put in at one position (added, duplicated, or appended by a paste)."""

    def __init__(self, model: EditableRows, position: int, rows: list[Row], label: str) -> None:
        super().__init__(label)
        self._model = model
        self._placed = [(position + offset, row) for offset, row in enumerate(rows)]
        self._rows = rows

    def redo(self) -> None:
        self._model.insert_placed(self._placed)

    def undo(self) -> None:
        self._model.remove_placed(self._rows)


class RemoveRows(QUndoCommand):
    """Rows taken out; undo puts each back where it was."""

    def __init__(self, model: EditableRows, rows: list[Row], label: str) -> None:
        super().__init__(label)
        self._model = model
        self._rows = rows
        self._placed: list[tuple[int, Row]] = []

    def redo(self) -> None:
        self._placed = self._model.remove_placed(self._rows)

    def undo(self) -> None:
        self._model.insert_placed(self._placed)
