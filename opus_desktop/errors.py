"""The root of every exception the app raises on purpose.

AppError
 +-- core.errors.CoreError          bad input: templates, values, sheets, mappings   (exit 2)
 +-- opus.errors.OpusError          the service: certificate, sign-in, replies       (exit 3/4)
 +-- jobs.errors.JobError           runs and the journal                             (exit 2)
 +-- profiles.ProfileError          a profile that is missing or incomplete          (exit 2)

Each carries a message a records officer can read as it is, and the CLI exit code
that goes with it, so the CLI and the GUI turn every error into words in one place.
"""

from __future__ import annotations


class AppError(Exception):
    """An expected failure with a message meant for the user."""

    exit_code: int = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
