"""The Disposal tab's loader, destroyer and outcome panel, which bring the disposal
machinery (usecases.disposing, jobs.disposal, the documents): the tab imports this module
when it is first shown or used, so the window starts without them."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from PySide6.QtWidgets import QSplitter, QWidget

from opus_desktop.gui.disposal.destroying import Destroyer
from opus_desktop.gui.disposal.host import DisposalHost
from opus_desktop.gui.disposal.loading import DueLoader
from opus_desktop.gui.disposal.outcome import OutcomePanel


class Pages(NamedTuple):
    loader: DueLoader
    destroyer: Destroyer
    outcome: OutcomePanel


def build_pages(
    tab: DisposalHost, widget: QWidget, split: QSplitter, retry: Callable[[str], None]
) -> Pages:
    """The three for `tab` (`widget`, the same tab, parents their dialogs); the outcome panel
    goes hidden below the list in `split`, its Retry calling `retry`."""
    outcome = OutcomePanel()
    outcome.hide()
    outcome.retry_requested.connect(retry)
    outcome.close_requested.connect(outcome.hide)
    split.addWidget(outcome)
    split.setStretchFactor(1, 2)
    loader = DueLoader(tab, widget)
    return Pages(loader, Destroyer(tab, loader, outcome, widget), outcome)
