"""The job runner, with real processes, files and signals in temporary state directories.

Waits poll with a deadline (`wait_until`); jobs that must stay up wait for a `release` file
in their working directory (HOME), so a test decides when they end. Every process group a
test starts is killed when it ends, whatever the outcome.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pycron import runner
from pycron.crontab import CRON_PATH, Entry, parse
from pycron.processes import Scope
from pycron.records import Outcome, RunResult
from pycron.runner import (
    MAX_RETRY_DELAY,
    RUN_VARIABLES,
    Context,
    Retention,
    Supervision,
    backoff,
    job_environment,
    pruned_by_retention,
    reap_lingering,
    run,
    safe_name,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

REPO = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
# Loops until the test creates `release` in the job's working directory.
WAIT_FOR_RELEASE = "while [ ! -e release ]; do sleep 0.02; done"
PYTHON = shlex.quote(sys.executable)
NO_USAGE = (None, None, None)


# --------------------------------------------------------------------------- helpers


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def wait_until(predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
    """Poll `predicate` until it holds (True) or `timeout` seconds pass (False);
    the default only bounds a failure, however busy the machine."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


def job(command: str, options: str = "", env: Iterable[str] = ()) -> Entry:
    """The one entry of a crontab made of `env` lines, an options comment and the job."""
    lines = [*env, f"# pycron: {options}" if options else "", f"* * * * * {command}", ""]
    crontab, errors = parse("\n".join(lines))
    assert errors == []
    (entry,) = crontab.entries
    return entry


class FakeRecorder:
    """An in-memory history: one row per attempt, updated when it ends."""

    def __init__(self) -> None:
        self.rows: dict[int, RunResult] = {}
        self.started_as: dict[int, RunResult] = {}
        self._lock = threading.Lock()

    def started(self, result: RunResult, record_id: int | None = None) -> int:
        with self._lock:
            if record_id is None:
                record_id = len(self.rows) + 1
            self.rows[record_id] = self.started_as[record_id] = result
            return record_id

    def finished(self, record_id: int, result: RunResult) -> None:
        with self._lock:
            assert record_id in self.rows
            self.rows[record_id] = result

    def pids(self) -> list[int]:
        with self._lock:
            return [row.pid for row in self.started_as.values() if row.pid is not None]


class FakeSleep:
    """Records the delays asked for; returns `answer` at once (False: stop requested)."""

    def __init__(self, answer: bool = True) -> None:
        self.delays: list[float] = []
        self.answer = answer

    def __call__(self, seconds: float) -> bool:
        self.delays.append(seconds)
        return self.answer


def kill_groups(groups: Iterable[int]) -> None:
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)


def live_members(group: int) -> list[int] | None:
    """Processes of `group` that still run (zombies do not); None where /proc is missing."""
    if not Path("/proc/self/stat").exists():
        return None
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes()
        except OSError:
            continue
        state, _, pgrp = stat[stat.rfind(b")") + 2 :].split()[:3]
        if int(pgrp) == group and state not in (b"Z", b"X"):
            found.append(int(entry.name))
    return found


def group_exists(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def assert_group_gone(group: int) -> None:
    """Nothing of the group is left, not even a zombie."""
    assert live_members(group) in ([], None)
    assert not group_exists(group)


def gone_once_reaped(group: int) -> bool:
    """Whether the group is gone once the runner reaps what lingers (as the daemon does)."""
    return wait_until(lambda: reap_lingering() >= 0 and not group_exists(group))


def reap_adopted(group: int) -> bool:
    """Reap what this process adopted of a group it did not start (once the runner
    made it a subreaper, orphans of other processes' jobs become its children);
    True once nothing of the group is left."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-group, os.WNOHANG)[0]:
            pass
    return not group_exists(group)


class Background:
    """`run(...)` in a thread, for runs that must overlap."""

    def __init__(self, entry: Entry, context: Context) -> None:
        self.results: list[RunResult] = []
        self._thread = threading.Thread(target=self._run, args=(entry, context), daemon=True)
        self._thread.start()

    def _run(self, entry: Entry, context: Context) -> None:
        self.results = run(entry, utcnow(), context)

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def join(self, timeout: float = 10.0) -> list[RunResult]:
        self._thread.join(timeout)
        assert self.done
        return self.results


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def recorder() -> FakeRecorder:
    return FakeRecorder()


@pytest.fixture
def context(
    tmp_path: Path, home: Path, recorder: FakeRecorder, supervision: Supervision
) -> Iterator[Context]:
    """A context whose recorder knows every job started; their groups die at teardown."""
    yield make_context(tmp_path, home, recorder, supervision)
    kill_groups(recorder.pids())


def make_context(
    tmp_path: Path, home: Path, recorder: FakeRecorder, supervision: Supervision
) -> Context:
    """The runner's context in these tests: a state directory under `tmp_path`,
    jobs at home in `home`, no real sleeps, quick polls."""
    return Context(
        state_dir=tmp_path / "state",
        clock=utcnow,
        sleep=FakeSleep(),
        recorder=recorder,
        user="alice",
        home=str(home),
        poll_interval=0.02,
        supervision=supervision,
    )


def run_once(entry: Entry, context: Context, *, wait_lock: bool = True) -> RunResult:
    (result,) = run(entry, utcnow(), context, wait_lock=wait_lock)
    return result


# --------------------------------------------------------------------------- timeouts


def test_a_timeout_ends_the_whole_process_group(context: Context) -> None:
    entry = job("sleep 300 & sleep 300", "timeout=1s kill-grace=1s")
    began = time.monotonic()
    result = run_once(entry, context)
    assert time.monotonic() - began < 30.0  # the timeout and its grace, not the sleeps
    assert result.outcome is Outcome.TIMEOUT
    assert result.signal == signal.SIGTERM
    assert result.exit_code is None
    assert result.pid is not None
    assert_group_gone(result.pid)


def test_a_job_ignoring_sigterm_is_killed_after_the_grace(context: Context) -> None:
    entry = job("trap '' TERM; sleep 30", "timeout=1s kill-grace=1s")
    result = run_once(entry, context)
    assert result.outcome is Outcome.TIMEOUT
    assert result.signal == signal.SIGKILL
    assert result.duration is not None
    assert 1.0 + 1.0 <= result.duration < 15.0  # timeout + grace, not the 30 s sleep
    assert result.pid is not None
    assert_group_gone(result.pid)


def test_a_stop_request_interrupts_the_job_and_its_group(
    context: Context, home: Path, recorder: FakeRecorder
) -> None:
    stop = threading.Event()
    entry = job("echo up > up; sleep 300 & sleep 300", "kill-grace=1s")
    background = Background(entry, context._replace(stopping=stop.is_set))
    assert wait_until((home / "up").exists)
    assert wait_until(lambda: len(recorder.pids()) == 1)  # told the recorder
    (running,) = recorder.pids()
    assert os.getsid(running) == os.getpgid(running) == running  # leads its own session
    assert not wait_until(lambda: background.done, timeout=0.1)
    stop.set()
    (result,) = background.join()
    assert result.outcome is Outcome.INTERRUPTED
    assert (result.cpu_user, result.cpu_system, result.max_rss) == NO_USAGE
    assert result.pid is not None
    assert_group_gone(result.pid)


def test_a_group_that_dies_on_sigterm_does_not_wait_out_the_grace(context: Context) -> None:
    entry = job("sleep 300 & sleep 300", "timeout=1s kill-grace=30s")
    result = run_once(entry, context)
    assert result.outcome is Outcome.TIMEOUT
    assert result.duration is not None
    assert result.duration < 15.0  # the timeout, not the 30 s grace
    assert result.pid is not None
    assert_group_gone(result.pid)


def test_background_processes_of_a_finished_job_live_on_and_are_reaped(
    context: Context, home: Path
) -> None:
    """As with cron, a job's background processes outlive it; their zombies do not."""
    result = run_once(job(f"({WAIT_FOR_RELEASE}; echo done > done) & echo started"), context)
    assert result.outcome is Outcome.SUCCESS
    group = result.pid
    assert group is not None
    assert not wait_until(lambda: live_members(group) == [], timeout=0.1)
    (home / "release").touch()
    assert wait_until((home / "done").exists)
    assert gone_once_reaped(group)


# --------------------------------------------------------------------------- retries


def test_retries_until_success_with_jittered_exponential_backoff(
    context: Context, recorder: FakeRecorder
) -> None:
    entry = job(
        "n=$(cat c 2>/dev/null || echo 0); echo $((n+1)) > c; [ $n -ge 2 ]",
        "retries=5 retry-delay=10s",
    )
    sleep = FakeSleep()
    scheduled = utcnow()
    results = run(entry, scheduled, context._replace(sleep=sleep, random=lambda: 0.25))
    assert [r.outcome for r in results] == [Outcome.FAILED, Outcome.FAILED, Outcome.SUCCESS]
    assert [r.exit_code for r in results] == [1, 1, 0]
    assert [r.attempt for r in results] == [1, 2, 3]
    assert {r.scheduled_for for r in results} == {scheduled}
    assert results[0].finished is not None
    assert results[0].finished <= results[1].started
    # base, then 2 x base, each times 0.8 + 0.4 x jitter
    assert sleep.delays == pytest.approx([10 * 0.9, 20 * 0.9])
    assert sleep.delays == pytest.approx([backoff(10, 1, 0.25), backoff(10, 2, 0.25)])
    assert list(recorder.rows.values()) == results
    assert [row.outcome for row in recorder.started_as.values()] == [Outcome.RUNNING] * 3


@pytest.mark.parametrize(
    ("base", "attempt", "jitter", "expected"),
    [
        pytest.param(10, 1, 0.0, 8.0, id="first-retry-low"),
        pytest.param(10, 1, 0.5, 10.0, id="first-retry-middle"),
        pytest.param(10, 3, 0.5, 40.0, id="third-retry-doubles-twice"),
        pytest.param(10, 2, 0.999, 20 * 1.1996, id="high-jitter"),
        pytest.param(3000, 2, 0.5, MAX_RETRY_DELAY, id="capped"),
        pytest.param(1, 40, 0.0, MAX_RETRY_DELAY * 0.8, id="far-attempt-capped"),
        pytest.param(0, 4, 0.7, 0.0, id="zero-base"),
    ],
)
def test_backoff(base: float, attempt: int, jitter: float, expected: float) -> None:
    assert backoff(base, attempt, jitter) == pytest.approx(expected)


class RetryCase(NamedTuple):
    command: str
    options: str
    sleep_answer: bool
    next_slot_in: timedelta | None
    outcomes: list[Outcome]
    sleeps: int


RETRY_CASES = {
    "gives-up-after-retries": RetryCase(
        "exit 1", "retries=2 retry-delay=1s", True, None, [Outcome.FAILED] * 3, 2
    ),
    "timeouts-are-retried": RetryCase(
        "sleep 30", "timeout=1s kill-grace=0s retries=1", True, None, [Outcome.TIMEOUT] * 2, 1
    ),
    "no-retries": RetryCase("exit 1", "", True, None, [Outcome.FAILED], 0),
    "success-is-not-retried": RetryCase("true", "retries=3", True, None, [Outcome.SUCCESS], 0),
    "errors-are-not-retried": RetryCase(
        "true", "retries=3 cwd=/nonexistent/dir", True, None, [Outcome.ERROR], 0
    ),
    "stops-before-the-next-slot": RetryCase(
        "exit 1", "retries=3 retry-delay=1m", True, timedelta(seconds=1), [Outcome.FAILED], 0
    ),
    "retries-that-fit-before-the-next-slot": RetryCase(
        "exit 1", "retries=1 retry-delay=1s", True, timedelta(hours=1), [Outcome.FAILED] * 2, 1
    ),
    "stop-requested-while-waiting": RetryCase(
        "exit 1", "retries=3 retry-delay=1s", False, None, [Outcome.FAILED], 1
    ),
}


@pytest.mark.parametrize("case", RETRY_CASES.values(), ids=RETRY_CASES.keys())
def test_when_retries_stop(case: RetryCase, context: Context, recorder: FakeRecorder) -> None:
    sleep = FakeSleep(case.sleep_answer)
    next_slot = utcnow() + case.next_slot_in if case.next_slot_in else None
    results = run(
        job(case.command, case.options), utcnow(), context._replace(sleep=sleep), next_slot
    )
    assert [r.outcome for r in results] == case.outcomes
    assert len(sleep.delays) == case.sleeps
    assert [row.outcome for row in recorder.rows.values()] == case.outcomes


# --------------------------------------------------------------------------- overlap and locks


def test_skip_skips_a_run_while_another_one_runs(context: Context, home: Path) -> None:
    entry = job(f"echo start >> log; {WAIT_FOR_RELEASE}", "overlap=skip")
    first = Background(entry, context)
    assert wait_until((home / "log").exists)
    second = run_once(entry, context)
    (home / "release").touch()
    (done,) = first.join()
    assert done.outcome is Outcome.SUCCESS
    assert second.outcome is Outcome.SKIPPED_OVERLAP
    assert second.message is not None
    assert entry.id in second.message
    assert second.pid is None
    assert (second.cpu_user, second.cpu_system, second.max_rss) == NO_USAGE
    assert (home / "log").read_text() == "start\n"  # the skipped run started nothing


def test_queue_runs_one_after_the_other(context: Context, home: Path) -> None:
    entry = job(
        f'echo "start $$" >> log; {WAIT_FOR_RELEASE}; echo "end $$" >> log', "overlap=queue"
    )
    first = Background(entry, context)
    assert wait_until((home / "log").exists)
    second = Background(entry, context)
    assert not wait_until(lambda: (home / "log").read_text().count("start") == 2, timeout=0.3)
    (home / "release").touch()
    (one,) = first.join()
    (two,) = second.join()
    assert (one.outcome, two.outcome) == (Outcome.SUCCESS, Outcome.SUCCESS)
    assert one.finished is not None
    assert one.finished <= two.started
    assert (home / "log").read_text().split("\n") == [
        f"start {one.pid}",
        f"end {one.pid}",
        f"start {two.pid}",
        f"end {two.pid}",
        "",
    ]


def test_queue_without_waiting_for_the_lock_skips(context: Context, home: Path) -> None:
    entry = job(f"echo start >> log; {WAIT_FOR_RELEASE}", "overlap=queue")
    first = Background(entry, context)
    assert wait_until((home / "log").exists)
    second = run_once(entry, context, wait_lock=False)
    (home / "release").touch()
    first.join()
    assert second.outcome is Outcome.SKIPPED_OVERLAP


def test_a_stop_request_ends_the_wait_for_the_lock(context: Context, home: Path) -> None:
    stop = threading.Event()
    entry = job(f"echo start >> log; {WAIT_FOR_RELEASE}", "overlap=queue")
    first = Background(entry, context)
    assert wait_until((home / "log").exists)
    queued = Background(entry, context._replace(stopping=stop.is_set))
    assert not wait_until(lambda: queued.done, timeout=0.1)
    stop.set()
    (result,) = queued.join()
    assert result.outcome in (Outcome.SKIPPED_OVERLAP, Outcome.INTERRUPTED)
    assert result.pid is None
    (home / "release").touch()
    first.join()
    assert (home / "log").read_text() == "start\n"


def test_allow_runs_side_by_side(context: Context, home: Path) -> None:
    entry = job(f"echo start >> log; {WAIT_FOR_RELEASE}", "overlap=allow")
    first = Background(entry, context)
    second = Background(entry, context)
    assert wait_until(
        lambda: (home / "log").exists() and (home / "log").read_text().count("start") == 2
    )
    (home / "release").touch()
    (one,) = first.join()
    (two,) = second.join()
    assert (one.outcome, two.outcome) == (Outcome.SUCCESS, Outcome.SUCCESS)
    assert one.finished is not None
    assert two.finished is not None
    assert one.started < two.finished
    assert two.started < one.finished


def test_replace_terminates_the_running_one(
    context: Context, home: Path, recorder: FakeRecorder
) -> None:
    entry = job(f'echo "start $$" >> log; {WAIT_FOR_RELEASE}', "overlap=replace kill-grace=1s")
    first = Background(entry, context)
    assert wait_until(lambda: len(recorder.pids()) == 1)  # running, its group noted
    second = Background(entry, context)
    (old,) = first.join()
    (home / "release").touch()
    (new,) = second.join()
    assert old.outcome is Outcome.INTERRUPTED
    assert old.message == "replaced by a newer run (overlap=replace)"
    assert old.signal == signal.SIGTERM
    assert old.pid is not None
    assert live_members(old.pid) in ([], None)
    assert gone_once_reaped(old.pid)
    assert new.outcome is Outcome.SUCCESS
    assert old.finished is not None
    assert old.finished <= new.started
    assert (home / "log").read_text() == f"start {old.pid}\nstart {new.pid}\n"


def test_jobs_sharing_a_named_lock_exclude_each_other(context: Context, home: Path) -> None:
    holder = job(f"echo start >> log; {WAIT_FOR_RELEASE}", "name=a lock=shared")
    same_lock = job("echo b >> log", "name=b lock=shared")
    own_lock = job("echo c >> log", "name=c")
    first = Background(holder, context)
    assert wait_until((home / "log").exists)
    skipped = run_once(same_lock, context)
    ran = run_once(own_lock, context)
    (home / "release").touch()
    first.join()
    assert skipped.outcome is Outcome.SKIPPED_OVERLAP
    assert skipped.message is not None
    assert "'shared'" in skipped.message
    assert ran.outcome is Outcome.SUCCESS
    assert (home / "log").read_text() == "start\nc\n"
    assert run_once(same_lock, context).outcome is Outcome.SUCCESS  # free again


def test_the_lock_file_names_the_running_run_and_is_emptied_after(
    context: Context, home: Path
) -> None:
    """The holder writes its run's token into the lock file itself: no file
    is made or removed beside it at each run."""
    entry = job(f"echo $PYCRON_RUN_TOKEN > token; {WAIT_FOR_RELEASE}")
    lock = context.locks_dir / f"{safe_name(entry.id)}.lock"
    running = Background(entry, context)
    assert wait_until(lambda: (home / "token").exists() and (home / "token").read_text() != "")
    token = (home / "token").read_text().strip()
    assert json.loads(lock.read_text())["token"] == token
    (home / "release").touch()
    (result,) = running.join()
    assert result.outcome is Outcome.SUCCESS
    assert lock.read_bytes() == b""
    assert [path.name for path in context.locks_dir.iterdir()] == [lock.name]


def test_runs_go_on_when_the_lock_and_log_directories_are_removed(context: Context) -> None:
    entry = job("echo hi")
    assert run_once(entry, context).outcome is Outcome.SUCCESS
    shutil.rmtree(context.locks_dir)
    shutil.rmtree(context.logs_dir)
    result = run_once(entry, context)
    assert result.outcome is Outcome.SUCCESS
    assert result.stdout_path is not None
    assert result.stdout_path.read_text() == "hi\n"
    for directory in (context.locks_dir, context.logs_dir, result.stdout_path.parent):
        assert directory.stat().st_mode & 0o777 == 0o700


# -------------------------------------------------------------------- runs in a child process

CHILD = """
import json, os, resource, sys
from datetime import datetime, timezone
from pathlib import Path
from pycron.crontab import parse
from pycron.runner import Context, run

state, text, mode = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
class Recorder:
    def started(self, result, record_id=None):
        if result.pid is not None:
            state.mkdir(parents=True, exist_ok=True)
            (state / "pid.tmp").write_text(str(result.pid))
            os.replace(state / "pid.tmp", state / "pid")
        return 1

    def finished(self, record_id, result):
        pass

output = open(os.devnull, "wb") if mode == "stream" else None
clock = lambda: datetime.now(timezone.utc)
context = Context(state, clock, lambda seconds: True, recorder=Recorder(), output=output)
(result,) = run(parse(text)[0].entries[0], clock(), context)
print(json.dumps({
    "outcome": result.outcome.value,
    "pid": result.pid,
    "stdout": str(result.stdout_path),
    "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "job_cpu": result.cpu_user + result.cpu_system,
    "job_max_rss": result.max_rss,
}))
"""


class ChildReport(NamedTuple):
    outcome: str
    pid: int
    stdout: str
    maxrss: int  # the runner's own peak (ru_maxrss)
    job_cpu: float  # what the runner recorded of the job
    job_max_rss: int | None


def child_command(state: Path, entry: Entry, mode: str) -> list[str]:
    lines = [f"{name}={value}" for name, value in entry.env]
    if entry.options.given:
        lines.append("# pycron: " + " ".join(f"{k}={v}" for k, v in entry.options.given))
    lines.append(f"* * * * * {entry.command}\n")
    text = "\n".join(lines)
    return [sys.executable, "-c", CHILD, str(state), text, mode]


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def run_child(state: Path, entry: Entry, mode: str) -> ChildReport:
    """Run a job through `run` in a fresh Python process and read its report."""
    completed = subprocess.run(
        child_command(state, entry, mode),
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=60,
        check=True,
    )
    return ChildReport(**json.loads(completed.stdout))


@pytest.mark.parametrize("mode", ["files", "stream"], ids=["logs-only", "streaming-run-now"])
def test_a_loud_job_does_not_grow_the_runner(tmp_path: Path, mode: str) -> None:
    size = 50 * MB
    quiet = run_child(tmp_path / "quiet", job("true"), mode)
    loud = run_child(tmp_path / "loud", job(f"head -c {size} /dev/zero"), mode)
    assert (quiet.outcome, loud.outcome) == ("success", "success")
    assert Path(loud.stdout).stat().st_size == size
    per_kb = 1 if sys.platform.startswith("linux") else 1024  # ru_maxrss: kB, bytes on macOS
    assert (loud.maxrss - quiet.maxrss) * 1024 // per_kb < 20 * MB


def test_kill_9_of_the_runner_frees_the_lock(context: Context) -> None:
    entry = job("sleep 30", "overlap=skip")
    state = context.state_dir
    child = subprocess.Popen(
        child_command(state, entry, "files"),
        env=child_env(),
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    groups = [child.pid]
    try:
        assert wait_until((state / "pid").exists, timeout=10)
        groups.append(int((state / "pid").read_text()))
        assert run_once(entry, context).outcome is Outcome.SKIPPED_OVERLAP  # held
        child.kill()
        child.wait()
        # The job outlived its runner (a session of its own): its run goes on,
        # so the lock, free in the kernel, still counts as held.
        retry = entry._replace(command="true")  # same job id, same lock
        assert run_once(retry, context).outcome is Outcome.SKIPPED_OVERLAP
        job_group = groups[1]
        os.killpg(job_group, signal.SIGKILL)
        assert wait_until(lambda: reap_adopted(job_group), timeout=10)
        assert run_once(retry, context).outcome is Outcome.SUCCESS  # no stale lock
    finally:
        kill_groups(groups)
        child.wait()


# --------------------------------------------------------------------------- resource use

# Python code that notes its pid and its parent's in `who`, then burns 0.3 s of
# CPU time (not of wall time: on a busy machine it only takes longer).
BURN = (
    "import os, time; open('who', 'w').write(f'{os.getpid()} {os.getppid()}'); "
    "any(time.process_time() >= 0.3 for _ in iter(int, 1))"
)
ALLOCATE = "data = b'x' * (64 << 20)"  # 64 MiB, every page written


@pytest.mark.parametrize(
    ("command", "leader"),
    [
        pytest.param(f'exec {PYTHON} -c "{BURN}"', True, id="the-leader-itself"),
        pytest.param(f'{PYTHON} -c "{BURN}"; true', False, id="a-child-of-the-shell"),
    ],
)
def test_the_cpu_time_of_a_job_is_recorded(
    command: str, leader: bool, context: Context, home: Path, recorder: FakeRecorder
) -> None:
    result = run_once(job(command), context)
    assert result.outcome is Outcome.SUCCESS
    pid, parent = map(int, (home / "who").read_text().split())
    assert (pid if leader else parent) == result.pid  # who burnt it
    assert result.cpu_user is not None
    assert result.cpu_system is not None
    assert result.cpu_user + result.cpu_system >= 0.3
    assert list(recorder.rows.values()) == [result]


def test_a_timed_out_job_has_its_usage_recorded(context: Context) -> None:
    result = run_once(job(f'exec {PYTHON} -c "while True: pass"', "timeout=1s"), context)
    assert result.outcome is Outcome.TIMEOUT
    assert result.cpu_user is not None
    assert result.cpu_system is not None
    assert result.cpu_user + result.cpu_system > 0


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(f'exec {PYTHON} -c "{ALLOCATE}"', id="the-leader-itself"),
        pytest.param(f'{PYTHON} -c "{ALLOCATE}"; true', id="a-child-of-the-shell"),
    ],
)
def test_the_peak_memory_of_a_job_is_recorded(command: str, tmp_path: Path) -> None:
    report = run_child(tmp_path, job(command), "files")
    assert report.outcome == "success"
    assert report.job_max_rss is not None
    assert report.job_max_rss >= 64 * MB


def test_a_peak_below_the_runners_own_is_not_recorded(tmp_path: Path) -> None:
    """Linux starts a process's peak count at that of its parent's memory: a
    job smaller than the runner cannot be told from it, so it has none."""
    report = run_child(tmp_path, job("true"), "files")
    assert report.outcome == "success"
    assert report.job_max_rss is None
    assert report.job_cpu >= 0


# --------------------------------------------------------------------------- logs and retention


def test_output_lands_in_the_log_files(context: Context) -> None:
    result = run_once(job("echo out; echo err >&2"), context)
    assert result.stdout_path is not None
    assert result.stderr_path is not None
    assert result.stdout_path.read_text() == "out\n"
    assert result.stderr_path.read_text() == "err\n"
    assert result.stdout_path.parent == context.logs_dir / result.job_id


def test_combined_output_keeps_stdout_and_stderr_in_one_log_in_order(context: Context) -> None:
    """For a job whose output is mailed: one file, as cron mails it, and no `.err`."""
    output = io.BytesIO()
    entry = job("echo one; echo two >&2; echo three; echo four >&2")
    result = run_once(entry, context._replace(combined_output=True, output=output))
    assert result.stdout_path is not None
    assert result.stderr_path == result.stdout_path
    assert result.stdout_path.read_text() == "one\ntwo\nthree\nfour\n"
    assert sorted(p.suffix for p in result.stdout_path.parent.iterdir()) == [".out", ".run"]
    assert output.getvalue() == b"one\ntwo\nthree\nfour\n"  # streamed once, not twice


def test_combined_output_holds_why_a_job_could_not_start(context: Context) -> None:
    result = run_once(job("x", "cwd=/nonexistent"), context._replace(combined_output=True))
    assert result.outcome is Outcome.ERROR
    assert result.stdout_path is not None
    assert result.stdout_path.read_text().startswith("pycron: could not start: /nonexistent")


def test_run_now_streams_the_output_while_the_job_runs(context: Context, home: Path) -> None:
    output = io.BytesIO()
    entry = job(f"echo first; echo oops >&2; {WAIT_FOR_RELEASE}; echo last")
    background = Background(entry, context._replace(output=output))
    assert wait_until(lambda: b"first\n" in output.getvalue() and b"oops\n" in output.getvalue())
    assert not background.done
    (home / "release").touch()
    (result,) = background.join()
    assert result.outcome is Outcome.SUCCESS
    assert sorted(output.getvalue().splitlines()) == [b"first", b"last", b"oops"]
    assert result.stdout_path is not None
    assert result.stdout_path.read_text() == "first\nlast\n"  # the logs get it all the same


def test_run_now_can_stream_stderr_apart(context: Context) -> None:
    output, errors = io.BytesIO(), io.BytesIO()
    result = run_once(
        job("echo out; echo err >&2"), context._replace(output=output, error_output=errors)
    )
    assert result.outcome is Outcome.SUCCESS
    assert (output.getvalue(), errors.getvalue()) == (b"out\n", b"err\n")


class RetentionCase(NamedTuple):
    retention: Retention
    runs: int
    kept: int


RETENTION_CASES = {
    "runs-3-of-5": RetentionCase(Retention(runs=3), 5, 3),
    "runs-1": RetentionCase(Retention(runs=1), 3, 1),
    "under-both-limits": RetentionCase(Retention(runs=10), 4, 4),
    "bytes-keep-two": RetentionCase(Retention(max_bytes=40), 4, 2),  # 17 bytes a run
    "bytes-too-small-keep-newest": RetentionCase(Retention(max_bytes=10), 3, 1),
    "bytes-zero-keep-newest": RetentionCase(Retention(max_bytes=0), 2, 1),
}


@pytest.mark.parametrize("case", RETENTION_CASES.values(), ids=RETENTION_CASES.keys())
def test_retention_keeps_the_newest_runs(case: RetentionCase, context: Context) -> None:
    other = run_once(job("echo other"), context)
    context = context._replace(retention=case.retention)
    entry = job("echo 0123456789abcdef")
    runs = [run(entry, utcnow(), context) for _ in range(case.runs)]
    assert set((context.logs_dir / entry.id).iterdir()) == run_files(*runs[-case.kept :])
    assert other.stdout_path is not None
    assert other.stdout_path.exists()  # another job's logs are not touched


def run_files(*runs: list[RunResult]) -> set[Path]:
    """The files of runs: each attempt's logs and the run's marker."""
    files = set()
    for attempts in runs:
        for result in attempts:
            assert result.stdout_path is not None
            assert result.stderr_path is not None
            files |= {result.stdout_path, result.stderr_path}
            run_name = result.stdout_path.stem.rpartition("-")[0]
            files.add(result.stdout_path.with_name(f"{run_name}.run"))
    return files


@pytest.mark.parametrize("keep", [1, 2])
def test_retention_never_removes_the_logs_of_a_run_in_progress(
    context: Context, home: Path, keep: int
) -> None:
    context = context._replace(retention=Retention(runs=keep))
    # The first run waits for `release` (and says so); once `short` exists, runs end at once.
    entry = job(f"[ -e short ] || {{ echo start; {WAIT_FOR_RELEASE}; }}; echo end", "overlap=allow")
    long = Background(entry, context)
    directory = context.logs_dir / entry.id
    assert wait_until(lambda: any(directory.glob("*.out")))
    (log,) = directory.glob("*.out")
    assert wait_until(lambda: log.read_text() == "start\n")  # it waits: now the short ones
    (home / "short").touch()
    shorts = [run(entry, utcnow(), context) for _ in range(keep + 2)]
    assert log.read_text() == "start\n"  # still being written, and still there
    marker = log.with_name(log.name.rpartition("-")[0] + ".run")
    assert set(directory.iterdir()) == {
        *run_files(*shorts[-keep:]),
        log,
        log.with_suffix(".err"),
        marker,
    }
    pruned = shorts[0][0].stdout_path
    assert pruned is not None
    assert pruned_by_retention(pruned)  # though an older run is still there
    (home / "release").touch()
    finished = long.join()
    assert log.read_text() == "start\nend\n"  # its own pruning keeps it
    assert set(directory.iterdir()) == run_files(*shorts[-keep:], finished)


def test_retention_keeps_every_attempt_of_the_last_runs(context: Context) -> None:
    context = context._replace(retention=Retention(runs=2))
    entry = job("echo try; exit 1", "retries=2")
    runs = [run(entry, utcnow(), context) for _ in range(3)]
    assert [len(attempts) for attempts in runs] == [3, 3, 3]
    assert set((context.logs_dir / entry.id).iterdir()) == run_files(*runs[1:])


def test_the_byte_cap_counts_whole_runs(context: Context) -> None:
    # 3 attempts of 10 bytes: 30 bytes a run, so 70 bytes hold two whole runs.
    context = context._replace(retention=Retention(max_bytes=70))
    entry = job("echo 123456789; exit 1", "retries=2")
    runs = [run(entry, utcnow(), context) for _ in range(4)]
    assert set((context.logs_dir / entry.id).iterdir()) == run_files(*runs[-2:])


def test_a_marker_whose_logs_are_gone_is_no_run(context: Context) -> None:
    context = context._replace(retention=Retention(runs=3))  # room for the marker, were it one
    entry = job("echo hello")
    first, second = (run(entry, utcnow(), context) for _ in range(2))
    for result in first:  # as `pycron history prune` leaves it
        assert result.stdout_path is not None
        assert result.stderr_path is not None
        result.stdout_path.unlink()
        result.stderr_path.unlink()
    third = run(entry, utcnow(), context)
    assert set((context.logs_dir / entry.id).iterdir()) == run_files(second, third)


def test_logs_of_an_older_pycron_count_one_run_per_attempt(context: Context) -> None:
    entry = job("echo new")
    directory = context.logs_dir / entry.id
    directory.mkdir(parents=True)
    old = [
        directory / f"20200101T00000{n}000000Z-{n}.{kind}"
        for n in (1, 2)
        for kind in ("out", "err")
    ]
    for path in old:
        path.write_text("old\n")
    context = context._replace(retention=Retention(runs=2))
    first = run(entry, utcnow(), context)
    assert set(directory.iterdir()) == {*old[2:], *run_files(first)}
    assert pruned_by_retention(old[0])
    assert not pruned_by_retention(old[2])


# --------------------------------------------------------------------------- names and paths


SAFE_NAMES = {
    "plain": ("backup", "backup"),
    "allowed-punctuation": ("a.b_c-d", "a.b_c-d"),
    "hash-id": ("06ef1c7f60", "06ef1c7f60"),
    "parent-dirs": ("../../evil", None),
    "dot": (".", None),
    "dot-dot": ("..", None),
    "empty": ("", None),
    "slash": ("a/b", None),
    "absolute": ("/etc/passwd", None),
    "backslash": ("a\\b", None),
    "leading-dash": ("-rf", None),
    "hidden": (".hidden", None),
    "newline": ("a\nb", None),
    "nul": ("a\0b", None),
    "escape": ("a\x1b[31m", None),
    "space": ("my job", None),
    "unicode": ("café", None),
    "surrogate": ("a\udcffb", None),
    "long": ("x/" * 100, None),
}


@pytest.mark.parametrize(("name", "same"), SAFE_NAMES.values(), ids=SAFE_NAMES.keys())
def test_safe_name(name: str, same: str | None) -> None:
    safe = safe_name(name)
    if same is not None:
        assert safe == same
        return
    assert safe != name
    assert_one_harmless_component(safe)


def assert_one_harmless_component(safe: str) -> None:
    assert safe not in ("", ".", "..")
    assert safe[0] not in ".-"
    assert all(c.isascii() and (c.isalnum() or c in "._-") for c in safe)
    assert len(safe) <= 69
    assert safe_name(safe) == safe


def test_odd_names_that_clean_alike_stay_apart() -> None:
    names = ["a/b", "a:b", "a b", "a\nb", "a_b"]
    assert len({safe_name(name) for name in names}) == len(names)


@given(st.text())
def test_any_name_becomes_one_harmless_component(name: str) -> None:
    assert_one_harmless_component(safe_name(name))


def test_odd_job_ids_and_lock_names_stay_inside_the_state_dir(
    context: Context, tmp_path: Path
) -> None:
    entry = job("echo hi")
    evil = entry._replace(id="../../evil")
    result = run_once(evil, context)
    assert result.outcome is Outcome.SUCCESS
    assert result.job_id == "../../evil"
    logs = context.logs_dir.resolve()
    for path in (result.stdout_path, result.stderr_path):
        assert path is not None
        assert path.resolve().parent.parent == logs
    locked = evil._replace(options=evil.options._replace(lock="../../evil-lock"))
    assert run_once(locked, context).outcome is Outcome.SUCCESS
    locks = context.locks_dir.resolve()
    assert all(p.resolve().parent == locks for p in context.locks_dir.iterdir())
    inside = {p.resolve() for p in context.state_dir.rglob("*")}
    outside = [p for p in tmp_path.parent.rglob("*evil*") if p.resolve() not in inside]
    assert outside == []


# --------------------------------------------------------------------------- the job's world


def test_stdin_from_percent_reaches_the_job(context: Context) -> None:
    entry = job("cat%hello%wor\\%ld")
    result = run_once(entry, context)
    assert result.stdout_path is not None
    assert result.stdout_path.read_text() == "hello\nwor%ld\n"


def test_without_percent_stdin_is_empty(context: Context) -> None:
    result = run_once(job("cat; echo end"), context)
    assert result.stdout_path is not None
    assert result.stdout_path.read_text() == "end\n"


def environment_of(result: RunResult) -> dict[str, str]:
    assert result.outcome is Outcome.SUCCESS
    assert result.stdout_path is not None
    lines = result.stdout_path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


ENV_CASES = {
    "cron-defaults": (
        [],
        {
            "SHELL": "/bin/sh",
            "PATH": CRON_PATH,
            "HOME": "{home}",
            "LOGNAME": "alice",
            "USER": "alice",
        },
    ),
    "assignments-override": (
        ["PATH=/opt/bin:/usr/bin:/bin", "HOME=/srv", "GREETING = hello world  ", "SHELL=/bin/sh"],
        {"PATH": "/opt/bin:/usr/bin:/bin", "HOME": "/srv", "GREETING": "hello world"},
    ),
    "owner-names-stay": (
        ["LOGNAME=mallory", "USER=mallory"],
        {"LOGNAME": "alice", "USER": "alice"},
    ),
    "literal-values": (
        ["A=$HOME/x", "B='  q  '"],
        {"A": "$HOME/x", "B": "  q  "},
    ),
}


@pytest.mark.parametrize(("env", "expected"), ENV_CASES.values(), ids=ENV_CASES.keys())
def test_the_job_environment(
    env: list[str],
    expected: dict[str, str],
    context: Context,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYCRON_TEST_LEAK", "1")
    entry = job("env", env=env, options="cwd=/")
    wanted = {key: value.format(home=home) for key, value in expected.items()}
    seen = environment_of(run_once(entry, context))
    assert {key: seen.get(key) for key in wanted} == wanted
    assert "PYCRON_TEST_LEAK" not in seen
    assert job_environment(entry, "alice", str(home)).items() >= wanted.items()


@pytest.mark.parametrize("manual", [False, True], ids=["scheduled", "run-now"])
def test_a_job_knows_which_run_it_is(
    context: Context, recorder: FakeRecorder, manual: bool
) -> None:
    forged = ["PYCRON_RUN_ID=9", "PYCRON_ATTEMPT=9", "PYCRON_SCHEDULED=x", "PYCRON_JOB_ID=x"]
    entry = job("env", env=forged)
    slot = datetime(2026, 12, 5, 3, 0, tzinfo=timezone.utc)
    (result,) = run(entry, slot, context, manual=manual)
    seen = environment_of(result)
    (record,) = recorder.rows
    assert result.stdout_path is not None
    assert {key: seen[key] for key in RUN_VARIABLES} == {
        "PYCRON_JOB_ID": entry.id,
        "PYCRON_RUN_ID": str(record),
        "PYCRON_ATTEMPT": "1",
        "PYCRON_SCHEDULED": "" if manual else "2026-12-05T03:00:00+00:00",
        "PYCRON_LOG_DIR": str(result.stdout_path.parent),
    }


def test_each_attempt_has_its_own_record_and_number(
    context: Context, recorder: FakeRecorder, home: Path
) -> None:
    entry = job('echo "$PYCRON_ATTEMPT $PYCRON_RUN_ID" >> attempts; exit 1', "retries=2")
    results = run(entry, utcnow(), context)
    assert [r.outcome for r in results] == [Outcome.FAILED] * 3
    assert (home / "attempts").read_text().splitlines() == [
        f"{attempt} {record}" for attempt, record in zip((1, 2, 3), recorder.rows, strict=True)
    ]


def test_a_claimed_record_takes_the_first_attempt(context: Context, recorder: FakeRecorder) -> None:
    queued = recorder.started(RunResult("x", utcnow(), 1, Outcome.QUEUED, utcnow()))
    (result,) = run(job("true"), utcnow(), context, claimed=queued)
    assert list(recorder.rows) == [queued]
    assert recorder.rows[queued] == result
    assert result.outcome is Outcome.SUCCESS


def test_no_variable_with_an_empty_name_is_exported(home: Path) -> None:
    entry = job("env", env=["=x", "A=1"])
    assert job_environment(entry, "alice", str(home)) == {
        "SHELL": "/bin/sh",
        "PATH": CRON_PATH,
        "HOME": str(home),
        "A": "1",
        "LOGNAME": "alice",
        "USER": "alice",
    }


@pytest.mark.parametrize(
    ("env", "options", "where"),
    [
        pytest.param([], "", "{home}", id="home-by-default"),
        pytest.param(["HOME={tmp}/other"], "", "{tmp}/other", id="home-from-the-crontab"),
        pytest.param([], 'cwd="{tmp}/work"', "{tmp}/work", id="cwd-option"),
        pytest.param(["HOME={tmp}/other"], 'cwd="{tmp}/work"', "{tmp}/work", id="cwd-wins"),
    ],
)
def test_working_directory(
    env: list[str], options: str, where: str, context: Context, home: Path, tmp_path: Path
) -> None:
    tmp = tmp_path.resolve()
    (tmp / "other").mkdir()
    (tmp / "work").mkdir()
    fill = {"tmp": tmp, "home": home.resolve()}
    entry = job("pwd -P", options.format(**fill), [line.format(**fill) for line in env])
    result = run_once(entry, context)
    assert result.stdout_path is not None
    assert result.stdout_path.read_text() == where.format(**fill) + "\n"


@pytest.mark.parametrize(
    ("env", "options", "culprit"),
    [
        pytest.param(["SHELL=/nonexistent/shell"], "", "/nonexistent/shell", id="bad-shell"),
        pytest.param(["SHELL={tmp}"], "", "{tmp}", id="shell-is-a-directory"),
        pytest.param([], 'cwd="{tmp}/missing"', "{tmp}/missing", id="missing-cwd"),
        pytest.param(["HOME={tmp}/missing"], "", "{tmp}/missing", id="missing-home"),
    ],
)
def test_a_job_that_cannot_start_is_an_error(
    env: list[str],
    options: str,
    culprit: str,
    context: Context,
    recorder: FakeRecorder,
    tmp_path: Path,
) -> None:
    fill = {"tmp": tmp_path}
    entry = job("echo never", options.format(**fill), [line.format(**fill) for line in env])
    result = run_once(entry, context)
    assert result.outcome is Outcome.ERROR
    assert result.pid is None
    assert (result.cpu_user, result.cpu_system, result.max_rss) == NO_USAGE
    assert result.finished is not None
    assert result.message
    assert culprit.format(**fill) in result.message
    assert result.stderr_path is not None
    assert result.message in result.stderr_path.read_text()
    assert list(recorder.rows.values()) == [result]


@pytest.mark.parametrize(
    ("command", "outcome", "exit_code", "number"),
    [
        pytest.param("true", Outcome.SUCCESS, 0, None, id="success"),
        pytest.param("exit 3", Outcome.FAILED, 3, None, id="exit-code"),
        pytest.param("exit 255", Outcome.FAILED, 255, None, id="exit-255"),
        pytest.param("kill -TERM $$", Outcome.FAILED, None, signal.SIGTERM, id="own-sigterm"),
        pytest.param("kill -KILL $$", Outcome.FAILED, None, signal.SIGKILL, id="own-sigkill"),
    ],
)
def test_exit_status_and_signal_are_recorded(
    command: str,
    outcome: Outcome,
    exit_code: int | None,
    number: int | None,
    context: Context,
    recorder: FakeRecorder,
) -> None:
    result = run_once(job(command), context)
    assert (result.outcome, result.exit_code, result.signal) == (outcome, exit_code, number)
    assert result.finished is not None
    assert result.started <= result.finished
    assert list(recorder.rows.values()) == [result]


def test_a_replaced_run_does_not_retry(
    context: Context, home: Path, recorder: FakeRecorder
) -> None:
    entry = job(
        f'echo "start $$" >> log; {WAIT_FOR_RELEASE}',
        "overlap=replace kill-grace=1s retries=3 retry-delay=0s",
    )
    first = Background(entry, context)
    assert wait_until(lambda: len(recorder.pids()) == 1)
    second = Background(entry, context)
    old = first.join()
    (home / "release").touch()
    (new,) = second.join()
    assert [attempt.outcome for attempt in old] == [Outcome.INTERRUPTED]
    assert new.outcome is Outcome.SUCCESS


class RefusingRecorder(FakeRecorder):
    """A store that takes the record of an attempt, then fails when told its pid."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: int | None = None

    def started(self, result: RunResult, record_id: int | None = None) -> int:
        if result.pid is not None:
            self.refused = result.pid
            raise RuntimeError("the store is gone")
        return super().started(result, record_id)


def test_a_job_whose_start_the_store_refuses_is_not_left_unsupervised(
    context: Context,
) -> None:
    recorder = RefusingRecorder()
    entry = job("sleep 30", "timeout=1h kill-grace=1s")
    with pytest.raises(RuntimeError, match="the store is gone"):
        run(entry, utcnow(), context._replace(recorder=recorder))
    assert recorder.refused is not None
    assert_group_gone(recorder.refused)  # ended at once, not after its hour


def spawned(command: str) -> runner._Leader:
    """A job leader running `command` in sh, started as the runner starts one
    (the caller reaps it, then `runner._forget_leader`)."""
    return runner._spawn(
        ["/bin/sh", "-c", command],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={},
        cwd="/",
    )


@pytest.mark.parametrize("ended", [False, True])
def test_a_leader_is_moved_into_its_cgroup_only_while_it_is_not_reaped(
    tmp_path: Path, ended: bool
) -> None:
    # A directory stands in for the run's cgroup: a move writes the pid into its
    # cgroup.procs. A reaped leader's pid may already be another process's.
    scope = Scope("token", tmp_path)
    leader = spawned("exit 0" if ended else "sleep 30")
    try:
        if ended:
            assert leader.reap(timeout=30)
        moved = runner._move_unreaped(leader, scope)
        procs = tmp_path / "cgroup.procs"
        written = procs.read_text() if procs.exists() else None
        assert (moved, written) == ((False, None) if ended else (True, str(leader.pid)))
    finally:
        leader.kill()
        leader.reap(timeout=30)
        runner._forget_leader(leader)
