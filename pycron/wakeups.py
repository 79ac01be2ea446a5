"""What the kernel tells the daemon's sleeping loop (Linux, through ctypes).

The loop sleeps until its next planned moment. Two things may call for it
sooner, and where the kernel says so, no polling is needed to notice them:

- `WallTimer` (timerfd): a timer set to an instant of the wall clock, which
  also fires when the clock is set (by hand, or by a time service's step)
  and after the machine resumes, however long it slept: the loop wakes at
  its planned instant of the wall clock, never late by a clock change.
- `FileWatch` (inotify): the events of the crontab's directory (and of the
  directory of the file it links to, if it is a link), which say that the
  crontab may have been written, replaced or removed. On a file system that
  others change too (NFS, SMB, FUSE, ...), the kernel hears only of this
  host's changes: there the directory is not watched.

Each is None where the system has no such thing (`WallTimer.create`,
`FileWatch.create`): the daemon's loop then looks at the clock and the file
every 2 seconds, as it does without them. Both are file descriptors to wait
on with `select`.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import struct
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

_CLOCK_REALTIME = 0
_TFD_CLOEXEC = 0o2000000
_TFD_NONBLOCK = 0o4000
_TFD_TIMER_ABSTIME = 1
_TFD_TIMER_CANCEL_ON_SET = 2

_IN_NONBLOCK = 0o4000
_IN_CLOEXEC = 0o2000000
_IN_MODIFY = 0x002
_IN_ATTRIB = 0x004
_IN_CLOSE_WRITE = 0x008
_IN_MOVED_FROM = 0x040
_IN_MOVED_TO = 0x080
_IN_CREATE = 0x100
_IN_DELETE = 0x200
_IN_DELETE_SELF = 0x400
_IN_MOVE_SELF = 0x800
_IN_Q_OVERFLOW = 0x4000
_IN_IGNORED = 0x8000
_IN_ONLYDIR = 0x01000000
# What a directory's watch hears of: an entry written, created, removed or
# renamed (an editor's new file renamed into place), its mode changed.
_ENTRY_EVENTS = (
    _IN_MODIFY
    | _IN_ATTRIB
    | _IN_CLOSE_WRITE
    | _IN_MOVED_FROM
    | _IN_MOVED_TO
    | _IN_CREATE
    | _IN_DELETE
    | _IN_DELETE_SELF
    | _IN_MOVE_SELF
)
# What ends a watch, or loses events: the files must be looked at again.
_LOST = _IN_Q_OVERFLOW | _IN_IGNORED | _IN_DELETE_SELF | _IN_MOVE_SELF
_EVENT = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len (then the name)
# File systems whose files other hosts (or a hypervisor's host) change too,
# which inotify does not hear of; and every FUSE file system ("fuse.NAME").
_SHARED_FILE_SYSTEMS = frozenset(
    [
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "ncpfs",
        "9p",
        "afs",
        "ceph",
        "glusterfs",
        "lustre",
        "gpfs",
        "ocfs2",
        "gfs2",
        "virtiofs",
        "vboxsf",
        "vmhgfs",
        "fuse",
        "fuseblk",
    ]
)


class _Timespec(ctypes.Structure):
    _fields_ = (("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long))


class _Itimerspec(ctypes.Structure):
    _fields_ = (("it_interval", _Timespec), ("it_value", _Timespec))


def _libc() -> ctypes.CDLL | None:
    """The C library, on Linux only (None elsewhere)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def _checked(result: int) -> int:
    """A system call's result; OSError with its errno when it failed (-1)."""
    if result < 0:
        number = ctypes.get_errno()
        raise OSError(number, os.strerror(number))
    return result


class WallTimer:
    """A timer on the wall clock that also fires when the clock is set."""

    def __init__(self, libc: ctypes.CDLL, fd: int) -> None:
        self._libc = libc
        self._fd = fd

    @classmethod
    def create(cls) -> WallTimer | None:
        """A new timer, not set; None where the system has none."""
        libc = _libc()
        if libc is None or not hasattr(libc, "timerfd_create"):
            return None
        fd = libc.timerfd_create(_CLOCK_REALTIME, _TFD_NONBLOCK | _TFD_CLOEXEC)
        return None if fd < 0 else cls(libc, fd)

    def fileno(self) -> int:
        """The descriptor to wait on: readable once the timer fired or the clock was set."""
        return self._fd

    def set(self, at: float) -> None:
        """Fire at `at`, seconds since the epoch on the wall clock, or at
        once if the clock is set before then."""
        seconds, fraction = divmod(at, 1.0)
        spec = _Itimerspec(_Timespec(0, 0), _Timespec(int(seconds), int(fraction * 1e9)))
        flags = _TFD_TIMER_ABSTIME | _TFD_TIMER_CANCEL_ON_SET
        _checked(self._libc.timerfd_settime(self._fd, flags, ctypes.byref(spec), None))

    def clear(self) -> None:
        """Take what the timer says (it fired, or the clock was set), so that
        it is not readable until it is set again."""
        with contextlib.suppress(OSError):  # not fired (EAGAIN), the clock set (ECANCELED)
            os.read(self._fd, 8)

    def close(self) -> None:
        """Close the descriptor."""
        os.close(self._fd)


class FileWatch:
    """Events of the directories of one file: its own, and that of the file
    it links to (a link replaced, as a configuration tool or a mounted
    volume does it, is a change of the file)."""

    def __init__(self, libc: ctypes.CDLL, fd: int, path: Path) -> None:
        self._libc = libc
        self._fd = fd
        self._path = os.path.abspath(path)
        self._watches: dict[int, set[str]] = {}  # watch -> the names of the file in its directory
        self._target = ""  # the file the path leads to, when the watches were set up
        self.watching = False  # whether every directory of the file is watched
        self.rearm()

    @classmethod
    def create(cls, path: Path) -> FileWatch | None:
        """A watch of `path`'s directories; None where the system has no
        inotify, or the directory cannot be watched now."""
        libc = _libc()
        if libc is None or not hasattr(libc, "inotify_init1"):
            return None
        fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if fd < 0:
            return None
        watch = cls(libc, fd, path)
        if not watch.watching:
            watch.close()
            return None
        return watch

    def fileno(self) -> int:
        """The descriptor to wait on: readable once events came."""
        return self._fd

    def rearm(self) -> None:
        """Watch the directories the file is in now (the link's and its
        target's), instead of those watched so far; `watching` says whether
        all could be watched."""
        for wd in self._watches:
            self._libc.inotify_rm_watch(self._fd, wd)  # one already gone is no error to care for
        self._watches.clear()
        self._target = os.path.realpath(self._path)
        self.watching = True
        for path in (self._path, self._target):
            directory, name = os.path.split(path)
            if _shared(directory):
                self.watching = False
                continue
            wd = self._libc.inotify_add_watch(
                self._fd, os.fsencode(directory), _ENTRY_EVENTS | _IN_ONLYDIR
            )
            if wd < 0:
                self.watching = False
                continue
            self._watches.setdefault(wd, set()).add(name)  # one directory by two paths: one watch

    def changed(self) -> bool:
        """Take the events that came: whether one concerns the file, or a
        watch ended or events were lost. The watches are set up again when
        that happened, or when the path leads to another file now."""
        concerned = lost = False
        for wd, mask, name in self._events():
            names = self._watches.get(wd)
            if mask & _IN_Q_OVERFLOW or (names is not None and mask & _LOST):
                lost = True
            elif names is not None and name in names:
                concerned = True
        if lost or (concerned and os.path.realpath(self._path) != self._target):
            self.rearm()
        return concerned or lost

    def _events(self) -> list[tuple[int, int, str]]:
        """The events read now: (watch, mask, name) each."""
        events: list[tuple[int, int, str]] = []
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                return events
            offset = 0
            while offset < len(data):
                wd, mask, _, size = _EVENT.unpack_from(data, offset)
                start = offset + _EVENT.size
                name = data[start : start + size].rstrip(b"\0")
                events.append((wd, mask, os.fsdecode(name)))
                offset = start + size

    def close(self) -> None:
        """Close the descriptor (its watches end with it)."""
        os.close(self._fd)


def _shared(directory: str) -> bool:
    """Whether `directory` lies on a file system that others change too (see
    _SHARED_FILE_SYSTEMS), by the mounts of this process; one whose file
    system cannot be told is taken for shared."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as mounts:
            kind = file_system(os.path.realpath(directory), mounts.read().splitlines())
    except OSError:
        return True
    return kind is None or kind.split(".")[0] in _SHARED_FILE_SYSTEMS


def file_system(path: str, mounts: Iterable[str]) -> str | None:
    """The type of the file system that holds `path` (absolute, without
    links), from the lines of /proc/self/mountinfo: that of the mount with
    the longest mount point above it, the last one mounted there if several
    are (the one that is seen). None if no mount holds it."""
    kind, longest = None, -1
    for line in mounts:
        fields, _, rest = line.partition(" - ")
        point = _unescaped(fields.split(" ")[4])
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= longest:
            kind, longest = rest.split(" ")[0], len(point)
    return kind


def _unescaped(field: str) -> str:
    """A path of /proc/self/mountinfo with its escapes (`\\040` for a blank) undone."""
    return re.sub(r"\\([0-7]{3})", lambda octal: chr(int(octal[1], 8)), field)
