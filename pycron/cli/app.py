"""The `pycron` click group: its global options, its help, the command
families it is made of, and how click's own errors end (as pycron's do, in one
`pycron: error:` line with the exit code of the README's table)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pycron import __version__
from pycron.cli.given import Invocation
from pycron.cli.invocation import Group, global_options
from pycron.cli.render import sentence
from pycron.launch import EXIT_FAILURE, STOPPED

if TYPE_CHECKING:
    from collections.abc import Sequence

# The family of each command: the module of `pycron.cli` whose COMMANDS hold it.
FAMILIES = {
    **dict.fromkeys(("next", "explain"), "engine"),
    **dict.fromkeys(
        ("check", "add", "remove", "disable", "enable", "edit", "import", "export", "list"),
        "crontab",
    ),
    "graph": "pipelines",
    **dict.fromkeys(("run-now", "history", "logs", "status", "stats"), "runs"),
    "daemon": "daemon",
    "web": "web",
    "notify": "notify",
    "cluster": "cluster",
}


class Families(Group):
    """The group of the command families, each loaded only when one of its
    commands runs (or help lists them all): a command pays for the modules
    of its own family alone, so that `pycron daemon` loads neither the
    crontab's editing commands nor the history's."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(FAMILIES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        family = FAMILIES.get(cmd_name)
        if family is None:
            return None
        module = importlib.import_module(f"pycron.cli.{family}")
        commands: tuple[click.Command, ...] = module.COMMANDS
        return next(command for command in commands if command.name == cmd_name)


@click.group(
    cls=Families,
    context_settings={"help_option_names": ["-h", "--help"]},
    params=global_options(after=False),
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
    ctx.obj = Invocation.given(crontab_path, state_dir, keep_runs, keep_mib)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the click interface (the process entry is `pycron.cli.main`);
    click's own errors (usage, end of input at a prompt) end, like pycron's, as
    one `pycron: error:` line."""
    try:
        code = cli.main(args=argv, prog_name="pycron", standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.UsageError as error:
        hint = f"\n  see '{error.ctx.command_path} --help'" if error.ctx is not None else ""
        click.echo(f"pycron: error: {sentence(error.format_message())}{hint}", err=True)
        sys.exit(error.exit_code)
    except click.ClickException as error:
        click.echo(f"pycron: error: {sentence(error.format_message())}", err=True)
        sys.exit(error.exit_code)
    except click.Abort:
        click.echo(STOPPED, err=True)
        sys.exit(EXIT_FAILURE)
    if isinstance(code, int):  # a command's ctx.exit(code)
        sys.exit(code)
