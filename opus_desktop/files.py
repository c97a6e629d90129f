"""Writing files safely: atomically, and readable by the user only."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path


def write_private(path: Path, data: bytes | str) -> None:
    """Replace `path` with `data` atomically; the file is mode 0600 on POSIX.

    Written to a temporary file in the same folder, flushed to disk, then renamed over
    the target, so a crash leaves either the old file or the new one, never half of one.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        if os.name == "posix":
            os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def os_error_sentence(exc: OSError) -> str:
    """One sentence for an OSError: what could not be done to which file, and why."""
    where = f" {exc.filename}" if exc.filename else ""
    if exc.errno == errno.ENOSPC:
        return f"Cannot write{where}: the disk is full; free some space and try again."
    if isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
        return f"Cannot write{where}: it is read-only ({exc.strerror or exc})."
    return f"Cannot use{where or ' a file'}: {exc.strerror or exc}."


def make_private(path: Path) -> None:
    """Restrict an existing file to the user (0600) on POSIX."""
    if os.name == "posix" and path.exists():
        os.chmod(path, 0o600)
