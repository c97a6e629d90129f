"""The status bar's sentence about a run of the grid's rows follows it to the end: once the
run is over it no longer says "Run … started" (a short run ends within the seconds that
sentence stays), it says how the run finished."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from opus_desktop.gui.editor.tab import RecordsTab
from opus_desktop.sandbox import Sandbox
from tests.gui.test_submit_panel import (  # noqa: F401  (fixtures)
    open_rows,
    quick_retries,
    run_and_wait,
    sandbox_profile_for,
    tab,
)
from tests.helpers.editor import DEMO_SHEET


def test_the_last_status_sentence_of_a_run_says_how_it_ended(
    qtbot: QtBot,
    tab: RecordsTab,  # noqa: F811
    sandbox: Sandbox,
) -> None:
    open_rows(qtbot, tab, sandbox_profile_for(sandbox), DEMO_SHEET)
    said: list[str] = []
    tab.status_message.connect(said.append)
    tab.submit_panel.valid_only.setChecked(True)

    end = run_and_wait(qtbot, tab, tab.submit_panel.submit)

    assert end.summary is not None
    run_id, counts = end.summary.run_id, end.summary.counts
    assert f"Run {run_id} started" in said
    assert said[-1] == (
        f"Run {run_id} finished: {counts.ok} stored, {counts.failed} failed, "
        f"{counts.skipped} skipped."
    )
