"""Lint: the warnings of `pycron check`.

`lint(crontab, now)` looks at a parsed crontab for lines that cron reads
differently from what their author probably meant, or that other crons
(cronie, Debian's cron) read differently from pycron. Errors are not repeated
here: the parser has already put them in `crontab.findings`. The errors found
here are those that do not stop a job: a `notify=` target that the alert
library cannot use (`notify-target`) and a bad value of a soft option such as
`notify-on` (`option-value`); the job still loads, without what they meant.

Each warning has a stable code and points at the token concerned. There is
one small check function per code, listed in the tables at the bottom of the
module (file-wide checks, assignment checks, job checks); adding a check is
adding a row. Disabled jobs are not linted: cron does not see them either.

Pure like the rest of the core: time comes in as `now` (the "next 12 months"
of the `dst` and `rare` checks), the zone of the daemon as `local_tz`, the
known users as `users`, "does this command exist in this PATH" as the
`which` callable, "does this path exist" as `exists`, "why can alerts not
go to this URL" as `check_target` and whether mail can be sent as
`mail_transport`, so nothing here reads the clock, files or processes, nor
loads apprise.
"""

from __future__ import annotations

import calendar
import functools
import posixpath
import re
from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import datetime, timedelta, tzinfo
from typing import Final, NamedTuple

from pycron.crontab import (
    CRON_PATH,
    DISABLED_MARK,
    JOB_OPTIONS,
    After,
    Cron,
    Crontab,
    Entry,
    Finding,
    Line,
    LineKind,
    MailOn,
    Reboot,
    Severity,
    Spans,
    Watch,
    random_delay,
)
from pycron.errors import NoMatchError
from pycron.explain import OCCURRENCES, dst_notes, join_words
from pycron.expr import (
    DOM,
    DOW,
    DOW_LONG_NAMES,
    FIELD_MAX,
    FIELD_NAMES,
    FIELD_VALUES,
    HOUR,
    MINUTE,
    MONTH,
    MONTH_LONG_NAMES,
    CronExpression,
    Field,
    Item,
    ItemKind,
    Transition,
    zone_transitions,
)
from pycron.graph import upstreams, without_cycles
from pycron.notify import redact

DEBIAN_PATH: Final = "/usr/bin:/bin"  # Debian's
MAX_DEBIAN_COMMAND: Final = 998  # Debian's cron refuses a file with a longer command
MAX_CRONIE_ASSIGNMENTS: Final = 1000  # cronie refuses a file with more
MAX_CRONIE_JOBS: Final = 10_000

_BLANKS: Final = " \t"
_ONE_MINUTE: Final = timedelta(minutes=1)
_DST_WINDOW: Final = timedelta(days=370)  # covers dst_notes' 12 calendar months
# The length of the cycle a step restarts in; day-of-month has none (months differ in length).
_CYCLES: Final = {index: len(FIELD_VALUES[index]) for index in (MINUTE, HOUR, MONTH, DOW)}
_CYCLE_NAMES: Final = {MINUTE: "hour", HOUR: "day", MONTH: "year", DOW: "week"}
_UNITS: Final = {MINUTE: "minute", HOUR: "hour", MONTH: "month", DOW: "day"}
# A command token that looks like a schedule field: `2024`, `1-5`, `0,30`, `?`, `15W`, `1#2`.
_FIELD_LIKE: Final = re.compile(r"[0-9?][0-9?,/#LWlw-]*")
# The same as a whole word at the start of a text (up to a blank or the end).
_FIELD_LIKE_WORD: Final = re.compile(rf"{_FIELD_LIKE.pattern}(?=[ \t]|\Z)")
# Where the first word of a command ends for the shell.
_WORD_END: Final = re.compile(r"[ \t;|&<>()]")
# First words that are no program to look up in PATH: shell keywords and builtins.
_SHELL_WORD_LIST: Final = (
    "! . : [ [[ { alias bg break builtin case cd command continue declare echo eval exec exit "
    "export false fc fg for function getopts hash if jobs kill let local printf pwd read "
    "readonly return select set shift source test time times trap true type typeset ulimit "
    "umask unalias unset until wait while"
)
_SHELL_WORDS: Final = frozenset(_SHELL_WORD_LIST.split())


# --------------------------------------------------------------------------- the entry point


def lint(
    crontab: Crontab,
    now: datetime,
    *,
    which: Callable[[str, str], bool] | None = None,
    exists: Callable[[str], bool] | None = None,
    users: Collection[str] | None = None,
    local_tz: tzinfo | None = None,
    check_target: Callable[[str], str | None] | None = None,
    mail_transport: bool | None = None,
    only: Collection[str] | None = None,
) -> list[Finding]:
    """The warnings of `pycron check` for a parsed crontab, in line order.

    `now` starts the 12 months the `dst` and `rare` checks look at (aware, or
    naive wall time). `which(word, path)` tells whether a command word exists
    in a PATH; without it, `relative-command` only flags relative paths.
    `exists(path)` tells whether a `@watch` PATH exists (as written: `~`
    and relative paths are the caller's to read); without it, paths are
    not checked.
    `users` are the known user names: in a system crontab a user outside them
    is flagged (not checked when None); in a user crontab a command starting
    with one of them is (default: `root`). `local_tz` is the daemon's zone,
    so that jobs without CRON_TZ get the `dst` check too. `check_target(url)`
    says why alerts cannot go to a `notify=` URL (None if they can); without
    it, targets are not checked. `mail_transport` says whether the daemon has
    a way to send mail (SMTP or sendmail): without one, a MAILTO mails nobody
    (not checked when None). `only` limits the checks to these codes (the
    daemon's `LOAD_CHECKS`).
    """
    context = _Context(
        crontab, now, which, exists, users, local_tz, check_target, {}, mail_transport
    )
    file_checks = [(code, check) for code, check in FILE_CHECKS if only is None or code in only]
    env_checks = [(code, check) for code, check in ENV_CHECKS if only is None or code in only]
    job_checks = [(code, check) for code, check in JOB_CHECKS if only is None or code in only]
    hits: list[tuple[str, _Hit]] = []
    for code, file_check in file_checks:
        hits.extend((code, hit) for hit in file_check(context))
    for env in _assignments(crontab) if env_checks else ():
        for code, env_check in env_checks:
            hits.extend((code, hit) for hit in env_check(env, context))
    for job in _jobs(crontab) if job_checks else ():
        for code, job_check in job_checks:
            hits.extend((code, hit) for hit in job_check(job, context))
    hits.sort(key=lambda found: (found[1].line, found[1].column))  # stable: table order
    return [
        Finding(crontab.path, hit.line, hit.column, hit.severity, code, hit.message, hit.hint)
        for code, hit in hits
    ]


# --------------------------------------------------------------------------- views


class _Hit(NamedTuple):
    """One warning before it becomes a Finding (the code comes from the table)."""

    line: int
    column: int
    message: str
    hint: str | None = None
    severity: Severity = Severity.WARNING


class _Context(NamedTuple):
    """What every check may use besides its line."""

    crontab: Crontab
    now: datetime
    which: Callable[[str, str], bool] | None
    exists: Callable[[str], bool] | None
    users: Collection[str] | None
    local_tz: tzinfo | None
    check_target: Callable[[str], str | None] | None
    transitions: dict[tzinfo, list[Transition]]  # per zone, filled on demand
    mail_transport: bool | None


class _Job(NamedTuple):
    """An enabled job line (the columns of its parts are in `entry.spans`)."""

    line: Line
    entry: Entry

    @property
    def spans(self) -> Spans:
        """Where the parts of the line are."""
        return self.entry.spans

    @property
    def command_text(self) -> str:
        """The command as written (before the `%` rule)."""
        return self.line.text[self.spans.command :]

    @property
    def path(self) -> str:
        """The PATH the job runs with."""
        return self.entry.env_dict.get("PATH", CRON_PATH)

    def at(self, column: int, message: str, hint: str | None = None) -> _Hit:
        return _Hit(self.line.number, column, message, hint)

    def field_column(self, index: int) -> int:
        """Where a field of a Cron schedule is written (a nickname's fields are
        all at the nickname)."""
        columns = self.spans.schedule
        return columns[index] if len(columns) == len(FIELD_NAMES) else columns[0]

    def item_column(self, field: Field, item: Item) -> int:
        """An item's column in the line (the expression may be a nickname's
        expansion or hold substituted random values)."""
        return self.field_column(field.index) + item.column - field.column


class _Env(NamedTuple):
    """An assignment line with the columns of its parts and the values set above it."""

    line: Line
    name: str
    value: str
    name_column: int
    value_column: int  # the opening quote of a quoted value
    quoted: bool
    before: dict[str, str]

    def at(self, column: int, message: str, hint: str | None = None) -> _Hit:
        return _Hit(self.line.number, column, message, hint)


def _jobs(crontab: Crontab) -> Iterator[_Job]:
    for line in crontab.lines:
        if line.job is not None and line.job.enabled:
            yield _Job(line, line.job)


def _assignments(crontab: Crontab) -> Iterator[_Env]:
    before: dict[str, str] = {}
    for line in crontab.lines:
        if line.env is None:
            continue
        name, value, name_column, value_column = line.env
        quoted = line.text[value_column : value_column + 1] in ("'", '"')
        yield _Env(line, name, value, name_column, value_column, quoted, dict(before))
        before[name] = value


# --------------------------------------------------------------------------- words


def _first_word(command: str) -> str:
    """The first word of a shell command, up to a blank or an operator."""
    text = command.lstrip(_BLANKS)
    match = _WORD_END.search(text)
    return text[: match.start()] if match else text.rstrip("\r")


def _naive(expr: CronExpression) -> CronExpression:
    return CronExpression(expr.text) if expr.tz is not None else expr


def _naive_now(now: datetime) -> datetime:
    return now.replace(tzinfo=None)


def _day_culprit(job: _Job, expr: CronExpression) -> int:
    """The column to blame for the days a job runs on: day-of-month unless it is a star."""
    dom, dow = expr.fields[DOM], expr.fields[DOW]
    return job.field_column(DOW if dom.star and not dow.star else DOM)


# --------------------------------------------------------------------------- file checks


def _no_final_newline(context: _Context) -> Iterator[_Hit]:
    lines = context.crontab.lines
    if not lines or lines[-1].ending:
        return
    last = lines[-1]
    what = "cronie drops this job" if last.kind is LineKind.JOB else "cronie drops this line"
    yield _Hit(
        last.number,
        len(last.text),
        f"the last line has no newline at its end: {what} and Debian's cron ignores the "
        "whole file (pycron reads it)",
        "end the file with a newline",
    )


def _crlf(context: _Context) -> Iterator[_Hit]:
    for line in context.crontab.lines:
        if line.text.endswith("\r") and line.ending == "\n":
            yield _Hit(
                line.number,
                len(line.text) - 1,
                "the file has Windows line endings (CR LF): cron keeps the CR at the end of "
                "each command, so the last word of each command ends with a CR",
                "save the file with LF line endings: dos2unix FILE, or sed -i 's/\\r$//' FILE",
            )
            return


def _file_limits(context: _Context) -> Iterator[_Hit]:
    """cronie refuses a file with over 1,000 assignments or 10,000 jobs."""
    assignments = jobs = 0
    for line in context.crontab.lines:
        if line.env is not None:
            assignments += 1
            if assignments == MAX_CRONIE_ASSIGNMENTS + 1:
                yield _Hit(
                    line.number,
                    0,
                    f"more than {MAX_CRONIE_ASSIGNMENTS} assignments: "
                    "cronie refuses the whole file",
                )
        elif line.job is not None and not line.text.startswith(DISABLED_MARK):
            jobs += 1
            if jobs == MAX_CRONIE_JOBS + 1:
                yield _Hit(
                    line.number,
                    0,
                    f"more than {MAX_CRONIE_JOBS} jobs: cronie refuses the whole file",
                    "split the file",
                )


def _notify_targets(context: _Context) -> Iterator[_Hit]:
    """Each `notify=` URL above an enabled job that alerts cannot go to."""
    check = context.check_target
    if check is None:
        return
    above: list[Line] = []  # the options comments directly above the line
    for line in context.crontab.lines:
        if line.kind is LineKind.OPTION:
            above.append(line)
            continue
        if line.job is not None and line.job.enabled:
            for option in above:
                yield from _bad_targets(option, check)
        above = []


def _soft_options(context: _Context) -> Iterator[_Hit]:
    """Each bad value of a soft option (`notify-on`) above a job: the job runs,
    without what the value meant."""
    for line in context.crontab.lines:
        if line.kind is not LineKind.OPTION:
            continue
        for (key, value), column in zip(line.options, line.option_columns, strict=True):
            spec = JOB_OPTIONS[key]
            if not spec.soft:
                continue
            try:
                spec.check(value)
            except ValueError as error:
                yield _Hit(
                    line.number,
                    column,
                    f"{error} (the job runs without it)",
                    severity=Severity.ERROR,
                )


def _bad_targets(option: Line, check: Callable[[str], str | None]) -> Iterator[_Hit]:
    for (key, value), column in zip(option.options, option.option_columns, strict=True):
        if key != "notify":
            continue
        start = column + (option.text[column : column + 1] == '"')
        for item in value.split(","):
            url = item.strip()
            problem = check(url)
            if problem is not None:
                yield _Hit(
                    option.number,
                    start + len(item) - len(item.lstrip()),
                    f"notify target {redact(url)!r}: {problem} (the job runs, this target "
                    "gets no alerts)",
                    "write an apprise URL, such as json://host/path, ntfys://topic or "
                    "slack://TOKEN_A/TOKEN_B/TOKEN_C",
                    Severity.ERROR,
                )
            start += len(item) + 1


def _duplicate_jobs(context: _Context) -> Iterator[_Hit]:
    """Unnamed jobs with the same schedule and command share an id but for a -2 suffix."""
    seen: dict[tuple[str, str, str | None], int] = {}
    for line in context.crontab.lines:
        entry = line.job
        if entry is None or entry.options.name is not None:
            continue
        key = (entry.schedule.text, entry.command, entry.stdin)
        first = seen.setdefault(key, line.number)
        if first != line.number and entry.enabled:
            yield _Hit(
                line.number,
                entry.schedule_column,
                f"the same schedule and command as line {first}: this job's id is "
                f"{entry.id!r}, which changes when the lines move",
                "give one a name: put '# pycron: name=...' on the line above it",
            )


def _after_unknown(context: _Context) -> Iterator[_Hit]:
    """An `@after` job id that no job of the file has: the job never starts."""
    entries = context.crontab.entries
    known = {entry.id for entry in entries}
    for entry in entries:
        schedule = entry.schedule
        if not isinstance(schedule, After):
            continue
        column = entry.spans.schedule[-1]  # where the list of ids starts
        for job_id in schedule.jobs:
            if job_id not in known:
                yield _Hit(
                    entry.line,
                    column,
                    f"@after: no job {job_id!r} in this file, so this job never starts",
                    f"jobs: {', '.join(sorted(known))}",
                    Severity.ERROR,
                )
            column += len(job_id) + 1


class _Required(NamedTuple):
    """One id of a `requires=` above an enabled job: where it is written, and
    the job of the file it names (None: no job has it)."""

    line: int
    column: int
    job_id: str
    entry: Entry | None


def _requirements(context: _Context) -> Iterator[_Required]:
    """The ids of the `requires=` options of the enabled jobs, in file order."""
    entries = {entry.id: entry for entry in context.crontab.entries}
    above: list[Line] = []  # the options comments directly above the line
    for line in context.crontab.lines:
        if line.kind is LineKind.OPTION:
            above.append(line)
            continue
        if line.job is not None and line.job.enabled:
            for option in above:
                for (key, value), column in zip(option.options, option.option_columns, strict=True):
                    if key != "requires":
                        continue
                    start = column + (option.text[column : column + 1] == '"')
                    for job_id in value.split(","):
                        yield _Required(option.number, start, job_id, entries.get(job_id))
                        start += len(job_id) + 1
        above = []


def _requires_unknown(context: _Context) -> Iterator[_Hit]:
    """A `requires=` id that no job of the file has: the job is blocked at every run."""
    known = sorted(entry.id for entry in context.crontab.entries)
    for required in _requirements(context):
        if required.entry is None:
            yield _Hit(
                required.line,
                required.column,
                f"requires: no job {required.job_id!r} in this file, so this job is always blocked",
                f"jobs: {', '.join(known)}",
                Severity.ERROR,
            )


def _requires_idle(context: _Context) -> Iterator[_Hit]:
    """A `requires=` id whose job never runs on its own (disabled, or `@reboot`
    only): its latest run may be long past, or never come."""
    for required in _requirements(context):
        entry = required.entry
        if entry is None or (entry.enabled and not isinstance(entry.schedule, Reboot)):
            continue
        never = "is disabled" if not entry.enabled else "runs only at @reboot"
        yield _Hit(
            required.line,
            required.column,
            f"requires: job {required.job_id!r} {never}, so its latest run may be long past",
            "require a job that runs on a schedule, or drop it from requires=",
        )


def _after_cycle(context: _Context) -> Iterator[_Hit]:
    """Jobs that run after each other in a circle: none of them ever starts.
    Reported at the `@after` list of the cycle's first job in the file."""
    entries = {entry.id: entry for entry in context.crontab.entries}
    for cycle in without_cycles(upstreams(entries.values()))[1]:
        entry = entries[cycle[0]]
        yield _Hit(
            entry.line,
            entry.spans.schedule[-1],
            f"cycle: {' -> '.join(cycle)}",
            "each of these jobs waits for the next: none of them ever starts",
            Severity.ERROR,
        )


# --------------------------------------------------------------------------- assignment checks


def _env_expansion(env: _Env, context: _Context) -> Iterator[_Hit]:
    value = env.value
    if "$" not in value and not value.startswith("~"):
        return
    symbol = "~" if value.startswith("~") else "$"
    column = env.value_column + int(env.quoted) + value.index(symbol)
    yield env.at(
        column,
        f"cron does not expand {symbol!r} in assignments: {env.name or 'the variable'} is "
        f"set to the text {value!r}",
        _expanded_hint(env),
    )


def _expanded_hint(env: _Env) -> str:
    """A rewrite with what is known: PATH and HOME set above, else cronie's PATH."""
    known = {"PATH": env.before.get("PATH", CRON_PATH)}
    if "HOME" in env.before:
        known["HOME"] = env.before["HOME"]
    value = env.value
    if value.startswith("~") and "HOME" in known:
        value = known["HOME"] + value[1:]
    for name, replacement in known.items():
        value = value.replace(f"${{{name}}}", replacement).replace(f"${name}", replacement)
    if "$" in value or value.startswith("~"):
        return "write the value out in full"
    return f"write the value out in full: {env.name}={value}"


def _env_special(env: _Env, context: _Context) -> Iterator[_Hit]:
    name = env.name
    if not name:
        yield env.at(
            env.name_column,
            "assignment with an empty name: cron sets a variable "
            "without a name, pycron exports nothing",
        )
    if not env.value and not env.quoted:
        yield env.at(
            env.value_column,
            f"empty unquoted value: Debian's cron rejects '{name}=' (cronie sets it empty)",
            f'write {name}=""',
        )
    if name == "TZ":
        yield env.at(
            env.name_column,
            "TZ sets the time zone of the jobs' environment, not of their schedule",
            f"for the schedule write CRON_TZ={env.value}" if env.value else None,
        )
    elif name == "CRON_TZ":
        yield env.at(
            env.name_column,
            "Debian's cron ignores CRON_TZ: there the jobs below run in the daemon's time zone",
        )
    elif name == "RANDOM_DELAY":
        if random_delay(env.value) is None:
            yield env.at(
                env.value_column,
                f"RANDOM_DELAY={env.value} is not a whole number of minutes: "
                "cronie and pycron ignore it",
                "write RANDOM_DELAY=N, N minutes",
            )
        else:
            yield env.at(
                env.name_column,
                "RANDOM_DELAY delays the jobs below by up to that many minutes in cronie and "
                "pycron; Debian's cron ignores it and runs them on time",
            )


def _under(env: _Env, crontab: Crontab) -> Iterator[Entry]:
    """The enabled jobs an assignment is in force for: those below it, up to
    the next assignment of the same name."""
    for line in crontab.lines[env.line.number :]:
        if line.env is not None and line.env.name == env.name:
            return
        if line.job is not None and line.job.enabled:
            yield line.job


def _no_mail_transport(env: _Env, context: _Context) -> Iterator[_Hit]:
    if env.name != "MAILTO" or not env.value or context.mail_transport is not False:
        return
    if any(job.options.mail_on is not MailOn.NEVER for job in _under(env, context.crontab)):
        yield env.at(
            env.value_column,
            "MAILTO is set but no mail can be sent: no SMTP server is given and there is no "
            "sendmail",
            "start the daemon with --smtp URL (or PYCRON_SMTP) or --sendmail PROGRAM",
        )


# --------------------------------------------------------------------------- command checks


def _pycron_only(job: _Job, context: _Context) -> Iterator[_Hit]:
    schedule = job.entry.schedule
    objection = schedule.plain_cron()
    if objection is not None:
        problem, hint = objection
        yield job.at(
            job.entry.schedule_column, f"'{schedule.text}' is a pycron schedule: {problem}", hint
        )


def _escape_percents(job: _Job) -> str:
    """The command as written with every `%` that cron splits at written `\\%`."""
    text = job.line.text
    pieces: list[str] = []
    start = job.spans.command
    for column in job.spans.percents:
        pieces += (text[start:column], "\\")
        start = column
    pieces.append(text[start:])
    return "".join(pieces).rstrip("\r")


def _percent(job: _Job, context: _Context) -> Iterator[_Hit]:
    if not job.spans.percents:
        return
    yield job.at(
        job.spans.percents[0],
        f"cron ends the command at this '%' and feeds the rest to its standard input: "
        f"it runs {job.entry.command!r}",
        f"for a literal percent sign write '\\%': {_escape_percents(job)}",
    )


def _empty_command(job: _Job, context: _Context) -> Iterator[_Hit]:
    if job.entry.command.strip(_BLANKS):
        return
    yield job.at(
        job.spans.command,
        "the command is empty: everything after '%' is its standard input, so nothing useful runs",
        "write '\\%' if the '%' belongs to the command",
    )


def _watch_missing(job: _Job, context: _Context) -> Iterator[_Hit]:
    """A `@watch` PATH that does not exist (yet): a typo never runs the job."""
    schedule = job.entry.schedule
    if not isinstance(schedule, Watch) or context.exists is None:
        return
    if not context.exists(schedule.path):
        yield job.at(
            job.spans.schedule[-1],
            f"@watch: {schedule.path} does not exist: the job runs once it appears, "
            "watched from its nearest existing parent until then",
            "check the path (a relative one is read from the daemon's working directory)",
        )


def _watch_loop(job: _Job, context: _Context) -> Iterator[_Hit]:
    """A `@watch` job whose command names its own watched path: what it
    writes there is a change, which runs it again, in a loop."""
    schedule = job.entry.schedule
    if not isinstance(schedule, Watch):
        return
    path = posixpath.normpath(schedule.path)
    mention = re.compile(rf"(?<![\w./~-])(?:\./)?{re.escape(path)}(?![\w.-])")
    found = mention.search(job.command_text)
    if found is None:
        return
    yield job.at(
        job.spans.command + found.start(),
        f"the command names its own watched path {schedule.path}: whatever it writes "
        "there runs it again, after each debounce",
        "write elsewhere, outside the watched path",
    )


def _six_fields(job: _Job, context: _Context) -> Iterator[_Hit]:
    if not isinstance(job.entry.schedule, Cron):
        return
    if job.entry.user is not None and _FIELD_LIKE.fullmatch(job.entry.user):
        assert job.spans.user is not None
        yield job.at(
            job.spans.user,
            f"'{job.entry.user}' after the schedule is read as the user: crontab schedules "
            "have 5 fields (no seconds or year)",
        )
        return
    match = _FIELD_LIKE_WORD.match(job.command_text)
    if match is None:
        return
    token = match[0]
    command = job.entry.command.rstrip("\r")
    yield job.at(
        job.spans.command,
        f"'{token}' after the schedule starts the command (cron runs "
        f"{command!r}): crontab schedules have 5 fields "
        "(no seconds or year)",
        "remove it; to limit a job to a year, test the date in the command",
    )


def _names_user(job: _Job, context: _Context) -> bool:
    """True if a user crontab's command looks like `USER COMMAND`: a user name that is
    no program in the job's PATH, followed by a word that is not an option (so that
    `mail -s hi joe` passes where `mail` is also a user)."""
    if context.crontab.system:
        return False
    words = job.entry.command.split(maxsplit=2)
    names = context.users if context.users is not None else ("root",)
    if len(words) < 2 or words[0] not in names or words[1].startswith("-"):
        return False
    return context.which is None or not context.which(words[0], job.path)


def _user_column(job: _Job, context: _Context) -> Iterator[_Hit]:
    user = job.entry.user
    if context.crontab.system:
        if user is not None and context.users is not None and user not in context.users:
            assert job.spans.user is not None
            yield job.at(
                job.spans.user,
                f"unknown user {user!r}: Debian's cron rejects the line; cronie loads it "
                "and the job fails when it runs",
            )
        return
    if _names_user(job, context):
        word = _first_word(job.entry.command)
        yield job.at(
            job.spans.command,
            f"the command starts with the user name {word!r}: a user crontab has no user "
            f"column, so cron runs {word!r} as a program",
            f"is this a system crontab (check it with --system)? otherwise remove {word!r}",
        )


def _relative_command(job: _Job, context: _Context) -> Iterator[_Hit]:
    word = _first_word(job.entry.command)
    if (
        not word
        or word in _SHELL_WORDS
        or word[0] in "~-"
        or _FIELD_LIKE.fullmatch(word)
        or any(char in word for char in "$`'\"=\\*?")
        or _names_user(job, context)
    ):
        return
    column = job.spans.command
    if "/" in word:
        if not word.startswith("/"):
            yield job.at(
                column,
                f"{word!r} is a relative path: cron starts jobs in the home directory",
                "write the full path",
            )
        return
    if context.which is None:
        return
    path = job.path
    if not context.which(word, path):
        yield job.at(
            column,
            f"{word!r} is not found in the job's PATH ({path}): cron starts jobs with a "
            "minimal PATH",
            "write the full path, or set PATH=... above the job",
        )
    elif "PATH" not in job.entry.env_dict and not context.which(word, DEBIAN_PATH):
        yield job.at(
            column,
            f"{word!r} is not in {DEBIAN_PATH}, the PATH of Debian's cron (cronie's is "
            f"{CRON_PATH})",
            "write the full path, or set PATH=... above the job",
        )


def _job_portability(job: _Job, context: _Context) -> Iterator[_Hit]:
    entry = job.entry
    if entry.no_log:
        yield job.at(
            entry.schedule_column - 1,
            "'-' (do not log) is cronie syntax for root "
            "and system crontabs only: Debian's cron rejects the line",
        )
    if entry.mail_on_error_only and job.spans.option is not None:
        yield job.at(
            job.spans.option,
            "'-n' (mail only on failure) is cronie syntax: "
            "Debian's cron runs '-n' as part of the command",
        )
    schedule = entry.schedule
    if isinstance(schedule, Cron) and schedule.random:
        yield from _random_fields(job, schedule)
    if len(job.command_text) > MAX_DEBIAN_COMMAND:
        yield job.at(
            job.spans.command,
            f"command of {len(job.command_text)} characters: Debian's cron refuses the whole "
            f"file for a command over {MAX_DEBIAN_COMMAND}",
            "move the command into a script",
        )


def _random_fields(job: _Job, schedule: Cron) -> Iterator[_Hit]:
    """The `~` fields, with the value pycron picked for each."""
    fields = schedule.expression.fields
    tokens = schedule.text.split(" ")  # as written, one blank apart
    for index, (token, column) in enumerate(zip(tokens, job.spans.schedule, strict=True)):
        if "~" in token:
            picked = fields[index].text
            yield job.at(
                column,
                f"'{token}' (a random value) is cronie syntax: Debian's cron rejects the "
                f"line; pycron picked {picked}",
                f"write the value: {picked}",
            )


# --------------------------------------------------------------------------- schedule checks

_CronCheck = Callable[[_Job, _Context, CronExpression], Iterator[_Hit]]
_JobCheck = Callable[[_Job, _Context], Iterable[_Hit]]


def _on_cron(check: _CronCheck) -> _JobCheck:
    """A job check that looks at 5-field schedules (and nicknames) only."""

    @functools.wraps(check)
    def run(job: _Job, context: _Context) -> Iterator[_Hit]:
        if isinstance(job.entry.schedule, Cron):
            yield from check(job, context, job.entry.schedule.expression)

    return run


@_on_cron
def _dom_dow_or(job: _Job, context: _Context, expr: CronExpression) -> Iterator[_Hit]:
    dom, dow = expr.fields[DOM], expr.fields[DOW]
    if dom.star or dow.star:
        return
    yield job.at(
        job.field_column(DOM),
        f"both day fields are restricted, so cron runs when either matches (OR, not AND): "
        f"on day-of-month '{dom.text}' and also on day-of-week '{dow.text}'",
        _nth_weekday_hint(expr)
        or "to require both, make one day field '*' and test the other in the command, "
        'e.g. [ "$(date +\\%d)" -le 7 ] && ...',
    )


def _nth_weekday_hint(expr: CronExpression) -> str | None:
    """`0 0 8-14 * 2` meant "the second Tuesday": `0 0 * * 2#2` (pycron only)."""
    minute, hour, dom, month, dow = expr.fields
    if len(dow.values) != 1 or not all(item.ordinary for item in dom.items):
        return None
    days = sorted(dom.values)
    if len(days) != 7 or days[0] % 7 != 1 or days[-1] - days[0] != 6 or days[0] > 22:
        return None
    (weekday,) = dow.values
    k = days[0] // 7 + 1
    return (
        f"for the {OCCURRENCES[k - 1]} {DOW_LONG_NAMES[weekday]} of the month write "
        f"'{minute.text} {hour.text} * {month.text} {weekday}#{k}' (pycron only)"
    )


@_on_cron
def _star_step_day(job: _Job, context: _Context, expr: CronExpression) -> Iterator[_Hit]:
    dom, dow = expr.fields[DOM], expr.fields[DOW]
    for field, other in ((dom, dow), (dow, dom)):
        if field.text[0] == "*" and field.text != "*" and not other.star:
            values = ",".join(
                f"{item.start}-{FIELD_MAX[field.index]}{item.text[1:]}"
                if item.kind == ItemKind.STAR
                else item.text
                for item in field.items
            )
            yield job.at(
                job.field_column(field.index),
                f"{field.name} '{field.text}' starts with '*', so cron counts it as '*': "
                f"the day fields are ANDed (days matching both), not ORed",
                f"to run on either, write '{values}' instead of '{field.text}'",
            )


def _is_a_slash_n(item: Item) -> bool:
    """`5/15` (= 5-MAX/15), as opposed to `a-b/n`, `*/n` and plain values."""
    return item.kind == ItemKind.RANGE and "/" in item.text and "-" not in item.text.split("/")[0]


def _items(expr: CronExpression) -> Iterator[tuple[Field, Item]]:
    for field in expr.fields:
        for item in field.items:
            yield field, item


@_on_cron
def _a_slash_n(job: _Job, context: _Context, expr: CronExpression) -> Iterator[_Hit]:
    for field, item in _items(expr):
        if _is_a_slash_n(item):
            start, step = item.text.split("/")
            rewrite = f"{start}-{FIELD_MAX[field.index]}/{step}"
            yield job.at(
                job.item_column(field, item),
                f"'{item.text}' (from {start} every {step}) is pycron syntax: cronie and "
                "Debian reject the line",
                f"write '{rewrite}'",
            )


def _extension_text(item: Item) -> str:
    if item.kind == ItemKind.ANY:
        return "'?' (same as '*')"
    if item.kind == ItemKind.LAST_DAY:
        less = f" less {item.start}" if item.start else ""
        return f"'{item.text}' (the last day of the month{less})"
    if item.kind == ItemKind.NEAREST_WEEKDAY:
        return f"'{item.text}' (the weekday nearest day {item.start})"
    if item.kind == ItemKind.LAST_WEEKDAY:
        return f"'{item.text}' (the last weekday of the month)"
    if item.kind == ItemKind.LAST_DOW:
        return f"'{item.text}' (the last {DOW_LONG_NAMES[item.start]} of the month)"
    occurrence = OCCURRENCES[item.end - 1]
    return f"'{item.text}' (the {occurrence} {DOW_LONG_NAMES[item.start]} of the month)"


@_on_cron
def _extension(job: _Job, context: _Context, expr: CronExpression) -> Iterator[_Hit]:
    for field, item in _items(expr):
        if item.ordinary and item.kind != ItemKind.ANY:
            continue
        readers = "cronie and Debian reject the line"
        if item.kind == ItemKind.NTH_DOW:
            readers = (
                f"cronie rejects the line and Debian silently reads it as '{item.start}' "
                f"(every {DOW_LONG_NAMES[item.start]})"
            )
        yield job.at(
            job.item_column(field, item),
            f"{_extension_text(item)} is a pycron extension: {readers}",
            "write '*'" if item.kind == ItemKind.ANY else None,
        )


def _value_label(index: int, value: int) -> str:
    """A field value as a reader knows it: `:05`, `20:00`, `March`, `Sunday`."""
    if index == MINUTE:
        return f":{value:02d}"
    if index == HOUR:
        return f"{value:02d}:00"
    if index == MONTH:
        return MONTH_LONG_NAMES[value - 1]
    if index == DOW:
        return DOW_LONG_NAMES[value % 7]
    return f"day {value}"


def _divisors(cycle: int) -> list[int]:
    return [n for n in range(2, cycle // 2 + 1) if cycle % n == 0]


@_on_cron
def _step(job: _Job, context: _Context, expr: CronExpression) -> Iterator[_Hit]:
    for field, item in _items(expr):
        if item.step == 1 or item.kind not in (ItemKind.STAR, ItemKind.RANGE):
            continue
        index = field.index
        run = list(range(item.start, item.end + 1, item.step))
        values = {value % 7 for value in run} if index == DOW else set(run)
        column = job.item_column(field, item) + item.text.index("/") + 1
        if len(values) == 1:
            (value,) = values
            yield job.at(
                column,
                f"'{item.text}' keeps only {_value_label(index, value)}: the step "
                f"{item.step} is larger than the range, so only its first value runs",
                f"write '{value}'",
            )
            continue
        cycle = _CYCLES.get(index)
        if cycle is None or not (item.kind == ItemKind.STAR or _is_a_slash_n(item)):
            continue
        wrap = run[0] + cycle - run[-1]
        if wrap == item.step:
            continue
        unit = _UNITS[index]
        divisors = _divisors(cycle)
        yield job.at(
            column,
            f"'{item.text}' restarts every {_CYCLE_NAMES[index]}: after "
            f"{_value_label(index, run[-1])} comes {_value_label(index, run[0])}, "
            f"{wrap} {unit}{'s' if wrap != 1 else ''} later, not {item.step}",
            f"use a step that divides {cycle} ({', '.join(map(str, divisors))}) or list the values"
            if divisors
            else f"no step divides a {cycle}-{unit} {_CYCLE_NAMES[index]}: list the values",
        )


def _range_end(item: Item) -> str:
    """The end of a range item as written: `sun` in `fri-sun/2`."""
    return item.text.split("/")[0].partition("-")[2]


@_on_cron
def _dow_x_0(job: _Job, context: _Context, expr: CronExpression) -> Iterator[_Hit]:
    field = expr.fields[DOW]
    for item in field.items:
        end = _range_end(item)
        written_zero = end.lower() == "sun" or (end.isdigit() and int(end) == 0)
        if item.kind != ItemKind.RANGE or not written_zero:
            continue
        step = item.text.partition("/")[2]
        rewrite = f"{item.start}-7" + (f"/{step}" if step else "")
        yield job.at(
            job.item_column(field, item),
            f"'{item.text}' ends on Sunday written as {end!r}: pycron and later cronie read it "
            "up to 7 (Sunday), but cronie up to 1.7.2 and Debian never run it",
            f"write '{rewrite}'",
        )


@_on_cron
def _every_minute(job: _Job, context: _Context, expr: CronExpression) -> Iterator[_Hit]:
    minute, hour = expr.fields[MINUTE], expr.fields[HOUR]
    if minute.text != "*" or hour.values >= FIELD_VALUES[HOUR]:
        return
    rest = job.entry.schedule.text.partition(" ")[2]  # the fields after the minute, as written
    count = len(hour.values)
    during = f"hour {hour.text}" if count == 1 else f"hours {hour.text}"
    yield job.at(
        job.field_column(MINUTE),
        f"runs every minute during {during} ({60 * count} times a day), not once an hour",
        f"for once at the start of the hour write '0 {rest}'",
    )


@_on_cron
def _never_runs(job: _Job, context: _Context, expr: CronExpression) -> Iterator[_Hit]:
    try:
        _naive(expr).next(_naive_now(context.now))
    except NoMatchError:
        dom, month, dow = expr.fields[DOM:]
        fields = [f"day-of-month '{dom.text}'", f"month '{month.text}'"]
        if not dow.star:
            fields.append(f"day-of-week '{dow.text}'")
        yield job.at(
            _day_culprit(job, expr),
            f"never runs: no date has {join_words(fields)} (cron loads the line and never runs it)",
        )


# --------------------------------------------------------------------------- rare


@functools.cache
def _month_shapes() -> dict[int, dict[tuple[int, int], int]]:
    """Per month, each (weekday of the 1st, length) it can have -> a year that has it.

    The Gregorian calendar repeats every 400 years, so these are all of them.
    """
    shapes: dict[int, dict[tuple[int, int], int]] = {month: {} for month in range(1, 13)}
    for year in range(2000, 2400):
        for month in range(1, 13):
            shapes[month].setdefault(calendar.monthrange(year, month), year)
    return shapes


def _fires_in(naive: CronExpression, year: int, month: int) -> bool:
    start = datetime(year, month, 1)
    end = datetime(year + month // 12, month % 12 + 1, 1)
    try:
        return naive.next(start - _ONE_MINUTE) < end
    except NoMatchError:
        return False


def _every_month(dom: Field, dow: Field) -> bool:
    """Shortcut: day fields that surely match some day of every month."""
    dom_plain = all(item.ordinary for item in dom.items)
    dow_plain = all(item.ordinary for item in dow.items)
    dom_any_month = dom_plain and min(dom.values) <= 28
    if dom.text in ("*", "?"):
        return dow_plain
    if dow.text in ("*", "?"):
        return dom_any_month
    if dom.star or dow.star:  # AND of two restricted fields
        return False
    return dom_any_month or dow_plain  # OR


def _years_text(years: list[int]) -> str:
    if len(years) > 3:
        return f"{years[0]} through {years[-1]}"
    return join_words(map(str, years), "or")


def _some_years(naive: CronExpression, month: int, now: datetime, leap: bool) -> str:
    """`in February only in leap years: not in 2026 or 2027 (next 2028-02-29)`."""
    first = now.year if now.month <= month else now.year + 1
    skipped: list[int] = []
    text = f"runs in {MONTH_LONG_NAMES[month - 1]} only in {'leap' if leap else 'some'} years"
    for year in range(first, first + 400):
        if _fires_in(naive, year, month):
            found = naive.next(datetime(year, month, 1) - _ONE_MINUTE)
            if skipped:
                text += f": not in {_years_text(skipped)}"
            return f"{text} (next {found:%Y-%m-%d})"
        skipped.append(year)
    return text


def _skipped_months(naive: CronExpression, months: list[int], now: datetime) -> str:
    """The months of the next 12 (from now's) in `months` without a run:
    `November and December 2026; January 2027` ("" if none)."""
    by_year: dict[int, list[str]] = {}
    for offset in range(12):
        year, index = divmod(now.year * 12 + now.month - 1 + offset, 12)
        if index + 1 in months and not _fires_in(naive, year, index + 1):
            by_year.setdefault(year, []).append(MONTH_LONG_NAMES[index])
    return "; ".join(f"{join_words(names)} {year}" for year, names in by_year.items())


@_on_cron
def _rare(job: _Job, context: _Context, expr: CronExpression) -> Iterator[_Hit]:
    dom, month, dow = expr.fields[DOM], expr.fields[MONTH], expr.fields[DOW]
    if _every_month(dom, dow):
        return
    naive = _naive(expr)
    never: list[int] = []
    sometimes: list[int] = []
    leap_only: list[int] = []
    for number in sorted(month.values):
        shapes = _month_shapes()[number]
        fires = {shape: _fires_in(naive, year, number) for shape, year in shapes.items()}
        if not any(fires.values()):
            never.append(number)
        elif not all(fires.values()):
            sometimes.append(number)
            if all(fired == (length == 29) for (_, length), fired in fires.items()):
                leap_only.append(number)
    if len(never) == len(month.values) or not (never or sometimes):
        return  # never-runs, or runs every month
    now = _naive_now(context.now)
    parts: list[str] = []
    if never:
        parts.append(f"never runs in {join_words((MONTH_LONG_NAMES[m - 1] for m in never), 'or')}")
    if len(sometimes) == 1:
        parts.append(_some_years(naive, sometimes[0], now, bool(leap_only)))
    elif sometimes:
        text = "does not run every month, and the months change from year to year"
        skipped = _skipped_months(naive, sometimes, now)
        parts.append(f"{text}: in the next 12 months not in {skipped}" if skipped else text)
    hint = None
    if never and 31 in dom.values and dow.text in ("*", "?"):
        hint = (
            "for the last day of every month write 'L' (pycron only) or test the date: "
            '[ "$(date -d tomorrow +\\%d)" = 01 ] && ...'
        )
    yield job.at(_day_culprit(job, expr), "; ".join(parts), hint)


# --------------------------------------------------------------------------- dst


def _transitions(context: _Context, tz: tzinfo) -> list[Transition]:
    if tz not in context.transitions:
        now = context.now
        context.transitions[tz] = zone_transitions(tz, now, now + _DST_WINDOW)
    return context.transitions[tz]


def _meets_transition(naive: CronExpression, transitions: list[Transition]) -> bool:
    """True if some matching wall time lies in a transition's gap or fold."""
    for transition in transitions:
        try:
            if naive.next(transition.wall_start - timedelta(microseconds=1)) < transition.wall_end:
                return True
        except NoMatchError:
            return False
    return False


@_on_cron
def _dst(job: _Job, context: _Context, expr: CronExpression) -> Iterator[_Hit]:
    tz = expr.tz or context.local_tz
    if tz is None or (expr.wildcard and expr.fields[HOUR].values >= FIELD_VALUES[HOUR]):
        return
    if not _meets_transition(_naive(expr), _transitions(context, tz)):
        return
    zoned = expr if expr.tz is not None else CronExpression(expr.text, tz)
    hint = None
    if expr.tz is not None:
        hint = (
            "cronie differs for CRON_TZ jobs (it skips gap times and runs repeated ones "
            "twice); to be safe, schedule the job outside the hours the clocks change"
        )
    for note in dst_notes(zoned, context.now, 12):
        yield job.at(job.field_column(HOUR), note, hint)


# --------------------------------------------------------------------------- the tables

# What the daemon reports each time it loads the crontab, beside its errors:
# alert targets that cannot be used, and mail that cannot leave.
LOAD_CHECKS: Final = frozenset(("notify-target", "option-value", "no-mail-transport"))

_FileCheck = Callable[[_Context], Iterable[_Hit]]
_EnvCheck = Callable[[_Env, _Context], Iterable[_Hit]]

FILE_CHECKS: Final[tuple[tuple[str, _FileCheck], ...]] = (
    ("no-final-newline", _no_final_newline),
    ("crlf", _crlf),
    ("portability", _file_limits),
    ("duplicate-job", _duplicate_jobs),
    ("notify-target", _notify_targets),
    ("option-value", _soft_options),
    ("unknown-job", _after_unknown),
    ("cycle", _after_cycle),
    ("unknown-job", _requires_unknown),
    ("requires-idle", _requires_idle),
)
ENV_CHECKS: Final[tuple[tuple[str, _EnvCheck], ...]] = (
    ("env-expansion", _env_expansion),
    ("env-special", _env_special),
    ("no-mail-transport", _no_mail_transport),
)
JOB_CHECKS: Final[tuple[tuple[str, _JobCheck], ...]] = (
    ("pycron-only", _pycron_only),
    ("portability", _job_portability),
    ("six-fields", _six_fields),
    ("user-column", _user_column),
    ("relative-command", _relative_command),
    ("percent", _percent),
    ("empty-command", _empty_command),
    ("watch-missing", _watch_missing),
    ("watch-loop", _watch_loop),
    ("dom-dow-or", _dom_dow_or),
    ("star-step-day", _star_step_day),
    ("a-slash-n", _a_slash_n),
    ("extension", _extension),
    ("step", _step),
    ("dow-x-0", _dow_x_0),
    ("every-minute", _every_minute),
    ("never-runs", _never_runs),
    ("rare", _rare),
    ("dst", _dst),
)
CODES: Final = tuple(
    dict.fromkeys(code for table in (FILE_CHECKS, ENV_CHECKS, JOB_CHECKS) for code, _ in table)
)
