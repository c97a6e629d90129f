"""Exclusive locks on files, released by the operating system when their process dies.

Used for two things: to know whether a run is still being worked on (its owner holds
the run's lock file; a crashed or killed owner holds nothing, whatever its process id
has since become), and to keep two processes from appending to the audit log at once.

POSIX uses flock(), which belongs to the open file rather than the process, so two
locks in one process on the same path exclude each other just as two processes do.
Windows uses msvcrt.locking() on the file's first byte, which is per handle too.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

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
