"""The exception hierarchy of pycron.

Every error pycron raises on purpose is a `PycronError`. Errors about bad input
also derive from `ValueError`, so callers that only know the standard library
still catch them. The CLI maps each class to one exit code (see `pycron.cli`).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path


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


class DaemonError(PycronError):
    """The daemon cannot start (another daemon on the state directory, an
    unreadable crontab)."""


class UnsafeFileError(PycronError):
    """A crontab or state directory that another user could write, or that
    another user owns: acting on it would let them run commands as the user
    pycron runs as, so pycron refuses it, as cron does."""
