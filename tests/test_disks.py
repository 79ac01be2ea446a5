"""Disks that are full, read-only or damaged, for real: the state directory
lives on a small tmpfs mounted for the test (filled up, or remounted
read-only), and the run history is corrupted by writing garbage over it.

Mounting needs root (CAP_SYS_ADMIN); elsewhere those tests are skipped, saying
so. Every mount is undone by its fixture, whatever the test did.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_cli_runs import Pycron
from test_daemon import (
    START_TIMEOUT,
    Sandbox,
    at,
    group_gone,
    sandbox,  # noqa: F401 - a fixture, used by name
    stop,
    wait_until,
)

from pycron.history import END_NOTE, FILE_NAME, History
from pycron.runner import Outcome

DISK_SIZE = "4m"
GARBAGE = b"\xde\xad\xbe\xef not a database " * 512


class Disk:
    """A tmpfs of DISK_SIZE mounted at `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.filler = path / "filler"

    def fill(self) -> None:
        """Write a file until no space is left."""
        subprocess.run(
            ["dd", "if=/dev/zero", f"of={self.filler}", "bs=64k"], capture_output=True, check=False
        )
        assert os.statvfs(self.path).f_bavail == 0

    def free(self) -> None:
        self.filler.unlink()

    def remount(self, mode: str) -> None:
        """`ro` or `rw`."""
        _mount("-o", f"remount,{mode}", str(self.path))


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Disk]:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CAP_SYS_ADMIN)")
    path = tmp_path / "disk"
    path.mkdir()
    mounted = _mount("-t", "tmpfs", "-o", f"size={DISK_SIZE},mode=0700", "tmpfs", str(path))
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (no CAP_SYS_ADMIN?): {mounted.stderr.strip()}")
    try:
        yield Disk(path)
    finally:
        # A job process still inside keeps the mount busy: detach it then.
        if subprocess.run(["umount", str(path)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], check=True)


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Pycron]:
    """`pycron` with a private crontab and state directory."""
    yield Pycron(tmp_path)
    subprocess.run(["pkill", "-f", f"cd {tmp_path} "], check=False)


@pytest.fixture
def tool(home: Pycron, disk: Disk) -> Pycron:
    """`pycron` with its crontab beside the disk and its state on it."""
    home.state = disk.path / "state"
    home.env["PYCRON_STATE_DIR"] = str(home.state)
    return home


def runs(pycron: Pycron, *args: str) -> list[dict[str, object]]:
    records = pycron.json("history", *args)
    assert isinstance(records, list)
    return records


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


READ_COMMANDS = [
    ("status",),
    ("history",),
    ("stats",),
    ("logs", "hello"),
    ("list",),
]


# --------------------------------------------------------------------------- full


def test_run_now_on_a_full_disk_exits_with_the_jobs_code(tool: Pycron, disk: Disk) -> None:
    assert tool("run-now", "hello").returncode == 0  # a history to come back to
    disk.fill()
    done = tool("run-now", "broken")
    assert done.returncode == 3, done.stderr
    db = tool.state / FILE_NAME
    assert re.search(rf"^pycron: warning: {re.escape(str(db))}: .*not recorded", done.stderr, re.M)
    assert "pycron: broken: failed in" in done.stderr
    for command in READ_COMMANDS:
        read = tool(*command)
        assert read.returncode == 0, (command, read.stderr)
    assert tool("logs", "hello").stdout == "hello\n"
    disk.free()
    # Nothing was recorded of the run the disk had no room for, and nothing false.
    assert [(r["job"], r["outcome"]) for r in runs(tool)] == [("hello", "success")]


def test_an_end_the_full_disk_refused_is_recorded_later_not_interrupted(
    tool: Pycron, disk: Disk
) -> None:
    tool.crontab.write_text(
        f"# pycron: name=filler\n@daily cat /dev/zero > {disk.filler} 2>/dev/null; exit 3\n"
    )
    assert tool("history").returncode == 0  # the history exists, with room to start a run
    done = tool("run-now", "filler")
    assert done.returncode == 3, done.stderr
    db = tool.state / FILE_NAME
    assert re.search(
        rf"^pycron: warning: {re.escape(str(db))}: cannot record the end of filler attempt 1 "
        r"\(failed\): database or disk is full; .*noted in ",
        done.stderr,
        re.M,
    ), done.stderr
    logs = tool.state / "logs" / "filler"
    assert f"pycron: warning: {logs}: no space left" in done.stderr
    assert len(list(tool.state.glob(f"{END_NOTE}*"))) == 1
    disk.free()
    (record,) = runs(tool)
    assert (record["outcome"], record["exit_code"]) == ("failed", 3)
    assert record["finished"] is not None
    assert not list(tool.state.glob(f"{END_NOTE}*"))


# --------------------------------------------------------------------------- read-only


def test_readers_work_on_a_read_only_state_dir_and_write_nothing(tool: Pycron, disk: Disk) -> None:
    assert tool("run-now", "hello").returncode == 0
    assert tool("run-now", "broken").returncode == 3
    # A run left `running` by a pycron that is gone.
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    db = tool.state / FILE_NAME
    with contextlib.closing(sqlite3.connect(db)) as connection, connection:
        connection.execute(
            "UPDATE runs SET outcome = 'running', finished = NULL, recorder_pid = ?"
            " WHERE job_id = 'broken'",
            [int(gone.stdout)],
        )
    files = sorted(p.name for p in tool.state.iterdir())
    before = digest(db)
    disk.remount("ro")
    try:
        jobs = {job["id"]: job for job in tool.json("status")}
        assert jobs["hello"]["last"]["outcome"] == "success"
        assert jobs["broken"]["last"]["outcome"] == "running"  # shown, not marked
        assert {r["job"]: r["outcome"] for r in runs(tool)} == {
            "hello": "success",
            "broken": "running",
        }
        stats = tool.json("stats")
        assert isinstance(stats, dict)
        assert stats["successes"] == 1
        assert tool("logs", "hello").stdout == "hello\n"
        assert tool("list").returncode == 0
    finally:
        disk.remount("rw")
    assert digest(db) == before
    assert sorted(p.name for p in tool.state.iterdir()) == files


# --------------------------------------------------------------------------- corrupt


def test_a_corrupt_history_is_reported_by_readers_and_set_aside_by_run_now(
    home: Pycron,
) -> None:
    tool = home
    assert tool("run-now", "hello").returncode == 0
    db = tool.state / FILE_NAME
    db.write_bytes(GARBAGE)
    wal = db.with_name(FILE_NAME + "-wal")
    wal.write_bytes(b"an old wal")
    for command in READ_COMMANDS:
        read = tool(*command)
        assert read.returncode == 1, (command, read.stderr)
        assert read.stderr.startswith(f"pycron: error: {db}: not a usable run history"), read
    assert db.read_bytes() == GARBAGE
    assert wal.read_bytes() == b"an old wal"
    assert not list(tool.state.glob("*.corrupt-*"))

    done = tool("run-now", "broken")
    assert done.returncode == 3, done.stderr
    warning = rf"^pycron: warning: {re.escape(str(db))}: .* moved it to (\S+);"
    match = re.search(warning, done.stderr, re.M)
    assert match, done.stderr
    kept = Path(match.group(1))
    assert re.fullmatch(r"history\.db\.corrupt-\d{8}T\d{6}Z", kept.name)
    assert kept.read_bytes() == GARBAGE
    assert kept.with_name(kept.name + "-wal").read_bytes() == b"an old wal"
    assert [(r["job"], r["outcome"]) for r in runs(tool)] == [("broken", "failed")]


def test_the_daemon_sets_a_corrupt_history_aside_and_runs_jobs(
    sandbox: Sandbox,  # noqa: F811 - the fixture of test_daemon
) -> None:
    sandbox.state.mkdir()
    db = sandbox.state / FILE_NAME
    db.write_bytes(GARBAGE)
    sandbox.write(f"# pycron: name=once\n@at {at(0.5)} true\n")
    daemon = sandbox.start()
    line = daemon.wait_for(rf"^\S+ error +history +message=.*{re.escape(str(db))}.*moved it to")
    assert "not a usable run history" in line.group(0)
    wait_until(lambda: sandbox.ended("once"), START_TIMEOUT, "the job's run")
    assert stop(daemon) == 0
    (kept,) = sandbox.state.glob(f"{FILE_NAME}.corrupt-*")
    assert kept.read_bytes() == GARBAGE


# --------------------------------------------------------------------------- the daemon


def test_the_daemon_supervises_jobs_the_full_disk_cannot_record(
    disk: Disk,
    sandbox: Sandbox,  # noqa: F811 - the fixture of test_daemon
) -> None:
    box = sandbox
    box.state = disk.path / "state"
    box.write("# pycron: name=later\n@at 2099-01-01T00:00:00+00:00 true\n")
    daemon = box.start()
    daemon.wait_for(r" load +jobs=1 errors=0$")
    disk.fill()
    box.write(
        f"# pycron: name=long timeout=1s kill-grace=1s\n"
        f"@at {at(1)} echo $$ > {box.root}/long.pid; sleep 30\n"
    )
    daemon.send(signal.SIGHUP)
    (group,) = map(int, wait_until(lambda: box.lines("long.pid"), START_TIMEOUT, "the job"))
    # Its start could not be recorded, yet its timeout still ends it.
    wait_until(lambda: group_gone(group), 10, "the job's timeout")
    db = box.state / FILE_NAME
    daemon.wait_for(rf" error +history +message=.*{re.escape(str(db))}: cannot record the start")
    assert daemon.process.poll() is None
    disk.free()
    # The next turn of the loop records the whole attempt.
    (record,) = wait_until(lambda: box.ended("long"), 10, "the attempt's record")
    assert record.outcome is Outcome.TIMEOUT
    assert stop(daemon) == 0
    with History.open(box.state) as history:
        assert not history.runs(outcome=Outcome.INTERRUPTED)


# --------------------------------------------------------------------------- logs


def test_logs_tells_a_log_deleted_by_hand_from_one_pruned_by_retention(
    home: Pycron,
) -> None:
    tool = home
    for _ in range(2):
        assert tool("--keep-runs", "1", "run-now", "hello").returncode == 0
    newest, oldest = runs(tool, "hello")
    pruned = tool("logs", "hello", "--run", str(oldest["run"]))
    assert pruned.returncode == 2
    assert "pruned by retention" in pruned.stderr
    Path(str(newest["stdout"])).unlink()
    missing = tool("logs", "hello")
    assert missing.returncode == 1
    assert missing.stderr.startswith(f"pycron: error: {newest['stdout']}: missing"), missing
    assert "pruned by retention;" in missing.stderr  # "deleted, not pruned by retention;"
    assert "deleted, not pruned" in missing.stderr
