"""Exclusive locks on files, released by the operating system when their process dies.

Used for three things: to know whether a run is still being worked on (its owner holds
the run's lock file; a crashed or killed owner holds nothing, whatever its process id
has since become), to keep two processes from appending to the audit log at once, and to
keep one sheet from being sent twice at the same time with the same profile (SheetLock).

POSIX uses flock(), which belongs to the open file rather than the process, so two
locks in one process on the same path exclude each other just as two processes do.
Windows uses msvcrt.locking() on the file's first byte, which is per handle too.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import time
from pathlib import Path

from opus_desktop.jobs.errors import RunInProgress

if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class FileLock:
    """An exclusive lock on `path` (created with mode 0600 if missing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, timeout: float | None = None, poll: float = 0.02) -> bool:
        """Take the lock; wait at most `timeout` seconds (None: forever, 0: try once)."""
        if self._fd is not None:
            raise RuntimeError(f"the lock {self.path} is already held by this object")
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            fd = self._try_once()
            if fd is not None:
                self._fd = fd
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(poll)

    def release(self, remove: bool = False) -> None:
        """Let go of the lock; with `remove`, delete the file first (while still holding it)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if remove:
                # Windows refuses to delete an open file: the empty file simply stays.
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
            _unlock(fd)
        finally:
            os.close(fd)

    def _try_once(self) -> int | None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if not _try_lock(fd):
                os.close(fd)
                return None
            # The previous holder may have deleted the file between our open() and our lock:
            # we would then hold a lock on a file nobody else can see. Check it is still there.
            try:
                current = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                current = False
            if not current:
                _unlock(fd)
                os.close(fd)
                return None
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
        return fd

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class SheetInUse(RunInProgress):
    """Another run sends the same sheet with the same profile right now; `run_id` is that
    run's id when it has said it ("" in the moment before it has)."""

    def __init__(self, message: str, run_id: str = "") -> None:
        super().__init__(message)
        self.run_id = run_id


class SheetLock:
    """Held by the process sending a sheet (known by its SHA-256) with a profile, for as
    long as the run sends; the operating system lets go of it when that process ends,
    however it ends. The holder notes its run's id in the file, for the one refused.

    On Windows the lock covers the file's first byte, which nobody else may read, so the
    note starts at the second byte (everywhere, to keep one layout).
    """

    def __init__(self, folder: Path, profile: str, sheet_sha256: str) -> None:
        name = hashlib.sha256(f"{profile}\n{sheet_sha256}".encode()).hexdigest()[:32]
        self.path = folder / f"sheet-{name}.lock"
        self._lock = FileLock(self.path)

    @property
    def held(self) -> bool:
        return self._lock.held

    def take(self) -> bool:
        """Take the lock if nobody holds it; never waits."""
        return self._lock.acquire(timeout=0)

    def note(self, run_id: str) -> None:
        """Write the holder's run id for a refused process to name."""
        fd = self._lock._fd
        if fd is None:
            raise RuntimeError(f"the lock {self.path} is not held")
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, b"\n" + run_id.encode("utf-8"))
        os.ftruncate(fd, 1 + len(run_id.encode("utf-8")))

    def holder(self) -> str:
        """The run id its holder noted, or "" when none is to be read."""
        try:
            with open(self.path, "rb") as file:
                file.seek(1)
                return file.read(200).decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def release(self) -> None:
        self._lock.release(remove=True)
