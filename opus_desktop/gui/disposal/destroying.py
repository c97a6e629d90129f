"""Marking the ticked records destroyed: the confirmation, the run, its outcome, retry.

    destroyer = Destroyer(tab, tab.loader, tab.outcome, tab)
    destroyer.confirm()          # the confirmation dialog; its OK starts the run
    destroyer.retry(run_id)      # the failed (and unsent) records of a run, again

The run is jobs.disposal's DestroyRun, through tasks.destroy / tasks.send_again, as the
`destroy` command drives it: journalled, audited, then the certificate. When the ticks
are exactly the ones a signed-off sheet gave, the run also keeps that sheet and the keys
it left out, each with its reason, as `destroy --input` does. Answers reach the outcome
panel batch by batch; when the run ends, destroyed records leave the list and every
record sent is unticked. Retrying a run with nothing left to do sends nothing and leaves
its certificate as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QWidget

from opus_desktop import paths
from opus_desktop import settings as app_settings
from opus_desktop.errors import AppError
from opus_desktop.gui.disposal.confirm_dialog import ConfirmDialog
from opus_desktop.gui.disposal.host import DisposalHost
from opus_desktop.gui.disposal.loading import DueLoader
from opus_desktop.gui.disposal.outcome import OutcomePanel
from opus_desktop.gui.settings import Option
from opus_desktop.gui.workers import Task
from opus_desktop.jobs.disposal_outcome import certificate_folder
from opus_desktop.jobs.due import DisposalItem, summarise
from opus_desktop.usecases.disposing import (
    DestroyRequest,
    DestroyResult,
    SignedOff,
    destroy,
    send_again,
)

ORGANISATION: Option[str] = Option(
    "disposal/organisation", "", "The organisation printed on certificates of destruction"
)


def tr(text: str) -> str:
    return QCoreApplication.translate("DisposalTab", text)


class Destroyer(QObject):
    """Signals (worker to GUI thread): created(str): the run's id, once journalled."""

    created = Signal(str)

    def __init__(
        self, tab: DisposalHost, loader: DueLoader, outcome: OutcomePanel, widget: QWidget
    ) -> None:
        super().__init__(widget)
        self.tab = tab
        self.loader = loader
        self.outcome = outcome
        self.widget = widget  # the same tab, as the parent of the dialog
        self.dialog: ConfirmDialog | None = None
        self.last_result: DestroyResult | None = None
        self.created.connect(self.outcome.set_run)

    def confirm(self) -> ConfirmDialog | None:
        """Open the confirmation for the ticked records (window-modal, not blocking)."""
        tab = self.tab
        records = tab.model.checked_records()
        if not records or tab.profile is None or self.loader.before is None:
            return None
        items = [record.item() for record in records]
        signed = self._signed_off(items)
        sheet = signed.selection.path if signed is not None else None
        dialog = ConfirmDialog(
            items,
            summarise(items, tab.profile.date_format),
            operator_name=app_settings.operator_name(),
            organisation=tab.settings.get(ORGANISATION),
            certificate_folder=certificate_folder(sheet) or paths.data_dir() / "certificates",
            parent=self.widget,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._confirmed(dialog))
        dialog.finished.connect(self._dialog_closed)
        self.dialog = dialog
        dialog.open()
        return dialog

    def _signed_off(self, items: Iterable[DisposalItem]) -> SignedOff | None:
        """The signed-off sheet imported last, if the ticks are exactly the keys it gave:
        then the run keeps the sheet and the keys it left out, with their reasons."""
        signed = self.loader.signed_off
        if signed is None or signed.plan is None or _keys(signed.plan.send) != _keys(items):
            return None
        return signed

    @Slot()
    def _dialog_closed(self) -> None:
        self.dialog = None

    def _confirmed(self, dialog: ConfirmDialog) -> None:
        tab = self.tab
        profile, before = tab.profile, self.loader.before
        if profile is None or before is None:
            return
        tab.settings.set(ORGANISATION, dialog.organisation())
        items = dialog.items
        fields = (
            dialog.justification(),
            dialog.operator_name(),
            before,
            dialog.organisation(),
            dialog.certificate(),
        )
        signed = self._signed_off(items)
        sheet: dict[str, Any] = {}
        if signed is not None and signed.plan is not None:
            plan = signed.plan
            items = list(plan.send)  # with their rows on the sheet
            sheet = {
                "not_sent": [out.item for out in plan.not_sent],
                "reasons": {out.item.key: out.reason for out in plan.not_sent},
                "input_path": signed.selection.path,
            }

        def go(password: str | None) -> None:
            request = DestroyRequest(profile, password, items, *fields, **sheet)
            connections, emit = tab.connections, self.created.emit
            journal, audit = tab.journal_path, tab.audit_path
            task = Task(
                lambda state: destroy(connections, request, state, emit, journal, audit),
                name="destroy",
            )
            self.outcome.start(items)
            self._start(task, tr("Marking records destroyed…"), tr("marking records destroyed"))

        tab.with_password(go, tr("marking records destroyed"))

    def retry(self, run_id: str) -> None:
        """Send a run's failed (and unsent) records again."""
        tab = self.tab
        profile = tab.profile
        if profile is None:
            return

        def go(password: str | None) -> None:
            connections = tab.connections
            journal, audit = tab.journal_path, tab.audit_path
            task = Task(
                lambda state: send_again(
                    connections,
                    profile,
                    password,
                    run_id,
                    state,
                    journal_path=journal,
                    audit_path=audit,
                ),
                name="retry destroy",
            )
            self.outcome.resume(tr("Run {id}: sending again…").format(id=run_id))
            self._start(task, tr("Sending again…"), tr("sending again"))

        tab.with_password(go, tr("sending again"))

    def _start(self, task: Task, label: str, doing: str) -> None:
        outcome = self.outcome
        outcome.show()
        task.batch.connect(outcome.apply_batch)
        task.progress.connect(outcome.show_progress)
        self.tab.run_task(task, label, doing, self._ended, failed=self._failed)

    def _ended(self, result: DestroyResult) -> None:
        tab = self.tab
        self.last_result = result
        self.loader.signed_off = None  # its ticks were acted on
        outcome = result.outcome
        self.outcome.show_result(result)
        tab.model.set_checked([record.key for record in outcome.records], False)
        if tab.model.remove_keys([record.key for record in outcome.destroyed]):
            self.loader.shrank()
        text = tr("Run {id}: {destroyed} destroyed, {failed} not destroyed.").format(
            id=outcome.run.id,
            destroyed=f"{len(outcome.destroyed):,}",
            failed=f"{len(outcome.failed):,}",
        )
        if result.finished_already:
            text += " " + tr("Nothing was left to send, so nothing was sent.")
        if result.certificate is not None:
            kept = tr(" (left as it was)") if not result.written else ""
            text += " " + tr("Certificate: {path}").format(path=result.certificate) + kept
        tab.status_message.emit(text)
        if outcome.error is not None:
            tab.show_banner(outcome.error.message)
        tab.refresh()

    def _failed(self, exc: BaseException) -> None:
        message = exc.message if isinstance(exc, AppError) else tr("Something went wrong.")
        self.outcome.show_failure(message)


def _keys(items: Iterable[DisposalItem]) -> set[str]:
    return {item.key for item in items}
