"""What the due list's loader and the destroyer ask of the Disposal tab (tab.py), as
protocols: they are handed the tab but never import it, so the tab that builds them is
the only module that knows all three."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import SignalInstance
from PySide6.QtWidgets import QSpinBox

from opus_desktop.core.schema import Template
from opus_desktop.gui.disposal.model import DueModel
from opus_desktop.gui.disposal.view import DueView
from opus_desktop.gui.settings import GuiSettings
from opus_desktop.gui.workers import Task
from opus_desktop.profiles import Profile

if TYPE_CHECKING:  # the disposal machinery loads when the tab is first used
    from opus_desktop.usecases.disposing import Connections


class DisposalHost(Protocol):
    """The Disposal tab, as the loader and the destroyer see it."""

    error: str | None  # the last failure, shown while nothing is listed

    @property
    def profile(self) -> Profile | None: ...

    @property
    def template(self) -> Template | None: ...

    @property
    def model(self) -> DueModel: ...

    @property
    def view(self) -> DueView: ...

    @property
    def page_size(self) -> QSpinBox: ...

    @property
    def settings(self) -> GuiSettings: ...

    @property
    def connections(self) -> Connections: ...

    @property
    def journal_path(self) -> Path | None: ...

    @property
    def audit_path(self) -> Path | None: ...

    @property
    def status_message(self) -> SignalInstance: ...

    def before(self, refresh: bool = False) -> datetime: ...

    def refresh(self) -> None: ...

    def show_banner(self, text: str | None) -> None: ...

    def run_task(
        self,
        task: Task,
        label: str,
        doing: str,
        on_result: Callable[[Any], None],
        failed: Callable[[BaseException], None] | None = None,
        loading: bool = False,
    ) -> None: ...

    def with_password(self, then: Callable[[str | None], None], doing: str) -> None: ...
