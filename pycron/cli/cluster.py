"""The cluster's options and commands: `--cluster URL` (for `daemon` and
`check`, and for the commands that read the history, which then read the
one a PostgreSQL cluster shares) and `pycron cluster status`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import click

from pycron.cli.given import CLUSTER_ENV, cluster_url, read_lease
from pycron.cli.invocation import Group, invocation_of, utc_now
from pycron.cli.render import Column, local_time, print_json, print_table
from pycron.crontab import format_duration
from pycron.errors import UsageError
from pycron.explain import human_duration
from pycron.store.cluster import DEFAULT_LEASE, Member

F = TypeVar("F", bound=Callable[..., Any])


def _url(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """A cluster URL of a known form, or none (see `cluster_url`)."""
    return cluster_url(value)


def _lease(_ctx: click.Context, _param: click.Parameter, value: str) -> timedelta:
    """A lease of at least a second, written as a duration (see `read_lease`)."""
    return read_lease(value)


def _history_url(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """A cluster URL (see `_url`) whose history the command reads: kept in
    the command's invocation, for `open_history`."""
    url = _url(ctx, param, value)
    if url is not None:
        ctx.obj = invocation_of(ctx)._replace(cluster=url)


def cluster_url_option(help_text: str) -> Callable[[F], F]:
    """`--cluster URL`, also from PYCRON_CLUSTER, its form checked at once."""
    return _cluster_option(help_text, _url, expose=True)


def _cluster_option(
    help_text: str,
    callback: Callable[[click.Context, click.Parameter, str | None], object],
    *,
    expose: bool,
) -> Callable[[F], F]:
    """`--cluster URL` from the command line or PYCRON_CLUSTER, given to
    `callback` (its value the command's parameter `cluster` if `expose`)."""
    return click.option(
        "--cluster",
        metavar="URL",
        envvar=CLUSTER_ENV,
        callback=callback,
        expose_value=expose,
        help=help_text + " [env PYCRON_CLUSTER]",
    )


def history_cluster_option(function: F) -> F:
    """`--cluster URL` of the commands that read the history, kept in their
    invocation: with a PostgreSQL cluster, they read the history its members
    share."""
    return _cluster_option(
        "Read the history this cluster's members share: with postgresql://..., the runs "
        "of every host, with a HOST column; a redis://... cluster shares no history, so "
        "this host's is read, as without the option.",
        _history_url,
        expose=False,
    )(function)


def lease_option(function: F) -> F:
    """`--cluster-lease DURATION`."""
    return click.option(
        "--cluster-lease",
        "cluster_lease",
        metavar="DURATION",
        default=format_duration(DEFAULT_LEASE),
        show_default=True,
        callback=_lease,
        help="How long a member lives without renewing its lease before the others "
        "take over its runs.",
    )(function)


@click.group("cluster", cls=Group)
def cluster_group() -> None:
    """Daemons on several hosts sharing one crontab (`daemon --cluster URL`).

    \b
    Examples:
      pycron cluster status --cluster postgresql://cron@db.example.com/pycron
      PYCRON_CLUSTER=redis://redis.example.com:6379/0 pycron cluster status --json
    """


@cluster_group.command("status")
@cluster_url_option("The cluster (postgresql://... or redis://...).")
@lease_option
@click.option("--json", "as_json", is_flag=True, help="A JSON object: the cluster and its members.")
@click.pass_context
def status_command(
    ctx: click.Context, cluster: str | None, cluster_lease: timedelta, as_json: bool
) -> None:
    """The members of a cluster: host, pid, version, last heartbeat, the runs
    each has running, and which are stale (their lease ran out: the others
    take over their runs). Reads only: joins nothing.

    Give --cluster-lease as the daemons were given it, or members are judged
    stale by another lease.
    """
    if cluster is None:
        raise UsageError("pycron cluster status: give --cluster URL (or set PYCRON_CLUSTER)")
    from pycron.member import open_cluster  # noqa: PLC0415 - the backends' drivers load slowly

    shared = open_cluster(cluster, cluster_lease)
    try:
        now = utc_now()
        members = shared.members(now)
    finally:
        shared.close()
    if as_json:
        print_json(
            {
                "backend": shared.backend,
                "location": shared.location,
                "lease": shared.lease.total_seconds(),
                "members": [_member_view(member) for member in members],
            }
        )
        return
    click.echo(
        f"{shared.backend} {shared.location}, lease {format_duration(shared.lease)}: "
        f"{len(members)} member(s), {sum(m.stale for m in members)} stale",
        err=True,
    )
    columns = [
        Column("MEMBER", 9, keep=True),
        Column("HOST", 8, keep=True),
        Column("PID", 5),
        Column("VERSION", 2),
        Column("HEARTBEAT", 7),
        Column("RUNNING", 6, shrink=True),
        Column("STATE", 8, keep=True),
    ]
    print_table(columns, [_member_row(member, now) for member in members])


def _member_view(member: Member) -> dict[str, object]:
    return {
        "member": member.member_id,
        "host": member.host,
        "pid": member.pid,
        "version": member.version,
        "joined": member.joined.isoformat(),
        "heartbeat": member.heartbeat.isoformat(),
        "generation": member.generation,
        "running": [
            {"job": slot.job_id, "scheduled_for": slot.scheduled_for.isoformat()}
            for slot in member.running
        ],
        "stale": member.stale,
    }


def _member_row(member: Member, now: datetime) -> list[str]:
    ago = human_duration((now - member.heartbeat).total_seconds())
    running = ", ".join(slot.job_id for slot in member.running) or "-"
    return [
        member.member_id,
        member.host,
        str(member.pid),
        member.version,
        f"{local_time(member.heartbeat)} ({ago} ago)",
        running,
        "stale" if member.stale else "live",
    ]


COMMANDS = (cluster_group,)
