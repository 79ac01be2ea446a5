"""Benchmark of the pycron daemon: start-up, reload, idle cost, fire latency, bursts.

Runs real `pycron daemon` processes (JSON logs on stderr) on generated crontabs
in a temporary directory and prints each figure with its goal:

- start-up of a 10,000-job crontab, process start to the `load` log line, and
  reload after SIGHUP to the `reload` line (goal: under 1 s each);
- CPU used by that daemon over 60 s while none of its jobs is due (under 0.1 s);
- fire latency, from the scheduled instant to the job's first instruction, of an
  `@every 1s` job and of `* * * * *` jobs on minute boundaries (p99 under 20 ms);
- 500 `@every 5s` jobs firing at the same instant with --max-parallel 500: time
  until all have started (under 2 s);
- an `@every 1s` job and its `@after` job: from the upstream run's end to the
  downstream run's start (p99 under 50 ms), and from a file written to the
  start of the `@watch` job on its directory (p99 under its debounce + 50 ms);
- a cluster of three daemons (`--cluster`) on PostgreSQL, then on Redis: fire
  latency of an `@every 1s` job across the members (p99 under 50 ms), each
  slot run exactly once, and a burst of 500 jobs (when their claims were
  recorded, when the last started, which member ran them), beside one
  daemon's figures of the fire and burst parts;
- the footprint beside Debian's cron (run from its package in a private mount
  namespace, where that can be done: `debian_cron.py`): peak memory, idle CPU
  per 60 s and start-up CPU of a daemon with 2,000 jobs not due, and the CPU
  of the daemon to start 100 jobs due at one minute (goals: 20 MiB, 1 ms,
  60 ms, 100 ms).

Run with `.venv/bin/python bench/daemon.py` (about 10 minutes; `--quick`
about four) or as part of `bench/run.py`. See bench/README.md, section
"Daemon"; the figures are merged into bench/results.json under the key
"daemon".
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import gc
import io
import json
import math
import os
import platform
import secrets
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import debian_cron
from crontabs import far_month, idle_crontab
from process import clean_env, ensure_release_env
from terminal import progress

from pycron.crontab import Every, parse
from pycron.daemon import MAX_IDLE, Daemon, EventLog, Settings, Wakeup, local_zone, plan
from pycron.member import open_cluster
from pycron.notify.outbox import Sender, compose_nothing
from pycron.runner import Supervision
from pycron.store import RunRecord, TolerantRecorder, time_text
from pycron.store.cluster import DEFAULT_LEASE, redacted
from pycron.store.sqlite import SQLiteStore
from pycron.supervisor import Workers, run_launch

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RELEASE_ENV = BENCH / ".venv-release"
# The interpreter that runs the daemons: the release environment's (a regular
# install, as users have it), else this one (an editable install, whose import
# hook adds about 10 ms to every start). Set by `run_benchmark`.
DAEMON_PYTHON = [sys.executable]
RESULTS = BENCH / "results.json"
PARTS = ("inprocess", "startup", "fire", "burst", "pipeline", "web", "cluster", "footprint")

GOAL_STARTUP_S = 1.0  # process start to `load`, 10,000 jobs
GOAL_FIRST_PLAN_S = 0.25  # the same, the goal of the load-speed work
GOAL_RELOAD_S = 1.0  # SIGHUP to `reload`, 10,000 jobs
GOAL_EDIT_RELOAD_MS = 100.0  # a written crontab to its `reload` line (a file event)
GOAL_EDIT_FIRST_START_S = 1.1  # a written crontab to the first start of its new `@every 1s` job
GOAL_IDLE_CPU_S = 0.1  # CPU seconds per 60 s, 10,000 jobs not due
GOAL_FIRE_P99_MS = 20.0  # scheduled instant to the job's first instruction
GOAL_BURST_S = 2.0  # 500 jobs due at once: the last one has started
GOAL_TRIGGER_P99_MS = 50.0  # an upstream run's end to its @after run's first instruction
GOAL_WATCH_OVER_DEBOUNCE_P99_MS = 50.0  # a file written to the @watch run's first instruction
WATCH_DEBOUNCE_S = 1.0  # the @watch job's debounce= (the default)
# The page being open must not disturb the schedule: with it polled, fire latency p99
# within this much of the same daemon's without; serving nobody, idle CPU per 60 s
# within this much of a daemon's without --http.
GOAL_WEB_FIRE_OVER_MS = 5.0
GOAL_WEB_IDLE_OVER_S = 0.005
GOAL_CLUSTER_FIRE_P99_MS = 50.0  # a cluster's `@every 1s` job: slot to first instruction
WEB_JOBS = 200  # jobs not due beside the `@every 1s` one: a page with something to show
WEB_POLL_S = 2.0  # how often the page refreshes (and Prometheus scrapes, in the benchmark)
# What an open overview fetches on each refresh, and a Prometheus scrape.
WEB_PATHS = ("/?part=jobs", "/api/jobs", "/metrics")
# The footprint part: pycron beside Debian's cron, each cost at most this.
GOAL_FOOTPRINT_PEAK_MIB = 20.0  # peak RSS (VmHWM), FOOTPRINT_JOBS jobs not due
GOAL_FOOTPRINT_IDLE_MS = 1.0  # daemon CPU per 60 s, the same daemon idle
GOAL_FOOTPRINT_STARTUP_MS = 60.0  # CPU from exec to the end of start-up
GOAL_FOOTPRINT_BURST_MS = 100.0  # daemon CPU to start FOOTPRINT_BURST jobs due at once
FOOTPRINT_JOBS = 2_000
FOOTPRINT_BURST = 100  # jobs due at the same minute, --max-parallel as many
BURST_LEAD_S = 5.0  # at least this long from writing the burst's crontab to its minute
BEFORE_SLOT_S = 0.5  # the burst's CPU counts from this long before its minute
QUIET_S = 0.1  # CPU unchanged this long, the main thread sleeping: the daemon sleeps
QUIET_POLL_S = 0.005  # how often that is asked, and the burst's stamps counted
CLUSTER_MEMBERS = 3  # daemons in each cluster
CLUSTER_BACKENDS = ("postgresql", "redis")
CLUSTER_EVERY_S = 1  # the fire latency job of a cluster: `@every 1s`
CLUSTER_READY_MARGIN_S = 1.0  # after the last member is ready, before the fire window opens
CLAIM_POLL_S = 0.005  # how often the backend is asked whether a burst's claims are recorded
CLAIM_LEAD_S = 0.2  # how long before a burst's slot the asking starts
STAMPS_TIMEOUT_S = 30.0  # longest wait after a cluster's last burst for its stamps
# The servers the clusters are made on (a database, or a key prefix, for each cluster).
CLUSTER_POSTGRESQL = "postgresql://postgres@127.0.0.1:5432/postgres"
CLUSTER_REDIS = "redis://127.0.0.1:6379/0"

SETTLE_S = 3.0  # after `load`, before the idle window opens
BURST_INTERVAL_S = 5  # the burst jobs are `@every 5s`: they share the daemon's anchor
SHUTDOWN_GRACE_S = 5  # --shutdown-grace of every daemon started here
EVENT_TIMEOUT_S = 60.0  # longest wait for an expected log line
RELOAD_CASES = (
    ("unchanged", "file unchanged"),
    ("one_edit", "one job edited"),
    ("all_changed", "every schedule changed"),
)
NEAR_BOUNDARY_S = 0.1  # @every slots this close to a minute boundary are not counted
START_LINE_ESTIMATE_S = 0.35  # process start to the daemon's anchor, until measured

Result = dict[str, Any]


class BenchError(Exception):
    """A part of the benchmark cannot go on (the daemon died, a log line never came)."""


# --------------------------------------------------------------------------- the daemon process


@dataclass(frozen=True)
class Event:
    """One log line of the daemon and when the benchmark read it."""

    at: float  # time.perf_counter()
    wall: float  # time.time()
    fields: dict[str, Any]

    @property
    def name(self) -> str:
        """The event's name (`start`, `load`, ...; `text` for a line that is not JSON)."""
        return str(self.fields.get("event", ""))


def named(name: str) -> Callable[[Event], bool]:
    """A predicate: the event is called `name`."""
    return lambda event: event.name == name


def daemon_started(event: Event) -> bool:
    """The daemon's own `start` line (job starts carry a job id instead)."""
    return event.name == "start" and "crontab" in event.fields


class DaemonProcess:
    """A `pycron daemon` child process with JSON logs, read line by line by a thread.

    A context manager: leaving it stops the daemon (SIGTERM, SIGKILL if it does
    not exit) and kills every job process group of this benchmark still there,
    whatever happened in between.
    """

    def __init__(
        self,
        crontab: Path,
        state_dir: Path,
        marker: str,
        max_parallel: int = 10,
        extra: Sequence[str] = (),
    ) -> None:
        self.command = [
            str(Path(DAEMON_PYTHON[0]).with_name("pycron")),  # the command as installed
            "--crontab",
            str(crontab),
            "--state-dir",
            str(state_dir),
            "daemon",
            "--log-format",
            "json",
            "--max-parallel",
            str(max_parallel),
            "--shutdown-grace",
            str(SHUTDOWN_GRACE_S),
            *extra,
        ]
        self.state_dir = state_dir
        self.marker = marker  # a text in every job command of the benchmark
        self.events: list[Event] = []
        self.launched = 0.0  # time.perf_counter() just before the process was created
        self._changed = threading.Condition()
        self._closed = False
        self._terminated = False
        self._process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None

    def __enter__(self) -> DaemonProcess:
        self.launched = time.perf_counter()
        self._process = subprocess.Popen(
            self.command,
            env=clean_env(),  # as installed: bytecode caches used and written, no PYTHONPATH
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=self.state_dir.parent,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, name="daemon-log", daemon=True)
        self._reader.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        """The daemon's process id."""
        assert self._process is not None
        return self._process.pid

    def _read(self) -> None:
        """Collect the log lines until the daemon closes its stderr."""
        assert self._process is not None
        assert self._process.stderr is not None
        for raw in self._process.stderr:
            at, wall = time.perf_counter(), time.time()
            text = raw.decode("utf-8", "replace").rstrip("\n")
            try:
                fields = json.loads(text)
            except ValueError:
                fields = None
            if not isinstance(fields, dict):
                fields = {"event": "text", "line": text}
            with self._changed:
                self.events.append(Event(at, wall, fields))
                self._changed.notify_all()
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def wait_for(
        self,
        wanted: Callable[[Event], bool],
        what: str,
        after: int = 0,
        timeout: float = EVENT_TIMEOUT_S,
    ) -> Event:
        """The first event from index `after` on that is `wanted`, waiting up to
        `timeout` seconds for it; BenchError if it does not come."""
        deadline = time.monotonic() + timeout
        index = after
        with self._changed:
            while True:
                for event in self.events[index:]:
                    if wanted(event):
                        return event
                index = len(self.events)
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    break
                self._changed.wait(left)
        why = "the daemon exited" if self._closed else f"none within {timeout:g} s"
        raise BenchError(f"no {what} log line: {why}{self.tail()}")

    def tail(self, count: int = 5) -> str:
        """The last log lines, for error messages."""
        with self._changed:
            last = self.events[-count:]
        lines = [json.dumps(event.fields)[:300] for event in last]
        return "".join(f"\n    {line}" for line in lines)

    def check_alive(self) -> None:
        """BenchError if the daemon has exited."""
        assert self._process is not None
        code = self._process.poll()
        if code is not None:
            raise BenchError(f"the daemon exited with status {code}{self.tail()}")

    def send(self, number: int) -> None:
        """Send the daemon a signal."""
        self.check_alive()
        os.kill(self.pid, number)

    def terminate(self) -> None:
        """Tell the daemon to stop (SIGTERM: it drains its jobs), once: a second
        SIGTERM would stop its running jobs. `stop` then waits for it."""
        process = self._process
        if process is None or self._terminated:
            return
        self._terminated = True
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        """SIGTERM (the daemon drains its jobs), SIGKILL for it and its jobs if it
        does not exit in time; then kill what is left of the benchmark's jobs."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            self.terminate()
        end_process(process, self.marker, SHUTDOWN_GRACE_S + 10)
        if self._reader is not None:
            self._reader.join(5)
        if process.stderr is not None:
            process.stderr.close()


# --------------------------------------------------------------------------- /proc


def proc_stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name: [0] is the state,
    [1] the parent, [2] the process group, [11] utime, [12] stime (None if gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def command_line(pid: int | str) -> str:
    """The process's command line, arguments joined by spaces ("" if gone)."""
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def job_groups(daemon_pid: int, marker: str) -> set[int]:
    """Process groups of the benchmark's jobs: groups led by a child of the
    daemon, and any group leader whose command line holds `marker` (the
    benchmark's work directory, named in every job command), the daemon aside."""
    groups = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in (daemon_pid, os.getpid()):
            continue
        stat = proc_stat(entry.name)
        if stat is None or stat[2] != entry.name:
            continue
        if stat[1] == str(daemon_pid) or marker in command_line(entry.name):
            groups.add(int(entry.name))
    return groups


def kill_groups(groups: set[int]) -> None:
    """SIGKILL these process groups (those already gone are fine)."""
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)


def end_process(process: subprocess.Popen[bytes], marker: str, grace: float) -> None:
    """Wait up to `grace` seconds for a daemon told to stop, then SIGKILL it, its
    process group and its jobs' groups; then kill what is left of its jobs."""
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        kill_groups(job_groups(process.pid, marker))
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    kill_groups(job_groups(process.pid, marker))


def cpu_ticks_s(pid: int) -> float:
    """CPU seconds of the whole process (utime + stime, in clock ticks)."""
    stat = proc_stat(pid)
    if stat is None:
        raise BenchError(f"process {pid} is gone")
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def cpu_schedstat_s(pid: int) -> tuple[float, frozenset[int]] | None:
    """CPU seconds summed over the process's threads (/proc/PID/task/*/schedstat,
    nanoseconds) and the thread ids; None where the kernel does not tell."""
    total, threads = 0, set()
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            total += int((task / "schedstat").read_text().split()[0])
            threads.add(int(task.name))
    except (OSError, ValueError, IndexError):
        return None
    return total / 1e9, frozenset(threads)


def daemon_cpu_s(pid: int) -> float:
    """The process's CPU seconds so far, as precise as the kernel tells: its CPU
    clock (nanoseconds, every thread's, ended ones included, none of its
    children's), else the schedstat of its live threads, else utime + stime."""
    with contextlib.suppress(OSError):
        # The id clock_getcpuclockid(3) gives: ~pid << 3 | CPUCLOCK_SCHED (2).
        return time.clock_gettime(((~pid) << 3) | 2)
    precise = cpu_schedstat_s(pid)
    return precise[0] if precise is not None else cpu_ticks_s(pid)


def wake_ups(pid: int) -> int:
    """Voluntary context switches summed over the process's threads: how often
    they went to sleep (and so woke up again)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            for line in (task / "status").read_text().splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    total += int(line.split()[1])
    return total


def memory_mb(pid: int) -> dict[str, float]:
    """Resident memory now (VmRSS) and at its peak (VmHWM), in MB."""
    found = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found["rss" if key == "VmRSS" else "peak"] = int(value.split()[0]) / 1024
    return found


# --------------------------------------------------------------------------- crontabs and stamps


def stamp_command(path: Path) -> str:
    """A job command whose first instruction appends the wall clock (ns) and the
    job's shell's pid to `path`; `%` escaped as a crontab needs."""
    return f'date "+\\%s.\\%N $$" >> {shlex.quote(str(path))}'


def write_atomically(path: Path, text: str) -> None:
    """Replace the file as editors and `pycron edit` do (a new inode)."""
    temporary = path.with_name(path.name + ".new")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def read_stamps(path: Path) -> dict[int, list[float]]:
    """The stamps the jobs wrote, by pid, in time order."""
    stamps: dict[int, list[float]] = {}
    with contextlib.suppress(FileNotFoundError):
        for line in path.read_text().splitlines():
            moment, _, pid = line.partition(" ")
            with contextlib.suppress(ValueError):
                stamps.setdefault(int(pid), []).append(float(moment))
    for values in stamps.values():
        values.sort()
    return stamps


def count_lines(path: Path) -> int:
    """Lines in a file so far (0 if it does not exist yet)."""
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


@dataclass(frozen=True)
class Sample:
    """One run: its slot, when the daemon's runner started the process (both from
    the history) and when the job's first instruction ran (its stamp), epoch s;
    and the daemon that recorded it (its pid), which in a cluster tells the
    member that ran it."""

    job_id: str
    scheduled: float
    started: float
    first: float
    recorder: int

    @property
    def latency_ms(self) -> float:
        """Scheduled instant to the job's first instruction."""
        return (self.first - self.scheduled) * 1000

    @property
    def dispatch_ms(self) -> float:
        """Scheduled instant to the runner starting the process (daemon side)."""
        return (self.started - self.scheduled) * 1000

    @property
    def spawn_ms(self) -> float:
        """The runner starting the process to the job's first instruction."""
        return (self.first - self.started) * 1000


def history_records(state_dir: Path) -> list[RunRecord]:
    """Every run recorded in the history of a state directory."""
    with SQLiteStore.open(state_dir) as history:
        return history.runs()


def collect_samples(state_dir: Path, stamps: dict[int, list[float]]) -> list[Sample]:
    """Runs of the state directory's history matched to the stamps (`match_stamps`)."""
    return match_stamps(history_records(state_dir), stamps)


def match_stamps(records: Sequence[RunRecord], stamps: dict[int, list[float]]) -> list[Sample]:
    """Runs matched to the stamps by the job's pid (in start order per pid,
    should a pid come back)."""
    by_pid: dict[int, list[RunRecord]] = {}
    for record in records:
        if record.pid is not None:
            by_pid.setdefault(record.pid, []).append(record)
    samples = []
    for pid, runs in by_pid.items():
        runs.sort(key=lambda record: record.started)
        # A run whose job never wrote its stamp (it failed) is left out.
        for record, first in zip(runs, stamps.get(pid, []), strict=False):
            samples.append(
                Sample(
                    record.job_id,
                    record.scheduled_for.timestamp(),
                    record.started.timestamp(),
                    first,
                    record.recorder_pid,
                )
            )
    return samples


# --------------------------------------------------------------------------- figures


def percentile(values: Sequence[float], percent: float) -> float:
    """The nearest-rank percentile: the smallest value with at least `percent`%
    of the values at or below it."""
    ordered = sorted(values)
    rank = max(math.ceil(percent / 100 * len(ordered)), 1)
    return ordered[rank - 1]


def distribution(values: Sequence[float]) -> Result:
    """n, min, p50, p90, p99 and max of some figures (rounded to 3 decimals)."""
    if not values:
        return {"n": 0}
    found = {"n": len(values), "min": min(values)}
    found |= {f"p{p}": percentile(values, p) for p in (50, 90, 99)}
    found["max"] = max(values)
    return {key: round(value, 3) for key, value in found.items()}


class GcClock:
    """CPU time the garbage collector takes while this is entered (gc.callbacks)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._began = 0.0

    def __enter__(self) -> GcClock:
        gc.callbacks.append(self._hear)
        return self

    def __exit__(self, *exc_info: object) -> None:
        gc.callbacks.remove(self._hear)

    def _hear(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.process_time()
        else:
            self.seconds += time.process_time() - self._began


def cpu_ms(function: Callable[..., object], *args: object, **kwargs: object) -> tuple[float, float]:
    """CPU time of one call and the part of it the garbage collector took, in ms
    (CPU time: other processes of a busy machine do not count)."""
    with GcClock() as collector:
        began = time.process_time()
        function(*args, **kwargs)
        spent = time.process_time() - began
    return spent * 1000, collector.seconds * 1000


def median_of(values: Sequence[float]) -> float | None:
    """The median, None without values."""
    return round(statistics.median(values), 3) if values else None


class Alive(Protocol):
    """A daemon, or the members of a cluster: BenchError if one has exited."""

    def check_alive(self) -> None: ...


class Watched(Alive, Protocol):
    """A daemon process measured from outside, pycron or another cron."""

    @property
    def pid(self) -> int: ...


def wait_until(wall: float, daemons: Alive, label: str) -> None:
    """Sleep until the wall clock reaches `wall`, checking that the daemon (or
    every member of a cluster) lives."""
    while (left := wall - time.time()) > 0:
        daemons.check_alive()
        progress(f"{label}: {left:.0f} s left")
        time.sleep(min(left, 0.5))
    progress("")


def wait_for_lines(
    path: Path, count: int, deadline: float, daemons: Alive, label: str, poll: float = 0.1
) -> None:
    """Wait until the jobs have written `count` stamps to `path`, or until the
    wall clock's `deadline`, checking that the daemon (or every member) lives
    every `poll` seconds."""
    while (done := count_lines(path)) < count and time.time() < deadline:
        daemons.check_alive()
        progress(f"{label}: {done}/{count} jobs started")
        time.sleep(poll)
    progress("")


# --------------------------------------------------------------------------- in process


def _never(seconds: float, event: threading.Event) -> None:
    """The outbox sender's wait, for a sender that never runs here."""


def measure_in_process(work: Path, jobs: int, runs: int) -> Result:
    """The daemon's own code for a big crontab, called in this process: parse,
    load (parse and first fire times), one idle turn of the loop as `Daemon._loop`
    and its scheduler do it (the crontab's stat, `plan()`, the sleep time), reloads."""
    crontab = work / "inprocess.crontab"
    texts = [idle_crontab(jobs, far_month(shift)) for shift in (0, 1)]
    figures: dict[str, list[float]] = {}

    def note(key: str, function: Callable[..., object], *args: object, **kwargs: object) -> None:
        spent, collecting = cpu_ms(function, *args, **kwargs)
        figures.setdefault(f"{key}_ms", []).append(spent)
        figures.setdefault(f"{key}_gc_ms", []).append(collecting)

    for number in range(runs):
        progress(f"in process: run {number + 1}/{runs}")
        write_atomically(crontab, texts[0])
        settings = Settings(crontab, work / "inprocess-state", zone=local_zone())
        log = EventLog(io.StringIO(), utc_now)
        wakeup = Wakeup()
        daemon = Daemon(
            settings,
            clock=utc_now,
            sleep=wakeup.sleep,
            log=log,
            pool=Workers,
            execute=run_launch,
            senders={},
            compose=compose_nothing,
        )
        history = SQLiteStore.open(settings.state_dir)
        with Workers(1) as pool:  # (no job is started, no message sent)
            recorder = TolerantRecorder(history, print, claim_slots=True)
            sender = Sender(
                history, {}, targets=lambda job_id: (), log=log, clock=utc_now, wait=_never
            )
            scheduler = daemon._parts(history, recorder, pool, Supervision(), sender)
            note("parse", parse, texts[0], str(crontab))
            note("load", scheduler._load, initial=True)
            for _ in range(10):
                now = daemon.clock()
                note("turn_stat", scheduler.table.changed)
                zone = settings.zone
                note("turn_plan", plan, scheduler.state, scheduler.jobs, now, daemon.anchor, zone)
                note("turn_sleep_time", scheduler.sleep_time, now, MAX_IDLE)
            note("reload_unchanged", scheduler._load, initial=False)
            write_atomically(crontab, idle_crontab(jobs, far_month(0), edit=number + 1))
            note("reload_one_edit", scheduler._load, initial=False)
            write_atomically(crontab, texts[1])
            note("reload_all_changed", scheduler._load, initial=False)
        history.close()
        wakeup.close()
    progress("")
    result: Result = {"jobs": jobs, "runs": runs, "unit": "CPU ms"}
    result |= {key: median_of(values) for key, values in figures.items()}
    turn = ("turn_stat_ms", "turn_plan_ms", "turn_sleep_time_ms")
    result["turn_ms"] = round(sum(result[key] for key in turn), 3)
    return result


def utc_now() -> datetime:
    """The daemon's clock."""
    return datetime.now(timezone.utc)


def in_process_block(result: Result) -> str:
    """The in-process figures."""

    def row(label: str, key: str) -> str:
        return (
            f"   {label:<42} {result[f'{key}_ms']:8.1f} ms"
            f"  (garbage collector {result[f'{key}_gc_ms']:.1f} ms)"
        )

    rows = [
        row("parse the crontab", "parse"),
        row("load: parse + first fire time of each job", "load"),
        *(row(f"reload, {label}", f"reload_{key}") for key, label in RELOAD_CASES),
        f"   {'one idle turn of the loop':<42} {result['turn_ms']:8.2f} ms"
        f"  (plan() {result['turn_plan_ms']:.2f}, sleep time"
        f" {result['turn_sleep_time_ms']:.2f}, stat {result['turn_stat_ms']:.3f})",
    ]
    title = (
        f"== the daemon's code in this process, CPU time ({result['jobs']:,} jobs,"
        f" medians of {result['runs']} runs)"
    )
    return "\n".join([title, *rows])


# --------------------------------------------------------------------------- start-up, idle, reload


def startup_figures(daemon: DaemonProcess, jobs: int) -> Result:
    """Process start to the daemon's `start` line, its `load` line and its `ready`
    line (the end of start-up: every job has its first fire time, missed runs
    are decided, and the loop plans next)."""
    start = daemon.wait_for(daemon_started, "daemon `start`")
    load = daemon.wait_for(named("load"), "`load`", timeout=EVENT_TIMEOUT_S * 2)
    if load.fields.get("jobs") != jobs or load.fields.get("errors"):
        raise BenchError(f"the daemon loaded {load.fields} instead of {jobs} jobs without errors")
    ready = daemon.wait_for(named("ready"), "`ready`", timeout=EVENT_TIMEOUT_S * 2)
    return {
        "to_start_line_ms": round((start.at - daemon.launched) * 1000, 1),
        "to_load_ms": round((load.at - daemon.launched) * 1000, 1),
        "start_to_load_ms": round((load.at - start.at) * 1000, 1),
        "to_ready_ms": round((ready.at - daemon.launched) * 1000, 1),
        "memory_after_load_mb": memory_mb(daemon.pid),
    }


def measure_idle(daemon: DaemonProcess, seconds: float) -> Result:
    """CPU and memory of the daemon over `seconds` after SETTLE_S of rest, and
    the lines it logged meanwhile."""
    wait_until(time.time() + SETTLE_S, daemon, "idle: settling")
    logged = len(daemon.events)
    result = idle_window(daemon, seconds)
    result["lines_logged"] = len(daemon.events) - logged
    return result


def idle_window(process: Watched, seconds: float) -> Result:
    """CPU, wake-ups and memory of a process over the next `seconds`."""
    pid = process.pid
    ticks_before, precise_before = cpu_ticks_s(pid), cpu_schedstat_s(pid)
    wakes_before = wake_ups(pid)
    began = time.perf_counter()
    wait_until(time.time() + seconds, process, "idle")
    elapsed = time.perf_counter() - began
    ticks = cpu_ticks_s(pid) - ticks_before
    wakes = wake_ups(pid) - wakes_before
    precise_after = cpu_schedstat_s(pid)
    precise = None
    if precise_before and precise_after and precise_before[1] == precise_after[1]:
        precise = precise_after[0] - precise_before[0]
    cpu = precise if precise is not None else ticks
    return {
        "window_s": round(elapsed, 2),
        "cpu_s": round(cpu, 6),
        "cpu_per_60s": round(cpu * 60 / elapsed, 6),
        "cpu_ticks_s": round(ticks, 3),
        "cpu_schedstat_s": None if precise is None else round(precise, 6),
        "cpu_source": "schedstat" if precise is not None else "utime+stime",
        "wake_ups": wakes,
        "cpu_per_wake_up_ms": round(cpu * 1000 / wakes, 2) if wakes else None,
        "memory_mb": memory_mb(pid),
    }


def sighup_reload(daemon: DaemonProcess) -> tuple[float, float]:
    """SIGHUP the daemon: ms to its `signal` line and to its `reload` line."""
    after = len(daemon.events)
    began = time.perf_counter()
    daemon.send(signal.SIGHUP)
    heard = daemon.wait_for(named("signal"), "`signal`", after)
    reloaded = daemon.wait_for(named("reload"), "`reload`", after)
    return (heard.at - began) * 1000, (reloaded.at - began) * 1000


def new_job_started(name: str) -> Callable[[Event], bool]:
    """A predicate: the event is the first start of the job `name`."""
    return lambda event: event.name == "start" and event.fields.get("job") == name


def measure_reloads(daemon: DaemonProcess, crontab: Path, jobs: int, runs: int) -> Result:
    """SIGHUP reloads of each case of RELOAD_CASES, `runs` rounds of them, then
    edits without a signal that add an `@every 1s` job, which the daemon
    notices by the crontab's file event (or its polling, without one): the
    write to the `reload` line, and to the new job's first start."""
    times: dict[str, list[float]] = {key: [] for key, _ in RELOAD_CASES}
    to_signal: list[float] = []
    shift, edit = 0, 0
    for number in range(runs):
        for key, label in RELOAD_CASES:
            progress(f"reload: run {number + 1}/{runs}, {label}")
            if key == "one_edit":
                edit += 1
            elif key == "all_changed":
                shift = 1 - shift  # the other month: every schedule, so every id, changes
            if key != "unchanged":
                write_atomically(crontab, idle_crontab(jobs, far_month(shift), edit))
            heard, reloaded = sighup_reload(daemon)
            to_signal.append(heard)
            times[key].append(round(reloaded, 1))
            time.sleep(0.3)
    edited, first_start = [], []
    for number in range(runs):
        progress(f"reload: file edit without a signal {number + 1}/{runs}")
        edit += 1
        after = len(daemon.events)
        added = f"# pycron: name=new-{edit}\n@every 1s true\n"
        began = time.perf_counter()
        write_atomically(crontab, idle_crontab(jobs, far_month(shift), edit) + added)
        noticed = daemon.wait_for(named("reload"), "`reload`", after, timeout=15)
        started = daemon.wait_for(new_job_started(f"new-{edit}"), "its start", after, timeout=15)
        edited.append(round((noticed.at - began) * 1000, 1))
        first_start.append(round((started.at - began) * 1000, 1))
        time.sleep(0.3)
    progress("")
    return {
        "sighup_ms": times,
        "sighup_median_ms": {key: median_of(values) for key, values in times.items()},
        "sighup_to_signal_line_ms": median_of(to_signal),
        "file_edit_ms": edited,
        "file_edit_first_start_ms": first_start,
        "memory_mb": memory_mb(daemon.pid),
    }


def import_figures(runs: int) -> Result:
    """Where the time to the `start` line goes: `python -c pass` against
    `python -c "import pycron.cli, pycron.daemon"` (the entry point and the
    daemon's modules), alternately, medians in ms. A first
    untimed import writes the bytecode caches, as an install does."""
    commands = {
        "interpreter_ms": [DAEMON_PYTHON[0], "-c", "pass"],
        "with_imports_ms": [DAEMON_PYTHON[0], "-c", "import pycron.cli, pycron.daemon"],
    }
    subprocess.run(commands["with_imports_ms"], env=clean_env(), check=True)
    times: dict[str, list[float]] = {key: [] for key in commands}
    for _ in range(runs):
        for key, command in commands.items():
            began = time.perf_counter()
            subprocess.run(command, env=clean_env(), check=True)
            times[key].append((time.perf_counter() - began) * 1000)
    found: Result = {key: median_of(values) for key, values in times.items()}
    found["imports_ms"] = round(found["with_imports_ms"] - found["interpreter_ms"], 3)
    return found


def measure_big(work: Path, options: argparse.Namespace) -> Result:
    """Start-up runs of a daemon on a big crontab; the last one then idles for
    the idle window and goes through the reloads."""
    crontab = work / "big.crontab"
    write_atomically(crontab, idle_crontab(options.jobs, far_month(0)))
    startups: list[Result] = []
    result: Result = {"jobs": options.jobs}
    for number in range(options.startup_runs):
        progress(f"start-up: run {number + 1}/{options.startup_runs}")
        state = work / f"big-state-{number}"
        with DaemonProcess(crontab, state, str(work)) as daemon:
            startups.append(startup_figures(daemon, options.jobs))
            if number == options.startup_runs - 1:
                result["idle"] = measure_idle(daemon, options.daemon_seconds)
                result["reload"] = measure_reloads(
                    daemon, crontab, options.jobs, options.reload_runs
                )
    progress("")
    result["startup"] = {
        key: median_of([run[key] for run in startups])
        for key in ("to_load_ms", "to_start_line_ms", "start_to_load_ms", "to_ready_ms")
    }
    result["startup"]["runs"] = startups
    result["startup"]["imports"] = import_figures(options.startup_runs * 3)
    return result


def big_block(result: Result) -> str:
    """Start-up, idle and reload figures."""
    return "\n\n".join(
        [
            startup_block(result["jobs"], result["startup"]),
            idle_block(result["jobs"], result["idle"]),
            reload_block(result["jobs"], result["reload"]),
        ]
    )


def startup_block(jobs: int, startup: Result) -> str:
    """Start-up figures."""
    runs = ", ".join(f"{run['to_load_ms']:.0f}" for run in startup["runs"])
    memory = startup["runs"][-1]["memory_after_load_mb"]
    imports = startup["imports"]
    return "\n".join(
        [
            f"== start-up of a daemon with {jobs:,} jobs (medians of {len(startup['runs'])} runs)",
            f"   process start -> `load`                {startup['to_load_ms']:8.1f} ms"
            f"  (runs: {runs})",
            f"     process start -> `start` line        {startup['to_start_line_ms']:8.1f} ms"
            "  (interpreter, imports, state directory, history)",
            f"       of which `python -c pass`          {imports['interpreter_ms']:8.1f} ms",
            f"       and importing pycron.cli           {imports['imports_ms']:8.1f} ms"
            "  (`python -c 'import pycron.cli.start'` minus `python -c pass`)",
            f"     `start` -> `load` line               {startup['start_to_load_ms']:8.1f} ms"
            "  (read, parse, first fire time of each job)",
            f"   process start -> `ready` (first plan)  {startup['to_ready_ms']:8.1f} ms"
            "  (and missed runs decided, queued runs resumed)",
            f"   memory after load                     RSS {memory.get('rss', 0):.1f} MB",
        ]
    )


def idle_block(jobs: int, idle: Result) -> str:
    """Idle figures."""
    memory = idle["memory_mb"]
    return "\n".join(
        [
            f"== idle: {jobs:,} jobs, none due ({idle['window_s']:.0f} s window after"
            f" {SETTLE_S:g} s of rest)",
            f"   CPU used        {idle['cpu_s']:.3f} s = {idle['cpu_per_60s']:.3f} s per 60 s"
            f" (from {idle['cpu_source']}; utime+stime says {idle['cpu_ticks_s']:.2f} s)",
            f"   memory          RSS {memory.get('rss', 0):.1f} MB, peak"
            f" {memory.get('peak', 0):.1f} MB",
            f"   wake-ups        {idle['wake_ups']} (voluntary context switches),"
            f" {idle['cpu_per_wake_up_ms'] or 0:.2f} ms of CPU each",
            f"   lines logged    {idle['lines_logged']}",
        ]
    )


def reload_block(jobs: int, reload: Result) -> str:
    """Reload figures."""
    lines = [
        f"== reload of {jobs:,} jobs: SIGHUP -> `reload` line (SIGHUP -> `signal` line"
        f" {reload['sighup_to_signal_line_ms']:.1f} ms)"
    ]
    for key, label in RELOAD_CASES:
        shown = ", ".join(f"{value:.0f}" for value in reload["sighup_ms"][key])
        median = reload["sighup_median_ms"][key]
        lines.append(f"   {label:<26} median {median:7.1f} ms  (runs: {shown})")
    for key, label in (
        ("file_edit_ms", "one job edited, no signal"),
        ("file_edit_first_start_ms", "  its new job's first start"),
    ):
        values = reload[key]
        shown = ", ".join(f"{value:.0f}" for value in values)
        lines.append(
            f"   {label:<26} median {statistics.median(values):7.1f} ms  (runs: {shown};"
            " from the write: a file event, else the loop's look every 2 s at most)"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- fire latency


def next_boundary(moment: float) -> float:
    """The first minute boundary strictly after `moment` (epoch seconds)."""
    return math.floor(moment / 60) * 60 + 60


def launch_at_fraction(target: float) -> None:
    """Sleep until the wall clock's fraction of a second is `target`."""
    wait = (target - time.time() % 1) % 1
    time.sleep(wait)


def measure_fire(work: Path, options: argparse.Namespace, start_estimate: float) -> Result:
    """An `@every 1s` job and, unless turned off, `* * * * *` jobs over a few
    minute boundaries, in one daemon launched so that its anchor (the `@every`
    phase) falls mid-second, away from the boundaries."""
    out = work / "fire.out"
    every = f"@every 1s {stamp_command(out)}"
    minute = [f"* * * * * {stamp_command(out)}"] * (options.minute_jobs if options.minute else 0)
    text = "\n".join([every, *minute]) + "\n"
    crontab = work / "fire.crontab"
    write_atomically(crontab, text)
    kinds = {entry.id: isinstance(entry.schedule, Every) for entry in parse(text)[0].entries}
    state = work / "fire-state"
    launch_at_fraction((0.5 - start_estimate) % 1)
    with DaemonProcess(crontab, state, str(work)) as daemon:
        load = daemon.wait_for(named("load"), "`load`")
        if options.minute:
            first = next_boundary(load.wall + 1.0)
            boundaries = [first + 60 * n for n in range(options.minute_boundaries)]
            end = boundaries[-1] + 2.0
        else:
            boundaries = []
            end = load.wall + options.every_seconds + 0.5
        wait_until(end, daemon, "fire latency")
    samples = collect_samples(state, read_stamps(out))
    every_samples = [s for s in samples if kinds.get(s.job_id)]
    near = [s for s in every_samples if boundaries and near_boundary(s.scheduled)]
    every_samples = [s for s in every_samples if s not in near]
    minute_samples = [
        s for s in samples if not kinds.get(s.job_id, True) and round(s.scheduled) in boundaries
    ]
    anchor = every_samples[0].scheduled % 1 if every_samples else None
    return {
        "every": sample_figures(every_samples),
        "every_left_out_near_boundaries": len(near),
        "every_anchor_fraction_s": None if anchor is None else round(anchor, 3),
        "minute": sample_figures(minute_samples) if options.minute else None,
        "minute_jobs": options.minute_jobs if options.minute else 0,
        "minute_boundaries": len(boundaries),
    }


def near_boundary(moment: float) -> bool:
    """True within NEAR_BOUNDARY_S of a minute boundary."""
    offset = moment % 60
    return min(offset, 60 - offset) < NEAR_BOUNDARY_S


def sample_figures(samples: Sequence[Sample]) -> Result:
    """Latency, dispatch and spawn distributions of some runs, in ms."""
    return {
        "latency_ms": distribution([s.latency_ms for s in samples]),
        "dispatch_ms": distribution([s.dispatch_ms for s in samples]),
        "spawn_ms": distribution([s.spawn_ms for s in samples]),
    }


def distribution_line(label: str, figures: Result) -> str:
    """`label  n=.. p50 .. p90 .. p99 .. max ..` in ms."""
    if not figures.get("n"):
        return f"   {label:<34} no samples"
    return (
        f"   {label:<34} n={figures['n']:<4} p50 {figures['p50']:7.2f}  p90 {figures['p90']:7.2f}"
        f"  p99 {figures['p99']:7.2f}  max {figures['max']:7.2f} ms"
    )


def fire_block(result: Result) -> str:
    """Fire latency figures."""
    lines = ["== fire latency: scheduled instant -> the job's first instruction"]
    parts = [("@every 1s", result["every"])]
    if result["minute"] is not None:
        label = f"* * * * * ({result['minute_jobs']} jobs x {result['minute_boundaries']})"
        parts.append((label, result["minute"]))
    for label, figures in parts:
        lines.append(distribution_line(label, figures["latency_ms"]))
        lines.append(distribution_line("  daemon: slot -> process started", figures["dispatch_ms"]))
        lines.append(distribution_line("  process started -> first instr.", figures["spawn_ms"]))
    if result["every_left_out_near_boundaries"]:
        lines.append(
            f"   ({result['every_left_out_near_boundaries']} @every runs within"
            f" {NEAR_BOUNDARY_S * 1000:.0f} ms of a minute boundary not counted)"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- burst


def measure_burst(work: Path, options: argparse.Namespace) -> Result:
    """`--burst-jobs` `@every 5s` jobs (one anchor: they fire together) with as
    many workers; how long until every job of a round has started."""
    out = work / "burst.out"
    jobs = options.burst_jobs
    text = "\n".join([f"@every {BURST_INTERVAL_S}s {stamp_command(out)}"] * jobs) + "\n"
    crontab = work / "burst.crontab"
    write_atomically(crontab, text)
    state = work / "burst-state"
    expected = jobs * options.burst_rounds
    with DaemonProcess(crontab, state, str(work), max_parallel=jobs) as daemon:
        daemon.wait_for(named("load"), "`load`")
        deadline = time.time() + BURST_INTERVAL_S * options.burst_rounds + 30
        wait_for_lines(out, expected, deadline, daemon, "burst")
    samples = collect_samples(state, read_stamps(out))
    slots = sorted({s.scheduled for s in samples})[: options.burst_rounds]
    rounds = [burst_round([s for s in samples if s.scheduled == slot]) for slot in slots]
    return {"jobs": jobs, "max_parallel": jobs, "rounds": rounds}


def burst_round(chosen: Sequence[Sample]) -> Result:
    """The runs of one burst slot: how many started, and when the first, the
    median and the last did, from the slot (s); the daemon side too."""
    return {
        "started": len(chosen),
        "all_started_s": round(max(s.latency_ms for s in chosen) / 1000, 3),
        "first_started_s": round(min(s.latency_ms for s in chosen) / 1000, 3),
        "median_started_s": round(statistics.median(s.latency_ms for s in chosen) / 1000, 3),
        "daemon_all_started_s": round(max(s.dispatch_ms for s in chosen) / 1000, 3),
    }


def burst_block(result: Result) -> str:
    """Burst figures."""
    lines = [
        f"== burst: {result['jobs']} `@every {BURST_INTERVAL_S}s` jobs due at one instant,"
        f" --max-parallel {result['max_parallel']}"
    ]
    for number, figures in enumerate(result["rounds"], 1):
        lines.append(
            f"   round {number}: {figures['started']}/{result['jobs']} started; the last after"
            f" {figures['all_started_s']:.3f} s (first {figures['first_started_s']:.3f} s,"
            f" median {figures['median_started_s']:.3f} s; daemon side, last process started"
            f" {figures['daemon_all_started_s']:.3f} s)"
        )
    if not result["rounds"]:
        lines.append("   no round completed")
    return "\n".join(lines)


# --------------------------------------------------------------------------- pipeline


def measure_pipeline(work: Path, options: argparse.Namespace) -> Result:
    """One daemon with an `@every 1s` job `up`, an `@after up` job `down` and a
    `@watch` job on a directory the benchmark writes a file into every
    debounce + 1 s, for `--pipeline-seconds`. Each command is one stamp
    (`stamp_command`): an upstream's stamp is its last instruction, a
    downstream's its first; the history's triggers pair them."""
    up_out, down_out, watch_out = (work / f"pipeline-{name}.out" for name in ("up", "down", "w"))
    inbox = work / "pipeline-inbox"
    inbox.mkdir()
    text = (
        f"# pycron: name=up\n@every 1s {stamp_command(up_out)}\n"
        f"# pycron: name=down\n@after up {stamp_command(down_out)}\n"
        f"# pycron: name=w debounce={WATCH_DEBOUNCE_S:g}s\n"
        f"@watch {inbox} {stamp_command(watch_out)}\n"
    )
    crontab = work / "pipeline.crontab"
    write_atomically(crontab, text)
    state = work / "pipeline-state"
    written: list[float] = []
    with DaemonProcess(crontab, state, str(work)) as daemon:
        load = daemon.wait_for(named("ready"), "`ready`")
        end = load.wall + options.pipeline_seconds
        while time.time() + WATCH_DEBOUNCE_S + 1.0 < end:
            time.sleep(WATCH_DEBOUNCE_S + 1.0)
            daemon.check_alive()
            written.append(time.time())
            (inbox / f"file-{len(written)}").write_text("x\n")
            progress(f"pipeline: {len(written)} files written")
        wait_until(end + WATCH_DEBOUNCE_S + 1.0, daemon, "pipeline")
        progress("")
    stamps = {**read_stamps(up_out), **read_stamps(down_out), **read_stamps(watch_out)}
    with SQLiteStore.open(state) as history:
        runs = {record.id: record for record in history.runs()}
        triggers = history.triggers(list(runs))
    first = {run_id: stamps[r.pid][0] for run_id, r in runs.items() if r.pid in stamps}
    gaps, daemon_gaps = [], []
    for run_id, upstream in triggers.items():
        (up_id,) = upstream
        down, up = runs[run_id], runs[up_id]
        if run_id in first and up_id in first:
            gaps.append((first[run_id] - first[up_id]) * 1000)
        if up.finished is not None:
            daemon_gaps.append((down.started - up.finished).total_seconds() * 1000)
    starts = sorted(first[i] for i, r in runs.items() if r.job_id == "w" and i in first)
    # Each file's run: the first watch run to start after the write.
    watch = [min(s for s in starts if s > t) - t for t in written if any(s > t for s in starts)]
    return {
        "triggers": len(triggers),
        "trigger_ms": distribution(gaps),
        "trigger_daemon_ms": distribution(daemon_gaps),
        "debounce_s": WATCH_DEBOUNCE_S,
        "files_written": len(written),
        "watch_ms": distribution([gap * 1000 for gap in watch]),
    }


def pipeline_block(result: Result) -> str:
    """@after and @watch figures."""
    return "\n".join(
        [
            "== pipeline: `@every 1s` upstream -> its `@after` job; a file -> its `@watch` job",
            distribution_line("upstream's end -> downstream's start", result["trigger_ms"]),
            distribution_line("  daemon: run finished -> started", result["trigger_daemon_ms"]),
            distribution_line(
                f"file written -> @watch start ({result['debounce_s']:g} s debounce)",
                result["watch_ms"],
            ),
        ]
    )


# --------------------------------------------------------------------------- web


def web_crontab(work: Path, name: str, stamps: Path | None) -> Path:
    """WEB_JOBS jobs that are not due and, given a stamp file, an `@every 1s` job."""
    text = idle_crontab(WEB_JOBS, far_month(0))
    if stamps is not None:
        text += f"@every 1s {stamp_command(stamps)}\n"
    crontab = work / f"{name}.crontab"
    write_atomically(crontab, text)
    return crontab


def served_url(daemon: DaemonProcess) -> str:
    """The base URL the daemon's `http` line gives (it serves a port of its own choosing)."""
    event = daemon.wait_for(named("http"), "`http`")
    url = event.fields.get("url")
    if not isinstance(url, str):
        raise BenchError(f"the `http` line has no url: {event.fields}")
    return url.rstrip("/")


class Poller:
    """A browser with the overview open and a Prometheus scraping, in one
    thread: every WEB_POLL_S, each of WEB_PATHS fetched once."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.requests = 0
        self.errors: list[str] = []
        self.seconds: list[float] = []  # response times
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="poller", daemon=True)

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        while not self._stop.is_set():
            for path in WEB_PATHS:
                began = time.perf_counter()
                try:
                    with urllib.request.urlopen(self.base + path, timeout=10) as response:
                        response.read()
                except OSError as error:
                    self.errors.append(f"{path}: {error}")
                self.seconds.append(time.perf_counter() - began)
                self.requests += 1
            self._stop.wait(WEB_POLL_S)


def measure_web(work: Path, options: argparse.Namespace) -> Result:
    """The page must not disturb the schedule. Idle CPU of two daemons on the same
    crontab, one without `--http` and one serving nobody; then one daemon with an
    `@every 1s` job, a window without a client and a window with the page polled,
    side by side: fire latency of each and the daemon's CPU per request."""
    window = options.web_seconds
    result: Result = {"jobs": WEB_JOBS, "window_s": window, "poll_s": WEB_POLL_S}
    crontab = web_crontab(work, "web-idle", None)
    for key, extra in (("idle_plain", ()), ("idle_http", ("--http", "127.0.0.1:0"))):
        progress(f"web: {key}")
        with DaemonProcess(crontab, work / f"{key}-state", str(work), extra=extra) as daemon:
            daemon.wait_for(named("ready"), "`ready`")
            result[key] = measure_idle(daemon, window)
    stamps = work / "web.out"
    crontab = web_crontab(work, "web-fire", stamps)
    state = work / "web-fire-state"
    with DaemonProcess(crontab, state, str(work), extra=("--http", "127.0.0.1:0")) as daemon:
        base = served_url(daemon)
        daemon.wait_for(named("ready"), "`ready`")
        wait_until(time.time() + SETTLE_S, daemon, "web: settling")
        windows: dict[str, tuple[float, float]] = {}
        cpu: dict[str, float] = {}
        progress("web: no client")
        began, before = time.time(), daemon_cpu_s(daemon.pid)
        wait_until(began + window, daemon, "web: no client")
        windows["quiet"], cpu["quiet"] = (began, time.time()), daemon_cpu_s(daemon.pid) - before
        progress("web: page polled")
        began, before = time.time(), daemon_cpu_s(daemon.pid)
        with Poller(base) as poller:
            wait_until(began + window, daemon, "web: page polled")
        windows["polled"], cpu["polled"] = (began, time.time()), daemon_cpu_s(daemon.pid) - before
    progress("")
    if poller.errors:
        raise BenchError(f"{len(poller.errors)} requests failed, the first: {poller.errors[0]}")
    samples = collect_samples(state, read_stamps(stamps))
    for key, (start, end) in windows.items():
        inside = [s for s in samples if start <= s.scheduled < end]
        result[f"fire_{key}"] = sample_figures(inside)
        result[f"cpu_{key}_s"] = round(cpu[key], 4)
    result["requests"] = poller.requests
    result["response_ms"] = distribution([s * 1000 for s in poller.seconds])
    extra_cpu = cpu["polled"] - cpu["quiet"]
    result["cpu_per_request_ms"] = round(extra_cpu * 1000 / poller.requests, 2)
    return result


def web_block(result: Result) -> str:
    """Idle CPU with and without the server, and fire latency with and without the page."""
    plain, served = result["idle_plain"], result["idle_http"]
    lines = [
        f"== the status page: {result['jobs']} jobs not due (+ an @every 1s job for latency),"
        f" windows of {result['window_s']:g} s",
        f"   idle CPU per 60 s      without --http {plain['cpu_per_60s']:.4f} s,"
        f" wake-ups {plain['wake_ups']};  with --http, no client {served['cpu_per_60s']:.4f} s,"
        f" wake-ups {served['wake_ups']}",
        f"   memory (RSS)           without --http {plain['memory_mb'].get('rss', 0):.1f} MB;"
        f"  with --http {served['memory_mb'].get('rss', 0):.1f} MB",
        distribution_line("fire, no client", result["fire_quiet"]["latency_ms"]),
        distribution_line(
            f"fire, page polled every {result['poll_s']:g} s", result["fire_polled"]["latency_ms"]
        ),
        f"   daemon CPU             no client {result['cpu_quiet_s']:.3f} s; page polled"
        f" {result['cpu_polled_s']:.3f} s ({result['requests']} requests of"
        f" {', '.join(WEB_PATHS)}: {result['cpu_per_request_ms']:.2f} ms each)",
        distribution_line("response time", result["response_ms"]),
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- cluster


class ServerMissing(BenchError):
    """A cluster backend's server does not answer, or its driver is not installed:
    that backend's figures are skipped."""


class ClusterHome(ABC):
    """A server on which the benchmark makes clusters of its own, each removed
    after its use: a database per cluster on PostgreSQL, a key prefix on Redis."""

    backend: str

    @abstractmethod
    def cluster(self) -> contextlib.AbstractContextManager[str]:
        """A new, empty cluster, its URL given to the members (`--cluster URL`);
        removed on leaving, whatever happened."""

    @abstractmethod
    def claims(self, url: str, job_ids: Sequence[str], slot: datetime) -> int:
        """How many runs of `slot` of these jobs are claimed so far."""

    @abstractmethod
    def records(self, url: str, states: Sequence[Path]) -> list[RunRecord]:
        """Every run the members of the cluster recorded."""

    @abstractmethod
    def close(self) -> None:
        """Let go of the server."""


class PostgresHome(ClusterHome):
    """A PostgreSQL server where each cluster is a database of its own, made
    with the server's settings as a user's would be (its commits wait for the
    disk if the server's do), then dropped, its connections ended first. The
    members share the whole history there; the claims are rows of `claims`."""

    backend = "postgresql"

    def __init__(self, url: str) -> None:
        try:
            import psycopg  # noqa: PLC0415 - the cluster extra, for this part only
        except ImportError as error:
            raise ServerMissing(
                f"psycopg is not installed ({error}); the bench extra has it"
            ) from None
        self._psycopg = psycopg
        self.url = url
        try:
            self._admin = psycopg.connect(url, autocommit=True, connect_timeout=5)
        except psycopg.Error as error:
            raise ServerMissing(
                f"no PostgreSQL server answers at {redacted(url)}: {one_line(error)}"
            ) from None
        self._watchers: dict[str, Any] = {}  # a connection to each cluster, to count claims

    @contextlib.contextmanager
    def cluster(self) -> Iterator[str]:
        name = f"pycron_bench_{secrets.token_hex(6)}"
        self._admin.execute(f"CREATE DATABASE {name}")
        url = urlsplit(self.url)._replace(path=f"/{name}").geturl()
        try:
            yield url
        finally:
            watcher = self._watchers.pop(url, None)
            if watcher is not None:
                watcher.close()
            self._admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def claims(self, url: str, job_ids: Sequence[str], slot: datetime) -> int:
        watcher = self._watchers.get(url)
        if watcher is None:
            watcher = self._watchers[url] = self._psycopg.connect(url, autocommit=True)
        (count,) = watcher.execute(
            "SELECT count(*) FROM claims WHERE scheduled_for = %s", [time_text(slot)]
        ).fetchone() or (0,)
        return int(count)

    def records(self, url: str, states: Sequence[Path]) -> list[RunRecord]:
        from pycron.store.postgresql import PostgresStore  # noqa: PLC0415 - the cluster extra

        with PostgresStore.open(url) as history:
            return history.runs()

    def close(self) -> None:
        self._admin.close()


class RedisHome(ClusterHome):
    """A Redis server where each cluster is a key prefix of its own (`?prefix=`
    in its URL), whose keys are deleted after. The claims are keys
    `PREFIX:claim:JOB:SLOT` (the slot in whole microseconds since 1970); each
    member keeps its history in its own state directory."""

    backend = "redis"

    def __init__(self, url: str) -> None:
        try:
            import redis  # noqa: PLC0415 - the cluster extra, for this part only
        except ImportError as error:
            raise ServerMissing(
                f"redis is not installed ({error}); the bench extra has it"
            ) from None
        self.url = url
        self._client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        try:
            self._client.ping()
        except redis.RedisError as error:
            self._client.close()
            raise ServerMissing(
                f"no Redis server answers at {redacted(url)}: {one_line(error)}"
            ) from None
        self._prefixes: dict[str, str] = {}

    @contextlib.contextmanager
    def cluster(self) -> Iterator[str]:
        prefix = f"pycron-bench-{secrets.token_hex(6)}"
        url = f"{self.url}{'&' if '?' in self.url else '?'}prefix={prefix}"
        self._prefixes[url] = prefix
        try:
            yield url
        finally:
            del self._prefixes[url]
            keys = list(self._client.scan_iter(match=f"{prefix}:*", count=1000))
            if keys:
                self._client.delete(*keys)

    def claims(self, url: str, job_ids: Sequence[str], slot: datetime) -> int:
        prefix, micros = self._prefixes[url], micros_of(slot.timestamp())
        return int(self._client.exists(*(f"{prefix}:claim:{job}:{micros}" for job in job_ids)))

    def records(self, url: str, states: Sequence[Path]) -> list[RunRecord]:
        return [record for state in states for record in history_records(state)]

    def close(self) -> None:
        self._client.close()


HOMES: dict[str, Callable[[str], ClusterHome]] = {
    "postgresql": PostgresHome,
    "redis": RedisHome,
}


def one_line(error: Exception) -> str:
    """An error's message on one line, any password masked."""
    return redacted(" ".join(str(error).split())) or type(error).__name__


class Members:
    """The member daemons of one cluster (`--cluster URL`), on one crontab, each
    with a state directory of its own as on separate hosts, launched one
    right after the other. Leaving tells every member to stop at once, then
    waits for each, so that none goes on alone while the others stop."""

    def __init__(
        self, crontab: Path, url: str, states: Sequence[Path], marker: str, max_parallel: int = 10
    ) -> None:
        self.daemons = [
            DaemonProcess(crontab, state, marker, max_parallel, ("--cluster", url))
            for state in states
        ]
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Members:
        with contextlib.ExitStack() as stack:
            for daemon in self.daemons:
                stack.enter_context(daemon)
            self._stack = stack.pop_all()
        return self

    def __exit__(self, *exc_info: object) -> None:
        for daemon in self.daemons:
            daemon.terminate()
        self._stack.close()

    @property
    def pids(self) -> list[int]:
        """The members' pids, member 1 first."""
        return [daemon.pid for daemon in self.daemons]

    def check_alive(self) -> None:
        """BenchError if a member has exited."""
        for daemon in self.daemons:
            daemon.check_alive()

    def ready(self) -> float:
        """The wall clock when the last member logged `ready` (waited for)."""
        return max(daemon.wait_for(named("ready"), "`ready`").wall for daemon in self.daemons)


def member_states(work: Path, name: str) -> list[Path]:
    """A state directory for each member of the cluster `name`."""
    return [work / f"{name}-{number}" for number in range(1, CLUSTER_MEMBERS + 1)]


def job_ids(text: str) -> list[str]:
    """The ids of a crontab's jobs."""
    return [entry.id for entry in parse(text)[0].entries]


def cluster_epoch(url: str) -> datetime:
    """The cluster's epoch, from which its members count `@every` slots (set by
    the first member to join: asked once the members are ready)."""
    cluster = open_cluster(url, DEFAULT_LEASE)
    try:
        return cluster.epoch(utc_now())
    finally:
        cluster.close()


def slots_between(epoch: datetime, interval: int, begin: float, end: float) -> list[datetime]:
    """The slots of an `@every` job counted from `epoch` from `begin` (epoch s,
    included) to `end` (excluded)."""
    step = timedelta(seconds=interval)
    slot = epoch + math.ceil((begin - epoch.timestamp()) / interval) * step
    slots = []
    while slot.timestamp() < end:
        if slot.timestamp() >= begin:
            slots.append(slot)
        slot += step
    return slots


def micros_of(moment: float) -> int:
    """Epoch seconds as whole microseconds: a slot that compares exactly."""
    return round(moment * 1_000_000)


def once_each(
    samples: Sequence[Sample], jobs: Collection[str], slots: Sequence[datetime]
) -> Result:
    """Whether each run (job, slot) of these jobs and slots ran exactly once, of
    `samples` (the runs of the same stretch of time): those that ran twice or
    more, never, or at a slot of none of the jobs (members that do not agree
    on the epoch)."""
    expected = {(job, micros_of(slot.timestamp())) for job in jobs for slot in slots}
    counted = collections.Counter((s.job_id, micros_of(s.scheduled)) for s in samples)

    def shown(runs: Iterable[tuple[str, int]]) -> list[str]:
        return [
            f"{job} {datetime.fromtimestamp(micros / 1e6, timezone.utc):%H:%M:%S.%f}"
            for job, micros in sorted(runs)
        ]

    return {
        "runs": len(expected),
        "twice": shown(run for run, count in counted.items() if count > 1),
        "never": shown(expected - counted.keys()),
        "other_slots": shown(counted.keys() - expected),
    }


def once_problem(once: Result) -> str:
    """What went wrong with the runs of `once_each` ("" if each ran once)."""
    found = [
        f"{len(once[key])} {words} (first: {', '.join(once[key][:3])})"
        for key, words in (
            ("twice", "ran more than once"),
            ("never", "never ran"),
            ("other_slots", "ran at slots not counted from the cluster's epoch"),
        )
        if once[key]
    ]
    return f"of {once['runs']} runs, " + "; ".join(found) if found else ""


def shares(samples: Sequence[Sample], pids: Sequence[int]) -> list[int]:
    """How many of these runs each member ran, member 1 first."""
    counted = collections.Counter(s.recorder for s in samples)
    return [counted.get(pid, 0) for pid in pids]


def watch_claims(
    home: ClusterHome, url: str, jobs: Sequence[str], slot: datetime, members: Members
) -> Result:
    """When the claims of every job's run of `slot` were recorded, as seen from
    outside: the backend is asked every CLAIM_POLL_S from CLAIM_LEAD_S before
    the slot; the last claim was recorded at the latest when the first answer
    counting them all came, at the earliest when the question before it was
    asked (s from the slot)."""
    due = slot.timestamp()
    wait_until(due - CLAIM_LEAD_S, members, f"cluster, {home.backend}: burst")
    give_up = due + BURST_INTERVAL_S - 1.0
    before = None  # when the last question that found claims missing was asked
    while True:
        asked = time.time()
        claimed = home.claims(url, jobs, slot)
        answered = time.time()
        if claimed >= len(jobs) or answered > give_up:
            break
        before = asked
        members.check_alive()
        time.sleep(CLAIM_POLL_S)
    complete = claimed >= len(jobs)
    return {
        "claimed": claimed,
        "recorded_s": round(answered - due, 4) if complete else None,
        "recorded_at_earliest_s": (
            round(before - due, 4) if complete and before is not None else None
        ),
    }


def cluster_fire(home: ClusterHome, work: Path, seconds: float) -> Result:
    """An `@every 1s` job on a new cluster of CLUSTER_MEMBERS members, measured over
    `seconds` from CLUSTER_READY_MARGIN_S after the last member is ready: fire
    latency of whichever member ran each slot, the runs of each member, and
    whether each slot ran once."""
    name = f"cluster-{home.backend}-fire"
    out = work / f"{name}.out"
    text = f"@every {CLUSTER_EVERY_S}s {stamp_command(out)}\n"
    crontab = work / f"{name}.crontab"
    write_atomically(crontab, text)
    states = member_states(work, name)
    with home.cluster() as url:
        with Members(crontab, url, states, str(work)) as members:
            begin = members.ready() + CLUSTER_READY_MARGIN_S
            end = begin + seconds
            wait_until(end + 1.0, members, f"cluster, {home.backend}: fire latency")
            epoch = cluster_epoch(url)
            pids = members.pids
        records = home.records(url, states)
    ran = match_stamps(records, read_stamps(out))
    samples = [s for s in ran if begin <= s.scheduled < end]
    once = once_each(samples, job_ids(text), slots_between(epoch, CLUSTER_EVERY_S, begin, end))
    return {**sample_figures(samples), "shares": shares(samples, pids), "once": once}


def cluster_burst(home: ClusterHome, work: Path, options: argparse.Namespace) -> Result:
    """`--burst-jobs` `@every 5s` jobs on a new cluster of CLUSTER_MEMBERS members,
    each with as many workers, due together (their slots count from the
    cluster's epoch); for `--burst-rounds` slots after the last member is
    ready: when the claims were recorded (`watch_claims`), when the runs
    started, which member ran how many, and whether each job ran once."""
    name = f"cluster-{home.backend}-burst"
    jobs = options.burst_jobs
    out = work / f"{name}.out"
    text = "\n".join([f"@every {BURST_INTERVAL_S}s {stamp_command(out)}"] * jobs) + "\n"
    ids = job_ids(text)
    crontab = work / f"{name}.crontab"
    write_atomically(crontab, text)
    states = member_states(work, name)
    label = f"cluster, {home.backend}: burst"
    with home.cluster() as url:
        with Members(crontab, url, states, str(work), max_parallel=jobs) as members:
            begin = members.ready() + CLAIM_LEAD_S
            epoch = cluster_epoch(url)
            end = begin + BURST_INTERVAL_S * options.burst_rounds
            slots = slots_between(epoch, BURST_INTERVAL_S, begin, end)
            claims = [watch_claims(home, url, ids, slot, members) for slot in slots]
            # The stamps of every slot since the epoch (the first members ran the
            # slots before the last one was ready, if any); should one be
            # missing, the wait ends at the deadline and `once_each` tells.
            since = round((slots[-1] - epoch) / timedelta(seconds=BURST_INTERVAL_S))
            deadline = slots[-1].timestamp() + STAMPS_TIMEOUT_S
            wait_for_lines(out, jobs * since, deadline, members, label)
            pids = members.pids
        records = home.records(url, states)
    ran = match_stamps(records, read_stamps(out))
    rounds = []
    for slot, seen in zip(slots, claims, strict=True):
        chosen = [s for s in ran if micros_of(s.scheduled) == micros_of(slot.timestamp())]
        figures = burst_round(chosen) if chosen else {"started": 0}
        recorded = seen["recorded_s"]
        figures |= {
            "claims": seen,
            "claims_per_s": round(jobs / recorded) if recorded else None,
            "shares": shares(chosen, pids),
        }
        rounds.append(figures)
    inside = [s for s in ran if slots[0].timestamp() <= s.scheduled < end]
    return {
        "jobs": jobs,
        "max_parallel": jobs,
        "rounds": rounds,
        "once": once_each(inside, ids, slots),
    }


def measure_cluster(work: Path, options: argparse.Namespace, single: Result) -> Result:
    """Fire latency and a burst on a cluster of CLUSTER_MEMBERS daemons, on each
    backend whose server answers; `single` holds one daemon's figures of the
    same run (`single_daemon`), to be set beside them."""
    result: Result = {
        "members": CLUSTER_MEMBERS,
        "window_s": options.cluster_seconds,
        "single": single,
    }
    urls = {"postgresql": options.cluster_postgresql, "redis": options.cluster_redis}
    for backend in CLUSTER_BACKENDS:
        result[backend] = measure_backend(backend, urls[backend], work, options)
    return result


def measure_backend(backend: str, url: str, work: Path, options: argparse.Namespace) -> Result:
    """The fire and burst figures of a cluster on one backend, or why there are
    none (`skipped`); what went wrong, a run not run exactly once included,
    is in `errors`."""
    try:
        home = HOMES[backend](url)
    except ServerMissing as missing:
        return {"skipped": str(missing)}
    result: Result = {"server": redacted(url), "errors": []}
    phases: dict[str, Callable[[], Result]] = {
        "fire": lambda: cluster_fire(home, work, options.cluster_seconds),
        "burst": lambda: cluster_burst(home, work, options),
    }
    try:
        for phase, measure in phases.items():
            try:
                result[phase] = measure()
            except Exception as error:  # reported; the next phase and backend run
                message = str(error) if isinstance(error, BenchError) else repr(error)
                result["errors"].append(f"{phase}: {message}")
                continue
            problem = once_problem(result[phase]["once"])
            if problem:
                result["errors"].append(f"{phase}: not exactly once: {problem}")
    finally:
        home.close()
    return result


def single_daemon(results: Result) -> Result:
    """One daemon's figures of this run, from the fire and burst parts (None
    where a part did not run): the `@every 1s` job's latency, and the worst
    complete burst round's last start."""
    every = ((results.get("fire") or {}).get("every") or {}).get("latency_ms") or {}
    burst = results.get("burst") or {}
    return {
        "fire_latency_ms": every or None,
        "burst_all_started_s": worst_round(burst.get("rounds") or [], burst.get("jobs")),
    }


def worst_round(rounds: Sequence[Result], jobs: int | None) -> float | None:
    """The latest last start of the burst rounds where every job started."""
    complete = [r["all_started_s"] for r in rounds if r.get("started") == jobs]
    return max(complete, default=None)


def cluster_block(result: Result) -> str:
    """Each backend's figures, then the side-by-side table."""
    lines = [
        f"== cluster of {result['members']} members: an `@every {CLUSTER_EVERY_S}s` job for"
        f" {result['window_s']:g} s, then a burst"
    ]
    for backend in CLUSTER_BACKENDS:
        lines += backend_lines(backend, result[backend])
    return "\n".join([*lines, *side_by_side(result)])


def backend_lines(backend: str, figures: Result) -> list[str]:
    """One backend's figures: fire latency, each burst round, what went wrong."""
    if "skipped" in figures:
        return [f"   {backend}: skipped: {figures['skipped']}"]
    lines = [f"   {backend} on {figures['server']} (a new cluster for each of the two below)"]
    fire = figures.get("fire")
    if fire is not None:
        lines += [
            distribution_line(f"fire latency, @every {CLUSTER_EVERY_S}s", fire["latency_ms"]),
            distribution_line("  daemon: slot -> process started", fire["dispatch_ms"]),
            distribution_line("  process started -> first instr.", fire["spawn_ms"]),
            f"   {'  runs of each member':<34} {' / '.join(map(str, fire['shares']))}",
        ]
    burst = figures.get("burst")
    if burst is not None:
        lines.append(
            f"   burst of {burst['jobs']} `@every {BURST_INTERVAL_S}s` jobs, --max-parallel"
            f" {burst['max_parallel']} on each member:"
        )
        lines += [round_line(n, r, burst["jobs"]) for n, r in enumerate(burst["rounds"], 1)]
    lines += [f"   ERROR: {error}" for error in figures["errors"]]
    if not figures["errors"]:
        lines.append("   each run (job, slot) ran exactly once, on one member")
    return lines


def round_line(number: int, figures: Result, jobs: int) -> str:
    """One burst round of a cluster."""
    claims = figures["claims"]
    if claims["recorded_s"] is None:
        claimed = f"only {claims['claimed']}/{jobs} claims recorded"
    else:
        earliest = claims["recorded_at_earliest_s"]
        claimed = (
            f"all claims recorded after {claims['recorded_s']:.3f} s"
            + (f" (not before {earliest:.3f} s)" if earliest is not None else "")
            + f": {figures['claims_per_s']:,} claims/s"
        )
    started = f"     round {number}: {figures['started']}/{jobs} started"
    if figures["started"]:
        started += (
            f", the last after {figures['all_started_s']:.3f} s (median"
            f" {figures['median_started_s']:.3f} s; daemon side"
            f" {figures['daemon_all_started_s']:.3f} s)"
        )
    shares_text = " / ".join(map(str, figures["shares"]))
    return f"{started}\n       {claimed}; runs of each member {shares_text}"


def side_by_side(result: Result) -> list[str]:
    """The cluster's figures beside one daemon's of the same run, with the ratios."""
    single = result["single"]
    one = single["fire_latency_ms"] or {}
    rows: list[tuple[str, list[float | None]]] = [
        ("one daemon", [one.get("p50"), one.get("p99"), single["burst_all_started_s"]])
    ]
    for backend in CLUSTER_BACKENDS:
        figures = result[backend]
        fire = (figures.get("fire") or {}).get("latency_ms") or {}
        burst = figures.get("burst") or {}
        worst = worst_round(burst.get("rounds") or [], burst.get("jobs"))
        rows.append((backend, [fire.get("p50"), fire.get("p99"), worst]))
    lines = [
        "   side by side (one daemon: the fire and burst parts of this run;"
        " x = the cluster's figure over one daemon's)",
        f"   {'':<12} {'fire p50':>18} {'fire p99':>18} {'burst: last start':>20}",
    ]
    _, bases = rows[0]
    for number, (label, values) in enumerate(rows):
        cells = [
            ratio_cell(value, base if number else None, unit)
            for value, base, unit in zip(values, bases, ("ms", "ms", "s"), strict=True)
        ]
        lines.append(f"   {label:<12} {cells[0]:>18} {cells[1]:>18} {cells[2]:>20}")
    if not any(bases):
        lines.append("   (one daemon's figures come from the fire and burst parts: run them too)")
    return lines


def ratio_cell(value: float | None, base: float | None, unit: str) -> str:
    """A figure and, given one to compare it with, its ratio to that one."""
    if value is None:
        return "-"
    shown = f"{value:.3f} s" if unit == "s" else f"{value:.2f} ms"
    if base:
        shown += f" x{value / base:.2f}"
    return shown


# --------------------------------------------------------------------------- footprint

# Starts a daemon on a crontab's text (a name for its files) and yields it once its
# start-up is over, with its CPU seconds at that moment.
Starter = Callable[[str, str], contextlib.AbstractContextManager[tuple[Watched, float]]]


class CronProcess:
    """Debian's `cron -f` in its namespace (`debian_cron`), in a session of its
    own, what it writes on stderr kept in a file. Leaving stops it and kills
    what is left of its jobs."""

    def __init__(self, namespace: debian_cron.Namespace, errors: Path, marker: str) -> None:
        self.command = namespace.command("-f")
        self.errors = errors
        self.marker = marker  # a text in every job command of the benchmark
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> CronProcess:
        with self.errors.open("wb") as stderr:
            self._process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        return self

    def __exit__(self, *exc_info: object) -> None:
        process = self._process
        if process is None:
            return
        process.send_signal(signal.SIGTERM)  # (nothing if it has exited)
        end_process(process, self.marker, SHUTDOWN_GRACE_S)

    @property
    def pid(self) -> int:
        """Cron's process id."""
        assert self._process is not None
        return self._process.pid

    def check_alive(self) -> None:
        """BenchError if cron has exited, with what it wrote."""
        assert self._process is not None
        code = self._process.poll()
        if code is not None:
            said = self.errors.read_text(errors="replace").strip()[-300:]
            raise BenchError(f"cron exited with status {code}" + (f": {said}" if said else ""))


def cpu_when_asleep(process: Watched, timeout: float) -> float:
    """The process's CPU seconds once it sleeps: its main thread asleep and its
    CPU unchanged for QUIET_S; BenchError if it does not within `timeout` s."""
    deadline = time.monotonic() + timeout
    last, since = -1.0, time.monotonic()
    while time.monotonic() < deadline:
        process.check_alive()
        stat = proc_stat(process.pid)
        cpu, now = daemon_cpu_s(process.pid), time.monotonic()
        if stat is None or stat[0] != "S" or cpu != last:
            last, since = cpu, now
        elif now - since >= QUIET_S:
            return cpu
        time.sleep(QUIET_POLL_S)
    raise BenchError(f"process {process.pid} did not go to sleep within {timeout:g} s")


@contextlib.contextmanager
def pycron_started(work: Path, text: str, name: str) -> Iterator[tuple[Watched, float]]:
    """A pycron daemon on `text` with a new state directory, once it has logged
    `ready` (its CPU read as the line arrives)."""
    crontab = work / f"{name}.crontab"
    write_atomically(crontab, text)
    state = work / f"{name}-state"
    with DaemonProcess(crontab, state, str(work), max_parallel=FOOTPRINT_BURST) as daemon:
        daemon.wait_for(named("ready"), "`ready`", timeout=EVENT_TIMEOUT_S * 2)
        yield daemon, daemon_cpu_s(daemon.pid)


@contextlib.contextmanager
def cron_started(
    namespace: debian_cron.Namespace, work: Path, text: str, name: str
) -> Iterator[tuple[Watched, float]]:
    """Debian's cron with `text` as root's crontab, once it first sleeps: it
    logs only to syslog, and sleeps once it has read every crontab."""
    namespace.crontab(text)
    with CronProcess(namespace, work / f"{name}.stderr", str(work)) as cron:
        yield cron, cpu_when_asleep(cron, EVENT_TIMEOUT_S)


def measure_footprint(work: Path, options: argparse.Namespace) -> Result:
    """The footprint of pycron and, where it can run here, of Debian's cron, on
    the same crontabs; why Debian's cron has no figures is under its `skipped`
    (it cannot run here) or `error` (it failed)."""
    return {
        "jobs": FOOTPRINT_JOBS,
        "burst_jobs": FOOTPRINT_BURST,
        "starts": options.startup_runs,
        "pycron": footprint_of(functools.partial(pycron_started, work), "pycron", work, options),
        "debian_cron": cron_footprint(work, options),
    }


def cron_footprint(work: Path, options: argparse.Namespace) -> Result:
    """Debian's cron's footprint, in a namespace made for it (`debian_cron`)."""
    try:
        package = debian_cron.unpack(work / "debian-cron")
        with debian_cron.Namespace(package, work / "debian-cron-files") as namespace:
            starter = functools.partial(cron_started, namespace, work)
            return {"version": package.version, **footprint_of(starter, "cron", work, options)}
    except debian_cron.Unavailable as why:
        return {"skipped": str(why)}
    except BenchError as error:
        return {"error": str(error)}


def footprint_of(start: Starter, label: str, work: Path, options: argparse.Namespace) -> Result:
    """One daemon's costs: CPU to the end of start-up (median of the starts)
    and peak memory on FOOTPRINT_JOBS jobs not due, CPU over the idle window
    of its last start, and CPU to start FOOTPRINT_BURST jobs due at once."""
    text = idle_crontab(FOOTPRINT_JOBS, far_month(0), last_day=False)
    runs = options.startup_runs
    startup_ms: list[float] = []
    result: Result = {}
    for number in range(runs):
        progress(f"footprint, {label}: start {number + 1}/{runs}")
        with start(text, f"footprint-{label}-{number + 1}") as (process, cpu):
            startup_ms.append(round(cpu * 1000, 3))
            result["peak_after_start_mib"] = memory_mb(process.pid).get("peak")
            if number == runs - 1:
                wait_until(time.time() + SETTLE_S, process, f"footprint, {label}: settling")
                result["idle"] = idle_window(process, options.daemon_seconds)
    result["startup_cpu_ms"] = median_of(startup_ms)
    result["startup_cpu_runs_ms"] = startup_ms
    result["peak_mib"] = result["idle"]["memory_mb"].get("peak")
    result["burst"] = footprint_burst(start, label, work)
    return result


def footprint_burst(start: Starter, label: str, work: Path) -> Result:
    """FOOTPRINT_BURST jobs due at the same minute, each writing a stamp
    (`stamp_command`): the daemon's CPU from BEFORE_SLOT_S before the minute
    until the last stamp is there, and until the daemon sleeps again."""
    out = work / f"footprint-{label}-burst.out"
    slot = next_boundary(time.time() + BURST_LEAD_S)
    at = datetime.fromtimestamp(slot)  # local time, as both daemons read a crontab
    line = f"{at.minute} {at.hour} {at.day} {at.month} * {stamp_command(out)}\n"
    what = f"footprint, {label}: burst"
    with start('MAILTO=""\n' + line * FOOTPRINT_BURST, f"footprint-{label}-burst") as (daemon, _):
        if time.time() > slot - BEFORE_SLOT_S:
            raise BenchError(f"{what}: the daemon was not started before its minute")
        wait_until(slot - BEFORE_SLOT_S, daemon, what)
        before = daemon_cpu_s(daemon.pid)
        wait_for_lines(out, FOOTPRINT_BURST, slot + EVENT_TIMEOUT_S, daemon, what, QUIET_POLL_S)
        started = daemon_cpu_s(daemon.pid)
        asleep = cpu_when_asleep(daemon, EVENT_TIMEOUT_S)
    stamps = sorted(moment for moments in read_stamps(out).values() for moment in moments)
    if len(stamps) < FOOTPRINT_BURST:
        raise BenchError(f"{what}: {len(stamps)} of {FOOTPRINT_BURST} jobs started")
    spent_ms = (started - before) * 1000
    return {
        "jobs": FOOTPRINT_BURST,
        "cpu_all_started_ms": round(spent_ms, 3),
        "cpu_per_job_ms": round(spent_ms / FOOTPRINT_BURST, 3),
        "cpu_asleep_again_ms": round((asleep - before) * 1000, 3),
        "first_start_s": round(stamps[0] - slot, 3),
        "last_start_s": round(stamps[-1] - slot, 3),
    }


def footprint_costs() -> list[tuple[str, str, str, float]]:
    """The four costs of the footprint: (key, label, unit, the target it must not exceed)."""
    return [
        ("peak_mib", f"peak RSS with {FOOTPRINT_JOBS:,} jobs", "MiB", GOAL_FOOTPRINT_PEAK_MIB),
        ("idle_ms", "daemon CPU over 60 idle s", "ms", GOAL_FOOTPRINT_IDLE_MS),
        (
            "startup_ms",
            f"start-up CPU, loading {FOOTPRINT_JOBS:,} jobs",
            "ms",
            GOAL_FOOTPRINT_STARTUP_MS,
        ),
        (
            "burst_ms",
            f"daemon CPU to start {FOOTPRINT_BURST} jobs at once",
            "ms",
            GOAL_FOOTPRINT_BURST_MS,
        ),
    ]


def footprint_figures(side: Result) -> dict[str, float | None]:
    """One daemon's four costs, by the keys of `footprint_costs` (None: not measured)."""
    per_60s = (side.get("idle") or {}).get("cpu_per_60s")
    return {
        "peak_mib": side.get("peak_mib"),
        "idle_ms": None if per_60s is None else per_60s * 1000,
        "startup_ms": side.get("startup_cpu_ms"),
        "burst_ms": (side.get("burst") or {}).get("cpu_all_started_ms"),
    }


def cron_missing(cron: Result) -> str:
    """Why Debian's cron has no figures ("" if it has)."""
    if "skipped" in cron:
        return f"Debian's cron skipped: {cron['skipped']}"
    return f"Debian's cron failed: {cron['error']}" if "error" in cron else ""


def footprint_block(result: Result) -> str:
    """The four costs side by side, with the ratio pycron / Debian's cron and the
    targets; then each daemon's details."""
    cron = result["debian_cron"]
    ours, theirs = footprint_figures(result["pycron"]), footprint_figures(cron)
    version = f" {cron['version']}" if "version" in cron else ""
    lines = [
        f"== footprint: pycron beside Debian's cron{version}; {result['jobs']:,} jobs not due,"
        f" then {result['burst_jobs']} due at one minute",
        f"   {'cost':<40} {'pycron':>12} {'Debian cron':>12} {'pycron/cron':>11}   target",
    ]
    for key, label, unit, target in footprint_costs():
        mine, base = ours[key], theirs[key]
        ratio = f"x{mine / base:.1f}" if mine is not None and base else "-"
        lines.append(
            f"   {label:<40} {amount(mine, unit):>12} {amount(base, unit):>12} {ratio:>11}"
            f"   <= {target:g} {unit}"
        )
    for name, side in (("pycron", result["pycron"]), ("Debian cron", cron)):
        lines += footprint_details(name, side) if "burst" in side else [f"   {cron_missing(side)}"]
    lines.append(
        "   (CPU of the daemon process alone, its jobs not counted; start-up ends at pycron's"
        " `ready` line, and when cron first sleeps)"
    )
    window = result["pycron"]["idle"]["window_s"]
    if window < 60 and "idle" in cron:
        lines.append(
            f"   (an idle window of {window:g} s: cron wakes once a minute, in the window or not,"
            " so its idle figure says little)"
        )
    return "\n".join(lines)


def amount(value: float | None, unit: str) -> str:
    """A figure with its unit, "-" without one."""
    if value is None:
        return "-"
    return f"{value:.1f} {unit}" if unit == "MiB" else f"{value:.2f} {unit}"


def footprint_details(name: str, side: Result) -> list[str]:
    """What lies behind one daemon's four costs, on two lines."""
    idle, burst = side["idle"], side["burst"]
    runs = ", ".join(f"{value:.1f}" for value in side["startup_cpu_runs_ms"])
    return [
        f"   {name:<12} start-up CPU of each start {runs} ms; peak RSS after start-up"
        f" {amount(side['peak_after_start_mib'], 'MiB')}; {idle['wake_ups']} wake-ups idle",
        f"   {'':<12} burst: {burst['cpu_per_job_ms']:.2f} ms per job,"
        f" {burst['cpu_asleep_again_ms']:.1f} ms until asleep again; the jobs started"
        f" {burst['first_start_s']:.3f} to {burst['last_start_s']:.3f} s after the minute",
    ]


def footprint_goals(result: Result) -> list[Goal]:
    """The footprint's targets, pycron's figure against each, Debian's cron's beside it."""
    cron = result.get("debian_cron") or {}
    ours = footprint_figures(result.get("pycron") or {})
    theirs = footprint_figures(cron)
    goals = []
    for key, label, unit, target in footprint_costs():
        base = theirs[key]
        detail = cron_missing(cron) if base is None else f"Debian's cron {amount(base, unit)}"
        goals.append(
            goal(label, f"<= {target:g} {unit}", ours[key], target, unit, detail[:120], True)
        )
    return goals


# --------------------------------------------------------------------------- goals


@dataclass
class Goal:
    """One line of the goals block."""

    label: str
    required: str
    measured: str
    met: bool | None  # None: not measured
    detail: str = ""

    @property
    def word(self) -> str:
        """MET, NOT MET or NO DATA."""
        return {True: "MET", False: "NOT MET", None: "NO DATA"}[self.met]


def goal(
    label: str,
    required: str,
    value: float | None,
    limit: float,
    unit: str,
    detail: str,
    at_most: bool = False,
) -> Goal:
    """A goal `value < limit`, or `value <= limit` if `at_most` (NO DATA without a value)."""
    if value is None:
        return Goal(label, required, "-", None, detail)
    shown = f"{value:.3f} {unit}" if unit == "s" else f"{value:.1f} {unit}"
    return Goal(label, required, shown, value <= limit if at_most else value < limit, detail)


def evaluate(results: Result) -> list[Goal]:
    """Every goal of the issue with its measured figure."""
    big = results.get("startup") or {}
    fire = results.get("fire") or {}
    burst = results.get("burst") or {}
    pipeline = results.get("pipeline") or {}
    web = results.get("web") or {}
    trigger = (pipeline.get("trigger_ms") or {}).get("p99")
    watch = (pipeline.get("watch_ms") or {}).get("p99")
    debounce_ms = WATCH_DEBOUNCE_S * 1000
    startup = (big.get("startup") or {}).get("to_load_ms")
    ready = (big.get("startup") or {}).get("to_ready_ms")
    reload = big.get("reload") or {}
    sighup = [value for value in (reload.get("sighup_median_ms") or {}).values() if value]
    edit = median_of(reload.get("file_edit_ms") or [])
    first = median_of(reload.get("file_edit_first_start_ms") or [])
    idle = (big.get("idle") or {}).get("cpu_per_60s")
    every = ((fire.get("every") or {}).get("latency_ms") or {}).get("p99")
    minute = ((fire.get("minute") or {}).get("latency_ms") or {}).get("p99")
    rounds = burst.get("rounds") or []
    complete = sum(r["started"] == burst.get("jobs") for r in rounds)
    worst = worst_round(rounds, burst.get("jobs"))
    jobs = big.get("jobs", results["settings"]["jobs"])
    return [
        goal(
            f"start-up to `load`, {jobs:,} jobs",
            "< 1 s",
            None if startup is None else startup / 1000,
            GOAL_STARTUP_S,
            "s",
            "median, whole process",
        ),
        goal(
            f"start-up to the first plan, {jobs:,} jobs",
            "< 250 ms",
            ready,
            GOAL_FIRST_PLAN_S * 1000,
            "ms",
            "median, whole process, to the `ready` line",
        ),
        goal(
            f"reload after SIGHUP, {jobs:,} jobs",
            "< 1 s",
            max(sighup) / 1000 if sighup else None,
            GOAL_RELOAD_S,
            "s",
            f"worst median of {len(sighup)} cases" if sighup else "",
        ),
        goal(
            f"crontab written to `reload`, {jobs:,} jobs",
            "< 100 ms",
            edit,
            GOAL_EDIT_RELOAD_MS,
            "ms",
            "median, no signal",
        ),
        goal(
            "crontab written to a new `@every 1s` job's start",
            "< 1.1 s",
            None if first is None else first / 1000,
            GOAL_EDIT_FIRST_START_S,
            "s",
            "median",
        ),
        goal(f"idle CPU per 60 s, {jobs:,} jobs", "< 0.1 s", idle, GOAL_IDLE_CPU_S, "s", ""),
        goal("fire latency p99, @every 1s", "< 20 ms", every, GOAL_FIRE_P99_MS, "ms", ""),
        goal("fire latency p99, minute boundary", "< 20 ms", minute, GOAL_FIRE_P99_MS, "ms", ""),
        goal(
            f"burst of {burst.get('jobs', results['settings']['burst_jobs'])}: all started",
            "< 2 s",
            worst,
            GOAL_BURST_S,
            "s",
            f"worst of {complete} complete rounds" if rounds else "",
        ),
        goal(
            "upstream end to @after start, p99", "< 50 ms", trigger, GOAL_TRIGGER_P99_MS, "ms", ""
        ),
        goal(
            "file written to @watch start, p99",
            f"< {debounce_ms + GOAL_WATCH_OVER_DEBOUNCE_P99_MS:.0f} ms",
            watch,
            debounce_ms + GOAL_WATCH_OVER_DEBOUNCE_P99_MS,
            "ms",
            f"debounce {WATCH_DEBOUNCE_S:g} s",
        ),
        *web_goals(web),
        *cluster_goals(results.get("cluster") or {}),
        *footprint_goals(results.get("footprint") or {}),
    ]


def web_goals(web: Result) -> list[Goal]:
    """The page's goals: each compares two figures of the same run."""
    quiet = ((web.get("fire_quiet") or {}).get("latency_ms") or {}).get("p99")
    polled = ((web.get("fire_polled") or {}).get("latency_ms") or {}).get("p99")
    plain = (web.get("idle_plain") or {}).get("cpu_per_60s")
    served = (web.get("idle_http") or {}).get("cpu_per_60s")
    return [
        goal(
            "fire latency p99, page polled",
            f"< +{GOAL_WEB_FIRE_OVER_MS:g} ms",
            None if quiet is None or polled is None else polled - quiet,
            GOAL_WEB_FIRE_OVER_MS,
            "ms",
            "over the same daemon without a client" if quiet is not None else "",
        ),
        goal(
            "idle CPU per 60 s, --http serving nobody",
            f"< +{GOAL_WEB_IDLE_OVER_S * 1000:g} ms",
            None if plain is None or served is None else (served - plain) * 1000,
            GOAL_WEB_IDLE_OVER_S * 1000,
            "ms",
            "over a daemon without --http" if plain is not None else "",
        ),
    ]


def cluster_goals(cluster: Result) -> list[Goal]:
    """Fire latency p99 of a cluster, on each backend: a cluster that ran a run
    twice, or not at all, does not meet it, whatever its latency."""
    goals = []
    for backend in CLUSTER_BACKENDS:
        figures = cluster.get(backend) or {}
        latency = (figures.get("fire") or {}).get("latency_ms") or {}
        errors = figures.get("errors") or []
        detail = figures.get("skipped") or "; ".join(errors)
        if not detail and latency:
            detail = f"n={latency['n']}, each slot run once"
        item = goal(
            f"cluster of {CLUSTER_MEMBERS}, fire latency p99, {backend}",
            f"< {GOAL_CLUSTER_FIRE_P99_MS:g} ms",
            latency.get("p99"),
            GOAL_CLUSTER_FIRE_P99_MS,
            "ms",
            detail[:120],
        )
        if errors and item.met:
            item.met = False
        goals.append(item)
    return goals


def goals_block(goals: Sequence[Goal], caveat: str) -> str:
    """The final block: each goal, the measured figure and MET / NOT MET."""
    width = max(len(g.label) for g in goals)
    lines = ["== daemon goals" + (f" ({caveat})" if caveat else "")]
    for item in goals:
        line = f"  {item.label:<{width}}  {item.required:<8}  {item.measured:>9}  {item.word:<7}"
        lines.append((line + f"  {item.detail}" if item.detail else line).rstrip())
    return "\n".join(lines)


# --------------------------------------------------------------------------- the run


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or what platform knows)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def git_revision() -> str:
    """The work tree's commit, with "+dirty" if pycron/ has changes ("?" without git)."""
    try:
        head, dirty = (
            subprocess.run(
                ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
            ).stdout.strip()
            for args in (
                ["rev-parse", "--short", "HEAD"],
                ["status", "--porcelain", "--", "pycron"],
            )
        )
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return head + ("+dirty" if dirty else "")


def machine() -> Result:
    """What the figures were measured on."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "shell": os.path.realpath("/bin/sh"),
        "pycron_revision": git_revision(),
    }


def print_machine(info: Result) -> None:
    """The machine lines of the report's header."""
    print(f"  cpu      {info['cpu']} ({info['cores']} cores, {info['usable_cores']} usable)")
    print(f"  load     {info['load_average']} (1, 5, 15 min)")
    print(f"  python   {info['python']} on {info['platform']}")
    print(f"  pycron   revision {info['pycron_revision']}; jobs run by {info['shell']}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line; --quick changes the defaults of the sizes it names."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run, figures rough")
    parser.add_argument(
        "--parts",
        metavar="KEYS",
        default=",".join(PARTS),
        help="comma-separated parts: inprocess, startup (start-up, idle and reload), fire, "
        "burst, pipeline, web (the status page), cluster (three daemons on each backend), "
        "footprint (memory and CPU beside Debian's cron)",
    )
    parser.add_argument("--jobs", type=int, default=10_000, help="jobs of the big crontab")
    parser.add_argument(
        "--daemon-seconds", type=float, help="idle window in seconds (default 60, quick 15)"
    )
    parser.add_argument("--startup-runs", type=int, help="daemon starts (default 3, quick 1)")
    parser.add_argument("--reload-runs", type=int, help="reloads of each kind (default 3, quick 1)")
    parser.add_argument(
        "--minute",
        action=argparse.BooleanOptionalAction,
        help="measure `* * * * *` jobs on minute boundaries (default on, off with --quick)",
    )
    parser.add_argument("--minute-boundaries", type=int, default=2, help="boundaries (default 2)")
    parser.add_argument("--minute-jobs", type=int, default=5, help="minute jobs (default 5)")
    parser.add_argument(
        "--every-seconds",
        type=float,
        help="how long the @every 1s job runs without the minute part (default 60, quick 10)",
    )
    parser.add_argument("--burst-jobs", type=int, default=500, help="jobs of the burst")
    parser.add_argument("--burst-rounds", type=int, help="bursts (default 2, quick 1)")
    parser.add_argument(
        "--pipeline-seconds",
        type=float,
        help="how long the pipeline part runs (default 25, quick 10)",
    )
    parser.add_argument(
        "--web-seconds", type=float, help="each window of the web part (default 30, quick 10)"
    )
    parser.add_argument(
        "--cluster-seconds",
        type=float,
        help="the fire window of each cluster (default 30, quick 10)",
    )
    parser.add_argument(
        "--cluster-postgresql",
        metavar="URL",
        default=CLUSTER_POSTGRESQL,
        help="a PostgreSQL server where each cluster gets a database of its own, made and "
        f"dropped here (default {CLUSTER_POSTGRESQL})",
    )
    parser.add_argument(
        "--cluster-redis",
        metavar="URL",
        default=CLUSTER_REDIS,
        help="a Redis server where each cluster gets a key prefix of its own, its keys "
        f"deleted after (default {CLUSTER_REDIS})",
    )
    parser.add_argument("--json", type=Path, default=RESULTS, help="results file (key 'daemon')")
    args = parser.parse_args(argv)
    quick = args.quick
    args.daemon_seconds = args.daemon_seconds or (15.0 if quick else 60.0)
    args.startup_runs = args.startup_runs or (1 if quick else 3)
    args.reload_runs = args.reload_runs or (1 if quick else 3)
    args.minute = (not quick) if args.minute is None else args.minute
    args.every_seconds = args.every_seconds or (10.0 if quick else 60.0)
    args.burst_rounds = args.burst_rounds or (1 if quick else 2)
    args.pipeline_seconds = args.pipeline_seconds or (10.0 if quick else 25.0)
    args.web_seconds = args.web_seconds or (10.0 if quick else 30.0)
    args.cluster_seconds = args.cluster_seconds or (10.0 if quick else 30.0)
    args.parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    unknown = [part for part in args.parts if part not in PARTS]
    if unknown:
        parser.error(f"unknown part {', '.join(unknown)}; known: {', '.join(PARTS)}")
    return args


def attempt(label: str, measure: Callable[[], Result], block: Callable[[Result], str]) -> Result:
    """Run one part and print its block with the machine's load meanwhile; a part
    that fails (whatever the error: the daemon's code may change under it) says
    why and gives {"error": ...}, and the others still run."""
    before = os.getloadavg()[0]
    try:
        result = measure()
    except Exception as error:  # reported; the next part runs
        message = str(error) if isinstance(error, BenchError) else repr(error)
        print(f"== {label}: FAILED: {message}\n", flush=True)
        return {"error": message}
    after = os.getloadavg()[0]
    result["load_average_1min"] = [round(before, 2), round(after, 2)]
    print(block(result), flush=True)
    print(f"   (load average, 1 min: {before:.2f} before, {after:.2f} after)\n", flush=True)
    return result


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt meanwhile, so the daemons get stopped."""

    def interrupt(_number: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_benchmark(options: argparse.Namespace, *, header: bool = True) -> Result:
    """Every part asked for, printed as it ends; the results for the JSON file."""
    began = time.monotonic()
    info = machine()
    bin_dir, problem = ensure_release_env(ROOT, RELEASE_ENV)
    DAEMON_PYTHON[0] = str(bin_dir / "python") if bin_dir is not None else sys.executable
    info["daemon_python"] = DAEMON_PYTHON[0] if bin_dir is not None else f"this one ({problem})"
    print("pycron daemon benchmark")
    if header:
        print_machine(info)
    print(f"  daemons  run by {info['daemon_python']}")
    print(
        f"  daemon   {options.jobs:,} jobs, idle window {options.daemon_seconds:g} s,"
        f" minute part {'on' if options.minute else 'off'}, burst of {options.burst_jobs}"
        + (" (QUICK RUN)" if options.quick else "")
    )
    print(flush=True)
    results: Result = {
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": info,
        "settings": {
            key: getattr(options, key)
            for key in (
                "quick",
                "parts",
                "jobs",
                "daemon_seconds",
                "startup_runs",
                "reload_runs",
                "minute",
                "minute_boundaries",
                "minute_jobs",
                "every_seconds",
                "burst_jobs",
                "burst_rounds",
                "pipeline_seconds",
                "web_seconds",
                "cluster_seconds",
            )
        },
    }
    parts = options.parts
    with interruptible(), tempfile.TemporaryDirectory(prefix="pycron-bench-daemon-") as name:
        work = Path(name)
        if "inprocess" in parts:
            results["inprocess"] = attempt(
                "in process",
                lambda: measure_in_process(work, options.jobs, 3 if options.quick else 5),
                in_process_block,
            )
        if "startup" in parts:
            results["startup"] = attempt(
                "start-up, idle, reload", lambda: measure_big(work, options), big_block
            )
        if "fire" in parts:
            estimate = ((results.get("startup") or {}).get("startup") or {}).get("to_start_line_ms")
            start = estimate / 1000 if estimate else START_LINE_ESTIMATE_S
            results["fire"] = attempt(
                "fire latency", lambda: measure_fire(work, options, start), fire_block
            )
        if "burst" in parts:
            results["burst"] = attempt("burst", lambda: measure_burst(work, options), burst_block)
        if "pipeline" in parts:
            results["pipeline"] = attempt(
                "pipeline", lambda: measure_pipeline(work, options), pipeline_block
            )
        if "web" in parts:
            results["web"] = attempt(
                "the status page", lambda: measure_web(work, options), web_block
            )
        if "cluster" in parts:
            single = single_daemon(results)
            results["cluster"] = attempt(
                "cluster", lambda: measure_cluster(work, options, single), cluster_block
            )
        if "footprint" in parts:
            results["footprint"] = attempt(
                "footprint", lambda: measure_footprint(work, options), footprint_block
            )
    goals = evaluate(results)
    caveats = ["quick run"] if options.quick else []
    if len(parts) < len(PARTS):
        caveats.append("some parts only")
    print(goals_block(goals, ", ".join(caveats)))
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(
        f"  load average at the start {info['load_average']}, at the end"
        f" {results['load_average_at_end']}"
    )
    results["goals"] = [
        {
            "goal": item.label,
            "required": item.required,
            "measured": item.measured,
            "result": item.word,
            "detail": item.detail,
        }
        for item in goals
    ]
    results["seconds"] = round(time.monotonic() - began, 1)
    return results


def save(results: Result, path: Path) -> None:
    """Put the results under "daemon" in the JSON file, keeping what else it holds."""
    document: Result = {}
    with contextlib.suppress(OSError, ValueError):
        loaded = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(loaded, dict):
            document = loaded
    document["daemon"] = results
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print and save; the exit status is 0 whatever the figures."""
    options = parse_args(argv)
    try:
        results = run_benchmark(options)
    except KeyboardInterrupt:
        print("\ninterrupted; every daemon and job of the benchmark was stopped", file=sys.stderr)
        return 130
    save(results, options.json)
    print(f"\nresults written to {options.json} (key 'daemon'); took {results['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
