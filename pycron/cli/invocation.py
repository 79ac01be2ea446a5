"""What every command shares: the global options (given before or after the
command) that make its `Invocation`, the error reporting of the group, and
opening the crontab and the run history for a command (the state
directory's, or the one a PostgreSQL cluster shares)."""

from __future__ import annotations

import gc
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pycron.cli.given import (
    CRONTAB_ENV,
    GLOBAL_NAMES,
    KEEP_MIB,
    KEEP_MIB_ENV,
    KEEP_RUNS,
    KEEP_RUNS_ENV,
    STATE_DIR_ENV,
    Invocation,
    open_shared_history,
)
from pycron.errors import HistoryError, PycronError, UsageError
from pycron.launch import exit_code, format_error
from pycron.store import Store, TolerantRecorder
from pycron.store.sqlite import SQLiteStore, open_recording

if TYPE_CHECKING:
    from collections.abc import Callable


class Group(click.Group):
    """A click group that reports PycronError as `pycron: error: ...` with its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PycronError as error:
            click.echo(format_error(error), err=True)
            ctx.exit(exit_code(error))


def global_options(*, after: bool) -> list[click.Parameter]:
    """Where the crontab and the state are, and how many logs to keep: taken
    before the command (with their environment variables and defaults) and
    after it, where users type them first (`pycron daemon --crontab F`)."""
    defaults = not after
    return [
        click.Option(
            ["--crontab", "crontab_path"],
            envvar=CRONTAB_ENV if defaults else None,
            metavar="PATH",
            type=click.Path(dir_okay=False, path_type=Path),
            help="The crontab file [default: $PYCRON_CRONTAB, else "
            "$XDG_CONFIG_HOME/pycron/crontab].",
        ),
        click.Option(
            ["--state-dir", "state_dir"],
            envvar=STATE_DIR_ENV if defaults else None,
            metavar="DIR",
            type=click.Path(path_type=Path),  # a file there is reported where it is used
            help="Run history and logs [default: $PYCRON_STATE_DIR, else $XDG_STATE_HOME/pycron].",
        ),
        click.Option(
            ["--keep-runs", "keep_runs"],
            envvar=KEEP_RUNS_ENV if defaults else None,
            metavar="N",
            type=click.IntRange(min=1),
            default=KEEP_RUNS if defaults else None,
            help=f"Log files kept per job: those of its last N runs, all their attempts "
            f"[default: $PYCRON_KEEP_RUNS, else {KEEP_RUNS}]...",
        ),
        click.Option(
            ["--keep-mib", "keep_mib"],
            envvar=KEEP_MIB_ENV if defaults else None,
            metavar="M",
            type=click.IntRange(min=1),
            default=KEEP_MIB if defaults else None,
            help=f"...and at most this many MiB of them, whole runs [default: "
            f"$PYCRON_KEEP_MIB, else {KEEP_MIB}] (the newest run and "
            "runs in progress are always kept).",
        ),
    ]


class GlobalOptionsCommand(click.Command):
    """A command that also takes the global options after its name. Given there,
    they replace those given before it; the same option on both sides
    is a usage error that names it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend(global_options(after=True))

    def invoke(self, ctx: click.Context) -> Any:
        gc.enable()  # off while the modules loaded (`pycron.cli.main`)
        given = {name: ctx.params.pop(name, None) for name in GLOBAL_NAMES}
        given = {name: value for name, value in given.items() if value is not None}
        root = ctx.find_root()
        for name in given:
            if root.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE:
                flag = "--" + name.removesuffix("_path").replace("_", "-")
                raise UsageError(f"{flag} is given both before and after the command: give it once")
        if given:
            ctx.obj = invocation_of(ctx).updated(given)
        return super().invoke(ctx)


Group.command_class = GlobalOptionsCommand


def invocation_of(ctx: click.Context) -> Invocation:
    invocation = ctx.find_object(Invocation)
    assert invocation is not None
    return invocation


def read_source(source: str | None, invocation: Invocation) -> tuple[str, str]:
    """(text, name) of a FILE argument: `-` is stdin, none is the configured crontab."""
    if source == "-":
        return sys.stdin.read(), "<stdin>"
    path = Path(source) if source else invocation.crontab
    try:
        return path.read_bytes().decode("utf-8", "surrogateescape"), str(path)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def warn(message: str) -> None:
    click.echo(f"pycron: warning: {message}", err=True)


def open_history(invocation: Invocation) -> Store:
    """The run history for the commands that only read it (`list`, `status`,
    `history`, `stats`, `logs`): the history the cluster given to the
    command shares (see `open_shared_history`), else the state directory's,
    opened read-only and never written, not even for its upkeep (the
    daemon's and `run-now`'s): a run whose pycron is gone shows as the upkeep
    will mark it, interrupted. A corrupt file is reported, and left where it
    is."""
    url = invocation.shared_history
    if url is not None:
        return open_shared_history(url)
    return SQLiteStore.open_readonly(invocation.state_dir, settled_at=utc_now())


def open_recorder(invocation: Invocation) -> TolerantRecorder | None:
    """run-now's recorder: a corrupt history is set aside and a new one started;
    None if the history cannot be opened at all, as the job runs anyway (said
    on stderr). A run-now claims no slot."""
    try:
        history = open_recording(invocation.state_dir, utc_now(), warn)
    except HistoryError as error:
        warn(f"{error}: this run is not recorded")
        return None
    _settle(history)
    return TolerantRecorder(history, warn, claim_slots=False)


def _settle(history: Store) -> None:
    """The history's upkeep; if it cannot be written, the command goes on."""
    try:
        history.settle(utc_now())
    except HistoryError as error:
        warn(f"{error}: runs of pycron processes that are gone are shown as they were left")


def command(name: str) -> Callable[[Callable[..., Any]], click.Command]:
    """Declare a pycron command: it also takes the global options after its name."""
    return click.command(name, cls=GlobalOptionsCommand)
