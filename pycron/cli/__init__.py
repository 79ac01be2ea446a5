"""The `pycron` command.

`main` is the process entry point. It serves the documented form of `pycron
next` without loading click (`pycron.launch`), and the usual lines of
`pycron daemon` too (`pycron.cli.daemonline`), and hands every other
command to the click interface, loaded only then. The interface is a group
of command families, one module each, loaded only when one of its commands
runs: `engine` (next, explain), `crontab` (check, add, remove, enable,
disable, edit, import, export, list), `pipelines` (graph), `runs` (run-now,
history, logs, status, stats), `daemon`, `web`, `notify` and `cluster`;
`invocation` holds the global options and what every command shares,
`render` how data is shown (tables on a terminal, plain columns or JSON in
a pipe), and `app` the group itself. `given`, `messages`, `serving` and
`daemonline` hold, without click, what `pycron daemon` shares with them.
"""

from __future__ import annotations

import gc
import sys

from pycron.launch import quick_next, serve_next

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    """Run the `pycron` command with `argv` (default: the process arguments).

    The cyclic garbage collector is off while the command's modules load (it
    would walk their long-lived objects again and again, a sixth of the
    start-up's CPU, and finds next to nothing to free); the command turns it
    back on before it runs (`GlobalOptionsCommand.invoke`, `quick_daemon`)."""
    gc.disable()
    args = list(sys.argv[1:] if argv is None else argv)
    code = _without_click(args)
    if code is None:
        from pycron.cli import app  # noqa: PLC0415 - click is loaded only when needed

        app.main(args)
        return
    sys.exit(code)


def _without_click(args: list[str]) -> int | None:
    """Serve `pycron ARGS` without click if it is a line read so; returns
    the exit code, or None (nothing done) for the click interface to serve."""
    if args[:1] == ["next"]:
        quick = quick_next(args[1:])
        return None if quick is None else serve_next(quick)
    if "daemon" in args:
        from pycron.cli.daemonline import quick_daemon  # noqa: PLC0415 - the daemon's modules

        return quick_daemon(args)
    return None
