"""The summary of a run of the grid's rows: one paragraph for the panel and a dialog.

text = outcome_text(end, start)     # "Run 3f2a9c1d finished: 200 stored, 0 failed, ..."
line = counts_text(end)             # its first sentence, for the status bar
summary_box(parent, end, text).open()
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from opus_desktop.errors import AppError
from opus_desktop.gui.editor.words import count
from opus_desktop.gui.submit.driver import RunEnd
from opus_desktop.gui.submit.results import duration
from opus_desktop.usecases.submitting import RunStart


def tr(text: str) -> str:
    return QCoreApplication.translate("SubmitPanel", text)


def outcome_text(end: RunEnd, start: RunStart | None) -> str:
    """What became of the run: stored, failed and skipped; what this session sent, how
    fast; and what to do next (fix failures, resume what is left)."""
    if end.counted is not None:
        text = tr("Dry run: {0} would be sent in {1}").format(
            count(end.counted.records, tr("1 record"), tr("{0} records")),
            count(end.counted.calls, tr("1 call"), tr("{0} calls")),
        )
        if end.counted.invalid:
            text += tr("; {0} would be skipped").format(
                count(end.counted.invalid, tr("1 invalid row"), tr("{0} invalid rows"))
            )
        return text + tr(". Nothing was sent.")
    summary = end.summary
    if summary is None:
        if end.error is None:
            return tr("Nothing was sent.")
        said = end.error.message if isinstance(end.error, AppError) else str(end.error)
        return tr("The run could not start: {0}").format(said)
    counts = summary.counts
    done_now = counts.done - (start.done_before if start is not None else 0)
    rate = done_now / summary.elapsed if summary.elapsed > 0 else 0.0
    text = counts_text(end)
    sent = count(done_now, tr("1 record"), tr("{0} records"))
    text += " " + tr("This time: {0} in {1} ({2} records/s).").format(
        sent, duration(summary.elapsed), f"{rate:,.1f}"
    )
    if counts.failed:
        text += " " + tr("Failed rows show the service's reason: fix them, then submit again.")
    if counts.remaining:
        text += " " + tr("{0} not sent yet: Resume sends them.").format(f"{counts.remaining:,}")
    if summary.error is not None:
        text += "\n" + summary.error.message
    return text


def counts_text(end: RunEnd) -> str:
    """ "Run 3f2a9c1d finished: 200 stored, 0 failed, 0 skipped.", or "" for a run that
    has no summary (a dry run, one that could not start)."""
    summary = end.summary
    if summary is None or end.counted is not None:
        return ""
    counts = summary.counts
    words = {
        "done": tr("Run {0} finished"),
        "cancelled": tr("Run {0} cancelled"),
        "stopped": tr("Run {0} stopped"),
    }[summary.status].format(summary.run_id)
    return tr("{0}: {1} stored, {2} failed, {3} skipped.").format(
        words, f"{counts.ok:,}", f"{counts.failed:,}", f"{counts.skipped:,}"
    )


def summary_box(parent: QWidget, end: RunEnd, text: str) -> QMessageBox:
    """The dialog at the end of a run (deleted when closed); the caller opens it."""
    box = QMessageBox(parent)
    box.setObjectName("submit-summary")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    if end.counted is not None:
        box.setWindowTitle(tr("Dry run"))
        box.setIcon(QMessageBox.Icon.Information)
    elif end.summary is None or end.summary.status != "done" or end.summary.counts.failed:
        box.setWindowTitle(tr("Run ended"))
        box.setIcon(QMessageBox.Icon.Warning)
    else:
        box.setWindowTitle(tr("Run finished"))
        box.setIcon(QMessageBox.Icon.Information)
    box.setText(text)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    return box
