"""The due list of the Disposal tab: which date it is for, which pages are loaded, where
to go on; loading pages, importing a signed-off sheet and exporting for sign-off.

    loader = DueLoader(tab, tab)
    loader.load()          # a fresh list: its first page
    loader.load_more()     # the next page
    loader.load_all()      # every page still to load
    loader.import_sheet(path); loader.export(path, ticked)

Pages reach the model as they arrive (a queued signal from the worker), so "Load all"
fills the table while it runs and a cancel keeps what came. Every fresh list bumps a
generation number, and pages or results of an older one are dropped.

After records are destroyed with pages still to load, the service's list has moved up
under the continuation token (`stale`): the next load reads again from the first page,
as far as one page more than before, and the rows already listed are kept once.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from opus_desktop.core.sheet_kinds import SHEET_PATTERNS
from opus_desktop.gui.disposal.host import DisposalHost
from opus_desktop.gui.editor.words import count
from opus_desktop.gui.settings import LAST_FOLDER
from opus_desktop.gui.workers import Task
from opus_desktop.jobs.due import (
    DESTROYED_ALREADY,
    HELD_BACK,
    MAX_PER_PAGE,
    NOT_DUE_YET,
    UNKNOWN,
    DueBatch,
    DueList,
    LeftOut,
)
from opus_desktop.usecases.disposing import (
    LoadRequest,
    SignedOff,
    SignOffRequest,
    export_due,
    load_due,
    read_signed_off,
)

SHEET_FILTER = "Excel workbook (*.xlsx);;CSV file (*.csv)"
SIGNED_OFF_FILTER = f"Sheets ({SHEET_PATTERNS});;All files (*)"
KEYS_LISTED = 30  # in the message box; its details hold them all
# How the message box groups the keys left out, in this order.
LEFT_OUT_HEADINGS = (
    (HELD_BACK, "Held back: the retention changed after sign-off"),
    (DESTROYED_ALREADY, "Destroyed already"),
    (NOT_DUE_YET, "Not due yet"),
    (UNKNOWN, "Unknown to Opus"),
)


def tr(text: str) -> str:
    return QCoreApplication.translate("DisposalTab", text)


def local_text(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


class DueLoader(QObject):
    """Signals (worker to GUI thread): page((generation, DueBatch))."""

    page = Signal(object)

    def __init__(self, tab: DisposalHost, widget: QWidget) -> None:
        super().__init__(widget)
        self.tab = tab
        self.widget = widget  # the same tab, as the parent of the dialogs
        self.before: datetime | None = None  # the list's due-before moment (UTC); None: no list
        self.per_page = MAX_PER_PAGE
        self.pages = 0
        self.next_start: str | None = None
        self.complete = False
        self.stale = False
        self.message_box: QMessageBox | None = None
        self.signed_off: SignedOff | None = None  # the last signed-off sheet imported
        self._generation = 0
        self.page.connect(self._page_arrived)

    @property
    def listed(self) -> bool:
        return self.before is not None

    @property
    def more_to_load(self) -> bool:
        return not self.listed or self.stale or not self.complete

    def forget(self) -> None:
        """No list any more (another profile); results still on the way are dropped."""
        self._generation += 1
        self.signed_off = None
        self.before = None
        self.pages = 0
        self.next_start = None
        self.complete = False
        self.stale = False

    def shrank(self) -> None:
        """Records left the service's list (destroyed): the token may point too far."""
        if self.listed and not self.complete:
            self.stale = True

    # -- loading ---------------------------------------------------------------------------

    def load(self) -> None:
        """A fresh list: the first page of records due before the tab's date."""
        self._fresh()
        self._fetch(None, 1, tr("Loading the first page…"))

    def load_more(self) -> None:
        if not self.listed:
            self.load()
        elif self.stale:
            self._fetch(None, self.pages + 1, tr("Loading the next page…"), restart=True)
        elif not self.complete:
            self._fetch(self.next_start, 1, tr("Loading page {n}…").format(n=self.pages + 1))

    def load_all(self) -> None:
        if not self.listed:
            self._fresh()
            self._fetch(None, None, tr("Loading every page…"))
        elif self.stale:
            self._fetch(None, None, tr("Loading every page…"), restart=True)
        elif not self.complete:
            self._fetch(self.next_start, None, tr("Loading every page…"))

    def _fresh(self) -> None:
        tab = self.tab
        self.forget()
        tab.model.clear()
        tab.error = None
        self.before = tab.before(refresh=True)
        self.per_page = tab.page_size.value()

    def _request(
        self, start: str | None, max_pages: int | None, password: str | None
    ) -> LoadRequest:
        assert self.tab.profile is not None and self.before is not None
        return LoadRequest(self.tab.profile, password, self.before, self.per_page, start, max_pages)

    def _fetch(
        self, start: str | None, max_pages: int | None, label: str, restart: bool = False
    ) -> None:
        generation = self._generation

        def go(password: str | None) -> None:
            if generation != self._generation:
                return
            request = self._request(start, max_pages, password)
            connections, emit = self.tab.connections, self.page.emit
            task = Task(
                lambda state: load_due(
                    connections, request, state, lambda batch: emit((generation, batch))
                ),
                name="load due records",
            )
            self.tab.run_task(
                task,
                label,
                tr("loading"),
                lambda listing: self._loaded(generation, listing, restart),
                loading=True,
            )

        self.tab.with_password(go, tr("loading"))

    @Slot(object)
    def _page_arrived(self, tagged: tuple[int, DueBatch]) -> None:
        generation, batch = tagged
        if generation != self._generation:
            return
        first = self.tab.model.rowCount() == 0
        self.tab.model.append(batch.records)
        if first and self.tab.model.rowCount():
            self.tab.view.fit_columns()

    def _loaded(self, generation: int, listing: DueList, restart: bool) -> None:
        if generation != self._generation:
            return
        if restart:
            self.pages = listing.pages
            self.stale = False
        else:
            self.pages += listing.pages
        self.next_start = listing.next_start
        self.complete = listing.complete
        loaded = self.tab.model.rowCount()
        self.tab.status_message.emit(
            tr("{records} due before {date}{more}.").format(
                records=count(loaded, tr("1 record"), tr("{0} records")),
                date=local_text(self.before or self.tab.before()),
                more="" if self.complete else tr(" loaded so far; more pages to load"),
            )
        )
        self.tab.refresh()

    # -- sign-off sheets -----------------------------------------------------------------------

    def export(self, path: Path | None = None, ticked: bool = False) -> None:
        """Write the list (or the ticked records) to a sheet for sign-off: the sheet
        `opus-desktop due --out` writes."""
        tab = self.tab
        records = tab.model.checked_records() if ticked else tab.model.records()
        if not records:
            return
        if path is None:
            stamp = (self.before or tab.before()).astimezone().strftime("%Y-%m-%d")
            name = f"due-records-{stamp}{'-ticked' if ticked else ''}.xlsx"
            chosen, _ = QFileDialog.getSaveFileName(
                self.widget, tr("Export for sign-off"), str(self._folder() / name), SHEET_FILTER
            )
            if not chosen:
                return
            path = Path(chosen)
        target, template = path, tab.template
        partial = not ticked and self.more_to_load

        def done(rows: int) -> None:
            self._remember_folder(target)
            text = tr("{records} written to {path}.").format(
                records=count(rows, tr("1 record"), tr("{0} records")), path=target
            )
            if partial:
                text += " " + tr("More pages were not loaded: Load all first for the whole list.")
            tab.status_message.emit(text)

        tab.run_task(
            Task(lambda state: export_due(target, records, template, state), name="export"),
            tr("Writing {name}…").format(name=target.name),
            tr("exporting"),
            done,
        )

    def import_sheet(self, path: Path | None = None) -> None:
        """Tick exactly the keys of a signed-off due list that are due as signed off, and
        list the others with the reason for each (held back, destroyed already, not due
        yet, unknown to Opus); rows marked Keep are not ticked. The pages still to load
        are loaded first, so that every due record is known. A sheet that is no due list
        (no "Disposal due date" column) changes nothing: the banner says why."""
        tab = self.tab
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(
                self.widget, tr("Import a signed-off sheet"), str(self._folder()), SIGNED_OFF_FILTER
            )
            if not chosen:
                return
            path = Path(chosen)
        target = path
        if not self.listed:
            self._fresh()
        generation, restart = self._generation, self.stale
        start = None if restart else self.next_start
        rest_needed = restart or not self.complete
        listed = [] if restart else tab.model.records()

        def go(password: str | None) -> None:
            if generation != self._generation or tab.profile is None or self.before is None:
                return
            request = SignOffRequest(
                tab.profile,
                password,
                target,
                self.before,
                listed,
                self._request(start, None, password) if rest_needed else None,
                tab.audit_path,
            )
            connections, emit = tab.connections, self.page.emit
            task = Task(
                lambda state: read_signed_off(
                    connections, request, state, lambda b: emit((generation, b))
                ),
                name="import signed-off sheet",
            )
            tab.run_task(
                task,
                tr("Reading {name}…").format(name=target.name),
                tr("reading the signed-off sheet"),
                lambda result: self._signed_off(generation, result, restart),
                loading=True,
            )

        tab.with_password(go, tr("reading the signed-off sheet"))

    def _signed_off(self, generation: int, result: SignedOff, restart: bool) -> None:
        if generation != self._generation:
            return
        if result.more is not None:
            self._loaded(generation, result.more, restart)
        model = self.tab.model
        selection = result.selection
        self._remember_folder(selection.path)
        plan = result.plan
        if plan is None:  # cancelled while loading: the keys cannot be told apart yet
            self.tab.status_message.emit(
                tr("Cancelled: nothing was ticked from {name}.").format(name=selection.path.name)
            )
            return
        self.signed_off = result
        ticked = model.set_only_checked(item.key for item in plan.send)
        text = tr("{ticked} ticked from {name}; {left} left out").format(
            ticked=count(ticked, tr("1 record"), tr("{0} records")),
            name=selection.path.name,
            left=f"{len(plan.left_out):,}",
        )
        if selection.kept:
            text += tr(", {kept} marked Keep").format(kept=f"{len(selection.kept):,}")
        self.tab.status_message.emit(text + ".")
        if plan.left_out or selection.repeated or selection.kept:
            self._show_left_out(result, ticked)

    def _show_left_out(self, result: SignedOff, ticked: int) -> None:
        selection, plan = result.selection, result.plan
        assert plan is not None
        text = count(
            ticked,
            tr("1 of the sheet's keys is ticked."),
            tr("{0} of the sheet's keys are ticked."),
        )
        if selection.kept:
            text += " " + count(
                len(selection.kept),
                tr("1 is marked Keep, so it is not ticked."),
                tr("{0} are marked Keep, so they are not ticked."),
            )
        details: list[str] = []
        shown = 0
        for kind, heading in LEFT_OUT_HEADINGS:
            group = plan.of_kind(kind)
            if not group:
                continue
            details += map(_left_out_line, group)
            listed = group[: max(KEYS_LISTED - shown, 0)]
            shown += len(listed)
            text += "\n\n" + tr(heading) + f" ({len(group):,}):"
            if kind == UNKNOWN:  # one reason for them all: said once, then the keys
                text += "\n" + _unknown_reason(len(group))
                if listed:
                    text += "\n" + ", ".join(map(_key_and_row, listed))
            else:  # each its own reason: a due date, a run
                text += "".join("\n" + _left_out_line(out) for out in listed)
        if len(plan.left_out) > shown:
            text += "\n" + tr("... and {n} more (see the details).").format(
                n=f"{len(plan.left_out) - shown:,}"
            )
        if selection.repeated:
            text += "\n\n" + count(
                len(selection.repeated),
                tr("1 key appears more than once; it counts once."),
                tr("{0} keys appear more than once; each counts once."),
            )
        box = QMessageBox(
            QMessageBox.Icon.Warning if plan.left_out else QMessageBox.Icon.Information,
            tr("Keys left out") if plan.left_out else tr("Signed-off sheet"),
            text,
            QMessageBox.StandardButton.Ok,
            self.widget,
        )
        box.setObjectName("not-due-keys")
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        details += [
            tr("{key} again in rows {rows}").format(key=key, rows=", ".join(map(str, rows)))
            for key, rows in selection.repeated.items()
        ]
        if len(plan.left_out) > shown or selection.repeated:
            box.setDetailedText("\n".join(details))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(self._message_closed)
        self.message_box = box
        box.open()

    @Slot()
    def _message_closed(self) -> None:
        self.message_box = None

    def _folder(self) -> Path:
        folder = self.tab.settings.get(LAST_FOLDER)
        return Path(folder) if folder and Path(folder).is_dir() else Path.home()

    def _remember_folder(self, path: Path) -> None:
        self.tab.settings.set(LAST_FOLDER, str(Path(path).parent))


def _left_out_line(out: LeftOut) -> str:
    """ "KEY (row 3): the reason", the reason as the run's record keeps it."""
    return f"{_key_and_row(out)}: {out.reason}"


def _key_and_row(out: LeftOut) -> str:
    row = tr(" (row {row})").format(row=out.item.row) if out.item.row else ""
    return f"{out.item.key}{row}"


def _unknown_reason(n: int) -> str:
    return count(
        n,
        tr(
            "No record with this key is listed for disposal at any date, and no disposal "
            "run of this app destroyed it; check the key:"
        ),
        tr(
            "No record with these keys is listed for disposal at any date, and no disposal "
            "run of this app destroyed them; check the keys:"
        ),
    )
