"""What the `pycron` command needs before click is loaded: the quick path of
`next`, error rendering and the mapping of error types to exit codes.

`pycron next` is made for shell loops and pipelines, where start-up time is
the whole cost: importing click alone takes about 40 ms, several times the
work itself. So the documented form of `next` is read here by a strict little
parser with nothing but the engine imported (`quick_next`); the entry point
(`pycron.cli.main`) hands everything else to the click interface, which owns
usage messages. Both paths print through `run_next`, so they cannot drift
apart.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime

from pycron.errors import (
    ClusterError,
    ConcurrentEditError,
    CorruptHistoryError,
    CronSyntaxError,
    CrontabError,
    DaemonError,
    HistoryError,
    JobNotFoundError,
    NoMatchError,
    PycronError,
    StorageError,
    UnknownTimeZoneError,
    UnsafeFileError,
    UsageError,
    WebError,
)
from pycron.expr import CronExpression, resolve_tz

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import TextIO

EXIT_OK = 0
EXIT_FAILURE = 1  # operational error: nothing matches, a file cannot be read or written, ...
EXIT_USAGE = 2  # bad command line or bad syntax

# How a command stopped by Ctrl-C (or the end of its input) before its own handling ends.
STOPPED = "pycron: error: stopped (end of input or interrupt)"

# Most specific first; every PycronError maps to exactly one code.
EXIT_CODES: tuple[tuple[type[PycronError], int], ...] = (
    (CronSyntaxError, EXIT_USAGE),
    (UnknownTimeZoneError, EXIT_USAGE),
    (UsageError, EXIT_USAGE),
    (CrontabError, EXIT_USAGE),
    (NoMatchError, EXIT_FAILURE),
    (JobNotFoundError, EXIT_FAILURE),
    (CorruptHistoryError, EXIT_FAILURE),
    (HistoryError, EXIT_FAILURE),
    (DaemonError, EXIT_FAILURE),
    (ConcurrentEditError, EXIT_FAILURE),
    (UnsafeFileError, EXIT_FAILURE),
    (StorageError, EXIT_FAILURE),
    (WebError, EXIT_FAILURE),
    (ClusterError, EXIT_FAILURE),
    (PycronError, EXIT_FAILURE),
)


def exit_code(error: PycronError) -> int:
    """The exit code of an error type (see EXIT_CODES)."""
    for kind, code in EXIT_CODES:
        if isinstance(error, kind):
            return code
    return EXIT_FAILURE


def format_error(error: PycronError) -> str:
    """Render an error for stderr; a syntax error gets its text with a caret under
    the column, like a compiler's."""
    lines = [f"pycron: error: {error}"]
    if isinstance(error, CronSyntaxError) and error.text is not None and error.position is not None:
        # Keep tabs in the padding so the caret lines up however the terminal expands them.
        padding = "".join(c if c == "\t" else " " for c in error.text[: error.position])
        lines += [f"  {error.text}", f"  {padding}^"]
    hint = getattr(error, "hint", None)
    if hint:
        lines.append(f"hint: {hint}")
    return "\n".join(lines)


def parse_start(text: str | None, tz_name: str | None) -> datetime:
    """The reference time of `next`: an ISO 8601 text, or now (in the zone if given)."""
    if text is None:
        return datetime.now(resolve_tz(tz_name)) if tz_name else datetime.now()
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--from: cannot read {text!r} as an ISO 8601 date and time, "
            "e.g. 2026-03-08T02:30 or 2026-03-08T02:30:00-05:00"
        ) from None


def run_next(
    expression: str,
    count: int,
    start: str | None,
    tz_name: str | None,
    as_json: bool,
    out: TextIO,
) -> int:
    """Print the next `count` firing times, one ISO 8601 line each (or a JSON
    array): nothing but data on `out`, so pipelines can consume it."""
    expr = CronExpression(expression, tz_name)
    times = expr.iter(parse_start(start, tz_name))
    lines = [next(times).isoformat() for _ in range(count)]
    if as_json:
        # isoformat() text needs no JSON escaping; json itself is slow to import.
        out.write("[" + ", ".join(f'"{line}"' for line in lines) + "]\n")
    else:
        out.write("\n".join(lines) + "\n")
    return EXIT_OK


_QUICK_OPTIONS = {"-n": "count", "--count": "count", "--from": "from", "--tz": "tz"}


def quick_next(args: Sequence[str]) -> tuple[str, int, str | None, str | None, bool] | None:
    """Read `EXPR [--count N] [--from ISO] [--tz ZONE] [--json]` (the arguments
    after `next`); None for anything else, which the click interface then
    reports or serves."""
    options: dict[str, str] = {}
    positional: list[str] = []
    as_json = False
    items = iter(args)
    for arg in items:
        name, equals, value = arg.partition("=")
        if arg == "--json":
            as_json = True
        elif name in _QUICK_OPTIONS and (name == arg or (equals and name.startswith("--"))):
            given = value if equals else next(items, None)
            if given is None:
                return None
            options[_QUICK_OPTIONS[name]] = given
        elif arg.startswith("-"):
            return None
        else:
            positional.append(arg)
    count = options.get("count", "1")
    if len(positional) != 1 or not (count.isascii() and count.isdigit()) or int(count) < 1:
        return None
    return positional[0], int(count), options.get("from"), options.get("tz"), as_json


def serve_next(quick: tuple[str, int, str | None, str | None, bool]) -> int:
    """Print what `quick_next` read; returns the exit code."""
    try:
        code = run_next(*quick, out=sys.stdout)
        sys.stdout.flush()
    except PycronError as error:
        print(format_error(error), file=sys.stderr)
        code = exit_code(error)
    except BrokenPipeError:
        # The reader went away (`pycron next ... | head -1`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_OK
    return code
