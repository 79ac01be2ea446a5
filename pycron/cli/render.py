"""How commands show data: tables that fit the terminal for people, plain
columns in a pipe, JSON on request; and the short texts of times, durations,
results and next runs that tables and messages share."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

import click

from pycron.crontab import (
    Entry,
)
from pycron.records import Outcome, this_host
from pycron.store import RunRecord, orphan_note

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence


# --------------------------------------------------------------------------- output


def on_terminal() -> bool:
    """True if stdout is a terminal (tables for people; plain columns for pipes)."""
    return sys.stdout.isatty()


def print_json(value: object) -> None:
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
    "blocked": "yellow",
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


def print_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    *,
    wide: bool = False,
    omit: Collection[str] = (),
) -> None:
    """A table fitted to the terminal (see `fit_columns`; `wide`: everything in
    full), outcomes in colour unless NO_COLOR is set; in a pipe, plain columns
    (tabulate), every one in full. The columns headed as in `omit` are left
    out, whatever the width."""
    if omit:
        kept = [index for index, column in enumerate(columns) if column.header not in omit]
        columns = [columns[index] for index in kept]
        rows = [[row[index] for index in kept] for row in rows]
    headers = [column.header for column in columns]
    if not on_terminal():
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


HOST = "HOST"  # the header of the column of the host that ran a run


def host_omitted(shared_history: str | None) -> tuple[str, ...]:
    """What tables of runs leave out (`print_table`'s `omit`): the HOST column,
    but where the history read is a cluster's shared one (`shared_history`,
    its URL), whose runs come from every host. (Whether a table has the
    column depends on the history read, never on its rows, so that the
    columns a script reads stay put.)"""
    return () if shared_history else (HOST,)


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def local_time(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def result_text(record: RunRecord) -> str:
    """`success`, `failed (exit 3)`, `failed (signal 15)`, `timeout`, `running
    (pycron gone, pid 42)`..."""
    note = orphan_text(record)
    if note is not None:
        return f"{record.outcome.value} ({note})"
    if record.outcome is Outcome.FAILED and record.signal is not None:
        return f"failed (signal {record.signal})"
    if record.outcome is Outcome.FAILED and record.exit_code is not None:
        return f"failed (exit {record.exit_code})"
    return record.outcome.value


def orphan_text(record: RunRecord) -> str | None:
    """`pycron gone, pid N` for a run that outlived the pycron that started it."""
    return orphan_note(record, this_host())


def minute_text(moment: datetime) -> str:
    """A fire time in the table: local wall time, to the minute."""
    return moment.strftime("%Y-%m-%d %H:%M")


def no_next_text(entry: Entry) -> str:
    return entry.schedule.no_next if entry.enabled else "-"


def sentence(message: str) -> str:
    """A message of click's in pycron's style (lower case first, no final stop)."""
    message = message.rstrip(".")
    return message[:1].lower() + message[1:]
