"""Submit runs in the journal: a new one made from a sheet's validation or the editor's
records, and one taken hold of to be continued (`runs resume`, `runs retry-failed`).
SubmitRun (submit.py) sends them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from opus_desktop.core.records import Record
from opus_desktop.core.validation import ValidationResult
from opus_desktop.jobs.errors import JobError
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.journal_types import RunInfo
from opus_desktop.opus.client import CONFLICT_OPTIONS


@dataclass(frozen=True)
class NewRun:
    run_id: str
    to_send: int  # valid records, pending
    invalid: int  # rows journalled as skipped, with their problems


def conflict_option(text: str) -> str:
    """ "overwrite" / "skip" in any case -> the API's "Overwrite" / "Skip"."""
    for option in CONFLICT_OPTIONS:
        if text.strip().casefold() == option.casefold():
            return option
    raise ValueError(f"unknown conflict option {text!r}")


def problem_text(record: Record) -> str:
    """A row's problems as one message: "Created time: ... Page Count: ..."."""
    return " ".join(
        f"{problem.column}: {problem.message}" if problem.column else problem.message
        for problem in record.problems
    )


CHUNK = 2000  # records journalled in one transaction when a run is read in chunks


def create_submit_run(
    journal: Journal,
    profile: str,
    result: ValidationResult | Iterable[Record],
    *,
    input_path: Path | str | None = None,
    input_hash: str | None = None,
    template_hash: str | None = None,
    mapping: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
) -> NewRun:
    """journal_submit_run() that cannot be cancelled."""
    new = journal_submit_run(
        journal,
        profile,
        result,
        input_path=input_path,
        input_hash=input_hash,
        template_hash=template_hash,
        mapping=mapping,
        options=options,
    )
    assert new is not None  # nothing cancels it
    return new


def journal_submit_run(
    journal: Journal,
    profile: str,
    result: ValidationResult | Iterable[Record],
    *,
    input_path: Path | str | None = None,
    input_hash: str | None = None,
    template_hash: str | None = None,
    mapping: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> NewRun | None:
    """Journal a new submit run from a validation kept with its records, or from records
    (the editor's, their problems with them, or a sheet's made as they are read).

    Valid records go in pending, with the exact payload to send. Invalid rows go in as
    skipped, their problems as the message, so the run's report lists them. A row with no
    row key, or one an earlier row already uses, is journalled under a stand-in key
    ("(row 41)") that no record of the run has; it is never sent.

    The records are journalled CHUNK at a time and not kept (only rows without a key of
    their own wait for the end), so a sheet of any length takes little memory. The run is
    incomplete until the last chunk is in: a crash before that leaves a run nothing of
    which can be sent. `cancelled()` is asked between chunks; if it says so the run is
    dropped and None returned.
    """
    if isinstance(result, ValidationResult):
        if result.blocked:
            raise ValueError(
                "the mapping leaves a required column without a source: nothing to send"
            )
        records: Iterable[Record] = result.records
    else:
        records = result
    run_id = journal.begin_run(
        "submit",
        profile,
        input_path=input_path,
        input_hash=input_hash,
        template_hash=template_hash,
        mapping=mapping,
        options=options,
    )
    try:
        counted = _journal_records(journal, run_id, records, cancelled or (lambda: False))
        if counted is None:
            journal.discard_run(run_id)
            return None
        journal.complete_run(run_id)
    except BaseException:
        with contextlib.suppress(Exception):  # the error itself is what the caller needs
            journal.discard_run(run_id)
        raise
    return NewRun(run_id, *counted)


def _journal_records(
    journal: Journal, run_id: str, records: Iterable[Record], cancelled: Callable[[], bool]
) -> tuple[int, int] | None:
    """(records to send, rows skipped), or None when cancelled."""
    to_send = invalid = 0
    keyless: list[tuple[int, str | None, dict[str, object], str, int | None]] = []
    for chunk in _chunks(records):
        if cancelled():
            return None
        # Only real row keys are in the journal yet: stand-ins come last.
        used = journal.known_keys(run_id, {r.row_key for r in chunk if r.row_key is not None})
        items: list[tuple[int | None, str, Mapping[str, Any]]] = []
        skipped: dict[str, str] = {}
        for record in chunk:
            key = record.row_key
            if key is None or key in used:
                earlier = used.get(key) if key is not None else None
                keyless.append((record.row, key, record.payload(), problem_text(record), earlier))
                continue
            used[key] = record.row
            items.append((record.row, key, record.payload()))
            if not record.ok:
                skipped[key] = problem_text(record) or "This row is not valid."
        journal.add_items(run_id, items, skipped)
        to_send += len(items) - len(skipped)
        invalid += len(skipped)
    for first in range(0, len(keyless), CHUNK):
        items, skipped = [], {}
        for row, key, payload, problems, earlier in keyless[first : first + CHUNK]:
            stand_in = f"(row {row})"
            while stand_in in skipped or journal.known_keys(run_id, [stand_in]):
                stand_in = f"({stand_in})"
            items.append((row, stand_in, payload))
            skipped[stand_in] = problems or _keyless(key, earlier)
        journal.add_items(run_id, items, skipped)
        invalid += len(items)
    return to_send, invalid


def _keyless(key: str | None, earlier: int | None) -> str:
    if key is None:
        return "This row has no row key."
    if earlier is None:
        return f"The row key {key} is used by an earlier row."
    return f"The row key '{key}' is also used on row {earlier}."  # as validation says it


def _chunks(records: Iterable[Record]) -> Iterator[list[Record]]:
    it = iter(records)
    while chunk := list(islice(it, CHUNK)):
        yield chunk


def take_run(journal: Journal, run: str, *, failed: bool = False) -> RunInfo:
    """Take hold of a submit run to continue it: `runs resume` (records in flight go back
    to pending) or, with `failed`, `runs retry-failed` (failed records go back to pending).
    Records stored are never sent again. Raises RunNotFound, RunInProgress, or JobError
    for a run that is not a submit run."""
    info = journal.run(run)
    if info.kind != "submit":
        raise JobError(
            f"Run {info.id} is a disposal run, not a submit run; disposals are never sent "
            "again automatically."
        )
    if failed:
        journal.retry_failed(info.id)
    else:
        journal.prepare_resume(info.id)
    return journal.run(info.id)
