"""What the Disposal tab makes only when it is first shown or used: its connection, the
due list's loader, the destroyer and the outcome panel. They bring the disposal machinery
(usecases.disposing, jobs.disposal, the documents), which the window starts without."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QSplitter, QWidget

if TYPE_CHECKING:
    from opus_desktop.gui.disposal.destroying import Destroyer
    from opus_desktop.gui.disposal.host import DisposalHost
    from opus_desktop.gui.disposal.loading import DueLoader
    from opus_desktop.gui.disposal.outcome import OutcomePanel
    from opus_desktop.gui.disposal.pages import Pages
    from opus_desktop.usecases.disposing import Connections


class MadeWhenUsed(QWidget):
    """The Disposal tab's base: `split` is where the outcome panel goes, below the list."""

    split: QSplitter
    _connections: Connections | None
    _pages: Pages | None

    @property
    def connections(self) -> Connections:
        if self._connections is None:
            from opus_desktop.usecases.disposing import Connections

            self._connections = Connections()
        return self._connections

    def retry(self, run_id: str) -> None:
        """Send again what run `run_id` left unconfirmed (the tab's own)."""
        raise NotImplementedError

    def made(self) -> bool:
        """Whether the loader, the destroyer and the outcome panel exist yet."""
        return self._pages is not None

    def _made(self) -> Pages:
        if self._pages is None:
            from opus_desktop.gui.disposal.pages import build_pages

            self._pages = build_pages(cast("DisposalHost", self), self, self.split, self.retry)
        return self._pages

    @property
    def loader(self) -> DueLoader:
        return self._made().loader

    @property
    def destroyer(self) -> Destroyer:
        return self._made().destroyer

    @property
    def outcome(self) -> OutcomePanel:
        return self._made().outcome

    def showEvent(self, event: QShowEvent) -> None:
        self._made()
        super().showEvent(event)
