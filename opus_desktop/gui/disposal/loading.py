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
from opus_desktop.jobs.due import MAX_PER_PAGE, DisposalItem, DueBatch, DueList
from opus_desktop.usecases.disposing import (
    LoadRequest,
    SignedOff,
    export_due,
    load_due,
    read_signed_off,
)

SHEET_FILTER = "Excel workbook (*.xlsx);;CSV file (*.csv)"
SIGNED_OFF_FILTER = f"Sheets ({SHEET_PATTERNS});;All files (*)"
KEYS_LISTED = 30  # in the message box; its details hold them all


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
        """Tick exactly the row keys of a signed-off sheet (its "Row key" column) and list
        the keys that are not due; the pages still to load are loaded first, so that
        every due record is known."""
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

        def go(password: str | None) -> None:
            if generation != self._generation:
                return
            rest = self._request(start, None, password) if rest_needed else None
            connections, emit = tab.connections, self.page.emit
            task = Task(
                lambda state: read_signed_off(
                    connections, target, rest, state, lambda b: emit((generation, b))
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
        listed = set(model.row_keys())
        ticked = model.set_only_checked(selection.keys)
        missing = [item for item in selection.items if item.key not in listed]
        self.tab.status_message.emit(
            tr("{ticked} ticked from {name}; {missing} not in the due list.").format(
                ticked=count(ticked, tr("1 record"), tr("{0} records")),
                name=selection.path.name,
                missing=f"{len(missing):,}",
            )
        )
        if missing or selection.repeated:
            self._show_not_due(missing, selection.repeated, ticked)

    def _show_not_due(
        self, missing: list[DisposalItem], repeated: dict[str, list[int]], ticked: int
    ) -> None:
        lines = [
            item.key + (tr(" (row {row})").format(row=item.row) if item.row else "")
            for item in missing
        ]
        text = count(
            ticked,
            tr("1 of the sheet's keys is ticked."),
            tr("{0} of the sheet's keys are ticked."),
        )
        if missing:
            text += " " + count(
                len(missing),
                tr("1 is not in the list of records due before {date}, so it is not ticked"),
                tr("{0} are not in the list of records due before {date}, so they are not ticked"),
            ).format(date=local_text(self.before or self.tab.before()))
            text += tr(": not due yet, destroyed already, or not in Opus.")
            text += "\n\n" + "\n".join(lines[:KEYS_LISTED])
            if len(lines) > KEYS_LISTED:
                text += "\n" + tr("... and {n} more (see the details).").format(
                    n=f"{len(lines) - KEYS_LISTED:,}"
                )
        if repeated:
            text += "\n\n" + count(
                len(repeated),
                tr("1 key appears more than once; it counts once."),
                tr("{0} keys appear more than once; each counts once."),
            )
        box = QMessageBox(
            QMessageBox.Icon.Warning if missing else QMessageBox.Icon.Information,
            tr("Keys not in the due list") if missing else tr("Keys listed twice"),
            text,
            QMessageBox.StandardButton.Ok,
            self.widget,
        )
        box.setObjectName("not-due-keys")
        details = lines + [
            tr("{key} again in rows {rows}").format(key=key, rows=", ".join(map(str, rows)))
            for key, rows in repeated.items()
        ]
        if len(lines) > KEYS_LISTED or repeated:
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
