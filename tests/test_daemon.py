"""The daemon as a real process: `python -m pycron ... daemon` in a temporary
directory, real time, real signals, real jobs.

Every test writes a private crontab whose jobs write what they did into files
under the test's directory and carry a unique `PYCRON_TEST_TAG` in their
environment, so that the teardown can find and kill every job process group a
test leaves behind (jobs run in sessions of their own, so killing a daemon
does not kill them). Waits poll with deadlines; schedules are `@every 1s` and
`@at` a moment away, so nothing waits for a minute boundary.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

import pytest

from pycron.daemon import MAX_SLEEP
from pycron.records import Outcome
from pycron.store import INTERRUPTED_MESSAGE, RunRecord
from pycron.store.sqlite import SQLiteStore

T = TypeVar("T")

# A job's own record of when it started (`%` must be escaped in a crontab).
STAMP = r"date +\%s.\%N"
# A one-shot that never comes due while a test runs.
LATER = "# pycron: name=later\n@at 2099-01-01T00:00:00+00:00 true\n"
START_TIMEOUT = 15.0  # seconds for a daemon to start up on a slow, busy machine
# Seconds that bound what takes milliseconds (a signal's effect, a process's
# end) on a machine however busy: far below the waits they are told from.
PROMPTLY = 8.0
LOGGED = 0.001  # the daemon's log stamps its lines to the millisecond, cut


def wait_until(predicate: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll `predicate` until it returns something true; return that, or fail
    after `timeout` seconds saying `what` did not happen."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def at(seconds: float) -> str:
    """An `@at` moment this many seconds from now (UTC, aware)."""
    moment = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds")


def log_time(match: re.Match[str]) -> float:
    """The time stamp (first group) of a matched text log line, as epoch seconds."""
    return datetime.fromisoformat(match.group(1)).timestamp()


class Daemon:
    """One `pycron daemon` process and the files its stdout and stderr go to."""

    def __init__(self, process: subprocess.Popen[bytes], stdout: Path, stderr: Path) -> None:
        self.process = process
        self.stdout = stdout
        self.stderr = stderr

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.stderr.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float = START_TIMEOUT) -> re.Match[str]:
        """Wait until a line of the log matches `pattern` (a multiline regex);
        fail at once, showing the log, if the daemon exits without it."""
        regex = re.compile(pattern, re.MULTILINE)

        def found() -> re.Match[str] | None:
            exited = self.process.poll() is not None
            match = regex.search(self.log())
            if match is None and exited:
                raise AssertionError(f"the daemon exited before {pattern!r}:\n{self.log()}")
            return match

        return wait_until(found, timeout, f"{pattern!r} in the daemon's log")

    def send(self, number: signal.Signals) -> float:
        """Send a signal; returns when (epoch seconds)."""
        sent = time.time()
        os.kill(self.pid, number)
        return sent

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)


class Sandbox:
    """A test's crontab, state directory and daemons, in its own directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.crontab = root / "crontab"
        self.state = root / "state"
        self.tag = uuid.uuid4().hex
        self.daemons: list[Daemon] = []

    @property
    def header(self) -> str:
        """Env lines on top of every crontab: jobs start in the test's
        directory and carry the tag that the teardown looks for."""
        return f"HOME={self.root}\nPYCRON_TEST_TAG={self.tag}\n"

    def write(self, body: str) -> None:
        """Install a crontab the way editors and `pycron add` do: a new file
        renamed over the old one (a new inode)."""
        temporary = self.crontab.with_name("crontab.new")
        temporary.write_text(self.header + body)
        os.replace(temporary, self.crontab)

    def start(self, *args: str, env: dict[str, str] | None = None) -> Daemon:
        """Start `pycron daemon ARGS` on this crontab and state directory, with
        `env` added to this process's environment."""
        number = len(self.daemons)
        stdout = self.root / f"daemon-{number}.stdout"
        stderr = self.root / f"daemon-{number}.stderr"
        command = [sys.executable, "-m", "pycron", "--crontab", str(self.crontab)]
        command += ["--state-dir", str(self.state), "daemon", *args]
        with stdout.open("wb") as out, stderr.open("wb") as err:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=self.root,
                env={**os.environ, **(env or {})},
            )
        daemon = Daemon(process, stdout, stderr)
        self.daemons.append(daemon)
        return daemon

    def runs(self, job_id: str | None = None) -> list[RunRecord]:
        """The recorded attempts (of one job), oldest first."""
        if not (self.state / "history.db").exists():
            return []
        with SQLiteStore.open(self.state) as history:
            return history.runs(job_id)[::-1]

    def running(self, job_id: str) -> list[RunRecord]:
        """Runs of the job whose process has started (its pid is recorded)."""
        return [r for r in self.runs(job_id) if r.outcome is Outcome.RUNNING and r.pid is not None]

    def ended(self, job_id: str | None = None) -> list[RunRecord]:
        """Runs that have ended (not queued, not running)."""
        waiting = (Outcome.QUEUED, Outcome.RUNNING)
        return [r for r in self.runs(job_id) if r.outcome not in waiting]

    def lines(self, name: str) -> list[str]:
        """The lines jobs wrote into a file of the test's directory."""
        path = self.root / name
        return path.read_text().splitlines() if path.exists() else []

    def stamps(self, name: str) -> list[float]:
        return [float(line) for line in self.lines(name)]

    def tagged(self) -> list[int]:
        """Live processes that carry this test's tag: its jobs and their children."""
        needle = f"PYCRON_TEST_TAG={self.tag}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if needle in environ.split(b"\0"):
                found.append(int(entry.name))
        return found

    def cleanup(self) -> None:
        """Kill the daemons still running, then every process group of the jobs."""
        for daemon in self.daemons:
            if daemon.process.poll() is None:
                daemon.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                daemon.process.wait(timeout=10)
        own_group = os.getpgrp()
        for pid in self.tagged():
            with contextlib.suppress(OSError):
                group = os.getpgid(pid)
                if group != own_group:
                    os.killpg(group, signal.SIGKILL)


def group_gone(group: int) -> bool:
    """Whether no process of the group is left, zombies included (init may
    take a moment to reap the orphans of a daemon killed with -9; if this test
    process became a subreaper by running a job itself, they are its own)."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-group, os.WNOHANG)[0]:
            pass
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return True
    return False


def stop(daemon: Daemon, timeout: float = 10.0) -> int:
    """SIGTERM the daemon and return its exit code."""
    daemon.send(signal.SIGTERM)
    return daemon.wait(timeout)


# --------------------------------------------------------------------------- timing


def test_every_second_job_fires_on_time(sandbox: Sandbox) -> None:
    sandbox.write(f"# pycron: name=tick\n@every 1s {STAMP} >> {sandbox.root}/tick.txt\n")
    launched = time.time()
    daemon = sandbox.start()
    started = log_time(daemon.wait_for(r"^(\S+) info +start +crontab="))

    wait_until(lambda: len(sandbox.ended("tick")) >= 5, 10, "five runs of the tick")
    fifth = time.time()
    assert stop(daemon) == 0

    # A sixth run may have come before the stop (or been left queued by it).
    records = sandbox.ended()
    assert len(records) >= 5, records
    assert all(r.outcome is Outcome.SUCCESS for r in records), records  # none skipped or missed
    slots = [r.scheduled_for for r in records]
    # Whole seconds from the daemon's start, none left out or twice, no drift:
    # the first within a second of it (its log line, to the millisecond, comes after it).
    assert [slot - slots[0] for slot in slots] == [timedelta(seconds=n) for n in range(len(slots))]
    assert launched < slots[0].timestamp() <= started + 1.0 + LOGGED
    assert fifth - slots[0].timestamp() >= 4.0  # whole seconds apart, never early
    # Each job started at or after its slot, by its own clock (how soon after is
    # the benchmark's fire latency: a loaded machine must not fail a test).
    stamps = sandbox.stamps("tick.txt")
    assert len(stamps) == len(slots)
    assert all(stamp >= slot.timestamp() for stamp, slot in zip(stamps, slots, strict=True))


def test_a_dash_job_is_recorded_but_not_logged(sandbox: Sandbox) -> None:
    # cron's `-` before the schedule: "do not log this job" (failures still are).
    sandbox.write(
        "# pycron: name=quiet\n-@every 1s true\n"
        "# pycron: name=loud\n@every 1s true\n"
        "# pycron: name=failing\n-@every 1s false\n"
    )
    daemon = sandbox.start()
    wait_until(lambda: len(sandbox.ended("quiet")) >= 2, 10, "two quiet runs")
    wait_until(lambda: len(sandbox.ended("failing")) >= 2, 10, "two failing runs")
    assert stop(daemon) == 0
    log = daemon.log()
    assert "job=loud" in log
    assert "job=quiet" not in log
    assert re.search(r"warning +end +job=failing .*outcome=failed", log)
    assert "job=failing run=" in log
    assert not re.search(r" start +job=failing", log)


# --------------------------------------------------------------------------- stopping


def test_sigterm_stops_a_long_job_after_the_grace(sandbox: Sandbox) -> None:
    sandbox.write(
        f"# pycron: name=long\n@at {at(0.3)} echo $$ > {sandbox.root}/long.pid; sleep 60\n"
    )
    daemon = sandbox.start("--shutdown-grace", "1")
    wait_until(lambda: sandbox.running("long"), START_TIMEOUT, "the long job to start")
    (job_pid,) = map(int, wait_until(lambda: sandbox.lines("long.pid"), 5, "the job's pid"))

    sent = daemon.send(signal.SIGTERM)
    assert daemon.wait(timeout=30) == 0
    exited = time.time() - sent

    # The grace of 1 s, then the job is stopped: not before, and long before its end.
    assert 0.9 <= exited < 1.0 + PROMPTLY
    (record,) = sandbox.runs("long")
    assert record.outcome is Outcome.INTERRUPTED
    assert record.pid == job_pid
    assert record.finished is not None
    assert 0.9 <= record.finished.timestamp() - sent < 1.0 + PROMPTLY
    assert not sandbox.tagged()  # the job's whole process group is gone
    log = daemon.log()
    assert re.search(r" info +drain +running=1 grace=1.0s$", log, re.MULTILINE), log
    assert re.search(r" warning +end +job=long .*outcome=interrupted", log), log


def test_sigterm_lets_a_short_job_finish_within_the_grace(sandbox: Sandbox) -> None:
    root = sandbox.root
    sandbox.write(
        f"# pycron: name=short\n@at {at(0.3)} sleep 2; echo done > {root}/short.done\n"
        "# pycron: name=tick\n@every 1s true\n"
    )
    daemon = sandbox.start("--shutdown-grace", "30")
    wait_until(lambda: sandbox.running("short"), START_TIMEOUT, "the short job to start")

    sent = daemon.send(signal.SIGTERM)
    assert daemon.wait(timeout=30) == 0
    exited = time.time()

    (record,) = sandbox.runs("short")
    assert record.outcome is Outcome.SUCCESS
    assert (root / "short.done").read_text() == "done\n"
    assert record.finished is not None
    # The daemon left as soon as its job was done, not at the end of the grace.
    assert exited - record.finished.timestamp() < PROMPTLY
    assert exited - sent < 2.0 + PROMPTLY
    # Draining starts nothing new: no tick planned after the daemon took the
    # signal (one planned before may start a moment after).
    taken = daemon.wait_for(r"^(\S+) info +signal +name=SIGTERM action=drain$")
    ticks = [r.scheduled_for.timestamp() for r in sandbox.runs("tick")]
    assert all(slot <= log_time(taken) + LOGGED for slot in ticks)
    assert not sandbox.tagged()


def test_second_sigint_stops_running_jobs_at_once(sandbox: Sandbox) -> None:
    sandbox.write(f"# pycron: name=long\n@at {at(0.3)} sleep 60\n")
    daemon = sandbox.start("--shutdown-grace", "30")
    wait_until(lambda: sandbox.running("long"), START_TIMEOUT, "the long job to start")

    daemon.send(signal.SIGINT)
    daemon.wait_for(r" info +signal +name=SIGINT action=drain$")
    daemon.wait_for(r" info +drain +running=1 grace=30.0s$")
    assert daemon.process.poll() is None
    assert sandbox.running("long")  # the grace is 30 s: the job goes on

    sent = daemon.send(signal.SIGINT)
    assert daemon.wait(timeout=30) == 0
    assert time.time() - sent < PROMPTLY  # not the 30 s of the grace
    assert 'action="stop now"' in daemon.log()
    (record,) = sandbox.runs("long")
    assert record.outcome is Outcome.INTERRUPTED
    assert not sandbox.tagged()


# --------------------------------------------------------------------------- reload

ADDED = f"# pycron: name=added\n@every 1s {STAMP} >> {{root}}/added.txt\n"


def test_an_edit_is_noticed_without_a_signal(sandbox: Sandbox) -> None:
    sandbox.write(LATER)
    daemon = sandbox.start()
    daemon.wait_for(r" info +load +jobs=1 errors=0$")
    edited = time.time()
    sandbox.write(LATER + ADDED.format(root=sandbox.root))

    match = daemon.wait_for(r"^(\S+) info +reload +jobs=2 errors=0 changed=added$", 10)
    # The daemon sleeps at most MAX_SLEEP between looks at the file.
    assert -0.01 <= log_time(match) - edited <= MAX_SLEEP + 0.5
    wait_until(lambda: sandbox.ended("added"), 5, "the added job to run")
    assert sandbox.stamps("added.txt")
    assert daemon.process.poll() is None
    assert daemon.log().count(" start      crontab=") == 1  # no restart


def test_sighup_reloads_at_once_even_if_the_file_looks_unchanged(sandbox: Sandbox) -> None:
    added = ADDED.format(root=sandbox.root)
    # Same size, written in place (same inode), mtime put back: only a SIGHUP
    # can tell the daemon about this edit.
    padding = "#" + "x" * (len(added) - 2) + "\n"
    sandbox.write(LATER + padding)
    daemon = sandbox.start()
    daemon.wait_for(r" info +load +jobs=1 errors=0$")
    before = sandbox.crontab.stat()
    with sandbox.crontab.open("r+b") as file:
        file.write((sandbox.header + LATER + added).encode())
    os.utime(sandbox.crontab, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = sandbox.crontab.stat()
    assert (after.st_mtime_ns, after.st_size, after.st_ino) == (
        before.st_mtime_ns,
        before.st_size,
        before.st_ino,
    )

    sent = daemon.send(signal.SIGHUP)
    daemon.wait_for(r" info +signal +name=SIGHUP action=reload$")
    match = daemon.wait_for(r"^(\S+) info +reload +jobs=2 errors=0 changed=added$", 5)
    assert log_time(match) - sent < 0.5
    wait_until(lambda: sandbox.ended("added"), 5, "the added job to run")
    assert daemon.process.poll() is None


def test_a_broken_edit_keeps_the_old_jobs_running(sandbox: Sandbox) -> None:
    root = sandbox.root
    tick = f"{STAMP} >> {root}/tick.txt"
    sandbox.write(f"# pycron: name=tick\n@every 1s {tick}\n")
    daemon = sandbox.start()
    wait_until(lambda: sandbox.stamps("tick.txt"), START_TIMEOUT, "a first tick")

    # Line 4 (after the two header lines) breaks the tick's schedule; a good
    # new job comes with the same edit.
    sandbox.write(
        f"# pycron: name=tick\n* 25 * * * {tick}\n"
        f"# pycron: name=fresh\n@every 1s {STAMP} >> {root}/fresh.txt\n"
    )
    sent = daemon.send(signal.SIGHUP)
    daemon.wait_for(r" info +reload +jobs=2 errors=1 changed=fresh$", 5)
    log = daemon.log()
    where = re.escape(f"{sandbox.crontab}:4:3")
    assert re.search(rf" error +error +where={where} message=", log), log
    assert "hour: value 25 out of range 0-23" in log
    assert re.search(r" warning +keep +job=tick message=", log), log

    # The tick runs on from the previous version, and the new job runs too.
    wait_until(
        lambda: len([s for s in sandbox.stamps("tick.txt") if s > sent]) >= 2,
        5,
        "two ticks after the broken edit",
    )
    wait_until(lambda: sandbox.stamps("fresh.txt"), 5, "the fresh job to run")
    assert all(r.outcome is Outcome.SUCCESS for r in sandbox.ended("tick"))
    assert daemon.process.poll() is None

    # Fixed: the file is taken as it is, without errors.
    sandbox.write(f"# pycron: name=tick\n@every 1s {tick}\n")
    daemon.send(signal.SIGHUP)
    daemon.wait_for(r" info +reload +jobs=1 errors=0 changed=fresh$", 5)
    assert stop(daemon) == 0


# --------------------------------------------------------------------------- crash


@pytest.mark.parametrize(
    ("policy", "reruns"),
    [
        pytest.param("latest", 1, id="latest-runs-the-slot-again-once"),
        pytest.param("none", 0, id="none-leaves-it"),
    ],
)
def test_kill_9_mid_run_then_restart(sandbox: Sandbox, policy: str, reruns: int) -> None:
    root = sandbox.root
    sandbox.write(
        f"# pycron: name=long catch-up={policy}\n"
        f"@at {at(0.3)} echo $$ >> {root}/long.pids; sleep 30\n"
        f"# pycron: name=tick\n@every 1s true\n"
    )
    first = sandbox.start()
    (orphan,) = wait_until(lambda: sandbox.running("long"), START_TIMEOUT, "the long job")
    first.process.kill()
    assert first.wait(timeout=10) == -signal.SIGKILL
    job = orphan.pid
    assert job is not None
    os.killpg(job, signal.SIGKILL)  # its job dies too, as under a service manager
    wait_until(lambda: group_gone(job), 10, "the killed job to be reaped")
    (evidence,) = sandbox.runs("long")
    assert evidence.outcome is Outcome.RUNNING  # nobody completed the record

    second = sandbox.start("--shutdown-grace", "0")
    second.wait_for(rf" warning +interrupted +job=long run={evidence.id} scheduled=")
    # Once the tick has run, the restarted daemon has planned for a while.
    wait_until(
        lambda: [r for r in sandbox.ended("tick") if r.recorder_pid == second.pid],
        START_TIMEOUT,
        "a tick of the restarted daemon",
    )
    if reruns:
        wait_until(lambda: len(sandbox.lines("long.pids")) == 2, 5, "the run again")
    assert stop(second) == 0

    records = sandbox.runs("long")
    assert len(records) == 1 + reruns, records
    assert len(sandbox.lines("long.pids")) == 1 + reruns
    assert records[0].outcome is Outcome.INTERRUPTED
    assert records[0].message == INTERRUPTED_MESSAGE
    for record in records[1:]:  # the same slot, stopped by the shutdown
        assert record.scheduled_for == records[0].scheduled_for
        assert record.recorder_pid == second.pid
        assert record.outcome is Outcome.INTERRUPTED


def test_kill_9_mid_run_does_not_double_a_job_that_survived(sandbox: Sandbox) -> None:
    # The job runs in a session of its own, so it outlives a daemon killed
    # with -9 (outside a service manager that kills the whole cgroup).
    root = sandbox.root
    sandbox.write(
        f"# pycron: name=long catch-up=latest\n"
        f"@at {at(0.3)} echo $$ >> {root}/long.pids; sleep 30\n"
        f"# pycron: name=tick\n@every 1s true\n"
    )
    first = sandbox.start()
    (orphan,) = wait_until(lambda: sandbox.running("long"), START_TIMEOUT, "the long job")
    first.process.kill()
    first.wait(timeout=10)
    assert orphan.pid is not None

    second = sandbox.start("--shutdown-grace", "0")
    second.wait_for(
        rf" warning +orphan +job=long run={orphan.id} scheduled=\S+ "
        rf'message="pycron gone, its job \(pid {orphan.pid}\) still runs: not run again"$'
    )
    wait_until(
        lambda: [r for r in sandbox.ended("tick") if r.recorder_pid == second.pid],
        START_TIMEOUT,
        "a tick of the restarted daemon",
    )
    assert not group_gone(orphan.pid)  # still running: its slot is being served
    assert len(sandbox.lines("long.pids")) == 1
    (record,) = sandbox.runs("long")
    assert record.outcome is Outcome.RUNNING  # it is: pycron is gone, its job is not
    # Once it ends, the daemon that watches it marks it interrupted (its end was unseen).
    os.killpg(orphan.pid, signal.SIGKILL)
    second.wait_for(rf" warning +interrupted +job=long run={orphan.id}$")
    (record,) = sandbox.runs("long")
    assert record.outcome is Outcome.INTERRUPTED
    assert len(sandbox.lines("long.pids")) == 1  # and it is not run again
    assert stop(second) == 0


# --------------------------------------------------------------------------- parallelism


def test_max_parallel_bounds_the_jobs_running_at_once(sandbox: Sandbox) -> None:
    root = sandbox.root
    when = at(0.5)
    command = (
        f"echo start $({STAMP}) >> {root}/parallel.log; sleep 0.5; "
        f"echo end $({STAMP}) >> {root}/parallel.log"
    )
    sandbox.write("".join(f"# pycron: name=p{n:02}\n@at {when} {command}\n" for n in range(30)))
    daemon = sandbox.start("--max-parallel", "5")
    wait_until(lambda: len(sandbox.ended()) == 30, 30, "30 runs to end")
    assert stop(daemon) == 0

    records = sandbox.runs()
    assert len(records) == 30
    assert all(r.outcome is Outcome.SUCCESS for r in records)
    # Concurrency by the jobs' own clocks: +1 at a start, -1 at an end.
    changes = []
    for line in sandbox.lines("parallel.log"):
        what, stamp = line.split()
        changes.append((float(stamp), -1 if what == "end" else 1))
    assert len(changes) == 60
    # Never more than 5; several at once (all 5 on a quiet machine, but how many
    # overlap in half a second depends on how fast a loaded one starts them).
    assert 2 <= peak(changes) <= 5
    # And by the history's start and end of each attempt.
    recorded = []
    for record in records:
        assert record.finished is not None
        recorded += [(record.started.timestamp(), 1), (record.finished.timestamp(), -1)]
    assert peak(recorded) <= 5


def peak(changes: list[tuple[float, int]]) -> int:
    """The most at once, from (time, +1 start / -1 end); ends first at a tie."""
    running = highest = 0
    for _, change in sorted(changes):
        running += change
        highest = max(highest, running)
    return highest


# --------------------------------------------------------------------------- one daemon


def test_a_second_daemon_on_the_same_state_dir_exits_1(sandbox: Sandbox) -> None:
    sandbox.write("# pycron: name=tick\n@every 1s true\n")
    first = sandbox.start()
    first.wait_for(r" info +load +jobs=1 errors=0$")

    second = sandbox.start()
    assert second.wait(timeout=START_TIMEOUT) == 1
    assert f"pycron: error: another pycron daemon (pid {first.pid}) is running on " in (
        second.log()
    )
    assert second.stdout.read_bytes() == b""
    # The first one goes on, undisturbed, and keeps its pid file.
    assert (sandbox.state / "daemon.pid").read_text() == f"{first.pid}\n"
    failed = datetime.now(timezone.utc)
    wait_until(
        lambda: [r for r in sandbox.ended("tick") if r.started > failed], 5, "a tick afterwards"
    )
    assert all(r.recorder_pid == first.pid for r in sandbox.runs())

    # Once it has stopped, the state directory is free again.
    assert stop(first) == 0
    assert not (sandbox.state / "daemon.pid").exists()
    third = sandbox.start()
    third.wait_for(r" info +load +jobs=1 errors=0$")
    assert stop(third) == 0


# --------------------------------------------------------------------------- logs


def test_json_log_lines(sandbox: Sandbox) -> None:
    sandbox.write(
        f"# pycron: name=ok\n@at {at(0.3)} echo fine\n"
        f"# pycron: name=bad\n@at {at(0.3)} exit 3\n"
        "* 25 * * * echo broken\n"
    )
    daemon = sandbox.start("--log-format", "json")
    wait_until(lambda: len(sandbox.ended()) == 2, START_TIMEOUT, "both jobs to end")
    assert stop(daemon) == 0

    events = [json.loads(line) for line in daemon.log().splitlines()]
    for event in events:
        assert isinstance(event, dict)
        assert isinstance(event["event"], str)
        assert event["event"]
        assert event["level"] in {"debug", "info", "warning", "error"}
        moment = datetime.fromisoformat(event["time"])
        assert moment.utcoffset() == timedelta(0)
    names = [event["event"] for event in events]
    assert names[:3] == ["start", "error", "load"]
    assert names[-1] == "stop"
    (error,) = (e for e in events if e["event"] == "error")
    assert error["level"] == "error"
    assert error["where"] == f"{sandbox.crontab}:7:3"
    ends = {e["job"]: e for e in events if e["event"] == "end"}
    assert ends["ok"]["level"] == "info"
    assert ends["ok"]["outcome"] == "success"
    assert ends["bad"]["level"] == "warning"
    assert (ends["bad"]["outcome"], ends["bad"]["exit"]) == ("failed", 3)
    starts = {e["job"]: e for e in events if e["event"] == "start" and "job" in e}
    for record in sandbox.runs():
        assert datetime.fromisoformat(starts[record.job_id]["scheduled"]) == record.scheduled_for
    (sigterm,) = (e for e in events if e["event"] == "signal")
    assert (sigterm["name"], sigterm["action"]) == ("SIGTERM", "drain")
    assert daemon.stdout.read_bytes() == b""


@pytest.mark.parametrize("form", ["text", "json"])
def test_stdout_stays_empty(sandbox: Sandbox, form: str) -> None:
    sandbox.write(f"# pycron: name=loud\n@at {at(0.3)} echo to-stdout; echo to-stderr >&2\n")
    daemon = sandbox.start("--log-format", form)
    (record,) = wait_until(lambda: sandbox.ended("loud"), START_TIMEOUT, "the job to end")
    assert stop(daemon) == 0

    assert daemon.stdout.read_bytes() == b""
    log = daemon.log()
    assert "load" in log
    assert "stop" in log
    assert "to-std" not in log  # the job's output goes to its own log files
    assert record.stdout_path is not None
    assert record.stderr_path is not None
    assert record.stdout_path.read_text() == "to-stdout\n"
    assert record.stderr_path.read_text() == "to-stderr\n"


# --------------------------------------------------------------------------- hostile signals


def test_sigterm_while_the_daemon_logs_heavily_stops_it(sandbox: Sandbox) -> None:
    """A handler that logged itself hung on the log's lock when the signal came
    while the main thread held it: here, in the middle of 30,000 error lines."""
    sandbox.write("".join(f"61 * * * * echo {n}\n" for n in range(30_000)) + LATER)
    daemon = sandbox.start()
    daemon.wait_for(r" error +error ")
    daemon.send(signal.SIGTERM)
    assert daemon.wait(timeout=60) == 0
    log = daemon.log()
    assert log.count(" error ") >= 30_000
    assert re.search(r" info +signal +name=SIGTERM action=drain$", log, re.MULTILINE)
    assert re.search(r" info +stop +reason=signal$", log, re.MULTILINE)


def test_a_storm_of_sighups_coalesces_and_the_daemon_goes_on(sandbox: Sandbox) -> None:
    sandbox.write(f"# pycron: name=tick\n@every 1s echo tick >> {sandbox.root}/tick.txt\n")
    daemon = sandbox.start()
    daemon.wait_for(r" info +load +jobs=1 errors=0$")
    for _ in range(10_000):
        os.kill(daemon.pid, signal.SIGHUP)
    assert daemon.process.poll() is None
    reloads = wait_until(
        lambda: re.findall(
            r" signal +name=SIGHUP (?:count=(\d+) )?action=reload$", daemon.log(), re.M
        ),
        5,
        "a reload",
    )
    ticks = len(sandbox.lines("tick.txt"))
    wait_until(lambda: len(sandbox.lines("tick.txt")) > ticks, 5, "a tick after the storm")
    assert stop(daemon) == 0
    reloads = re.findall(
        r" signal +name=SIGHUP (?:count=(\d+) )?action=reload$", daemon.log(), re.MULTILINE
    )
    assert 1 <= len(reloads) <= 500  # coalesced: far fewer reloads than signals
    assert sum(int(count or 1) for count in reloads) <= 10_000
    assert "Traceback" not in daemon.log()


# --------------------------------------------------------------------------- escaped processes

ESCAPE = "(setsid sh -c 'echo $$ > {root}/escaped.pid; exec sleep 301' &); sleep 30"
MECHANISMS = {"cgroup": {}, "tokens": {"PYCRON_CGROUPS": "off"}}


@pytest.mark.parametrize("mechanism", sorted(MECHANISMS))
def test_shutdown_ends_what_a_job_left_outside_its_group(sandbox: Sandbox, mechanism: str) -> None:
    sandbox.write(f"# pycron: name=escape\n@at {at(0.3)} {ESCAPE.format(root=sandbox.root)}\n")
    daemon = sandbox.start("--shutdown-grace", "0.5", env=MECHANISMS[mechanism])
    started = daemon.wait_for(r" info +start +.*containment=(.*)$")
    if mechanism == "cgroup" and not started.group(1).startswith('"cgroup v2'):
        pytest.skip(f"no writable cgroup v2 here: {started.group(1)}")
    if mechanism == "tokens":
        assert started.group(1).startswith('"process groups and run tokens')
    (escaped,) = map(int, wait_until(lambda: sandbox.lines("escaped.pid"), 10, "the escape"))
    assert stop(daemon) == 0
    assert escaped not in sandbox.tagged()
    assert not sandbox.tagged()


# --------------------------------------------------------------------------- permissions

UNSAFE = {
    "crontab-writable-by-others": ("crontab", 0o646, "writable by others (mode 0646)"),
    "crontab-writable-by-its-group": ("crontab", 0o664, "writable by its group (mode 0664)"),
    "state-writable-by-others": ("state", 0o777, "writable by others (mode 0777)"),
    "locks-writable-by-others": ("state/locks", 0o757, "writable by others (mode 0757)"),
    "logs-writable-by-its-group": ("state/logs", 0o770, "writable by its group (mode 0770)"),
}


@pytest.mark.skipif(os.geteuid() != 0, reason="group-writable files are refused only to root")
@pytest.mark.parametrize(("path", "mode", "message"), UNSAFE.values(), ids=UNSAFE.keys())
def test_the_daemon_refuses_what_other_users_could_write(
    sandbox: Sandbox, path: str, mode: int, message: str
) -> None:
    sandbox.write(LATER)
    (sandbox.root / "state" / "locks").mkdir(parents=True)
    (sandbox.root / "state" / "logs").mkdir()
    target = sandbox.root / path
    target.chmod(mode)
    daemon = sandbox.start()
    assert daemon.wait(timeout=START_TIMEOUT) == 1
    fix = f"who could then run commands as root; `chmod go-w {target}`"
    assert daemon.log().endswith(f"pycron: error: {target}: {message}, {fix}\n")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_the_daemon_refuses_a_crontab_of_another_user(sandbox: Sandbox) -> None:
    sandbox.write(LATER)
    os.chown(sandbox.crontab, 65534, -1)
    daemon = sandbox.start()
    assert daemon.wait(timeout=START_TIMEOUT) == 1
    assert f"pycron: error: {sandbox.crontab}: owned by " in daemon.log()
    assert "who could then run commands as root" in daemon.log()


def mode_of(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_state_logs_and_locks_are_private_and_the_job_keeps_its_umask(sandbox: Sandbox) -> None:
    sandbox.write(f"# pycron: name=tick\n@every 1s umask > {sandbox.root}/umask.txt\n")
    old = os.umask(0o022)  # cron's; the daemon inherits it and the job must see it
    try:
        daemon = sandbox.start()
    finally:
        os.umask(old)
    wait_until(lambda: sandbox.ended("tick"), 10, "a run of the tick")
    assert stop(daemon) == 0
    state = sandbox.state
    assert mode_of(state) == 0o700
    files = [p for p in state.rglob("*") if p.is_file() and not p.name.startswith("history.db")]
    assert any(p.suffix == ".out" for p in files)
    assert any(p.suffix == ".lock" for p in files)
    assert {str(p.relative_to(state)): mode_of(p) for p in files} == {
        str(p.relative_to(state)): 0o600 for p in files
    }
    assert {mode_of(p) for p in state.rglob("*") if p.is_dir()} == {0o700}
    assert sandbox.lines("umask.txt") == ["0022"]


def test_a_readable_state_directory_is_made_private(sandbox: Sandbox) -> None:
    sandbox.write(LATER)
    sandbox.state.mkdir(mode=0o755)
    sandbox.state.chmod(0o755)
    daemon = sandbox.start()
    daemon.wait_for(r" warning +state +message=.*made private \(mode 0755 to 0700\)")
    assert stop(daemon) == 0
    assert mode_of(sandbox.state) == 0o700


def test_a_reload_of_a_crontab_others_can_write_keeps_the_jobs(sandbox: Sandbox) -> None:
    sandbox.write(f"# pycron: name=tick\n@every 1s echo tick >> {sandbox.root}/tick.txt\n")
    daemon = sandbox.start()
    daemon.wait_for(r" info +load +jobs=1 errors=0$")
    # Others may write it first, then it is changed: the daemon, which sees
    # an edit at once, must never read the new text as trusted.
    sandbox.crontab.chmod(0o666)
    sandbox.crontab.write_text(sandbox.header + "* * * * * echo injected\n")
    daemon.send(signal.SIGHUP)
    daemon.wait_for(r" error +reload +message=.*writable by others \(mode 0666\)")
    ticks = len(sandbox.lines("tick.txt"))
    wait_until(lambda: len(sandbox.lines("tick.txt")) > ticks, 5, "the old job to run on")
    assert stop(daemon) == 0


# --------------------------------------------------------------------------- queued runs


def pycron_json(sandbox: Sandbox, *args: str) -> object:
    """`pycron ARGS --json` on the sandbox's crontab and state, parsed."""
    where = ["--crontab", str(sandbox.crontab), "--state-dir", str(sandbox.state)]
    done = subprocess.run(
        [sys.executable, "-m", "pycron", *where, *args, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.mark.parametrize("how", ["sigterm", "kill-9"])
def test_runs_waiting_for_a_worker_survive_a_restart_and_run_once(
    sandbox: Sandbox, how: str
) -> None:
    """30 jobs due at once, 2 workers: the daemon stops while 28 wait. The next
    daemon starts those first, and every job runs exactly once."""
    root = sandbox.root
    when = at(1.0)
    hold = f"while [ ! -e {root}/release ]; do sleep 0.02; done"
    sandbox.write(
        "".join(
            f"# pycron: name=job{n:02d}\n@at {when} echo $PYCRON_JOB_ID >> runs.txt; {hold}\n"
            for n in range(30)
        )
    )
    first = sandbox.start("--max-parallel", "2", "--shutdown-grace", "30")
    wait_until(lambda: len(sandbox.lines("runs.txt")) == 2, START_TIMEOUT, "two jobs to start")
    queued = wait_until(
        lambda: [r for r in sandbox.runs() if r.outcome is Outcome.QUEUED], 5, "queued runs"
    )
    assert len(queued) == 28
    status = pycron_json(sandbox, "status")
    assert isinstance(status, list)
    assert sum(job["queued"] for job in status) == 28
    assert sum(job["running"] for job in status) == 2
    if how == "sigterm":
        first.send(signal.SIGTERM)
        first.wait_for(r" info +drain +running=2 queued=28 ")
        (root / "release").touch()  # the two finish within the grace
        assert first.wait(timeout=15) == 0
    else:
        first.process.kill()
        assert first.wait(timeout=10) == -signal.SIGKILL
    assert len(sandbox.lines("runs.txt")) == 2
    assert len([r for r in sandbox.runs() if r.outcome is Outcome.QUEUED]) == 28

    second = sandbox.start("--max-parallel", "2")
    second.wait_for(r" info +resume +job=job\d\d ")
    (root / "release").touch()
    wait_until(lambda: len(sandbox.lines("runs.txt")) == 30, 20, "every job to run")
    wait_until(
        lambda: not [r for r in sandbox.runs() if r.outcome in (Outcome.QUEUED, Outcome.RUNNING)],
        20,
        "every run to end",
    )
    assert stop(second) == 0
    assert sorted(sandbox.lines("runs.txt")) == [f"job{n:02d}" for n in range(30)]
    outcomes = sorted(r.outcome.value for r in sandbox.runs())
    if how == "sigterm":
        assert outcomes == ["success"] * 30
    else:  # the two that outlived the killed daemon ended unseen
        assert outcomes == ["interrupted"] * 2 + ["success"] * 28


def test_a_queued_run_whose_next_slot_came_is_recorded_missed(sandbox: Sandbox) -> None:
    root = sandbox.root
    hold = f"while [ ! -e {root}/release ]; do sleep 0.02; done"
    sandbox.write(
        f"# pycron: name=holder\n@at {at(0.5)} {hold}\n"
        f"# pycron: name=ticker\n@every 1s echo tick >> {root}/ticks.txt\n"
    )
    first = sandbox.start("--max-parallel", "1")
    wait_until(lambda: sandbox.running("holder"), START_TIMEOUT, "the holder to start")
    wait_until(
        lambda: [r for r in sandbox.runs("ticker") if r.outcome is Outcome.QUEUED],
        5,
        "a queued tick",
    )
    first.process.kill()
    first.wait(timeout=10)
    (root / "release").touch()
    # The next daemon counts @every from its own start: the queued tick's next slot has come.
    second = sandbox.start()
    second.wait_for(r" warning +skip +job=ticker run=\d+ message=\"queued when the daemon stopped")
    assert stop(second) == 0
    missed = [r for r in sandbox.runs("ticker") if r.outcome is Outcome.MISSED]
    assert missed
    assert all("has come since" in (r.message or "") for r in missed)


def test_status_says_when_pycron_is_gone_but_its_job_runs(sandbox: Sandbox) -> None:
    sandbox.write(f"# pycron: name=long\n@at {at(0.3)} sleep 30\n")
    daemon = sandbox.start()
    (record,) = wait_until(lambda: sandbox.running("long"), START_TIMEOUT, "the long job")
    daemon.process.kill()
    daemon.wait(timeout=10)
    status = pycron_json(sandbox, "status")
    assert isinstance(status, list)
    (job,) = status
    assert job["running"] is True
    assert job["last"]["outcome"] == "running"
    assert job["last"]["message"] == f"pycron gone, pid {record.pid}"
    (run,) = pycron_json(sandbox, "history")  # type: ignore[misc]
    assert run["message"] == f"pycron gone, pid {record.pid}"
