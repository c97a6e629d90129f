"""At start: offer back what the last session left unsent, the grid's rows and its run.

    offer = RestoreOffer(tab)      # the Records tab
    offer.look(sheet)              # find it in a worker; ask; restore, or open `sheet`

The journal is read in a worker (drafts.find_unsent): the draft's rows, their statuses
taken from the journal for a run that was being sent, and a submit run to resume (the
draft's own, else one left interrupted). The prompt says what was found; "Restore and
resume" shows the rows as they were and resumes the run through the window's submit
driver, which sends only what the journal says did not reach Opus. "Discard" drops the
kept rows; runs stay in the journal (the Runs tab resumes them).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject
from PySide6.QtWidgets import QMessageBox, QTabWidget, QWidget

from opus_desktop import paths
from opus_desktop.gui.editor.filters import RowFilter
from opus_desktop.gui.editor.words import count
from opus_desktop.gui.submit.grid import RestoreTab
from opus_desktop.gui.submit.results import ColumnNames
from opus_desktop.gui.workers import Task
from opus_desktop.usecases.drafts import Unsent, find_unsent


def tr(text: str) -> str:
    return QCoreApplication.translate("RestoreOffer", text)


def untouched(found: Unsent, sheet: Path | None) -> bool:
    """The draft is `sheet`, or the demo sheet, as it was read: never edited, never sent.
    That is no work of the user's, so nothing to offer back (the demo sheet left by a
    `--sandbox` start is none either when the next start is without it)."""
    meta = found.meta
    fresh = {str(sheet)} if sheet is not None else set()
    fresh.add(paths.demo_sheet_path())
    return (
        found.run is None
        and meta.get("edited") is False
        and not meta.get("runs")
        and meta.get("source") in fresh
    )


class RestoreOffer(QObject):
    """`tab` is the Records tab; `widget` the same tab as a widget, to parent the prompt."""

    def __init__(self, tab: RestoreTab, widget: QWidget) -> None:
        super().__init__(widget)
        self.tab = tab
        self.widget = widget
        self.prompt: QMessageBox | None = None

    def look(self, sheet: Path | None = None) -> None:
        """Look for unsent work of the tab's profile; offer it, else open `sheet`."""
        tab = self.tab
        profile, columns = tab.profile, tab.model.columns
        if profile is None:
            if sheet is not None:
                tab.open_sheet(sheet)
            return
        path = tab.drafts.journal_path
        tab.tasks.run(
            Task(lambda state: find_unsent(profile.name, columns, path), name="unsent work"),
            tr("Looking for unsent work…"),
            lambda found: self._found(found, sheet),
        )

    def restore(self, found: Unsent) -> None:
        """Show the draft's rows as they were, and resume the run left unfinished."""
        tab = self.tab
        model, columns = tab.model, tab.model.columns
        if found.rows and columns is not None and not found.unusable:
            tab.drafts.restoring()
            tab.forget_input()
            tab.set_filter(RowFilter.ALL)
            model.load(columns, found.rows, found.keys, found.meta.get("sheet"), found.counts)
            model.undo_stack.resetClean()  # unsent work, as edits are
            tab.drafts.adopt(found.meta)
            names = ColumnNames(columns)
            model.set_row_statuses(
                (
                    str(row.values[columns.key_index]),
                    row.status,
                    row.message,
                    names.find(row.message),
                )
                for row in found.failed_rows
            )
            tab.view.fit_columns()
            tab.fit_status_column()
            tab.view.go_to(0, 1)
            tab.status_message.emit(
                count(len(found.rows), tr("1 row restored."), tr("{0} rows restored."))
            )
        if found.run is not None:
            tab.resume_run(found.run.id, found.run.profile)

    # -- inside -----------------------------------------------------------------------------

    def _found(self, found: Unsent, sheet: Path | None) -> None:
        tab = self.tab
        profile = tab.profile
        if profile is None or profile.name != found.profile or tab.model.rowCount():
            return  # the profile changed, or rows came meanwhile: they win
        if found.others and not (found.rows or found.run):
            tab.status_message.emit(
                count(
                    len(found.others),
                    tr("An interrupted run can be resumed from the Runs tab."),
                    tr("{0} interrupted runs can be resumed from the Runs tab."),
                )
            )
        fresh = untouched(found, sheet)
        if fresh:
            tab.drafts.discard(found.profile)  # the same sheet as read: open it afresh
        if fresh or (not found.rows and found.run is None and not found.unusable):
            if sheet is not None:
                tab.open_sheet(sheet)
            return
        self._reveal()
        box = QMessageBox(self.widget)
        box.setObjectName("restore-prompt")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(tr("Unsent work"))
        box.setText(tr("The last session left work that has not reached Opus yet."))
        box.setInformativeText(self._text(found))
        if found.rows or found.run is not None:
            restore = box.addButton(
                tr("Restore and resume") if found.run is not None else tr("Restore"),
                QMessageBox.ButtonRole.AcceptRole,
            )
        else:  # only rows that cannot be shown: keep them for now, or let them go
            restore = box.addButton(tr("Not now"), QMessageBox.ButtonRole.RejectRole)
        restore.setObjectName("restore-button")
        box.addButton(tr("Discard"), QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(restore)

        def answered(_: int) -> None:
            self.prompt = None
            if box.clickedButton() is restore:
                self.restore(found)
                return
            tab.drafts.discard(found.profile)
            if found.run is not None:
                tab.status_message.emit(
                    tr("Run {0} stays in the Runs tab: resume it there.").format(found.run.id)
                )
            if sheet is not None:
                tab.open_sheet(sheet)

        box.finished.connect(answered)
        self.prompt = box
        box.open()

    def _reveal(self) -> None:
        """Show the tab, when it is in a tab widget (the window's Records tab)."""
        parent = self.widget.parentWidget()
        while parent is not None and not isinstance(parent, QTabWidget):
            parent = parent.parentWidget()
        if isinstance(parent, QTabWidget):
            parent.setCurrentWidget(self.widget)

    @staticmethod
    def _text(found: Unsent) -> str:
        lines: list[str] = []
        if found.rows and not found.unusable:
            source = found.meta.get("source")
            where = tr(" from {0}").format(Path(source).name) if isinstance(source, str) else ""
            when = found.updated.astimezone().strftime("%Y-%m-%d %H:%M") if found.updated else ""
            lines.append(
                "• "
                + count(len(found.rows), tr("1 row"), tr("{0} rows"))
                + where
                + tr(", kept at {0}: {1} not stored in Opus yet.").format(
                    when, f"{found.not_stored:,}"
                )
            )
        elif found.unusable:
            lines.append("• " + tr("Rows were kept, but cannot be shown: ") + found.unusable)
        run = found.run
        if run is not None:
            counts = run.counts
            # Failed and skipped named too, so the counts add up to the run's records.
            others = "".join(
                tr(", {0} {1}").format(f"{n:,}", word)
                for n, word in ((counts.failed, tr("failed")), (counts.skipped, tr("skipped")))
                if n
            )
            lines.append(
                "• "
                + tr("Run {0} ({1}): {2} of {3} records stored{4}, {5} still to send.").format(
                    run.id,
                    tr("interrupted") if run.status == "interrupted" else tr(run.status),
                    f"{counts.ok:,}",
                    f"{counts.total:,}",
                    others,
                    f"{counts.remaining:,}",
                )
            )
            lines += [
                "",
                tr(
                    "Resuming sends only the records the journal says did not reach Opus; "
                    "stored ones are never sent again."
                ),
            ]
        if found.others:
            lines.append(
                count(
                    len(found.others),
                    tr("Another interrupted run is in the Runs tab."),
                    tr("{0} other interrupted runs are in the Runs tab."),
                )
            )
        lines += ["", tr("Discard drops the kept rows; runs stay in the Runs tab.")]
        return "\n".join(lines)
