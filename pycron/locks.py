"""Exclusive locks on files, with `flock`.

A lock is held through an open file, so the kernel frees it when its holder
dies: no stale lock outlives a `kill -9`. Two `LockFile`s of one path exclude
each other even in one process (each opens the file for itself), as two
processes do, so that two runs of a job in the daemon's threads keep apart
as a run of `run-now` and one of the daemon do. The lock files themselves stay
in place: a waiter and a holder must lock the same file, not a new one made
after a removal.

This is all pycron needs of a lock, with nothing loaded but the standard
library's `fcntl`: the daemon takes its state directory's lock and each job's
at every run.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from types import TracebackType

# What flock says of a lock another holder has (EACCES on some file systems).
_HELD_ELSEWHERE = frozenset((errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES))


class LockFile:
    """An exclusive lock on the file at `path`, made (with `mode`, less the
    umask) if missing. `acquire` takes it, `release` gives it back; as a
    context manager it waits for as long as it takes. Not reentrant: one
    `acquire` per `release`."""

    def __init__(self, path: Path | str, mode: int = 0o666) -> None:
        self.path = os.fspath(path)
        self.mode = mode
        self._fd: int | None = None

    def acquire(
        self,
        timeout: float = -1,
        *,
        poll_interval: float = 0.05,
        cancel: Callable[[], bool] | None = None,
    ) -> bool:
        """Take the lock within `timeout` seconds (0: only if it is free now;
        negative: until taken, or until `cancel()` says to give up, which it
        is asked between tries). Returns whether it is held. An error of the
        file (it cannot be made or opened) is an OSError."""
        assert self._fd is None, f"{self.path} is locked already by this LockFile"
        deadline = None if timeout < 0 else time.monotonic() + timeout
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, self.mode)
        taken = False
        try:
            taken = _wait_for_lock(fd, deadline, poll_interval, cancel)
        finally:
            if not taken:
                os.close(fd)
        if taken:
            self._fd = fd
        return taken

    def fileno(self) -> int:
        """The open lock file, while the lock is held: its holder may keep a
        note in it for whoever takes the lock next."""
        assert self._fd is not None, f"{self.path} is not locked by this LockFile"
        return self._fd

    def release(self) -> None:
        """Give the lock back (nothing if it is not held)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the file releases its flock

    def __enter__(self) -> LockFile:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def _try_lock(fd: int) -> bool:
    """Lock the open file if no one else holds it; False if someone does."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno in _HELD_ELSEWHERE:
            return False
        raise
    return True


def _wait_for_lock(
    fd: int, deadline: float | None, poll_interval: float, cancel: Callable[[], bool] | None
) -> bool:
    """Try to lock the open file until `deadline` (monotonic; None: no end)
    or until `cancel()` says to give up; whether it is locked."""
    while not _try_lock(fd):
        left = None if deadline is None else deadline - time.monotonic()
        if (left is not None and left <= 0) or (cancel is not None and cancel()):
            return False
        time.sleep(poll_interval if left is None else min(poll_interval, left))
    return True
