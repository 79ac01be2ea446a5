"""Disks that are full, read-only or damaged, for real: the state directory
or the crontab lives on a small tmpfs mounted for the test (filled up, or
remounted read-only), the run history is corrupted by writing garbage over
it, and paths lead through a regular file.

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
    stop,
    wait_until,
)

from pycron.records import Outcome
from pycron.store.sqlite import END_NOTE, FILE_NAME, SQLiteStore

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
        "# pycron: name=ok\n@daily true\n"
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
    (record,) = runs(tool, "filler")
    assert (record["outcome"], record["exit_code"]) == ("failed", 3)
    assert record["finished"] is not None
    # A reader shows the noted end; the next run-now writes it down.
    assert len(list(tool.state.glob(f"{END_NOTE}*"))) == 1
    assert tool("run-now", "ok").returncode == 0
    assert not list(tool.state.glob(f"{END_NOTE}*"))
    (record,) = runs(tool, "filler")
    assert (record["outcome"], record["exit_code"]) == ("failed", 3)


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
        # Shown as it is (its pycron is gone), though not written down.
        assert jobs["broken"]["last"]["outcome"] == "interrupted"
        assert {r["job"]: r["outcome"] for r in runs(tool)} == {
            "hello": "success",
            "broken": "interrupted",
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
    sandbox: Sandbox,
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
    sandbox: Sandbox,
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
    with SQLiteStore.open(box.state) as history:
        assert not history.runs(outcome=Outcome.INTERRUPTED)


# --------------------------------------------------------------------------- refused


def refused(done: subprocess.CompletedProcess[str], path: Path) -> str:
    """Assert a command ended with exit 1 and one `pycron: error:` line naming
    `path` (no traceback); return that line."""
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("pycron: error: ")]
    assert len(errors) == 1, done.stderr
    assert str(path) in errors[0], done.stderr
    return errors[0]


def files(directory: Path) -> dict[str, bytes]:
    """Every file under `directory` and its bytes, by relative path."""
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def breaks(disk: Disk, how: str) -> None:
    """Make the disk refuse writes: `full` or read-only (`ro`)."""
    if how == "full":
        disk.fill()
    else:
        disk.remount("ro")


REPLACEMENT = "# pycron: name=other\n@daily true\n"
EDIT_COMMANDS = {
    "add": ("add", "@hourly echo new"),
    "import": ("import", "{replacement}"),
    "edit": ("edit",),
    "remove": ("remove", "hello", "--yes"),
    "disable": ("disable", "hello"),
}


@pytest.fixture
def editing(home: Pycron, tmp_path: Path) -> Pycron:
    """`pycron` with an editor that notes it was opened and adds a line, and a
    private TMPDIR for its copies."""
    editor = tmp_path / "editor.sh"
    editor.write_text(f'#!/bin/sh\ntouch {tmp_path}/editor.opened\necho "# mine" >> "$1"\n')
    editor.chmod(0o755)
    (tmp_path / "tmp").mkdir()
    home.env.update(VISUAL=str(editor), TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "replacement").write_text(REPLACEMENT)
    return home


def on_disk(tool: Pycron, disk: Disk) -> Path:
    """Move the crontab into a directory on the disk, with its lock and backup
    files made by a change; returns that directory."""
    directory = disk.path / "etc"
    directory.mkdir()
    tool.crontab = directory / "crontab"
    tool.crontab.write_bytes((tool.root / "crontab").read_bytes())
    tool.env["PYCRON_CRONTAB"] = str(tool.crontab)
    for change in ("disable", "enable"):
        assert tool(change, "hello").returncode == 0
    return directory


@pytest.mark.parametrize("how", ["full", "ro"])
@pytest.mark.parametrize("command", EDIT_COMMANDS.values(), ids=EDIT_COMMANDS.keys())
def test_a_change_the_disk_refuses_is_one_error_and_changes_nothing(
    editing: Pycron, disk: Disk, tmp_path: Path, command: tuple[str, ...], how: str
) -> None:
    directory = on_disk(editing, disk)
    before = files(directory)
    breaks(disk, how)
    try:
        args = [arg.format(replacement=tmp_path / "replacement") for arg in command]
        line = refused(editing(*args), editing.crontab)
        assert "cannot change the crontab" in line
        assert files(directory) == before  # the crontab byte for byte, and no stray file
    finally:
        if how == "ro":
            disk.remount("rw")
    assert not (tmp_path / "editor.opened").exists()  # refused before the editor opened
    assert not list((tmp_path / "tmp").iterdir())


@pytest.mark.parametrize("how", ["full", "ro"])
def test_edit_keeps_the_copy_when_the_disk_refuses_it_after_the_editor(
    editing: Pycron, disk: Disk, tmp_path: Path, how: str
) -> None:
    directory = on_disk(editing, disk)
    before = files(directory)
    breaking = (
        f"dd if=/dev/zero of={disk.filler} bs=64k 2>/dev/null"
        if how == "full"
        else f"mount -o remount,ro {disk.path}"
    )
    editor = tmp_path / "editor.sh"
    editor.write_text(editor.read_text() + breaking + "\nexit 0\n")
    try:
        done = editing("edit")
        refused(done, editing.crontab)
        assert files(directory) == before
    finally:
        if how == "ro":
            disk.remount("rw")
    match = re.search(r"^your version is kept in (\S+)$", done.stderr, re.M)
    assert match, done.stderr
    kept = Path(match.group(1))
    assert kept.parent == tmp_path / "tmp"
    assert kept.read_bytes() == before["crontab"] + b"# mine\n"


@pytest.mark.parametrize("command", EDIT_COMMANDS.values(), ids=EDIT_COMMANDS.keys())
def test_a_crontab_under_a_regular_file_is_one_error(
    editing: Pycron, tmp_path: Path, command: tuple[str, ...]
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file\n")
    editing.env["PYCRON_CRONTAB"] = str(blocker / "crontab")
    args = [arg.format(replacement=tmp_path / "replacement") for arg in command]
    line = refused(editing(*args), blocker)
    assert "not a directory; move that file away, or use another --crontab" in line
    assert blocker.read_text() == "a file\n"
    assert not (tmp_path / "editor.opened").exists()


STATE_COMMANDS = {"daemon": ("daemon",), "run-now": ("run-now", "hello")}


@pytest.mark.parametrize("command", STATE_COMMANDS.values(), ids=STATE_COMMANDS.keys())
@pytest.mark.parametrize("under", [False, True], ids=["a-file", "under-a-file"])
def test_a_state_dir_that_is_or_is_under_a_regular_file_is_one_error(
    home: Pycron, tmp_path: Path, command: tuple[str, ...], under: bool
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file\n")
    home.env["PYCRON_STATE_DIR"] = str(blocker / "state" if under else blocker)
    line = refused(home(*command), blocker)
    assert "not a directory; move that file away, or use another --state-dir" in line
    assert blocker.read_text() == "a file\n"


@pytest.mark.parametrize("command", STATE_COMMANDS.values(), ids=STATE_COMMANDS.keys())
def test_a_read_only_state_dir_is_one_error(
    tool: Pycron, disk: Disk, command: tuple[str, ...]
) -> None:
    assert tool("run-now", "hello").returncode == 0
    before = files(tool.state)
    disk.remount("ro")
    try:
        line = refused(tool(*command), tool.state)
        assert "Read-only file system; remount the file system read-write" in line
        assert files(tool.state) == before
    finally:
        disk.remount("rw")


def test_the_daemon_on_a_full_disk_is_one_error_and_leaves_no_pid_file(
    tool: Pycron, disk: Disk
) -> None:
    assert tool("run-now", "hello").returncode == 0
    before = files(tool.state)
    disk.fill()
    line = refused(tool("daemon"), tool.state / "daemon.pid")
    assert "No space left on device; free some space" in line
    assert files(tool.state) == {**before, "daemon.lock": b""}  # the lock file, empty


# --------------------------------------------------------------------------- logs


def test_logs_tells_a_log_deleted_by_hand_from_one_pruned_by_retention(
    home: Pycron,
) -> None:
    tool = home
    for _ in range(2):
        assert tool("--keep-runs", "1", "run-now", "hello").returncode == 0
    newest, oldest = runs(tool, "hello")
    pruned = tool("logs", "hello", "--run", str(oldest["run"]))
    assert pruned.returncode == 1
    assert "pruned by retention" in pruned.stderr
    Path(str(newest["stdout"])).unlink()
    missing = tool("logs", "hello")
    assert missing.returncode == 1
    assert missing.stderr.startswith(f"pycron: error: {newest['stdout']}: missing"), missing
    assert "pruned by retention;" in missing.stderr  # "deleted, not pruned by retention;"
    assert "deleted, not pruned" in missing.stderr
