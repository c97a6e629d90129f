"""Submit runs in the journal: a new one made from a sheet's validation or the editor's
records, and one taken hold of to be continued (`runs resume`, `runs retry-failed`).
SubmitRun (submit.py) sends them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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
    """Journal a new submit run from a validation kept with its records, or from records
    (the editor's, their problems with them).

    Valid records go in pending, with the exact payload to send. Invalid rows go in as
    skipped, their problems as the message, so the run's report lists them. A row with no
    row key, or one an earlier row already uses, is journalled under a stand-in key
    ("(row 41)") that no record of the run has; it is never sent.
    """
    if isinstance(result, ValidationResult):
        if result.blocked:
            raise ValueError(
                "the mapping leaves a required column without a source: nothing to send"
            )
        records: Iterable[Record] = result.records
    else:
        records = result
    items: list[tuple[int | None, str, Mapping[str, Any]]] = []
    skipped: dict[str, str] = {}
    keyless: list[Record] = []
    used: set[str] = set()
    for record in records:
        key = record.row_key
        if key is None or key in used:
            keyless.append(record)
            continue
        used.add(key)
        items.append((record.row, key, record.payload()))
        if not record.ok:
            skipped[key] = problem_text(record) or "This row is not valid."
    for record in keyless:
        stand_in = f"(row {record.row})"
        while stand_in in used:
            stand_in = f"({stand_in})"
        used.add(stand_in)
        items.append((record.row, stand_in, record.payload()))
        skipped[stand_in] = problem_text(record) or (
            "This row has no row key."
            if record.row_key is None
            else f"The row key {record.row_key} is used by an earlier row."
        )
    run_id = journal.create_run(
        "submit",
        profile,
        items,
        input_path=input_path,
        input_hash=input_hash,
        template_hash=template_hash,
        mapping=mapping,
        options=options,
        skipped=skipped,
    )
    return NewRun(run_id, len(items) - len(skipped), len(skipped))


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
