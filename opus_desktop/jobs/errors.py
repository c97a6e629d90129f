"""Errors of the jobs layer: runs, the journal and the audit log.

JobError (AppError)                                                          (exit 2)
 +-- RunNotFound        no run has that id (or no run exists yet, for "last")
 +-- RunInProgress      another window or process is working on that run right now
 +-- DuplicateRowKey    the same row key twice in one run (also a ValueError)
 +-- JournalError       the journal cannot be used: damaged, locked for too long,
 |                      disk full, or written by a newer version of the app
 +-- AuditError         the audit log cannot be written or read: locked for too long,
                        a damaged last entry, a file that cannot be opened

A damaged audit log is not an exception when verifying it: `AuditLog.verify()` returns a
`VerifyResult` naming the first bad entry. AuditError is raised when an entry cannot be
appended, because no disposal may go ahead without its audit entry.

Mistakes of the calling code (finishing a record that was never claimed, claiming from a
run this journal does not hold) raise ValueError or RuntimeError: they are bugs, not
something a records officer can fix.
"""

from __future__ import annotations

from opus_desktop.errors import AppError


class JobError(AppError):
    exit_code = 2


class RunNotFound(JobError):
    pass


class RunInProgress(JobError):
    pass


class DuplicateRowKey(JobError, ValueError):
    pass


class JournalError(JobError):
    pass


class AuditError(JobError):
    pass
