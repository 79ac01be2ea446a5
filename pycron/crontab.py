"""Crontab files: a lossless text model, its parser, edits, and safe installs.

`parse(text)` reads a crontab as cronie does into a `Crontab`: one value per
physical line, each keeping its exact text, so `render()` gives back the same
bytes and an edit changes only the lines it touches. Errors never stop the
reader: each bad line becomes an invalid line (`LineKind.INVALID`) with its
findings, and the good lines around it are kept.

pycron's own per-job settings live in comment lines (`# pycron: name=backup
timeout=30m ...`) directly above a job, so the file stays a valid crontab
for plain cron. Disabling a job comments it out behind a marker that plain
cron ignores and pycron can strip to restore the line exactly.

Everything above `CrontabFile` is pure. `CrontabFile` is the thin I/O shell:
locked read, validated atomic install with a backup.
"""

from __future__ import annotations

import abc
import enum
import itertools
import os
import re
import stat
from datetime import datetime, timedelta, timezone
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, NamedTuple, TypeVar

from pycron.digest import sha256_bytes, sha256_hex
from pycron.errors import (
    ConcurrentEditError,
    CronSyntaxError,
    CrontabError,
    JobNotFoundError,
    NoMatchError,
    UnknownTimeZoneError,
    file_errors,
)
from pycron.expr import FIELD_NAMES, FIELD_VALUES, NICKNAMES, CronExpression, Record, resolve_tz

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping
    from datetime import tzinfo

    from pycron.locks import LockFile

MAX_LINE_BYTES = 131_071  # cronie silently cuts longer lines; pycron refuses them
DISABLED_MARK = "#pycron-disabled# "
OPTION_PREFIX = "pycron:"
_BLANKS = " \t"
# What cronie skips at the end of a value (its isspace()): blanks, and the CR that a
# file saved with CRLF endings leaves at the end of each line.
_TRAILING = _BLANKS + "\r"
_NAME_ENDS = _BLANKS + "="  # what ends the name of an assignment
_NAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")
_DURATION_PATTERN = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
# Five times: blanks, then a token (both possibly empty, as at the end of a short
# line); then the blanks before the command.
_FIVE_FIELDS = re.compile(r"[ \t]*([^ \t]*)" * 5 + r"[ \t]*")
# What cron's `%` rule looks at: a backslash with the character it takes, or a `%`.
_PERCENT_RULE = re.compile(r"\\.|%", re.DOTALL)
_MOVE_OPTIONS = "move it onto the line above the job it is for, or delete it"


# --------------------------------------------------------------------------- findings


class Severity(enum.Enum):
    """How bad a finding is: errors reject a line, warnings do not."""

    ERROR = "error"
    WARNING = "warning"


class Finding(NamedTuple):
    """One error or warning about a crontab line, in a compiler's terms.

    `line` is 1-based (0 for the file as a whole), `column` 0-based from the
    start of the physical line; `code` is a stable identifier for warnings.
    """

    path: str
    line: int
    column: int
    severity: Severity
    code: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        text = f"{self.path}:{self.line}:{self.column + 1}: {self.severity.value}: {self.message}"
        if not self.is_error:
            text += f" [{self.code}]"
        return f"{text}\n  hint: {self.hint}" if self.hint else text

    @property
    def is_error(self) -> bool:
        """True for errors (the line is rejected)."""
        return self.severity is Severity.ERROR


def invalid_crontab(findings: Iterable[Finding]) -> CrontabError:
    """The error for a crontab text with errors, listing each of them."""
    collected = list(findings)
    errors = [f for f in collected if f.is_error]
    return CrontabError("\n".join(str(f) for f in errors) or "invalid crontab", collected)


class _LineError(Exception):
    """Internal: a job or option line cannot be read (column, message, hint)."""

    def __init__(self, column: int, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.column = column
        self.message = message
        self.hint = hint


# --------------------------------------------------------------------------- durations


def parse_duration(text: str) -> timedelta:
    """Read `90s`, `5m`, `1h30m`, `2d` (units d, h, m, s in that order)."""
    match = _DURATION_PATTERN.fullmatch(text)
    if not text or match is None:
        raise ValueError(f"bad duration {text!r}: write it like 90s, 5m, 1h30m or 2d")
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def parse_since(text: str, now: datetime, zone: tzinfo | None = None) -> datetime:
    """The start of a `--since` window: a duration back from `now` (`7d`,
    `12h`) or an ISO 8601 time (without an offset: wall time in `zone`, this
    machine's when None). ValueError says what it accepts."""
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is neither a duration (7d, 12h) nor an ISO 8601 time") from None
    if moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=zone) if zone is not None else moment.astimezone()


def format_duration(value: timedelta) -> str:
    """The inverse of parse_duration, in the shortest form (`1h30m`, `0s`)."""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


# --------------------------------------------------------------------------- options


class Overlap(enum.Enum):
    """What a run does when the previous run of its job (or lock) still runs."""

    SKIP = "skip"  # record the run as skipped
    QUEUE = "queue"  # wait for the lock
    ALLOW = "allow"  # run side by side
    REPLACE = "replace"  # terminate the running one first


class CatchUp(enum.Enum):
    """Which runs missed while the daemon was down are made up for."""

    NONE = "none"
    LATEST = "latest"
    ALL = "all"


class MailOn(enum.Enum):
    """Which runs of a job mail their output (to MAILTO, as cron does)."""

    OUTPUT = "output"  # any run with output: cron's rule
    FAILURE = "failure"  # only a run that did not succeed, with its output (chronic's rule)
    ALWAYS = "always"  # every run, with or without output
    NEVER = "never"


class NotifyEvent(enum.Enum):
    """What a job's alerts (`notify=`) are sent for."""

    FAILURE = "failure"  # the last attempt failed, timed out or could not start
    RECOVERY = "recovery"  # the first success after a failure
    MISSED = "missed"  # slots skipped by catch-up or a full queue
    SUCCESS = "success"
    START = "start"


class When(enum.Enum):
    """Which ends of its upstream runs start an `@after` job."""

    SUCCESS = "success"  # the run succeeded
    FAILURE = "failure"  # the run failed, timed out or could not start
    ALWAYS = "always"  # either


class Options(NamedTuple):
    """A job's pycron settings; `given` holds the option text as written.

    The defaults are those of a job without options. `JOB_OPTIONS` says how
    each `key=value` of a `# pycron:` comment sets these attributes.
    """

    name: str | None = None
    timeout: timedelta | None = None
    kill_grace: timedelta = timedelta(seconds=10)
    retries: int = 0
    retry_delay: timedelta = timedelta(seconds=30)
    overlap: Overlap = Overlap.SKIP
    lock: str | None = None
    cwd: str | None = None
    catch_up: CatchUp | None = None  # None: the daemon's default for the schedule
    catch_up_window: timedelta = timedelta(hours=24)
    enabled: bool = True
    mail_on: MailOn = MailOn.OUTPUT
    notify: tuple[str, ...] = ()  # alert targets (apprise URLs); none: the daemon's --notify
    notify_on: frozenset[NotifyEvent] = frozenset((NotifyEvent.FAILURE, NotifyEvent.RECOVERY))
    notify_every: timedelta = timedelta(hours=1)  # failures alerted at most once per this
    debounce: timedelta = timedelta(seconds=1)  # @watch: quiet time that ends a burst of changes
    when: When = When.SUCCESS  # which upstream ends start an `@after` job
    requires: tuple[str, ...] = ()  # jobs whose latest run must have succeeded before a run
    given: tuple[tuple[str, str], ...] = ()


_DEFAULT_OPTIONS = Options()  # immutable: every job without options shares it


class OptionSpec(NamedTuple):
    """One job option: its key, how its value is read, and how `add` offers it.

    `check` raises ValueError, with the message that `check` and `add` show,
    if the text is not a value of the option; `read` sets the option's
    attributes in an `Options` from the text of a value. `help`, `metavar`
    (None: click's default) and `choices` describe the option `add --KEY`,
    which exists if `in_add`. A `soft` option's bad value does not stop its
    job: the reader takes what it can of it, and `check` (lint) reports the
    rest as an error; `add` refuses it as for any option.
    """

    key: str
    check: Callable[[str], object]
    read: Callable[[Options, str], Options]
    help: str
    metavar: str | None
    choices: tuple[str, ...]
    in_add: bool
    soft: bool


_Value = TypeVar("_Value")
_Choice = TypeVar("_Choice", bound=enum.Enum)


def _option(
    key: str,
    parse: Callable[[str], _Value],
    store: Callable[[Options, _Value], Options],
    help: str,
    *,
    metavar: str | None = None,
    choices: tuple[str, ...] = (),
    in_add: bool = True,
    lenient: Callable[[str], _Value] | None = None,
) -> OptionSpec:
    """An option whose parser and store agree on the type of its value: a store
    that sets a misspelt attribute, or one of another type, fails the type check.
    With a `lenient` parser (which takes what it can of any text) the option
    is soft: a job is read with it whatever its value."""
    reading = parse if lenient is None else lenient
    return OptionSpec(
        key,
        parse,
        lambda options, text: store(options, reading(text)),
        help,
        metavar,
        choices,
        in_add,
        lenient is not None,
    )


def _parse_name(value: str) -> str:
    if not _NAME_PATTERN.fullmatch(value):
        raise ValueError(
            f"bad name {value!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "not starting with '.' or '-'"
        )
    return value


def _parse_lock(value: str) -> str:
    if not _NAME_PATTERN.fullmatch(value):
        raise ValueError(f"bad lock name {value!r}: use letters, digits, '.', '_' or '-'")
    return value


def _parse_timeout(value: str) -> timedelta:
    duration = parse_duration(value)
    if not duration:
        raise ValueError("timeout must be longer than 0s")
    return duration


def _parse_retries(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or int(value) > 100:
        raise ValueError(f"bad retries {value!r}: a whole number from 0 to 100")
    return int(value)


def _member(kind: type[_Choice], word: str, error: str, more: str = "") -> _Choice:
    """The member of `kind` whose value is `word`, else ValueError listing them."""
    for member in kind:
        if member.value == word:
            return member
    raise ValueError(f"{error}: one of {', '.join(member.value for member in kind)}{more}")


def _parse_overlap(value: str) -> Overlap:
    return _member(Overlap, value, f"bad overlap {value!r}")


def _parse_catch_up(value: str) -> tuple[CatchUp, timedelta | None]:
    """`latest`, or `all:12h`: the policy and the window, if one is given."""
    word, _, window = value.partition(":")
    policy = _member(CatchUp, word, f"bad catch-up {value!r}", " or all:WINDOW (all:12h)")
    if not window:
        return policy, None
    if policy is not CatchUp.ALL:
        raise ValueError("only catch-up=all takes a window, as in all:12h")
    return policy, parse_duration(window)


def _store_catch_up(options: Options, value: tuple[CatchUp, timedelta | None]) -> Options:
    policy, window = value
    if window is None:
        return options._replace(catch_up=policy)
    return options._replace(catch_up=policy, catch_up_window=window)


def _parse_cwd(value: str) -> str:
    if not value:
        raise ValueError("cwd needs a directory")
    return value


def _parse_enabled(value: str) -> bool:
    if value not in ("true", "false"):
        raise ValueError(f"bad enabled {value!r}: true or false")
    return value == "true"


def _parse_notify(value: str) -> tuple[str, ...]:
    """`URL[,URL...]`: the alert targets, as written (apprise reads them when
    alerts are sent, and `check` asks it whether it can)."""
    urls = tuple(url.strip() for url in value.split(","))
    if not all(urls):
        raise ValueError(f"bad notify {value!r}: a comma-separated list of URLs, none empty")
    return urls


def _parse_notify_on(value: str) -> frozenset[NotifyEvent]:
    """`EVENT[,EVENT...]`: which events alert."""
    return frozenset(
        _member(NotifyEvent, word.strip(), f"bad notify-on event {word.strip()!r}")
        for word in value.split(",")
    )


def _read_notify_on(value: str) -> frozenset[NotifyEvent]:
    """The events of `notify-on` that exist: a job with a misspelt one still
    runs, and alerts on the others (`pycron check` and the daemon report it)."""
    known = {event.value: event for event in NotifyEvent}
    return frozenset(known[word.strip()] for word in value.split(",") if word.strip() in known)


def _parse_requires(value: str) -> tuple[str, ...]:
    """`JOB[,JOB...]`: the ids of the jobs a run needs, as written (whether
    they exist is a question for `check`, which sees the whole file)."""
    jobs = tuple(value.split(","))
    for job in jobs:
        if not _NAME_PATTERN.fullmatch(job):
            raise ValueError(f"bad requires job id {job!r}: job ids separated by commas, no blanks")
    if len(set(jobs)) < len(jobs):
        raise ValueError(f"requires names a job twice in {value!r}")
    return jobs


def _parse_notify_every(value: str) -> timedelta:
    duration = parse_duration(value)
    if not duration:
        raise ValueError("notify-every must be longer than 0s")
    return duration


# The job options by key, in the order `add` writes and lists them.
JOB_OPTIONS: Mapping[str, OptionSpec] = {
    spec.key: spec
    for spec in (
        _option(
            "name",
            _parse_name,
            lambda options, value: options._replace(name=value),
            "Job name (its id): letters, digits, '.', '_', '-'.",
        ),
        _option(
            "timeout",
            _parse_timeout,
            lambda options, value: options._replace(timeout=value),
            "Kill the job after this long, e.g. 30m.",
            metavar="DURATION",
        ),
        _option(
            "kill-grace",
            parse_duration,
            lambda options, value: options._replace(kill_grace=value),
            "After a timeout, SIGKILL after this.",
            metavar="DURATION",
        ),
        _option(
            "retries",
            _parse_retries,
            lambda options, value: options._replace(retries=value),
            "Retry a failed run up to N times.",
            metavar="N",
        ),
        _option(
            "retry-delay",
            parse_duration,
            lambda options, value: options._replace(retry_delay=value),
            "First retry delay (then doubled).",
            metavar="DURATION",
        ),
        _option(
            "overlap",
            _parse_overlap,
            lambda options, value: options._replace(overlap=value),
            "If the job is still running at its next time.",
            choices=tuple(member.value for member in Overlap),
        ),
        _option(
            "lock",
            _parse_lock,
            lambda options, value: options._replace(lock=value),
            "Share a lock with other jobs.",
            metavar="NAME",
        ),
        _option(
            "cwd",
            _parse_cwd,
            lambda options, value: options._replace(cwd=value),
            "Working directory (default: HOME).",
            metavar="DIR",
        ),
        _option(
            "catch-up",
            _parse_catch_up,
            _store_catch_up,
            "none, latest, all or all:WINDOW.",
            metavar="POLICY",
        ),
        _option(
            "mail-on",
            lambda value: _member(MailOn, value, f"bad mail-on {value!r}"),
            lambda options, value: options._replace(mail_on=value),
            "Which runs mail their output to MAILTO.",
            choices=tuple(member.value for member in MailOn),
        ),
        _option(
            "notify",
            _parse_notify,
            lambda options, value: options._replace(notify=value),
            "Alert targets: apprise URLs, comma-separated.",
            metavar="URL[,URL...]",
        ),
        _option(
            "notify-on",
            _parse_notify_on,
            lambda options, value: options._replace(notify_on=value),
            "Events that alert: failure, recovery, missed, success, start.",
            metavar="EVENTS",
            lenient=_read_notify_on,
        ),
        _option(
            "notify-every",
            _parse_notify_every,
            lambda options, value: options._replace(notify_every=value),
            "Alert repeated failures at most once per this long.",
            metavar="DURATION",
        ),
        _option(
            "debounce",
            parse_duration,
            lambda options, value: options._replace(debounce=value),
            "@watch: run once changes have stopped for this long.",
            metavar="DURATION",
        ),
        _option(
            "when",
            lambda value: _member(When, value, f"bad when {value!r}"),
            lambda options, value: options._replace(when=value),
            "For an @after job: which upstream ends start it.",
            choices=tuple(member.value for member in When),
        ),
        _option(
            "requires",
            _parse_requires,
            lambda options, value: options._replace(requires=value),
            "Start only if these jobs' latest runs succeeded and none runs.",
            metavar="JOB[,JOB...]",
        ),
        _option(
            "enabled",
            _parse_enabled,
            lambda options, value: options._replace(enabled=value),
            "false keeps the job in the file without running it under pycron.",
            in_add=False,
        ),
    )
}


def _option_items(text: str, column: int) -> Iterator[tuple[str, str, int, int]]:
    """Split `key=value key="a b"` into (key, value, key column, value column)."""
    i, n = 0, len(text)
    while i < n:
        if text[i] in _BLANKS:
            i += 1
            continue
        start = i
        while i < n and text[i] not in _BLANKS + "=":
            i += 1
        key = text[start:i]
        if i >= n or text[i] != "=":
            raise _LineError(column + start, f"option {key!r} needs a value: write {key}=VALUE")
        i += 1
        value_start = i
        if i < n and text[i] == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise _LineError(column + i, "unterminated quoted option value")
            value, i = text[i + 1 : end], end + 1
        else:
            while i < n and text[i] not in _BLANKS:
                i += 1
            value = text[value_start:i]
        yield key, value, column + start, column + value_start


def _read_options(text: str, column: int) -> tuple[tuple[str, str, int, int], ...]:
    """Check every `key=value` of an options comment; errors carry the column."""
    items = tuple(_option_items(text, column))
    seen: set[str] = set()
    for key, value, key_column, value_column in items:
        spec = JOB_OPTIONS.get(key)
        if spec is None:
            known = ", ".join(JOB_OPTIONS)
            raise _LineError(key_column, f"unknown option {key!r}", f"options are: {known}")
        if key in seen:
            raise _LineError(key_column, f"option {key!r} is given twice")
        seen.add(key)
        if spec.soft:
            continue  # its bad values are lint's to report; the job runs
        try:
            spec.check(value)
        except ValueError as exc:
            raise _LineError(value_column, str(exc)) from None
    return items


def build_options(given: Iterable[tuple[str, str]]) -> Options:
    """Options from checked `(key, value)` pairs (see JOB_OPTIONS)."""
    pairs = tuple(given)
    options = _DEFAULT_OPTIONS
    for key, value in pairs:
        options = JOB_OPTIONS[key].read(options, value)
    return options._replace(given=pairs)


# --------------------------------------------------------------------------- schedules


class Schedule(Record, abc.ABC):
    """A job's schedule, whatever its kind: what pycron asks of it.

    Every instant given and returned is aware. `zone` is the daemon's zone (the
    machine's), in which a schedule without a zone of its own reads the clock;
    `anchor` is the daemon's start, from which `@every` counts. A new kind of
    schedule is a class derived from this one, saying where it differs from
    the defaults here, plus its entry in `SCHEDULE_WORDS`. Its values are its
    `__slots__`, set once by its constructor: they make its equality, hash
    and repr (`Record`).
    """

    __slots__ = ()

    text: str  # as written, blanks between cron fields made single

    # Whether its fire times are fixed on the clock, so that `list` can show
    # them and a daemon started later can find the ones it missed.
    on_the_clock: ClassVar[bool] = True
    # Whether the daemon starts it once per boot.
    at_boot: ClassVar[bool] = False
    # Whether it fires once ever, so that its time passed with no run on record
    # is a missed run even for a job the daemon never held.
    once: ClassVar[bool] = False

    @property
    def identity(self) -> tuple[str, object]:
        """What makes it the same schedule across reloads and restarts: a job
        whose schedule changes is a new job (next fire time, missed runs)."""
        return self.text, None

    @property
    def default_catch_up(self) -> CatchUp:
        """Which missed runs are made up for when the job sets no `catch-up`."""
        return CatchUp.NONE

    @property
    def no_next(self) -> str:
        """What `list` shows for an enabled job with no next fire time."""
        return "never"

    @property
    def words(self) -> int:
        """How many blank-separated words it takes in its line."""
        return self.text.count(" ") + 1

    @abc.abstractmethod
    def next_after(self, after: datetime, zone: tzinfo | None, anchor: datetime) -> datetime | None:
        """Its first fire time strictly after `after`, in UTC; None if none."""

    @abc.abstractmethod
    def latest_at_or_before(
        self, moment: datetime, zone: tzinfo | None, anchor: datetime
    ) -> datetime | None:
        """Its last fire time at or before `moment`, in UTC; None if none."""

    def plain_cron(self) -> tuple[str, str | None] | None:
        """Why plain cron cannot run it and what comes closest (a hint, or
        None); None if cron runs it."""
        return None


class _OffTheClock(Schedule):
    """A kind whose runs no clock decides (boot, file changes, other jobs):
    it has no fire time, before or after any instant."""

    __slots__ = ()

    on_the_clock: ClassVar[bool] = False

    def next_after(self, after: datetime, zone: tzinfo | None, anchor: datetime) -> datetime | None:
        return None

    def latest_at_or_before(
        self, moment: datetime, zone: tzinfo | None, anchor: datetime
    ) -> datetime | None:
        return None


class Cron(Schedule):
    """A 5-field expression or nickname; `random` if `~` values were picked.

    Without a CRON_TZ it reads the daemon's clock, where a time skipped by a
    DST change runs at the end of the gap (the expression's rules)."""

    __slots__ = ("expression", "random", "text")

    def __init__(self, text: str, expression: CronExpression, random: bool = False) -> None:
        self.text = text
        self.expression = expression
        self.random = random

    @property
    def identity(self) -> tuple[str, object]:
        """The text and the CRON_TZ zone (None: the daemon's)."""
        return self.text, self.expression.tz

    @property
    def default_catch_up(self) -> CatchUp:
        """None when the minute is a wildcard (it runs again within minutes),
        latest for fixed times (a missed 03:00 backup should still run)."""
        return CatchUp.NONE if self.expression.fields[0].text.startswith("*") else CatchUp.LATEST

    def next_after(self, after: datetime, zone: tzinfo | None, anchor: datetime) -> datetime | None:
        try:
            return self.expression.next(self._in_zone(after, zone)).astimezone(timezone.utc)
        except NoMatchError:
            return None

    def latest_at_or_before(
        self, moment: datetime, zone: tzinfo | None, anchor: datetime
    ) -> datetime | None:
        try:
            before = self._in_zone(moment + timedelta(microseconds=1), zone)
            return self.expression.prev(before).astimezone(timezone.utc)
        except NoMatchError:
            return None

    def _in_zone(self, moment: datetime, zone: tzinfo | None) -> datetime:
        """`moment` as the expression should read it: in its CRON_TZ if it
        has one (the expression converts), else in the daemon's zone."""
        return moment if self.expression.tz is not None or zone is None else moment.astimezone(zone)


class Every(Schedule):
    """`@every 90s`: a fixed interval, anchored at daemon start (pycron only).

    It counts whole intervals from the daemon's start, so it never drifts."""

    __slots__ = ("interval", "text")

    def __init__(self, text: str, interval: timedelta) -> None:
        self.text = text
        self.interval = interval

    on_the_clock: ClassVar[bool] = False

    @classmethod
    def read(cls, value: str, column: int, tz: tzinfo | None) -> Every:
        """`@every DURATION` from its DURATION (at `column`)."""
        try:
            interval = parse_duration(value)
        except ValueError as exc:
            raise _LineError(column, f"@every: {exc}{_cr_note(value)}") from None
        if not interval:
            raise _LineError(column, "@every needs an interval longer than 0s")
        return cls(f"@every {value}", interval)

    @property
    def no_next(self) -> str:
        return f"every {format_duration(self.interval)} from daemon start"

    def next_after(self, after: datetime, zone: tzinfo | None, anchor: datetime) -> datetime | None:
        count = max((after - anchor) // self.interval + 1, 0)
        return anchor + self.interval * count

    def latest_at_or_before(
        self, moment: datetime, zone: tzinfo | None, anchor: datetime
    ) -> datetime | None:
        return anchor + self.interval * ((moment - anchor) // self.interval)

    def plain_cron(self) -> tuple[str, str | None] | None:
        return "cron rejects the line (bad time specifier)", _every_hint(self.interval)


class At(Schedule):
    """`@at 2026-12-24T18:00`: one run at one time (pycron only); a time
    without an offset is in the CRON_TZ above the job, else the daemon's zone."""

    __slots__ = ("text", "when")

    def __init__(self, text: str, when: datetime) -> None:
        self.text = text
        self.when = when

    once: ClassVar[bool] = True

    @classmethod
    def read(cls, value: str, column: int, tz: tzinfo | None) -> At:
        """`@at ISO-DATETIME` from its date and time (at `column`)."""
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            raise _LineError(
                column,
                f"@at: cannot read {value!r} as an ISO 8601 date and time{_cr_note(value)}",
                "e.g. @at 2026-12-24T18:00",
            ) from None
        if when.tzinfo is None and tz is not None:
            when = when.replace(tzinfo=tz)
        return cls(f"@at {value}", when)

    @property
    def default_catch_up(self) -> CatchUp:
        """Latest: a missed one-shot still runs."""
        return CatchUp.LATEST

    @property
    def no_next(self) -> str:
        return "done (in the past)"

    def next_after(self, after: datetime, zone: tzinfo | None, anchor: datetime) -> datetime | None:
        when = self._utc(zone)
        return when if when > after else None

    def latest_at_or_before(
        self, moment: datetime, zone: tzinfo | None, anchor: datetime
    ) -> datetime | None:
        when = self._utc(zone)
        return when if when <= moment else None

    def plain_cron(self) -> tuple[str, str | None] | None:
        when = self.when
        return (
            "cron rejects the line and has no one-off schedule",
            f"'{when.minute} {when.hour} {when.day} {when.month} *' runs on that date "
            "every year; or use at(1)",
        )

    def _utc(self, zone: tzinfo | None) -> datetime:
        """Its time in UTC (a time without an offset read in `zone`)."""
        when = self.when if self.when.tzinfo else self.when.replace(tzinfo=zone)
        return when.astimezone(timezone.utc)


class Reboot(_OffTheClock):
    """`@reboot`: once when the daemon first starts after boot; never on the clock."""

    __slots__ = ("text",)

    def __init__(self, text: str = "@reboot") -> None:
        self.text = text

    at_boot: ClassVar[bool] = True

    @classmethod
    def read(cls, word: str, column: int, tz: tzinfo | None) -> Reboot:
        """`@reboot` (a word without a value)."""
        return cls()

    @property
    def no_next(self) -> str:
        return "at boot"


class Watch(_OffTheClock):
    """`@watch PATH`: a run when something under PATH (a file, or a directory
    and everything in it) is created, modified, deleted or moved (pycron
    only). No clock says when: the daemon's file events do, debounced by
    the job's `debounce=`. A relative PATH is read from the daemon's
    working directory, `~` as the home directory."""

    __slots__ = ("path", "text")

    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path

    @classmethod
    def read(cls, value: str, column: int, tz: tzinfo | None) -> Watch:
        """`@watch PATH` from its PATH (at `column`)."""
        if not value or value.startswith("#"):
            raise _LineError(column, "@watch needs a path", "e.g. @watch /srv/incoming")
        return cls(f"@watch {value}", value)

    @property
    def no_next(self) -> str:
        return f"on changes under {self.path}"

    def plain_cron(self) -> tuple[str, str | None] | None:
        return "cron rejects the line and has no file triggers", "incron or a path unit"


class After(_OffTheClock):
    """`@after backup,sync`: when its upstream jobs end (pycron only), never on
    the clock. With several upstreams it is a join: it runs once each of them
    has ended as its `when=` option asks since its own last run."""

    __slots__ = ("jobs", "text")

    def __init__(self, text: str, jobs: tuple[str, ...]) -> None:
        self.text = text
        self.jobs = jobs

    @classmethod
    def read(cls, value: str, column: int, tz: tzinfo | None) -> After:
        """`@after JOB[,JOB...]` from its list of job ids (at `column`)."""
        jobs = tuple(value.split(","))
        for job in jobs:
            if not _NAME_PATTERN.fullmatch(job):
                where = column + value.find(job) if job else column
                raise _LineError(
                    where,
                    f"@after: bad job id {job!r}{_cr_note(value)}",
                    "write @after JOB[,JOB...]: job ids separated by commas, no blanks",
                )
        if len(set(jobs)) < len(jobs):
            raise _LineError(column, f"@after: a job is named twice in {value!r}")
        return cls(f"@after {value}", jobs)

    @property
    def no_next(self) -> str:
        return f"after {', '.join(self.jobs)}"

    def plain_cron(self) -> tuple[str, str | None] | None:
        return (
            "cron rejects the line and cannot start a job when another ends",
            "chain the commands in one job: first && second",
        )


def _every_hint(interval: timedelta) -> str | None:
    """The cron schedule closest to `@every` (on the clock, not from the daemon's start)."""
    seconds = int(interval.total_seconds())
    minutes, hours = seconds // 60, seconds // 3600
    if seconds % 60 or not seconds:
        return None
    if minutes < 60 and 60 % minutes == 0:
        rewrite = "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
    elif seconds % 3600 == 0 and hours < 24 and 24 % hours == 0:
        rewrite = "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
    elif seconds == 86400:
        rewrite = "@daily"
    else:
        return None
    return f"the closest cron schedule is '{rewrite}' (on the clock, not from the daemon's start)"


class ScheduleWord(NamedTuple):
    """How the reader reads a schedule that starts with an `@` word: `read`
    gets the value after the word (or the word itself if it takes none), the
    column where that starts, and the CRON_TZ in force; errors are `_LineError`s."""

    read: Callable[[str, int, tzinfo | None], Schedule]
    takes_value: bool = False


# --------------------------------------------------------------------------- lines


CRON_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"  # the PATH cronie gives jobs (Debian's: /usr/bin:/bin)


class LineKind(enum.Enum):
    """What a physical line of a crontab is."""

    BLANK = "blank"
    COMMENT = "comment"
    OPTION = "option"  # a `# pycron: key=value ...` comment
    ENV = "env"  # an assignment
    JOB = "job"  # `#pycron-disabled#` ones too (disabled)
    INVALID = "invalid"  # with its findings; cron would reject or drop it


class Assignment(NamedTuple):
    """An environment assignment line: the name and value cron sets, and where
    they are written (0-based columns; a quoted one's opening quote)."""

    name: str
    value: str
    name_column: int
    value_column: int


class Line(NamedTuple):
    """One physical line: its exact text (without the LF) and what it is.

    `kind` says which kind of line it is (`LineKind`). Kind-specific data
    sits in `env` (an Assignment), `job` (an Entry), `options` (the checked
    key/value pairs of an option line, and in `option_columns` where each
    value starts: its opening quote if quoted) and `findings` (errors of an
    invalid line). `ending` is "\\n", or "" for a last line without LF.
    """

    number: int
    text: str
    ending: str
    kind: LineKind
    env: Assignment | None = None
    job: Entry | None = None
    options: tuple[tuple[str, str], ...] = ()
    findings: tuple[Finding, ...] = ()
    option_columns: tuple[int, ...] = ()


class Spans(NamedTuple):
    """Where the parts of a job line are, as the reader found them: 0-based
    columns of the physical line, so that `pycron check` points at each part
    without reading the line again."""

    schedule: tuple[int, ...]  # each token: the 5 fields, a nickname, or an @ word (and its value)
    command: int  # the command as written, before the `%` rule
    user: int | None = None  # the user column of the system format
    option: int | None = None  # cronie's `-n` before the command
    percents: tuple[int, ...] = ()  # each `%` that the `%` rule splits the command at


class Entry(NamedTuple):
    """A job: its schedule, command, environment and options.

    `env` holds the assignments of the file in force at the job's line (cron's
    defaults are added by the runner). `command` and `stdin` follow the `%`
    rule. `spans` says where the parts of the line are.
    """

    id: str
    line: int
    schedule: Schedule
    command: str
    stdin: str | None
    env: tuple[tuple[str, str], ...]
    options: Options
    spans: Spans
    user: str | None = None
    enabled: bool = True
    no_log: bool = False
    mail_on_error_only: bool = False

    @property
    def schedule_column(self) -> int:
        """Where the schedule starts in the line."""
        return self.spans.schedule[0]

    @property
    def env_dict(self) -> dict[str, str]:
        """The file's assignments for this job as a dict (later ones win)."""
        return dict(self.env)


class Crontab(NamedTuple):
    """A parsed crontab: every physical line, in order."""

    lines: tuple[Line, ...]
    path: str = "crontab"
    system: bool = False

    def render(self) -> str:
        """The file's text, byte for byte as read (plus any edits)."""
        return "".join(line.text + line.ending for line in self.lines)

    @property
    def entries(self) -> tuple[Entry, ...]:
        """Every job, enabled or not, in file order."""
        return tuple(line.job for line in self.lines if line.job is not None)

    @property
    def findings(self) -> tuple[Finding, ...]:
        """The errors of every invalid line."""
        return tuple(f for line in self.lines for f in line.findings)

    def find(self, job_id: str) -> Entry:
        """The job with this id; `JobNotFoundError`, naming the known ids, otherwise."""
        for entry in self.entries:
            if entry.id == job_id:
                return entry
        known = ", ".join(e.id for e in self.entries) or "none"
        raise JobNotFoundError(f"no job {job_id!r} in {self.path} (jobs: {known})")


# --------------------------------------------------------------------------- parsing


def parse(
    text: str, path: str | None = None, *, system: bool = False
) -> tuple[Crontab, list[Finding]]:
    """Read a crontab; returns the model and the errors of its bad lines.

    Bad lines stay in the model as `invalid` lines, so nothing is lost and
    the good jobs are all there. `system` reads the format of /etc/crontab
    and /etc/cron.d (a user column after the schedule).
    """
    reader = _Reader(path or "crontab", system)
    lines = tuple(reader.read(text))
    crontab = Crontab(lines, reader.path, system)
    return crontab, [f for line in lines for f in line.findings]


class _Reader:
    """The state of one pass over a file: env in force, pending options, ids."""

    def __init__(self, path: str, system: bool) -> None:
        self.path = path
        self.system = system
        self.env: dict[str, str] = {}
        # The same tuple for every job until the next assignment: jobs share it.
        self.env_items: tuple[tuple[str, str], ...] = ()
        self.tz: tzinfo | None = None
        self.tz_error: str | None = None
        self.pending: list[Line] = []  # option lines waiting for their job
        self.broken_options: set[int] = set()  # numbers of option lines with errors
        self.last_job = 0  # number of the last line read as a job (loaded or not)
        self.unattached: int | None = None  # an options comment the next job must answer for
        self.ids: dict[str, int] = {}  # id -> line
        self.twins: dict[str, int] = {}  # hash id -> how many jobs share it so far
        # Jobs laid out alike share one Spans: a crontab's lines mostly are.
        self.layouts: dict[Spans, Spans] = {}

    def read(self, text: str) -> Iterator[Line]:
        """Classify every physical line (split at LF, as cron does).

        A file saved with CRLF endings is read as cronie reads it: up to the LF,
        so the CR is the last character of the line's text (and `render()` gives
        it back). Per kind of line: a comment stays a comment; a line of only
        blanks and a CR is not blank but an error, as in cron; an assignment
        drops the CR after its value, quoted or not (cronie's isspace() skips it);
        `CRON_TZ` is an assignment like any other; an options comment reads its
        options without the CR; a job, also a disabled one, keeps the CR at the
        end of its command, or at the end of the last line of its `%` stdin, as
        cronie does; a schedule with no command after it (`@daily` then CR) is
        an error whose message names the CR. `pycron check` warns once per file
        (`crlf`).
        """
        physical = text.split("\n")
        last = physical.pop() if physical else ""
        endings = ["\n"] * len(physical)
        if last:
            physical.append(last)
            endings.append("")
        for number, raw, ending in zip(itertools.count(1), physical, endings):
            line = self._line(number, raw, ending)
            if line.kind is LineKind.OPTION or number in self.broken_options:
                self.pending.append(line)
                continue
            if self.pending:
                yield from self._flush_pending(line)
            yield line
        yield from self._flush_pending(None)

    def _flush_pending(self, following: Line | None) -> Iterator[Line]:
        """Option lines bind to the job line right after them; otherwise each is
        an error, and the first job below them will not load (see `_job`): the
        options may have been meant for it, so it must not run without them."""
        pending, self.pending = self.pending, []
        if following is not None and following.number == self.last_job:
            yield from pending
            return
        for line in pending:
            if self.unattached is None:
                self.unattached = line.number
            finding = self._error(
                line,
                0,
                f"this pycron options comment is not directly above a job: {_MOVE_OPTIONS}",
                "until then, the first job below it (if any) is not loaded",
            )
            yield line._replace(kind=LineKind.INVALID, findings=(*line.findings, finding))

    def _error(self, line: Line, column: int, message: str, hint: str | None = None) -> Finding:
        """An error at `line`; every error of the reader has the code `syntax`."""
        return Finding(self.path, line.number, column, Severity.ERROR, "syntax", message, hint)

    def _invalid(self, line: Line, column: int, message: str, hint: str | None = None) -> Line:
        finding = self._error(line, column, message, hint)
        return line._replace(kind=LineKind.INVALID, job=None, env=None, findings=(finding,))

    def _line(self, number: int, raw: str, ending: str) -> Line:
        line = Line(number, raw, ending, LineKind.INVALID)
        if "\0" in raw:
            return self._invalid(
                line, raw.index("\0"), "NUL byte in line: cron would split the line here; remove it"
            )
        # A character takes at most 4 bytes: only long lines need encoding to know.
        if (
            len(raw) > MAX_LINE_BYTES // 4
            and len(raw.encode("utf-8", "surrogateescape")) > MAX_LINE_BYTES
        ):
            return self._invalid(
                line,
                0,
                f"line longer than {MAX_LINE_BYTES} bytes: cron cuts it silently",
                "move the long command into a script",
            )
        if number == 1 and raw.startswith("\ufeff"):
            return self._invalid(
                line,
                0,
                "the file starts with a UTF-8 byte order mark (BOM), which cron does not skip",
                "save the file without BOM",
            )
        body = raw.lstrip(_BLANKS)
        indent = len(raw) - len(body)
        if not body:
            return line._replace(kind=LineKind.BLANK)
        if not body.strip(_BLANKS + "\r"):
            return self._invalid(
                line,
                indent + body.index("\r"),
                "a line with only a carriage return (CR) is not blank to cron",
                "save the file with LF line endings",
            )
        if raw.startswith(DISABLED_MARK):
            return self._job(line, raw[len(DISABLED_MARK) :], len(DISABLED_MARK), enabled=False)
        if body[0] == "#":
            return self._comment(line, body, indent)
        assignment = parse_assignment(body, indent)
        if assignment is not None:
            return self._assign(line, assignment)
        return self._job(line, raw, 0, enabled=True)

    def _comment(self, line: Line, body: str, indent: int) -> Line:
        after_hash = body[1:].lstrip(_BLANKS)
        if not after_hash.startswith(OPTION_PREFIX):
            return line._replace(kind=LineKind.COMMENT)
        column = indent + len(body) - len(after_hash) + len(OPTION_PREFIX)
        # The CR of a CRLF line ends the comment, as the LF does: cron never reads
        # it, so it is not made part of the last option's value.
        text = after_hash[len(OPTION_PREFIX) :].removesuffix("\r")
        try:
            items = _read_options(text, column)
            above = {key for option in self.pending for key, _ in option.options}
            for key, value, key_column, value_column in items:
                if key in above:
                    raise _LineError(
                        key_column, f"option {key!r} is already given in the pycron comment above"
                    )
                if key == "name" and value in self.ids:
                    raise _LineError(
                        value_column,
                        f"job name {value!r} is already used on "
                        f"line {self.ids[value]}: names must be unique",
                    )
        except _LineError as exc:
            self.broken_options.add(line.number)
            return self._invalid(line, exc.column, exc.message, exc.hint)
        return line._replace(
            kind=LineKind.OPTION,
            options=tuple((k, v) for k, v, _, _ in items),
            option_columns=tuple(column for _, _, _, column in items),
        )

    def _assign(self, line: Line, assignment: Assignment) -> Line:
        name, value = assignment.name, assignment.value
        self.env[name] = value
        self.env_items = tuple(self.env.items())
        if name == "CRON_TZ":
            self.tz, self.tz_error = None, None
            if value:
                try:
                    self.tz = resolve_tz(value)
                except UnknownTimeZoneError:
                    self.tz_error = f"unknown CRON_TZ {value!r} (line {line.number})"
                    return self._invalid(
                        line,
                        assignment.name_column,
                        f"unknown time zone {value!r} in CRON_TZ: the jobs below it cannot run",
                        "use an IANA name such as Europe/Berlin",
                    )
        return line._replace(kind=LineKind.ENV, env=assignment)

    def _job(self, line: Line, text: str, offset: int, *, enabled: bool) -> Line:
        """A job line; not loaded under options with errors or after options
        that did not attach to any job (they may have been meant for this one)."""
        self.last_job = line.number
        unattached, self.unattached = self.unattached, None
        broken = (
            [option.number for option in self.pending if option.kind is LineKind.INVALID]
            if self.pending
            else None
        )
        if broken:
            return self._invalid(
                line, 0, f"not loaded: its pycron options comment (line {broken[0]}) has errors"
            )
        if unattached is not None:
            return self._invalid(
                line,
                0,
                f"not loaded: the pycron options comment at line {unattached} "
                "does not attach to it",
                f"move line {unattached} directly above this job, or delete it",
            )
        try:
            entry = self._entry(line.number, text, offset, enabled)
        except _LineError as exc:
            return self._invalid(line, exc.column, exc.message, exc.hint)
        if self.tz_error:
            return self._invalid(line, entry.schedule_column, f"not loaded: {self.tz_error}")
        # By position: `_replace`, or `job=`, would cost a few % of the parse of a big crontab.
        return Line(line.number, line.text, line.ending, LineKind.JOB, None, entry)

    def _entry(self, number: int, text: str, offset: int, enabled: bool) -> Entry:
        """Read a job line (after an optional disable mark at `offset`)."""
        stripped = text.lstrip(_BLANKS)
        position = offset + len(text) - len(stripped)
        text = stripped
        no_log = text.startswith("-")
        if no_log:
            text, position = text[1:], position + 1
            if text[:1] in _BLANKS or not text:
                raise _LineError(
                    position, "'-' (do not log) must be followed directly by the schedule"
                )
        schedule, schedule_columns, rest, rest_column = _read_schedule(text, position, self.tz)
        user = user_column = option_column = None
        if self.system:
            user_column = rest_column
            user, rest, rest_column = _read_user(rest, rest_column)
        command_text = rest
        if command_text.startswith("-"):
            option_column = rest_column
            command_text, rest_column = _read_dash_option(command_text, rest_column)
        if not command_text.strip(_BLANKS):
            raise _LineError(
                rest_column,
                "missing command after the schedule",
                "cron rejects a job without a command",
            )
        if self.system is False and isinstance(schedule, Cron) and command_text[0] == "*":
            raise _LineError(
                rest_column,
                "a sixth field starting with '*': crontab schedules "
                "have 5 fields (no seconds or years)",
            )
        # A CRLF line's CR stays at the end of the command (or of its stdin), as in
        # cronie, which passes it on: the shell then looks for a command `cmd\r`,
        # usually in vain. pycron runs what cron would run; `check` warns (crlf).
        command, stdin = command_text, None
        percents: tuple[int, ...] = ()
        if "%" in command_text:  # most commands have none
            percents = _percents(command_text)
            command, stdin = _split_at(command_text, percents)
            percents = tuple(rest_column + index for index in percents)
        options = _DEFAULT_OPTIONS
        if self.pending:
            options = build_options((k, v) for option in self.pending for k, v in option.options)
        return Entry(  # by position: keywords would add 5% to the parse of a big crontab
            self._unique_id(options.name, schedule.text, command_text, number, position),
            number,
            schedule,
            command,
            stdin,
            self.env_items,
            options,
            self._layout(
                Spans(schedule_columns, rest_column, user_column, option_column, percents)
            ),
            user,
            enabled and options.enabled,
            no_log,
            option_column is not None,  # mail_on_error_only
        )

    def _layout(self, spans: Spans) -> Spans:
        """The Spans equal to `spans` that an earlier job has, else `spans`."""
        return self.layouts.setdefault(spans, spans)

    def _unique_id(
        self, name: str | None, schedule: str, command: str, number: int, column: int
    ) -> str:
        """The job's id: its name, else a hash of schedule and command; a
        repeated unnamed job gets -2, -3, ... in file order."""
        if name is not None:
            if name in self.ids:
                raise _LineError(
                    column,
                    f"job name {name!r} is already used on line "
                    f"{self.ids[name]}: names must be unique",
                )
            self.ids[name] = number
            return name
        base = sha256_hex(f"{schedule}\0{command}".encode("utf-8", "surrogateescape"))
        job_id = candidate = base[:10]
        count = self.twins.get(job_id, 1)
        while candidate in self.ids:
            count += 1
            candidate = f"{job_id}-{count}"
        self.twins[job_id] = count
        self.ids[candidate] = number
        return candidate


def parse_assignment(body: str, column: int = 0) -> Assignment | None:
    """An environment assignment (`NAME=value`, cron's quoting rules), or None
    if the line is not one (and is then a job line). `body` starts at `column`
    of its line (after the indent), so that the columns are the line's."""
    if "=" not in body:
        return None
    if body[0] in "'\"":
        end = body.find(body[0], 1)
        if end < 0:
            return None
        name, rest = body[1:end], body[end + 1 :]
        if "=" in name:
            return None
    else:
        end = 0
        while end < len(body) and body[end] not in _NAME_ENDS:
            end += 1
        name, rest = body[:end], body[end:]
    rest = rest.lstrip(_BLANKS)
    if not rest.startswith("="):
        return None
    rest = rest[1:].lstrip(_BLANKS)
    value_column = column + len(body) - len(rest)
    if rest[:1] in ("'", '"'):
        end = rest.find(rest[0], 1)
        if end < 0 or rest[end + 1 :].strip(_TRAILING):
            return None
        return Assignment(name, rest[1:end], column, value_column)
    return Assignment(name, rest.rstrip(_TRAILING), column, value_column)


def split_percent(text: str) -> tuple[str, str | None]:
    """Apply cron's `%` rule: (command, stdin or None).

    The first unescaped `%` ends the command; the rest is stdin, with each
    further unescaped `%` a newline, ended by a newline if it is not empty and
    has none (as cronie writes it). A backslash
    takes the next character as it is: `\\%` becomes `%` in both parts, any
    other pair stays as written (so in `\\\\%` the `%` still splits).
    """
    return _split_at(text, _percents(text))


def _percents(text: str) -> tuple[int, ...]:
    """The indices of the `%` that cron's rule splits `text` at: those that
    no backslash takes (see split_percent)."""
    if "%" not in text:  # most commands
        return ()
    return tuple(match.start() for match in _PERCENT_RULE.finditer(text) if match[0] == "%")


def _split_at(text: str, percents: tuple[int, ...]) -> tuple[str, str | None]:
    """split_percent, given the `%` that split `text` (from `_percents`). Every
    other `%` is escaped, so each `\\%` left in a part becomes `%`."""
    if not percents:
        return (text.replace("\\%", "%") if "%" in text else text), None
    bounds = (-1, *percents, len(text))
    parts = [text[start + 1 : end].replace("\\%", "%") for start, end in pairwise(bounds)]
    stdin = "\n".join(parts[1:])
    return parts[0], stdin + "\n" if stdin and not stdin.endswith("\n") else stdin


def _read_schedule(
    text: str, column: int, tz: tzinfo | None
) -> tuple[Schedule, tuple[int, ...], str, int]:
    """Read the schedule at the start of `text` -> (schedule, the columns of
    its tokens, rest after blanks, rest column)."""
    if text.startswith("@"):
        word_end = _token_end(text, 0)
        word = text[:word_end]
        kind = SCHEDULE_WORDS.get(word, _NICKNAME)
        if not kind.takes_value:
            return (kind.read(word, column, tz), (column,), *_skip_blanks(text, word_end, column))
        value_start = _skip_blanks(text, word_end, column)[1] - column
        value_end = _token_end(text, value_start)
        schedule = kind.read(text[value_start:value_end], column + value_start, tz)
        columns = (column, column + value_start)
        return (schedule, columns, *_skip_blanks(text, value_end, column))
    match = _FIVE_FIELDS.match(text)
    assert match is not None  # every part of the pattern may be empty
    regs = match.regs  # spelled out: this runs for every job of a 10,000-line crontab
    fields = text[: regs[5][1]]
    starts = (
        column + regs[1][0],
        column + regs[2][0],
        column + regs[3][0],
        column + regs[4][0],
        column + regs[5][0],
    )
    end = match.end()
    rest, rest_column = text[end:], column + end
    if "~" in fields:
        return (_random_cron(fields, text, column, tz), starts, rest, rest_column)
    return (_cron(fields, column, tz), starts, rest, rest_column)


def _token_end(text: str, start: int) -> int:
    end = start
    while end < len(text) and text[end] not in _BLANKS:
        end += 1
    return end


def _skip_blanks(text: str, start: int, column: int) -> tuple[str, int]:
    rest = text[start:].lstrip(_BLANKS)
    return rest, column + len(text) - len(rest)


def _cron(text: str, column: int, tz: tzinfo | None) -> Cron:
    """A Cron schedule; syntax errors are moved to the line's columns."""
    try:
        # The text as written where it is five words between single spaces already.
        normal = text if text.count(" ") == 4 and text.isprintable() else " ".join(text.split())
        return Cron(normal, CronExpression(text, tz))
    except CronSyntaxError as exc:
        message = exc.message
        if exc.position is not None:
            message = message.removesuffix(f"(column {exc.position})").rstrip()
        where = column + (exc.position if exc.position is not None else len(text))
        raise _LineError(where, message + _cr_note(text), exc.hint) from None


def _cr_note(text: str) -> str:
    """For the error about a schedule read up to the end of a CRLF line (`@daily`
    then CR, which cron rejects too): a note that names the CR, else ""."""
    if not text.endswith("\r"):
        return ""
    return " (the line ends with a carriage return, CR: save the file with LF endings)"


def _random_cron(fields: str, line: str, column: int, tz: tzinfo | None) -> Cron:
    """Substitute cronie's `~` random values, picked from a hash of the job's
    line (schedule and command), so that a reload or restart never moves the
    job while different jobs still spread out.

    The other fields are checked first with each random field blanked to `*`
    (same length), so their errors keep their columns.
    """
    tokens = fields.split()
    if len(tokens) != 5:
        return _cron(fields, column, tz)
    digest = sha256_bytes(line.encode("utf-8", "surrogateescape"))
    blanked, chosen = fields, []
    search = 0
    for index, token in enumerate(tokens):
        start = fields.index(token, search)
        search = start + len(token)
        if "~" not in token:
            chosen.append(token)
            continue
        blanked = blanked[:start] + "*".ljust(len(token)) + blanked[search:]
        chosen.append(str(_pick_random(token, index, column + start, digest[index])))
    _cron(blanked, column, tz)
    return Cron(" ".join(tokens), CronExpression(" ".join(chosen), tz), random=True)


def _pick_random(token: str, index: int, column: int, seed: int) -> int:
    """The value of a `lo~hi` field (either bound may be left out)."""
    values = FIELD_VALUES[index]  # day-of-week: Sunday once, as 0
    low, high = min(values), max(values)
    start, _, end = token.partition("~")
    field = FIELD_NAMES[index]
    if not all(part.isascii() and part.isdigit() for part in (start, end) if part) or "~" in end:
        raise _LineError(
            column,
            f"{field}: bad random range {token!r}: write lo~hi, ~hi, lo~ or ~ with plain numbers",
        )
    lo = int(start) if start else low
    hi = int(end) if end else high
    if not low <= lo <= hi <= high:
        raise _LineError(
            column, f"{field}: bad random range {token!r}: need {low} <= lo <= hi <= {high}"
        )
    return lo + seed % (hi - lo + 1)


# A cron nickname (`@daily`); any `@` word unknown here is read as one too, so
# that the expression reader says what is wrong with it.
_NICKNAME = ScheduleWord(_cron)
# Every `@` word that starts a schedule: a new kind of schedule is one entry here.
SCHEDULE_WORDS: dict[str, ScheduleWord] = {
    "@reboot": ScheduleWord(Reboot.read),
    "@every": ScheduleWord(Every.read, takes_value=True),
    "@at": ScheduleWord(At.read, takes_value=True),
    "@watch": ScheduleWord(Watch.read, takes_value=True),
    "@after": ScheduleWord(After.read, takes_value=True),
    **dict.fromkeys(NICKNAMES, _NICKNAME),
}


def _read_user(rest: str, column: int) -> tuple[str, str, int]:
    """The user column of the system format -> (user, rest, rest column)."""
    end = _token_end(rest, 0)
    if end == 0:
        raise _LineError(column, "missing user after the schedule (system crontab format)")
    return (rest[:end], *_skip_blanks(rest, end, column))


def _read_dash_option(text: str, column: int) -> tuple[str, int]:
    """cronie's `-n` before the command (mail only on failure); others are errors."""
    end = _token_end(text, 0)
    rest, rest_column = _skip_blanks(text, end, column)
    if text[:end] != "-n" or not rest or rest.startswith("-"):
        raise _LineError(
            column,
            f"bad option {text[:end]!r} before the command: cron knows "
            "only '-n' followed by a command",
        )
    return rest, rest_column


# --------------------------------------------------------------------------- edits


def _reparse(crontab: Crontab, text: str) -> Crontab:
    return parse(text, crontab.path, system=crontab.system)[0]


def _options_above(crontab: Crontab, index: int) -> int:
    """Index of the first option line directly above line `index`."""
    start = index
    while start > 0 and crontab.lines[start - 1].kind is LineKind.OPTION:
        start -= 1
    return start


def _job_index(crontab: Crontab, job_id: str) -> int:
    entry = crontab.find(job_id)
    return next(i for i, line in enumerate(crontab.lines) if line.job is entry)


def _replace_lines(crontab: Crontab, start: int, stop: int, texts: Iterable[str]) -> Crontab:
    """A new Crontab with lines [start, stop) replaced by `texts` (each given its LF)."""
    before = [line.text + line.ending for line in crontab.lines[:start]]
    after = [line.text + line.ending for line in crontab.lines[stop:]]
    return _reparse(crontab, "".join([*before, *(t + "\n" for t in texts), *after]))


def add_lines(crontab: Crontab, texts: Iterable[str]) -> Crontab:
    """Append lines at the end (a last line without LF first gets its LF).

    Refused when the file ends with a pycron options comment: it would attach
    to the first added line and give that job options it was not added with.
    """
    last = crontab.lines[-1] if crontab.lines else None
    if last is not None and last.options:
        message = (
            "the file ends with a pycron options comment, which would attach to the "
            f"added job: {_MOVE_OPTIONS}"
        )
        raise invalid_crontab(
            [Finding(crontab.path, last.number, 0, Severity.ERROR, "syntax", message)]
        )
    body = crontab.render()
    if body and not body.endswith("\n"):
        body += "\n"
    return _reparse(crontab, body + "".join(t + "\n" for t in texts))


def remove_job(crontab: Crontab, job_id: str) -> Crontab:
    """Remove a job's line and the options comment bound to it."""
    index = _job_index(crontab, job_id)
    return _replace_lines(crontab, _options_above(crontab, index), index + 1, [])


def disable_job(crontab: Crontab, job_id: str) -> Crontab:
    """Comment a job out behind DISABLED_MARK (plain cron then ignores it too)."""
    index = _job_index(crontab, job_id)
    line = crontab.lines[index]
    if line.text.startswith(DISABLED_MARK):
        return crontab
    return _replace_lines(crontab, index, index + 1, [DISABLED_MARK + line.text])


def enable_job(crontab: Crontab, job_id: str) -> Crontab:
    """Undo disable_job: the line comes back exactly as it was."""
    index = _job_index(crontab, job_id)
    line = crontab.lines[index]
    if not line.text.startswith(DISABLED_MARK):
        return crontab
    return _replace_lines(crontab, index, index + 1, [line.text[len(DISABLED_MARK) :]])


def job_lines(line: str, options: Mapping[str, str]) -> list[str]:
    """A job line preceded by the `# pycron:` comment of its options, if any."""
    if not options:
        return [line]
    items = " ".join(
        f'{key}="{value}"' if any(c in value for c in _BLANKS) else f"{key}={value}"
        for key, value in options.items()
    )
    return [f"# {OPTION_PREFIX} {items}", line]


# --------------------------------------------------------------------------- the file


_CRONTAB_OPTION = "--crontab"  # how to choose another crontab, for error messages


class CrontabFile:
    """A crontab on disk: locked reads, validated atomic installs.

    Every change goes through `update`: take the lock (a sibling `.lock`
    file, never the crontab itself), read, apply a pure edit, render,
    re-parse to validate, write a temporary file in the same directory,
    fsync, keep the previous version as `<name>.bak`, and `os.replace`.
    A result with errors is never installed. Mode and owner are kept.
    """

    def __init__(self, path: str | os.PathLike[str], *, system: bool = False) -> None:
        self.path = Path(path)
        self.system = system

    @property
    def lock_path(self) -> Path:
        """The sibling lock file."""
        return self.path.with_name(self.path.name + ".lock")

    @property
    def backup_path(self) -> Path:
        """Where the previous version is kept."""
        return self.path.with_name(self.path.name + ".bak")

    def read_text(self) -> str:
        """The file's text ('' if it does not exist yet)."""
        with file_errors(self.path, "read the crontab", _CRONTAB_OPTION):
            try:
                return self.path.read_bytes().decode("utf-8", "surrogateescape")
            except FileNotFoundError:
                return ""

    def load(self) -> tuple[Crontab, list[Finding]]:
        """Parse the file as it is now."""
        return parse(self.read_text(), str(self.path), system=self.system)

    def update(self, edit: Callable[[Crontab], Crontab]) -> Crontab:
        """Apply `edit` under the lock and install the result if it is valid."""
        with file_errors(self.path, "change the crontab", _CRONTAB_OPTION), self._lock():
            current, _ = self.load()
            changed = edit(current)
            text = changed.render()
            checked, errors = parse(text, str(self.path), system=self.system)
            if errors:
                raise invalid_crontab(errors)
            if text != current.render():
                self._install(text)
            return checked

    def check_writable(self) -> None:
        """Raise StorageError now if a change could not be installed: take the
        lock and write the current text to a temporary file beside the crontab
        (then remove it). `edit` asks before it opens the editor, so that no
        one edits a copy that cannot be installed. (An empty crontab on a full
        disk still passes: writing nothing needs no space.)"""
        with file_errors(self.path, "change the crontab", _CRONTAB_OPTION), self._lock():
            self._write_temporary(self.path.name, _encode(self.read_text())).unlink()

    def install_text(self, text: str, expected: str | None = None) -> Crontab:
        """Install a whole new text; with `expected`, only if the file still holds it."""

        def replace(current: Crontab) -> Crontab:
            if expected is not None and current.render() != expected:
                raise ConcurrentEditError(
                    f"{self.path} changed while it was being edited; your version was not installed"
                )
            return parse(text, str(self.path), system=self.system)[0]

        return self.update(replace)

    def _lock(self) -> LockFile:
        """The lock on the crontab's sibling `.lock` file (its directory made if missing)."""
        from pycron.locks import LockFile  # noqa: PLC0415 - only editing commands need it

        self.path.parent.mkdir(parents=True, exist_ok=True)
        return LockFile(self.lock_path)

    def _install(self, text: str) -> None:
        try:
            status: os.stat_result | None = self.path.stat()
        except FileNotFoundError:
            status = None
        temporary = self._write_temporary(self.path.name, _encode(text))
        try:
            if status is not None:
                os.chmod(temporary, status.st_mode & 0o7777)
                if hasattr(os, "chown") and (status.st_uid, status.st_gid) != (
                    os.getuid(),
                    os.getgid(),
                ):
                    os.chown(temporary, status.st_uid, status.st_gid)
                self._backup()
            os.replace(temporary, self.path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        _fsync_directory(self.path.parent)

    def _backup(self) -> None:
        """Copy the current file to the backup path (atomically, via its own temp file)."""
        temporary = self._write_temporary(self.backup_path.name, self.path.read_bytes())
        os.replace(temporary, self.backup_path)

    def _write_temporary(self, name: str, data: bytes) -> Path:
        """A new file `.<name>.XXXXXXXX` beside the crontab holding `data`, on
        disk (fsync); removed again if it cannot be written whole (a full disk),
        so that a failed change leaves nothing behind."""
        import tempfile  # noqa: PLC0415 - only the editing commands write the file

        handle, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=self.path.parent)
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return Path(temporary)


def _encode(text: str) -> bytes:
    """A crontab's text as the bytes on disk (undecodable bytes kept as they were read)."""
    return text.encode("utf-8", "surrogateescape")


def _fsync_directory(directory: Path) -> None:
    """Make a rename durable (where the platform allows opening a directory)."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def untrusted(path: Path, *, euid: int) -> str | None:
    """Why pycron, running as user `euid`, must not act on a crontab or state
    directory at `path` (a message naming the path, its mode or owner, and
    the fix), or None where it may.

    Whoever can write either one can run commands as the user pycron runs
    as, so, as cron refuses such crontabs: it must belong to that user (or
    to root, who can do so anyway), no other user may write it, and when
    pycron runs as root not even its group may. (Group-writable files are
    left to other users, whose private groups often make them so.)
    A missing path is not refused here: there is nothing to trust yet.
    """
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    except OSError as error:
        return f"{path}: cannot check its owner and mode: {error.strerror}"
    runner = _user_name(euid)
    if status.st_uid not in (euid, 0):
        return (
            f"{path}: owned by {_user_name(status.st_uid)}, who could then run commands as "
            f"{runner}; `chown {runner} {path}`, or run pycron as its owner"
        )
    mode = stat.S_IMODE(status.st_mode)
    writers = "others" if mode & 0o002 else "its group" if mode & 0o020 and euid == 0 else None
    if writers is None:
        return None
    return (
        f"{path}: writable by {writers} (mode {mode:04o}), who could then run commands as "
        f"{runner}; `chmod go-w {path}`"
    )


def _user_name(uid: int) -> str:
    """A user's name from the password database, else the number."""
    import pwd  # noqa: PLC0415 - POSIX only, and only the trust check needs it

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def random_delay(value: str) -> int | None:
    """The minutes of cronie's `RANDOM_DELAY=N` (the jobs below it start up to N
    minutes late); None for a value that is not a whole number of minutes,
    which cronie, and so pycron, ignores."""
    text = value.strip()
    return int(text) if text.isascii() and text.isdigit() else None
