"""The `daemon` command: the foreground scheduler, with its settings read
from the command line."""

from __future__ import annotations

from datetime import timedelta

import click

from pycron.cli.cluster import cluster_url_option, lease_option
from pycron.cli.invocation import command, invocation_of
from pycron.cli.notify import (
    SMTP_ENV,
    composer,
    default_targets,
    reviewer,
    senders,
    start_composer,
    transport,
)
from pycron.cli.web import Address, daemon_page, http_access, http_options
from pycron.daemon import LogFormat, Settings, local_zone, serve
from pycron.expr import resolve_tz


@command("daemon")
@click.option(
    "--max-parallel",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Jobs running at once; more due jobs wait in order.",
)
@click.option(
    "--shutdown-grace",
    type=float,
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="On SIGTERM, how long running jobs may finish before they are stopped.",
)
@click.option("--tz", metavar="ZONE", help="Zone of jobs without CRON_TZ [default: local].")
@click.option(
    "--reboot", is_flag=True, help="Treat this start as a boot: run @reboot jobs (containers)."
)
@click.option(
    "--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
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
    invocation = invocation_of(ctx)
    zone = resolve_tz(tz) if tz else local_zone()
    daemon_settings = Settings(
        crontab=invocation.crontab,
        state_dir=invocation.state_dir,
        max_parallel=max_parallel,
        shutdown_grace=shutdown_grace,
        zone=zone,
        reboot=reboot,
        heartbeat=heartbeat,
        retention=invocation.retention,
        smtp=smtp,
        sendmail=sendmail,
        notify=default_targets(notify),
        cluster=cluster,
        cluster_lease=cluster_lease,
    )
    mail = transport(smtp, sendmail)  # a bad --smtp URL: a usage error, before anything starts
    token = http_access(ctx, http, http_token, http_insecure)
    page = daemon_page(http, token) if http is not None else None  # listens before the start
    code = serve(
        daemon_settings,
        LogFormat(log_format),
        log_level,
        senders=senders(mail),
        compose=composer(mail is not None, daemon_settings.notify, zone),
        compose_start=start_composer(daemon_settings.notify, zone),
        review=reviewer(mail is not None),
        http=page,
    )
    ctx.exit(code)


COMMANDS = (daemon_command,)
