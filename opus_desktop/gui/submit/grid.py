"""What the submit panel and the restore offer ask of the Records tab (gui/editor/tab.py),
as protocols: they are handed the tab, but never import it, so neither module depends on
the tab that builds them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import SignalInstance

from opus_desktop.gui.editor.drafts import DraftKeeper
from opus_desktop.gui.editor.filters import RowFilter
from opus_desktop.gui.editor.model import RecordsModel
from opus_desktop.gui.editor.progress import TaskStrip
from opus_desktop.gui.editor.view import RecordsView
from opus_desktop.profiles import Profile
from opus_desktop.usecases.rows import Row


class GridTab(Protocol):
    """The Records tab, as the submit panel sees it."""

    @property
    def profile(self) -> Profile | None: ...

    @property
    def model(self) -> RecordsModel: ...

    @property
    def view(self) -> RecordsView: ...

    @property
    def drafts(self) -> DraftKeeper: ...

    @property
    def tasks(self) -> TaskStrip: ...

    @property
    def closing(self) -> bool: ...

    @property
    def status_message(self) -> SignalInstance: ...

    def set_sending(self, sending: bool) -> None: ...

    def input_info(self) -> tuple[Path | None, int | None, bool, dict[str, Any] | None]: ...

    def jump_to(self, row: Row, at: int) -> None: ...

    def set_filter(self, mode: RowFilter) -> None: ...


class RestoreTab(GridTab, Protocol):
    """The Records tab, as the offer to restore last session's unsent rows sees it."""

    def forget_input(self) -> None: ...  # a draft replaces the grid: no input file now

    def open_sheet(self, path: Path | None = None) -> None: ...

    def fit_status_column(self) -> None: ...

    def resume_run(self, run_id: str, profile_name: str) -> bool: ...
