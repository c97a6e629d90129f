"""Unsent work restored at the next start keeps its Modified-before-Created warnings: the
draft stores values, not warnings, so the times are compared again as the rows come back."""

from __future__ import annotations

from pathlib import Path

from opus_desktop import paths
from opus_desktop.jobs.journal import Journal
from opus_desktop.usecases.drafts import encode_row, find_unsent
from opus_desktop.usecases.importing import ImportRequest, load_records
from opus_desktop.usecases.rows import ColumnSet
from tests.gui.test_editor_time_order import sheet
from tests.helpers.editor import demo_profile


def test_a_restored_draft_is_warned_of_again(tmp_path: Path) -> None:
    profile = demo_profile()
    settings = profile.value_settings()
    loaded = load_records(ImportRequest(sheet(tmp_path / "s.xlsx"), profile.template(), settings))
    key = loaded.columns.key_index
    warned = {row.values[key] for row in loaded.rows if row.order}
    assert warned == {"B"}
    with Journal(paths.journal_path()) as journal:
        journal.save_draft(
            "Demo",
            {row.seq: encode_row(row) for row in loaded.rows},
            {"columns": list(loaded.columns.names)},
        )

    found = find_unsent("Demo", ColumnSet(profile.template(), settings))

    assert {row.values[key] for row in found.rows if row.order} == {"B"}
    (back,) = [row for row in found.rows if row.values[key] == "B"]
    assert back.order is not None and back.order.startswith("The Modified time ")
