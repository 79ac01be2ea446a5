"""The exception hierarchy of pycron.

Every error pycron raises on purpose is a `PycronError`. Errors about bad input
also derive from `ValueError`, so callers that only know the standard library
still catch them. The CLI maps each class to one exit code (see `pycron.cli`).
"""

from __future__ import annotations

import errno
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime
    from pathlib import Path
    from types import TracebackType


class PycronError(Exception):
    """Base class of every error pycron raises on purpose."""


class CronSyntaxError(PycronError, ValueError):
    """A cron expression that cannot be read.

    `field` is the 0-based index of the field at fault (None when no single
    field is), `position` the 0-based column of the offending token in the text
    as given (None only for an empty expression), `hint` an optional suggestion
    that is not part of the message itself, `text` the expression, so that a
    caller can point at the column.
    """

    def __init__(
        self,
        message: str,
        *,
        field: int | None = None,
        position: int | None = None,
        hint: str | None = None,
        text: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.position = position
        self.hint = hint
        self.text = text


class NoMatchError(PycronError, ValueError):
    """No firing time exists within 400 years (so none exists at all), or the
    next one lies beyond the range of `datetime`."""


class UnknownTimeZoneError(PycronError, ValueError):
    """A time zone name that the zone database does not know."""


class UsageError(PycronError, ValueError):
    """A command-line value that cannot be used (a bad date, count or option)."""


class CrontabError(PycronError):
    """A crontab with errors where none may be (install, import, check).

    `findings` holds the crontab findings (errors and any warnings) behind it.
    """

    def __init__(self, message: str, findings: Sequence[object] = ()) -> None:
        super().__init__(message)
        self.findings = tuple(findings)


class JobNotFoundError(PycronError, LookupError):
    """A job id that is not in the crontab."""


class ConcurrentEditError(PycronError):
    """The crontab changed on disk while a copy of it was being edited."""


class HistoryError(PycronError):
    """The run history cannot be opened, read or written (a locked, corrupt or
    newer database, an unremovable log file, an unknown record id)."""


class CorruptHistoryError(HistoryError):
    """The run history file is damaged or is not an SQLite database at all:
    `run-now` and the daemon set it aside and start a new one, other commands
    report it. `reason` says what is wrong with the file at `path`."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"{path}: not a usable run history ({reason}); move it aside to start a new one"
            " (pycron run-now and the daemon do so themselves)"
        )
        self.path = path
        self.reason = reason


class StoreConnectionError(HistoryError):
    """The server of a run store cannot be reached, or the connection to it
    was lost (a database server down, a network cut): what became of the
    statement that failed is unknown. The store connects again at its next
    use."""


class LogNotFoundError(HistoryError):
    """A run's log file that is not there: the run never ran (so wrote none),
    the file was removed since (by retention, or by something else), or
    another host of a cluster ran the run, and keeps it."""


class SlotTakenError(PycronError):
    """A scheduled run's slot is claimed by another run already (recorded
    before, or by another process): nothing was recorded, and the run must not
    start. Not a failure of the history: the slot is served."""

    def __init__(self, job_id: str, scheduled_for: datetime) -> None:
        super().__init__(
            f"{job_id}: the run of {scheduled_for.isoformat()} is taken by another run"
        )
        self.job_id = job_id
        self.scheduled_for = scheduled_for


class MembershipOverError(PycronError):
    """A write refused because the cluster membership it was made under is
    over (its lease ran out, and another member took its runs over): the
    start or end of a run recorded under it (`record_id`), which now reads
    interrupted, or a new run of a member that must join the cluster again
    first. Nothing was written. Not a failure of the history: the member
    that took the runs over handles their slots."""

    def __init__(self, location: str, generation: int, record_id: int | None = None) -> None:
        if record_id is None:
            what = (
                f"membership {generation} of the cluster is over: nothing more is recorded "
                "under it; join the cluster again"
            )
        else:
            what = (
                f"record {record_id} was recorded under membership {generation} of the "
                "cluster, which is over: another member took its run over, so it is left "
                "as that member recorded it"
            )
        super().__init__(f"{location}: {what}")
        self.generation = generation
        self.record_id = record_id


class DaemonError(PycronError):
    """The daemon cannot start (another daemon on the state directory, an
    unreadable crontab)."""


class WebError(PycronError):
    """The status page cannot be served: the `web` extra is not installed, or
    the address given cannot be listened on (a port in use, an address that
    is not this machine's)."""


class ClusterError(PycronError):
    """A cluster cannot be used: the `cluster` extra (its database drivers) is
    not installed."""


class UnsafeFileError(PycronError):
    """A crontab or state directory that another user could write, or that
    another user owns: acting on it would let them run commands as the user
    pycron runs as, so pycron refuses it, as cron does."""


class StorageError(PycronError):
    """A file or directory pycron must read, create or write cannot be: a
    read-only file system, a full disk, a regular file where a directory
    must be, no permission. `path` is where, `reason` why (the system's
    words); the message also says what pycron was doing and what to do."""

    def __init__(self, path: str, doing: str, reason: str, advice: str) -> None:
        super().__init__(f"{path}: cannot {doing}: {reason}; {advice}")
        self.path = path
        self.reason = reason


# What to do about an error number (the choice of another path is always added).
_ADVICE = {
    errno.EROFS: "remount the file system read-write",
    errno.ENOSPC: "free some space on its file system",
    errno.EDQUOT: "free some space or raise the disk quota",
    errno.EACCES: "give this user access to it",
    errno.EPERM: "give this user access to it",
}


class _FileErrors:
    """See `file_errors`."""

    def __init__(self, path: str | os.PathLike[str], doing: str, option: str) -> None:
        self.path = os.fspath(path)
        self.doing = doing
        self.option = option

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(error, OSError):
            raise self.translate(error) from error

    def translate(self, error: OSError) -> StorageError:
        """The StorageError for `error`, naming the file it names (else `path`)."""
        path = os.fsdecode(error.filename) if error.filename is not None else self.path
        reason = error.strerror or str(error)
        advice = _ADVICE.get(error.errno or 0, "see what is wrong with it")
        if error.errno in (errno.ENOTDIR, errno.EEXIST):
            blocker = _not_a_directory(path)
            if blocker is not None:
                itself = blocker == os.path.abspath(path)
                reason = "not a directory" if itself else f"{blocker} is not a directory"
                advice = "move that file away"
        return StorageError(path, self.doing, reason, f"{advice}, or use another {self.option}")


def file_errors(path: str | os.PathLike[str], doing: str, option: str) -> _FileErrors:
    """A context in which an OSError of a file operation becomes a StorageError:
    `with file_errors(state_dir, "lock the state directory", "--state-dir"):`.

    The one place where the system's file errors become pycron's, so that a
    command on a read-only or full disk, or on a path through a regular
    file, ends with one line that names the file (the error's own, else
    `path`), the reason and the fix, never with a traceback. `option` is
    the command-line option that chooses another path.
    """
    return _FileErrors(path, doing, option)


def _not_a_directory(path: str) -> str | None:
    """The first of `path` and its parents that exists but is no directory
    (a regular file where a directory must be), if any."""
    current = os.path.abspath(path)
    while True:
        if os.path.lexists(current) and not os.path.isdir(current):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent
