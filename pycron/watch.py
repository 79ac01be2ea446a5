"""The daemon's file events: its crontab, and the paths of its `@watch` jobs.

One watchdog observer (inotify on Linux, the native backends elsewhere)
watches, in threads of its own, each `@watch` path and, where the kernel
does not tell the daemon's sleep of them (`pycron.wakeups`), the crontab's
directory (so that an editor's rename into place is seen, not only writes
to the file). A `@watch` path is watched as a directory with everything in
it, a file through its directory, and a path that does not exist yet
through its nearest existing parent until it appears. It decides nothing:
an event on the crontab wakes the daemon's loop, which looks at the file as
it does every turn, and an event under a watched path is handed to the
daemon, whose scheduler debounces the changes and runs.

It also looks, once at start, at what changed under a watched path while no
daemon watched it (`modified_since`), by modification time.

The daemon imports this module only when it has something to watch:
commands that never watch, and a daemon on Linux without `@watch` jobs,
never load watchdog.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, NamedTuple

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from watchdog.observers.api import ObservedWatch

# What a job hears of; opening and closing a file change nothing.
KINDS = frozenset(("created", "modified", "deleted", "moved"))
# Entries `modified_since` looks at per path at most: a start-up stays short
# however big the tree is.
MAX_LOOKED_AT = 100_000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def watched_path(text: str) -> str:
    """A `@watch` PATH as the daemon watches it: `~` expanded, made absolute
    from the daemon's working directory, without `..` or a trailing `/`."""
    return os.path.abspath(os.path.expanduser(text))


class Watcher(FileSystemEventHandler):
    """The observer and what it watches; its events become wake-ups of the
    loop (the crontab) and changes of `@watch` jobs. Every method may be
    called from any thread."""

    def __init__(
        self,
        crontab: Path | None,
        *,
        wake: Callable[[], None],
        changed: Callable[[str, str, str], None],
        log: Callable[..., None],
    ) -> None:
        """`wake` ends the loop's sleep when `crontab` changes (None: its
        edits are not watched here); `changed(job id, path, kind)` hands a
        change to the scheduler; `log` is the daemon's event log."""
        super().__init__()
        self._crontab = None if crontab is None else os.path.abspath(crontab)
        self._wake = wake
        self._changed = changed
        self._log = log
        self._lock = threading.RLock()
        self._targets: dict[str, str] = {}  # job id -> absolute path
        self._missing: set[str] = set()  # targets watched from a parent until they appear
        self._watches: dict[tuple[str, bool], ObservedWatch] = {}
        self._observer = Observer()
        self._observer.daemon = True

    def start(self) -> None:
        """Watch from now on (the crontab's directory, if it watches it)."""
        self._observer.start()
        self._refresh()

    def stop(self) -> None:
        """Stop watching (the observer's threads end)."""
        self._observer.stop()
        self._observer.join(timeout=5)

    def watch(self, targets: Mapping[str, str]) -> None:
        """Watch these paths (absolute, see `watched_path`) for these jobs,
        instead of those watched so far."""
        with self._lock:
            self._targets = dict(targets)
            self._missing = {path for path in self._targets.values() if not os.path.exists(path)}
            self._refresh()

    def _refresh(self) -> None:
        """Schedule the watches the targets need now, drop the others."""
        with self._lock:
            wanted = {_watch_for(path) for path in self._targets.values()}
            if self._crontab is not None:
                wanted.add((os.path.dirname(self._crontab), False))
            for key in set(self._watches) - wanted:
                with contextlib.suppress(KeyError):  # its emitter ended with its directory
                    self._observer.unschedule(self._watches.pop(key))
            for directory, recursive in wanted - set(self._watches):
                try:
                    watch = self._observer.schedule(self, directory, recursive=recursive)
                except OSError as error:  # gone meanwhile, no permission, inotify's limits
                    self._log("watch", "warning", path=directory, message=str(error))
                    continue
                self._watches[directory, recursive] = watch

    def on_any_event(self, event: FileSystemEvent) -> None:
        """An event from the observer's thread: wake the loop for the crontab,
        post a change for each job whose path it concerns."""
        if event.event_type not in KINDS:
            return
        paths = [os.fsdecode(event.src_path)]
        if event.event_type == "moved":
            paths.append(os.fsdecode(event.dest_path))
        if self._crontab in paths:
            self._wake()
        with self._lock:
            if event.event_type != "modified":
                self._appeared()
            if event.is_directory and event.event_type == "modified":
                return  # the change inside it comes as an event of its own
            changes = [
                (job_id, path)
                for job_id, target in self._targets.items()
                for path in paths
                if path == target or path.startswith(target + os.sep)
            ]
        for job_id, path in changes:
            self._changed(job_id, path, event.event_type)

    def _appeared(self) -> None:
        """Move the watches of paths that came or went since the last look;
        a path that appeared is a change of its job (what was written in it
        before its watch began is not seen one by one)."""
        now_missing = {path for path in self._targets.values() if not os.path.exists(path)}
        appeared = self._missing - now_missing
        if now_missing == self._missing and not appeared:
            return
        self._missing = now_missing
        self._refresh()
        for job_id, target in self._targets.items():
            if target in appeared:
                self._changed(job_id, target, "created")


def _watch_for(path: str) -> tuple[str, bool]:
    """The watch a target needs: a directory with everything in it, a file
    through its directory, a missing path through its nearest existing parent."""
    if os.path.isdir(path):
        return path, True
    parent = os.path.dirname(path)
    while not os.path.isdir(parent) and parent != os.path.dirname(parent):
        parent = os.path.dirname(parent)
    return parent, False


class Modified(NamedTuple):
    """What changed under a watched path after an instant: the entries
    modified after it (sorted), the latest of their modification times
    (None if none), how many entries were looked at, and whether that was
    all of them (not cut at the limit)."""

    paths: list[str]
    latest: datetime | None
    looked_at: int
    complete: bool


def modified_since(path: str, since: datetime, limit: int = MAX_LOOKED_AT) -> Modified:
    """The files and directories under `path` (itself included, a missing one
    has nothing) whose modification time is after `since`, looking at `limit`
    entries at most. A directory's time changes when an entry is created,
    removed or renamed in it, so a deletion shows as its directory. Symbolic
    links are not followed, entries that cannot be read are passed over."""
    after = (since - _EPOCH) // timedelta(microseconds=1) * 1000  # in ns, exactly
    found: dict[str, int] = {}
    looked_at = 0
    pending = [path]
    while pending and looked_at < limit:
        current = pending.pop()
        try:
            status = os.lstat(current)
        except OSError:  # gone meanwhile, no permission
            continue
        looked_at += 1
        if status.st_mtime_ns > after:
            found[current] = status.st_mtime_ns
        if stat.S_ISDIR(status.st_mode):
            pending.extend(_entries(current))
    latest = max(found.values(), default=None)
    return Modified(
        sorted(found),
        None if latest is None else _EPOCH + timedelta(microseconds=latest // 1000),
        looked_at,
        not pending,
    )


def _entries(directory: str) -> list[str]:
    """The paths of a directory's entries (none if it cannot be read)."""
    try:
        with os.scandir(directory) as entries:
            return [entry.path for entry in entries]
    except OSError:
        return []
