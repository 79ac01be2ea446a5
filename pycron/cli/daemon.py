"""The `daemon` command: the foreground scheduler, with its settings read
from the command line. Its usual lines are read without click
(`pycron.cli.daemonline`); this command reads the others, and gives the
help, and both start the daemon through `daemonline.start`."""

from __future__ import annotations

from datetime import timedelta

import click

from pycron.cli.cluster import cluster_url_option, lease_option
from pycron.cli.daemonline import LOG_FORMATS, LOG_LEVELS, DaemonLine, start
from pycron.cli.invocation import command, invocation_of
from pycron.cli.messages import SMTP_ENV
from pycron.cli.serving import Address
from pycron.cli.web import http_options, token_given

DEFAULTS = DaemonLine._field_defaults


@command("daemon")
@click.option(
    "--max-parallel",
    type=click.IntRange(min=1),
    default=DEFAULTS["max_parallel"],
    show_default=True,
    help="Jobs running at once; more due jobs wait in order.",
)
@click.option(
    "--shutdown-grace",
    type=float,
    default=DEFAULTS["shutdown_grace"],
    show_default=True,
    metavar="SECONDS",
    help="On SIGTERM, how long running jobs may finish before they are stopped.",
)
@click.option("--tz", metavar="ZONE", help="Zone of jobs without CRON_TZ [default: local].")
@click.option(
    "--reboot", is_flag=True, help="Treat this start as a boot: run @reboot jobs (containers)."
)
@click.option(
    "--log-format",
    type=click.Choice(LOG_FORMATS),
    default=DEFAULTS["log_format"],
    show_default=True,
)
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS),
    default=DEFAULTS["log_level"],
    show_default=True,
)
@click.option("--heartbeat", type=float, metavar="SECONDS", help="Log a heartbeat line this often.")
@click.option(
    "--smtp",
    metavar="URL",
    envvar=SMTP_ENV,
    help="Send mail through this SMTP server (smtp://, smtp+starttls://, smtps://) "
    "[env PYCRON_SMTP; default: the local sendmail].",
)
@click.option("--sendmail", metavar="PATH", help="Send mail with this sendmail program.")
@click.option(
    "--notify",
    "notify",
    metavar="URL",
    multiple=True,
    help="Alert target of jobs without notify= (repeatable) [env PYCRON_NOTIFY, comma-separated].",
)
@http_options(default=None)
@cluster_url_option(
    "Run as a member of this cluster (postgresql://... or redis://...): each run "
    "happens on one member."
)
@lease_option
@click.pass_context
def daemon_command(
    ctx: click.Context,
    max_parallel: int,
    shutdown_grace: float,
    tz: str | None,
    reboot: bool,
    log_format: str,
    log_level: str,
    heartbeat: float | None,
    smtp: str | None,
    sendmail: str | None,
    notify: tuple[str, ...],
    http: Address | None,
    http_token: str | None,
    http_insecure: bool,
    cluster: str | None,
    cluster_lease: timedelta,
) -> None:
    """Run the jobs of the crontab, in the foreground, until SIGTERM.

    Logs one line per event to stderr. SIGHUP reloads the crontab at once
    (edits are noticed within seconds anyway); SIGTERM or SIGINT stop
    starting jobs and give running ones --shutdown-grace to finish; a second
    SIGINT stops them at once. Exits 1 if another daemon uses the state
    directory.

    With --http, it serves its status page, the JSON API and /metrics while
    it runs (the `web` extra), and logs where (event `http`).

    With --cluster, it is one of the daemons sharing this crontab on several
    hosts (the `cluster` extra): each scheduled run happens on one of them,
    and a member that dies has its runs taken over after --cluster-lease.
    Exits 1 if the cluster cannot be reached at the start.

    \b
    Examples:
      pycron daemon
      pycron daemon --crontab ./crontab --state-dir ./state --log-format json
      pycron daemon --smtp smtp+starttls://cron:secret@mail.example.com --notify ntfy://alerts
      pycron daemon --http 127.0.0.1:8765
      PYCRON_HTTP_TOKEN=$(cat /etc/pycron/token) pycron daemon --http 0.0.0.0:8765
      pycron daemon --cluster postgresql://cron@db.example.com/pycron
    """
    line = DaemonLine(
        invocation_of(ctx),
        max_parallel=max_parallel,
        shutdown_grace=shutdown_grace,
        tz=tz,
        reboot=reboot,
        log_format=log_format,
        log_level=log_level,
        heartbeat=heartbeat,
        smtp=smtp,
        sendmail=sendmail,
        notify=notify,
        http=http,
        http_token=http_token,
        token_given=token_given(ctx),
        http_insecure=http_insecure,
        cluster=cluster,
        cluster_lease=cluster_lease,
    )
    ctx.exit(start(line))


COMMANDS = (daemon_command,)
