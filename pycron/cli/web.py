"""The `web` command, and the `--http` options it shares with `daemon`: where
the status page, its JSON API and `/metrics` are served, and to whom (read
by `pycron.cli.serving`, which serves them)."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any, TypeVar

import click

from pycron.cli.cluster import history_cluster_option
from pycron.cli.invocation import command, invocation_of, utc_now, warn
from pycron.cli.serving import (
    LOOPBACK,
    TOKEN_ENV,
    Address,
    http_access,
    listen,
    need_web,
    parse_address,
    shared,
)
from pycron.daemon import local_zone
from pycron.errors import UsageError
from pycron.expr import resolve_tz
from pycron.store.cluster import redacted
from pycron.store.sqlite import FILE_NAME

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_ADDRESS = f"{LOOPBACK}:8765"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _address(ctx: click.Context, param: click.Parameter, value: str | None) -> Address | None:
    """The `--http` value, read by `parse_address` (a usage error that names the option)."""
    try:
        return parse_address(value) if value is not None else None
    except UsageError as error:
        raise click.BadParameter(str(error), ctx, param) from None


def http_options(default: str | None) -> Callable[[F], F]:
    """`--http`, `--http-token` and `--http-insecure` (`default`: the
    address served when `--http` is not given; None: nothing is served)."""
    where = f"[default: {default}]" if default else "[default: not served]"

    def decorate(function: F) -> F:
        options = (
            click.option(
                "--http",
                "http",
                metavar="[HOST]:PORT",
                default=default,
                callback=_address,
                help="Serve the status page, its JSON API and /metrics here: HOST an IP "
                "address (IPv6 in brackets), 127.0.0.1 if left out; PORT 0 for any free "
                f"port {where}.",
            ),
            click.option(
                "--http-token",
                metavar="TOKEN",
                envvar=TOKEN_ENV,
                help="Serve only requests that show this token: the header "
                "'Authorization: Bearer TOKEN', or ?token=TOKEN in the address "
                f"[env {TOKEN_ENV}, which keeps it out of the process list]. "
                "Needed on an address other than loopback.",
            ),
            click.option(
                "--http-insecure",
                is_flag=True,
                help="Serve an address other than loopback without a token: "
                "anyone who can connect reads the page.",
            ),
        )
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


def token_given(ctx: click.Context) -> bool:
    """Whether `--http-token` is on the command line (not only in TOKEN_ENV)."""
    return ctx.get_parameter_source("http_token") is click.core.ParameterSource.COMMANDLINE


@command("web")
@http_options(default=DEFAULT_ADDRESS)
@click.option("--tz", metavar="ZONE", help="Zone of jobs without CRON_TZ [default: local].")
@history_cluster_option
@click.pass_context
def web_command(
    ctx: click.Context,
    http: Address,
    http_token: str | None,
    http_insecure: bool,
    tz: str | None,
) -> None:
    """Serve the status page, its JSON API and /metrics without a daemon.

    For a run history no daemon serves: one copied from a server, or that of
    a daemon stopped. The jobs are those of the crontab as it is now, with
    the next runs a daemon would start; the runs are those of the state
    directory's history, read-only: nothing runs, nothing is written (a
    daemon serves its own page with `pycron daemon --http`). Says where it
    serves on stderr; SIGINT or SIGTERM stop it.

    With --cluster postgresql://..., the runs are those of the history the
    cluster's members share (only read; exits 1 if it cannot be reached at
    the start); the log files of a run stay on the host that ran it.

    \b
    Examples:
      pycron web
      pycron web --state-dir ./state-from-server --crontab ./crontab --http :9000
      PYCRON_HTTP_TOKEN=$(openssl rand -hex 16) pycron web --http 0.0.0.0:8765
      pycron web --cluster postgresql://cron@db.example.com/pycron
    """
    invocation = invocation_of(ctx)
    token = http_access(http, http_token, token_given=token_given(ctx), insecure=http_insecure)
    zone = resolve_tz(tz) if tz else local_zone()
    need_web("pycron web")
    from pycron.web.app import create_app  # noqa: PLC0415 - the optional extra
    from pycron.web.server import HttpServer  # noqa: PLC0415
    from pycron.web.source import file_source  # noqa: PLC0415

    opener = shared(invocation.cluster)
    if opener is not None:
        opener().close()  # a cluster out of reach ends the command now, not at each look
    sock = listen(http)
    source = file_source(invocation.crontab, invocation.state_dir, zone, utc_now, opener)
    server = HttpServer(create_app(source, token=token), sock)
    url = invocation.shared_history
    if url is None and not (invocation.state_dir / FILE_NAME).exists():
        warn(f"{invocation.state_dir} holds no run history ({FILE_NAME}): the page shows no runs")
    history = invocation.state_dir if url is None else f"the history of {redacted(url)}"
    click.echo(
        f"pycron: serving {server.url} read-only, from {invocation.crontab} and {history} "
        "(Ctrl-C stops)",
        err=True,
    )
    server.run(STOP_SIGNALS)


COMMANDS = (web_command,)
