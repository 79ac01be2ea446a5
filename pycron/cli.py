"""The `pycron` command-line interface (click).

Each command reads its options, calls one core function and renders the
result: data on stdout, diagnostics on stderr. Errors are `PycronError`s,
turned into a message and an exit code in one place (`_Group.invoke`, with the
table in `pycron.launch`). The process entry point is `pycron.launch.main`,
which serves the plain form of `next` without loading this module.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import click

from pycron import __version__
from pycron.crontab import (
    JOB_OPTIONS,
    Crontab,
    CrontabFile,
    Entry,
    Finding,
    Severity,
    add_lines,
    disable_job,
    enable_job,
    invalid_crontab,
    job_lines,
    parse,
    parse_duration,
    remove_job,
    untrusted,
)
from pycron.daemon import LogFormat, fire_after, local_zone, serve
from pycron.daemon import Settings as DaemonSettings
from pycron.errors import (
    CrontabError,
    HistoryError,
    JobNotFoundError,
    NoMatchError,
    PycronError,
    StorageError,
    UnsafeFileError,
    UsageError,
    file_errors,
)
from pycron.expr import CronExpression, resolve_tz
from pycron.launch import EXIT_FAILURE, EXIT_USAGE, exit_code, format_error, parse_start, run_next
from pycron.records import Outcome
from pycron.runner import (
    Context,
    Retention,
    prepare_state_dir,
    pruned_by_retention,
    run,
    supervise,
)
from pycron.store import RunRecord, Store, TolerantRecorder, orphan_note
from pycron.store.logs import remove_logs
from pycron.store.sqlite import SQLiteStore, open_recording
from pycron.views import finding_view, job_view, line_view, run_view

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

_EXPLAIN_RUNS = 3
_EXCERPT_WIDTH = 20  # how much of a refused `add` argument its error message shows
_LINE_BREAKS = (("\n", "a line break"), ("\r", "a carriage return"))


class _Group(click.Group):
    """A click group that reports PycronError as `pycron: error: ...` with its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PycronError as error:
            click.echo(format_error(error), err=True)
            ctx.exit(exit_code(error))


@dataclass(frozen=True)
class Settings:
    """Where the crontab and the state live (global options, then environment)."""

    crontab: Path
    state_dir: Path
    retention: Retention

    def crontab_file(self, system: bool = False) -> CrontabFile:
        """The crontab as a file to read and edit."""
        return CrontabFile(self.crontab, system=system)

    def updated(self, ctx: click.Context, given: dict[str, Any]) -> Settings:
        """These settings with the global options given after the command."""
        root = ctx.find_root()
        for name in given:
            if root.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE:
                flag = "--" + name.removesuffix("_path").replace("_", "-")
                raise UsageError(f"{flag} is given both before and after the command: give it once")
        runs = given.get("keep_runs", self.retention.runs)
        mib = given.get("keep_mib")
        return replace(
            self,
            crontab=given.get("crontab_path", self.crontab),
            state_dir=given.get("state_dir", self.state_dir),
            retention=Retention(runs, mib * 2**20 if mib else self.retention.max_bytes),
        )


def _sentence(message: str) -> str:
    """A message of click's in pycron's style (lower case first, no final stop)."""
    message = message.rstrip(".")
    return message[:1].lower() + message[1:]


def _default_crontab() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base, "pycron", "crontab")


def _default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(base, "pycron")


def _global_options(*, after: bool) -> list[click.Parameter]:
    """Where the crontab and the state are, and how many logs to keep: taken
    before the command (with their environment variables and defaults) and
    after it, where users type them first (`pycron daemon --crontab F`)."""
    defaults = not after
    return [
        click.Option(
            ["--crontab", "crontab_path"],
            envvar="PYCRON_CRONTAB" if defaults else None,
            metavar="PATH",
            type=click.Path(dir_okay=False, path_type=Path),
            help="The crontab file [default: $PYCRON_CRONTAB, else "
            "$XDG_CONFIG_HOME/pycron/crontab].",
        ),
        click.Option(
            ["--state-dir", "state_dir"],
            envvar="PYCRON_STATE_DIR" if defaults else None,
            metavar="DIR",
            type=click.Path(path_type=Path),  # a file there is reported where it is used
            help="Run history and logs [default: $PYCRON_STATE_DIR, else $XDG_STATE_HOME/pycron].",
        ),
        click.Option(
            ["--keep-runs", "keep_runs"],
            envvar="PYCRON_KEEP_RUNS" if defaults else None,
            metavar="N",
            type=click.IntRange(min=1),
            default=Retention().runs if defaults else None,
            help=f"Log files kept per job: those of its last N runs, all their attempts "
            f"[default: $PYCRON_KEEP_RUNS, else {Retention().runs}]...",
        ),
        click.Option(
            ["--keep-mib", "keep_mib"],
            envvar="PYCRON_KEEP_MIB" if defaults else None,
            metavar="M",
            type=click.IntRange(min=1),
            default=Retention().max_bytes // 2**20 if defaults else None,
            help=f"...and at most this many MiB of them, whole runs [default: "
            f"$PYCRON_KEEP_MIB, else {Retention().max_bytes // 2**20}] (the newest run and "
            "runs in progress are always kept).",
        ),
    ]


GLOBAL_NAMES = ("crontab_path", "state_dir", "keep_runs", "keep_mib")


class _GlobalOptions(click.Command):
    """A command that also takes the global options after its name. Given there,
    they replace the settings made before it; the same option on both sides
    is a usage error that names it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend(_global_options(after=True))

    def invoke(self, ctx: click.Context) -> Any:
        given = {name: ctx.params.pop(name, None) for name in GLOBAL_NAMES}
        given = {name: value for name, value in given.items() if value is not None}
        if given:
            ctx.obj = _settings(ctx).updated(ctx, given)
        return super().invoke(ctx)


_Group.command_class = _GlobalOptions


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"]},
    params=_global_options(after=False),
)
@click.version_option(__version__, prog_name="pycron")
@click.pass_context
def cli(
    ctx: click.Context,
    crontab_path: Path | None,
    state_dir: Path | None,
    keep_runs: int,
    keep_mib: int,
) -> None:
    """pycron: a crontab-compatible cron.

    \b
    Exit codes: 0 ok, 1 operational error (an expression that never runs, an
    unknown job id, a concurrent edit), 2 usage or syntax error (also a crontab
    with errors); run-now exits with its job's code.

    \b
    Examples:
      pycron next '30 2 * * 1-5' --count 3
      pycron check /etc/crontab --system
      pycron add --name backup --timeout 1h '30 2 * * *' /usr/local/bin/backup
      pycron run-now backup && pycron status
      pycron daemon
    """
    ctx.obj = Settings(
        crontab_path or _default_crontab(),
        state_dir or _default_state_dir(),
        Retention(keep_runs, keep_mib * 2**20),
    )


@cli.command("next")
@click.argument("expression")
@click.option(
    "-n",
    "--count",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="How many firing times to print.",
)
@click.option(
    "--from",
    "start",
    metavar="ISO8601",
    help="Start after this time (default: now). Without an offset it is wall time "
    "in --tz, or naive; with an offset and --tz it is converted to the zone.",
)
@click.option("--tz", metavar="ZONE", help="IANA time zone of the schedule, e.g. Europe/London.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of lines.")
def next_command(
    expression: str, count: int, start: str | None, tz: str | None, as_json: bool
) -> None:
    """Print the next firing times of EXPRESSION, one ISO 8601 line each.

    \b
    Examples:
      pycron next '*/15 * * * *' --count 3
      pycron next '30 2 * * *' --tz America/New_York --from 2026-03-07T12:00
      pycron next @daily --json
    """
    run_next(expression, count, start, tz, as_json, sys.stdout)


@cli.command("explain")
@click.argument("expression")
@click.option("--tz", metavar="ZONE", help="IANA time zone of the schedule.")
@click.option(
    "--from", "start", metavar="ISO8601", help="Show runs after this time (default: now)."
)
def explain_command(expression: str, tz: str | None, start: str | None) -> None:
    """Say in plain English when EXPRESSION runs, with its next runs.

    In a time zone, also notes the DST transitions of the coming year where a
    job runs at another time, once instead of twice, or not at all.

    \b
    Examples:
      pycron explain '30 2 * * 1-5'
      pycron explain '30 2 * * *' --tz America/New_York
    """
    from pycron.explain import describe, dst_notes  # noqa: PLC0415 - not needed to start the daemon

    expr = CronExpression(expression, tz)
    reference = parse_start(start, tz)
    click.echo(describe(expr) + (f" ({expr.tz})" if expr.tz is not None else ""))
    click.echo("Next runs:")
    try:
        runs = expr.iter(reference)
        for _ in range(_EXPLAIN_RUNS):
            click.echo(f"  {next(runs).isoformat()}")
    except NoMatchError as error:
        click.echo("  none: this expression never runs")
        raise error from None  # an error, and exit 1, as in `next`
    notes = dst_notes(expr, _aware(reference, expr))
    if notes:
        click.echo("Daylight saving time:")
        for note in notes:
            click.echo(f"  {note}")


def _aware(moment: datetime, expr: CronExpression) -> datetime:
    """`moment` as an aware time in the expression's zone (naive: wall time there)."""
    if expr.tz is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=expr.tz)


# --------------------------------------------------------------------------- output


def _on_terminal() -> bool:
    """True if stdout is a terminal (tables for people; plain columns for pipes)."""
    return sys.stdout.isatty()


def _print_json(value: object) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


class Column(NamedTuple):
    """A column of a table, and how it gives way on a narrow terminal.

    No cell is ever cut (ids are typed, times read whole) but those of
    `shrink` columns (commands), which are shortened first, down to `SHRUNK`
    cells; then whole columns are left out, the lowest `rank` first, never a
    `keep` one (the ids). `outcome` columns are coloured by meaning.
    """

    header: str
    rank: int
    keep: bool = False
    shrink: bool = False
    outcome: bool = False


SHRUNK = 12  # cells a shortened column keeps at least
GAP = 2  # cells between two columns
OUTCOME_STYLES = {
    "success": "green",
    "failed": "red",
    "timeout": "red",
    "error": "red",
    "missed": "yellow",
    "interrupted": "yellow",
    "skipped-overlap": "yellow",
}
WIDE_HELP = "Show every column in full, however wide the terminal."


def fit_columns(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int
) -> tuple[list[int], list[int]]:
    """Which columns to show, and how wide each is (by column index), so that a
    table fits `width` cells: shorten the shrinkable columns, then leave out
    columns, least important first, never a kept one. A table whose kept
    columns alone are wider is shown whole (the terminal wraps it)."""
    from rich.cells import cell_len  # noqa: PLC0415 - rich is slow to import

    natural = [
        max([cell_len(column.header), *(cell_len(row[index]) for row in rows)])
        for index, column in enumerate(columns)
    ]
    widths = list(natural)
    shown = list(range(len(columns)))

    def excess() -> int:
        return sum(widths[i] for i in shown) + GAP * (len(shown) - 1) - width

    for index in shown:
        if columns[index].shrink and excess() > 0:
            floor = max(cell_len(columns[index].header), SHRUNK)
            widths[index] = max(floor, widths[index] - excess())
    while excess() > 0 and (droppable := [i for i in shown if not columns[i].keep]):
        shown.remove(min(droppable, key=lambda i: columns[i].rank))
    for index in shown:  # room left over goes back to what was shortened
        if columns[index].shrink:
            widths[index] = min(natural[index], widths[index] - min(excess(), 0))
    return shown, widths


def _print_table(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], *, wide: bool = False
) -> None:
    """A table fitted to the terminal (see `fit_columns`; `wide`: everything in
    full), outcomes in colour unless NO_COLOR is set; in a pipe, plain columns
    (tabulate), every one in full."""
    headers = [column.header for column in columns]
    if not _on_terminal():
        from tabulate import tabulate  # noqa: PLC0415 - only tables need it

        click.echo(tabulate(rows, headers=headers, tablefmt="plain", disable_numparse=True))
        return
    from rich.console import Console  # noqa: PLC0415 - rich is slow to import
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    console = Console()
    shown, widths = fit_columns(columns, rows, 1 << 30 if wide else console.width)
    if wide:
        console = Console(width=sum(widths) + GAP * len(widths))
    table = Table(header_style="bold", box=None, pad_edge=False)
    for index in shown:
        table.add_column(headers[index], width=widths[index], no_wrap=True)
    for row in rows:
        table.add_row(
            *(
                Text(
                    _shorten(row[index], widths[index]),
                    style=OUTCOME_STYLES.get(row[index].split(" ", 1)[0], "")
                    if columns[index].outcome
                    else "",
                )
                for index in shown
            )
        )
    console.print(table)
    hidden = [headers[index] for index in range(len(columns)) if index not in shown]
    if hidden:
        click.echo(f"(not shown: {', '.join(hidden)}; --wide or --json shows them)", err=True)


def _shorten(text: str, width: int) -> str:
    """`text` cut to `width` cells, ending in an ellipsis if it was cut."""
    from rich.cells import cell_len, set_cell_size  # noqa: PLC0415 - rich is slow to import

    if cell_len(text) <= width:
        return text
    return set_cell_size(text, width - 1) + "\u2026"


def _settings(ctx: click.Context) -> Settings:
    settings = ctx.find_object(Settings)
    assert settings is not None
    return settings


def _read_source(source: str | None, settings: Settings) -> tuple[str, str]:
    """(text, name) of a FILE argument: `-` is stdin, none is the configured crontab."""
    if source == "-":
        return sys.stdin.read(), "<stdin>"
    path = Path(source) if source else settings.crontab
    try:
        return path.read_bytes().decode("utf-8", "surrogateescape"), str(path)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


# --------------------------------------------------------------------------- check


@cli.command("check")
@click.argument("source", metavar="[FILE|-]", required=False)
@click.option("--system", is_flag=True, help="System format (/etc/crontab): a user column.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array of findings (or of lines).")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option("--lines", "show_lines", is_flag=True, help="Show how every line is read.")
@click.pass_context
def check_command(
    ctx: click.Context,
    source: str | None,
    system: bool,
    as_json: bool,
    strict: bool,
    show_lines: bool,
) -> None:
    """Validate a crontab and warn about cron's traps.

    Reads FILE, stdin (-) or the configured crontab. Errors exit 2 (cron would
    reject those lines); warnings exit 0, or 1 with --strict. --lines shows
    what cron will actually run: each line's kind, and for jobs the schedule,
    command, stdin and expanded fields.

    \b
    Examples:
      pycron check /etc/cron.d/backup --system
      crontab -l | pycron check -
      pycron check --lines --json mycrontab | jq '.[] | select(.kind=="job")'
    """
    text, name = _read_source(source, _settings(ctx))
    crontab, errors = parse(text, name, system=system)
    if source != "-":
        errors += _trust_findings(Path(name))
    if show_lines:
        records = [line_view(line) for line in crontab.lines]
        if as_json:
            _print_json(records)
        else:
            for record in records:
                click.echo(_formatline_view(record))
        ctx.exit(EXIT_USAGE if errors else 0)
    findings = sorted([*errors, *_warnings(crontab)], key=lambda f: (f.line, f.column))
    if as_json:
        _print_json([finding_view(f) for f in findings])
    else:
        for finding in findings:
            click.echo(str(finding))
    warnings = len(findings) - len(errors)
    jobs = len(crontab.entries)
    counts = ", ".join(
        _plural(n, word)
        for n, word in ((jobs, "job"), (len(errors), "error"), (warnings, "warning"))
    )
    click.echo(f"{name}: {counts}", err=True)
    if errors:
        ctx.exit(EXIT_USAGE)
    if strict and warnings:
        ctx.exit(EXIT_FAILURE)


def _trust_findings(path: Path) -> list[Finding]:
    """An error for the file as a whole if pycron, run by this user, would refuse
    it for its owner or mode (see `untrusted`)."""
    problem = untrusted(path, euid=os.geteuid())
    if problem is None:
        return []
    message = problem.removeprefix(f"{path}: ")
    return [Finding(str(path), 0, 0, Severity.ERROR, "unsafe-permissions", message)]


def _warnings(crontab: Crontab) -> list[Finding]:
    """The warnings `check` gives for a crontab, on this machine and now."""
    from pycron.lint import lint  # noqa: PLC0415 - not needed to start the daemon

    return lint(
        crontab, datetime.now().astimezone(), which=_which, users=_users(), local_tz=local_zone()
    )


def _users() -> set[str]:
    """The users this machine knows (for the user-column lint)."""
    import pwd  # noqa: PLC0415 - POSIX only, and only `check` needs it

    return {entry.pw_name for entry in pwd.getpwall()}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _which(command: str, path: str) -> bool:
    """True if `command` is found in the PATH string (for the relative-command lint)."""
    return shutil.which(command, path=path) is not None


def _formatline_view(record: dict[str, object]) -> str:
    head = f"{record['line']:>4} {record['kind']:<8}"
    if record["kind"] == "job":
        parts = [f"id={record['id']}", f"schedule={record['schedule']!r}"]
        if "picked" in record:
            parts.append(f"picked={record['picked']!r}")
        if record.get("user"):
            parts.append(f"user={record['user']}")
        parts.append(f"command={record['command']!r}")
        if record.get("stdin") is not None:
            parts.append(f"stdin={record['stdin']!r}")
        if not record["enabled"]:
            parts.append("disabled")
        if "fields" in record:
            fields = record["fields"]
            assert isinstance(fields, dict)
            parts.append(" ".join(f"{name}={_compact(values)}" for name, values in fields.items()))
        return f"{head} " + " ".join(parts)
    if record["kind"] == "env":
        return f"{head} {record['name']}={record['value']!r}"
    if record["kind"] == "invalid":
        errors = record.get("errors")
        assert isinstance(errors, list)
        return f"{head} " + "; ".join(errors)
    if record["kind"] == "option":
        return f"{head} {record['options']}"
    return f"{head} {record['text']}"


def _compact(values: list[int]) -> str:
    """`0,5,10` style list of values, with runs as `1-5`."""
    if not values:
        return "-"
    pieces, start = [], values[0]
    for previous, current in zip(values, [*values[1:], None], strict=True):
        if current != previous + 1 if current is not None else True:
            pieces.append(str(start) if start == previous else f"{start}-{previous}")
            start = current if current is not None else start
    return ",".join(pieces)


# --------------------------------------------------------------------------- editing


def _edit(ctx: click.Context, change: Callable[[Crontab], Crontab]) -> Crontab:
    """Apply an edit to the crontab, refused while the file has an error (the
    edit would be judged by an error it did not make)."""
    path = _settings(ctx).crontab

    def checked(crontab: Crontab) -> Crontab:
        errors = [finding for finding in crontab.findings if finding.is_error]
        if errors:
            first = errors[0]
            raise CrontabError(
                f"{path} already has an error at line {first.line} ({first.message}): "
                f"nothing changed; see `pycron check {path}` and fix it first (`pycron edit`)",
                errors,
            )
        return change(crontab)

    return _settings(ctx).crontab_file().update(checked)


def _parameter(key: str) -> str:
    """The name of the parameter of `add --KEY` for a job option."""
    return key.replace("-", "_")


def _job_options(command: Callable[..., None]) -> Callable[..., None]:
    """`add --KEY VALUE` for the job options that `add` offers, in their order."""
    for spec in reversed([spec for spec in JOB_OPTIONS.values() if spec.in_add]):
        choice = click.Choice(spec.choices) if spec.choices else None
        option = click.option(
            f"--{spec.key}", _parameter(spec.key), type=choice, metavar=spec.metavar, help=spec.help
        )
        command = option(command)
    return command


@cli.command("add")
@click.argument("words", nargs=-1, required=True, metavar="LINE | EXPR COMMAND... | -")
@_job_options
@click.pass_context
def add_command(ctx: click.Context, /, words: tuple[str, ...], **offered: str | None) -> None:
    """Add a job (or several crontab lines from stdin with -).

    One argument is a whole crontab line; several are a schedule and a
    command. The options become a `# pycron:` comment above the job, which
    plain cron ignores. Bad input is rejected with the messages of `check`
    and nothing changes; so is a line break inside an argument. The warnings
    of `check` for the new lines are printed, and the job is still added.

    \b
    Examples:
      pycron add '*/5 * * * * /usr/local/bin/poll'
      pycron add --name backup --timeout 1h '30 2 * * *' /usr/local/bin/backup
      pycron add @daily 'find /tmp -mtime +7 -delete'
      pycron add -- '0 8 * * 1' /usr/bin/report --weekly   # words starting with -
      crontab -l | pycron add -
    """
    options = {
        key: value for key in JOB_OPTIONS if (value := offered.get(_parameter(key))) is not None
    }
    _refuse_line_breaks(words, options)
    _check_options(options)
    if words == ("-",):
        if options:
            raise UsageError("options apply to one job: give them in '# pycron:' lines on stdin")
        lines, source = _input_lines(sys.stdin.read()), "<stdin>"
    else:
        lines, source = job_lines(" ".join(words), options), "<arguments>"
    alone, errors = parse("".join(f"{line}\n" for line in lines), source)
    if errors or not alone.entries:
        raise invalid_crontab(errors) if errors else UsageError("no job in the input")
    updated = _edit(ctx, lambda crontab: add_lines(crontab, lines))
    new_lines = {line.number for line in updated.lines[-len(lines) :]}
    for warning in _warnings(updated):
        if warning.line in new_lines:
            click.echo(str(warning), err=True)
    added = [e.id for e in updated.entries][-len(alone.entries) :]
    click.echo(f"added {', '.join(added)} to {_settings(ctx).crontab}", err=True)


def _input_lines(text: str) -> list[str]:
    """The lines of `add -` input, split at LF only, as cron splits a file: a
    form feed or a lone CR stays inside its line (str.splitlines would cut
    there and write two lines where cron reads one). A CR before the LF is
    dropped, so CRLF input is written with LF endings."""
    lines = text.split("\n")
    if not lines[-1]:
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _check_options(options: Mapping[str, str]) -> None:
    """A bad option value is an error about that option, said once."""
    for key, value in options.items():
        try:
            JOB_OPTIONS[key].check(value)
        except ValueError as error:
            raise UsageError(f"--{key}: {error}") from None


def _refuse_line_breaks(words: Sequence[str], options: Mapping[str, str]) -> None:
    """Refuse a line break in any argument of `add` that becomes part of a line:
    cron would end the line there and read the rest as lines of their own (a
    second job, say), so what is written would not be what was given."""
    places = [(f"argument {number}", word) for number, word in enumerate(words, 1)]
    places += [(f"--{key}", value) for key, value in options.items()]
    for where, value in places:
        for char, name in _LINE_BREAKS:
            if char in value:
                excerpt = value.split("\n")[0].split("\r")[0][:_EXCERPT_WIDTH] + "\u2026"
                raise UsageError(
                    f"{where} ({excerpt!r}): contains {name}; a crontab line cannot span "
                    "lines: remove it, or give several lines to 'pycron add -'"
                )


@cli.command("remove")
@click.argument("job_ids", nargs=-1, required=True, metavar="ID...")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def remove_command(ctx: click.Context, job_ids: tuple[str, ...], yes: bool) -> None:
    """Remove jobs (with their options comments).

    Asks for confirmation on a terminal unless --yes.

    \b
    Example:
      pycron remove backup 3f2a9c01de --yes
    """
    current, _ = _settings(ctx).crontab_file().load()
    for job_id in job_ids:
        entry = current.find(job_id)
        if not yes and sys.stdin.isatty():
            click.confirm(
                f"remove {entry.id}: {entry.schedule.text} {entry.command}?", abort=True, err=True
            )

    def change(crontab: Crontab) -> Crontab:
        for job_id in job_ids:
            crontab = remove_job(crontab, job_id)
        return crontab

    _edit(ctx, change)
    click.echo(f"removed {', '.join(job_ids)}", err=True)


@cli.command("disable")
@click.argument("job_id", metavar="ID")
@click.pass_context
def disable_command(ctx: click.Context, job_id: str) -> None:
    """Comment a job out (`#pycron-disabled# ...`), so plain cron skips it too.

    `pycron enable ID` restores the line exactly.
    """
    _edit(ctx, lambda crontab: disable_job(crontab, job_id))
    click.echo(f"disabled {job_id}", err=True)


@cli.command("enable")
@click.argument("job_id", metavar="ID")
@click.pass_context
def enable_command(ctx: click.Context, job_id: str) -> None:
    """Restore a job commented out by `pycron disable`."""
    _edit(ctx, lambda crontab: enable_job(crontab, job_id))
    click.echo(f"enabled {job_id}", err=True)


@cli.command("edit")
@click.pass_context
def edit_command(ctx: click.Context) -> None:
    """Edit the crontab in $VISUAL or $EDITOR, like `crontab -e`.

    The edited copy is checked before it is installed; on errors you can
    re-open it, or drop the edit (exit 2). If the crontab changed while you
    were editing, your version is kept beside it (`.edited`) and nothing is
    installed; if the editor fails, or the question meets the end of input
    or Ctrl-C, your version is kept where it was edited (exit 1, its path
    said).
    """
    file = _settings(ctx).crontab_file()
    file.check_writable()  # before the editor: no one should edit what cannot be installed
    original = file.read_text()
    draft = _draft(original)
    try:
        text = _edit_until_valid(draft, str(file.path))
    except (click.ClickException, click.Abort) as stop:
        # The editor failed (Ctrl-C ended it, say), or the question met the end
        # of input or Ctrl-C.
        reason = stop.format_message() if isinstance(stop, click.ClickException) else "stopped"
        if isinstance(stop, click.Abort):
            click.echo(err=True)  # end the question's line
        raise PycronError(
            f"not installed ({_sentence(reason)}): your version is kept in {draft}"
        ) from None
    if text is None:
        draft.unlink()
        click.echo("not installed: the edit with errors was dropped", err=True)
        ctx.exit(EXIT_USAGE)
    if text == original:
        draft.unlink()
        click.echo("no changes", err=True)
        return
    try:
        file.install_text(text, expected=original)
    except StorageError:
        # The crontab's directory cannot take it: the copy stays where it was edited.
        click.echo(f"your version is kept in {draft}", err=True)
        raise
    except PycronError:
        kept = file.path.with_name(file.path.name + ".edited")
        shutil.move(str(draft), kept)
        click.echo(f"your version is kept in {kept}", err=True)
        raise
    draft.unlink()
    click.echo(f"installed {file.path}", err=True)


def _edit_until_valid(draft: Path, name: str) -> str | None:
    """Open the editor on the draft until it holds a crontab without errors
    (its text), or the user gives up on it (None)."""
    while True:
        with _ctrl_c_for_the_editor():
            click.edit(filename=str(draft))
        text = draft.read_bytes().decode("utf-8", "surrogateescape")
        _, errors = parse(text, name)
        if not errors:
            return text
        for finding in errors:
            click.echo(str(finding), err=True)
        if not click.confirm("the crontab has errors; edit it again?", default=True, err=True):
            return None


@contextmanager
def _ctrl_c_for_the_editor() -> Iterator[None]:
    """While the editor runs, Ctrl-C is the editor's (vi uses it; one that dies
    of it fails the edit): pycron, in the same process group, must not stop
    halfway. A Python handler, unlike SIG_IGN, is not inherited by the editor."""
    previous = signal.signal(signal.SIGINT, lambda *_: None)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _draft(text: str) -> Path:
    """A private temporary copy of the crontab for the editor."""
    with file_errors(tempfile.gettempdir(), "make a copy to edit", "TMPDIR"):
        handle, name = tempfile.mkstemp(prefix="pycron-", suffix=".crontab")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(text.encode("utf-8", "surrogateescape"))
        except BaseException:
            Path(name).unlink()
            raise
    return Path(name)


@cli.command("import")
@click.argument("source", metavar="[FILE|-]", default="-")
@click.pass_context
def import_command(ctx: click.Context, source: str) -> None:
    """Install a whole crontab (replacing the current one) after checking it.

    \b
    Example:
      crontab -l | pycron import -
    """
    settings = _settings(ctx)
    text, name = _read_source(source, settings)
    _, errors = parse(text, name)
    if errors:
        raise invalid_crontab(errors)
    installed = settings.crontab_file().install_text(text)
    click.echo(f"installed {len(installed.entries)} jobs into {settings.crontab}", err=True)


@cli.command("export")
@click.pass_context
def export_command(ctx: click.Context) -> None:
    """Print the crontab exactly as it is on disk."""
    click.echo(_settings(ctx).crontab_file().read_text(), nl=False)


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="A JSON array of jobs.")
@click.option(
    "--next",
    "runs",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="How many next run times to show per job.",
)
@click.option("--wide", is_flag=True, help=WIDE_HELP)
@click.pass_context
def list_command(ctx: click.Context, as_json: bool, runs: int, wide: bool) -> None:
    """List the jobs: id, schedule, command, next run, enabled, last run and result.

    On a terminal the table fits its width: ids and times are never cut, the
    command is shortened first, then the least important columns are left
    out (stderr says which): --wide shows every column in full, --json all.

    \b
    Examples:
      pycron list
      pycron list --json | jq -r '.[].id'
    """
    settings = _settings(ctx)
    crontab, errors = settings.crontab_file().load()
    for finding in errors:
        click.echo(str(finding), err=True)
    with _open_history(settings) as history:
        last = history.last_per_job()
    now, zone = _utc_now(), local_zone()
    jobs = [
        (entry, _next_runs(entry, now, runs, zone), last.get(entry.id)) for entry in crontab.entries
    ]
    if as_json:
        _print_json(
            [
                {
                    **job_view(entry),
                    "next": [t.isoformat() for t in times],
                    "last": run_view(record) if record else None,
                }
                for entry, times, record in jobs
            ]
        )
        return
    rows = [
        (
            entry.id,
            entry.schedule.text,
            entry.command,
            ", ".join(_minutes(t) for t in times) or _no_next(entry),
            "yes" if entry.enabled else "no",
            _local(record.started) if record else "never",
            _result_text(record) if record else "-",
        )
        for entry, times, record in jobs
    ]
    _print_table(LIST_COLUMNS, rows, wide=wide)


LIST_COLUMNS = (
    Column("ID", 9, keep=True),
    Column("SCHEDULE", 6),
    Column("COMMAND", 7, shrink=True),
    Column("NEXT RUN", 8),
    Column("ENABLED", 1),
    Column("LAST RUN", 3),
    Column("RESULT", 4, outcome=True),
)


def _next_runs(entry: Entry, now: datetime, count: int, zone: tzinfo | None) -> list[datetime]:
    """The job's next `count` runs after `now` (aware), computed as the daemon
    computes them (a job in a DST gap shows the time it really runs), in this
    machine's zone. A schedule not fixed on the clock (`@every` counts from the
    daemon's start, `@reboot` runs at boot) has no time to show here."""
    if not entry.enabled or not entry.schedule.on_the_clock:
        return []
    runs: list[datetime] = []
    moment: datetime | None = now
    while len(runs) < count and moment is not None:
        moment = fire_after(entry, moment, now, zone)
        if moment is not None:
            runs.append(moment.astimezone(zone) if zone is not None else moment.astimezone())
    return runs


def _minutes(moment: datetime) -> str:
    """A fire time in the table: local wall time, to the minute."""
    return moment.strftime("%Y-%m-%d %H:%M")


def _no_next(entry: Entry) -> str:
    return entry.schedule.no_next if entry.enabled else "-"


# --------------------------------------------------------------------------- runs

# run-now's exit codes beyond the job's own (README, "Exit codes").
EXIT_TIMEOUT = 124  # as timeout(1)
EXIT_LOCKED = 75  # EX_TEMPFAIL: another run holds the job's lock
EXIT_INTERRUPTED = 130  # stopped by Ctrl-C or SIGTERM


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _warn(message: str) -> None:
    click.echo(f"pycron: warning: {message}", err=True)


def _open_history(settings: Settings) -> Store:
    """The run history for the commands that only read it (`list`, `status`,
    `history`, `stats`, `logs`): opened read-only, it is never written, not
    even for its upkeep (the daemon's and `run-now`'s): a run whose pycron is
    gone shows as the upkeep will mark it, interrupted. A corrupt file is
    reported, and left where it is."""
    return SQLiteStore.open_readonly(settings.state_dir, settled_at=_utc_now())


def _recorder(settings: Settings) -> TolerantRecorder | None:
    """run-now's recorder: a corrupt history is set aside and a new one started;
    None if the history cannot be opened at all, as the job runs anyway (said
    on stderr). A run-now claims no slot."""
    try:
        history = open_recording(settings.state_dir, _utc_now(), _warn)
    except HistoryError as error:
        _warn(f"{error}: this run is not recorded")
        return None
    _settle(history)
    return TolerantRecorder(history, _warn, claim_slots=False)


def _settle(history: Store) -> None:
    """The history's upkeep; if it cannot be written, the command goes on."""
    try:
        history.settle(_utc_now())
    except HistoryError as error:
        _warn(f"{error}: runs of pycron processes that are gone are shown as they were left")


def _since(text: str | None) -> datetime | None:
    """`--since 7d` (a duration back from now) or an ISO 8601 date and time."""
    if text is None:
        return None
    try:
        return _utc_now() - parse_duration(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--since: {text!r} is neither a duration (7d, 12h) nor an ISO 8601 time"
        ) from None
    return moment if moment.tzinfo else moment.astimezone()


def _human_duration(seconds: float | None) -> str:
    """`0.4s`, `12.0s`, `3m04s`, `2h05m`: durations for people."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _local(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _result_text(record: RunRecord) -> str:
    """`success`, `failed (exit 3)`, `failed (signal 15)`, `timeout`, `running
    (pycron gone, pid 42)`..."""
    note = _orphan_note(record)
    if note is not None:
        return f"{record.outcome.value} ({note})"
    if record.outcome is Outcome.FAILED and record.signal is not None:
        return f"failed (signal {record.signal})"
    if record.outcome is Outcome.FAILED and record.exit_code is not None:
        return f"failed (exit {record.exit_code})"
    return record.outcome.value


def _orphan_note(record: RunRecord) -> str | None:
    """`pycron gone, pid N` for a run that outlived the pycron that started it."""
    return orphan_note(record, socket.gethostname())


class _StopOnSignal:
    """While active, SIGINT and SIGTERM ask the running job to stop instead of
    killing pycron (the job runs in its own session: Ctrl-C never reaches it)."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def __enter__(self) -> _StopOnSignal:
        self._previous = {
            number: signal.signal(number, lambda *_: self.event.set())
            for number in (signal.SIGINT, signal.SIGTERM)
        }
        return self

    def __exit__(self, *_: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)


def _interruptible_sleep(event: threading.Event) -> Callable[[float], bool]:
    """A sleep for retry backoff that a stop request cuts short (returns False then)."""

    def sleep(seconds: float) -> bool:
        return not event.wait(seconds)

    return sleep


@cli.command("run-now")
@click.argument("job_id", metavar="ID")
@click.option("--no-wait-lock", is_flag=True, help="With overlap=queue, skip instead of waiting.")
@click.pass_context
def run_now_command(ctx: click.Context, job_id: str, no_wait_lock: bool) -> None:
    """Run a job now, in the foreground, as the daemon would.

    Same lock, timeout, retries, logs and history as a scheduled run; the
    output also streams to this terminal. Exits with the job's exit code
    (128+N if a signal N ended it), 124 on timeout, 75 if another run holds
    its lock, 130 if interrupted, 1 if it could not start.

    \b
    Examples:
      pycron run-now backup
      pycron run-now backup && echo "backup ok"
    """
    settings = _settings(ctx)
    problem = untrusted(settings.crontab, euid=os.geteuid())
    if problem is not None:
        raise UnsafeFileError(problem)
    crontab, _ = settings.crontab_file().load()
    entry = crontab.find(job_id)
    note = prepare_state_dir(settings.state_dir)
    if note is not None:
        click.echo(f"pycron: warning: {note}", err=True)
    supervision = supervise()
    recorder = _recorder(settings)
    with _StopOnSignal() as stop:
        context = Context(
            state_dir=settings.state_dir,
            clock=_utc_now,
            sleep=_interruptible_sleep(stop.event),
            recorder=recorder,
            retention=settings.retention,
            stopping=stop.event.is_set,
            output=sys.stdout.buffer,
            error_output=sys.stderr.buffer,
            supervision=supervision,
        )
        try:
            results = run(entry, _utc_now(), context, wait_lock=not no_wait_lock, manual=True)
        finally:
            if recorder is not None:
                recorder.close()
    last = results[-1]
    attempts = f" after {last.attempt} attempts" if last.attempt > 1 else ""
    click.echo(
        f"pycron: {entry.id}: {last.outcome.value}{attempts} in "
        f"{_human_duration(last.duration)}" + (f": {last.message}" if last.message else ""),
        err=True,
    )
    ctx.exit(_run_exit_code(last.outcome, last.exit_code, last.signal))


def _run_exit_code(outcome: Outcome, exit_code: int | None, number: int | None) -> int:
    """run-now's exit code for the last attempt."""
    if outcome is Outcome.TIMEOUT:
        return EXIT_TIMEOUT
    if outcome is Outcome.SKIPPED_OVERLAP:
        return EXIT_LOCKED
    if outcome is Outcome.INTERRUPTED:
        return EXIT_INTERRUPTED
    if outcome is Outcome.ERROR:
        return EXIT_FAILURE
    if number is not None:
        return 128 + number
    return exit_code or 0


class _HistoryGroup(_GlobalOptions, _Group):
    """`pycron history [ID] [options]` and `pycron history prune ...`: a first
    word that is not a subcommand is the job id."""

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        """`pycron history [OPTIONS] [ID]`: the subcommand is in the help text."""
        return ["[OPTIONS]", "[ID]"]

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            ctx.meta["history_job"] = args[0]
            args = args[1:]
        return super().parse_args(ctx, args)


@cli.group("history", cls=_HistoryGroup, invoke_without_command=True)
@click.option("--limit", "-n", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--since", metavar="WHEN", help="A duration back from now (7d, 12h) or a time.")
@click.option("--outcome", type=click.Choice([o.value for o in Outcome]))
@click.option("--json", "as_json", is_flag=True, help="A JSON array of runs.")
@click.option("--wide", is_flag=True, help=WIDE_HELP)
@click.option(
    "--job",
    "job_option",
    metavar="ID",
    help="Only this job's runs (the same as ID, and needed for a job named like a "
    "subcommand: --job prune).",
)
@click.pass_context
def history_group(
    ctx: click.Context,
    limit: int,
    since: str | None,
    outcome: str | None,
    as_json: bool,
    wide: bool,
    job_option: str | None,
) -> None:
    """Show runs, newest first, of all jobs or of job ID.

    `--job ID` is the same as ID, and names a job called like a subcommand
    (`--job prune`). `pycron history prune --older-than 30d` deletes old runs
    and their logs.

    \b
    Examples:
      pycron history
      pycron history backup --limit 5
      pycron history --job prune
      pycron history --outcome failed --since 7d --json
      pycron history prune --older-than 30d
    """
    if ctx.invoked_subcommand is not None:
        return
    job_id = ctx.meta.get("history_job")
    if job_id is not None and job_option is not None and job_id != job_option:
        raise UsageError(f"give the job once: {job_id!r} and --job {job_option!r}")
    job_id = job_id or job_option
    settings = _settings(ctx)
    with _open_history(settings) as history:
        if job_id is not None:
            _known_job(settings, history, job_id)
        records = history.runs(
            job_id=job_id,
            limit=limit,
            since=_since(since),
            outcome=Outcome(outcome) if outcome else None,
        )
    if as_json:
        _print_json([run_view(r) for r in records])
        return
    rows = [
        (
            str(r.id),
            r.job_id,
            _local(r.started),
            str(r.attempt),
            _result_text(r),
            _human_duration(r.duration) if _on_terminal() else f"{r.duration or 0:.3f}",
        )
        for r in records
    ]
    _print_table(HISTORY_COLUMNS, rows, wide=wide)


HISTORY_COLUMNS = (
    Column("RUN", 9, keep=True),
    Column("JOB", 8, keep=True),
    Column("STARTED", 7),
    Column("ATTEMPT", 2),
    Column("RESULT", 6, outcome=True),
    Column("DURATION", 3),
)


@history_group.command("prune")
@click.option("--older-than", default="30d", show_default=True, metavar="DURATION")
@click.pass_context
def prune_command(ctx: click.Context, older_than: str) -> None:
    """Remove runs (and their log files) older than DURATION."""
    try:
        age = parse_duration(older_than)
    except ValueError as exc:
        raise UsageError(f"--older-than: {exc}") from None
    with SQLiteStore.open(_settings(ctx).state_dir) as history:
        pruned = history.prune(_utc_now() - age)
    remove_logs(pruned.logs)  # once the records are gone for good
    removed = pruned.records
    click.echo(f"removed {_plural(len(removed), 'run')} older than {older_than}", err=True)


@cli.command("logs")
@click.argument("job_id", metavar="ID")
@click.option("--run", "run_id", type=int, help="A run number from `pycron history`.")
@click.option("--stderr", "errors", is_flag=True, help="Show the run's stderr instead.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing while the run goes on.")
@click.pass_context
def logs_command(
    ctx: click.Context, job_id: str, run_id: int | None, errors: bool, follow: bool
) -> None:
    """Print a run's output (the latest run of the job by default).

    \b
    Examples:
      pycron logs backup
      pycron logs backup --run 42 --stderr
      pycron logs backup --follow
    """
    settings = _settings(ctx)
    with _open_history(settings) as history:
        _known_job(settings, history, job_id)
        record = history.run(run_id) if run_id is not None else history.latest(job_id)
        if record is None or record.job_id != job_id:
            which = f"run {run_id} of {job_id!r}" if run_id is not None else f"run of {job_id!r}"
            raise HistoryError(
                f"no {which} in the history: see `pycron history --job {job_id}` for its runs"
            )
        path = record.stderr_path if errors else record.stdout_path
        if path is None:
            raise HistoryError(
                f"run {record.id} has no log: it did not run ({record.outcome.value})"
            )
        if not path.exists():
            raise _log_gone(record, path)
        with path.open("rb") as stream:
            while True:
                data = stream.read()
                if data:
                    sys.stdout.buffer.write(data)
                    sys.stdout.buffer.flush()
                if not follow:
                    break
                current = history.run(record.id)
                if current is None or current.outcome is not Outcome.RUNNING:
                    sys.stdout.buffer.write(stream.read())
                    break
                time.sleep(0.2)


def _known_job(settings: Settings, history: Store, job_id: str) -> None:
    """Refuse a job id that is neither in the crontab nor in the history (a
    typo, most likely: exit 1, naming the jobs there are). A job removed from
    the crontab still has its runs."""
    crontab, _ = settings.crontab_file().load()
    ids = [entry.id for entry in crontab.entries]
    if job_id in ids or history.latest(job_id) is not None:
        return
    raise JobNotFoundError(
        f"no job {job_id!r} in {settings.crontab}, nor any run of it in the history "
        f"(jobs: {', '.join(ids) or 'none'})"
    )


def _log_gone(record: RunRecord, path: Path) -> PycronError:
    """Why a recorded log is not there: pruned by retention, as designed, or
    missing, deleted by something else. Either way there is nothing to show
    (exit 1); the message tells which."""
    if pruned_by_retention(path):
        return HistoryError(f"the log of run {record.id} is gone (pruned by retention): {path}")
    return HistoryError(
        f"{path}: missing: the log of run {record.id} was deleted, not pruned by retention;"
        f" see what removes files in {path.parent}"
    )


@cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="A JSON array of jobs.")
@click.option("--wide", is_flag=True, help=WIDE_HELP)
@click.pass_context
def status_command(ctx: click.Context, as_json: bool, wide: bool) -> None:
    """Per job: last run, its result and duration, next run, running now.

    Ends with a summary line: jobs, failing (the last run did not succeed),
    running. A crontab with errors is said on stderr: its bad lines do not run.
    """
    settings = _settings(ctx)
    crontab, errors = settings.crontab_file().load()
    if errors:
        click.echo(
            f"pycron: warning: {settings.crontab} has {_plural(len(errors), 'error')} (the first "
            f"at line {errors[0].line}): those lines do not run; see `pycron check "
            f"{settings.crontab}`",
            err=True,
        )
    with _open_history(settings) as history:
        last = history.last_per_job()
        running = {r.job_id: r for r in history.running()}
        queued = {r.job_id for r in history.queued()}
    now, zone = _utc_now(), local_zone()
    jobs = []
    for entry in crontab.entries:
        record = last.get(entry.id)
        upcoming = _next_runs(entry, now, 1, zone)
        jobs.append((entry, record, upcoming[0] if upcoming else None, entry.id in running))
    # A run that is still going or waiting, or slots the daemon skipped by policy,
    # say nothing of whether the job works.
    healthy = (Outcome.SUCCESS, Outcome.RUNNING, Outcome.QUEUED, Outcome.MISSED)
    failing = sum(1 for _, r, _, _ in jobs if r and r.outcome not in healthy)
    if as_json:
        _print_json(
            [
                {
                    "id": entry.id,
                    "schedule": entry.schedule.text,
                    "enabled": entry.enabled,
                    "running": is_running,
                    "queued": entry.id in queued,
                    "next": upcoming.isoformat() if upcoming else None,
                    "last": run_view(record) if record else None,
                }
                for entry, record, upcoming, is_running in jobs
            ]
        )
        return
    rows = [
        (
            entry.id,
            _local(record.started) if record else "never",
            _result_text(record) if record else "-",
            _human_duration(record.duration) if record else "-",
            _minutes(upcoming) if upcoming else _no_next(entry),
            _running_text(running.get(entry.id), entry.id in queued),
        )
        for entry, record, upcoming, _ in jobs
    ]
    _print_table(STATUS_COLUMNS, rows, wide=wide)
    summary = [_plural(len(jobs), "job"), f"{failing} failing", f"{len(running)} running"]
    if queued:
        summary.append(f"{len(queued)} queued")
    click.echo(", ".join(summary))


STATUS_COLUMNS = (
    Column("ID", 9, keep=True),
    Column("LAST RUN", 6),
    Column("RESULT", 7, outcome=True),
    Column("DURATION", 2),
    Column("NEXT RUN", 5),
    Column("RUNNING", 4),
)


def _running_text(record: RunRecord | None, queued: bool) -> str:
    """The RUNNING column of `status`: yes (with a note if its pycron is gone),
    queued (due, waiting for the daemon's workers), or no."""
    if record is not None:
        note = _orphan_note(record)
        return f"yes ({note})" if note else "yes"
    return "queued" if queued else "no"


@cli.command("stats")
@click.argument("job_id", metavar="[ID]", required=False)
@click.option("--since", metavar="WHEN", help="A duration back from now (7d) or a time.")
@click.option("--json", "as_json", is_flag=True, help="A JSON object.")
@click.pass_context
def stats_command(ctx: click.Context, job_id: str | None, since: str | None, as_json: bool) -> None:
    """Runs, success rate, durations and failures (of one job or all).

    On a terminal, also a chart of successes and failures per day.
    """
    settings = _settings(ctx)
    with _open_history(settings) as history:
        if job_id is not None:
            _known_job(settings, history, job_id)
        stats = history.stats(job_id=job_id, since=_since(since), tz=_local_tz())
    durations = {
        "min": stats.duration_min,
        "avg": stats.duration_avg,
        "p95": stats.duration_p95,
        "max": stats.duration_max,
    }
    if as_json:
        _print_json(
            {
                "job": job_id,
                "runs": stats.runs,
                "successes": stats.successes,
                "success_rate": stats.success_rate,
                "duration": durations,
                "failures": {o.value: n for o, n in stats.failures.items()},
                "per_day": {d.isoformat(): c._asdict() for d, c in stats.per_day.items()},
            }
        )
        return
    rate = "-" if stats.success_rate is None else f"{stats.success_rate:.1%}"
    click.echo(f"runs: {stats.runs}   successes: {stats.successes}   success rate: {rate}")
    click.echo("duration: " + "  ".join(f"{k} {_human_duration(v)}" for k, v in durations.items()))
    if stats.failures:
        click.echo("failures: " + ", ".join(f"{o.value} {n}" for o, n in stats.failures.items()))
    if _on_terminal() and stats.per_day:
        _print_day_chart(stats.per_day)


def _local_tz() -> tzinfo:
    zone = datetime.now().astimezone().tzinfo
    assert zone is not None
    return local_zone() or zone


def _print_day_chart(per_day: dict[date, Any]) -> None:
    """A bar per day: green successes, red failures (the last 14 days with runs)."""
    from rich.console import Console  # noqa: PLC0415 - rich is slow to import

    console = Console()
    days = list(per_day.items())[-14:]
    widest = max(c.successes + c.failures for _, c in days) or 1
    for day, counts in days:
        scale = 40 / widest
        ok = round(counts.successes * scale)
        bad = round(counts.failures * scale)
        console.print(
            f"{day:%m-%d} [green]{'█' * ok}[/green][red]{'█' * bad}[/red] "
            f"{counts.successes} ok, {counts.failures} failed"
        )


# --------------------------------------------------------------------------- daemon


@cli.command("daemon")
@click.option(
    "--max-parallel",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Jobs running at once; more due jobs wait in order.",
)
@click.option(
    "--shutdown-grace",
    type=float,
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="On SIGTERM, how long running jobs may finish before they are stopped.",
)
@click.option("--tz", metavar="ZONE", help="Zone of jobs without CRON_TZ [default: local].")
@click.option(
    "--reboot", is_flag=True, help="Treat this start as a boot: run @reboot jobs (containers)."
)
@click.option(
    "--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@click.option("--heartbeat", type=float, metavar="SECONDS", help="Log a heartbeat line this often.")
@click.pass_context
def daemon_command(
    ctx: click.Context,
    max_parallel: int,
    shutdown_grace: float,
    tz: str | None,
    reboot: bool,
    log_format: str,
    log_level: str,
    heartbeat: float | None,
) -> None:
    """Run the jobs of the crontab, in the foreground, until SIGTERM.

    Logs one line per event to stderr. SIGHUP reloads the crontab at once
    (edits are noticed within seconds anyway); SIGTERM or SIGINT stop
    starting jobs and give running ones --shutdown-grace to finish; a second
    SIGINT stops them at once. Exits 1 if another daemon uses the state
    directory.

    \b
    Examples:
      pycron daemon
      pycron daemon --crontab ./crontab --state-dir ./state --log-format json
    """
    settings = _settings(ctx)
    zone = resolve_tz(tz) if tz else local_zone()
    daemon_settings = DaemonSettings(
        crontab=settings.crontab,
        state_dir=settings.state_dir,
        max_parallel=max_parallel,
        shutdown_grace=shutdown_grace,
        zone=zone,
        reboot=reboot,
        heartbeat=heartbeat,
        retention=settings.retention,
    )
    ctx.exit(serve(daemon_settings, LogFormat(log_format), log_level))


def main(argv: Sequence[str] | None = None) -> None:
    """Run the click interface (see `pycron.launch.main` for the process entry);
    click's own errors (usage, end of input at a prompt) end, like pycron's, as
    one `pycron: error:` line."""
    try:
        code = cli.main(args=argv, prog_name="pycron", standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.UsageError as error:
        hint = f"\n  see '{error.ctx.command_path} --help'" if error.ctx is not None else ""
        click.echo(f"pycron: error: {_sentence(error.format_message())}{hint}", err=True)
        sys.exit(error.exit_code)
    except click.ClickException as error:
        click.echo(f"pycron: error: {_sentence(error.format_message())}", err=True)
        sys.exit(error.exit_code)
    except click.Abort:
        click.echo("pycron: error: stopped (end of input or interrupt)", err=True)
        sys.exit(EXIT_FAILURE)
    if isinstance(code, int):  # a command's ctx.exit(code)
        sys.exit(code)
