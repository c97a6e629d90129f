"""`due --out` with many due records: the pages go to a spool on disk, not a list, and the
sheet written from the spool is the one written from the records themselves."""

from __future__ import annotations

import csv
from pathlib import Path

from opus_desktop.jobs.due import DueRecord, due_table, fetch_due, normalise_due
from opus_desktop.jobs.due_spool import DueSpool
from opus_desktop.jobs.state import RunState
from opus_desktop.usecases.disposing import export_due
from tests.unit.test_disposal import BEFORE, TEMPLATE, FakeOpus, Repeating, key


def test_the_spool_gives_back_what_it_was_given_each_time_it_is_read() -> None:
    records = normalise_due([FakeOpus(5).item(key(n)) for n in range(5)], TEMPLATE)
    records[2].values["_Extra"] = 'Ünïcode, "quoted"\nand a new line'
    with DueSpool() as spool:
        spool.add(records[:3])
        assert [r.row_key for r in spool] == [key(0), key(1), key(2)]
        spool.add(records[3:])  # added after a read: kept at the end
        assert len(spool) == 5
        again = list(spool)
        assert list(spool) == again  # read twice, the same
    expected = [
        DueRecord(r.row_key, r.name, r.classification, r.due, None, r.values) for r in records
    ]
    assert again == expected


def test_a_list_not_kept_is_handed_out_page_by_page_with_repeats_left_out() -> None:
    handed: list[str] = []
    state = RunState()
    listing = fetch_due(
        Repeating(3),
        BEFORE,
        per_page=2,
        state=state,
        on_page=lambda batch: handed.extend(r.row_key for r in batch.records),
        keep=False,
    )
    assert listing.records == [] and listing.complete and listing.pages == 2
    assert handed == [key(0), key(1), key(2)]
    assert state.progress().done == 3 and state.progress().status == "Page 2: 3 due records so far"


def test_the_sheet_from_a_spool_is_the_sheet_from_the_records(tmp_path: Path) -> None:
    items = [FakeOpus(30).item(key(n)) for n in range(30)]
    items[7]["_Only_%20_Here"] = "a column the template does not name"
    records = normalise_due(items, TEMPLATE)
    with DueSpool() as spool:
        spool.add(records)
        from_spool = export_due(tmp_path / "spool.csv", spool, TEMPLATE, RunState())
    from_list = export_due(tmp_path / "list.csv", records, TEMPLATE, RunState())
    assert from_spool == from_list == 30
    read = [
        list(csv.reader((tmp_path / name).read_text(encoding="utf-8-sig").splitlines()))
        for name in ("spool.csv", "list.csv")
    ]
    assert read[0] == read[1]
    assert "Only Here" in read[0][0]  # the extra column, found in the first of the two reads
    headers, rows = due_table(records, TEMPLATE)
    assert read[0][0] == headers and len(list(rows)) == 30
