"""The command line of `pycron daemon`, read without click, and the start of
the daemon from what it asks for.

A daemon's start-up CPU and memory count where many start (containers, a
host's restart), and click with what it loads, and the modules of the
interactive commands, are a large share of them. So the entry point
(`pycron.cli.main`) hands `pycron [GLOBAL OPTIONS] daemon [OPTIONS]` to
`quick_daemon`: `read_daemon_line` reads each option as the click command
does, with its environment variable and default, and gives up on anything
it does not fully understand (help, an unknown option, a bad value, an
option given twice, ...), which the click interface then reports or serves
as ever. Both paths start the daemon through `start`, so they cannot drift
apart.
"""

from __future__ import annotations

import gc
import os
import re
import stat
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from pycron.cli.given import (
    CLUSTER_ENV,
    CRONTAB_ENV,
    GLOBAL_NAMES,
    KEEP_MIB,
    KEEP_MIB_ENV,
    KEEP_RUNS,
    KEEP_RUNS_ENV,
    STATE_DIR_ENV,
    Invocation,
    cluster_url,
    read_lease,
)
from pycron.cli.messages import (
    SMTP_ENV,
    composer,
    default_targets,
    reviewer,
    senders,
    start_composer,
    transport,
)
from pycron.cli.serving import TOKEN_ENV, Address, daemon_page, http_access, parse_address
from pycron.daemon import LEVELS, LogFormat, Settings, local_zone, serve
from pycron.errors import PycronError
from pycron.expr import resolve_tz
from pycron.launch import EXIT_FAILURE, STOPPED, exit_code, format_error
from pycron.store.cluster import DEFAULT_LEASE

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

LOG_FORMATS = tuple(form.value for form in LogFormat)
LOG_LEVELS = tuple(LEVELS)
# Set when a shell asks click for completions, which only the click interface gives.
COMPLETION_ENV = "_PYCRON_COMPLETE"


class DaemonLine(NamedTuple):
    """What a `pycron daemon` command line asks for: where the crontab and
    the state are (`invocation`) and the daemon's options (the defaults
    here are the command's). `token_given`: `--http-token` is on the line,
    not only in its environment variable."""

    invocation: Invocation
    max_parallel: int = 10
    shutdown_grace: float = 30.0
    tz: str | None = None
    reboot: bool = False
    log_format: str = LogFormat.TEXT.value
    log_level: str = "info"
    heartbeat: float | None = None
    smtp: str | None = None
    sendmail: str | None = None
    notify: tuple[str, ...] = ()
    http: Address | None = None
    http_token: str | None = None
    token_given: bool = False
    http_insecure: bool = False
    cluster: str | None = None
    cluster_lease: timedelta = DEFAULT_LEASE


def start(line: DaemonLine) -> int:
    """Run the daemon `line` asks for in the foreground until it stops;
    returns its exit code. What is wrong with options that only show
    together (a zone, the SMTP URL, the `--http` options, a port taken) is
    a PycronError raised before the daemon starts."""
    invocation = line.invocation
    zone = resolve_tz(line.tz) if line.tz else local_zone()
    settings = Settings(
        crontab=invocation.crontab,
        state_dir=invocation.state_dir,
        max_parallel=line.max_parallel,
        shutdown_grace=line.shutdown_grace,
        zone=zone,
        reboot=line.reboot,
        heartbeat=line.heartbeat,
        retention=invocation.retention,
        smtp=line.smtp,
        sendmail=line.sendmail,
        notify=default_targets(line.notify),
        cluster=line.cluster,
        cluster_lease=line.cluster_lease,
    )
    mail = transport(line.smtp, line.sendmail)  # a bad --smtp URL: a usage error, before anything
    token = http_access(
        line.http, line.http_token, token_given=line.token_given, insecure=line.http_insecure
    )
    page = daemon_page(line.http, token) if line.http is not None else None  # listens now
    return serve(
        settings,
        LogFormat(line.log_format),
        line.log_level,
        senders=senders(mail),
        compose=composer(mail is not None, settings.notify, zone),
        compose_start=start_composer(settings.notify, zone),
        review=reviewer(mail is not None),
        http=page,
    )


def quick_daemon(args: Sequence[str]) -> int | None:
    """Run `pycron ARGS` if `read_daemon_line` reads it, ending as the click
    command would (a PycronError as one `pycron: error:` line and its exit
    code); returns the exit code, or None, having done nothing, for a line
    that the click interface is to serve."""
    line = read_daemon_line(args)
    if line is None:
        return None
    gc.enable()  # off while the modules loaded (`pycron.cli.main`), as the click command does
    try:
        return start(line)
    except PycronError as error:
        print(format_error(error), file=sys.stderr)
        return exit_code(error)
    except KeyboardInterrupt:  # before the daemon takes SIGINT over
        print(f"\n{STOPPED}", file=sys.stderr)
        return EXIT_FAILURE


# --------------------------------------------------------------------------- reading


class _Option(NamedTuple):
    """An option of the line: the name of its value, how its text is read
    (None: a flag), its environment variable, and whether it repeats."""

    name: str
    read: Callable[[str], Any] | None
    env: str | None = None
    many: bool = False


_SECONDS = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")


def _count(text: str) -> int:
    """A whole number of at least 1 (click's `IntRange(min=1)`), in digits only."""
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise ValueError(text)
    return int(text)


def _seconds(text: str) -> float:
    """A number of seconds, as click's float reads it, in plain decimals only."""
    if not _SECONDS.fullmatch(text):
        raise ValueError(text)
    return float(text)


def _path(text: str, *, dir_okay: bool) -> Path:
    """What click's `Path` type gives: the path, where it exists, readable
    (and not a directory unless `dir_okay`)."""
    try:
        status = os.stat(text)
    except OSError:
        return Path(text)
    if (stat.S_ISDIR(status.st_mode) and not dir_okay) or not os.access(text, os.R_OK):
        raise ValueError(text)
    return Path(text)


def _file(text: str) -> Path:
    return _path(text, dir_okay=False)


def _directory(text: str) -> Path:
    return _path(text, dir_okay=True)


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def read(text: str) -> str:
        if text not in choices:
            raise ValueError(text)
        return text

    return read


def _text(text: str) -> str:
    return text


# The global options (see `pycron.cli.invocation.global_options`): their
# environment variables count before the command only.
_GLOBAL = {
    "--crontab": _Option("crontab_path", _file, CRONTAB_ENV),
    "--state-dir": _Option("state_dir", _directory, STATE_DIR_ENV),
    "--keep-runs": _Option("keep_runs", _count, KEEP_RUNS_ENV),
    "--keep-mib": _Option("keep_mib", _count, KEEP_MIB_ENV),
}
# The options of `pycron daemon` (see `pycron.cli.daemon`).
_DAEMON = {
    "--max-parallel": _Option("max_parallel", _count),
    "--shutdown-grace": _Option("shutdown_grace", _seconds),
    "--tz": _Option("tz", _text),
    "--reboot": _Option("reboot", None),
    "--log-format": _Option("log_format", _choice(LOG_FORMATS)),
    "--log-level": _Option("log_level", _choice(LOG_LEVELS)),
    "--heartbeat": _Option("heartbeat", _seconds),
    "--smtp": _Option("smtp", _text, SMTP_ENV),
    "--sendmail": _Option("sendmail", _text),
    "--notify": _Option("notify", _text, many=True),
    "--http": _Option("http", parse_address),
    "--http-token": _Option("http_token", _text, TOKEN_ENV),
    "--http-insecure": _Option("http_insecure", None),
    "--cluster": _Option("cluster", cluster_url, CLUSTER_ENV),
    "--cluster-lease": _Option("cluster_lease", read_lease),
}
_AFTER = {**_DAEMON, **{flag: option._replace(env=None) for flag, option in _GLOBAL.items()}}


def read_daemon_line(args: Sequence[str]) -> DaemonLine | None:
    """The values of `[GLOBAL OPTIONS] daemon [OPTIONS and GLOBAL OPTIONS]`
    (the process's arguments), each as the click interface reads it; None
    for anything else, or anything this strict reader does not take: help,
    an unknown or mistyped option, a bad or empty value, a value that
    starts with `-`, an option given twice (a global option on both sides
    of the command too), a shell's completion request."""
    if "daemon" not in args or COMPLETION_ENV in os.environ:
        return None
    split = list(args).index("daemon")
    before = _read(args[:split], _GLOBAL)
    after = _read(args[split + 1 :], _AFTER)
    if before is None or after is None or before.keys() & after.keys():
        return None
    token_given = "http_token" in after
    before = _with_environment(before, _GLOBAL)
    after = _with_environment(after, _DAEMON)
    if before is None or after is None:
        return None
    given_after = {name: after.pop(name) for name in GLOBAL_NAMES if name in after}
    return DaemonLine(_invocation(before, given_after), token_given=token_given)._replace(**after)


def _invocation(before: dict[str, Any], after: dict[str, Any]) -> Invocation:
    """The invocation of the global options given before the command (with
    their environment variables and defaults), then after it."""
    return Invocation.given(
        before.get("crontab_path"),
        before.get("state_dir"),
        before.get("keep_runs", KEEP_RUNS),
        before.get("keep_mib", KEEP_MIB),
    ).updated(after)


def _read(tokens: Sequence[str], options: Mapping[str, _Option]) -> dict[str, Any] | None:
    """The values of `tokens`, each option `--name VALUE` or `--name=VALUE`
    (a flag: `--name`) of `options`, by their names; None if any token is
    not one, or not read."""
    values: dict[str, Any] = {}
    items = iter(tokens)
    for token in items:
        flag, equals, text = token.partition("=")
        option = options.get(flag)
        if option is None or (option.read is None and equals):
            return None
        if option.read is None:
            value: Any = True
        else:
            text = text if equals else next(items, "")
            value = _value(option, text) if text and not text.startswith("-") else None
            if value is None:
                return None
        if option.many:
            values[option.name] = (*values.get(option.name, ()), value)
        elif option.name in values:
            return None
        else:
            values[option.name] = value
    return values


def _with_environment(
    values: dict[str, Any], options: Mapping[str, _Option]
) -> dict[str, Any] | None:
    """`values` with those of the environment variables of `options` not
    given (an empty variable counts as unset, as in click); None if one is
    not read."""
    for option in options.values():
        text = os.environ.get(option.env) if option.env else None
        if text and option.name not in values:
            value = _value(option, text)
            if value is None:
                return None
            values[option.name] = value
    return values


def _value(option: _Option, text: str) -> Any:
    """The value of an option's text, None if it is not one."""
    assert option.read is not None
    try:
        return option.read(text)
    except (ValueError, PycronError):
        return None
