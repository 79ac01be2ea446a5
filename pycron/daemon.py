"""The foreground daemon: keep every job of a crontab running on time.

`plan(state, jobs, now)` is pure: from each job's next fire time, the last
slot it ran and the clock, it says which slots are due, which missed ones to
catch up, and which to skip. The `Scheduler` consumes the daemon's events
(a tick of the loop, a reload, a run's end), calls `plan()`, records what is
queued or skipped, and hands due runs to the supervisor (`pycron.supervisor`);
the job table (`pycron.jobtable`) holds the crontab's jobs. `Daemon` wires
them with the lifecycle: the state directory's lock, the history, the signals,
and the loop that sleeps until the earliest next fire time (capped, so it
notices crontab edits, signals and clock jumps), then drains on SIGTERM.

The daemon takes its `clock`, `sleep`, worker pool and what a worker runs as
arguments, so tests can simulate hours of downtime, clock jumps and DST
transitions instantly.
"""

from __future__ import annotations

import collections
import contextlib
import enum
import gc
import heapq
import itertools
import json
import os
import queue
import random
import select
import signal
import sys
import threading
import time
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol, TextIO

from pycron import __version__
from pycron.crontab import (
    CatchUp,
    Entry,
    Overlap,
    Watch,
    random_delay,
)
from pycron.errors import (
    DaemonError,
    HistoryError,
    MembershipOverError,
    PycronError,
    SlotTakenError,
    file_errors,
)
from pycron.expr import resolve_tz
from pycron.graph import RunFact, Trigger, downstreams, upstreams, without_cycles
from pycron.graph import due as trigger_due
from pycron.jobtable import LOAD_RESULTS, JobTable
from pycron.locks import LockFile
from pycron.notify import Channel
from pycron.notify.outbox import (
    Compose,
    Composer,
    ComposeStart,
    Send,
    Sender,
    compose_nothing,
)
from pycron.processes import job_alive
from pycron.records import Outcome, RunResult, this_host
from pycron.runner import (
    Retention,
    Supervision,
    prepare_state_dir,
    private_directory,
    safe_name,
    supervise,
    write_private,
)
from pycron.store import (
    TAKEN_OVER_MESSAGE,
    RunRecord,
    SlotTaken,
    Store,
    TolerantRecorder,
    gone_pycron,
)
from pycron.store.cluster import DEFAULT_LEASE, Orphan, Slot
from pycron.store.sqlite import open_recording
from pycron.supervisor import (
    Execute,
    Finished,
    Launch,
    Supervisor,
    Workers,
    Workplace,
    log_slot_taken,
    run_launch,
)
from pycron.wakeups import FileWatch, WallTimer

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

    from pycron.crontab import Crontab, Finding
    from pycron.member import Member
    from pycron.store.cluster import Claimer, Membership
    from pycron.supervisor import Pool
    from pycron.watch import Modified, Watcher

ON_TIME = timedelta(seconds=60)  # a slot this late still runs as a normal run
# Seconds: how often the loop looks at least, while something is found only by
# looking (the crontab and the clock where the kernel does not tell of their
# changes, runs of other processes, ...: see `Daemon.longest_sleep`).
MAX_SLEEP = 2.0
MAX_IDLE = 3600.0  # seconds the loop sleeps at most when nothing asks for a look
MAX_CATCH_UP = 10_000  # slots counted per job and decision (older ones are not listed)
MAX_CHANGED_LISTED = 100  # paths in a @watch job's PYCRON_CHANGED (all in PYCRON_CHANGED_FILE)


# --------------------------------------------------------------------------- time zones


# The tz database's names of UTC. A machine on UTC (most containers) needs
# nothing of that database, which costs the daemon 2 ms and 0.4 MiB to load:
# its zone is the standard library's UTC, which reads the clock the same way.
UTC_NAMES = frozenset(
    ("UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu")
)


def local_zone() -> tzinfo | None:
    """This machine's time zone as an IANA zone: $TZ, else /etc/localtime's
    target (UTC by any of its names: the fixed `timezone.utc`)."""
    name = os.environ.get("TZ", "").lstrip(":")
    if not name:
        try:
            target = os.path.realpath("/etc/localtime")
        except OSError:
            return None
        name = target.partition("/zoneinfo/")[2]
    if name in UTC_NAMES:
        return timezone.utc
    try:
        return resolve_tz(name) if name else None
    except PycronError:
        return None


# --------------------------------------------------------------------------- planning


class JobState(NamedTuple):
    """What the planner knows of a job: its next fire time and the last slot
    that ran or was decided (so no slot is ever run twice)."""

    next_fire: datetime | None
    last_slot: datetime | None = None


class Due(NamedTuple):
    """A run to start: the job, the slot, and whether it is a catch-up."""

    job_id: str
    scheduled_for: datetime
    catch_up: bool = False


class Skipped(NamedTuple):
    """Missed slots of a job that were not run (catch-up policy)."""

    job_id: str
    missed: int
    first: datetime
    last: datetime
    policy: CatchUp


class Plan(NamedTuple):
    """The planner's decisions for one moment."""

    due: list[Due]
    skipped: list[Skipped]
    state: dict[str, JobState]


def catch_up_policy(entry: Entry) -> CatchUp:
    """The job's catch-up option, else its schedule's default."""
    if entry.options.catch_up is not None:
        return entry.options.catch_up
    return entry.schedule.default_catch_up


def changes_since(
    entry: Entry, last_started: datetime | None, held_since: datetime | None
) -> datetime | None:
    """Since when the changes under a `@watch` job's path are made up for at
    start (None: they are not): since its last run started, or since the
    daemon took responsibility for it if that is later, if its catch-up
    policy is not `none` (`latest` and `all` alike: changes have no slots
    to count, whatever changed makes one run). A job with neither has no
    known past to compare with."""
    if (
        not entry.enabled
        or not isinstance(entry.schedule, Watch)
        or catch_up_policy(entry) is CatchUp.NONE
    ):
        return None
    return _latest(last_started, held_since)


def fire_after(
    entry: Entry, after: datetime, anchor: datetime, zone: tzinfo | None
) -> datetime | None:
    """The job's first fire time strictly after `after` (aware), or None: what
    the daemon plans with and what `list` and `status` show as next runs.

    `zone` is the daemon's (a schedule without a zone of its own reads its
    clock) and `anchor` the daemon's start (from which `@every` counts).
    """
    return entry.schedule.next_after(after, zone, anchor)


def next_runs(entry: Entry, now: datetime, count: int, zone: tzinfo | None) -> list[datetime]:
    """The job's next `count` runs after `now` (aware), computed as the daemon
    computes them (a job in a DST gap shows the time it really runs), in `zone`
    (this machine's when None). A schedule not fixed on the clock (`@every` counts from the
    daemon's start, `@reboot` runs at boot) has no time to show here."""
    if not entry.enabled or not entry.schedule.on_the_clock:
        return []
    runs: list[datetime] = []
    moment: datetime | None = now
    while len(runs) < count and moment is not None:
        moment = fire_after(entry, moment, now, zone)
        if moment is not None:
            runs.append(moment.astimezone(zone) if zone is not None else moment.astimezone())
    return runs


def plan(
    state: Mapping[str, JobState],
    jobs: Mapping[str, Entry],
    now: datetime,
    anchor: datetime,
    zone: tzinfo | None,
) -> Plan:
    """Decide what is due at `now` (pure).

    A slot up to ON_TIME late runs as usual. Older slots were missed (downtime,
    a suspended machine, a clock jump forward): `catch-up=none` skips them,
    `latest` runs the most recent once, `all` runs each in order within the
    job's window. Slots at or before a job's last slot never run again, so a
    clock jump backwards repeats nothing.
    """
    due: list[Due] = []
    skipped: list[Skipped] = []
    new_state = dict(state)
    for job_id, entry in jobs.items():
        current = state.get(job_id, JobState(None))
        if current.next_fire is None or current.next_fire > now:
            continue
        if not entry.enabled:  # its slots pass unrun, not missed; move on (never spin on it)
            new_state[job_id] = current._replace(next_fire=fire_after(entry, now, anchor, zone))
            continue
        slots = _slots(entry, current, now, anchor, zone)
        on_time = [slot for slot in slots if now - slot <= ON_TIME]
        missed = [slot for slot in slots if now - slot > ON_TIME]
        run_missed, skip = _decide(entry, missed, now)
        due += [Due(job_id, slot, True) for slot in run_missed]
        due += [Due(job_id, slot) for slot in on_time]
        if skip:
            skipped.append(Skipped(job_id, len(skip), skip[0], skip[-1], catch_up_policy(entry)))
        last = slots[-1] if slots else current.last_slot
        new_state[job_id] = JobState(fire_after(entry, max(now, last or now), anchor, zone), last)
    due.sort(key=lambda d: d.scheduled_for)
    return Plan(due, skipped, new_state)


def _slots(
    entry: Entry, current: JobState, now: datetime, anchor: datetime, zone: tzinfo | None
) -> list[datetime]:
    """The job's slots from its next fire time up to `now` (after its last slot)."""
    slots: list[datetime] = []
    slot = current.next_fire
    while slot is not None and slot <= now and len(slots) < MAX_CATCH_UP:
        if current.last_slot is None or slot > current.last_slot:
            slots.append(slot)
        slot = fire_after(entry, slot, anchor, zone)
    if slot is not None and slot <= now:  # too many to list: keep the newest
        if catch_up_policy(entry) is CatchUp.ALL:  # and those that `all` may still run
            start = max(slots[-1], now - entry.options.catch_up_window - timedelta(microseconds=1))
            slot = fire_after(entry, start, anchor, zone)
            while slot is not None and slot <= now and len(slots) < 2 * MAX_CATCH_UP:
                slots.append(slot)
                slot = fire_after(entry, slot, anchor, zone)
        latest = entry.schedule.latest_at_or_before(now, zone, anchor)
        if latest is not None and latest not in slots:
            slots.append(latest)
    return slots


def _decide(
    entry: Entry, missed: list[datetime], now: datetime
) -> tuple[list[datetime], list[datetime]]:
    """(missed slots to run, missed slots to skip) under the job's policy."""
    policy = catch_up_policy(entry)
    if not missed or policy is CatchUp.NONE:
        return [], missed
    if policy is CatchUp.LATEST:
        return missed[-1:], missed[:-1]
    window = now - entry.options.catch_up_window
    return [s for s in missed if s >= window], [s for s in missed if s < window]


# --------------------------------------------------------------------------- logging


class LogFormat(enum.Enum):
    """How the daemon writes its event lines."""

    TEXT = "text"
    JSON = "json"


LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


class EventLog:
    """One line per event on a stream: `time level event key=value ...` for
    people, or one JSON object per line for log collectors."""

    def __init__(
        self,
        stream: TextIO,
        clock: Callable[[], datetime],
        form: LogFormat = LogFormat.TEXT,
        level: str = "info",
    ) -> None:
        self._stream = stream
        self._clock = clock
        self._form = form
        self._level = LEVELS[level]
        self._lock = threading.Lock()

    def __call__(self, event: str, level: str = "info", **fields: object) -> None:
        if LEVELS[level] < self._level:
            return
        moment = self._clock().astimezone(timezone.utc).isoformat(timespec="milliseconds")
        fields = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in fields.items()}
        if self._form is LogFormat.JSON:
            line = json.dumps(
                {"time": moment, "level": level, "event": event, **fields}, default=str
            )
        else:
            pairs = " ".join(
                f"{key}={_quote(value)}" for key, value in fields.items() if value is not None
            )
            line = f"{moment} {level:<7} {event:<10} {pairs}".rstrip()
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()


def _quote(value: object) -> str:
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return json.dumps(text) if not text or any(c in text for c in ' "=\n') else text


# --------------------------------------------------------------------------- the daemon


class Settings(NamedTuple):
    """The daemon's command-line settings."""

    crontab: Path
    state_dir: Path
    max_parallel: int = 10
    shutdown_grace: float = 30.0
    zone: tzinfo | None = None
    reboot: bool = False
    heartbeat: float | None = None
    retention: Retention = Retention()
    smtp: str | None = None  # the SMTP server's URL (--smtp), else sendmail
    sendmail: str | None = None  # the sendmail program (--sendmail), else the usual one
    notify: tuple[str, ...] = ()  # alert targets of jobs without notify= (--notify)
    cluster: str | None = None  # the cluster's URL (--cluster), None: a daemon on its own
    cluster_lease: timedelta = DEFAULT_LEASE  # --cluster-lease


class Tick(NamedTuple):
    """A turn of the loop at `now`: plan the jobs whose time has come, start
    the runs whose RANDOM_DELAY is over, and the upkeep of every turn."""

    now: datetime


class Reload(NamedTuple):
    """Re-read the crontab (SIGHUP, or the file changed on disk)."""


class Changed(NamedTuple):
    """Something changed under a `@watch` job's path (the file events' thread
    posts it): the path, the kind of event and when it was seen."""

    job_id: str
    path: str
    kind: str  # created, modified, deleted or moved
    at: datetime


class TakenOver(NamedTuple):
    """Runs of members of the cluster whose lease ran out, fallen to this one."""

    orphans: list[Orphan]


class Burst(NamedTuple):
    """The changes of a `@watch` job not yet run for: the paths (in the order
    first seen), the kinds of event, when the last one came, and whether
    they wait for the job's run in progress to end."""

    paths: dict[str, None]
    kinds: set[str]
    last: datetime
    held: bool = False


# What the scheduler consumes, in the order posted.
Event = Tick | Reload | Finished | Changed | TakenOver


class Scheduler:
    """What runs when, for one daemon lifetime: it consumes the events the
    loop, the signals and the supervisor post, asks the pure `plan()` what is
    due, records what is queued or skipped, and hands due runs to the
    supervisor. It keeps each job's planning state, and learns from the
    `Finished` events what runs and how each job's last run ended."""

    def __init__(
        self,
        settings: Settings,
        *,
        table: JobTable,
        supervisor: Supervisor,
        history: Store,
        recorder: TolerantRecorder,
        events: queue.SimpleQueue[Event],
        clock: Callable[[], datetime],
        log: EventLog,
        history_error: Callable[[str], None],
        anchor: datetime,
        delay_scale: float,
        composer: Composer,
        elsewhere: Callable[[], Collection[Slot]] | None = None,
    ) -> None:
        """`elsewhere` gives the runs that the other live members of the
        daemon's cluster have now (None: a daemon on its own)."""
        self.settings = settings
        self.composer = composer
        self.table = table
        self.supervisor = supervisor
        self.history = history
        self.events = events
        self.clock = clock
        self.log = log
        self.anchor = anchor
        self.delay_scale = delay_scale
        self.state: dict[str, JobState] = {}
        self.running: collections.Counter[str] = collections.Counter()  # handed out, not finished
        self.last: dict[str, RunResult] = {}  # each job's last attempt that ended, this lifetime
        self._recorder = recorder
        self._history_error = history_error
        self._orphans: list[RunRecord] = []  # runs whose pycron died while their job lives on
        self._duties: dict[str, tuple[str, datetime]] = {}  # job -> (schedule, responsible since)
        # Jobs whose responsibility was taken or dropped and is not written yet.
        self._duty_changes: tuple[list[str], list[str]] = ([], [])
        self._earliest_cache: tuple[datetime | None] | None = None  # None: to compute
        # Runs held back by RANDOM_DELAY: (start at, order, job, slot, record), soonest first.
        self._delayed: list[tuple[datetime, int, str, datetime, int | None]] = []
        self.next_start: datetime | None = None  # set by each turn's `sleep_time`
        self._delays = itertools.count()
        self._bursts: dict[str, Burst] = {}  # @watch job -> its changes not yet run for
        self._change_files: dict[tuple[str, datetime], Path] = {}  # run -> PYCRON_CHANGED_FILE
        self._after: dict[str, tuple[str, ...]] = {}  # @after job -> its upstream jobs
        self._followers: dict[str, tuple[str, ...]] = {}  # job -> the @after jobs after it
        self._lingering = 0  # cgroups of ended runs that their processes still use
        self._elsewhere = elsewhere

    @property
    def jobs(self) -> dict[str, Entry]:
        """The jobs of the crontab, as the job table holds them."""
        return self.table.jobs

    def start(self, started: datetime) -> int:
        """The start-up: the history's upkeep, the first load of the crontab, the
        missed runs found from the history, the runs a previous daemon left
        queued, then the @reboot jobs. Returns how many jobs are due at once."""
        history = self.history
        interrupted = self._settle(history, started)
        self._load(started, initial=True)
        self._duties = self._held_duties(history)
        self._recover(history, interrupted, started, self._take_duties(history, started))
        self._resume_queued(history, started)
        for job_id in self._after:  # upstream runs that ended while no daemon followed them
            self._trigger(job_id, started)
        self.composer.recover(self.jobs)
        self._start_reboot_jobs(started)
        return sum(
            1 for state in self.state.values() if state.next_fire and state.next_fire <= started
        )

    def consume(self) -> None:
        """Handle the events posted, in order, until none is left (a run that
        ends meanwhile is seen at once). Reloads asked for more than once in
        one call (a SIGHUP and an edit) read the file once."""
        reloaded = False
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return
            match event:
                case Reload():
                    if not reloaded:
                        reloaded = True
                        self._reload()
                case Finished():
                    self._finished(event)
                case Changed():
                    self._changed(event)
                case Tick(now):
                    self._tick(now)
                case TakenOver(orphans):
                    self._take_over(orphans)

    def _tick(self, now: datetime) -> None:
        """A turn: plan what is due, release delayed runs, and the upkeep."""
        earliest = self._earliest()
        if earliest is not None and earliest <= now:
            self._plan(now)
        self._release_delayed(now)
        self._run_bursts(now)
        for job_id in self._after:  # upstream runs this daemon did not run (`run-now`)
            self._trigger(job_id, now)
        self._write_duties(self.history)
        self._lingering = self.supervisor.reap()
        self._watch_orphans(self.history, now)

    def _reload(self) -> None:
        """Re-read the crontab; jobs added or given another schedule become the
        daemon's responsibility from now on."""
        now = self.clock()
        if self._load(now, initial=False):
            self._take_duties(self.history, now)

    def _finished(self, event: Finished) -> None:
        """A run ended: it no longer runs, and its last attempt is the job's last result."""
        job_id = event.launch.entry.id
        self.running[job_id] -= 1
        if self.running[job_id] <= 0:
            del self.running[job_id]
        if event.results:
            self.last[job_id] = event.results[-1]
            self.composer.run_ended(event.launch.entry, event.results, event.record)
        changes = self._change_files.pop((job_id, event.launch.slot), None)
        if changes is not None:
            changes.unlink(missing_ok=True)
        self._run_bursts(self.clock())
        for follower in self._followers.get(job_id, ()):
            self._trigger(follower, self.clock())

    # ----------------------------------------------------------- @watch jobs

    def _changed(self, event: Changed) -> None:
        """A change under a `@watch` job's path joins the job's burst."""
        entry = self.jobs.get(event.job_id)
        if entry is None or not isinstance(entry.schedule, Watch):
            return
        burst = self._bursts.get(event.job_id) or Burst({}, set(), event.at)
        burst.paths[event.path] = None
        burst.kinds.add(event.kind)
        self._bursts[event.job_id] = burst._replace(last=max(burst.last, event.at))

    def catch_up_changes(self, look: Callable[[str, datetime], Modified]) -> None:
        """At start, after the watcher: each `@watch` job whose catch-up
        policy asks for it gets as a burst what `look(path, since)` finds
        modified under its path since its last run started (see
        `changes_since`), for the time of the latest change, so that it
        runs once for everything that changed while no daemon watched."""
        from pycron.watch import watched_path  # noqa: PLC0415  (only with a watcher)

        try:
            last = self.history.last_per_job()
        except HistoryError as error:
            self._history_error(f"{error}: @watch jobs do not catch up changes this time")
            return
        for job_id, entry in self.jobs.items():
            record, held = last.get(job_id), self._duties.get(job_id)
            last_started = record.started if record is not None else None
            since = changes_since(entry, last_started, held[1] if held is not None else None)
            if since is None:
                continue
            assert isinstance(entry.schedule, Watch)
            found = look(watched_path(entry.schedule.path), since)
            level = "info" if found.complete else "warning"
            message = None if found.complete else f"only {found.looked_at} entries looked at"
            changed = len(found.paths)
            self.log("catch-up", level, job=job_id, since=since, changed=changed, message=message)
            for path in found.paths:
                assert found.latest is not None
                self._changed(Changed(job_id, path, "modified", found.latest))

    def _burst_due(self, job_id: str, burst: Burst) -> datetime | None:
        """When to look at the job's burst next: once its debounce has passed
        since its last change; None while it waits for a run to end."""
        entry = self.jobs.get(job_id)
        if entry is None:
            return burst.last
        if burst.held and self.running[job_id]:
            return None
        return burst.last + entry.options.debounce

    def _run_bursts(self, now: datetime) -> None:
        """Run each `@watch` job whose burst of changes is over: one run for
        all its changes, for the slot of its last change (the history's
        claim of a slot keeps it to one run). Changes while the job runs
        make one more run after it, unless it runs side by side
        (`overlap=allow`)."""
        for job_id, burst in list(self._bursts.items()):
            due = self._burst_due(job_id, burst)
            if due is None or due > now:
                continue
            entry = self.jobs.get(job_id)
            if (
                entry is not None
                and self.running[job_id]
                and entry.options.overlap is not Overlap.ALLOW
            ):  # coalesced: one more run once this one ends
                if not burst.held:
                    self._bursts[job_id] = burst._replace(held=True)
                    self.log("hold", job=job_id, paths=len(burst.paths), message="job running")
                continue
            del self._bursts[job_id]
            if entry is None or not entry.enabled or self.supervisor.draining.is_set():
                continue
            slot = burst.last
            self.log("changed", job=job_id, paths=len(burst.paths), events=_kinds(burst))
            records = self._queue([Due(job_id, slot)], now)
            if records is None:
                continue
            (record,) = records
            if isinstance(record, SlotTaken):
                log_slot_taken(self.log, job_id, slot)
                continue
            self._submit(self._with_changes(entry, slot, burst), slot, False, record)

    def _with_changes(self, entry: Entry, slot: datetime, burst: Burst) -> Entry:
        """The job with what it learns of its changes: PYCRON_CHANGED (the
        first MAX_CHANGED_LISTED paths, one a line), PYCRON_CHANGED_FILE (a
        private file with all of them, removed when the run ends) and
        PYCRON_EVENTS (the kinds, comma-separated)."""
        paths = list(burst.paths)
        directory = self.settings.state_dir / "changes"
        private_directory(directory)
        listing = directory / f"{safe_name(entry.id)}-{slot.strftime('%Y%m%dT%H%M%S%f')}"
        write_private(
            listing, "".join(f"{path}\n" for path in paths).encode("utf-8", "surrogateescape")
        )
        self._change_files[entry.id, slot] = listing
        variables = (
            ("PYCRON_CHANGED", "\n".join(paths[:MAX_CHANGED_LISTED])),
            ("PYCRON_CHANGED_FILE", str(listing)),
            ("PYCRON_EVENTS", _kinds(burst)),
        )
        return entry._replace(env=(*entry.env, *variables))

    # ----------------------------------------------------------- @after jobs

    def _trigger(self, job_id: str, now: datetime) -> None:
        """Queue and start the run of an `@after` job that its upstream runs in
        the history make due, if any (`pycron.graph.due`). Its slot, the end of
        the run that completed the trigger, is claimed with it, so the trigger
        runs once, whoever decides it again (a restart, another event)."""
        entry = self.jobs.get(job_id)
        if entry is None or not entry.enabled:
            return
        held = self._duties.get(job_id)
        since = held[1] if held is not None else None  # a new job follows runs from now on
        try:
            trigger = pending_trigger(self.history, entry, self._after[job_id], since)
            if trigger is None:
                return
            result = RunResult(job_id, trigger.slot, 1, Outcome.QUEUED, now)
            record = self.history.queue_triggered(result, trigger.upstream)
        except HistoryError as error:
            self._history_error(f"{error}: {job_id} is not started after its upstream jobs")
            return
        if isinstance(record, SlotTaken):
            log_slot_taken(self.log, job_id, trigger.slot)
            return
        upstream = ",".join(str(run_id) for run_id in trigger.upstream)
        self.log("trigger", job=job_id, scheduled=trigger.slot, after=upstream)
        self._submit(entry, trigger.slot, False, record)

    def _load(self, now: datetime, *, initial: bool) -> bool:
        """Load the job table: keep the next fire times of jobs whose schedule is
        unchanged, compute them for the others after `now`, the instant from
        which the daemon answers for them (its start, or the reload): a slot
        that comes while the crontab is read (seconds, on a busy machine) is
        then run, not lost. Returns whether the jobs changed."""
        loaded = self.table.load(initial=initial)
        if loaded is None:
            return False
        state: dict[str, JobState] = {}
        known, previous = self.state, loaded.previous
        anchor, zone = self.anchor, self.settings.zone
        for job_id, entry in self.jobs.items():
            kept = known.get(job_id)
            old = previous.get(job_id)
            if kept is not None and old is not None and _same_schedule(old, entry):
                state[job_id] = kept
            else:
                last_slot = kept.last_slot if kept is not None else None
                state[job_id] = JobState(fire_after(entry, now, anchor, zone), last_slot)
        self.state = state
        self._earliest_cache = None
        self._after, cycles = without_cycles(upstreams(self.jobs.values()))
        self._followers = downstreams(self._after)
        for cycle in cycles:
            self.log("cycle", "error", jobs=" -> ".join(cycle), message="these jobs never start")
        self.log(
            "load" if initial else "reload",
            jobs=len(self.jobs),
            errors=loaded.errors,
            changed=",".join(loaded.changed) if not initial and loaded.changed else None,
        )
        return True

    def _settle(self, history: Store, now: datetime) -> list[RunRecord]:
        """The history's upkeep at start (`Store.settle`); the runs it marks
        interrupted. If the history cannot be written, that is logged and the
        daemon runs on: those runs are marked at a later start."""
        try:
            return history.settle(now)
        except HistoryError as error:
            self._history_error(f"{error}: runs left running by a pycron that died stay so")
            return []

    def _plan(self, now: datetime) -> None:
        """Plan the jobs whose next fire time has come, start what is due, record
        what is skipped. Only those jobs are looked at, so an idle turn of a
        daemon with 10,000 jobs costs next to nothing."""
        due_ids = [
            j for j, s in self.state.items() if s.next_fire is not None and s.next_fire <= now
        ]
        decided = plan(
            {j: self.state[j] for j in due_ids},
            {j: self.jobs[j] for j in due_ids},
            now,
            self.anchor,
            self.settings.zone,
        )
        self.state.update(decided.state)
        self._earliest_cache = None
        for skipped in decided.skipped:
            self._record_skipped(skipped, now)
        records = self._queue(decided.due, now)
        if records is None:
            return
        busy = self._locks_elsewhere([self.jobs[d.job_id] for d in decided.due])
        for due, record in zip(decided.due, records, strict=True):
            if isinstance(record, SlotTaken):
                self._slot_taken(due.job_id, due.scheduled_for)
                continue
            entry = self.jobs[due.job_id]
            if entry.options.overlap is Overlap.SKIP and _lock_of(entry) in busy:
                self._skip_busy(entry, due.scheduled_for, record, busy[_lock_of(entry)], now)
                continue
            delay = self._random_delay(entry)
            if delay and due.scheduled_for + delay > now:
                start = due.scheduled_for + delay
                self.log("delay", job=entry.id, scheduled=due.scheduled_for, start=start)
                item = (start, next(self._delays), entry.id, due.scheduled_for, record)
                heapq.heappush(self._delayed, item)
                continue
            self._submit(entry, due.scheduled_for, due.catch_up, record)

    def _random_delay(self, entry: Entry) -> timedelta:
        """How long RANDOM_DELAY (cronie's: up to N minutes, the same share of N
        for every job while this daemon runs) holds the job's runs back."""
        minutes = random_delay(entry.env_dict.get("RANDOM_DELAY", ""))
        return timedelta(minutes=minutes * self.delay_scale) if minutes else timedelta()

    def _release_delayed(self, now: datetime) -> None:
        """Start the runs whose RANDOM_DELAY is over (still queued in the history,
        so a stop meanwhile leaves them to the next start)."""
        while self._delayed and self._delayed[0][0] <= now:
            _, _, job_id, slot, record = heapq.heappop(self._delayed)
            entry = self.jobs.get(job_id)
            if entry is not None:
                self._submit(entry, slot, False, record)

    def _queue(self, due: list[Due], now: datetime) -> list[int | SlotTaken | None] | None:
        """Record each due run `queued` before it waits for a worker, all in one
        transaction, so that a run waiting when the daemon stops (or dies) is
        started by the next one; a run whose slot another run holds is not
        recorded (`SlotTaken`). Where the history cannot take them, the runs
        go on unrecorded until they start; in a cluster, where the history
        claims the slots, none of them starts (None: a run never starts
        unclaimed, as another member may have it)."""
        if not due:
            return []
        assert self._recorder is not None
        results = [RunResult(d.job_id, d.scheduled_for, 1, Outcome.QUEUED, now) for d in due]
        try:
            return list(self._recorder.history.queue(results))  # ids, typed as maybe-None
        except HistoryError as error:
            if self.settings.cluster is None:
                self._history_error(f"{error}: {len(due)} due run(s) wait unrecorded")
                return [None] * len(due)
            self._history_error(f"{error}: {len(due)} due run(s) not started, as unclaimed")
            return None

    def _locks_elsewhere(self, entries: list[Entry]) -> dict[str, str]:
        """In a cluster, the locks (a job's `lock=`, else its id) that runs on
        other members hold now, each with such a run's job, if any of
        `entries` would skip its run for one (`overlap=skip`); else none.
        A cluster that cannot say holds none: its claims fail then anyway."""
        if self._elsewhere is None or all(e.options.overlap is not Overlap.SKIP for e in entries):
            return {}
        try:
            runs = self._elsewhere()
        except HistoryError as error:
            self._history_error(f"{error}: runs on other members are not known this turn")
            return {}
        busy = {}
        for job_id, _ in runs:
            entry = self.jobs.get(job_id)
            busy[job_id if entry is None else _lock_of(entry)] = job_id
        return busy

    def _skip_busy(
        self, entry: Entry, slot: datetime, record: int | None, other: str, now: datetime
    ) -> None:
        """Record a run skipped (`overlap=skip`) as its lock is held by a run on
        another member of the cluster, in the record that claimed its slot."""
        holder = "it" if other == entry.id else f"{other} (lock={entry.options.lock})"
        message = f"skipped: {holder} still runs on another member of the cluster"
        self.log("skip", "warning", job=entry.id, scheduled=slot, message=message)
        result = RunResult(entry.id, slot, 1, Outcome.SKIPPED_OVERLAP, now, now, message=message)
        assert self._recorder is not None
        try:
            if record is None:
                record = self._recorder.started(result)
            self._recorder.finished(record, result)
        except (SlotTakenError, MembershipOverError):
            return
        self.composer.run_ended(entry, [result])

    def _slot_taken(self, job_id: str, slot: datetime) -> None:
        """A due run another run has: in a cluster, most often another member's."""
        if self.settings.cluster is None:
            log_slot_taken(self.log, job_id, slot)
        else:
            self.log("skip", "debug", job=job_id, scheduled=slot, message="claimed elsewhere")

    def _take_over(self, orphans: list[Orphan]) -> None:
        """Runs of a member whose lease ran out: marked interrupted, each slot
        run again at once unless its job's catch-up policy is `none` (or the
        job is gone or disabled)."""
        now = self.clock()
        self._mark_taken_over(orphans, now)
        again = []
        for orphan in orphans:
            job_id, slot = orphan.slot
            entry = self.jobs.get(job_id)
            self.log(
                "takeover",
                "warning",
                job=job_id,
                scheduled=slot,
                member=orphan.member.member_id,
                host=orphan.member.host,
                message="its member's lease ran out: marked interrupted",
            )
            if entry is not None and entry.enabled and catch_up_policy(entry) is not CatchUp.NONE:
                again.append(Due(job_id, slot, True))
        records = self._queue(again, now)
        for due, record in zip(again, records or [], strict=False):
            if isinstance(record, SlotTaken):
                self._slot_taken(due.job_id, due.scheduled_for)
            else:
                self._submit(self.jobs[due.job_id], due.scheduled_for, True, record)

    def _mark_taken_over(self, orphans: list[Orphan], now: datetime) -> None:
        """Record the orphans interrupted: their records where the history is
        shared, else new records in this member's own history."""
        message = TAKEN_OVER_MESSAGE
        shared = {orphan.record_id for orphan in orphans if orphan.record_id is not None}
        try:
            if shared:
                self.history.mark_interrupted(
                    now=now, where=lambda record: record.id in shared, message=message
                )
            for orphan in orphans:
                if orphan.record_id is None:
                    job_id, slot = orphan.slot
                    ended = RunResult(job_id, slot, 1, Outcome.INTERRUPTED, now, now)
                    self.history.started(ended._replace(message=message))
        except HistoryError as error:
            self._history_error(f"{error}: runs taken over are not marked interrupted")

    def _earliest(self) -> datetime | None:
        """The earliest next fire time of all jobs (kept until the state changes)."""
        if self._earliest_cache is None:
            fires = [s.next_fire for s in self.state.values() if s.next_fire is not None]
            self._earliest_cache = (min(fires) if fires else None,)
        return self._earliest_cache[0]

    def sleep_time(self, now: datetime, longest: float) -> float:
        """Seconds until the earliest next fire time, delayed start or
        changed-files burst, at most `longest`. That moment is kept in
        `next_start` for other threads (None: nothing planned)."""
        earliest = self.next_start = _soonest(
            self._earliest(),
            self._delayed[0][0] if self._delayed else None,
            *(self._burst_due(job_id, burst) for job_id, burst in self._bursts.items()),
        )
        if earliest is None:
            return longest
        return max(0.0, min(longest, (earliest - now).total_seconds()))

    def looks(self) -> bool:
        """Whether some turn may find what nothing announces: the end of a run
        that outlived a dead pycron, an upstream run of an `@after` job that
        another process ran (`run-now`), or the last process of an ended run
        leaving its cgroup."""
        return bool(self._orphans or self._after or self._lingering)

    def _submit(self, entry: Entry, slot: datetime, catch_up: bool, record: int | None) -> None:
        if catch_up:
            self.log("catch-up", job=entry.id, scheduled=slot)
        next_slot = fire_after(entry, slot, self.anchor, self.settings.zone)
        self.running[entry.id] += 1
        self.supervisor.submit(Launch(entry, slot, next_slot, record))

    def _start_reboot_jobs(self, now: datetime) -> None:
        """@reboot jobs: once per machine boot (a marker per boot id), or at this
        start if --reboot says the daemon's start is the boot (containers)."""
        reboot_jobs = [e for e in self.jobs.values() if e.schedule.at_boot]
        if not reboot_jobs:
            return
        marker = self.settings.state_dir / f"reboot-{_boot_id()}"
        if marker.exists() and not self.settings.reboot:
            self.log("reboot", jobs=len(reboot_jobs), message="already run since boot")
            return
        write_private(marker, f"{now.isoformat()}\n".encode())
        for entry in reboot_jobs:
            if entry.enabled:
                self._submit(entry, now, False, None)

    def _record_skipped(self, skipped: Skipped, now: datetime) -> None:
        """Log and record missed slots that are not run (one row per decision)."""
        message = (
            f"{skipped.missed} missed run(s) from {skipped.first.isoformat()} to "
            f"{skipped.last.isoformat()} not run (catch-up={skipped.policy.value})"
        )
        self.log(
            "skip",
            "warning",
            job=skipped.job_id,
            count=skipped.missed,
            first=skipped.first,
            last=skipped.last,
            policy=skipped.policy.value,
        )
        result = RunResult(
            skipped.job_id,
            skipped.last,
            1,
            Outcome.MISSED,
            now,
            now,
            message=message,
            slots=skipped.missed,
        )
        assert self._recorder is not None
        try:
            record = self._recorder.started(result)
        except SlotTakenError:  # the slot is served already: nothing was missed
            return
        self._recorder.finished(record, result)
        self.composer.run_ended(self.jobs[skipped.job_id], [result])

    # ----------------------------------------------------------- start-up

    def _held_duties(self, history: Store) -> dict[str, tuple[str, datetime]]:
        """The responsibilities the history holds (none if it cannot be read)."""
        try:
            return history.responsibilities()
        except HistoryError as error:
            self._history_error(f"{error}: jobs never run have no missed runs found this time")
            return {}

    def _take_duties(self, history: Store, now: datetime) -> dict[str, datetime | None]:
        """Take responsibility for every enabled job from `now` on, unless it is
        held already for the same schedule (a job whose schedule changed is a
        new job); drop it for jobs gone or disabled. Returns, per job, since
        when it is held: None for a job the history held nothing for (a job
        from before responsibilities were kept: its runs alone count)."""
        taken: dict[str, tuple[str, datetime]] = {}
        since: dict[str, datetime | None] = {}
        for job_id, entry in self.jobs.items():
            if not entry.enabled:
                continue
            text, zone = _schedule_of(entry)
            schedule = f"{text} {zone}"
            held = self._duties.get(job_id)
            if held is not None and held[0] == schedule:
                since[job_id] = held[1]
                continue
            taken[job_id] = (schedule, now)
            since[job_id] = now if held is not None else None
        dropped = [job_id for job_id in self._duties if job_id not in since]
        self._duties.update(taken)
        for job_id in dropped:
            del self._duties[job_id]
        self._duty_changes = (list(taken), dropped)
        return since

    def _write_duties(self, history: Store) -> None:
        """Store the responsibilities taken or dropped since the last turn: after
        the first plan, not before it (writing 10,000 of them at a first start
        takes longer than planning). Should the daemon stop before, a later
        start takes those jobs on afresh."""
        taken_ids, dropped = self._duty_changes
        if not taken_ids and not dropped:
            return
        self._duty_changes = ([], [])
        taken = {job_id: self._duties[job_id] for job_id in taken_ids if job_id in self._duties}
        try:
            history.take_responsibility(taken, dropped)
        except HistoryError as error:
            self._history_error(f"{error}: a later start may not find these jobs' missed runs")

    def _recover(
        self,
        history: Store,
        interrupted: list[RunRecord],
        now: datetime,
        since: Mapping[str, datetime | None],
    ) -> None:
        """First fire times from the history: each job's missed slots since its
        last recorded slot, or since the daemon took responsibility for it if
        that is later (interrupted runs count as missed), go to the planner."""
        last = history.last_scheduled_per_job()
        for record in interrupted:
            self.log(
                "interrupted",
                "warning",
                job=record.job_id,
                run=record.id,
                scheduled=record.scheduled_for,
            )
        # A job outlives a daemon killed with -9 (it has a session of its own):
        # while it runs, its slot is being served, so it is not run again, and
        # its record stays `running` until it ends (see `_watch_orphans`).
        host = history.host
        self._orphans = [r for r in history.running() if gone_pycron(r, host)]
        for record in self._orphans:
            self.log(
                "orphan",
                "warning",
                job=record.job_id,
                run=record.id,
                scheduled=record.scheduled_for,
                message=f"pycron gone, its job (pid {record.pid}) still runs: not run again",
            )
        redo = {r.job_id: r.scheduled_for for r in interrupted}
        for job_id, entry in self.jobs.items():
            recorded, held = last.get(job_id), since.get(job_id)
            if held is not None and (recorded is None or held > recorded):
                recorded = held  # the later of its last run and its responsibility
            if job_id in redo and catch_up_policy(entry) is not CatchUp.NONE:
                recorded = redo[job_id] - timedelta(microseconds=1)
            schedule = entry.schedule
            if recorded is None and schedule.once:  # a one-shot never run
                recorded = datetime.min.replace(tzinfo=timezone.utc)  # (its `when` may be naive)
            if recorded is None or not schedule.on_the_clock:
                continue
            first = fire_after(entry, recorded, self.anchor, self.settings.zone)
            if first is not None and first <= now:
                self.state[job_id] = JobState(first, recorded)
            elif job_id in self.state:  # the clock is behind the history: repeat nothing
                self.state[job_id] = self.state[job_id]._replace(last_slot=recorded)
        self._earliest_cache = None

    def _resume_queued(self, history: Store, now: datetime) -> None:
        """Start the runs a previous daemon left queued, oldest first, before
        anything else, whatever their job's catch-up policy; a run whose job is
        gone, or whose job's next slot has come meanwhile, is recorded missed."""
        try:
            waiting = history.queued()
        except HistoryError as error:
            self._history_error(f"{error}: runs left queued wait for a later start")
            return
        for record in waiting:
            entry = self.jobs.get(record.job_id)
            reason = self._why_not_resume(entry, record, now)
            if reason is None and entry is not None:
                self.log("resume", job=record.job_id, run=record.id, scheduled=record.scheduled_for)
                self._submit(entry, record.scheduled_for, False, record.id)
                continue
            missed = record.result._replace(outcome=Outcome.MISSED, finished=now, message=reason)
            self.log("skip", "warning", job=record.job_id, run=record.id, message=reason)
            assert self._recorder is not None
            self._recorder.finished(record.id, missed)
            if entry is not None:
                self.composer.run_ended(entry, [missed])

    def _why_not_resume(self, entry: Entry | None, record: RunRecord, now: datetime) -> str | None:
        """Why a run left queued is not started now (None: it is)."""
        if entry is None:
            return "queued when the daemon stopped; its job is no longer in the crontab"
        if not entry.enabled:
            return "queued when the daemon stopped; its job is disabled now"
        upcoming = fire_after(entry, record.scheduled_for, self.anchor, self.settings.zone)
        if upcoming is not None and upcoming <= now:
            return (
                f"queued when the daemon stopped; its next run ({upcoming.isoformat()}) "
                "has come since"
            )
        return None

    def _watch_orphans(self, history: Store, now: datetime) -> None:
        """Mark the runs that outlived a dead pycron interrupted once their job is
        gone (their end was not seen, so nothing more is known of it)."""
        if not self._orphans:
            return
        ended = [r for r in self._orphans if not (r.pid and job_alive(r.pid, r.job_id))]
        if not ended:
            return
        ids = {r.id for r in ended}
        try:
            history.mark_interrupted(now=now, where=lambda record: record.id in ids)
        except HistoryError as error:
            self._history_error(f"{error}: ended orphan runs stay running for now")
            return
        self._orphans = [r for r in self._orphans if r.id not in ids]
        for record in ended:
            self.log("interrupted", "warning", job=record.job_id, run=record.id)


class Pace:
    """How the daemon's loop keeps time, read from other threads (a health
    check): when it last began a turn, and until when it sleeps. A loop that
    sleeps with a wake-up not yet due is not stalled, however long it sleeps;
    one that works, or sleeps past its wake-up, is stalled for as long."""

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        # (when the turn began, until when it sleeps: None while it works), set
        # as one value, so that another thread never reads half of a change.
        self._mark: tuple[float, float | None] = (monotonic(), None)

    def turning(self) -> None:
        """A turn begins."""
        self._mark = (self._monotonic(), None)

    def sleeping(self, seconds: float) -> None:
        """The turn is done; the loop sleeps up to `seconds`."""
        now = self._monotonic()
        self._mark = (now, now + seconds)

    def stalled_for(self) -> float:
        """Seconds the loop has been stuck: in a turn, since it began; asleep,
        since the wake-up was due (0.0 until then)."""
        began, wake_up = self._mark
        now = self._monotonic()
        return max(0.0, now - (began if wake_up is None else wake_up))


class Served(Protocol):
    """A server the daemon runs beside its loop while it runs (the status
    page of `--http`, made by `pycron.web`, which the daemon never imports)."""

    @property
    def url(self) -> str:
        """Where it serves."""

    def start(self) -> None:
        """Serve, from threads of its own; returns once it accepts connections."""

    def stop(self) -> None:
        """Stop serving; returns once it has stopped."""


class Daemon:
    """The daemon's lifecycle around its three parts (the job table, the
    scheduler and the supervisor): the state directory's lock and pid file,
    the history, the signals, and the loop that turns them into events.
    `run()` returns the exit code when it stops."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime],
        sleep: Callable[[float, threading.Event], None],
        log: EventLog,
        pool: Callable[[int], Pool],
        execute: Execute,
        senders: Mapping[Channel, Send],
        compose: Compose,
        compose_start: ComposeStart | None = None,
        review: Callable[[Crontab], Iterable[Finding]] | None = None,
        delay_scale: float | None = None,
        wake_up: Callable[[], None] | None = None,
        http: Callable[[Daemon], Served] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        notified: Callable[[], bool] | None = None,
        ready: Callable[[], None] | None = None,
    ) -> None:
        """`pool(n)` makes the worker pool of n workers and `execute` runs one
        launch in a worker (`serve()` gives a thread pool and the runner).
        `compose` says what messages a run that ended owes (`compose_start`:
        one that starts) and `senders` deliver them, per channel, from the
        outbox's thread (see `pycron.notify.outbox`). `review` says what to report of each version
        of the crontab loaded besides its errors. `delay_scale` in [0, 1) scales every
        RANDOM_DELAY; drawn at random (once, as cronie does at its start)
        unless given. `wake_up`, callable from any thread, ends the loop's
        sleep at once (`serve()` gives the self-pipe's): file events and run
        ends use it, so that an edit or a change is acted on without delay.
        `http` makes the server of the status page for this daemon (started
        before `ready`, stopped after the drain); `monotonic` is the clock
        of `stalled_for`. `notified` says whether the kernel ends the
        loop's sleep when the clock is set or the crontab is edited (`serve()`
        gives its `Wakeup`'s): then, with nothing else to look for, the loop
        sleeps until its next planned moment, else it looks every MAX_SLEEP.
        `ready` is called once the first plan is made and `ready` logged."""
        self.settings = settings
        self.clock = clock
        self.sleep = sleep
        self.log = log
        self.wake = threading.Event()  # set by signals: look again now
        self.stopping = threading.Event()  # running jobs must stop (second signal, grace over)
        self.draining = threading.Event()  # start no more jobs
        self.events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self.signals: collections.deque[int] = collections.deque()  # recorded by `notice`
        self.anchor = clock()
        self.delay_scale = random.random() if delay_scale is None else delay_scale
        self.scheduler: Scheduler | None = None  # this lifetime's, once `run()` made it
        self._pool = pool
        self._execute = execute
        self._senders = senders
        self._compose = compose
        self._compose_start = compose_start
        self._review = review
        self._recorder: TolerantRecorder | None = None
        self._wake_up = wake_up
        self._http = http
        self._member: Member | None = None  # this lifetime's membership of its cluster
        self.pace = Pace(monotonic)
        self._notified_by = notified
        self._ready = ready
        self._observer: Watcher | None = None  # the file events' observer, once it watches
        self._no_watchdog = False  # watchdog was needed and is not installed (said once)

    # ----------------------------------------------------------- lifecycle

    def run(self) -> int:
        """Run until SIGTERM/SIGINT (or `stop()`); returns the exit code."""
        settings = self.settings
        note = prepare_state_dir(settings.state_dir)
        lock = LockFile(settings.state_dir / "daemon.lock", mode=0o600)
        with file_errors(lock.path, "lock the state directory", "--state-dir"):
            if not lock.acquire(timeout=0):
                raise DaemonError(
                    f"another pycron daemon (pid {_read_pid(settings.state_dir)}) is running "
                    f"on {settings.state_dir}; stop it first or use another --state-dir"
                )
        pid_file = settings.state_dir / "daemon.pid"
        try:
            with file_errors(pid_file, "write the daemon's pid file", "--state-dir"):
                write_private(pid_file, f"{os.getpid()}\n".encode())
            member = self._member = self._join_cluster()
            history = self._open_history(member)
            recorder = self._recorder = TolerantRecorder(
                history,
                self._history_error,
                claim_slots=True,
                fence=_fence(member),
            )
            sender = self._sender(history)
            try:
                with self._pool(settings.max_parallel) as pool:
                    scheduler = self._parts(history, recorder, pool, supervise(), sender)
                    if member is not None:
                        member.start()
                    try:
                        self._loop(scheduler, note)
                    except BaseException:
                        # An error ends the daemon as SIGTERM does: nothing new
                        # starts (leaving the pool would start what waits in it),
                        # running jobs get the grace, queued runs stay queued.
                        self.stop()
                        scheduler.supervisor.drain(self._take_signals)
                        raise
            finally:
                sender.stop()  # what is pending stays in the outbox, for the next start
                unwritten = recorder.close()
                if member is not None:
                    member.stop()
            if unwritten:
                self._history_error(
                    f"{unwritten} run end(s) could not be written to {history.location}: "
                    "noted beside it, where they could be, for the next pycron that can write it"
                )
            self.log("stop", reason="signal")
            return 0
        finally:
            pid_file.unlink(missing_ok=True)
            lock.release()

    def _join_cluster(self) -> Member | None:
        """This daemon's membership of its cluster (`--cluster`), joined before
        any job starts, and the cluster's epoch as the anchor of `@every`
        slots; None for a daemon on its own. A cluster that cannot be reached
        ends the start with an error: no job runs unclaimed."""
        url = self.settings.cluster
        if url is None:
            return None
        from pycron.member import Member, open_cluster  # noqa: PLC0415 - cluster mode only

        cluster = open_cluster(url, self.settings.cluster_lease)
        try:
            member = Member(
                cluster,
                host=this_host(),
                pid=os.getpid(),
                version=__version__,
                clock=self.clock,
                log=self.log,
                running=self._running_slots,
                taken_over=lambda orphans: self._post_now(TakenOver(orphans)),
                rejoined=self._rejoined,
            )
            self.anchor = cluster.epoch(self.clock())
        except BaseException:
            cluster.close()
            raise
        return member

    def _open_history(self, member: Member | None) -> Store:
        """The history runs are recorded in: the cluster's own database where it
        shares one (PostgreSQL), else the state directory's; in a cluster,
        its claims are made under this member's membership."""
        settings = self.settings
        if member is not None and member.cluster.backend == "postgresql":
            from pycron.store.postgresql import PostgresStore  # noqa: PLC0415 - the extra

            assert settings.cluster is not None
            history: Store = PostgresStore.open(settings.cluster, notes=settings.state_dir)
        else:
            history = open_recording(settings.state_dir, self.clock(), self._history_error)
        if member is not None:
            history.set_membership(member.membership)
            history.set_claimer(self._claimer(member))
        return history

    def _claimer(self, member: Member) -> Claimer | None:
        """What claims runs for this member's own history (None: the history
        claims them itself): the cluster, for every run but those of the jobs
        that run on each host (`@reboot`, `@watch`), which need no claim."""
        claimer = member.claimer()
        if claimer is None:
            return None

        def claim(slots: Sequence[Slot]) -> list[bool]:
            shared = [slot for slot in slots if not self._per_host(slot.job_id)]
            granted = dict(zip(shared, claimer(shared) if shared else [], strict=True))
            return [granted.get(slot, True) for slot in slots]

        return claim

    def _per_host(self, job_id: str) -> bool:
        """Whether a job runs on each host of a cluster (`@reboot`, `@watch`)."""
        scheduler = self.scheduler
        entry = None if scheduler is None else scheduler.jobs.get(job_id)
        return entry is not None and (entry.schedule.at_boot or isinstance(entry.schedule, Watch))

    def _running_slots(self) -> list[Slot]:
        """The runs this daemon holds now (running or waiting for a worker)."""
        scheduler = self.scheduler
        return [] if scheduler is None else scheduler.supervisor.slots()

    def _rejoined(self, membership: Membership) -> None:
        """A new membership (the last one's lease ran out): claim under it."""
        if self._recorder is not None:
            self._recorder.history.set_membership(membership)

    def _sender(self, history: Store) -> Sender:
        """This lifetime's outbox sender (started once the crontab is loaded, as
        it finds targets there): what a previous daemon left pending (waiting
        for a retry, or taken by a sender that died) goes at once."""
        sender = Sender(
            history,
            self._senders,
            targets=self._targets,
            log=self.log,
            clock=self.clock,
            wait=_wait_for,
        )
        try:
            history.retry_now(self.clock())
        except HistoryError as error:
            self._history_error(f"{error}: pending messages wait for their next try")
        return sender

    def _targets(self, job_id: str) -> Iterable[str]:
        """The alert targets configured now for a job: its own, else the daemon's."""
        scheduler = self.scheduler
        entry = scheduler.jobs.get(job_id) if scheduler is not None else None
        own = entry.options.notify if entry is not None else ()
        return own or self.settings.notify

    def _parts(
        self,
        history: Store,
        recorder: TolerantRecorder,
        pool: Pool,
        supervision: Supervision,
        sender: Sender,
    ) -> Scheduler:
        """This lifetime's job table, supervisor and scheduler, wired together:
        the supervisor posts each run's end to the events the scheduler consumes."""
        settings = self.settings
        workplace = Workplace(
            settings.state_dir,
            settings.retention,
            settings.shutdown_grace,
            supervision,
            mails=Channel.MAIL in self._senders,
            zone=settings.zone,
        )
        composer = Composer(
            history,
            self._compose,
            sender,
            clock=self.clock,
            log=self.log,
            compose_start=self._compose_start,
        )
        supervisor = Supervisor(
            workplace,
            pool=pool,
            execute=self._execute,
            recorder=recorder,
            clock=self.clock,
            log=self.log,
            history_error=self._history_error,
            finished=self._post_now,
            stopping=self.stopping,
            draining=self.draining,
            started=composer.run_started,
        )
        self.scheduler = Scheduler(
            settings,
            table=JobTable(settings.crontab, self.log, self._review),
            supervisor=supervisor,
            history=history,
            recorder=recorder,
            events=self.events,
            clock=self.clock,
            log=self.log,
            history_error=self._history_error,
            anchor=self.anchor,
            delay_scale=self.delay_scale,
            composer=composer,
            elsewhere=None if self._member is None else self._member.running_elsewhere,
        )
        return self.scheduler

    def entries(self) -> dict[str, Entry]:
        """The jobs as the daemon holds them now, by id (the crontab's last
        good version of each). Callable from another thread while the daemon runs."""
        scheduler = self.scheduler
        assert scheduler is not None, "the daemon is not running"
        return dict(scheduler.jobs)

    def next_fires(self) -> dict[str, datetime | None]:
        """Each job's next fire time as the daemon planned it, by id (None: no
        time on the clock). Callable from another thread while the daemon runs."""
        scheduler = self.scheduler
        assert scheduler is not None, "the daemon is not running"
        return {job_id: job.next_fire for job_id, job in dict(scheduler.state).items()}

    def next_start(self) -> datetime | None:
        """When the daemon next starts a job by the clock, as planned at the end
        of its last turn (None: nothing planned); callable from any thread."""
        scheduler = self.scheduler
        return None if scheduler is None else scheduler.next_start

    def stalled_for(self) -> float:
        """Seconds the loop has been stuck (see `Pace`); callable from any thread."""
        return self.pace.stalled_for()

    def reload_counts(self) -> dict[str, int]:
        """Loads of the crontab since the start, by result (`success`, `error`);
        callable from any thread."""
        scheduler = self.scheduler
        if scheduler is None:
            return dict.fromkeys(LOAD_RESULTS, 0)
        return dict(scheduler.table.loads)

    def _history_error(self, message: str) -> None:
        """A failure of the history, logged loudly; the jobs go on."""
        self.log("history", "error", message=message)

    def stop(self, *, immediately: bool = False) -> None:
        """Drain (start nothing new, let running jobs finish within the grace);
        a second call, or `immediately`, stops running jobs at once."""
        if self.draining.is_set() or immediately:
            self.stopping.set()
        self.draining.set()
        self.wake.set()

    def _post_now(self, event: Event) -> None:
        """Post an event from another thread and end the loop's sleep for it."""
        self.events.put(event)
        if self._wake_up is not None:
            self._wake_up()

    def _watch_files(self, jobs: Mapping[str, Entry]) -> None:
        """Have the observer of file events watch what these jobs need: the
        crontab's directory where the kernel does not tell the loop's sleep
        of its edits (`notified`), and the paths of the `@watch` jobs. The
        observer (watchdog, loaded only then) starts once it has anything to
        watch; where watchdog is not installed, that is said once, the loop
        polls the crontab, and `@watch` jobs do not run."""
        if self._observer is not None:
            self._observer.watch(_watch_targets(jobs))
            return
        crontab = None if self._notified() else self.settings.crontab
        if self._no_watchdog or (crontab is None and not _has_watch_jobs(jobs)):
            return
        try:
            from pycron.watch import Watcher  # noqa: PLC0415  (loads watchdog)
        except ModuleNotFoundError as error:
            if not (error.name or "").startswith("watchdog"):
                raise
            self._no_watchdog = True
            polled = "" if crontab is None else f"the crontab is polled every {MAX_SLEEP:g}s, "
            self.log(
                "watch",
                "warning",
                message=f"watchdog is not installed: {polled}@watch jobs do not run "
                "(install pycron-cli[watch])",
            )
            return

        def changed(job_id: str, path: str, kind: str) -> None:
            self._post_now(Changed(job_id, path, kind, self.clock()))

        watcher = Watcher(crontab, wake=self._look_now, changed=changed, log=self.log)
        watcher.start()
        watcher.watch(_watch_targets(jobs))
        self._observer = watcher

    def _notified(self) -> bool:
        """Whether the loop's sleep is ended by the kernel when the clock is
        set or the crontab is edited (see `notified` in `__init__`)."""
        return self._notified_by is not None and self._notified_by()

    def longest_sleep(self, unwritten: int, looks: bool, heartbeat_in: float | None) -> float:
        """How long the loop may sleep when nothing is due: MAX_SLEEP while
        something is found only by looking (the crontab and the clock where
        the kernel does not tell of their changes, `unwritten` run ends the
        history could not take, what the scheduler `looks` for), else
        MAX_IDLE; never past the next heartbeat (due in `heartbeat_in`
        seconds, None: no heartbeat)."""
        longest = MAX_SLEEP if looks or unwritten or not self._notified() else MAX_IDLE
        return longest if heartbeat_in is None else max(0.0, min(longest, heartbeat_in))

    def _look_now(self) -> None:
        """End the loop's sleep (the crontab may have changed): it looks at
        the file at once, as it does every turn."""
        self.wake.set()
        if self._wake_up is not None:
            self._wake_up()

    def reload(self) -> None:
        """Re-read the crontab at the next turn of the loop (SIGHUP)."""
        self.events.put(Reload())
        self.wake.set()

    def notice(self, number: int, _frame: object = None) -> None:
        """The signal handler: it only records the signal, and the loop acts on it
        at its next turn. A handler that logged, or took any lock, could run
        while the main thread holds that very lock and wait on it forever."""
        self.signals.append(number)

    def _take_signals(self) -> None:
        """Act on the signals recorded since the last look: the first SIGTERM or
        SIGINT drains, the next stops running jobs; any number of SIGHUPs
        become one reload (a storm of them costs one reload per turn)."""
        reloads = 0
        while self.signals:
            number = self.signals.popleft()
            if number == signal.SIGHUP:
                reloads += 1
            elif not self.stopping.is_set():
                action = "stop now" if self.draining.is_set() else "drain"
                self.log("signal", name=signal.Signals(number).name, action=action)
                self.stop()
        if reloads and not self.draining.is_set():
            count = reloads if reloads > 1 else None
            self.log("signal", name=signal.SIGHUP.name, count=count, action="reload")
            self.reload()

    # ----------------------------------------------------------- the loop

    def _loop(self, scheduler: Scheduler, note: str | None) -> None:
        """Turn by turn until a stop: the signals become events, then the
        scheduler consumes what was posted (run ends, reloads, the tick), and
        the loop sleeps until the next fire time, a signal or an event of a
        file (or MAX_SLEEP, when it must look: see `longest_sleep`)."""
        started = self.clock()
        self.log(
            "start",
            crontab=self.settings.crontab,
            state=self.settings.state_dir,
            pid=os.getpid(),
            max_parallel=self.settings.max_parallel,
            containment=scheduler.supervisor.supervision.describe(),
        )
        if note is not None:
            self.log("state", "warning", message=note)
        due = scheduler.start(started)
        scheduler.composer.sender.start()
        # The paths are watched before `ready`: no change after it is missed.
        self._watch_files(scheduler.jobs)
        if self._observer is not None:
            from pycron.watch import modified_since  # noqa: PLC0415  (loaded with the watcher)

            scheduler.catch_up_changes(modified_since)
        self.pace.turning()
        server = self._start_http()
        try:
            try:
                self.log("ready", jobs=len(scheduler.jobs), due=due)
                if self._ready is not None:
                    self._ready()
                self._turns(scheduler, started)
            finally:
                if self._observer is not None:
                    self._observer.stop()
                    self._observer = None
            scheduler.supervisor.drain(self._take_signals)
        finally:
            if server is not None:
                server.stop()

    def _start_http(self) -> Served | None:
        """The status page's server, serving (`--http`), before `ready`, so
        that whoever waits for `ready` can connect. One that cannot start is
        logged, and the daemon runs its jobs without it."""
        if self._http is None:
            return None
        try:
            server = self._http(self)
            server.start()
        except Exception as error:  # the page is not worth the jobs
            self.log("http", "error", message=f"the status page is not served: {error}")
            return None
        self.log("http", url=server.url)
        return server

    def _turns(self, scheduler: Scheduler, started: datetime) -> None:
        """The loop's turns until a drain begins."""
        last_heartbeat = started
        watched = scheduler.jobs  # the jobs whose files are watched (set before `ready`)
        while True:
            self.pace.turning()
            self._take_signals()
            if self.draining.is_set():
                break
            now = self.clock()
            if scheduler.table.changed():
                self.events.put(Reload())
            self.events.put(Tick(now))
            scheduler.consume()
            assert self._recorder is not None
            unwritten = self._recorder.retry()  # the run ends the history could not take earlier
            if scheduler.jobs is not watched:
                watched = scheduler.jobs
                self._watch_files(watched)
            heartbeat = self.settings.heartbeat
            if heartbeat and (now - last_heartbeat).total_seconds() >= heartbeat:
                last_heartbeat = now
                running = sum(scheduler.running.values())
                self.log("heartbeat", jobs=len(scheduler.jobs), running=running)
            heartbeat_in = heartbeat - (now - last_heartbeat).total_seconds() if heartbeat else None
            longest = self.longest_sleep(unwritten, scheduler.looks(), heartbeat_in)
            pause = scheduler.sleep_time(now, longest)
            self.pace.sleeping(pause)
            self.sleep(pause, self.wake)
            self.wake.clear()


def _lock_of(entry: Entry) -> str:
    """What a job's runs hold while they run: its `lock=`, else its own id."""
    return entry.options.lock or entry.id


def _fence(member: Member | None) -> Callable[[RunResult], bool] | None:
    """What says whether an attempt that ended is still `member`'s own to
    record, where its history cannot tell (a history of its own beside a
    cluster that claims for it); None where it can (a shared history checks
    each write against the member's membership) or without a cluster."""
    if member is None or member.claimer() is None:
        return None
    return lambda result: member.finish(Slot(result.job_id, result.scheduled_for))


def pending_trigger(
    history: Store, entry: Entry, after: tuple[str, ...], since: datetime | None
) -> Trigger | None:
    """The run of `@after` job `entry` (which runs after the jobs `after`) that
    the upstream runs in the history make due, if any (`pycron.graph.due`):
    runs that ended after its last slot count, or after `since` (when a daemon
    took the job on), whichever is later. A run of the job that was
    interrupted (its pycron died while it ran) has not served its trigger:
    its slot, given up by the history, is due again. The daemon and `run-now
    --downstream` decide alike with it."""
    served = history.runs(entry.id, limit=1, outcome=SERVING_OUTCOMES)
    mark = _latest(served[0].scheduled_for if served else None, since)
    ended = history.ended_after(after, mark)
    facts = [RunFact(r.job_id, r.id, r.outcome, r.finished or r.started) for r in ended]
    return trigger_due(entry.id, after, entry.options.when, facts, mark)


# The outcomes of a run that has served (or is serving) its slot: all but an
# interrupted one, whose slot the history gives up for it to run again.
SERVING_OUTCOMES = frozenset(outcome for outcome in Outcome if outcome is not Outcome.INTERRUPTED)


def _soonest(*moments: datetime | None) -> datetime | None:
    """The soonest of the moments given (None if none is)."""
    return min((moment for moment in moments if moment is not None), default=None)


def _watch_targets(jobs: Mapping[str, Entry]) -> dict[str, str]:
    """The paths of the enabled `@watch` jobs, by job id, as the watcher takes them."""
    from pycron.watch import watched_path  # noqa: PLC0415  (only with a watcher)

    return {
        job_id: watched_path(entry.schedule.path)
        for job_id, entry in jobs.items()
        if _watches(entry) and isinstance(entry.schedule, Watch)
    }


def _has_watch_jobs(jobs: Mapping[str, Entry]) -> bool:
    """Whether any enabled job is a `@watch` job."""
    return any(_watches(entry) for entry in jobs.values())


def _watches(entry: Entry) -> bool:
    """Whether the job is an enabled `@watch` job, whose path is watched."""
    return entry.enabled and isinstance(entry.schedule, Watch)


def _kinds(burst: Burst) -> str:
    """A burst's kinds of event, as PYCRON_EVENTS and the log show them."""
    return ",".join(sorted(burst.kinds))


def _latest(*moments: datetime | None) -> datetime | None:
    """The latest of the moments given (None if none is)."""
    return max((moment for moment in moments if moment is not None), default=None)


def _same_schedule(old: Entry, new: Entry) -> bool:
    return _schedule_of(old) == _schedule_of(new)


def _schedule_of(entry: Entry) -> tuple[str, object]:
    """What makes a job's schedule the same one (for a cron expression: its
    text and its CRON_TZ zone). A job whose schedule changes is a new job for
    its next fire time and for the daemon's responsibility."""
    return entry.schedule.identity


def _wait_for(seconds: float, event: threading.Event) -> None:
    """The outbox sender's wait: up to `seconds`, less once `event` is set."""
    event.wait(seconds)


def _read_pid(state_dir: Path) -> str:
    try:
        return (state_dir / "daemon.pid").read_text().strip() or "unknown"
    except OSError:
        return "unknown"


def _boot_id() -> str:
    """An id of this machine boot (Linux), so @reboot jobs run once per boot."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"


# --------------------------------------------------------------------------- entry


class Wakeup:
    """What the loop sleeps on: a self-pipe, which a signal's arrival writes a
    byte to (the interpreter does, through `signal.set_wakeup_fd`), ending the
    sleep at once with no work in the handler itself; and, where the kernel
    has them (`pycron.wakeups`), a timer on the wall clock, which also ends
    the sleep when the clock is set, and the events of the crontab's
    directory, which end it when the crontab is edited."""

    def __init__(self, crontab: Path | None = None) -> None:
        """`crontab`: the file whose edits end a sleep (none: only the pipe
        and the timer do)."""
        self._read, self._write = os.pipe()
        for end in (self._read, self._write):
            os.set_blocking(end, False)
        self._timer = WallTimer.create()
        self._files = None
        if crontab is not None and self._timer is not None:
            self._files = FileWatch.create(crontab)

    def poke(self) -> None:
        """End a sleep at once (from any thread): a byte into the pipe."""
        with contextlib.suppress(BlockingIOError):  # full: a wake-up is pending anyway
            os.write(self._write, b"\0")

    @property
    def fileno(self) -> int:
        """The end to hand to `signal.set_wakeup_fd`."""
        return self._write

    def notified(self) -> bool:
        """Whether a sleep ends when the clock is set and when the crontab is
        edited, as the kernel tells of both now (see `Daemon.longest_sleep`)."""
        return self._files is not None and self._files.watching

    def sleep(self, seconds: float, wake: threading.Event) -> None:
        """Sleep up to `seconds`, less if a signal arrives, `wake` is already
        set, the clock is set or the crontab is edited. Events of other files
        in the crontab's directory do not end it."""
        if wake.is_set():
            return
        timer, files = self._timer, self._files
        waits: list[int | WallTimer | FileWatch] = [self._read]
        if timer is not None:
            timer.set(time.time() + seconds)  # on the wall clock, which plans the jobs
            waits.append(timer)
        if files is not None:
            if not files.watching:
                files.rearm()  # the crontab's directory may be back
            waits.append(files)
        timeout = None if timer is not None else seconds
        with contextlib.suppress(InterruptedError):
            while True:
                ready = select.select(waits, [], [], timeout)[0]
                if ready != [files] or (files is not None and files.changed()):
                    break
        with contextlib.suppress(BlockingIOError):
            while os.read(self._read, 4096):
                pass
        if timer is not None:
            timer.clear()

    def close(self) -> None:
        """Close the pipe's ends, the timer and the watch."""
        os.close(self._read)
        os.close(self._write)
        for kernel in (self._timer, self._files):
            if kernel is not None:
                kernel.close()


def _child_ended(_number: int, _frame: object = None) -> None:
    """SIGCHLD's handler, which does nothing: the signal's byte in the
    `Wakeup`'s pipe ends the loop's sleep, so that a turn reaps at once what
    the jobs left behind (pycron is their subreaper) and removes the cgroups
    they emptied."""


def _collect_from_now() -> None:
    """Turn the cyclic garbage collector back on, start-up's objects set aside.

    Start-up allocates hundreds of thousands of objects that live as long
    as the process (modules, the parsed jobs, their plans) and frees few:
    with the collector on, it would walk them again at every collection of
    an older generation, a fifth of the start-up's CPU with 2,000 jobs. So
    the daemon starts with it off, and once its first plan is made, what
    start-up made is frozen (never walked again, never freed: it is the
    daemon's own) and collection resumes for what comes after."""
    gc.freeze()
    gc.enable()


def serve(
    settings: Settings,
    log_format: LogFormat,
    log_level: str,
    stream: TextIO = sys.stderr,
    *,
    senders: Mapping[Channel, Send] | None = None,
    compose: Compose = compose_nothing,
    compose_start: ComposeStart | None = None,
    review: Callable[[Crontab], Iterable[Finding]] | None = None,
    http: Callable[[Daemon], Served] | None = None,
) -> int:
    """Run the daemon in the foreground with real time and signals; returns the
    exit code. `senders` (per channel), `compose` and `compose_start` are the outbox's: the
    command line builds them from the mail and alert parts (`notify.compose`);
    without them, no run owes anything. `review` is what the daemon reports of
    each crontab it loads besides its errors, `http` makes its status page's
    server (see `Daemon`).
    """

    def clock() -> datetime:
        return datetime.now(timezone.utc)

    gc.disable()  # until `_collect_from_now`
    log = EventLog(stream, clock, log_format, log_level)
    wakeup = Wakeup(settings.crontab)
    daemon = Daemon(
        settings,
        clock=clock,
        sleep=wakeup.sleep,
        log=log,
        pool=Workers,
        execute=run_launch,
        senders={} if senders is None else senders,
        compose=compose,
        compose_start=compose_start,
        review=review,
        wake_up=wakeup.poke,
        http=http,
        notified=wakeup.notified,
        ready=_collect_from_now,
    )
    previous = signal.set_wakeup_fd(wakeup.fileno, warn_on_full_buffer=False)
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, daemon.notice)
    previous_child = signal.signal(signal.SIGCHLD, _child_ended)
    signal.siginterrupt(signal.SIGCHLD, False)  # other threads' system calls go on
    try:
        return daemon.run()
    finally:
        signal.signal(signal.SIGCHLD, previous_child)
        signal.set_wakeup_fd(previous)
        wakeup.close()
        gc.enable()  # (a start that failed before `ready` left it off)
