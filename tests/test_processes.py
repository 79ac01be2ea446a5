"""Which processes are a run's, and stopping all of them: jobs that escape their process
group, lock-owner files whose process ids the kernel has reused, and the marks that
prove a process is a run's. Real processes, real signals, real cgroups where the machine
lets pycron make them (as root, on cgroup v2); the same cases also run without cgroups.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from test_runner import (
    Background,
    FakeRecorder,
    FakeSleep,
    child_command,
    child_env,
    job,
    kill_groups,
    make_context,
    run_once,
    utcnow,
    wait_until,
)

from pycron.crontab import Entry
from pycron.processes import (
    JOB_VARIABLE,
    TOKEN_VARIABLE,
    Scope,
    become_subreaper,
    job_alive,
    members,
    new_scope,
    remove_cgroup,
    signal_members,
)
from pycron.records import Outcome
from pycron.runner import Context, Supervision, supervise

if TYPE_CHECKING:
    from collections.abc import Iterator

# Each escape writes the pid of its escaped process to `escaped` in the job's working
# directory, then the job itself lingers, so that its timeout (or a stop) ends it.
ESCAPES = {
    "setsid": "(setsid sh -c 'echo $$ > escaped; exec sleep 301' &)",
    "double-fork": "sh -c '(sh -c \"echo \\$\\$ > escaped; exec sleep 301\" &) &'",
    "nohup": "{ nohup sh -c 'echo $$ > escaped; exec sleep 301' > /dev/null 2>&1 & }",
    "new-group": (
        f"{{ {sys.executable} -c \"import os; os.setpgid(0, 0); open('escaped', 'w')"
        ".write(str(os.getpid())); os.execvp('sleep', ['sleep', '301'])\" & }"
    ),
    "sigterm-proof": "(setsid sh -c 'trap \"\" TERM; echo $$ > escaped; sleep 301; :' &)",
}
LINGER = "while [ ! -s escaped ]; do sleep 0.01; done; sleep 30"


def _cgroups() -> Supervision:
    supervision = supervise()
    if supervision.cgroups is None:
        pytest.skip("no writable cgroup v2 here (needs root or a delegated subtree)")
    return supervision


MECHANISMS = {
    "cgroup": _cgroups,
    "tokens": lambda: Supervision(None, become_subreaper()),
}


def alive(pid: int) -> bool:
    """Whether `pid` still runs (a zombie has ended: it waits only to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 :].split()[0] not in (b"Z", b"X")


@pytest.fixture(params=sorted(MECHANISMS))
def mechanism(request: pytest.FixtureRequest) -> Supervision:
    supervision: Supervision = MECHANISMS[request.param]()
    return supervision


@pytest.fixture
def context(tmp_path: Path, home: Path, mechanism: Supervision) -> Iterator[Context]:
    """A context with the mechanism under test; every process a test's jobs wrote to an
    `escaped` file, and every job group, is killed at teardown whatever happened."""
    recorder = FakeRecorder()
    yield make_context(tmp_path, home, recorder, mechanism)
    kill_groups(recorder.pids())
    for path in home.rglob("escaped"):
        with contextlib.suppress(ValueError, ProcessLookupError, PermissionError):
            os.kill(int(path.read_text()), signal.SIGKILL)


def escaped_pid(home: Path) -> int:
    assert wait_until(lambda: (home / "escaped").exists() and (home / "escaped").read_text())
    return int((home / "escaped").read_text())


# --------------------------------------------------------------------------- escapes


@pytest.mark.parametrize("escape", sorted(ESCAPES))
def test_a_timeout_ends_what_escaped_the_group(context: Context, home: Path, escape: str) -> None:
    entry = job(f"{ESCAPES[escape]}; {LINGER}", "timeout=1s kill-grace=1s")
    result = run_once(entry, context)
    assert result.outcome is Outcome.TIMEOUT
    assert not alive(escaped_pid(home))


def test_a_cgroup_holds_a_job_that_also_clears_its_environment(tmp_path: Path, home: Path) -> None:
    """Only a cgroup holds a process that leaves its group and drops the run's token
    (once the job is in its cgroup, moments after it starts)."""
    stop: list[bool] = []
    context = Context(
        tmp_path / "state",
        utcnow,
        FakeSleep(),
        home=str(home),
        supervision=_cgroups(),
        stopping=lambda: bool(stop),
    )
    joined = "until grep -q /run- /proc/self/cgroup; do sleep 0.01; done"
    escape = f"{joined}; (setsid env -i sh -c 'echo $$ > escaped; exec sleep 301' &)"
    try:
        running = Background(job(f"{escape}; {LINGER}", "kill-grace=1s"), context)
        pid = escaped_pid(home)  # however long the move into its cgroup took
        stop.append(True)  # the daemon's shutdown, past its grace
        (result,) = running.join()
        assert result.outcome is Outcome.INTERRUPTED
        assert not alive(pid)
    finally:
        with contextlib.suppress(ValueError, OSError):
            os.kill(int((home / "escaped").read_text()), signal.SIGKILL)


def test_a_stop_request_ends_what_escaped_the_group(context: Context, home: Path) -> None:
    stop = []
    context = context._replace(stopping=lambda: bool(stop))
    running = Background(job(f"{ESCAPES['setsid']}; {LINGER}", "kill-grace=1s"), context)
    pid = escaped_pid(home)
    stop.append(True)  # the daemon's shutdown, past its grace
    (result,) = running.join()
    assert result.outcome is Outcome.INTERRUPTED
    assert not alive(pid)


def test_replace_ends_what_the_old_run_left_outside_its_group(context: Context, home: Path) -> None:
    entry = job(f"{ESCAPES['sigterm-proof']}; {LINGER}", "overlap=replace kill-grace=1s")
    first = Background(entry, context)
    pid = escaped_pid(home)
    second = Background(entry._replace(command="true"), context)
    (old,) = first.join()
    (new,) = second.join()
    assert old.outcome is Outcome.INTERRUPTED
    assert new.outcome is Outcome.SUCCESS
    assert not alive(pid)


def test_background_processes_of_a_finished_run_live_on(context: Context, home: Path) -> None:
    """As under cron, ending on its own a job may leave processes running."""
    result = run_once(job(f"{ESCAPES['setsid']}; {LINGER.replace('sleep 30', 'true')}"), context)
    assert result.outcome is Outcome.SUCCESS
    assert alive(escaped_pid(home))


# --------------------------------------------------------------------------- identity


def force_next_pid(pid: int) -> None:
    """Make the kernel hand out `pid` to the next process (root, initial pid namespace)."""
    try:
        Path("/proc/sys/kernel/ns_last_pid").write_text(str(pid - 1))
    except OSError as error:
        pytest.skip(f"cannot choose the next pid here ({error.strerror}): needs root")


def stranger_with_pid(pid: int) -> subprocess.Popen[bytes]:
    """An unrelated `setsid sleep 600` that got the process id `pid` (and so leads
    the process group `pid`), tried a few times since other processes fork too."""
    for _ in range(20):
        force_next_pid(pid)
        process = subprocess.Popen(["sleep", "600"], start_new_session=True)
        if process.pid == pid:
            return process
        process.kill()
        process.wait()
    pytest.fail(f"could not start a process with pid {pid}")


def outlive_runner(context: Context, entry: Entry) -> int:
    """Start the job from a runner in another process, kill that runner with -9
    once the job runs, and return the job's process group (the job goes on)."""
    state = context.state_dir
    runner = subprocess.Popen(
        child_command(state, entry, "files"), env=child_env(), start_new_session=True
    )
    try:
        assert wait_until((state / "pid").exists, timeout=10)
    finally:
        runner.kill()
        runner.wait()
    return int((state / "pid").read_text())


@pytest.mark.parametrize("overlap", ["replace", "skip", "queue"])
def test_a_stale_owner_file_never_reaches_a_process_that_reused_the_pid(
    context: Context, home: Path, overlap: str
) -> None:
    """pycron killed with -9 leaves its lock's owner file behind; once its job has
    ended too and the kernel gave the job's pid to a stranger, the job's lock is
    free and the stranger is left alone."""
    entry = job("exec sleep 300", f"overlap={overlap} kill-grace=1s")
    group = outlive_runner(context, entry)
    os.killpg(group, signal.SIGKILL)
    assert wait_until(lambda: not alive(group))
    with contextlib.suppress(ChildProcessError):
        os.waitpid(group, os.WNOHANG)  # adopted by this process as subreaper
    assert wait_until(lambda: not Path(f"/proc/{group}").exists())
    stranger = stranger_with_pid(group)
    deadline = time.monotonic() + 10  # the fault made queue wait for the stranger forever
    context = context._replace(stopping=lambda: time.monotonic() > deadline)
    try:
        quick = entry._replace(command="true")
        assert run_once(quick, context).outcome is Outcome.SUCCESS
        assert stranger.poll() is None  # never signalled
    finally:
        stranger.kill()
        stranger.wait()


def test_a_run_that_outlived_its_pycron_still_holds_its_lock(context: Context, home: Path) -> None:
    entry = job("exec sleep 300", "overlap=skip")
    group = outlive_runner(context, entry)
    try:
        assert run_once(entry._replace(command="true"), context).outcome is (
            Outcome.SKIPPED_OVERLAP
        )
    finally:
        kill_groups([group])


SCOPE_TEXTS = {
    "token-only": ('{"token": "' + "a" * 32 + '", "cgroup": null}', Scope("a" * 32)),
    "with-cgroup": (
        '{"token": "' + "b" * 32 + '", "cgroup": "/sys/fs/cgroup/pycron/run-x"}',
        Scope("b" * 32, Path("/sys/fs/cgroup/pycron/run-x")),
    ),
    "a-bare-pid": ("12345\n", None),
    "short-token": ('{"token": "abc", "cgroup": null}', None),
    "not-json": ("{token", None),
    "no-cgroup-key": ('{"token": "' + "c" * 32 + '"}', None),
    "token-not-text": ('{"token": 5, "cgroup": null}', None),
}


@pytest.mark.parametrize(("text", "expected"), SCOPE_TEXTS.values(), ids=SCOPE_TEXTS.keys())
def test_owner_files_that_prove_nothing_own_nothing(text: str, expected: Scope | None) -> None:
    assert Scope.from_text(text) == expected


def test_a_scope_survives_its_file() -> None:
    scope = new_scope(None)
    assert Scope.from_text(scope.to_text()) == scope


def spawn(environment: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["sleep", "60"], env={**environment, "PATH": os.environ["PATH"]}, start_new_session=True
    )


def test_members_are_those_carrying_the_token() -> None:
    scope, other = new_scope(None), new_scope(None)
    ours = spawn({TOKEN_VARIABLE: scope.token})
    theirs = spawn({TOKEN_VARIABLE: other.token})
    try:
        assert wait_until(lambda: ours.pid in members(scope))
        assert theirs.pid not in members(scope)
        assert signal_members(scope, signal.SIGTERM) == 1
        assert ours.wait(timeout=5) == -signal.SIGTERM
        assert theirs.poll() is None
    finally:
        for process in (ours, theirs):
            process.kill()
            process.wait()


def test_a_group_id_from_the_history_proves_nothing_without_the_job_id() -> None:
    ours = spawn({JOB_VARIABLE: "backup"})
    stranger = spawn({})
    try:
        deadline = time.monotonic() + 5
        while not job_alive(ours.pid, "backup") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert job_alive(ours.pid, "backup")
        assert not job_alive(ours.pid, "other-job")
        assert not job_alive(stranger.pid, "backup")
    finally:
        for process in (ours, stranger):
            process.kill()
            process.wait()
    assert not job_alive(ours.pid, "backup")


def test_supervising_sweeps_away_run_cgroups_left_empty_but_not_one_just_made() -> None:
    root = _cgroups().cgroups
    assert root is not None
    left = new_scope(root)  # as a run whose processes outlived its pycron leaves it
    assert left.cgroup is not None
    an_hour_ago = time.time() - 3600
    os.utime(left.cgroup, (an_hour_ago, an_hour_ago))
    starting = new_scope(root)  # as another pycron makes one before it moves its job in
    assert starting.cgroup is not None
    try:
        supervise()
        assert not left.cgroup.exists()
        assert starting.cgroup.is_dir()
    finally:
        remove_cgroup(starting)
