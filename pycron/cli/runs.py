"""Commands on runs: `run-now` (a run in the foreground, with the daemon's
locks, logs and history), `history` (and `history prune`), `logs`, `status`
and `stats`, which only read the history: the state directory's, or with
`--cluster postgresql://...` the one the cluster's members share, whose
tables then name the host of each run.

run-now exits with its job's own code, 124 on a timeout, 75 when another run
holds the job's lock and 130 when stopped by Ctrl-C or SIGTERM."""

from __future__ import annotations

import collections
import os
import signal
import sys
import threading
import time
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING, Any

import click

from pycron.cli import messages
from pycron.cli.cluster import history_cluster_option
from pycron.cli.given import Invocation
from pycron.cli.invocation import (
    GlobalOptionsCommand,
    Group,
    command,
    invocation_of,
    open_history,
    open_recorder,
    utc_now,
)
from pycron.cli.render import (
    HOST,
    WIDE_HELP,
    Column,
    host_omitted,
    local_time,
    minute_text,
    no_next_text,
    on_terminal,
    orphan_text,
    plural,
    print_json,
    print_table,
    result_text,
)
from pycron.crontab import (
    parse_duration,
    parse_since,
    untrusted,
)
from pycron.daemon import local_zone, next_runs, pending_trigger
from pycron.errors import (
    HistoryError,
    JobNotFoundError,
    LogNotFoundError,
    UnsafeFileError,
    UsageError,
)
from pycron.explain import cpu_text, human_bytes, human_duration
from pycron.graph import Trigger, downstreams, upstreams, without_cycles
from pycron.launch import EXIT_FAILURE
from pycron.notify import Channel
from pycron.notify.mail import MailTransport, wants_mail
from pycron.notify.outbox import Composer, Sender, compose_nothing, deliver_once
from pycron.records import Outcome, RunResult
from pycron.runner import (
    Context,
    log_elsewhere,
    log_gone,
    prepare_state_dir,
    run,
    supervise,
)
from pycron.store import (
    Delivery,
    DeliveryRecord,
    RunRecord,
    SlotTaken,
    Store,
    TolerantRecorder,
)
from pycron.store.logs import remove_logs
from pycron.store.sqlite import SQLiteStore
from pycron.views import history_view, run_view, stats_view

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from pycron.crontab import Entry


# --------------------------------------------------------------------------- runs

# run-now's exit codes beyond the job's own (README, "Exit codes").
EXIT_TIMEOUT = 124  # as timeout(1)
EXIT_LOCKED = 75  # EX_TEMPFAIL: another run holds the job's lock
EXIT_INTERRUPTED = 130  # stopped by Ctrl-C or SIGTERM


def _since(text: str | None) -> datetime | None:
    """`--since 7d` (a duration back from now) or an ISO 8601 date and time."""
    if text is None:
        return None
    try:
        return parse_since(text, utc_now())
    except ValueError as error:
        raise UsageError(f"--since: {error}") from None


class _StopOnSignal:
    """While active, SIGINT and SIGTERM ask the running job to stop instead of
    killing pycron (the job runs in its own session: Ctrl-C never reaches it)."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def __enter__(self) -> _StopOnSignal:
        self._previous = {
            number: signal.signal(number, lambda *_: self.event.set())
            for number in (signal.SIGINT, signal.SIGTERM)
        }
        return self

    def __exit__(self, *_: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)


def _interruptible_sleep(event: threading.Event) -> Callable[[float], bool]:
    """A sleep for retry backoff that a stop request cuts short (returns False then)."""

    def sleep(seconds: float) -> bool:
        return not event.wait(seconds)

    return sleep


@command("run-now")
@click.argument("job_id", metavar="ID")
@click.option("--no-wait-lock", is_flag=True, help="With overlap=queue, skip instead of waiting.")
@click.option("--no-notify", is_flag=True, help="Send no mail and no alerts for this run.")
@click.option(
    "--downstream",
    is_flag=True,
    help="Then run the @after jobs that follow it, in turn, as the daemon would.",
)
@click.pass_context
def run_now_command(
    ctx: click.Context, job_id: str, no_wait_lock: bool, no_notify: bool, downstream: bool
) -> None:
    """Run a job now, in the foreground, as the daemon would.

    Same lock, timeout, retries, logs and history as a scheduled run; the
    output also streams to this terminal. Exits with the job's exit code
    (128+N if a signal N ended it), 124 on timeout, 75 if another run holds
    its lock, 130 if interrupted, 1 if it could not start. Its mail and
    alerts are sent as the daemon would, once, after the run; what cannot be
    delivered at once is left in the outbox for the daemon (--no-notify: none).

    With --downstream, the @after jobs its end starts run next, one at a
    time, then those their ends start, and so on, each decided from the
    history as the daemon decides it (a join waits for all its upstream
    jobs; when= says which ends count); a run the daemon has taken already is
    left to it. The exit code is then that of the first run that failed.

    \b
    Examples:
      pycron run-now backup
      pycron run-now backup && echo "backup ok"
      pycron run-now --no-notify backup
      pycron run-now fetch --downstream
    """
    invocation = invocation_of(ctx)
    problem = untrusted(invocation.crontab, euid=os.geteuid())
    if problem is not None:
        raise UnsafeFileError(problem)
    crontab, _ = invocation.crontab_file().load()
    entry = crontab.find(job_id)
    note = prepare_state_dir(invocation.state_dir)
    if note is not None:
        click.echo(f"pycron: warning: {note}", err=True)
    mail = None if no_notify else messages.transport(None, None)
    supervision = supervise()
    recorder = open_recorder(invocation)
    with _StopOnSignal() as stop:
        context = Context(
            state_dir=invocation.state_dir,
            clock=utc_now,
            sleep=_interruptible_sleep(stop.event),
            recorder=recorder,
            retention=invocation.retention,
            stopping=stop.event.is_set,
            output=sys.stdout.buffer,
            error_output=sys.stderr.buffer,
            supervision=supervision,
        )
        runs = _Runs(context, recorder, mail=mail, tell=not no_notify, wait_lock=not no_wait_lock)
        try:
            codes = [runs.ended(entry, runs.run(entry, utc_now(), manual=True))]
            if downstream:
                codes += runs.downstream(entry, crontab.entries)
        finally:
            if recorder is not None:
                recorder.close()
    ctx.exit(next((code for code in codes if code != 0), 0))


class _Runs:
    """run-now's runs: each in the foreground with the context given, its
    mail and alerts after it, and a line on stderr saying how it ended."""

    def __init__(
        self,
        context: Context,
        recorder: TolerantRecorder | None,
        *,
        mail: MailTransport | None,
        tell: bool,
        wait_lock: bool,
    ) -> None:
        """`mail` is how mail leaves (None: it does not)."""
        self.context = context
        self.recorder = recorder
        self.mail = mail
        self.tell = tell
        self.wait_lock = wait_lock

    def run(
        self, entry: Entry, slot: datetime, *, manual: bool = False, claimed: int | None = None
    ) -> list[RunResult]:
        """Run `entry` for `slot` (in record `claimed`, if given); a job that
        mails gets its output in one log, in order, as cron mails it."""
        context = self.context._replace(combined_output=self.mail is not None and wants_mail(entry))
        return run(entry, slot, context, wait_lock=self.wait_lock, claimed=claimed, manual=manual)

    def ended(self, entry: Entry, results: list[RunResult]) -> int:
        """Send what the run owes and say how it ended; its exit code."""
        if self.recorder is not None:
            _notify(self.recorder.history, entry, results, tell=self.tell, mail=self.mail)
        last = results[-1]
        attempts = f" after {last.attempt} attempts" if last.attempt > 1 else ""
        click.echo(
            f"pycron: {entry.id}: {last.outcome.value}{attempts} in "
            f"{human_duration(last.duration)}" + (f": {last.message}" if last.message else ""),
            err=True,
        )
        return _run_exit_code(last.outcome, last.exit_code, last.signal)

    def downstream(self, first: Entry, entries: Iterable[Entry]) -> list[int]:
        """Run the `@after` jobs that the end of `first`'s run starts, then
        those their ends start, and so on, one at a time, in the order the
        ends come (`pending_trigger` decides, as in the daemon); their exit
        codes. Each run is queued with its trigger and claimed first, so a
        daemon that decides the same trigger does not run it again, nor this
        command a run that the daemon took."""
        if self.recorder is None:
            click.echo(f"pycron: no history to follow: no job after {first.id} runs", err=True)
            return []
        history = self.recorder.history
        jobs = {entry.id: entry for entry in entries}
        after, _ = without_cycles(upstreams(jobs.values()))
        followers = downstreams(after)
        since = {job_id: taken for job_id, (_, taken) in history.responsibilities().items()}
        codes: list[int] = []
        ended = collections.deque([first.id])
        while ended and not (self.context.stopping and self.context.stopping()):
            for job_id in followers.get(ended.popleft(), ()):
                entry = jobs[job_id]
                if not entry.enabled:
                    continue
                trigger = pending_trigger(history, entry, after[job_id], since.get(job_id))
                if trigger is None:
                    continue
                record = self._claim(history, entry, trigger)
                if record is not None:
                    results = self.run(entry, trigger.slot, claimed=record)
                    codes.append(self.ended(entry, results))
                    ended.append(job_id)
        return codes

    def _claim(self, history: Store, entry: Entry, trigger: Trigger) -> int | None:
        """Queue and claim the triggered run's record; None (said on stderr)
        if the daemon has taken the run already."""
        now = utc_now()
        queued = RunResult(entry.id, trigger.slot, 1, Outcome.QUEUED, now)
        record = history.queue_triggered(queued, trigger.upstream)
        if isinstance(record, SlotTaken) or not history.claim(record, now):
            click.echo(f"pycron: {entry.id}: started by the daemon already: left to it", err=True)
            return None
        return record


def _notify(
    history: Store,
    entry: Entry,
    results: list[RunResult],
    *,
    tell: bool,
    mail: MailTransport | None,
) -> None:
    """Queue what the run owes (nothing, unless `tell`) and try it once now;
    what is not delivered stays in the outbox, for the daemon to retry."""

    def say(event: str, level: str = "info", **fields: object) -> None:
        if level != "info":
            click.echo(f"pycron: {level}: {event}: {fields.get('message')}", err=True)

    sender = Sender(
        history,
        messages.senders(mail),
        targets=lambda job_id: entry.options.notify or messages.default_targets(),
        log=say,
        clock=utc_now,
        wait=lambda seconds, event: None,
    )
    compose = (
        messages.composer(mail is not None, messages.default_targets(), local_zone())
        if tell
        else compose_nothing
    )
    queued = Composer(history, compose, sender, clock=utc_now, log=say).run_ended(entry, results)
    if not queued:
        return
    left = deliver_once(sender, queued)
    if left:
        click.echo(
            f"pycron: {left} message(s) not delivered yet: left in the outbox for the daemon",
            err=True,
        )


def _run_exit_code(outcome: Outcome, exit_code: int | None, number: int | None) -> int:
    """run-now's exit code for the last attempt."""
    if outcome is Outcome.TIMEOUT:
        return EXIT_TIMEOUT
    if outcome is Outcome.SKIPPED_OVERLAP:
        return EXIT_LOCKED
    if outcome is Outcome.INTERRUPTED:
        return EXIT_INTERRUPTED
    if outcome is Outcome.ERROR:
        return EXIT_FAILURE
    if number is not None:
        return 128 + number
    return exit_code or 0


class _HistoryGroup(GlobalOptionsCommand, Group):
    """`pycron history [ID] [options]` and `pycron history prune ...`: a first
    word that is not a subcommand is the job id."""

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        """`pycron history [OPTIONS] [ID]`: the subcommand is in the help text."""
        return ["[OPTIONS]", "[ID]"]

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            ctx.meta["history_job"] = args[0]
            args = args[1:]
        return super().parse_args(ctx, args)


@click.group("history", cls=_HistoryGroup, invoke_without_command=True)
@click.option("--limit", "-n", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--since", metavar="WHEN", help="A duration back from now (7d, 12h) or a time.")
@click.option("--outcome", type=click.Choice([o.value for o in Outcome]))
@click.option("--json", "as_json", is_flag=True, help="A JSON array of runs.")
@click.option("--wide", is_flag=True, help=WIDE_HELP)
@click.option(
    "--job",
    "job_option",
    metavar="ID",
    help="Only this job's runs (the same as ID, and needed for a job named like a "
    "subcommand: --job prune).",
)
@click.option(
    "--pipeline",
    "pipeline_run",
    metavar="RUN",
    type=int,
    help="The whole pipeline run of run RUN: the runs that triggered it and those it "
    "triggered, in turn, oldest first.",
)
@history_cluster_option
@click.pass_context
def history_group(
    ctx: click.Context,
    limit: int,
    since: str | None,
    outcome: str | None,
    as_json: bool,
    wide: bool,
    job_option: str | None,
    pipeline_run: int | None,
) -> None:
    """Show runs, newest first, of all jobs or of job ID.

    `--job ID` is the same as ID, and names a job called like a subcommand
    (`--job prune`). `--pipeline RUN` shows instead the runs of @after jobs
    linked to run RUN, upstream and downstream, oldest first (no other filter
    applies). `pycron history prune --older-than 30d` deletes old runs and
    their logs (of this host's state directory only, never of a cluster's
    shared history).

    With `--cluster postgresql://...`, the runs are those of every member of
    the cluster, with the HOST that ran each.

    \b
    Examples:
      pycron history
      pycron history backup --limit 5
      pycron history --job prune
      pycron history --outcome failed --since 7d --json
      pycron history --pipeline 812
      pycron history prune --older-than 30d
      pycron history --cluster postgresql://cron@db.example.com/pycron
    """
    if ctx.invoked_subcommand is not None:
        return
    job_id = ctx.meta.get("history_job")
    if job_id is not None and job_option is not None and job_id != job_option:
        raise UsageError(f"give the job once: {job_id!r} and --job {job_option!r}")
    job_id = job_id or job_option
    if pipeline_run is not None and (job_id or since or outcome):
        raise UsageError("--pipeline shows one pipeline run: give no job, --since or --outcome")
    invocation = invocation_of(ctx)
    with open_history(invocation) as history:
        if pipeline_run is not None:
            records = history.pipeline(pipeline_run)
            if not records:
                raise HistoryError(f"no run {pipeline_run} in the history: see `pycron history`")
        else:
            if job_id is not None:
                _known_job(invocation, history, job_id)
            records = history.runs(
                job_id=job_id,
                limit=limit,
                since=_since(since),
                outcome=Outcome(outcome) if outcome else None,
            )
        deliveries = history.deliveries([r.id for r in records])
        triggers = history.triggers([r.id for r in records])
    if as_json:
        print_json(history_view(records, triggers, deliveries))
        return
    people = on_terminal()
    rows = [
        (
            str(r.id),
            r.job_id,
            r.host,
            local_time(r.started),
            str(r.attempt),
            result_text(r),
            human_duration(r.duration) if people else f"{r.duration or 0:.3f}",
            cpu_text(r.cpu_seconds) if people or r.cpu_seconds is None else f"{r.cpu_seconds:.3f}",
            human_bytes(r.max_rss) if people or r.max_rss is None else str(r.max_rss),
            ",".join(str(run_id) for run_id in triggers.get(r.id, ())) or "-",
            _notify_text(deliveries.get(r.id, [])),
        )
        for r in records
    ]
    print_table(HISTORY_COLUMNS, rows, wide=wide, omit=host_omitted(invocation.shared_history))


_DELIVERY_WORDS = {Delivery.DELIVERED: "ok", Delivery.PENDING: "pending"}


def _notify_text(deliveries: list[DeliveryRecord]) -> str:
    """What became of a run's mail and alerts, per channel (`mail ok, alert
    failed`): failed if any message was given up, pending if any is still
    to go, else ok; `-` for a run that owed none."""
    words = []
    for channel in Channel:
        states = {d.state for d in deliveries if d.channel is channel}
        if not states:
            continue
        if Delivery.UNDELIVERED in states:
            words.append(f"{channel.value} failed")
        else:
            worst = Delivery.PENDING if Delivery.PENDING in states else Delivery.DELIVERED
            words.append(f"{channel.value} {_DELIVERY_WORDS[worst]}")
    return ", ".join(words) or "-"


HISTORY_COLUMNS = (
    Column("RUN", 9, keep=True),
    Column("JOB", 8, keep=True),
    Column(HOST, 6),
    Column("STARTED", 7),
    Column("ATTEMPT", 4),
    Column("RESULT", 6, outcome=True),
    Column("DURATION", 5),
    Column("CPU", 2),
    Column("MAX RSS", 1),
    Column("TRIGGER", 0),
    Column("NOTIFY", 3),
)


@history_group.command("prune")
@click.option("--older-than", default="30d", show_default=True, metavar="DURATION")
@click.pass_context
def prune_command(ctx: click.Context, older_than: str) -> None:
    """Remove runs (and their log files) older than DURATION, from this
    host's state directory (never from a cluster's shared history)."""
    given = ctx.parent.get_parameter_source("cluster") if ctx.parent is not None else None
    if given is click.core.ParameterSource.COMMANDLINE:
        raise UsageError(
            "history prune prunes this host's state directory, never a cluster's history: "
            "give no --cluster"
        )
    try:
        age = parse_duration(older_than)
    except ValueError as exc:
        raise UsageError(f"--older-than: {exc}") from None
    with SQLiteStore.open(invocation_of(ctx).state_dir) as history:
        pruned = history.prune(utc_now() - age)
    remove_logs(pruned.logs)  # once the records are gone for good
    removed = pruned.records
    click.echo(f"removed {plural(len(removed), 'run')} older than {older_than}", err=True)


@command("logs")
@click.argument("job_id", metavar="ID")
@click.option("--run", "run_id", type=int, help="A run number from `pycron history`.")
@click.option("--stderr", "errors", is_flag=True, help="Show the run's stderr instead.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing while the run goes on.")
@history_cluster_option
@click.pass_context
def logs_command(
    ctx: click.Context, job_id: str, run_id: int | None, errors: bool, follow: bool
) -> None:
    """Print a run's output (the latest run of the job by default).

    With --cluster postgresql://..., the run is found in the cluster's
    shared history; its log files stay on the host that ran it: a run of
    another host exits 1, saying which host has them, and where.

    \b
    Examples:
      pycron logs backup
      pycron logs backup --run 42 --stderr
      pycron logs backup --follow
    """
    invocation = invocation_of(ctx)
    with open_history(invocation) as history:
        _known_job(invocation, history, job_id)
        record = history.run(run_id) if run_id is not None else history.latest(job_id)
        if record is None or record.job_id != job_id:
            which = f"run {run_id} of {job_id!r}" if run_id is not None else f"run of {job_id!r}"
            raise HistoryError(
                f"no {which} in the history: see `pycron history --job {job_id}` for its runs"
            )
        path = record.stderr_path if errors else record.stdout_path
        if path is None:
            raise LogNotFoundError(
                f"run {record.id} has no log: it did not run ({record.outcome.value})"
            )
        if invocation.shared_history and record.host != history.host:
            raise log_elsewhere(record.id, job_id, record.host, path)
        if not path.exists():
            raise log_gone(record.id, path)
        if errors and record.stderr_path == record.stdout_path:
            click.echo(
                f"run {record.id} wrote its stderr into its output, in order: {path}", err=True
            )
        with path.open("rb") as stream:
            while True:
                data = stream.read()
                if data:
                    sys.stdout.buffer.write(data)
                    sys.stdout.buffer.flush()
                if not follow:
                    break
                current = history.run(record.id)
                if current is None or current.outcome is not Outcome.RUNNING:
                    sys.stdout.buffer.write(stream.read())
                    break
                time.sleep(0.2)


def _known_job(invocation: Invocation, history: Store, job_id: str) -> None:
    """Refuse a job id that is neither in the crontab nor in the history (a
    typo, most likely: exit 1, naming the jobs there are). A job removed from
    the crontab still has its runs."""
    crontab, _ = invocation.crontab_file().load()
    ids = [entry.id for entry in crontab.entries]
    if job_id in ids or history.latest(job_id) is not None:
        return
    raise JobNotFoundError(
        f"no job {job_id!r} in {invocation.crontab}, nor any run of it in the history "
        f"(jobs: {', '.join(ids) or 'none'})"
    )


@command("status")
@click.option("--json", "as_json", is_flag=True, help="A JSON array of jobs.")
@click.option("--wide", is_flag=True, help=WIDE_HELP)
@history_cluster_option
@click.pass_context
def status_command(ctx: click.Context, as_json: bool, wide: bool) -> None:
    """Per job: last run, its result and duration, next run, running now.

    Ends with a summary line: jobs, failing (the last run did not succeed),
    running. A crontab with errors is said on stderr: its bad lines do not run.
    With --cluster postgresql://..., the runs are the whole cluster's, and
    HOST says which host ran each job's last run.
    """
    invocation = invocation_of(ctx)
    crontab, errors = invocation.crontab_file().load()
    if errors:
        click.echo(
            f"pycron: warning: {invocation.crontab} has {plural(len(errors), 'error')} (the first "
            f"at line {errors[0].line}): those lines do not run; see `pycron check "
            f"{invocation.crontab}`",
            err=True,
        )
    with open_history(invocation) as history:
        last = history.last_per_job()
        running = {r.job_id: r for r in history.running()}
        queued = {r.job_id for r in history.queued()}
    now, zone = utc_now(), local_zone()
    jobs = []
    for entry in crontab.entries:
        record = last.get(entry.id)
        upcoming = next_runs(entry, now, 1, zone)
        jobs.append((entry, record, upcoming[0] if upcoming else None, entry.id in running))
    # A run that is still going or waiting, or slots the daemon skipped by policy,
    # say nothing of whether the job works.
    healthy = (Outcome.SUCCESS, Outcome.RUNNING, Outcome.QUEUED, Outcome.MISSED)
    failing = sum(1 for _, r, _, _ in jobs if r and r.outcome not in healthy)
    if as_json:
        print_json(
            [
                {
                    "id": entry.id,
                    "schedule": entry.schedule.text,
                    "enabled": entry.enabled,
                    "running": is_running,
                    "queued": entry.id in queued,
                    "next": upcoming.isoformat() if upcoming else None,
                    "last": run_view(record) if record else None,
                }
                for entry, record, upcoming, is_running in jobs
            ]
        )
        return
    rows = [
        (
            entry.id,
            local_time(record.started) if record else "never",
            record.host if record else "-",
            result_text(record) if record else "-",
            human_duration(record.duration) if record else "-",
            minute_text(upcoming) if upcoming else no_next_text(entry),
            _running_text(running.get(entry.id), entry.id in queued),
        )
        for entry, record, upcoming, _ in jobs
    ]
    print_table(STATUS_COLUMNS, rows, wide=wide, omit=host_omitted(invocation.shared_history))
    summary = [plural(len(jobs), "job"), f"{failing} failing", f"{len(running)} running"]
    if queued:
        summary.append(f"{len(queued)} queued")
    click.echo(", ".join(summary))


STATUS_COLUMNS = (
    Column("ID", 9, keep=True),
    Column("LAST RUN", 6),
    Column(HOST, 3),
    Column("RESULT", 7, outcome=True),
    Column("DURATION", 2),
    Column("NEXT RUN", 5),
    Column("RUNNING", 4),
)


def _running_text(record: RunRecord | None, queued: bool) -> str:
    """The RUNNING column of `status`: yes (with a note if its pycron is gone),
    queued (due, waiting for the daemon's workers), or no."""
    if record is not None:
        note = orphan_text(record)
        return f"yes ({note})" if note else "yes"
    return "queued" if queued else "no"


@command("stats")
@click.argument("job_id", metavar="[ID]", required=False)
@click.option("--since", metavar="WHEN", help="A duration back from now (7d) or a time.")
@click.option("--json", "as_json", is_flag=True, help="A JSON object.")
@history_cluster_option
@click.pass_context
def stats_command(ctx: click.Context, job_id: str | None, since: str | None, as_json: bool) -> None:
    """Runs, success rate, durations, CPU time, peak memory and failures (of one job or all).

    On a terminal, also a chart of successes and failures per day. With
    --cluster postgresql://..., of the runs of every host of the cluster.
    """
    invocation = invocation_of(ctx)
    with open_history(invocation) as history:
        if job_id is not None:
            _known_job(invocation, history, job_id)
        stats = history.stats(job_id=job_id, since=_since(since), tz=_local_tz())
    if as_json:
        print_json(stats_view(job_id, stats))
        return
    durations = {
        "min": stats.duration_min,
        "avg": stats.duration_avg,
        "p95": stats.duration_p95,
        "max": stats.duration_max,
    }
    rate = "-" if stats.success_rate is None else f"{stats.success_rate:.1%}"
    click.echo(f"runs: {stats.runs}   successes: {stats.successes}   success rate: {rate}")
    click.echo("duration: " + "  ".join(f"{k} {human_duration(v)}" for k, v in durations.items()))
    click.echo(f"cpu: {cpu_text(stats.cpu_seconds)}   max rss: {human_bytes(stats.max_rss)}")
    if stats.failures:
        click.echo("failures: " + ", ".join(f"{o.value} {n}" for o, n in stats.failures.items()))
    if on_terminal() and stats.per_day:
        _print_day_chart(stats.per_day)


def _local_tz() -> tzinfo:
    zone = datetime.now().astimezone().tzinfo
    assert zone is not None
    return local_zone() or zone


def _print_day_chart(per_day: dict[date, Any]) -> None:
    """A bar per day: green successes, red failures (the last 14 days with runs)."""
    from rich.console import Console  # noqa: PLC0415 - rich is slow to import

    console = Console()
    days = list(per_day.items())[-14:]
    widest = max(c.successes + c.failures for _, c in days) or 1
    for day, counts in days:
        scale = 40 / widest
        ok = round(counts.successes * scale)
        bad = round(counts.failures * scale)
        console.print(
            f"{day:%m-%d} [green]{'█' * ok}[/green][red]{'█' * bad}[/red] "
            f"{counts.successes} ok, {counts.failures} failed"
        )


# --------------------------------------------------------------------------- daemon


COMMANDS = (run_now_command, history_group, logs_command, status_command, stats_command)
