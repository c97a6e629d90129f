"""The names the disposal list shows and pages by, apart from the machinery that reads
it (jobs.due): the window builds its Disposal tab from these at start and loads the rest
when the tab is first used."""

from __future__ import annotations

MAX_PER_PAGE = 100
DUE_DATE = "disposalDueDate"
DUE_DATE_HEADER = "Disposal due date"
NAME, CLASSIFICATION = "leafName", "termFullPath"
