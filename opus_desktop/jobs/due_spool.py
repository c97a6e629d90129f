"""Due records kept on disk while a long due list is read for `due --out`, so that a
hundred thousand of them, or a million, are not all held in memory at once.

They are written as JSON lines as the pages come in and read back when the sign-off
sheet is written: twice, once for its columns (any the service sent beyond the
template's) and once for its rows. The file is the process's own and gone once closed
(tempfile.TemporaryFile): it holds the records' names.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Iterator
from types import TracebackType

from opus_desktop.jobs.due import DueRecord


class DueSpool:
    def __init__(self) -> None:
        # Open for the spool's life, closed by close() or the with block.
        self._file = tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n")  # noqa: SIM115
        self._count = 0

    def add(self, records: Iterable[DueRecord]) -> None:
        for record in records:
            line = [record.row_key, record.name, record.classification, record.due, record.values]
            self._file.write(json.dumps(line, ensure_ascii=False) + "\n")
            self._count += 1

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[DueRecord]:
        """The records in the order they were added; due_at is not kept (the sheet shows
        the due date as the service wrote it)."""
        self._file.flush()
        self._file.seek(0)
        try:
            for line in self._file:
                key, name, classification, due, values = json.loads(line)
                yield DueRecord(key, name, classification, due, None, values)
        finally:
            self._file.seek(0, 2)  # more may be added after a read

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> DueSpool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
