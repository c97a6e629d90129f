"""A sheet journalled as it is read leaves repeated row keys to the journal, which
says of them what validation says, so the run's report and `validate` agree."""

from __future__ import annotations

from pathlib import Path

from opus_desktop.core.sheets import open_sheet, read_sheet
from opus_desktop.core.validation import Validator, validate
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.submit import create_submit_run
from opus_desktop.usecases.submitting import sheet_records
from tests.helpers.workbooks import demo_settings, demo_template, messy_workbook


def test_the_journal_skips_a_repeated_key_with_the_sentence_validation_gives(
    tmp_path: Path,
) -> None:
    path = messy_workbook(tmp_path / "Transfer.xlsx")
    template, settings = demo_template(), demo_settings()
    checked = validate(read_sheet(path), template, settings)
    told = next(p for p in checked.problems if p.column == "Row key")
    read = list(sheet_records(path, None, None, template, settings))
    assert all("also used" not in p.message for r in read for p in r.problems)
    with Journal(tmp_path / "journal.sqlite3") as journal:
        new = create_submit_run(journal, "Sandbox", read)
        assert (new.to_send, new.invalid) == (checked.valid_rows, checked.invalid_rows)
        messages = {item.row: item.message for item in journal.items(new.run_id)}
    assert messages[told.row] == told.message


def test_a_validator_left_without_keys_holds_none(tmp_path: Path) -> None:
    stream = open_sheet(messy_workbook(tmp_path / "m.xlsx"), None, None)
    validator = Validator(stream, demo_template(), demo_settings(), repeated_keys=False)
    records = validator.check_rows(list(stream.rows))
    assert len(records) == 10
    assert validator.first_row_of == {} and validator.duplicates == 0
