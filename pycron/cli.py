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
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pycron import __version__
from pycron.crontab import (
    At,
    Cron,
    Crontab,
    CrontabFile,
    Entry,
    Every,
    Finding,
    Line,
    add_lines,
    disable_job,
    enable_job,
    format_duration,
    invalid_crontab,
    job_lines,
    parse,
    remove_job,
)
from pycron.errors import NoMatchError, PycronError, UsageError
from pycron.explain import describe, dst_notes
from pycron.expr import FIELD_NAMES, CronExpression, resolve_tz
from pycron.launch import EXIT_FAILURE, EXIT_USAGE, exit_code, format_error, parse_start, run_next
from pycron.lint import lint

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

_EXPLAIN_RUNS = 3
_COMMAND_WIDTH = 50  # a command longer than this is shortened in terminal tables


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

    def crontab_file(self, system: bool = False) -> CrontabFile:
        """The crontab as a file to read and edit."""
        return CrontabFile(self.crontab, system=system)


def _default_crontab() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base, "pycron", "crontab")


def _default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(base, "pycron")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pycron")
@click.option(
    "--crontab",
    "crontab_path",
    envvar="PYCRON_CRONTAB",
    metavar="PATH",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The crontab file [default: $PYCRON_CRONTAB, else $XDG_CONFIG_HOME/pycron/crontab].",
)
@click.option(
    "--state-dir",
    envvar="PYCRON_STATE_DIR",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Run history and logs [default: $PYCRON_STATE_DIR, else $XDG_STATE_HOME/pycron].",
)
@click.pass_context
def cli(ctx: click.Context, crontab_path: Path | None, state_dir: Path | None) -> None:
    """pycron: a crontab-compatible cron.

    \b
    Exit codes: 0 ok, 1 operational error (an expression that never runs, an
    unknown job id, a concurrent edit), 2 usage or syntax error (also a crontab
    with errors).
    """
    ctx.obj = Settings(crontab_path or _default_crontab(), state_dir or _default_state_dir())


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
    expr = CronExpression(expression, tz)
    reference = parse_start(start, tz)
    click.echo(describe(expr) + (f" ({expr.tz})" if expr.tz is not None else ""))
    click.echo("Next runs:")
    try:
        runs = expr.iter(reference)
        for _ in range(_EXPLAIN_RUNS):
            click.echo(f"  {next(runs).isoformat()}")
    except NoMatchError:
        click.echo("  none: this expression never runs")
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


def _print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A rich table on a terminal, tab-free plain columns (tabulate) in a pipe."""
    if _on_terminal():
        from rich.console import Console  # noqa: PLC0415 - rich is slow to import
        from rich.table import Table  # noqa: PLC0415

        table = Table(*headers, header_style="bold", box=None, pad_edge=False)
        for row in rows:
            table.add_row(*row)
        Console().print(table)
    else:
        from tabulate import tabulate  # noqa: PLC0415

        click.echo(tabulate(rows, headers=headers, tablefmt="plain", disable_numparse=True))


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "\u2026"


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
    if show_lines:
        records = [_line_record(line) for line in crontab.lines]
        if as_json:
            _print_json(records)
        else:
            for record in records:
                click.echo(_format_line_record(record))
        ctx.exit(EXIT_USAGE if errors else 0)
    warnings_found = lint(
        crontab, datetime.now().astimezone(), which=_which, users=_users(), local_tz=local_zone()
    )
    findings = sorted([*errors, *warnings_found], key=lambda f: (f.line, f.column))
    if as_json:
        _print_json([_finding_record(f) for f in findings])
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


def _users() -> set[str]:
    """The users this machine knows (for the user-column lint)."""
    import pwd  # noqa: PLC0415 - POSIX only, and only `check` needs it

    return {entry.pw_name for entry in pwd.getpwall()}


def local_zone() -> tzinfo | None:
    """This machine's time zone as an IANA zone: $TZ, else /etc/localtime's target."""
    name = os.environ.get("TZ", "").lstrip(":")
    if not name:
        try:
            target = os.path.realpath("/etc/localtime")
        except OSError:
            return None
        name = target.partition("/zoneinfo/")[2]
    try:
        return resolve_tz(name) if name else None
    except PycronError:
        return None


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _which(command: str, path: str) -> bool:
    """True if `command` is found in the PATH string (for the relative-command lint)."""
    return shutil.which(command, path=path) is not None


def _finding_record(finding: Finding) -> dict[str, object]:
    return {
        "path": finding.path,
        "line": finding.line,
        "column": finding.column + 1,
        "severity": finding.severity.value,
        "code": finding.code,
        "message": finding.message,
        "hint": finding.hint,
    }


def _line_record(line: Line) -> dict[str, object]:
    """How pycron reads one physical line (`check --lines`)."""
    record: dict[str, object] = {"line": line.number, "kind": line.kind, "text": line.text}
    if line.env is not None:
        record["name"], record["value"] = line.env
    if line.options:
        record["options"] = dict(line.options)
    if line.findings:
        record["errors"] = [f"{f.column + 1}: {f.message}" for f in line.findings]
    if line.job is not None:
        record.update(_job_record(line.job))
    return record


def _job_record(entry: Entry) -> dict[str, object]:
    schedule = entry.schedule
    record: dict[str, object] = {
        "id": entry.id,
        "schedule": schedule.text,
        "user": entry.user,
        "command": entry.command,
        "stdin": entry.stdin,
        "enabled": entry.enabled,
        "options": dict(entry.options.given),
    }
    if isinstance(schedule, Cron):
        expression = schedule.expression
        record["fields"] = {
            FIELD_NAMES[f.index]: sorted(f.values) if f.values or not f.items else []
            for f in expression.fields
        }
        record["extensions"] = [
            item.text
            for f in expression.fields
            for item in f.items
            if item.kind not in ("star", "any", "value", "range")
        ]
        if schedule.random:
            record["picked"] = expression.text
        record["tz"] = str(expression.tz) if expression.tz is not None else None
    return record


def _format_line_record(record: dict[str, object]) -> str:
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
    return _settings(ctx).crontab_file().update(change)


@cli.command("add")
@click.argument("words", nargs=-1, required=True, metavar="LINE | EXPR COMMAND... | -")
@click.option("--name", help="Job name (its id): letters, digits, '.', '_', '-'.")
@click.option("--timeout", metavar="DURATION", help="Kill the job after this long, e.g. 30m.")
@click.option("--retries", metavar="N", help="Retry a failed run up to N times.")
@click.option("--retry-delay", metavar="DURATION", help="First retry delay (then doubled).")
@click.option(
    "--overlap",
    type=click.Choice(["skip", "queue", "allow", "replace"]),
    help="If the job is still running at its next time.",
)
@click.option("--lock", metavar="NAME", help="Share a lock with other jobs.")
@click.option("--catch-up", metavar="POLICY", help="none, latest, all or all:WINDOW.")
@click.pass_context
def add_command(
    ctx: click.Context,
    words: tuple[str, ...],
    name: str | None,
    timeout: str | None,
    retries: str | None,
    retry_delay: str | None,
    overlap: str | None,
    lock: str | None,
    catch_up: str | None,
) -> None:
    """Add a job (or several crontab lines from stdin with -).

    One argument is a whole crontab line; several are a schedule and a
    command. The options become a `# pycron:` comment above the job, which
    plain cron ignores. Bad input is rejected with the messages of `check`
    and nothing changes.

    \b
    Examples:
      pycron add '*/5 * * * * /usr/local/bin/poll'
      pycron add --name backup --timeout 1h '30 2 * * *' /usr/local/bin/backup
      pycron add @daily 'find /tmp -mtime +7 -delete'
      pycron add -- '0 8 * * 1' /usr/bin/report --weekly   # words starting with -
      crontab -l | pycron add -
    """
    given = {
        "name": name,
        "timeout": timeout,
        "retries": retries,
        "retry-delay": retry_delay,
        "overlap": overlap,
        "lock": lock,
        "catch-up": catch_up,
    }
    options = {key: value for key, value in given.items() if value is not None}
    if words == ("-",):
        if options:
            raise UsageError("options apply to one job: give them in '# pycron:' lines on stdin")
        lines = sys.stdin.read().splitlines()
        source = "<stdin>"
    else:
        lines, source = job_lines(" ".join(words), options), "<arguments>"
    alone, errors = parse("".join(f"{line}\n" for line in lines), source)
    if errors or not alone.entries:
        raise invalid_crontab(errors) if errors else UsageError("no job in the input")
    updated = _edit(ctx, lambda crontab: add_lines(crontab, lines))
    added = [e.id for e in updated.entries][-len(alone.entries) :]
    click.echo(f"added {', '.join(added)} to {_settings(ctx).crontab}", err=True)


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
    file = _settings(ctx).crontab_file()
    current, _ = file.load()
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

    file.update(change)
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
    re-open it. If the crontab changed while you were editing, your version
    is kept beside it and nothing is installed.
    """
    file = _settings(ctx).crontab_file()
    original = file.read_text()
    handle, name = tempfile.mkstemp(prefix="pycron-", suffix=".crontab")
    draft = Path(name)
    with os.fdopen(handle, "wb") as stream:
        stream.write(original.encode("utf-8", "surrogateescape"))
    while True:
        click.edit(filename=str(draft))
        text = draft.read_bytes().decode("utf-8", "surrogateescape")
        _, errors = parse(text, str(file.path))
        if not errors:
            break
        for finding in errors:
            click.echo(str(finding), err=True)
        if not click.confirm("the crontab has errors; edit it again?", default=True, err=True):
            click.echo(f"not installed; your version is in {draft}", err=True)
            ctx.exit(EXIT_USAGE)
    if text == original:
        draft.unlink()
        click.echo("no changes", err=True)
        return
    try:
        file.install_text(text, expected=original)
    except PycronError:
        kept = file.path.with_name(file.path.name + ".edited")
        shutil.move(str(draft), kept)
        click.echo(f"your version is kept in {kept}", err=True)
        raise
    draft.unlink()
    click.echo(f"installed {file.path}", err=True)


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
@click.pass_context
def list_command(ctx: click.Context, as_json: bool, runs: int) -> None:
    """List the jobs: id, schedule, command, next run, enabled.

    \b
    Examples:
      pycron list
      pycron list --json | jq -r '.[].id'
    """
    crontab, errors = _settings(ctx).crontab_file().load()
    for finding in errors:
        click.echo(str(finding), err=True)
    now = datetime.now()
    jobs = [(entry, _next_runs(entry, now, runs)) for entry in crontab.entries]
    if as_json:
        _print_json(
            [
                {**_job_record(entry), "next": [t.isoformat() for t in times]}
                for entry, times in jobs
            ]
        )
        return
    width = _COMMAND_WIDTH if _on_terminal() else 10_000
    rows = [
        (
            entry.id,
            entry.schedule.text,
            _shorten(entry.command, width),
            ", ".join(t.isoformat(sep=" ", timespec="minutes") for t in times) or _no_next(entry),
            "yes" if entry.enabled else "no",
        )
        for entry, times in jobs
    ]
    _print_table(("ID", "SCHEDULE", "COMMAND", "NEXT RUN", "ENABLED"), rows)


def _next_runs(entry: Entry, now: datetime, count: int) -> list[datetime]:
    """The next `count` runs of a job from `now` (naive local time, as cron's clock)."""
    schedule = entry.schedule
    if not entry.enabled or count == 0:
        return []
    if isinstance(schedule, Cron):
        start = now.astimezone(schedule.expression.tz) if schedule.expression.tz else now
        try:
            runs = schedule.expression.iter(start)
            return [next(runs) for _ in range(count)]
        except NoMatchError:
            return []
    if isinstance(schedule, At):
        when = schedule.when
        future = when > (now.astimezone(when.tzinfo) if when.tzinfo else now)
        return [when] if future else []
    return []


def _no_next(entry: Entry) -> str:
    schedule = entry.schedule
    if not entry.enabled:
        return "-"
    if isinstance(schedule, Every):
        return f"every {format_duration(schedule.interval)} from daemon start"
    if isinstance(schedule, At):
        return "done (in the past)"
    if isinstance(schedule, Cron):
        return "never"
    return "at boot"


def main(argv: Sequence[str] | None = None) -> None:
    """Run the click interface (see `pycron.launch.main` for the process entry)."""
    cli.main(args=argv, prog_name="pycron")
