"""jobs/due.py at its edges: service items with missing or oddly named fields, templates
whose names collide or differ from the decoded ones, pages passed on as they came, cells
Excel turned into numbers and dates, and the words of times and counts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from openpyxl import Workbook

from opus_desktop.core.schema import Column, ColumnType, Template
from opus_desktop.jobs.due import (
    DisposalItem,
    DueBatch,
    DueRecord,
    due_pages,
    due_table,
    fetch_due,
    find_due,
    normalise_due,
    not_due_yet_reason,
    plan_disposal,
    read_selection,
    summarise,
)
from opus_desktop.jobs.state import RunState
from opus_desktop.opus.protocols import DuePage
from tests.helpers.formats import write_xls
from tests.unit.test_disposal import BEFORE, TEMPLATE

LEGACY_FORMAT = "M-d-yyyy h:mm:ss tt"


def column(internal: str, display: str) -> Column:
    return Column(internal, display, ColumnType.SINGLE_TEXT, False, False)


class Pages:
    """Due pages as given, recording what each call asked for."""

    def __init__(self, *pages: list[dict[str, str]]) -> None:
        self.pages = list(pages)
        self.calls: list[tuple[datetime, str | None, int]] = []

    def due_page(self, before: datetime, start: str | None = None, per_page: int = 100) -> DuePage:
        self.calls.append((before, start, per_page))
        index = int(start) if start else 0
        more = str(index + 1) if index + 1 < len(self.pages) else None
        return DuePage(self.pages[index], more, f"page {index + 1}")


# -- service items --------------------------------------------------------------------------------


def test_display_names_are_read_without_a_template() -> None:
    (record,) = normalise_due(
        [{"Row key": "K-1", "Name": "Minutes", "Classification": "Records/A", "Note": "n"}]
    )
    assert (record.row_key, record.name, record.classification) == ("K-1", "Minutes", "Records/A")
    assert record.values == {
        "rowKey": "K-1",
        "leafName": "Minutes",
        "termFullPath": "Records/A",
        "Note": "n",  # a column the app does not know keeps the service's name
    }


def test_an_internal_name_in_another_case_is_the_template_s_column() -> None:
    (record,) = normalise_due([{"ROWKEY": "K-1", "_case_%20_number": "C1"}], TEMPLATE)
    assert record.row_key == "K-1" and record.values["_Case_%20_Number"] == "C1"


def test_template_columns_named_like_built_ins_stay_apart() -> None:
    template = Template(
        None,
        "Overwrite",
        (
            column("rowKey", "Row key"),
            column("Row_Key", "Old row key"),
            column("Disposal_Due_Date", "Old due date"),
        ),
    )
    (record,) = normalise_due(
        [
            {
                "rowKey": "K-1",
                "Row_Key": "old-1",
                "Disposal_Due_Date": "2001-01-01",
                "disposalDueDate": "2025-01-01 00:00:00",
            }
        ],
        template,
    )
    assert record.row_key == "K-1" and record.due == "2025-01-01 00:00:00"
    assert record.values["Row_Key"] == "old-1"
    assert record.values["Disposal_Due_Date"] == "2001-01-01"


def test_items_without_a_key_are_left_out_and_missing_fields_are_empty() -> None:
    records = normalise_due(
        [{"leafName": "no key"}, {"rowKey": " "}, {"rowKey": "K-2"}, {"rowKey": "K-3"}]
    )
    assert [r.row_key for r in records] == ["K-2", "K-3"]
    assert (records[0].name, records[0].classification, records[0].due) == ("", "", "")
    assert records[0].due_at is None


def test_pages_pass_on_their_message_number_and_token() -> None:
    client = Pages(
        [{"rowKey": "A", "disposalDueDate": "3-1-2025 9:30:00 AM"}],
        [{"rowKey": "B", "disposalDueDate": "3-2-2025 9:30:00 PM"}],
    )
    batches = list(due_pages(client, BEFORE, 7, date_format=LEGACY_FORMAT))
    assert [(b.number, b.next_start, b.message) for b in batches] == [
        (1, "1", "page 1"),
        (2, None, "page 2"),
    ]
    assert batches[1].records[0].due_at == datetime(2025, 3, 2, 21, 30)
    assert client.calls == [(BEFORE, None, 7), (BEFORE, "1", 7)]


def test_fetch_due_hands_each_page_on_and_counts_from_nothing() -> None:
    client = Pages(
        [{"rowKey": "A", "disposalDueDate": "3-1-2025 9:30:00 AM"}, {"rowKey": "B"}],
        [{"rowKey": "B"}, {"rowKey": "C"}],
        [{"rowKey": "D"}],
    )
    seen: list[DueBatch] = []
    state = RunState()
    totals: list[int] = []
    state.on_progress(lambda progress: totals.append(progress.total))
    listing = fetch_due(
        client, BEFORE, per_page=2, state=state, date_format=LEGACY_FORMAT, on_page=seen.append
    )
    assert totals[0] == 0  # nothing known before the first page
    assert state.progress().status == "Page 3: 4 due records so far"
    assert [r.row_key for r in listing.records] == ["A", "B", "C", "D"]
    assert listing.records[0].due_at == datetime(2025, 3, 1, 9, 30)
    assert [(b.number, [r.row_key for r in b.records], b.next_start, b.message) for b in seen] == [
        (1, ["A", "B"], "1", "page 1"),
        (2, ["C"], "2", "page 2"),  # B was listed already
        (3, ["D"], None, "page 3"),
    ]
    assert [call[0] for call in client.calls] == [BEFORE] * 3


def test_fetch_due_stops_after_max_pages_with_where_to_go_on() -> None:
    client = Pages([{"rowKey": "A"}], [{"rowKey": "B"}], [{"rowKey": "C"}])
    listing = fetch_due(client, BEFORE, max_pages=1)
    assert [r.row_key for r in listing.records] == ["A"] and listing.next_start == "1"
    assert not listing.complete and listing.pages == 1
    two = fetch_due(client, BEFORE, max_pages=2, start="1")
    assert [r.row_key for r in two.records] == ["B", "C"] and two.complete


def test_find_due_asks_as_told_and_reads_the_template_s_names() -> None:
    client = Pages(
        [{"Row key": "A", "Case Number": "C1", "disposalDueDate": "3-1-2031 9:30:00 AM"}]
    )
    found = find_due(
        client, ["A"], BEFORE, per_page=3, template=TEMPLATE, date_format=LEGACY_FORMAT
    )
    assert found["A"].values["_Case_%20_Number"] == "C1"
    assert found["A"].due_at == datetime(2031, 3, 1, 9, 30)
    assert client.calls == [(BEFORE, None, 3)]


# -- the sign-off sheet ---------------------------------------------------------------------------


def test_the_table_uses_the_template_s_names_and_order() -> None:
    template = Template(
        None,
        "Overwrite",
        (
            column("_Case_%20_Number", "Case no."),
            column("rowKey", "Row key"),
            column("_Decision", "Decision"),
            column("_Disposal_%20_decision", "Disposal decision"),
        ),
    )
    record = DueRecord("K-1", "", "", "2025-01-01", None, {"_Case_%20_Number": "C1"})
    headers, rows = due_table([record], template)
    assert headers == [
        "Row key",
        "Disposal decision",  # both taken: the second, which the sheet reads first
        "Case no.",
        "Decision",
        "Disposal decision",
        "Disposal due date",
    ]
    assert list(rows) == [["K-1", "Destroy", "C1", "", "", "2025-01-01"]]


def test_numbers_and_dates_that_excel_made_of_the_cells_read_as_text(tmp_path: Path) -> None:
    book = Workbook()
    first = book.active
    assert first is not None
    first.append(["Notes", "By"])  # a sheet read first were no sheet named
    first.append(["Keep the file", "Ann"])
    sheet = book.create_sheet("Signed off")
    sheet.append(["rowKey", "leafName", "termFullPath", "disposalDueDate"])
    sheet.append([1002.0, "Numbered", "Records/A", datetime(2025, 3, 1, 9, 30)])
    sheet.append(["K-2", None, None, "2025-03-02"])
    path = tmp_path / "due.xlsx"
    book.save(path)
    selection = read_selection(path, "Signed off")
    assert selection.path == path
    assert selection.items == [
        DisposalItem("1002", "Numbered", "Records/A", "2025-03-01 09:30:00", 2),
        DisposalItem("K-2", "", "", "2025-03-02", 3),
    ]


def test_an_old_excel_file_s_numbered_keys_read_as_whole_numbers(tmp_path: Path) -> None:
    path = write_xls(
        tmp_path / "due.xls",
        {
            "Notes": [["Notes", "By"], ["Keep the file", "Ann"]],
            "Due": [
                ["Row key", "Name", "Classification", "Disposal due date"],
                [1002, "Numbered", "Records/A", "2025-03-01"],
                [12.5, "Odd", "Records/A", "2025-03-02"],
            ],
        },
    )
    selection = read_selection(path, "Due")
    assert selection.keys == ["1002", "12.5"]


def test_a_sheet_without_name_columns_gives_empty_names(tmp_path: Path) -> None:
    path = tmp_path / "due.csv"
    path.write_text("Row key,Disposal due date\nK-1,2025-01-01\n", encoding="utf-8")
    (item,) = read_selection(path).items
    assert (item.name, item.classification, item.due) == ("", "", "2025-01-01")


# -- dates ----------------------------------------------------------------------------------------


def test_the_signed_off_date_is_read_in_the_profile_s_format() -> None:
    record = DueRecord("K", "", "", "3-1-2025 9:30:15 AM", datetime(2025, 3, 1, 9, 30, 15))
    signed = [DisposalItem("K", due="3-1-2025 9:30:00 AM")]
    assert plan_disposal(signed, [record], date_format=LEGACY_FORMAT).send
    assert not plan_disposal(signed, [record]).send  # not a date in the default format


@pytest.mark.parametrize(
    ("signed", "opus"),
    [
        ("2025-03-01 09:30:15.500000", datetime(2025, 3, 1, 9, 30, 15)),
        ("2025-03-01 09:30:15", datetime(2025, 3, 1, 9, 30, 15, 500_000)),
    ],
)
def test_fractions_of_a_second_do_not_make_another_date(signed: str, opus: datetime) -> None:
    record = DueRecord("K", "", "", "as Opus wrote it", opus)
    assert plan_disposal([DisposalItem("K", due=signed)], [record]).send


@pytest.fixture
def tokyo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_moments_are_said_in_utc_or_as_written(tokyo: None) -> None:
    later = DueRecord("K", "", "", "2031-05-01", None)
    summer = datetime(2025, 6, 30, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert not_due_yet_reason(later, summer) == (
        "Not due yet: its disposal is due on 2031-05-01, after 2025-06-30 12:00 UTC."
    )
    assert not_due_yet_reason(later, datetime(2025, 6, 30, 14, 5)) == (
        "Not due yet: its disposal is due on 2031-05-01, after 2025-06-30 14:05."
    )
    blank = DueRecord("K", "", "", "", None)
    assert not_due_yet_reason(blank, None) == (
        "Not due yet: its disposal is due on a date Opus does not give."
    )
    assert datetime(2025, 1, 1, tzinfo=UTC).astimezone().utcoffset() == timedelta(hours=9)


def test_the_summary_puts_unreadable_dates_last_and_none_as_nothing() -> None:
    items = [
        DisposalItem(k, due=d) for k, d in (("A", "2025-05-01"), ("B", "soon"), ("C", "2025-01-01"))
    ]
    summary = summarise(items)
    assert (summary.earliest_due, summary.latest_due) == ("2025-01-01", "soon")
    undated = summarise([DisposalItem("A"), DisposalItem("B")])
    assert (undated.earliest_due, undated.latest_due) == ("", "")
    assert undated.count == 2 and undated.by_classification == [("(no classification)", 2)]
