"""Commands on the crontab file: `check` (lint, read-only), `add`, `remove`,
`enable`, `disable`, `edit`, `import` (edits through the one install path:
lock, re-validate, back up, replace), `export` and `list`.

An edit is refused while the file already has an error, so no edit is judged
by an error it did not make."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pycron.cli import messages
from pycron.cli.cluster import cluster_url_option, history_cluster_option
from pycron.cli.invocation import command, invocation_of, open_history, read_source, utc_now
from pycron.cli.render import (
    HOST,
    WIDE_HELP,
    Column,
    host_omitted,
    local_time,
    minute_text,
    no_next_text,
    plural,
    print_json,
    print_table,
    result_text,
    sentence,
)
from pycron.crontab import (
    JOB_OPTIONS,
    Crontab,
    Finding,
    Severity,
    add_lines,
    disable_job,
    enable_job,
    invalid_crontab,
    job_lines,
    parse,
    remove_job,
    untrusted,
)
from pycron.daemon import local_zone, next_runs
from pycron.errors import (
    CrontabError,
    PycronError,
    StorageError,
    UsageError,
    file_errors,
)
from pycron.launch import EXIT_FAILURE, EXIT_USAGE
from pycron.store.cluster import backend_of
from pycron.views import finding_view, job_view, line_view, run_view

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

_EXCERPT_WIDTH = 20  # how much of a refused `add` argument its error message shows
_LINE_BREAKS = (("\n", "a line break"), ("\r", "a carriage return"))


@command("check")
@click.argument("source", metavar="[FILE|-]", required=False)
@click.option("--system", is_flag=True, help="System format (/etc/crontab): a user column.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array of findings (or of lines).")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option("--lines", "show_lines", is_flag=True, help="Show how every line is read.")
@cluster_url_option("Check the form of this cluster URL too (a bad one exits 2).")
@click.pass_context
def check_command(
    ctx: click.Context,
    source: str | None,
    system: bool,
    as_json: bool,
    strict: bool,
    show_lines: bool,
    cluster: str | None,
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
    text, name = read_source(source, invocation_of(ctx))
    crontab, errors = parse(text, name, system=system)
    if source != "-":
        errors += _trust_findings(Path(name))
    if show_lines:
        records = [line_view(line) for line in crontab.lines]
        if as_json:
            print_json(records)
        else:
            for record in records:
                click.echo(_formatline_view(record))
        ctx.exit(EXIT_USAGE if errors else 0)
    findings = sorted([*errors, *_lint_findings(crontab)], key=lambda f: (f.line, f.column))
    errors = [finding for finding in findings if finding.is_error]
    if as_json:
        print_json([finding_view(f) for f in findings])
    else:
        for finding in findings:
            click.echo(str(finding))
    warnings = len(findings) - len(errors)
    jobs = len(crontab.entries)
    counts = ", ".join(
        plural(n, word)
        for n, word in ((jobs, "job"), (len(errors), "error"), (warnings, "warning"))
    )
    click.echo(f"{name}: {counts}", err=True)
    if cluster is not None:
        click.echo(f"--cluster: a {backend_of(cluster)} URL", err=True)
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


def _lint_findings(crontab: Crontab) -> list[Finding]:
    """The warnings `check` gives for a crontab, on this machine and now, and
    the errors of `notify=` targets that alerts cannot go to."""
    from pycron.lint import lint  # noqa: PLC0415 - not needed to start the daemon
    from pycron.notify.alerts import check_target  # noqa: PLC0415 - loads apprise when asked

    return lint(
        crontab,
        datetime.now().astimezone(),
        which=_which,
        exists=_exists,
        users=_users(),
        local_tz=local_zone(),
        check_target=check_target,
        mail_transport=_can_mail(),
    )


def _can_mail() -> bool:
    """Whether a daemon started here could send mail: PYCRON_SMTP, else a local
    sendmail (for the no-mail-transport lint; a bad PYCRON_SMTP is a usage error)."""
    return messages.transport(None, None) is not None


def _users() -> set[str]:
    """The users this machine knows (for the user-column lint)."""
    import pwd  # noqa: PLC0415 - POSIX only, and only `check` needs it

    return {entry.pw_name for entry in pwd.getpwall()}


def _exists(path: str) -> bool:
    """Whether a `@watch` path exists, read as a daemon started here reads it
    (for the watch-missing lint)."""
    return os.path.exists(os.path.expanduser(path))


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
    path = invocation_of(ctx).crontab

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

    return invocation_of(ctx).crontab_file().update(checked)


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


@command("add")
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
    for warning in _lint_findings(updated):
        if warning.line in new_lines:
            click.echo(str(warning), err=True)
    added = [e.id for e in updated.entries][-len(alone.entries) :]
    click.echo(f"added {', '.join(added)} to {invocation_of(ctx).crontab}", err=True)


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


@command("remove")
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
    current, _ = invocation_of(ctx).crontab_file().load()
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


@command("disable")
@click.argument("job_id", metavar="ID")
@click.pass_context
def disable_command(ctx: click.Context, job_id: str) -> None:
    """Comment a job out (`#pycron-disabled# ...`), so plain cron skips it too.

    `pycron enable ID` restores the line exactly.
    """
    _edit(ctx, lambda crontab: disable_job(crontab, job_id))
    click.echo(f"disabled {job_id}", err=True)


@command("enable")
@click.argument("job_id", metavar="ID")
@click.pass_context
def enable_command(ctx: click.Context, job_id: str) -> None:
    """Restore a job commented out by `pycron disable`."""
    _edit(ctx, lambda crontab: enable_job(crontab, job_id))
    click.echo(f"enabled {job_id}", err=True)


@command("edit")
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
    file = invocation_of(ctx).crontab_file()
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
            f"not installed ({sentence(reason)}): your version is kept in {draft}"
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


@command("import")
@click.argument("source", metavar="[FILE|-]", default="-")
@click.pass_context
def import_command(ctx: click.Context, source: str) -> None:
    """Install a whole crontab (replacing the current one) after checking it.

    \b
    Example:
      crontab -l | pycron import -
    """
    invocation = invocation_of(ctx)
    text, name = read_source(source, invocation)
    _, errors = parse(text, name)
    if errors:
        raise invalid_crontab(errors)
    installed = invocation.crontab_file().install_text(text)
    click.echo(f"installed {len(installed.entries)} jobs into {invocation.crontab}", err=True)


@command("export")
@click.pass_context
def export_command(ctx: click.Context) -> None:
    """Print the crontab exactly as it is on disk."""
    click.echo(invocation_of(ctx).crontab_file().read_text(), nl=False)


@command("list")
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
@history_cluster_option
@click.pass_context
def list_command(ctx: click.Context, as_json: bool, runs: int, wide: bool) -> None:
    """List the jobs: id, schedule, command, next run, enabled, last run and result.

    On a terminal the table fits its width: ids and times are never cut, the
    command is shortened first, then the least important columns are left
    out (stderr says which): --wide shows every column in full, --json all.
    With --cluster postgresql://..., the last runs are the whole cluster's,
    and HOST says which host ran each.

    \b
    Examples:
      pycron list
      pycron list --json | jq -r '.[].id'
    """
    invocation = invocation_of(ctx)
    crontab, errors = invocation.crontab_file().load()
    for finding in errors:
        click.echo(str(finding), err=True)
    with open_history(invocation) as history:
        last = history.last_per_job()
    now, zone = utc_now(), local_zone()
    jobs = [
        (entry, next_runs(entry, now, runs, zone), last.get(entry.id)) for entry in crontab.entries
    ]
    if as_json:
        print_json(
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
            ", ".join(minute_text(t) for t in times) or no_next_text(entry),
            "yes" if entry.enabled else "no",
            local_time(record.started) if record else "never",
            record.host if record else "-",
            result_text(record) if record else "-",
        )
        for entry, times, record in jobs
    ]
    print_table(LIST_COLUMNS, rows, wide=wide, omit=host_omitted(invocation.shared_history))


LIST_COLUMNS = (
    Column("ID", 9, keep=True),
    Column("SCHEDULE", 6),
    Column("COMMAND", 7, shrink=True),
    Column("NEXT RUN", 8),
    Column("ENABLED", 1),
    Column("LAST RUN", 3),
    Column(HOST, 2),
    Column("RESULT", 4, outcome=True),
)


COMMANDS = (
    check_command,
    add_command,
    remove_command,
    disable_command,
    enable_command,
    edit_command,
    import_command,
    export_command,
    list_command,
)
