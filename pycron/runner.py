"""Run one job once: lock, subprocess, timeout, retries, per-run logs.

`run(entry, scheduled_for, ...)` is what both `pycron run-now` and the daemon
call. The job runs as `SHELL -c COMMAND` in a session (process group) of its
own, with cron's environment, its `%` stdin, and stdout/stderr going straight
into per-run log files (no pipes: no deadlock, no memory growth however much
a job prints). A timeout, measured on the monotonic clock, terminates the
whole process group, then kills it after the grace period, so nothing the
job started survives. Failures are retried with capped, jittered exponential
backoff that never reaches past the job's next scheduled run.

The runner records nothing itself: a `Recorder` given by the caller (the
history) hears of each attempt when it starts and when it ends.
"""

from __future__ import annotations

import contextlib
import ctypes
import enum
import hashlib
import os
import pwd
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO, NamedTuple, Protocol

from filelock import FileLock, Timeout

from pycron.crontab import Entry, Options, Overlap

if TYPE_CHECKING:
    from collections.abc import Callable


class Outcome(enum.Enum):
    """How an attempt ended."""

    RUNNING = "running"  # recorded at start; replaced when the attempt ends
    SUCCESS = "success"  # exit status 0
    FAILED = "failed"  # another exit status, or killed by a signal of its own
    TIMEOUT = "timeout"  # terminated by pycron after its timeout
    SKIPPED_OVERLAP = "skipped-overlap"  # its lock was held by another run
    INTERRUPTED = "interrupted"  # pycron stopped (or died) while it ran
    ERROR = "error"  # could not start: bad shell, bad working directory, ...
    MISSED = "missed"  # slots the daemon was down for and did not catch up (not run)


class RunResult(NamedTuple):
    """One attempt of one run of a job.

    `scheduled_for` is the slot the run belongs to (the same for all its
    attempts); `exit_code` is the exit status, `signal` the signal number
    that ended the process (either may be None). Times are aware (UTC).
    """

    job_id: str
    scheduled_for: datetime
    attempt: int
    outcome: Outcome
    started: datetime
    finished: datetime | None = None
    exit_code: int | None = None
    signal: int | None = None
    stdout_path: Path | None = None
    stderr_path: Path | None = None
    pid: int | None = None
    message: str | None = None  # why, for error and skipped outcomes

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish (None while running)."""
        if self.finished is None:
            return None
        return (self.finished - self.started).total_seconds()


class Recorder(Protocol):
    """Hears of attempts; the run history implements it."""

    def started(self, result: RunResult) -> int:
        """An attempt has started (outcome RUNNING); returns its record id."""

    def finished(self, record_id: int, result: RunResult) -> None:
        """The attempt with this record id has ended."""


# --------------------------------------------------------------------------- environment

CRON_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"  # cronie's default PATH
DEFAULT_SHELL = "/bin/sh"


def job_environment(entry: Entry, user: str, home: str) -> dict[str, str]:
    """The environment a job runs with: cron's defaults, then the crontab's
    assignments in force at its line; LOGNAME and USER always name the owner.
    No variable with an empty name is exported."""
    env = {"SHELL": DEFAULT_SHELL, "PATH": CRON_PATH, "HOME": home}
    env.update((name, value) for name, value in entry.env if name)
    env["LOGNAME"] = env["USER"] = user
    return env


def safe_name(job_id: str) -> str:
    """A job id or lock name as a single, harmless path component.

    Ids pycron makes are safe already; names from elsewhere lose path
    separators, `..`, control and other odd characters, and get a hash of
    the original so two odd names never share a directory.
    """
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in job_id)
    cleaned = cleaned.lstrip(".-") or "_"
    if cleaned == job_id:
        return job_id
    digest = hashlib.sha256(job_id.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f"{cleaned[:60]}-{digest}"


# --------------------------------------------------------------------------- settings


class Retention(NamedTuple):
    """How many per-run log files a job keeps: the last `runs` runs and at most
    `max_bytes` in all, whichever is smaller; pruned after each run."""

    runs: int = 100
    max_bytes: int = 50 * 1024 * 1024


class Context(NamedTuple):
    """Everything a run needs from its caller: where state lives, the clock,
    how to wait, whom to tell.

    `clock` gives aware UTC now; `sleep(seconds)` waits between retries and
    returns False if the wait was cut short by a stop request; `stopping()`
    is polled while a job runs (the daemon's shutdown); `output`, when given,
    receives the job's stdout as it is written, and its stderr too unless
    `error_output` is given for it (run-now streams both to the terminal).
    """

    state_dir: Path
    clock: Callable[[], datetime]
    sleep: Callable[[float], bool]
    recorder: Recorder | None = None
    retention: Retention = Retention()
    stopping: Callable[[], bool] | None = None
    output: BinaryIO | None = None
    error_output: BinaryIO | None = None
    random: Callable[[], float] = random.random
    user: str = ""
    home: str = ""
    poll_interval: float = 0.05

    @property
    def logs_dir(self) -> Path:
        """Root of the per-job log directories."""
        return self.state_dir / "logs"

    @property
    def locks_dir(self) -> Path:
        """Where job and named locks live."""
        return self.state_dir / "locks"


MAX_RETRY_DELAY = 3600.0  # seconds: the backoff doubles up to this


# --------------------------------------------------------------------------- running


def run(
    entry: Entry,
    scheduled_for: datetime,
    context: Context,
    next_slot: datetime | None = None,
    wait_lock: bool = True,
) -> list[RunResult]:
    """Run a job for one scheduled slot, with its retries; returns every attempt.

    The job's lock (its id, or its `lock=` name) is held across all attempts,
    so retries never overlap the next run either. `next_slot` bounds the
    retries; `wait_lock=False` turns `overlap=queue` into a skip (run-now's
    --no-wait-lock).
    """
    options = entry.options
    lock = None
    if options.overlap is not Overlap.ALLOW:
        lock = _JobLock(context.locks_dir, options.lock or entry.id)
        acquired = lock.acquire(options, wait_lock, context)
        if not acquired:
            now = context.clock()
            stopped = context.stopping is not None and context.stopping()
            skipped = RunResult(
                entry.id,
                scheduled_for,
                1,
                Outcome.INTERRUPTED if stopped else Outcome.SKIPPED_OVERLAP,
                now,
                now,
                message="stopped while waiting for the lock"
                if stopped
                else f"lock {lock.name!r} is held by another run",
            )
            if context.recorder is not None:
                context.recorder.finished(context.recorder.started(skipped), skipped)
            return [skipped]
    try:
        return _attempts(entry, scheduled_for, context, next_slot, lock)
    finally:
        if lock is not None:
            lock.release()


def _attempts(
    entry: Entry,
    scheduled_for: datetime,
    context: Context,
    next_slot: datetime | None,
    lock: _JobLock | None,
) -> list[RunResult]:
    """Attempt 1, then retries with backoff while attempts fail and time remains."""
    options = entry.options
    results: list[RunResult] = []
    for attempt in range(1, options.retries + 2):
        result = _attempt(entry, scheduled_for, attempt, context, lock)
        results.append(result)
        if result.outcome not in (Outcome.FAILED, Outcome.TIMEOUT) or attempt > options.retries:
            break
        delay = backoff(options.retry_delay.total_seconds(), attempt, context.random())
        if next_slot is not None and context.clock() + timedelta(seconds=delay) >= next_slot:
            break
        if not context.sleep(delay):
            break
    _prune_logs(context.logs_dir / safe_name(entry.id), context.retention)
    return results


def backoff(base: float, attempt: int, jitter: float) -> float:
    """Seconds before retry number `attempt`: base, 2x base, 4x base ... capped
    at MAX_RETRY_DELAY, spread by +-20% (`jitter` in [0, 1)) so that jobs
    failing together do not retry in lockstep."""
    delay: float = min(base * 2.0 ** (attempt - 1), MAX_RETRY_DELAY)
    return delay * (0.8 + 0.4 * jitter)


def _attempt(
    entry: Entry, scheduled_for: datetime, attempt: int, context: Context, lock: _JobLock | None
) -> RunResult:
    """One attempt: start the process, record it, wait for it, record the end."""
    started = context.clock()
    stdout_path, stderr_path = _log_paths(context.logs_dir, entry.id, started, attempt)
    result = RunResult(
        entry.id,
        scheduled_for,
        attempt,
        Outcome.RUNNING,
        started,
        stdout_path=stdout_path,
        stderr_path=stderr_path,
    )
    try:
        process = _start(entry, context, stdout_path, stderr_path)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename is not None else ""  # the shell or cwd
        result = result._replace(
            outcome=Outcome.ERROR,
            finished=context.clock(),
            message=f"could not start: {where}{exc.strerror or exc}",
        )
        with contextlib.suppress(OSError):  # a full disk: the message is in the result anyway
            stderr_path.write_text(f"pycron: {result.message}\n")
        if context.recorder is not None:
            context.recorder.finished(context.recorder.started(result), result)
        return result
    result = result._replace(pid=process.pid)
    if lock is not None:
        # The job runs: a full disk must not cost it its supervision (without
        # the owner file, only overlap=replace cannot find it).
        with contextlib.suppress(OSError):
            lock.record_owner(process.pid)
    record = context.recorder.started(result) if context.recorder is not None else None
    outcome = _wait(process, entry.options, context, stdout_path, stderr_path)
    replaced = lock is not None and lock.replace_requested()
    if replaced:
        outcome = Outcome.INTERRUPTED
    returncode = process.returncode
    result = result._replace(
        outcome=outcome,
        message="replaced by a newer run (overlap=replace)" if replaced else None,
        finished=context.clock(),
        exit_code=returncode if returncode is not None and returncode >= 0 else None,
        signal=-returncode if returncode is not None and returncode < 0 else None,
    )
    if record is not None and context.recorder is not None:
        context.recorder.finished(record, result)
    return result


def _log_paths(logs_dir: Path, job_id: str, started: datetime, attempt: int) -> tuple[Path, Path]:
    """Fresh `<stamp>-<attempt>.out/.err` paths in the job's log directory."""
    directory = logs_dir / safe_name(job_id)
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{started.astimezone(timezone.utc):%Y%m%dT%H%M%S%fZ}-{attempt}"
    candidate, number = stem, 1
    while (directory / f"{candidate}.out").exists():
        number += 1
        candidate = f"{stem}.{number}"
    return directory / f"{candidate}.out", directory / f"{candidate}.err"


def _start(
    entry: Entry, context: Context, stdout_path: Path, stderr_path: Path
) -> subprocess.Popen[bytes]:
    """Start `SHELL -c COMMAND` in a new session, output straight into the log files."""
    _adopt_orphans()
    env = job_environment(entry, context.user or _user(), context.home or _home())
    cwd = entry.options.cwd or env["HOME"]
    with contextlib.ExitStack() as files:
        stdout = files.enter_context(stdout_path.open("wb"))
        stderr = files.enter_context(stderr_path.open("wb"))
        stdin: IO[bytes] | int = subprocess.DEVNULL
        if entry.stdin is not None:
            stdin = files.enter_context(tempfile.TemporaryFile())
            stdin.write(entry.stdin.encode("utf-8", "surrogateescape"))
            stdin.seek(0)
        return subprocess.Popen(
            [env["SHELL"], "-c", entry.command],
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            env=env,
            cwd=cwd,
            start_new_session=True,
            close_fds=True,
        )


def _wait(
    process: subprocess.Popen[bytes],
    options: Options,
    context: Context,
    stdout_path: Path,
    stderr_path: Path,
) -> Outcome:
    """Wait for the job, enforcing its timeout and the caller's stop requests."""
    deadline = None
    if options.timeout is not None:
        deadline = time.monotonic() + options.timeout.total_seconds()
    follower = None
    if context.output is not None:
        errors = context.error_output or context.output
        follower = _Follower(((stdout_path, context.output), (stderr_path, errors)))
    while True:
        step = context.poll_interval if (follower or context.stopping) else None
        if deadline is not None:
            remaining = deadline - time.monotonic()
            step = remaining if step is None else min(step, remaining)
        try:
            process.wait(timeout=None if step is None else max(step, 0))
            break
        except subprocess.TimeoutExpired:
            pass
        if follower is not None:
            follower.copy()
        if context.stopping is not None and context.stopping():
            _terminate_group(process, options.kill_grace.total_seconds())
            return _finish(follower, Outcome.INTERRUPTED)
        if deadline is not None and time.monotonic() >= deadline:
            _terminate_group(process, options.kill_grace.total_seconds())
            return _finish(follower, Outcome.TIMEOUT)
    _note_lingering(process.pid)
    return _finish(follower, Outcome.SUCCESS if process.returncode == 0 else Outcome.FAILED)


def _finish(follower: _Follower | None, outcome: Outcome) -> Outcome:
    """Copy what is left of the output (run-now) and pass the outcome on."""
    if follower is not None:
        follower.copy()
        follower.close()
    return outcome


def _terminate_group(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM the job's whole process group, SIGKILL it after `grace` seconds,
    and reap the job: nothing it started survives."""
    group = process.pid  # start_new_session: the job leads its own group
    _signal_group(group, signal.SIGTERM)
    if not _wait_group_gone(process, group, time.monotonic() + grace):
        _signal_group(group, signal.SIGKILL)
        _wait_group_gone(process, group, time.monotonic() + 5.0)
    process.wait()


_LINGERING: set[int] = set()  # groups of ended jobs whose background processes still run
_LINGERING_LOCK = threading.Lock()


def _note_lingering(group: int) -> None:
    """Remember a finished job's group if processes it started live on (as cron,
    pycron leaves them running), so that they are reaped once they end."""
    _reap_group(group)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, 0)
        with _LINGERING_LOCK:
            _LINGERING.add(group)


def reap_lingering() -> int:
    """Collect the ended background processes of finished jobs (adopted by us as
    subreaper), so none stays a zombie; returns how many groups still live."""
    with _LINGERING_LOCK:
        groups = list(_LINGERING)
    for group in groups:
        _reap_group(group)
        try:
            os.killpg(group, 0)
        except (ProcessLookupError, PermissionError):
            with _LINGERING_LOCK:
                _LINGERING.discard(group)
    return len(_LINGERING)


def _reap_group(group: int) -> None:
    """Collect the exit status of every dead process of the group adopted by us."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-group, os.WNOHANG)[0]:
            pass


def _adopt_orphans() -> None:
    """Become a child subreaper (Linux), so that the background processes of a
    job whose shell exited become our children, and our group reaping can
    collect them instead of leaving zombies to an init that may never reap."""
    global _ADOPTING  # noqa: PLW0603 - a once-per-process setting
    if _ADOPTING or not sys.platform.startswith("linux"):
        return
    _ADOPTING = True
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


_PR_SET_CHILD_SUBREAPER = 36
_ADOPTING = False


def group_alive(group: int) -> bool:
    """Whether a process group (a job's, led by its pid) still has members here."""
    if group <= 0:
        return False
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_for(done: Callable[[], bool], deadline: float | None, context: Context) -> bool:
    """Poll `done` until it holds, the monotonic deadline passes or pycron stops."""
    while not done():
        stopped = context.stopping is not None and context.stopping()
        if stopped or (deadline is not None and time.monotonic() >= deadline):
            return False
        time.sleep(context.poll_interval)
    return True


def _signal_group(group: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, number)


def _wait_group_gone(process: subprocess.Popen[bytes], group: int, deadline: float) -> bool:
    """Wait until no process of the group is left; False at the deadline.

    Dead members must be reaped too, or they linger as zombies: the leader by
    its Popen, the others (orphans that pycron adopted as child subreaper) by
    waiting on the group, which is safe only once the leader is reaped.
    """
    while True:
        if process.poll() is not None:
            _reap_group(group)
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


_FOLLOW_CHUNK = 1 << 16  # bytes: run-now copies the logs to the terminal in chunks this big


class _Follower:
    """Copies what a job writes into its log files to other streams (run-now)."""

    def __init__(self, pairs: tuple[tuple[Path, BinaryIO], ...]) -> None:
        self._pairs = [(path.open("rb"), output) for path, output in pairs]

    def copy(self) -> None:
        """Pass on whatever was written since the last call, a chunk at a time (a loud
        job must not fill memory) and no further than the end seen now (nor stall us)."""
        for source, output in self._pairs:
            left = os.fstat(source.fileno()).st_size - source.tell()
            while left > 0 and (data := source.read(min(left, _FOLLOW_CHUNK))):
                output.write(data)
                output.flush()
                left -= len(data)

    def close(self) -> None:
        """Close the log files opened for reading."""
        for source, _ in self._pairs:
            source.close()


# --------------------------------------------------------------------------- locks


class _JobLock:
    """A job's (or lock group's) lock file under STATE/locks.

    flock-based, so the kernel releases it when its holder dies: no stale
    locks after kill -9. The holder writes its process group beside it, for
    `overlap=replace` to terminate.
    """

    def __init__(self, locks_dir: Path, name: str) -> None:
        locks_dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.path = locks_dir / f"{safe_name(name)}.lock"
        self.owner_path = locks_dir / f"{safe_name(name)}.owner"
        self.request_path = locks_dir / f"{safe_name(name)}.replace"
        self._lock = FileLock(str(self.path), preserve_lock_file=True, thread_local=False)

    def acquire(self, options: Options, wait: bool, context: Context) -> bool:
        """Take the lock as the overlap policy says; False means skip this run."""
        if self._take(0):
            if self._orphan_alive():
                return self._outlived(options, wait, context)
            return True
        if options.overlap is Overlap.SKIP or (options.overlap is Overlap.QUEUE and not wait):
            return False
        if options.overlap is Overlap.REPLACE:
            # Ask first, so that the running one neither retries nor counts a failure.
            self.request_path.touch()
            try:
                self._signal_owner(signal.SIGTERM)
                if not self._take(options.kill_grace.total_seconds(), context):
                    self._signal_owner(signal.SIGKILL)
                    return self._take(-1, context)
                return True
            finally:
                self.request_path.unlink(missing_ok=True)
        return self._take(-1, context)

    def _orphan_alive(self) -> bool:
        """True if a holder that died without releasing (kill -9) left its job
        running: the lock is free, but its run is not over."""
        try:
            group = int(self.owner_path.read_text())
        except (OSError, ValueError):
            return False
        return group_alive(group)

    def _outlived(self, options: Options, wait: bool, context: Context) -> bool:
        """The overlap policy against a job that outlived its pycron (lock held)."""
        if options.overlap is Overlap.SKIP or (options.overlap is Overlap.QUEUE and not wait):
            self._lock.release()
            return False
        if options.overlap is Overlap.REPLACE:
            self._signal_owner(signal.SIGTERM)
            grace = time.monotonic() + options.kill_grace.total_seconds()
            if not _wait_for(lambda: not self._orphan_alive(), grace, context):
                self._signal_owner(signal.SIGKILL)
        _wait_for(lambda: not self._orphan_alive(), None, context)
        return True

    def _take(self, timeout: float, context: Context | None = None) -> bool:
        """Acquire within `timeout` seconds (-1: until acquired or stopping)."""
        stopping = context.stopping if context is not None else None
        try:
            self._lock.acquire(
                timeout=timeout,
                poll_interval=context.poll_interval if context is not None else None,
                cancel_check=stopping,
            )
        except Timeout:
            return False
        return True

    def record_owner(self, group: int) -> None:
        """Note the process group of the job now running under the lock."""
        self.owner_path.write_text(f"{group}\n")

    def _signal_owner(self, number: int) -> None:
        """overlap=replace: signal the process group of the run holding the lock."""
        try:
            group = int(self.owner_path.read_text())
        except (OSError, ValueError):
            return
        _signal_group(group, number)

    def replace_requested(self) -> bool:
        """True if a newer run (overlap=replace) asked this one to make way."""
        return self.request_path.exists()

    def release(self) -> None:
        """Give the lock back (forgetting the owner first)."""
        self.owner_path.unlink(missing_ok=True)
        self._lock.release()


# --------------------------------------------------------------------------- retention


def _prune_logs(directory: Path, retention: Retention) -> None:
    """Keep the newest `retention.runs` runs of a job, within `retention.max_bytes`."""
    try:
        files = sorted(directory.iterdir(), reverse=True)  # names sort by start time
    except FileNotFoundError:
        return
    runs: dict[str, list[Path]] = {}
    for path in files:
        runs.setdefault(path.stem, []).append(path)
    total = 0
    for index, (_, paths) in enumerate(runs.items()):
        size = sum(_size(path) for path in paths)
        total += size
        if index and (index >= retention.runs or total > retention.max_bytes):
            for path in paths:
                path.unlink(missing_ok=True)


def pruned_by_retention(log: Path) -> bool:
    """Whether a missing log file can be retention's doing. Retention removes
    whole runs (both files), oldest first, and always keeps the newest run: so
    a log is retention-pruned only if its run has no file left and every run
    still in the directory is newer. Anything else was deleted otherwise."""
    run = log.stem
    try:
        kept = {path.stem for path in log.parent.iterdir()}
    except OSError:
        return False
    return run not in kept and bool(kept) and min(kept) > run


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _user() -> str:
    """The crontab owner: the user pycron runs as, from the password entry
    (as cron does), not from variables the caller may have set."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def _home() -> str:
    """The owner's home directory (cron takes it from the password entry)."""
    return os.path.expanduser("~")
