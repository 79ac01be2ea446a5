"""The run store: what pycron keeps of its runs, as an interface that any
backend implements (`Store`), the values it answers with, and what works on
any store (`TolerantRecorder`, the liveness of recorders, `summarize`).
`pycron.store.sql` implements it in SQL, for two backends:
`pycron.store.sqlite` (the default) and `pycron.store.postgresql` (a
database that several hosts share); `pycron.store.logs` owns the runs' log
files.

What a store keeps:
- one record per attempt, written when it starts (outcome `running`, or
  `queued` when the daemon decides a run is due) and completed when it ends;
- one claim per (job, scheduled slot): the slot of a scheduled run is claimed
  in the same transaction that records its first attempt (`queue`, or
  `started(..., claim=True)`), and refused to any later run of that slot, be
  it in another process (`SlotTaken`, `SlotTakenError`). A slot recorded
  `missed` or `skipped-overlap` holds its claim too; a run marked interrupted
  gives its slot up, so that catch-up may run it again. Manual runs
  (`run-now`) claim nothing;
- per job, since when the daemon has been responsible for it (catch-up);
- the outbox: the messages (mail, alerts) that runs owe, kept until they are
  delivered or given up (`OutboxEntry`), and which runs had theirs composed,
  so that each run's messages are queued exactly once (`queue_messages`);
- in a cluster (`pycron.store.cluster`), the membership each run was
  recorded under (its fence): a membership that is over records nothing
  more, and a run taken over from it keeps the interruption.

Times go in as aware datetimes and come back as aware UTC datetimes. Stored,
every time is text in one form, `time_text`: ISO 8601 in UTC with
microseconds and the offset, fixed width (`2026-03-01T12:00:00.000000+00:00`),
so that text order is time order and a store can compare and sort them as
text; a naive datetime is refused. A second implementation stores the same
text, so that the two can be compared and copied one to the other.

Nothing here reads the wall clock: every "now" is an argument.
"""

from __future__ import annotations

import enum
import itertools
import os
import sys
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

from pycron.digest import sha256_hex
from pycron.errors import HistoryError, MembershipOverError, SlotTakenError
from pycron.notify import Channel, Message, redact
from pycron.processes import job_alive
from pycron.records import Outcome, Recorder, RunResult
from pycron.store.cluster import Claimer, Membership

INTERRUPTED_MESSAGE = "pycron stopped before this attempt ended"
# An attempt of a cluster member whose lease ran out, taken over by another member.
TAKEN_OVER_MESSAGE = "interrupted: its member's lease ran out, and another member took it over"

# Outcomes whose duration is the job's own: the command ran and pycron saw it end.
# (Skipped and error attempts never ran; an interrupted one ended unseen.)
TIMED_OUTCOMES = frozenset({Outcome.SUCCESS, Outcome.FAILED, Outcome.TIMEOUT})


class RunRecord(NamedTuple):
    """One recorded attempt: a `RunResult` plus where it lives and who wrote it.

    `id` is the record id (`pycron logs ID --run RUN`), `host` the machine and
    `recorder_pid` the pycron process that recorded the start and owes its end,
    while `pid` is the job's own process, as the runner reported it. What the
    attempt used (`cpu_user`, `cpu_system`, `max_rss`) is as in `RunResult`,
    and None for attempts recorded by a pycron that did not measure it;
    `slots` too is as in `RunResult`.
    """

    id: int
    job_id: str
    scheduled_for: datetime
    attempt: int
    outcome: Outcome
    started: datetime
    finished: datetime | None
    exit_code: int | None
    signal: int | None
    stdout_path: Path | None
    stderr_path: Path | None
    pid: int | None
    message: str | None
    host: str
    recorder_pid: int
    cpu_user: float | None = None
    cpu_system: float | None = None
    max_rss: int | None = None
    slots: int = 1

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish (None while running)."""
        if self.finished is None:
            return None
        return (self.finished - self.started).total_seconds()

    @property
    def cpu_seconds(self) -> float | None:
        """CPU seconds, user and system (None where not measured)."""
        if self.cpu_user is None or self.cpu_system is None:
            return None
        return self.cpu_user + self.cpu_system

    @property
    def log_paths(self) -> tuple[Path, ...]:
        """The attempt's log files that were recorded (they may be gone since)."""
        return tuple(path for path in (self.stdout_path, self.stderr_path) if path is not None)

    @property
    def result(self) -> RunResult:
        """The attempt as the runner describes it, without the record's own fields."""
        return RunResult(
            job_id=self.job_id,
            scheduled_for=self.scheduled_for,
            attempt=self.attempt,
            outcome=self.outcome,
            started=self.started,
            finished=self.finished,
            exit_code=self.exit_code,
            signal=self.signal,
            stdout_path=self.stdout_path,
            stderr_path=self.stderr_path,
            pid=self.pid,
            message=self.message,
            cpu_user=self.cpu_user,
            cpu_system=self.cpu_system,
            max_rss=self.max_rss,
            slots=self.slots,
        )


class DayCounts(NamedTuple):
    """Ended attempts of one day: those that succeeded and all the others."""

    successes: int
    failures: int


class RunStats(NamedTuple):
    """Figures over the ended attempts of a selection (attempts still running
    are left out).

    `success_rate` is successes / runs (None without runs). The durations, in
    seconds, cover only the attempts in `TIMED_OUTCOMES`; `duration_p95` is the
    nearest-rank 95th percentile, so it is always one of the durations.
    `failures` counts every outcome but success; `per_day` maps each day (in the
    zone asked for) that had attempts to its counts, in date order.
    `cpu_seconds` is the CPU time (user and system) of the attempts that
    measured it, `max_rss` the largest peak resident set among them (bytes;
    None if none measured it).
    """

    runs: int
    successes: int
    success_rate: float | None
    duration_min: float | None
    duration_avg: float | None
    duration_p95: float | None
    duration_max: float | None
    failures: dict[Outcome, int]
    per_day: dict[date, DayCounts]
    cpu_seconds: float
    max_rss: int | None


class DurationBuckets(NamedTuple):
    """The durations of a job's timed attempts (`TIMED_OUTCOMES`) against
    upper bounds in seconds, counted as a Prometheus histogram counts them:
    `within[i]` attempts took at most the i-th bound (so the counts never
    decrease); `attempts` is all of them and `seconds` their sum."""

    within: tuple[int, ...]
    attempts: int
    seconds: float


class JobTotals(NamedTuple):
    """What the whole history holds of one job (`/metrics`): its ended
    attempts by outcome, when the last of each outcome ended, how many
    scheduled slots it missed, the durations of its timed attempts, the CPU
    seconds (user and system) of the attempts that measured them, and the
    peak resident set (bytes) of the last attempt that measured one (None:
    none did).

    A `missed` record stands for every slot of one catch-up decision (its
    `slots`).
    """

    ended: dict[Outcome, int]
    last_ended: dict[Outcome, datetime]
    missed_slots: int
    durations: DurationBuckets
    cpu_seconds: float
    max_rss: int | None


class SlotTaken(NamedTuple):
    """What `Store.queue` answers for a run whose slot another run holds: the
    run was not recorded, and must not start."""

    job_id: str
    scheduled_for: datetime


class Pruned(NamedTuple):
    """What `Store.prune` took out of the store: the records, oldest first, and
    those of their log files that no record kept still names (the caller
    removes them, see `pycron.store.logs`, once the store has committed)."""

    records: list[RunRecord]
    logs: list[Path]


class Delivery(enum.Enum):
    """Where a message of the outbox stands."""

    PENDING = "pending"  # to be sent (again), at its next try
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"  # given up: a permanent failure, or the last retry failed


class OutboxEntry(NamedTuple):
    """A message of the outbox, as the sender takes it. Its `message.target`
    is the redacted target; where that hides a secret, the real one is found
    again among the targets configured now by `key` (see `target_key`)."""

    id: int
    message: Message
    key: str
    attempts: int  # deliveries tried so far
    created: datetime


class DeliveryRecord(NamedTuple):
    """What became of one message a run owed (`pycron history`)."""

    run_id: int
    channel: Channel
    target: str  # redacted
    state: Delivery
    attempts: int
    error: str | None  # the last failure, redacted
    delivered: datetime | None


class JobPast(NamedTuple):
    """What the alerts need to know of a job's past before one of its runs:
    how the job's previous run ended (None: no run before), when its last
    alert about a failed run was queued, and how many runs failed after that
    alert (all its failed runs if there was none), the first of them ending
    at `failures_since`. A run's outcome is that of its last attempt; runs
    that never ran (missed, skipped) are not runs here."""

    previous: Outcome | None = None
    last_failure_alert: datetime | None = None
    failures: int = 0
    failures_since: datetime | None = None


# Outcomes of a run that ran (or tried to, or was blocked by its `requires=`),
# for `JobPast`; FAILURE_OUTCOMES are those of a failed run: it failed, timed
# out, could not start or was blocked.
RAN_OUTCOMES = frozenset(
    {
        Outcome.SUCCESS,
        Outcome.FAILED,
        Outcome.TIMEOUT,
        Outcome.ERROR,
        Outcome.INTERRUPTED,
        Outcome.BLOCKED,
    }
)
FAILURE_OUTCOMES = frozenset({Outcome.FAILED, Outcome.TIMEOUT, Outcome.ERROR, Outcome.BLOCKED})


def target_key(target: str) -> str:
    """The key under which the outbox finds a target again without storing it
    (a SHA-256 digest): the sender looks among the targets configured now for
    the one with this key."""
    return sha256_hex(target.encode())


def stored_target(target: str) -> str:
    """The target as the outbox keeps it: redacted (`notify.redact`). A target
    that holds no secret is kept as it is, since its redaction is itself."""
    return redact(target)


class Store(Recorder, Protocol):
    """The run store, as the daemon, `run-now` and the readers use it; it is
    the runner's `Recorder` too. Usable from several threads at once; not to
    be carried into a forked child (open another there). Failures to open,
    read or write are `HistoryError`s."""

    @property
    def host(self) -> str:
        """This machine, as new records name it."""

    @property
    def location(self) -> str:
        """Where the store is, for messages (a file's path, say)."""

    def close(self) -> None:
        """Release the store; it cannot be used afterwards."""

    def __enter__(self) -> Store: ...

    def __exit__(self, *exc_info: object) -> None: ...

    # -- In a cluster (the daemon only) ----------------------------------------------------

    def set_membership(self, membership: Membership | None) -> None:
        """Record from now on under this cluster membership (None: outside any,
        the default): new records carry its generation, their fence. Where the
        store can tell (a history the cluster shares), a membership that is
        over records nothing new (its claims are `SlotTaken`, a run that
        claims nothing `MembershipOverError`, `claim` answers False), and the
        start or end of a run recorded under it, taken over since, is refused
        (`MembershipOverError`). Records without a fence are written as ever."""

    def set_claimer(self, claimer: Claimer | None) -> None:
        """Have `claimer` claim the slots of new scheduled runs before they are
        recorded (None: none, the default): a slot it refuses is `SlotTaken`,
        with nothing recorded, and is not claimed in the store either. Its
        errors go to the caller, with nothing recorded."""

    # -- Recording -------------------------------------------------------------------------

    def started(
        self, result: RunResult, record_id: int | None = None, *, claim: bool = False
    ) -> int:
        """Record an attempt that starts (outcome `running`) in a new record, or
        in record `record_id` (a queued record claimed for it, or its own, now
        with its process's pid); returns the record id. A result that has
        already ended (a skipped attempt, say) is stored complete, as it is.
        With `claim`, a new record also claims the attempt's slot, in the same
        transaction: `SlotTakenError` (nothing recorded) if it is held."""

    def finished(self, record_id: int, result: RunResult) -> None:
        """Complete the record of an attempt that has ended with `result`;
        `MembershipOverError` (nothing written) if its run was taken over."""

    def queue(self, results: Sequence[RunResult]) -> list[int | SlotTaken]:
        """Record first attempts of scheduled runs in new records, each claiming
        its slot, all in one transaction; per result, its record id, or
        `SlotTaken` (nothing recorded) if its slot is held already."""

    def claim(self, record_id: int, now: datetime) -> bool:
        """Take a queued record for its run (outcome `running`, started `now`,
        this process its recorder, under the store's membership): True for
        exactly one caller, however many processes try at once; False if it is
        not (or no longer) queued, or the membership is over."""

    def queue_triggered(self, result: RunResult, upstream: Sequence[int]) -> int | SlotTaken:
        """`queue` one run of an `@after` job, recording with it the upstream
        runs (record ids) that triggered it, in one transaction."""

    def queued(self) -> list[RunRecord]:
        """Runs recorded as due but not started yet, oldest slot first."""

    # -- Queries ---------------------------------------------------------------------------

    def runs(
        self,
        job_id: str | None = None,
        limit: int | None = None,
        since: datetime | None = None,
        outcome: Outcome | Collection[Outcome] | None = None,
    ) -> list[RunRecord]:
        """Recorded attempts, newest (latest start, then highest id) first,
        optionally of one job, started at or after `since`, with one of the
        given outcomes, at most `limit` of them (a negative one: ValueError)."""

    def run(self, record_id: int) -> RunRecord | None:
        """The attempt with this record id, if it is (still) recorded."""

    def latest(self, job_id: str) -> RunRecord | None:
        """The job's most recently started attempt, if any."""

    def last_per_job(self) -> dict[str, RunRecord]:
        """Each recorded job's most recently started attempt, by job id."""

    def recent(self, job_ids: Collection[str], count: int) -> dict[str, list[RunRecord]]:
        """The last `count` attempts of each of these jobs, newest first, by
        job id (a job without any is left out)."""

    def outcome_counts(self, since: datetime | None = None) -> dict[str, dict[Outcome, int]]:
        """How many attempts started at or after `since` (None: ever) each
        job has, by outcome, by job id (running and queued ones included)."""

    def running(self) -> list[RunRecord]:
        """Attempts recorded as running, newest first."""

    def last_scheduled(self, job_id: str) -> datetime | None:
        """The latest slot recorded for the job (whatever became of it)."""

    def last_scheduled_per_job(self) -> dict[str, datetime]:
        """`last_scheduled` of every recorded job at once, by job id."""

    def ended_after(self, job_ids: Collection[str], after: datetime | None) -> list[RunRecord]:
        """The runs of these jobs that ended after `after` (None: ever), each
        as its last attempt, oldest end first: what triggers `@after` jobs."""

    def triggers(self, run_ids: Collection[int]) -> dict[int, tuple[int, ...]]:
        """The upstream runs (record ids) that triggered the given runs, by
        run id, for those that have one (every attempt of a run shares it)."""

    def pipeline(self, record_id: int) -> list[RunRecord]:
        """The whole pipeline run of run `record_id`: every attempt of the runs
        linked to it by triggers, upstream and downstream, transitively, oldest
        start first (none if there is no such run)."""

    def stats(
        self, job_id: str | None = None, since: datetime | None = None, tz: tzinfo = timezone.utc
    ) -> RunStats:
        """Figures over the ended attempts (of one job, started at or after
        `since`); days are counted in `tz`. See `RunStats`."""

    def totals(self, bounds: Sequence[float]) -> dict[str, JobTotals]:
        """`JobTotals` of every recorded job (whether or not a crontab still
        has it), its durations counted against `bounds` (seconds, ascending),
        in a few queries whatever the number of jobs."""

    # -- Responsibility --------------------------------------------------------------------

    def responsibilities(self) -> dict[str, tuple[str, datetime]]:
        """Per job id: the schedule it had and the instant from which the daemon
        has been responsible for it."""

    def take_responsibility(
        self, taken: Mapping[str, tuple[str, datetime]], dropped: Collection[str] = ()
    ) -> None:
        """Record (or replace) the responsibility for jobs, and drop it for jobs
        no longer scheduled, in one transaction."""

    # -- Upkeep (the daemon and `run-now` only) --------------------------------------------

    def settle(self, now: datetime) -> list[RunRecord]:
        """Write the ends noted when the store could not take them (`note_end`),
        then mark the runs of recorders of this host that are gone interrupted
        (see `orphaned`); returns those."""

    def note_end(self, record_id: int, result: RunResult) -> str:
        """Keep the end of an attempt where it needs no room in the store, for
        `settle` to write later; says where."""

    def drop_notes(self, record_id: int) -> None:
        """Forget the noted ends of a record whose end was written after all."""

    def mark_interrupted(
        self,
        *,
        now: datetime,
        where: Callable[[RunRecord], bool] | None = None,
        message: str = INTERRUPTED_MESSAGE,
    ) -> list[RunRecord]:
        """Mark running attempts (all, or those `where` picks) interrupted, ended
        `now` or at their start if later, and give up their slots' claims;
        returns the changed records."""

    def prune(self, older_than: datetime) -> Pruned:
        """Forget the attempts (never running ones) that ended before
        `older_than`, in one transaction, with the messages they owed that
        are no longer pending; their log files are the caller's."""

    # -- The outbox ------------------------------------------------------------------------

    def queue_messages(
        self, job_id: str, scheduled_for: datetime, messages: Sequence[Message], now: datetime
    ) -> list[int] | None:
        """Queue the messages the run of `job_id` at `scheduled_for` owes (due
        `now`), and mark the run composed, in one transaction; their ids. A
        message without a run id gets that of the run's last attempt. None
        (nothing queued) if the run was composed already: whoever composes a
        run, however many times, its messages are queued once."""

    def queue_started(self, messages: Sequence[Message], now: datetime) -> list[int]:
        """Queue the messages of a run that starts (its `start` alerts), due
        `now`; their ids. The run is not marked composed: its end is."""

    def uncomposed(self) -> list[RunRecord]:
        """The ended attempts of this host whose run was never composed and
        whose recorder is gone (a pycron stopped between a run's end and the
        queueing of its messages), oldest first."""

    def take_due(
        self,
        now: datetime,
        lease: timedelta,
        limit: int,
        only: Collection[int] | None = None,
    ) -> list[OutboxEntry]:
        """Up to `limit` pending messages due at `now` (of those ids `only`
        names, if given), oldest first, each taken for `lease` (its next try
        moved to `now + lease`, in the same transaction), so that no other
        sender takes it meanwhile."""

    def next_try(self) -> datetime | None:
        """The earliest next try of the pending messages (None: none)."""

    def retry_now(self, now: datetime) -> int:
        """Make every pending message due `now` (a start: what waited for a
        retry, or was taken by a sender that died, goes at once); how many."""

    def delivered(self, message_id: int, now: datetime) -> None:
        """A message was delivered `now`."""

    def failed(self, message_id: int, error: str, next_try: datetime | None) -> None:
        """A delivery failed with `error` (redacted): retried at `next_try`, or
        given up (undelivered) without one."""

    def entries(self, message_ids: Collection[int]) -> dict[int, Delivery]:
        """Where the given messages stand, by id."""

    def deliveries(self, run_ids: Collection[int]) -> dict[int, list[DeliveryRecord]]:
        """The messages the given runs owed, by run id, oldest first."""

    def outbox_counts(self) -> dict[Delivery, int]:
        """How many messages of the outbox stand where (every state, 0 for none)."""

    def job_past(self, job_id: str, before: datetime) -> JobPast:
        """What the alerts need of the job's past before its run at slot
        `before` (that run's own attempts are left out). See `JobPast`."""


# -- The stored form of times --------------------------------------------------------------


def utc(moment: datetime) -> datetime:
    """An aware datetime in UTC; a naive one is refused, as its zone is unknown."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: the history needs aware times")
    return moment.astimezone(timezone.utc)


def time_text(moment: datetime) -> str:
    """A time as every store keeps it: fixed-width ISO 8601 in UTC, with
    microseconds and the offset, so that text order is time order."""
    return utc(moment).isoformat(timespec="microseconds")


def text_time(text: str) -> datetime:
    """A stored time (`time_text`) as an aware UTC datetime."""
    return datetime.fromisoformat(text).astimezone(timezone.utc)


# -- Who still owes an end -----------------------------------------------------------------


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine (POSIX `kill(pid, 0)`:
    a process of another user counts; a zombie still counts until reaped)."""
    if sys.platform == "win32":  # signal 0 would be CTRL_C_EVENT there
        raise NotImplementedError("pid_alive needs POSIX signals")
    if pid <= 0:  # 0 and negative ids name process groups, not a process
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def orphaned(host: str) -> Callable[[RunRecord], bool]:
    """A `mark_interrupted` predicate: running records written on `host` by a
    pycron process that no longer exists, whose job has ended too, so nobody
    will ever complete them. (A job runs in a session of its own and may
    outlive its pycron: while it runs, so does its record. Records of other
    hosts cannot be checked from here and are left alone.)"""

    def is_orphaned(record: RunRecord) -> bool:
        return gone_pycron(record, host) and not (
            record.pid is not None and job_alive(record.pid, record.job_id)
        )

    return is_orphaned


def gone_pycron(record: RunRecord, host: str) -> bool:
    """Whether a running record of `host` was left by a pycron that is gone."""
    return record.host == host and not pid_alive(record.recorder_pid)


def orphan_note(record: RunRecord, host: str) -> str | None:
    """For a run that outlived the pycron that started it: `pycron gone, pid N`."""
    if record.outcome is not Outcome.RUNNING or not gone_pycron(record, host):
        return None
    return f"pycron gone, pid {record.pid}" if record.pid is not None else "pycron gone"


# -- Figures -------------------------------------------------------------------------------


def summarize(
    attempts: Iterable[tuple[Outcome, datetime, float | None, float | None, int | None]],
    tz: tzinfo = timezone.utc,
) -> RunStats:
    """`RunStats` of ended attempts given as (outcome, started, duration, CPU
    seconds, peak RSS), the last two None where not measured."""
    runs = successes = 0
    failures: dict[Outcome, int] = {}
    days: dict[date, list[int]] = {}
    durations: list[float] = []
    cpu_seconds = 0.0
    peaks: list[int] = []
    for outcome, started, duration, cpu, max_rss in attempts:
        runs += 1
        day = days.setdefault(started.astimezone(tz).date(), [0, 0])
        if outcome is Outcome.SUCCESS:
            successes += 1
            day[0] += 1
        else:
            failures[outcome] = failures.get(outcome, 0) + 1
            day[1] += 1
        if outcome in TIMED_OUTCOMES and duration is not None:
            durations.append(duration)
        cpu_seconds += cpu or 0.0
        if max_rss is not None:
            peaks.append(max_rss)
    durations.sort()
    return RunStats(
        runs=runs,
        successes=successes,
        success_rate=successes / runs if runs else None,
        duration_min=durations[0] if durations else None,
        duration_avg=sum(durations) / len(durations) if durations else None,
        duration_p95=nearest_rank(durations, 95),
        duration_max=durations[-1] if durations else None,
        failures=dict(sorted(failures.items(), key=lambda item: item[0].value)),
        per_day={day: DayCounts(*counts) for day, counts in sorted(days.items())},
        cpu_seconds=cpu_seconds,
        max_rss=max(peaks, default=None),
    )


def nearest_rank(ordered: list[float], percent: int) -> float | None:
    """The nearest-rank percentile of sorted values: the smallest value with at
    least `percent`% of the values at or below it (None for no values)."""
    if not ordered:
        return None
    rank = (percent * len(ordered) + 99) // 100  # ceil without floating point
    return ordered[max(rank, 1) - 1]


# -- Recording that never stops a job ------------------------------------------------------


class TolerantRecorder:
    """A store as the runner's recorder, for runs that must go on whatever the
    disk does: a failure to write is said through `warn` (with the store's
    location and the reason), never raised, so the job is still supervised to
    its end and its exit code still reaches the caller. What is raised are
    decisions, not failures: a refused claim (`SlotTakenError`, before
    anything started), and a write under a cluster membership that is over
    (`MembershipOverError`: the run was taken over, or a new one may not
    start), which is neither kept nor noted.

    With `claim_slots` (the daemon's scheduled runs), the first attempt of a
    run recorded without a queued record claims its slot; `run-now` claims
    nothing.

    What could not be written is kept and written later (`retry`, also at every
    call): an attempt whose start could not be recorded gets a placeholder id
    below 0 and is recorded whole when it ends (it ran, so it claims nothing
    then). An end that cannot be written is also noted (`Store.note_end`), so
    that should this process stop before the disk has room again, the next
    pycron that can write records the end as it was instead of taking the
    attempt for interrupted. Usable from several threads at once.
    """

    def __init__(
        self,
        history: Store,
        warn: Callable[[str], None],
        *,
        claim_slots: bool,
        fence: Callable[[RunResult], bool] | None = None,
    ) -> None:
        """`fence` (a cluster member's) says whether an attempt that ended is
        still the member's own; one that is not (another member took it over)
        is recorded interrupted. A fence that cannot tell (its server cannot
        be reached) keeps the end for later, as a failed write does."""
        self.history = history
        self._warn = warn
        self._claim_slots = claim_slots
        self._fence = fence
        self._lock = threading.Lock()
        self._placeholders = itertools.count(-1, -1)
        self._pending: dict[int, RunResult] = {}  # record (or placeholder) id -> unwritten end

    def started(self, result: RunResult, record_id: int | None = None) -> int:
        """Record a start (in `record_id`, if given); a placeholder id (below 0)
        if a new record cannot be written."""
        self.retry()
        if record_id is not None and record_id < 0:
            return record_id  # not recorded: it is recorded whole when it ends
        claim = self._claim_slots and record_id is None and result.attempt == 1
        try:
            return self.history.started(result, record_id, claim=claim)
        except (SlotTakenError, MembershipOverError):
            raise
        except Exception as error:  # no failure of the history may stop a job
            if record_id is not None:
                self._warn(
                    f"{self.history.location}: cannot record that {_attempt_name(result)} "
                    f"started: {_reason(error)}; it runs all the same"
                )
                return record_id
            self._warn(
                f"{self.history.location}: cannot record the start of {_attempt_name(result)}: "
                f"{_reason(error)}; it runs all the same, and is recorded when it ends if the "
                "history can be written by then"
            )
            return next(self._placeholders)

    def finished(self, record_id: int, result: RunResult) -> None:
        """Record an end; if it cannot be written, keep it (and note it) for later."""
        self.retry()
        _warn_if_full(result, self._warn)
        try:
            _write_end(self.history, record_id, self._fenced(result))
        except MembershipOverError:
            raise
        except Exception as error:  # as in `started`
            with self._lock:
                self._pending[record_id] = result
            self._warn(
                f"{self.history.location}: cannot record the end of {_attempt_name(result)} "
                f"({result.outcome.value}): {_reason(error)}; {self._keep(record_id, result)}"
            )

    def _fenced(self, result: RunResult) -> RunResult:
        """The end to record: as it is, unless the fence says another member
        took the attempt over (then interrupted, as that member recorded it)."""
        if self._fence is None or self._fence(result):
            return result
        return result._replace(outcome=Outcome.INTERRUPTED, message=TAKEN_OVER_MESSAGE)

    def _keep(self, record_id: int, result: RunResult) -> str:
        """Note an unwritten end; says what became of it."""
        if record_id < 0:
            return "it is retried while this pycron runs, else the attempt stays unrecorded"
        try:
            note = self.history.note_end(record_id, result)
        except OSError as error:
            return (
                f"it is retried while this pycron runs, but {error.filename}: {error.strerror}, "
                "so should the disk stay full, the attempt will read as interrupted"
            )
        except HistoryError as error:  # a store with nowhere to note ends
            return (
                f"it is retried while this pycron runs, but cannot be noted ({error}), so "
                "should this pycron stop before it is written, the attempt will read as interrupted"
            )
        return f"it is retried while this pycron runs, and noted in {note} for the next one"

    def close(self) -> int:
        """A last `retry`, then close the store; returns how many ends are
        still unwritten (they are noted, where they could be)."""
        try:
            return self.retry()
        finally:
            self.history.close()

    def retry(self) -> int:
        """Write the ends kept after a failure, as far as possible now; returns
        how many are still kept. The ends are taken out while they are
        written, so that two threads retrying at once never write one twice."""
        with self._lock:
            pending, self._pending = self._pending, {}
        kept: dict[int, RunResult] = {}
        for record_id, result in pending.items():
            try:
                _write_end(self.history, record_id, self._fenced(result))
            except MembershipOverError:
                pass  # no longer this member's to write: forgotten, as if written
            except Exception:  # still failing: kept for the next try
                kept[record_id] = result
                continue
            if record_id > 0:
                self.history.drop_notes(record_id)
        with self._lock:
            self._pending.update(kept)
            return len(self._pending)


def _write_end(history: Store, record_id: int, result: RunResult) -> None:
    """Complete a record; an attempt without one (a placeholder id) is recorded whole."""
    if record_id < 0:
        history.started(result)
    else:
        history.finished(record_id, result)


def _warn_if_full(result: RunResult, warn: Callable[[str], None]) -> None:
    """Warn when the log directory of an attempt that ran has no space left:
    the job's writes to its log may have failed (pycron cannot see them)."""
    if result.stdout_path is None or result.pid is None:
        return
    directory = result.stdout_path.parent
    try:
        full = os.statvfs(directory).f_bavail == 0
    except OSError:
        return
    if full:
        warn(
            f"{directory}: no space left on the file system: the output of "
            f"{_attempt_name(result)} may be cut short; free some space there"
        )


def _attempt_name(result: RunResult) -> str:
    return f"{result.job_id} attempt {result.attempt}"


def _reason(error: Exception) -> str:
    """What went wrong, without the location that a HistoryError starts with
    (the store's own error it was raised from says it)."""
    cause = error.__cause__
    if isinstance(error, HistoryError) and cause is not None:
        return str(cause)
    return str(error) or type(error).__name__


if TYPE_CHECKING:

    def _is_a_recorder(recorder: TolerantRecorder) -> Recorder:
        """mypy checks here that TolerantRecorder keeps implementing the runner's Recorder."""
        return recorder
