"""Run one job once: lock, subprocess, timeout, retries, per-run logs.

`run(entry, scheduled_for, ...)` is what both `pycron run-now` and the daemon
call. The job runs as `SHELL -c COMMAND` in a session (process group) of its
own, with cron's environment, its `%` stdin, and stdout/stderr going straight
into per-run log files (no pipes: no deadlock, no memory growth however much
a job prints). A timeout, measured on the monotonic clock, terminates the
whole run, then kills it after the grace period, so nothing the job started
survives, even what left its process group (see `pycron.processes`).
Failures are retried with capped, jittered exponential backoff that never
reaches past the job's next scheduled run. The job's process is reaped with
`wait4`, which tells the CPU time and peak memory of the attempt.

The runner records nothing itself: a `Recorder` given by the caller (the
history) hears of each attempt when it starts and when it ends.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import os
import pwd
import random
import resource
import select
import signal
import stat
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, NamedTuple

from pycron.crontab import CRON_PATH, Entry, Options, Overlap, untrusted
from pycron.digest import sha256_hex
from pycron.errors import LogNotFoundError, UnsafeFileError, file_errors
from pycron.locks import LockFile
from pycron.processes import (
    JOB_VARIABLE,
    TOKEN_VARIABLE,
    Scope,
    become_subreaper,
    cgroup_root,
    in_cgroup,
    members,
    move_to_cgroup,
    new_scope,
    reap_adopted,
    remove_cgroup,
    signal_members,
    sweep_cgroups,
)
from pycron.records import Outcome, Recorder, RunResult

if TYPE_CHECKING:
    from collections.abc import Callable


# --------------------------------------------------------------------------- environment

DEFAULT_SHELL = "/bin/sh"


def job_environment(entry: Entry, user: str, home: str) -> dict[str, str]:
    """The environment a job runs with: cron's defaults, then the crontab's
    assignments in force at its line; LOGNAME and USER always name the owner.
    No variable with an empty name is exported."""
    env = {"SHELL": DEFAULT_SHELL, "PATH": CRON_PATH, "HOME": home}
    env.update((name, value) for name, value in entry.env if name)
    env["LOGNAME"] = env["USER"] = user
    return env


@functools.lru_cache(maxsize=4096)
def safe_name(job_id: str) -> str:
    """A job id or lock name as a single, harmless path component.

    Ids pycron makes are safe already; names from elsewhere lose path
    separators, `..`, control and other odd characters, and get a hash of
    the original so two odd names never share a directory. Remembered for
    the jobs of a big crontab: each run asks for its job's several times.
    """
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in job_id)
    cleaned = cleaned.lstrip(".-") or "_"
    if cleaned == job_id:
        return job_id
    digest = sha256_hex(job_id.encode("utf-8", "surrogateescape"))[:8]
    return f"{cleaned[:60]}-{digest}"


# --------------------------------------------------------------------------- settings


class Retention(NamedTuple):
    """Whose log files a job keeps: those of its last `runs` runs (each with all
    its attempts), and only as many of them as fit in `max_bytes`; pruned
    after each run, never removing the newest run or one in progress."""

    runs: int = 100
    max_bytes: int = 50 * 1024 * 1024


class Supervision(NamedTuple):
    """How this process contains the runs it starts, chosen once at start-up.

    Every run is found by its process group and by a token in its
    environment; with `cgroups`, each run also gets a cgroup of its own
    there, which nothing it starts can leave (see `pycron.processes`).
    """

    cgroups: Path | None = None
    subreaper: bool = False

    def describe(self) -> str:
        """The mechanism in words, for the daemon's start line."""
        if self.cgroups is not None:
            return f"cgroup v2 ({self.cgroups}), process groups and run tokens"
        return "process groups and run tokens (no writable cgroup v2)"


CGROUPS_VARIABLE = "PYCRON_CGROUPS"  # "off": contain runs without cgroups


def supervise() -> Supervision:
    """Prepare this process to supervise jobs (the daemon and `run-now` call it
    once at start): become the subreaper of what jobs leave behind, and use
    a cgroup per run where one can be made and a probe process really enters
    it, unless $PYCRON_CGROUPS is `off`."""
    subreaper = become_subreaper()
    root = None if os.environ.get(CGROUPS_VARIABLE) == "off" else cgroup_root()
    if root is not None and not _probe(root):
        root = None
    if root is not None:
        sweep_cgroups(root)
    return Supervision(root, subreaper)


def _probe(root: Path) -> bool:
    """Start a shell in a new run cgroup under `root` and see that it got there."""
    scope = new_scope(root)
    if scope.cgroup is None:
        return False
    try:
        process = _spawn(
            [DEFAULT_SHELL, "-c", "read line"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={TOKEN_VARIABLE: scope.token},
            cwd="/",
        )
    except OSError:
        remove_cgroup(scope)
        return False
    entered = move_to_cgroup(process.pid, scope) and in_cgroup(process.pid, scope)
    assert process.stdin is not None
    process.stdin.close()
    process.reap()
    _forget_leader(process)
    remove_cgroup(scope)
    return entered


class Context(NamedTuple):
    """Everything a run needs from its caller: where state lives, the clock,
    how to wait, whom to tell.

    `clock` gives aware UTC now; `sleep(seconds)` waits between retries and
    returns False if the wait was cut short by a stop request; `stopping()`
    is polled while a job runs (the daemon's shutdown); `supervision` says
    how runs are contained (see `supervise`); `output`, when given,
    receives the job's stdout as it is written, and its stderr too unless
    `error_output` is given for it (run-now streams both to the terminal).
    `combined_output` sends the job's stderr into its stdout log, one file in
    the order written, with no `.err` file: for a job whose output is mailed,
    since cron mails "stdout and stderr together, in order", which two
    files cannot give back once written (the run's stderr path then names
    the same file).
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
    supervision: Supervision = Supervision()
    combined_output: bool = False

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
    *,
    claimed: int | None = None,
    manual: bool = False,
) -> list[RunResult]:
    """Run a job for one scheduled slot, with its retries; returns every attempt.

    The job's lock (its id, or its `lock=` name) is held across all attempts,
    so retries never overlap the next run either. `next_slot` bounds the
    retries; `wait_lock=False` turns `overlap=queue` into a skip (run-now's
    --no-wait-lock). `claimed` is a record the caller queued for this run
    and claimed (its first attempt is recorded there); `manual` says that no
    schedule asked for the run (`run-now`: the job sees no PYCRON_SCHEDULED).
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
            _note_end(context, skipped, claimed)
            return [skipped]
    try:
        return _attempts(entry, scheduled_for, context, next_slot, lock, claimed, manual)
    finally:
        if lock is not None:
            lock.release()


def _attempts(
    entry: Entry,
    scheduled_for: datetime,
    context: Context,
    next_slot: datetime | None,
    lock: _JobLock | None,
    claimed: int | None,
    manual: bool,
) -> list[RunResult]:
    """Attempt 1, then retries with backoff while attempts fail and time remains;
    then retention, while the run still counts as in progress (so that its own
    logs are kept however many runs of the job ended meanwhile)."""
    options = entry.options
    results: list[RunResult] = []
    logs = _RunLogs(context.logs_dir / safe_name(entry.id), context.clock())
    try:
        for attempt in range(1, options.retries + 2):
            record = claimed if attempt == 1 else None
            result = _attempt(entry, scheduled_for, attempt, context, lock, logs, record, manual)
            results.append(result)
            if result.outcome not in (Outcome.FAILED, Outcome.TIMEOUT) or attempt > options.retries:
                break
            delay = backoff(options.retry_delay.total_seconds(), attempt, context.random())
            if next_slot is not None and context.clock() + timedelta(seconds=delay) >= next_slot:
                break
            if not context.sleep(delay):
                break
        logs.end()
        _prune_logs(logs.directory, context.retention)
    finally:
        logs.close()
    return results


def backoff(base: float, attempt: int, jitter: float) -> float:
    """Seconds before retry number `attempt`: base, 2x base, 4x base ... capped
    at MAX_RETRY_DELAY, spread by +-20% (`jitter` in [0, 1)) so that jobs
    failing together do not retry in lockstep."""
    delay: float = min(base * 2.0 ** (attempt - 1), MAX_RETRY_DELAY)
    return delay * (0.8 + 0.4 * jitter)


def _attempt(
    entry: Entry,
    scheduled_for: datetime,
    attempt: int,
    context: Context,
    lock: _JobLock | None,
    logs: _RunLogs,
    claimed: int | None,
    manual: bool,
) -> RunResult:
    """One attempt: record it, start the process (which learns its record id),
    note its pid, wait for it, record the end. A process that started is
    supervised to its end whatever the recorder does."""
    started = context.clock()
    stdout_path, stderr_path = logs.paths(attempt)
    if context.combined_output:
        stderr_path = stdout_path
    result = RunResult(
        entry.id,
        scheduled_for,
        attempt,
        Outcome.RUNNING,
        started,
        stdout_path=stdout_path,
        stderr_path=stderr_path,
    )
    # A record the caller claimed is already marked running: it takes the
    # attempt with its pid below, one write less between a slot and its job.
    # Recorded before anything else, as the recorder may refuse the run
    # (`SlotTakenError`: its slot is taken), which then leaves nothing behind.
    record = claimed if claimed is not None else _note_start(context, result, None)
    scope = new_scope(context.supervision.cgroups)
    if lock is not None:
        # Before the start, so that no moment passes with the run unowned. A full
        # disk must not stop the job: without the file, a run that outlives a
        # killed pycron goes unnoticed, but the lock still keeps runs apart.
        with contextlib.suppress(OSError):
            lock.record_owner(scope)
    variables = run_variables(entry, record, attempt, None if manual else scheduled_for, context)
    try:
        process = _start(entry, context, scope, variables, stdout_path, stderr_path)
    except OSError as exc:
        remove_cgroup(scope)
        where = f"{exc.filename}: " if exc.filename is not None else ""  # the shell or cwd
        result = result._replace(
            outcome=Outcome.ERROR,
            finished=context.clock(),
            message=f"could not start: {where}{exc.strerror or exc}",
        )
        with contextlib.suppress(OSError):  # a full disk: the message is in the result anyway
            write_private(stderr_path, f"pycron: {result.message}\n".encode())
        _note_end(context, result, record)
        return result
    result = result._replace(pid=process.pid)
    try:
        _note_start(context, result, record)
    except BaseException:
        # A recorder that fails now would leave a started job unsupervised:
        # end it as a timeout would, then let the failure go on.
        _terminate(process, scope, entry.options.kill_grace.total_seconds())
        raise
    replaced = lock.replace_requested if lock is not None else None
    outcome = _wait(process, scope, entry.options, context, replaced, stdout_path, stderr_path)
    was_replaced = replaced is not None and replaced()
    returncode = process.returncode
    result = result._replace(
        outcome=Outcome.INTERRUPTED if was_replaced else outcome,
        message="replaced by a newer run (overlap=replace)" if was_replaced else None,
        finished=context.clock(),
        exit_code=returncode if returncode is not None and returncode >= 0 else None,
        signal=-returncode if returncode is not None and returncode < 0 else None,
    )
    if process.usage is not None and result.outcome is not Outcome.INTERRUPTED:
        result = result._replace(
            cpu_user=process.usage.ru_utime,
            cpu_system=process.usage.ru_stime,
            max_rss=process.peak_rss(),
        )
    _note_end(context, result, record)
    return result


def _note_start(context: Context, result: RunResult, record: int | None) -> int | None:
    """Tell the recorder that an attempt starts (in `record`, if it has one)."""
    if context.recorder is None:
        return None
    return context.recorder.started(result, record)


def _note_end(context: Context, result: RunResult, record: int | None) -> None:
    """Tell the recorder how an attempt ended (recording it whole if it has no record)."""
    if context.recorder is not None:
        if record is None:
            record = context.recorder.started(result)
        context.recorder.finished(record, result)


RUN_VARIABLES = (
    JOB_VARIABLE,
    "PYCRON_RUN_ID",
    "PYCRON_ATTEMPT",
    "PYCRON_SCHEDULED",
    "PYCRON_LOG_DIR",
)


def run_variables(
    entry: Entry,
    record: int | None,
    attempt: int,
    scheduled_for: datetime | None,
    context: Context,
) -> dict[str, str]:
    """What a job learns of its run, set after cron's variables and the crontab's
    (which cannot override them): its job id, its record id in the history
    (`pycron logs ID --run RUN`; empty if it could not be recorded), the
    attempt number, the slot it runs for (ISO 8601 in UTC, empty when run by
    hand) and the directory of its logs."""
    values = (
        entry.id,
        str(record) if record is not None and record > 0 else "",
        str(attempt),
        scheduled_for.isoformat() if scheduled_for is not None else "",
        str(context.logs_dir / safe_name(entry.id)),
    )
    return dict(zip(RUN_VARIABLES, values, strict=True))


def prepare_state_dir(state_dir: Path) -> str | None:
    """Make the state directory ready for runs, or refuse it (UnsafeFileError).

    It is created private (0700: it holds every job's output). One that
    another user could write, or that another user owns, is refused, as is
    such a `locks` or `logs` directory in it: whoever can plant files there
    can steer what pycron writes or signals. One that others may merely
    read (made by an older pycron, say) is made private; the returned note
    says so. A directory that cannot be made, or written (a read-only file
    system), or one with a regular file on its path, is a StorageError.
    """
    with file_errors(state_dir, "prepare the state directory", "--state-dir"):
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        for path in (state_dir, state_dir / "locks", state_dir / "logs"):
            private_directory(path)
            problem = untrusted(path, euid=os.geteuid())
            if problem is not None:
                raise UnsafeFileError(problem)
            if os.statvfs(path).f_flag & os.ST_RDONLY:  # no lock could be taken there
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        status = state_dir.stat()
        mode = stat.S_IMODE(status.st_mode)
        if mode & 0o077 and status.st_uid == os.geteuid():
            state_dir.chmod(0o700)
            return f"{state_dir}: made private (mode {mode:04o} to 0700): it holds the jobs' output"
    return None


def private_directory(path: Path) -> None:
    """Create a directory only its owner can enter (0700), with any missing
    parents, if it is missing. One that exists keeps its mode: whether it is
    safe is checked apart (`prepare_state_dir`)."""
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        pass
    except FileNotFoundError:
        private_directory(path.parent)
        path.mkdir(mode=0o700, exist_ok=True)


def _open_private(path: Path) -> int:
    """A new file for writing, 0600 (job output may hold secrets), never
    through a symbolic link someone planted in its place."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    return os.open(path, flags, 0o600)


def write_private(path: Path, data: bytes) -> None:
    """Write a whole private file (see `_open_private`)."""
    with os.fdopen(_open_private(path), "wb") as stream:
        stream.write(data)


def _start(
    entry: Entry,
    context: Context,
    scope: Scope,
    variables: dict[str, str],
    stdout_path: Path,
    stderr_path: Path,
) -> _Leader:
    """Start `SHELL -c COMMAND` in a new session and the run's scope, output
    straight into the log files."""
    env = job_environment(entry, context.user or owner_name(), context.home or owner_home())
    env.update(variables)
    env[TOKEN_VARIABLE] = scope.token
    cwd = entry.options.cwd or env["HOME"]
    with contextlib.ExitStack() as files:
        stdout = _open_private(stdout_path)
        files.callback(os.close, stdout)
        stderr = stdout  # one file, one offset: the writes stay in order
        if stderr_path != stdout_path:
            stderr = _open_private(stderr_path)
            files.callback(os.close, stderr)
        stdin: IO[bytes] | int = subprocess.DEVNULL
        if entry.stdin is not None:
            import tempfile  # noqa: PLC0415 - only for jobs with a `%` stdin

            stdin = files.enter_context(tempfile.TemporaryFile())
            stdin.write(entry.stdin.encode("utf-8", "surrogateescape"))
            stdin.seek(0)
        process = _spawn(
            [env["SHELL"], "-c", entry.command],
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            env=env,
            cwd=cwd,
        )
    _MOVER.add(process, scope)
    return process


_SPAWN_LOCK = threading.Lock()  # held while a job leader starts, and while orphans are reaped
_LEADERS: set[int] = set()  # started job processes, each reaped by its own `_Leader.reap`


class _Leader(subprocess.Popen[bytes]):
    """A job's leader process, reaped by `reap` with `wait4` rather than by
    Popen's own wait, so that what it used is known (`usage`).

    `inherited` is what `_spawn` saw of pycron's own peak memory once the
    process had started: Linux counts the peak of the memory a process
    leaves at `exec` into its peak RSS, so a job's count starts at pycron's.
    `ended` is a descriptor that becomes readable when the process ends (a
    pidfd, where the system has them): a wait for it sleeps until then
    instead of looking again and again.

    `reaping` is held while it is reaped, and while it is moved into its
    run's cgroup (`_Mover`): a process is moved only while it is not
    reaped, so its pid, still its own, cannot have gone to another process.
    """

    usage: resource.struct_rusage | None = None
    inherited: int = 0
    ended: int | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reaping = threading.Lock()

    def reap(self, timeout: float | None = None) -> bool:
        """Wait up to `timeout` seconds (None: as long as it takes) for the
        process to end; once it has, reap it, set `returncode` as Popen would
        (so Popen never waits for it again) and `usage`, and return True.

        The usage of a reaped process counts the descendants it waited for
        too (the shell's commands): CPU time summed, peak memory the largest.
        It waits for `ended` to become readable, or without one looks again
        and again; `reaping` is held only for each look, never while it waits.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.0005
        while self.returncode is None:
            with self.reaping:
                try:
                    pid, status, usage = os.wait4(self.pid, os.WNOHANG)
                except ChildProcessError:  # reaped by the system (SIGCHLD ignored): as Popen does
                    self.returncode = 0
                    break
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
                    self.usage = usage
                    break
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            if self.ended is not None:
                select.select([self.ended], [], [], remaining)
            else:
                delay = min(delay * 2, 0.05 if remaining is None else min(remaining, 0.05))
                time.sleep(delay)
        if self.ended is not None:
            os.close(self.ended)
            self.ended = None
        return True

    def peak_rss(self) -> int | None:
        """The reaped process's peak resident set in bytes (the largest of it and
        the descendants it waited for); None when it is not clearly larger
        than what it inherited from pycron, as the job's own peak is then
        unknown."""
        if self.usage is None:
            return None
        peak = _rss_bytes(self.usage.ru_maxrss)
        return peak if peak > self.inherited + _COUNT_SLACK else None


def _count_slack() -> int:
    """How far apart two readings of one peak may be: Linux keeps memory
    counts per CPU and reads them without summing, each of its three counts
    (anonymous, file, shared) off by up to max(32, 2 x CPUs) pages per CPU,
    so the peak it noted at a job's exec may exceed the peak pycron reads
    after it. At least 2 MiB, which no job's own peak worth knowing is within."""
    cpus = os.cpu_count() or 1
    return max(2 << 20, 3 * max(32, 2 * cpus) * cpus * resource.getpagesize())


_COUNT_SLACK = _count_slack()


def _rss_bytes(maxrss: int) -> int:
    """`ru_maxrss` in bytes: macOS counts it in bytes, Linux and the BSDs in KiB."""
    return maxrss if sys.platform == "darwin" else maxrss * 1024


def _own_peak_rss() -> int:
    """This process's peak resident set in bytes: that of its memory (VmHWM,
    Linux), else the peak getrusage reports, which may be larger (it counts
    what this process inherited in turn) but never smaller.

    getrusage's peak is the larger of the inherited one, which never changes,
    and VmHWM, which only grows: once the two are seen equal, getrusage tells
    VmHWM from then on, a system call instead of a /proc file made as text."""
    reported = _rss_bytes(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    if _PEAK.own:
        return reported
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    own = int(line.split()[1]) * 1024  # kB
                    _PEAK.own = own == reported
                    return own
    except (OSError, ValueError, IndexError):
        pass
    return reported


class _Peak:
    """Whether getrusage's peak has been seen to be this process's own."""

    own = False


_PEAK = _Peak()


def _spawn(
    argv: list[str],
    *,
    stdin: IO[bytes] | int,
    stdout: IO[bytes] | int,
    stderr: IO[bytes] | int,
    env: dict[str, str],
    cwd: str,
) -> _Leader:
    """Start a job leader in a session of its own and register it, so that
    orphan reaping never takes its exit status. Its move into the run's cgroup
    is the caller's (`move_to_cgroup` at once, or `_MOVER` a moment later)."""
    with _SPAWN_LOCK:
        process = _Leader(
            argv,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            env=env,
            cwd=cwd,
            start_new_session=True,
            close_fds=True,
        )
        _LEADERS.add(process.pid)
    process.ended = _exit_descriptor(process.pid)
    process.inherited = _own_peak_rss()  # the peak only grows: at least that at its exec
    return process


def _exit_descriptor(pid: int) -> int | None:
    """A pidfd of the started process (readable once it ends), None where the
    system has none (then its end is polled for)."""
    if not hasattr(os, "pidfd_open"):
        return None
    try:
        return os.pidfd_open(pid)
    except OSError:  # an older kernel, or a sandbox that refuses it
        return None


class _Mover:
    """Moves job leaders into their runs' cgroups once starting has paused for
    `QUIET` seconds. A move between cgroups makes the kernel wait (tens of
    milliseconds), and slows every fork and exec meanwhile: moved at once,
    five jobs due at one minute started each other 10-20 ms late. Until its
    move, what a job starts is still found by the run's token."""

    QUIET = 0.05

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[tuple[_Leader, Scope]] = []
        self._last = 0.0
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, process: _Leader, scope: Scope) -> None:
        """Move `process` into the scope's cgroup soon (nothing to do without one)."""
        if scope.cgroup is None:
            return
        with self._lock:
            self._pending.append((process, scope))
            self._last = time.monotonic()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="cgroups", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            while (quiet := time.monotonic() - self._last) < self.QUIET:
                time.sleep(self.QUIET - quiet)
            with self._lock:
                self._wake.clear()
                batch, self._pending = self._pending, []
            for process, scope in batch:
                _move_unreaped(process, scope)


def _move_unreaped(process: _Leader, scope: Scope) -> bool:
    """Move a job leader into its run's cgroup unless it has been reaped (its
    pid may then be another process's); True if it got there. A job that
    ended but is not reaped yet keeps its pid: moving it does no harm."""
    with process.reaping:
        return process.returncode is None and move_to_cgroup(process.pid, scope)


_MOVER = _Mover()


def _forget_leader(process: _Leader) -> None:
    """The leader has been reaped: its pid is free for others."""
    with _SPAWN_LOCK:
        _LEADERS.discard(process.pid)


def _wait(
    process: _Leader,
    scope: Scope,
    options: Options,
    context: Context,
    replaced: Callable[[], bool] | None,
    stdout_path: Path,
    stderr_path: Path,
) -> Outcome:
    """Wait for the job, enforcing its timeout, the caller's stop requests and
    a newer run's request to make way (overlap=replace)."""
    deadline = None
    if options.timeout is not None:
        deadline = time.monotonic() + options.timeout.total_seconds()
    follower = None
    if context.output is not None:
        errors = context.error_output or context.output
        pairs = ((stdout_path, context.output), (stderr_path, errors))
        follower = _Follower(pairs[: 1 if stderr_path == stdout_path else 2])
    grace = options.kill_grace.total_seconds()
    while True:
        step = context.poll_interval if (follower or context.stopping or replaced) else None
        if deadline is not None:
            remaining = deadline - time.monotonic()
            step = remaining if step is None else min(step, remaining)
        if process.reap(timeout=None if step is None else max(step, 0)):
            break
        if follower is not None:
            follower.copy()
        if _asked_to_end(context, replaced):
            _terminate(process, scope, grace)
            return _finish(follower, Outcome.INTERRUPTED)
        if deadline is not None and time.monotonic() >= deadline:
            _terminate(process, scope, grace)
            return _finish(follower, Outcome.TIMEOUT)
    if _asked_to_end(context, replaced):
        _terminate(process, scope, grace)  # what the job left must not outlive the request
    else:
        _forget_leader(process)
        _note_lingering(scope)
    return _finish(follower, Outcome.SUCCESS if process.returncode == 0 else Outcome.FAILED)


def _asked_to_end(context: Context, replaced: Callable[[], bool] | None) -> bool:
    """Whether the caller stops (the daemon's shutdown) or a newer run asked
    this one to make way (overlap=replace)."""
    stopped = context.stopping is not None and context.stopping()
    return stopped or (replaced is not None and replaced())


def _finish(follower: _Follower | None, outcome: Outcome) -> Outcome:
    """Copy what is left of the output (run-now) and pass the outcome on."""
    if follower is not None:
        follower.copy()
        follower.close()
    return outcome


def _terminate(process: _Leader, scope: Scope, grace: float) -> None:
    """SIGTERM everything of the run, SIGKILL what is left after `grace` seconds,
    and reap it: nothing the job started survives, whatever group or session
    it moved to.

    The leader is reaped last: until then its pid, and so its process group
    id, cannot be given to another process, which makes signalling the
    group safe. Once it is reaped (it ended first), its group is left alone
    and the run's marks find the rest.
    """
    group = process.pid if process.returncode is None else None  # it leads its own group
    _signal_run(scope, group, signal.SIGTERM)
    if not _wait_run_gone(scope, group, time.monotonic() + grace):
        _signal_run(scope, group, signal.SIGKILL)
        _wait_run_gone(scope, group, time.monotonic() + 5.0)
    process.reap()
    _forget_leader(process)
    reap_lingering()
    remove_cgroup(scope)


def _signal_run(scope: Scope, group: int | None, number: int) -> None:
    """Signal the (held) group and every proven member of the run."""
    if group is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, number)
    signal_members(scope, number)


def _wait_run_gone(scope: Scope, group: int | None, deadline: float) -> bool:
    """Wait until no live process of the run or its group is left; False at the
    deadline. (Ended ones wait as zombies for reaping; they count as gone.)"""
    while members(scope, group):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


_LINGERING: list[Scope] = []  # cgroups of ended runs whose background processes still run
_LINGERING_LOCK = threading.Lock()


def _note_lingering(scope: Scope) -> None:
    """After a run ended on its own: remove its cgroup, or, if processes it
    started live on (as under cron, they may), remember it for later."""
    reap_lingering()
    if not remove_cgroup(scope):
        with _LINGERING_LOCK:
            _LINGERING.append(scope)


def reap_lingering() -> int:
    """Collect the ended processes that jobs left behind (adopted by pycron as
    subreaper), so that none stays a zombie, and remove the cgroups of ended
    runs that have emptied; returns how many such cgroups are still in use."""
    with _SPAWN_LOCK:
        reap_adopted(_LEADERS)
    with _LINGERING_LOCK:
        _LINGERING[:] = [scope for scope in _LINGERING if not remove_cgroup(scope)]
        return len(_LINGERING)


def _wait_for(done: Callable[[], bool], deadline: float | None, context: Context) -> bool:
    """Poll `done` until it holds, the monotonic deadline passes or pycron stops."""
    while not done():
        stopped = context.stopping is not None and context.stopping()
        if stopped or (deadline is not None and time.monotonic() >= deadline):
            return False
        time.sleep(context.poll_interval)
    return True


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
    locks after kill -9. The holder writes the scope of its run into the
    lock file while it holds it (emptied when it lets go), so that
    `overlap=replace` can stop that run, and so that a run that outlived a
    killed pycron is still known as running. A process counts as the
    owner's only if it carries the run's token or sits in its cgroup; the
    number of a process alone is never trusted.
    """

    def __init__(self, locks_dir: Path, name: str) -> None:
        self.name = name
        self.path = locks_dir / f"{safe_name(name)}.lock"
        self.request_path = locks_dir / f"{safe_name(name)}.replace"
        self._lock = LockFile(self.path, mode=0o600)

    def acquire(self, options: Options, wait: bool, context: Context) -> bool:
        """Take the lock as the overlap policy says; False means skip this run."""
        if self._take_now():
            orphan = self._orphan()
            if orphan is not None:
                return self._outlived(orphan, options, wait, context)
            return True
        if options.overlap is Overlap.SKIP or (options.overlap is Overlap.QUEUE and not wait):
            return False
        if options.overlap is Overlap.REPLACE:
            # Ask first, so that the running one neither retries nor counts a failure;
            # it stops its own run, and these signals reach a run whose pycron hangs.
            write_private(self.request_path, b"")
            try:
                self._signal_owner(signal.SIGTERM)
                if not self._take(options.kill_grace.total_seconds(), context):
                    self._signal_owner(signal.SIGKILL)
                    return self._take(-1, context)
                return True
            finally:
                self.request_path.unlink(missing_ok=True)
        return self._take(-1, context)

    def _take_now(self) -> bool:
        """Take the lock if it is free now. The locks directory, made with the
        state directory, is made again if it was removed since."""
        try:
            return self._take(0)
        except FileNotFoundError:
            private_directory(self.path.parent)
            return self._take(0)

    def _owner(self) -> Scope | None:
        """The scope of the run that holds (or held) the lock, if one is written."""
        try:
            handle = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            text = os.read(handle, _OWNER_MAX).decode()
        except (OSError, UnicodeDecodeError):
            return None
        finally:
            os.close(handle)
        return Scope.from_text(text) if text else None

    def _orphan(self) -> Scope | None:
        """The scope of a run whose pycron died without releasing (kill -9) while
        its processes live on: the lock is free, but that run is not over."""
        scope = self._owner()
        if scope is None or not members(scope):
            return None
        return scope

    def _outlived(self, orphan: Scope, options: Options, wait: bool, context: Context) -> bool:
        """The overlap policy against a run that outlived its pycron (lock held)."""
        if options.overlap is Overlap.SKIP or (options.overlap is Overlap.QUEUE and not wait):
            self._lock.release()
            return False
        if options.overlap is Overlap.REPLACE:
            signal_members(orphan, signal.SIGTERM)
            grace = time.monotonic() + options.kill_grace.total_seconds()
            if not _wait_for(lambda: not members(orphan), grace, context):
                signal_members(orphan, signal.SIGKILL)
        _wait_for(lambda: not members(orphan), None, context)
        reap_lingering()
        remove_cgroup(orphan)
        return True

    def _take(self, timeout: float, context: Context | None = None) -> bool:
        """Acquire within `timeout` seconds (-1: until acquired or stopping)."""
        if context is None:
            return self._lock.acquire(timeout)
        return self._lock.acquire(
            timeout, poll_interval=context.poll_interval, cancel=context.stopping
        )

    def record_owner(self, scope: Scope) -> None:
        """Note the scope of the run about to start under the lock, in the lock
        file (which the lock keeps open: no file is made or removed per run)."""
        handle = self._lock.fileno()
        text = scope.to_text().encode()
        os.pwrite(handle, text, 0)
        os.ftruncate(handle, len(text))

    def _signal_owner(self, number: int) -> None:
        """overlap=replace: signal the proven processes of the run holding the lock."""
        scope = self._owner()
        if scope is not None:
            signal_members(scope, number)

    def replace_requested(self) -> bool:
        """True if a newer run (overlap=replace) asked this one to make way."""
        return self.request_path.exists()

    def release(self) -> None:
        """Give the lock back (forgetting the owner first)."""
        with contextlib.suppress(OSError):
            os.ftruncate(self._lock.fileno(), 0)
        self._lock.release()


_OWNER_MAX = 1 << 16  # bytes of a lock file read for its owner: a scope is far shorter


# --------------------------------------------------------------------------- retention


class _RunLogs:
    """The log files of one run of a job (one call of `run`, all its attempts).

    Attempt N writes `<run>-<N>.out` and `.err`, where `<run>` is the UTC
    time the run started (`20260101T023000123456Z`, with `.2`, `.3` ... if
    another run already has it), so that retention can tell the runs apart.
    `<run>.run` marks the run: the runner holds a lock on it while the run
    lasts, so that no pruning, in this process or another, removes the logs
    of a run in progress; its time of change is when the run ended.
    """

    def __init__(self, directory: Path, started: datetime) -> None:
        self.directory = directory
        stamp = f"{started.astimezone(timezone.utc):{_STAMP}}"
        try:
            self.key, self._marker = _claim_run(directory, stamp)
        except FileNotFoundError:  # the job's first run, or its directory was removed
            private_directory(directory)
            self.key, self._marker = _claim_run(directory, stamp)

    def paths(self, attempt: int) -> tuple[Path, Path]:
        """The stdout and stderr log files of an attempt of this run."""
        stem = f"{self.key}-{attempt}"
        return self.directory / f"{stem}.out", self.directory / f"{stem}.err"

    def end(self) -> None:
        """Note on the marker that the run has ended (still holding it)."""
        if self._marker is not None:
            with contextlib.suppress(OSError):
                os.utime(self._marker)

    def close(self) -> None:
        """Let go of the marker: from now on, retention may remove this run."""
        if self._marker is not None:
            os.close(self._marker)
            self._marker = None


_STAMP = "%Y%m%dT%H%M%S%fZ"  # a run's start in its name: the names sort by it
_MARKER = ".run"  # the suffix of a run's marker; its logs end in .out and .err


def _claim_run(directory: Path, stamp: str) -> tuple[str, int | None]:
    """A name for a new run (the stamp, else `<stamp>.2`, ...) and its marker,
    locked before the name appears, so that no pruning ever sees it unlocked.
    Without a marker (a full disk: None) the run still goes ahead, unguarded.
    A missing directory is the caller's (FileNotFoundError)."""
    number = 1
    while True:
        key = stamp if number == 1 else f"{stamp}.{number}"
        number += 1
        if (directory / f"{key}-1.out").exists():  # an older run named alike (the clock went back)
            continue
        try:
            return key, _locked_marker(directory / f"{key}{_MARKER}")
        except FileExistsError:
            continue
        except FileNotFoundError:
            raise
        except OSError:
            return key, None


def _locked_marker(path: Path) -> int:
    """Create `path` (0600) already locked: made under a random temporary
    name, locked, then linked into place, which fails if `path` exists.
    Returns the open file, whose lock the kernel releases with it, should
    pycron die."""
    temporary = path.with_name(f".{os.urandom(8).hex()}{_MARKER}")
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    handle = os.open(temporary, flags, 0o600)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        os.link(temporary, path)
    except BaseException:
        os.close(handle)
        raise
    finally:
        os.unlink(temporary)
    return handle


def _in_progress(directory: Path, key: str) -> bool:
    """Whether a runner still holds the marker of run `key` (runs without one,
    made by an older pycron, are over)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        handle = os.open(directory / f"{key}{_MARKER}", flags)
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot tell: keep it
    try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(handle)
    return False


def _run_key(name: str) -> str | None:
    """The run a file of a job's log directory belongs to: `<run>` of
    `<run>-<attempt>.out`/`.err` and of `<run>.run`; None for other files.
    (Logs of an older pycron, `<attempt start>-<attempt>`, each make a run.)"""
    if name.startswith("."):
        return None
    stem, suffix = os.path.splitext(name)
    if suffix == _MARKER:
        return stem
    if suffix in (".out", ".err"):
        return stem.rpartition("-")[0] or None
    return None


def _runs(directory: Path) -> dict[str, list[Path]]:
    """The files of each run in a job's log directory, newest run first."""
    runs: dict[str, list[Path]] = {}
    for path in directory.iterdir():
        key = _run_key(path.name)
        if key is not None:
            runs.setdefault(key, []).append(path)
    return dict(sorted(runs.items(), reverse=True))


def _prune_logs(directory: Path, retention: Retention) -> None:
    """Keep the newest `retention.runs` runs of a job, within `retention.max_bytes`.

    A run is all the attempts of one call of `run`, counted and removed as a
    whole, oldest first. The newest run and runs in progress are never
    removed; they count against both limits all the same. A marker left
    without logs (`history prune` removed them) is no run: it goes.
    """
    try:
        runs = _runs(directory)
    except FileNotFoundError:
        return
    if len(runs) < 2:
        return  # the newest run is never removed
    total = 0
    index = 0
    for key, paths in runs.items():
        if all(path.suffix == _MARKER for path in paths) and not _in_progress(directory, key):
            _remove(paths)
            continue
        total += sum(_size(path) for path in paths)
        over = index >= retention.runs or total > retention.max_bytes
        if index and over and not _in_progress(directory, key):
            _remove(paths)
        index += 1


def _remove(paths: list[Path]) -> None:
    """Remove a run's files, its marker last."""
    for path in sorted(paths, key=lambda path: path.suffix == _MARKER):
        path.unlink(missing_ok=True)


def log_gone(run_id: int, log: Path) -> LogNotFoundError:
    """Why the recorded log of run `run_id` is not there: pruned by retention,
    as designed, or deleted by something else; the message tells which."""
    if pruned_by_retention(log):
        return LogNotFoundError(f"the log of run {run_id} is gone (pruned by retention): {log}")
    return LogNotFoundError(
        f"{log}: missing: the log of run {run_id} was deleted, not pruned by retention;"
        f" see what removes files in {log.parent}"
    )


def log_elsewhere(run_id: int, job_id: str, host: str, log: Path) -> LogNotFoundError:
    """Why the log of run `run_id`, which another host of the cluster ran, is
    not read here: that host keeps it; the message names the host and file."""
    return LogNotFoundError(
        f"run {run_id} of {job_id!r} ran on host {host}, which keeps its logs: {log}; "
        f"read them there (`pycron logs {job_id} --run {run_id}`)"
    )


def pruned_by_retention(log: Path) -> bool:
    """Whether a missing log file can be retention's doing.

    Retention removes whole runs (every file), never the newest run, and,
    oldest first, every run older than one it removes unless that one was
    still in progress. So a log is retention-pruned only if its run has no
    file left, a newer run is kept, and each older run still there is in
    progress or ended after this run started. Anything else was deleted
    otherwise.
    """
    key = _run_key(log.name)
    try:
        runs = _runs(log.parent)
    except OSError:
        return False
    if key is None or key in runs or not any(other > key for other in runs):
        return False
    started = _started(key)
    return started is not None and all(
        _in_progress(log.parent, other) or _ended(paths) > started
        for other, paths in runs.items()
        if other < key
    )


def _started(key: str) -> float | None:
    """When run `key` started (epoch seconds), from its name."""
    try:
        moment = datetime.strptime(key.partition(".")[0], _STAMP)
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone.utc).timestamp()


def _ended(paths: list[Path]) -> float:
    """When a run ended, as far as its files tell: the latest time one of them
    changed (its marker is touched at the end)."""
    times = [0.0]
    for path in paths:
        with contextlib.suppress(OSError):
            times.append(path.stat().st_mtime)
    return max(times)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def owner_name() -> str:
    """The crontab owner: the user pycron runs as, from the password entry
    (as cron does), not from variables the caller may have set."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def owner_home() -> str:
    """The owner's home directory from the password entry, as cron takes it
    (not $HOME of whoever started pycron); `~` only for a user without one."""
    try:
        return pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        return os.path.expanduser("~")
