"""Commands on a cron expression alone: `next` (the click form; the quick
form is served without click) and `explain`. No crontab, no state."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from pycron.cli.invocation import command
from pycron.errors import (
    NoMatchError,
)
from pycron.expr import CronExpression
from pycron.launch import parse_start, run_next

_EXPLAIN_RUNS = 3


@command("next")
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


@command("explain")
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
    from pycron.explain import dst_notes, headline  # noqa: PLC0415 - not needed to start the daemon

    expr = CronExpression(expression, tz)
    reference = parse_start(start, tz)
    click.echo(headline(expr))
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


COMMANDS = (next_command, explain_command)
