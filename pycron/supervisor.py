"""The daemon's supervisor: the worker pool that runs what the scheduler decides.

The scheduler hands it a `Launch` (a job's slot, with the run's queued record);
a worker claims the record and runs the job through the runner; when the run
ends, a `Finished` goes back to the scheduler. On a stop, or when the loop
fails, the supervisor drains: nothing new starts, runs that have started get
the grace period, then they are stopped (recorded interrupted).

What a worker runs (`Execute`) and the pool (`Pool`) are given to the
daemon: `serve()` gives the runner and `Workers`, tests give what they need.
"""

from __future__ import annotations

import queue
import random
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple, Protocol

from pycron.errors import HistoryError, MembershipOverError, SlotTakenError
from pycron.graph import UNDER_WAY, RunFact, Standing, unmet
from pycron.records import Outcome, Recorder, RunResult
from pycron.runner import (
    Context,
    Retention,
    Supervision,
    backoff,
    owner_home,
    owner_name,
    reap_lingering,
    run,
)
from pycron.store.cluster import Slot

if TYPE_CHECKING:
    from datetime import tzinfo
    from pathlib import Path

    from pycron.crontab import Entry
    from pycron.store import RunRecord, Store, TolerantRecorder

DRAIN_POLL = 0.05  # seconds: how often a drain looks for signals while runs end
PAUSE_POLL = 0.25  # seconds: how often a run waiting for its required jobs looks for a drain


class Launch(NamedTuple):
    """A run for a worker: the job, its slot, the job's slot after it (None:
    none), and the run's queued record in the history (None: not recorded)."""

    entry: Entry
    slot: datetime
    next_slot: datetime | None
    record: int | None


class Finished(NamedTuple):
    """A run's end, as it goes back to the scheduler: the results of its
    attempts (none if it never started) or the error that ended the worker,
    and the record of its last attempt (None: not known)."""

    launch: Launch
    results: list[RunResult]
    error: BaseException | None = None
    record: int | None = None


class _Ran(NamedTuple):
    """What a worker's turn gives back: the results of the run's attempts and
    the record of its last one, if recorded."""

    results: list[RunResult]
    record: int | None = None


Execute = Callable[[Launch, Context], list[RunResult]]


def run_launch(launch: Launch, context: Context) -> list[RunResult]:
    """Run a launch with the runner, in the record the worker claimed."""
    return run(launch.entry, launch.slot, context, launch.next_slot, claimed=launch.record)


def log_slot_taken(log: Callable[..., None], job_id: str, slot: datetime) -> None:
    """Log a run not run because another run holds its slot (its claim in the history)."""
    log("skip", "warning", job=job_id, scheduled=slot, message="slot taken by another run")


class Pool(Protocol):
    """Where the supervisor's runs are worked on (`Workers`); leaving its
    context waits until every task handed over has been done."""

    def submit(self, task: Callable[[], None]) -> None:
        """Have `task` done (it raises nothing)."""

    def __enter__(self) -> Pool: ...

    def __exit__(self, *exc_info: object) -> None: ...


class Workers:
    """The daemon's worker threads, at most `size` (--max-parallel): each task
    handed over is done by one of them, in the order handed over. A thread
    starts when a task finds none idle, and waits for the next task once
    done; leaving the context lets them do every task handed over, then
    ends them. They are not daemon threads: should anything end the main
    thread early, the interpreter still waits for the runs they supervise.

    (The standard library's ThreadPoolExecutor does the same with futures
    the supervisor has no use for, and loads `logging` with it: 0.9 MiB and
    4 ms of every daemon's start.)
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._tasks: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)  # released by a worker that waits for a task
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, task: Callable[[], None]) -> None:
        """Queue `task`; start a worker for it unless one is idle or all are busy."""
        self._tasks.put(task)
        if self._idle.acquire(blocking=False):
            return
        with self._lock:
            if len(self._threads) < self._size:
                name = f"job_{len(self._threads)}"
                thread = threading.Thread(target=self._work, name=name)
                self._threads.append(thread)
                thread.start()

    def _work(self) -> None:
        """A worker: tasks until the one that says to end."""
        while (task := self._tasks.get()) is not None:
            task()
            self._idle.release()

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            threads = list(self._threads)
            for _ in threads:
                self._tasks.put(None)  # after every task handed over
        for thread in threads:
            thread.join()


class _Task:
    """A run handed to the pool: `started` once a worker has taken it."""

    __slots__ = ("launch", "started")

    def __init__(self, launch: Launch) -> None:
        self.launch = launch
        self.started = False


class _Recorder:
    """The daemon's (tolerant) recorder, logging each attempt as it goes.

    A job written with cron's `-` prefix ("do not log") is recorded in the
    history but logs only the runs that do not succeed.
    """

    def __init__(
        self,
        recorder: Recorder,
        log: Callable[..., None],
        quiet: bool = False,
        first_started: Callable[[RunResult, int], None] | None = None,
    ) -> None:
        """`first_started` hears of the run's first attempt starting (its
        process is running), with its record."""
        self._recorder = recorder
        self._log = log
        self._quiet = quiet
        self._first_started = first_started
        self.record: int | None = None  # the record of the last attempt started, if any

    def started(self, result: RunResult, record_id: int | None = None) -> int:
        record = self._recorder.started(result, record_id)
        self.record = record if record > 0 else None  # below 0: not recorded (yet)
        running = result.outcome is Outcome.RUNNING and result.pid is not None
        if running and result.attempt == 1 and self._first_started is not None:
            self._first_started(result, record)
        if running and not self._quiet:
            self._log(
                "start",
                job=result.job_id,
                run=record if record > 0 else None,  # below 0: not recorded (yet)
                attempt=result.attempt,
                scheduled=result.scheduled_for,
                pid=result.pid,
            )
        return record

    def finished(self, record_id: int, result: RunResult) -> None:
        self._recorder.finished(record_id, result)
        success = result.outcome is Outcome.SUCCESS
        if success and self._quiet:
            return
        level = "info" if success else "warning"
        self._log(
            "end",
            level,
            job=result.job_id,
            run=record_id if record_id > 0 else None,
            attempt=result.attempt,
            outcome=result.outcome.value,
            exit=result.exit_code,
            signal=result.signal,
            duration=f"{result.duration:.3f}s" if result.duration is not None else None,
            message=result.message,
        )


def _standing(history: Store, job_id: str) -> Standing:
    """What the history says of a required job: its latest attempt, and one
    queued or running."""
    under_way = history.runs(job_id, limit=1, outcome=UNDER_WAY)
    return Standing(
        job_id, _fact(history.latest(job_id)), _fact(under_way[0]) if under_way else None
    )


def _fact(record: RunRecord | None) -> RunFact | None:
    """A record as the decisions of `pycron.graph` take it."""
    if record is None:
        return None
    return RunFact(record.job_id, record.id, record.outcome, record.finished or record.started)


class Workplace(NamedTuple):
    """Where and how the daemon's runs are made: the state directory, log
    retention, the grace of a drain, how runs are contained, and whether the
    daemon can mail (then a job that mails its output writes stdout and
    stderr into one log, in the order written, as cron mails them), and the
    zone the reasons of blocked runs give times in (None: the system's)."""

    state_dir: Path
    retention: Retention
    grace: float
    supervision: Supervision
    mails: bool = False
    zone: tzinfo | None = None


class Supervisor:
    """The worker pool of one daemon lifetime, and the runs it holds."""

    def __init__(
        self,
        workplace: Workplace,
        *,
        pool: Pool,
        execute: Execute,
        recorder: TolerantRecorder,
        clock: Callable[[], datetime],
        log: Callable[..., None],
        history_error: Callable[[str], None],
        finished: Callable[[Finished], None],
        stopping: threading.Event,
        draining: threading.Event,
        started: Callable[[Entry, RunResult, int | None], None] | None = None,
    ) -> None:
        """`finished` receives each run's end, from the worker's thread, and
        `started` each run's first attempt starting (with its record);
        `history_error` says a failure of the history; `draining` means start
        nothing new, `stopping` stop what runs."""
        self._started = started
        self.workplace = workplace
        self.clock = clock
        self.log = log
        self.stopping = stopping
        self.draining = draining
        self._pool = pool
        self._execute = execute
        self._recorder = recorder
        self._history_error = history_error
        self._finished = finished
        self._running: set[_Task] = set()
        self._running_lock = threading.Lock()
        # The owner's name and home from the password entry, read once (as cron
        # reads them with the crontab), not at every run.
        self._user, self._home = owner_name(), owner_home()

    @property
    def supervision(self) -> Supervision:
        """How runs are contained (logged at the daemon's start)."""
        return self.workplace.supervision

    def submit(self, launch: Launch) -> None:
        """Hand a run to the pool; it starts when a worker is free, unless the
        daemon drains by then."""
        task = _Task(launch)
        with self._running_lock:
            self._running.add(task)
        self._pool.submit(lambda: self._work(task))

    def slots(self) -> list[Slot]:
        """The runs handed to the pool and not ended yet (running, or waiting
        for a worker); callable from any thread."""
        with self._running_lock:
            launches = [task.launch for task in self._running]
        return [Slot(launch.entry.id, launch.slot) for launch in launches]

    def reap(self) -> int:
        """Reap the processes orphaned to the daemon that have ended; returns
        how many cgroups of ended runs are still in use (see `reap_lingering`)."""
        return reap_lingering()

    def _run_job(self, launch: Launch) -> _Ran:
        """A worker's turn: wait for the jobs the run requires, claim the run's
        queued record and run it, or record it blocked. Once the daemon drains,
        queued runs are left queued for the next daemon."""
        if self.stopping.is_set() or self.draining.is_set():
            return _Ran([])
        entry, record = launch.entry, launch.record
        blocked: tuple[str, datetime] | None = None
        if entry.options.requires:
            blocked = self._await_requirements(launch)
            if self.stopping.is_set() or self.draining.is_set():
                return _Ran([])
        if record is not None and not self._claim(entry, record):
            return _Ran([])
        if blocked is not None:
            try:
                return _Ran([self._record_blocked(launch, *blocked)])
            except SlotTakenError:
                log_slot_taken(self.log, entry.id, launch.slot)
                return _Ran([])
        recorder = _Recorder(
            self._recorder, self.log, quiet=entry.no_log, first_started=self._first_started(entry)
        )
        context = Context(
            state_dir=self.workplace.state_dir,
            clock=self.clock,
            sleep=lambda seconds: not self.stopping.wait(seconds),
            recorder=recorder,
            retention=self.workplace.retention,
            stopping=self.stopping.is_set,
            user=self._user,
            home=self._home,
            poll_interval=0.1,
            supervision=self.workplace.supervision,
            combined_output=self.workplace.mails and _wants_mail(entry),
        )
        try:
            return _Ran(self._execute(launch, context), recorder.record)
        except SlotTakenError:  # refused before anything started
            log_slot_taken(self.log, entry.id, launch.slot)
            return _Ran([])
        except MembershipOverError:  # a cluster member that another member took over
            self.log(
                "fenced",
                "warning",
                job=entry.id,
                scheduled=launch.slot,
                message="this member's lease ran out and another member took its runs over: "
                "this run is not recorded here",
            )
            return _Ran([])

    def _await_requirements(self, launch: Launch) -> tuple[str, datetime] | None:
        """Why the run may not start, and since when it waited (None: it may
        start). The jobs of its `requires=` are looked up in the history, then
        again after each of the job's `retries` delays, backing off from
        `retry-delay` as a failed run's retries do, never past the job's next
        slot. The run's record stays queued meanwhile, so a stop leaves it to
        the next daemon."""
        entry = launch.entry
        options = entry.options
        since = self.clock()
        check = 1
        while (reason := self._unmet(options.requires)) is not None and check <= options.retries:
            delay = backoff(options.retry_delay.total_seconds(), check, random.random())
            again = self.clock() + timedelta(seconds=delay)
            if launch.next_slot is not None and again >= launch.next_slot:
                break
            self.log("wait", job=entry.id, scheduled=launch.slot, until=again, message=reason)
            if not self._pause(delay):
                break
            check += 1
        return None if reason is None else (reason, since)

    def _unmet(self, requires: Sequence[str]) -> str | None:
        """Why the required jobs do not let a run start now (`pycron.graph.unmet`),
        from their records in the history; one that cannot be read is a reason."""
        history = self._recorder.history
        try:
            standings = [_standing(history, job_id) for job_id in requires]
        except HistoryError as error:
            return f"the history cannot be read: {error}"
        return unmet(standings, self.clock(), self.workplace.zone)

    def _pause(self, seconds: float) -> bool:
        """Wait `seconds`; False if the daemon stops or drains meanwhile."""
        deadline = self.clock() + timedelta(seconds=seconds)
        while not (self.stopping.is_set() or self.draining.is_set()):
            left = (deadline - self.clock()).total_seconds()
            if left <= 0:
                return True
            self.stopping.wait(min(left, PAUSE_POLL))
        return False

    def _record_blocked(self, launch: Launch, reason: str, since: datetime) -> RunResult:
        """Record the run `blocked` (in its claimed record, if it has one), with
        the reason, from its first look at its required jobs to the last."""
        entry = launch.entry
        result = RunResult(
            entry.id, launch.slot, 1, Outcome.BLOCKED, since, self.clock(), message=reason
        )
        recorder = _Recorder(self._recorder, self.log, quiet=entry.no_log)
        record = launch.record if launch.record is not None else recorder.started(result)
        recorder.finished(record, result)
        return result

    def _first_started(self, entry: Entry) -> Callable[[RunResult, int], None] | None:
        """What hears of this job's run starting: `started`, with the record
        (None where the history could not take it: a placeholder below 0)."""
        started = self._started
        if started is None:
            return None
        return lambda result, record: started(entry, result, record if record > 0 else None)

    def _claim(self, entry: Entry, record: int) -> bool:
        """Take a queued record for this worker; False if another took it. If the
        history cannot be written, the run goes ahead (a job must run) and its
        record is completed when the history takes writes again."""
        assert self._recorder is not None
        try:
            if self._recorder.history.claim(record, self.clock()):
                return True
        except HistoryError as error:
            self._history_error(f"{error}: job {entry.id} runs unclaimed")
            return True
        self.log("skip", "warning", job=entry.id, run=record, message="already taken")
        return False

    def _work(self, task: _Task) -> None:
        """A worker's turn at a run, to its end, which goes back to the
        scheduler; whatever it raises is that end's error, and the worker
        goes on."""
        task.started = True
        launch = task.launch
        try:
            ran = self._run_job(launch)
        except BaseException as error:  # reported with the run's end, never lost
            ended = Finished(launch, [], error)
            self.log("error", "error", job=launch.entry.id, message=repr(error))
        else:
            ended = Finished(launch, ran.results, record=ran.record)
        with self._running_lock:
            self._running.discard(task)
        self._finished(ended)

    def drain(self, listen: Callable[[], None]) -> None:
        """Wait for running jobs up to the grace, then stop them (recorded
        interrupted). `listen` is called while it waits, so signals count."""
        with self._running_lock:
            tasks = list(self._running)
        if tasks:
            started = sum(1 for task in tasks if task.started)
            self.log(
                "drain",
                running=started,
                queued=len(tasks) - started or None,  # they stay queued for the next start
                grace=f"{self.workplace.grace}s",
            )
        deadline = self.clock() + timedelta(seconds=self.workplace.grace)
        while not self.stopping.is_set() and self.clock() < deadline:
            with self._running_lock:
                if not self._running:
                    return
            self.stopping.wait(DRAIN_POLL)
            listen()
        self.stopping.set()


def _wants_mail(entry: Entry) -> bool:
    """Whether runs of the job may be mailed (`notify.mail.wants_mail`), that
    module loaded only by a daemon that has a way to send mail."""
    from pycron.notify.mail import wants_mail  # noqa: PLC0415 - only where mail can leave

    return wants_mail(entry)
