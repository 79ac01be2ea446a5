"""The `pycron` command-line interface (click).

Each command reads its options, calls one core function and renders the
result: data on stdout, diagnostics on stderr. Errors are `PycronError`s,
turned into a message and an exit code in one place (`_Group.invoke`, with the
table in `pycron.launch`). The process entry point is `pycron.launch.main`,
which serves the plain form of `next` without loading this module.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from pycron import __version__
from pycron.errors import NoMatchError, PycronError
from pycron.explain import describe, dst_notes
from pycron.expr import CronExpression
from pycron.launch import exit_code, format_error, parse_start, run_next

if TYPE_CHECKING:
    from collections.abc import Sequence

_EXPLAIN_RUNS = 3


class _Group(click.Group):
    """A click group that reports PycronError as `pycron: error: ...` with its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PycronError as error:
            click.echo(format_error(error), err=True)
            ctx.exit(exit_code(error))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pycron")
def cli() -> None:
    """pycron: a crontab-compatible cron.

    \b
    Exit codes: 0 ok, 1 operational error (e.g. an expression that never
    runs), 2 usage or syntax error.
    """


@cli.command("next")
@click.argument("expression")
@click.option(
    "-n", "--count", type=click.IntRange(min=1), default=1, show_default=True,
    help="How many firing times to print.",
)  # fmt: skip
@click.option(
    "--from", "start", metavar="ISO8601",
    help="Start after this time (default: now). Without an offset it is wall time "
    "in --tz, or naive; with an offset and --tz it is converted to the zone.",
)  # fmt: skip
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


def main(argv: Sequence[str] | None = None) -> None:
    """Run the click interface (see `pycron.launch.main` for the process entry)."""
    cli.main(args=argv, prog_name="pycron")
