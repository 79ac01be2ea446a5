"""The run store: the recorder round trip, queries and statistics, crash
evidence, concurrent writers, slot claims and pruning on each backend (real
SQLite files, a real PostgreSQL database; see tests/backends.py); SQLite's
own schema and migrations, lock waits and read-only settled reading."""

from __future__ import annotations

import os
import select
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import pytest
from backends import CHILD_OPEN, Backend
from backends import sqlite_raw as raw

from pycron.errors import HistoryError, PycronError, SlotTakenError
from pycron.records import Outcome, RunResult
from pycron.store import (
    DayCounts,
    RunRecord,
    SlotTaken,
    Store,
    TolerantRecorder,
    nearest_rank,
    orphaned,
    pid_alive,
)
from pycron.store import sqlite as history_module
from pycron.store.cluster import Membership, Slot
from pycron.store.logs import remove_logs
from pycron.store.sqlite import END_NOTE, FILE_NAME, MIGRATIONS, SQLiteStore

ROOT = Path(__file__).resolve().parent.parent
_T = TypeVar("_T")
LATEST = MIGRATIONS[-1][0]
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
PLUS_TWO = timezone(timedelta(hours=2))
PROCESS_TIMEOUT = 60  # seconds; a child that takes longer has hung
MIB = 1024 * 1024


def attempt(
    job: str = "backup",
    minute: int = 0,
    outcome: Outcome = Outcome.SUCCESS,
    seconds: float | None = 10,
    **fields: Any,
) -> RunResult:
    """An attempt of `job` started `minute` minutes after T0 (its slot, unless
    given), ended `seconds` later (None: still running)."""
    started = T0 + timedelta(minutes=minute)
    fields.setdefault("scheduled_for", started)
    fields.setdefault("attempt", 1)
    return RunResult(
        job_id=job,
        outcome=outcome,
        started=started,
        finished=None if seconds is None else started + timedelta(seconds=seconds),
        **fields,
    )


def record(history: Store, result: RunResult) -> int:
    """Record an attempt as the runner does: started, then finished if it ended."""
    record_id = history.started(result._replace(outcome=Outcome.RUNNING, finished=None))
    if result.outcome is not Outcome.RUNNING:
        history.finished(record_id, result)
    return record_id


def older_history(state: Path, version: int, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The history file a pycron whose schema ended at `version` would make:
    made by the first `version` migrations only."""
    with monkeypatch.context() as patch:
        patch.setattr(history_module, "MIGRATIONS", MIGRATIONS[:version])
        SQLiteStore.open(state).close()
    return state / FILE_NAME


def insert_old_run(db: Path, job: str, outcome: Outcome, finished: str | None) -> None:
    """An attempt of `job` for the slot of T0, started then, written as any
    pycron since schema version 1 writes one (no usage columns)."""
    start = "2026-03-01T12:00:00.000000+00:00"
    raw(
        db,
        "INSERT INTO runs (job_id, scheduled_for, attempt, outcome, started, finished, host,"
        " pid, recorder_pid) VALUES (?, ?, 1, ?, ?, ?, 'here', 4242, ?)",
        (job, start, outcome.value, start, finished, os.getpid()),
    )


class Child(NamedTuple):
    """What a finished child process left: exit status, stdout, stderr."""

    returncode: int
    stdout: str
    stderr: str


def run_children(scripts: list[list[str]], logs: Path, *, together: bool = False) -> list[Child]:
    """Run `python -c` children and wait for each with a timeout, killing whatever
    is left, whatever happens. With `together`, each child prints "ready" once
    loaded and waits for a line on stdin; all are released when all are ready.
    stderr goes to files under `logs`, so no pipe can fill up and block a child."""
    logs.mkdir(exist_ok=True)
    errors = [logs / f"{number}.err" for number in range(len(scripts))]
    children: list[subprocess.Popen[str]] = []
    try:
        for args, error in zip(scripts, errors, strict=True):
            with error.open("w") as stderr:
                children.append(
                    subprocess.Popen(
                        [sys.executable, "-c", *args],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=stderr,
                        text=True,
                    )
                )
        if together:
            for child in children:
                assert child.stdout is not None
                ready, _, _ = select.select([child.stdout], [], [], PROCESS_TIMEOUT)
                assert ready, "a child did not get ready in time"
                assert child.stdout.readline() == "ready\n"
        for child in children:
            assert child.stdin is not None
            if together:
                child.stdin.write("go\n")
            child.stdin.close()
        for child in children:
            child.wait(timeout=PROCESS_TIMEOUT)
        return [
            Child(child.returncode, child.stdout.read() if child.stdout else "", error.read_text())
            for child, error in zip(children, errors, strict=True)
        ]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait(timeout=PROCESS_TIMEOUT)
            if child.stdout is not None:
                child.stdout.close()


CHILD_PRELUDE = (
    f"""
import os, sys
sys.path.insert(0, {str(ROOT)!r})
from datetime import datetime, timedelta, timezone
from pathlib import Path
from pycron.store.sqlite import SQLiteStore
from pycron.records import Outcome, RunResult
"""
    + CHILD_OPEN
)


@pytest.fixture
def history(backend: Backend) -> Iterator[Store]:
    """The test's store, on each backend in turn, naming this machine "here"."""
    with backend.open() as opened:
        yield opened


# -- Schema and migrations -----------------------------------------------------------------


def test_open_creates_a_private_state_dir_and_a_wal_database(tmp_path: Path) -> None:
    state = tmp_path / "a" / "state"
    with SQLiteStore.open(state) as history:
        assert history.schema_version == LATEST
        assert history.path == state / FILE_NAME
    assert state.stat().st_mode & 0o777 == 0o700
    assert raw(state / FILE_NAME, "PRAGMA journal_mode") == [("wal",)]
    assert raw(state / FILE_NAME, "SELECT value FROM meta WHERE key = 'schema_version'") == [
        (str(LATEST),)
    ]


def test_reopening_is_idempotent(tmp_path: Path) -> None:
    with SQLiteStore.open(tmp_path) as first:
        record_id = record(first, attempt())
    with SQLiteStore.open(tmp_path) as second, SQLiteStore.open(tmp_path) as third:
        assert second.schema_version == third.schema_version == LATEST
        assert second.run(record_id) == third.run(record_id) is not None
    assert raw(tmp_path / FILE_NAME, "SELECT COUNT(*) FROM meta") == [(1,)]


def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    SQLiteStore.open(tmp_path).close()
    raw(tmp_path / FILE_NAME, "UPDATE meta SET value = ?", (str(LATEST + 1),))
    with pytest.raises(HistoryError, match=f"schema version {LATEST + 1}, newer") as caught:
        SQLiteStore.open(tmp_path)
    assert isinstance(caught.value, PycronError)
    assert "upgrade pycron" in str(caught.value)


V0_DATABASES = {
    "empty file": lambda path: path.write_bytes(b""),
    "unrelated table": lambda path: raw(path, "CREATE TABLE other (x)"),
}


@pytest.mark.parametrize("make", V0_DATABASES.values(), ids=V0_DATABASES.keys())
def test_a_version_0_database_migrates(tmp_path: Path, make: Any) -> None:
    make(tmp_path / FILE_NAME)
    with SQLiteStore.open(tmp_path) as history:
        assert history.schema_version == LATEST
        assert history.run(record(history, attempt())) is not None


USAGE = {"cpu_user": 1.5, "cpu_system": 0.25, "max_rss": 64 * MIB}


def test_a_version_5_history_migrates_and_reads_its_runs_without_usage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = older_history(tmp_path, 5, monkeypatch)
    assert "cpu_user" not in [row[1] for row in raw(db, "PRAGMA table_info(runs)")]
    insert_old_run(db, "old", Outcome.SUCCESS, "2026-03-01T12:00:10.000000+00:00")
    with SQLiteStore.open(tmp_path, host="here") as history:
        assert history.schema_version == LATEST
        (old,) = history.runs()
        assert (old.job_id, old.outcome, old.duration) == ("old", Outcome.SUCCESS, 10.0)
        assert (old.cpu_user, old.cpu_system, old.max_rss, old.cpu_seconds) == (None,) * 4
        new = record(history, attempt("new", minute=1, **USAGE))
        seen = history.run(new)
        stats = history.stats()
    assert seen is not None
    assert (seen.cpu_user, seen.cpu_system, seen.max_rss) == (1.5, 0.25, 64 * MIB)
    assert seen.cpu_seconds == 1.75
    assert (stats.runs, stats.cpu_seconds, stats.max_rss) == (2, 1.75, 64 * MIB)


@pytest.mark.parametrize(
    ("message", "slots"),
    [
        pytest.param("3 missed run(s) from A to B not run (catch-up=none)", 3, id="a-decision"),
        pytest.param("1 missed run(s) from A to A not run (catch-up=none)", 1, id="one-slot"),
        pytest.param("queued when the daemon stopped", 1, id="a-queued-run"),
        pytest.param(None, 1, id="no-message"),
    ],
)
def test_a_version_5_missed_record_gets_the_slots_its_message_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, message: str | None, slots: int
) -> None:
    db = older_history(tmp_path, 5, monkeypatch)
    insert_old_run(db, "late", Outcome.MISSED, "2026-03-01T12:00:00.000000+00:00")
    raw(db, "UPDATE runs SET message = ?", (message,))
    insert_old_run(db, "ran", Outcome.SUCCESS, "2026-03-01T12:00:10.000000+00:00")
    with SQLiteStore.open(tmp_path, host="here") as history:
        by_job = {r.job_id: r for r in history.runs()}
    assert (by_job["late"].slots, by_job["late"].message) == (slots, message)
    assert by_job["ran"].slots == 1


def test_a_reader_reads_an_older_history_as_it_is_without_upgrading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = older_history(tmp_path, 5, monkeypatch)
    insert_old_run(db, "old", Outcome.FAILED, "2026-03-01T12:00:10.000000+00:00")
    before = db.read_bytes()
    with SQLiteStore.open_readonly(tmp_path, host="here", settled_at=T0) as reader:
        assert reader.schema_version == LATEST
        (old,) = reader.runs()
        stats = reader.stats()
    assert (old.job_id, old.outcome, old.max_rss) == ("old", Outcome.FAILED, None)
    assert (stats.runs, stats.cpu_seconds, stats.max_rss) == (1, 0.0, None)
    assert db.read_bytes() == before
    assert raw(db, "SELECT value FROM meta WHERE key = 'schema_version'") == [("5",)]


def test_a_version_6_history_migrates_its_runs_without_a_fence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = older_history(tmp_path, 6, monkeypatch)
    insert_old_run(db, "old", Outcome.SUCCESS, "2026-03-01T12:00:10.000000+00:00")
    with SQLiteStore.open(tmp_path, host="here") as history:
        assert history.schema_version == LATEST
        assert [run.job_id for run in history.runs()] == ["old"]
    assert raw(db, "SELECT job_id, fence FROM runs") == [("old", None)]


def test_migrations_are_numbered_one_by_one() -> None:
    assert [version for version, _ in MIGRATIONS] == list(range(1, LATEST + 1))


def test_steps_apply_in_order_from_the_stored_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SQLiteStore.open(tmp_path) as old:
        record_id = record(old, attempt())
    steps = (
        (LATEST + 1, ("ALTER TABLE runs ADD COLUMN note TEXT", "UPDATE runs SET note = 'one'")),
        (LATEST + 2, ("UPDATE runs SET note = note || ' two'",)),
    )
    monkeypatch.setattr(history_module, "MIGRATIONS", MIGRATIONS + steps)
    with SQLiteStore.open(tmp_path) as new:
        assert new.schema_version == LATEST + 2
        assert new.run(record_id) is not None
    assert raw(tmp_path / FILE_NAME, "SELECT note FROM runs") == [("one two",)]


def test_a_failing_step_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    SQLiteStore.open(tmp_path).close()
    broken = ((LATEST + 1, ("ALTER TABLE runs ADD COLUMN note TEXT", "NOT SQL")),)
    monkeypatch.setattr(history_module, "MIGRATIONS", MIGRATIONS + broken)
    with pytest.raises(HistoryError, match="syntax error"):
        SQLiteStore.open(tmp_path)
    monkeypatch.undo()
    with SQLiteStore.open(tmp_path) as history:
        assert history.schema_version == LATEST
    columns = [row[1] for row in raw(tmp_path / FILE_NAME, "PRAGMA table_info(runs)")]
    assert "note" not in columns


BAD_FILES = {
    "not a database": (
        lambda path: path.write_bytes(b"this is a text file, not SQLite" * 100),
        "not a usable run history",
    ),
    "meta without a version": (
        lambda path: raw(path, "CREATE TABLE meta (key, value)"),
        "a table meta without a schema version",
    ),
}


@pytest.mark.parametrize(("make", "message"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_file_that_is_no_history_is_refused(tmp_path: Path, make: Any, message: str) -> None:
    make(tmp_path / FILE_NAME)
    with pytest.raises(HistoryError, match=message):
        SQLiteStore.open(tmp_path)


def posix_locks(path: Path) -> list[str]:
    """The POSIX locks this process holds on the file (lines of /proc/locks)."""
    inode = f":{path.stat().st_ino} "
    lines = Path("/proc/locks").read_text().splitlines()
    return [line.split(":", 1)[1] for line in lines if inode in line and f" {os.getpid()} " in line]


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="no /proc/locks to see locks in")
def test_opening_the_history_again_keeps_the_locks_of_the_connections_open(
    tmp_path: Path,
) -> None:
    """POSIX locks belong to the process: closing any descriptor of the file
    drops all of them. Were the history opened and closed by other means than
    SQLite's (which keeps such descriptors until the last connection ends),
    a daemon whose status page reads its history would lose the lock of its
    own connection, and a `run-now` ending beside it would take itself for
    the last user of the WAL, and checkpoint and delete it under the daemon."""
    SQLiteStore.open(tmp_path).close()
    with SQLiteStore.open(tmp_path) as history:
        history.runs()
        held = posix_locks(tmp_path / FILE_NAME)
        assert held  # in WAL mode, a connection holds a shared lock on the file
        with SQLiteStore.open_readonly(tmp_path) as reader:
            reader.runs()
        SQLiteStore.open(tmp_path).close()
        assert posix_locks(tmp_path / FILE_NAME) == held
        history.runs()


def test_an_unreadable_version_is_refused(tmp_path: Path) -> None:
    SQLiteStore.open(tmp_path).close()
    raw(tmp_path / FILE_NAME, "UPDATE meta SET value = 'one'")
    with pytest.raises(HistoryError, match="unreadable schema version 'one'"):
        SQLiteStore.open(tmp_path)


def test_a_lock_held_too_long_fails_within_the_busy_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A reader of a database not yet in WAL mode blocks the switch to it.
    reader = sqlite3.connect(tmp_path / FILE_NAME, isolation_level=None)
    try:
        reader.execute("CREATE TABLE other (x)")
        reader.execute("BEGIN")
        reader.execute("SELECT * FROM other")
        monkeypatch.setattr(history_module, "BUSY_TIMEOUT", 0.2)
        with pytest.raises(HistoryError, match=r"database is locked: .* over 0.2 s; try again"):
            SQLiteStore.open(tmp_path)
        reader.execute("COMMIT")
    finally:
        reader.close()
    with SQLiteStore.open(tmp_path) as history:
        assert history.schema_version == LATEST


def test_a_closed_history_reports_an_error(backend: Backend) -> None:
    history = backend.open()
    history.close()
    with pytest.raises(HistoryError, match="closed"):
        history.runs()


# -- Recorder ------------------------------------------------------------------------------


def test_start_and_finish_round_trip_with_aware_times(history: Store) -> None:
    started = datetime(2026, 3, 1, 14, 30, 0, 250, tzinfo=PLUS_TWO)
    logs = Path("/state/logs/backup")
    running = RunResult(
        job_id="backup",
        scheduled_for=datetime(2026, 3, 1, 14, 30, tzinfo=PLUS_TWO),
        attempt=2,
        outcome=Outcome.RUNNING,
        started=started,
        stdout_path=logs / "1.out",
        stderr_path=logs / "1.err",
        pid=4242,
    )
    record_id = history.started(running)

    seen = history.run(record_id)
    assert seen is not None
    assert (seen.outcome, seen.finished, seen.duration) == (Outcome.RUNNING, None, None)
    assert seen.result == running
    assert seen.started.tzinfo is timezone.utc
    assert seen.started == started
    assert (seen.id, seen.host, seen.recorder_pid) == (record_id, "here", os.getpid())
    assert history.running() == [seen]

    ended = running._replace(
        outcome=Outcome.FAILED,
        finished=started + timedelta(seconds=90.5),
        exit_code=3,
        message="exit status 3",
    )
    history.finished(record_id, ended)
    done = history.run(record_id)
    assert done is not None
    assert done.result == ended
    assert done.finished is not None
    assert done.finished.tzinfo is timezone.utc
    assert done.duration == 90.5
    assert done.log_paths == (logs / "1.out", logs / "1.err")
    assert history.running() == []


def test_times_are_stored_as_fixed_width_utc_text(history: Store, backend: Backend) -> None:
    started = datetime(2026, 3, 1, 14, 0, tzinfo=PLUS_TWO)
    history.started(
        RunResult("backup", started, 1, Outcome.SUCCESS, started, started + timedelta(seconds=10))
    )
    stored = backend.raw("SELECT scheduled_for, started, finished, duration FROM runs")
    assert stored == [
        (
            "2026-03-01T12:00:00.000000+00:00",
            "2026-03-01T12:00:00.000000+00:00",
            "2026-03-01T12:00:10.000000+00:00",
            10.0,
        )
    ]


def test_what_an_attempt_used_is_stored_when_it_ends(history: Store, backend: Backend) -> None:
    running = attempt(outcome=Outcome.RUNNING, seconds=None)
    record_id = history.started(running)
    seen = history.run(record_id)
    assert seen is not None
    assert (seen.cpu_user, seen.cpu_system, seen.max_rss) == (None, None, None)
    ended = attempt(outcome=Outcome.FAILED, exit_code=1, **USAGE)
    history.finished(record_id, ended)
    done = history.run(record_id)
    assert done is not None
    assert done.result == ended
    assert backend.raw("SELECT cpu_user, cpu_system, max_rss FROM runs") == [(1.5, 0.25, 64 * MIB)]


def test_an_attempt_that_already_ended_is_stored_complete(history: Store) -> None:
    skipped = attempt(outcome=Outcome.SKIPPED_OVERLAP, seconds=0, message="locked by run 7")
    seen = history.run(history.started(skipped))
    assert seen is not None
    assert seen.result == skipped
    assert history.running() == []


NAIVE = datetime(2026, 3, 1, 12, 0)
BAD_FINISHES = {
    "still running": (attempt(outcome=Outcome.RUNNING, seconds=None), ValueError, "needs an end"),
    "no end time": (attempt(seconds=None), ValueError, "needs an end"),
    "naive time": (attempt()._replace(finished=NAIVE), ValueError, "naive datetime"),
}


@pytest.mark.parametrize(
    ("result", "error", "message"), BAD_FINISHES.values(), ids=BAD_FINISHES.keys()
)
def test_bad_finishes_are_refused(
    history: Store, result: RunResult, error: type[Exception], message: str
) -> None:
    record_id = history.started(attempt(outcome=Outcome.RUNNING, seconds=None))
    with pytest.raises(error, match=message):
        history.finished(record_id, result)
    assert [run.id for run in history.running()] == [record_id]


def test_finishing_an_unknown_record_is_an_error(history: Store) -> None:
    with pytest.raises(HistoryError, match="no run with record id 99"):
        history.finished(99, attempt())


def test_naive_times_are_refused_everywhere(history: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        history.started(attempt()._replace(started=NAIVE))
    with pytest.raises(ValueError, match="naive"):
        history.runs(since=NAIVE)
    with pytest.raises(ValueError, match="naive"):
        history.prune(NAIVE)
    with pytest.raises(ValueError, match="naive"):
        history.mark_interrupted(now=NAIVE)
    assert history.runs() == []


# -- Queries -------------------------------------------------------------------------------

# (job, start minute, outcome): each attempt is known below by its start minute.
TABLE = [
    ("backup", 0, Outcome.SUCCESS),
    ("report", 5, Outcome.TIMEOUT),
    ("backup", 10, Outcome.FAILED),
    ("report", 15, Outcome.SUCCESS),
    ("backup", 20, Outcome.SUCCESS),
    ("sync", 25, Outcome.RUNNING),
]


@pytest.fixture
def table(history: Store) -> Store:
    for job, minute, outcome in TABLE:
        record(history, attempt(job, minute, outcome, None if outcome is Outcome.RUNNING else 30))
    return history


SINCE_10 = T0 + timedelta(minutes=10)
RUNS_CASES = {
    "all, newest first": ({}, [25, 20, 15, 10, 5, 0]),
    "one job": ({"job_id": "backup"}, [20, 10, 0]),
    "limit": ({"limit": 2}, [25, 20]),
    "limit 0": ({"limit": 0}, []),
    "since is inclusive": ({"since": SINCE_10}, [25, 20, 15, 10]),
    "since in another zone": ({"since": SINCE_10.astimezone(PLUS_TWO)}, [25, 20, 15, 10]),
    "one outcome": ({"outcome": Outcome.SUCCESS}, [20, 15, 0]),
    "several outcomes": ({"outcome": [Outcome.FAILED, Outcome.TIMEOUT]}, [10, 5]),
    "no outcomes": ({"outcome": []}, []),
    "all filters": (
        {"job_id": "backup", "since": SINCE_10, "outcome": Outcome.SUCCESS, "limit": 5},
        [20],
    ),
    "unknown job": ({"job_id": "nope"}, []),
}


@pytest.mark.parametrize(("filters", "minutes"), RUNS_CASES.values(), ids=RUNS_CASES.keys())
def test_runs_filters_order_and_limit(
    table: Store, filters: dict[str, Any], minutes: list[int]
) -> None:
    found = table.runs(**filters)
    assert [int((run.started - T0).total_seconds()) // 60 for run in found] == minutes


def test_a_negative_limit_is_refused(table: Store) -> None:
    with pytest.raises(ValueError, match="limit must be 0 or more"):
        table.runs(limit=-1)


def test_equal_start_times_order_by_record_id(history: Store) -> None:
    ids = [record(history, attempt(attempt=number)) for number in (1, 2, 3)]
    assert [run.id for run in history.runs()] == ids[::-1]
    latest = history.latest("backup")
    assert latest is not None
    assert latest.id == ids[-1]


RECENT_CASES = {
    "two of each": (
        (["backup", "report", "sync"], 2),
        {"backup": [20, 10], "report": [15, 5], "sync": [25]},
    ),
    "more than recorded": ((["backup"], 10), {"backup": [20, 10, 0]}),
    "jobs without runs are left out": ((["report", "nope"], 1), {"report": [15]}),
    "no jobs": (([], 3), {}),
}


@pytest.mark.parametrize(("arguments", "minutes"), RECENT_CASES.values(), ids=RECENT_CASES.keys())
def test_recent_attempts_per_job_newest_first(
    table: Store, arguments: tuple[list[str], int], minutes: dict[str, list[int]]
) -> None:
    found = table.recent(*arguments)
    assert {
        job: [int((run.started - T0).total_seconds()) // 60 for run in runs]
        for job, runs in found.items()
    } == minutes
    assert all(run.job_id == job for job, runs in found.items() for run in runs)


def test_recent_attempts_of_many_jobs(history: Store) -> None:
    jobs = [f"job{number}" for number in range(600)]  # more than one statement's parameters
    for minute, job in enumerate(jobs):
        record(history, attempt(job, minute))
        record(history, attempt(job, minute + 1000))
    found = history.recent(jobs, 1)
    assert sorted(found) == sorted(jobs)
    assert all(
        runs[0].started == T0 + timedelta(minutes=jobs.index(job) + 1000)
        for job, runs in found.items()
    )


def test_outcome_counts_per_job(table: Store) -> None:
    assert table.outcome_counts() == {
        "backup": {Outcome.SUCCESS: 2, Outcome.FAILED: 1},
        "report": {Outcome.TIMEOUT: 1, Outcome.SUCCESS: 1},
        "sync": {Outcome.RUNNING: 1},
    }
    assert table.outcome_counts(SINCE_10.astimezone(PLUS_TWO)) == {
        "backup": {Outcome.SUCCESS: 1, Outcome.FAILED: 1},
        "report": {Outcome.SUCCESS: 1},
        "sync": {Outcome.RUNNING: 1},
    }


def test_latest_run_and_running(table: Store) -> None:
    latest = table.latest("report")
    assert latest is not None
    assert (latest.outcome, latest.started) == (Outcome.SUCCESS, T0 + timedelta(minutes=15))
    assert table.run(latest.id) == latest
    assert table.latest("nope") is None
    assert table.run(12345) is None
    assert [(run.job_id, run.outcome) for run in table.running()] == [("sync", Outcome.RUNNING)]


def test_last_per_job(table: Store) -> None:
    last = table.last_per_job()
    assert list(last) == ["backup", "report", "sync"]
    assert {job: (run.outcome, run.started) for job, run in last.items()} == {
        "backup": (Outcome.SUCCESS, T0 + timedelta(minutes=20)),
        "report": (Outcome.SUCCESS, T0 + timedelta(minutes=15)),
        "sync": (Outcome.RUNNING, T0 + timedelta(minutes=25)),
    }


def test_last_per_job_of_an_empty_history(history: Store) -> None:
    assert history.last_per_job() == {}
    assert history.last_scheduled_per_job() == {}


def test_last_scheduled_is_the_latest_slot_not_the_latest_start(history: Store) -> None:
    slot = T0.astimezone(PLUS_TWO)
    record(history, attempt(minute=60, scheduled_for=slot + timedelta(hours=1)))
    # A catch-up run of an older slot, started later.
    record(history, attempt(minute=90, scheduled_for=slot))
    record(history, attempt("report", minute=0, scheduled_for=slot))
    assert history.last_scheduled("backup") == T0 + timedelta(hours=1)
    assert history.last_scheduled("nope") is None
    assert history.last_scheduled_per_job() == {
        "backup": T0 + timedelta(hours=1),
        "report": T0,
    }
    last = history.last_scheduled("backup")
    assert last is not None
    assert last.tzinfo is timezone.utc


# -- Statistics ----------------------------------------------------------------------------

DAY1 = T0  # 2026-03-01 12:00 UTC
DAY2 = T0 + timedelta(days=1)
# (job, started, outcome, seconds): statistics below are worked out by hand from these.
STATS_TABLE = [
    ("a", DAY1, Outcome.SUCCESS, 10),
    ("a", DAY1 + timedelta(hours=1), Outcome.SUCCESS, 20),
    ("a", DAY1 + timedelta(hours=11, minutes=30), Outcome.FAILED, 40),  # 23:30 UTC
    ("a", DAY2, Outcome.SUCCESS, 30),
    ("a", DAY2 + timedelta(hours=1), Outcome.TIMEOUT, 100),
    ("a", DAY2 + timedelta(hours=2), Outcome.SKIPPED_OVERLAP, 0),  # never ran: no duration
    ("a", DAY2 + timedelta(hours=3), Outcome.ERROR, 0),  # never ran: no duration
    ("a", DAY2 + timedelta(hours=4), Outcome.INTERRUPTED, 5000),  # end unseen: no duration
    ("a", DAY2 + timedelta(hours=5), Outcome.RUNNING, None),  # not counted at all
    ("b", DAY1, Outcome.SUCCESS, 7),
]


@pytest.fixture
def stats_table(history: Store) -> Store:
    for job, started, outcome, seconds in STATS_TABLE:
        result = RunResult(
            job_id=job,
            scheduled_for=started,
            attempt=1,
            outcome=outcome,
            started=started,
            finished=None if seconds is None else started + timedelta(seconds=seconds),
        )
        record(history, result)
    return history


def test_stats_of_one_job(stats_table: Store) -> None:
    stats = stats_table.stats("a")
    assert (stats.runs, stats.successes, stats.success_rate) == (8, 3, 3 / 8)
    # Timed: 10, 20, 30, 40, 100; nearest rank of 95% of 5 values is the 5th.
    assert (stats.duration_min, stats.duration_avg, stats.duration_p95, stats.duration_max) == (
        10,
        40,
        100,
        100,
    )
    assert stats.failures == {
        Outcome.ERROR: 1,
        Outcome.FAILED: 1,
        Outcome.INTERRUPTED: 1,
        Outcome.SKIPPED_OVERLAP: 1,
        Outcome.TIMEOUT: 1,
    }
    assert stats.per_day == {date(2026, 3, 1): (2, 1), date(2026, 3, 2): (1, 4)}
    assert all(isinstance(counts, DayCounts) for counts in stats.per_day.values())


def test_stats_of_all_jobs_since_a_time(stats_table: Store) -> None:
    stats = stats_table.stats(since=DAY1 + timedelta(minutes=1))
    assert (stats.runs, stats.successes) == (7, 2)
    assert (stats.duration_min, stats.duration_max) == (20, 100)
    whole = stats_table.stats()
    assert (whole.runs, whole.successes, whole.duration_min) == (9, 4, 7)


def test_stats_days_follow_the_zone_asked_for(stats_table: Store) -> None:
    # At +02:00 the 23:30 UTC failure of day 1 falls on day 2.
    stats = stats_table.stats("a", tz=PLUS_TWO)
    assert stats.per_day == {date(2026, 3, 1): (2, 0), date(2026, 3, 2): (1, 5)}


def test_stats_without_runs(history: Store) -> None:
    stats = history.stats()
    assert stats.runs == stats.successes == 0
    assert stats.success_rate is None
    assert stats.duration_p95 is None
    assert stats.failures == {}
    assert stats.per_day == {}
    assert (stats.cpu_seconds, stats.max_rss) == (0.0, None)


def test_stats_add_up_cpu_time_and_take_the_largest_peak(history: Store) -> None:
    record(history, attempt("a", 0, **USAGE))  # 1.75 s, 64 MiB
    record(history, attempt("a", 1, Outcome.TIMEOUT, cpu_user=3.0, cpu_system=1.0, max_rss=MIB))
    record(history, attempt("a", 2, Outcome.INTERRUPTED))  # not measured
    record(history, attempt("b", 3, cpu_user=0.5, cpu_system=0.5, max_rss=200 * MIB))
    one = history.stats("a")
    assert (one.runs, one.cpu_seconds, one.max_rss) == (3, 5.75, 64 * MIB)
    whole = history.stats()
    assert (whole.runs, whole.cpu_seconds, whole.max_rss) == (4, 6.75, 200 * MIB)


NEAREST_RANK_CASES = {
    "no values": ([], None),
    "one value": ([5.0], 5.0),
    "two values": ([1.0, 2.0], 2.0),
    "ten values": ([float(n) for n in range(1, 11)], 10.0),
    "twenty values": ([float(n) for n in range(1, 21)], 19.0),
    "twenty-one values": ([float(n) for n in range(1, 22)], 20.0),
    "a hundred values": ([float(n) for n in range(1, 101)], 95.0),
}


@pytest.mark.parametrize(
    ("values", "expected"), NEAREST_RANK_CASES.values(), ids=NEAREST_RANK_CASES.keys()
)
def test_p95_is_the_nearest_rank(values: list[float], expected: float | None) -> None:
    assert nearest_rank(values, 95) == expected


# -- Crash evidence ------------------------------------------------------------------------

CRASHING_CHILD = (
    CHILD_PRELUDE
    + """
kind, where, host = sys.argv[1:]
started = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
history = open_store(kind, where, host=host)
history.started(RunResult(host, started, 1, Outcome.RUNNING, started, pid=os.getpid()))
print(os.getpid())
os._exit(0)  # dies mid-run: no finish, no close
"""
)


def test_a_dead_recorders_running_row_is_marked_interrupted(
    history: Store, backend: Backend, tmp_path: Path
) -> None:
    children = run_children(
        [[CRASHING_CHILD, backend.name, backend.where, host] for host in ("here", "there")],
        tmp_path / "stderr",
    )
    assert [child.returncode for child in children] == [0, 0], [c.stderr for c in children]
    dead_pid = int(children[0].stdout)
    assert not pid_alive(dead_pid)
    alive_id = history.started(attempt("alive", outcome=Outcome.RUNNING, seconds=None))

    now = T0 + timedelta(minutes=3)
    changed = history.mark_interrupted(now=now.astimezone(PLUS_TWO), where=orphaned("here"))

    assert [(run.job_id, run.outcome, run.pid, run.recorder_pid) for run in changed] == [
        ("here", Outcome.INTERRUPTED, dead_pid, dead_pid)
    ]
    assert changed[0].finished == now
    assert changed[0].duration == 180
    assert history.run(changed[0].id) == changed[0]
    # Another host's record cannot be checked from here; this process is alive.
    assert sorted(run.job_id for run in history.running()) == ["alive", "there"]
    assert alive_id in {run.id for run in history.running()}


def test_mark_interrupted_without_a_predicate_takes_every_running_row(history: Store) -> None:
    record(history, attempt("done"))
    ids = [history.started(attempt(job, outcome=Outcome.RUNNING, seconds=None)) for job in "xy"]
    # A clock behind the start: the attempt ends at its start, not before.
    changed = history.mark_interrupted(now=T0 - timedelta(hours=1), message="daemon restarted")
    assert [run.id for run in changed] == ids
    assert {(run.finished, run.duration, run.message) for run in changed} == {
        (T0, 0.0, "daemon restarted")
    }
    assert history.running() == []
    assert history.mark_interrupted(now=T0) == []


def test_a_failing_predicate_changes_nothing(history: Store) -> None:
    history.started(attempt(outcome=Outcome.RUNNING, seconds=None))

    def broken(run: RunRecord) -> bool:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        history.mark_interrupted(now=T0, where=broken)
    assert len(history.running()) == 1


def test_upkeep_without_orphans_takes_no_write_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # run-now settles the history at every start: with nothing to mark, it
    # must not wait for (or fail behind) the daemon, nor write on a full disk.
    with SQLiteStore.open(tmp_path, host="here") as history:
        record(history, attempt())
        history.started(attempt("alive", outcome=Outcome.RUNNING, seconds=None))
        monkeypatch.setattr(history_module, "BUSY_TIMEOUT", 0.2)
        writer = sqlite3.connect(tmp_path / FILE_NAME, isolation_level=None)
        try:
            writer.execute("BEGIN IMMEDIATE")
            assert history.mark_interrupted(now=T0, where=orphaned("here")) == []
            assert [run.job_id for run in history.running()] == ["alive"]
        finally:
            writer.execute("ROLLBACK")
            writer.close()


def _dead_pid() -> int:
    """The id of a process that has ended and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=PROCESS_TIMEOUT)
    return child.pid


PID_CASES = {
    "this process": (os.getpid, True),
    "init": (lambda: 1, True),
    "a reaped child": (_dead_pid, False),
    "zero (a process group)": (lambda: 0, False),
    "negative (a process group)": (lambda: -1, False),
}


@pytest.mark.parametrize(("pid", "alive"), PID_CASES.values(), ids=PID_CASES.keys())
def test_pid_alive(pid: Any, alive: bool) -> None:
    assert pid_alive(pid()) is alive


# -- Concurrency ---------------------------------------------------------------------------

WRITER_CHILD = (
    CHILD_PRELUDE
    + """
worker, state = int(sys.argv[1]), Path(sys.argv[2])
print("ready", flush=True)
sys.stdin.readline()  # the start signal: every worker begins at once
slot = datetime(2026, 3, 1, tzinfo=timezone.utc) + timedelta(hours=worker)
with SQLiteStore.open(state) as history:
    for attempt in range(1, 6):
        start = slot + timedelta(minutes=attempt)
        running = RunResult(f"job-{worker}", slot, attempt, Outcome.RUNNING, start)
        record_id = history.started(running)
        end = start + timedelta(seconds=1)
        history.finished(record_id, running._replace(outcome=Outcome.SUCCESS, finished=end))
"""
)


def test_twenty_processes_write_at_once(tmp_path: Path) -> None:
    # The database does not exist yet: the workers also race to create and migrate it.
    state = tmp_path / "state"
    children = run_children(
        [[WRITER_CHILD, str(worker), str(state)] for worker in range(20)],
        tmp_path / "stderr",
        together=True,
    )
    assert [child.returncode for child in children] == [0] * 20, [c.stderr for c in children]
    with SQLiteStore.open(state) as history:
        runs = history.runs()
        assert history.running() == []
        assert history.schema_version == LATEST
    assert len(runs) == 100
    assert len({run.id for run in runs}) == 100
    assert {run.outcome for run in runs} == {Outcome.SUCCESS}
    assert sorted((run.job_id, run.attempt) for run in runs) == sorted(
        (f"job-{worker}", number) for worker in range(20) for number in range(1, 6)
    )


CLAIMER_CHILD = (
    CHILD_PRELUDE
    + """
kind, where, records = sys.argv[1], sys.argv[2], [int(word) for word in sys.argv[3:]]
with open_store(kind, where) as history:
    print("ready", flush=True)
    sys.stdin.readline()  # the start signal: every claimer begins at once
    now = datetime.now(timezone.utc)
    print(" ".join(str(record) for record in records if history.claim(record, now)))
"""
)


def test_a_queued_run_is_claimed_once_by_processes_racing_for_it(
    backend: Backend, tmp_path: Path
) -> None:
    slot = datetime(2026, 3, 1, tzinfo=timezone.utc)
    with backend.open() as history:
        queued = history.queue(
            [RunResult(f"job-{n}", slot, 1, Outcome.QUEUED, slot) for n in range(10)]
        )
    ids = [str(record) for record in queued]
    children = run_children(
        [[CLAIMER_CHILD, backend.name, backend.where, *ids] for _ in range(8)],
        tmp_path / "err",
        together=True,
    )
    assert [child.returncode for child in children] == [0] * 8, [c.stderr for c in children]
    claimed = [word for child in children for word in child.stdout.split()]
    assert sorted(claimed, key=int) == ids  # each exactly once
    with backend.open() as history:
        assert history.queued() == []
        assert {r.outcome for r in history.runs()} == {Outcome.RUNNING}
        assert not history.claim(queued[0], slot)  # no longer queued


def test_queued_runs_come_oldest_first_and_stay_out_of_the_stats(history: Store) -> None:
    late = datetime(2026, 3, 2, tzinfo=timezone.utc)
    early = late - timedelta(days=1)
    queued = history.queue(
        [RunResult(job, when, 1, Outcome.QUEUED, late) for job, when in (("a", late), ("b", early))]
    )
    assert [r.id for r in history.queued()] == queued[::-1]
    assert history.stats().runs == 0


def in_threads(work: Callable[[_T], None], arguments: Iterable[_T]) -> list[BaseException]:
    """Run `work` once per argument, each in a thread of its own, and wait for
    them all (a thread that takes too long fails the test); what they raised."""
    errors: list[BaseException] = []

    def guarded(argument: _T) -> None:
        try:
            work(argument)
        except BaseException as error:  # reported by the caller
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(argument,)) for argument in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=PROCESS_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads)
    return errors


def test_threads_share_one_history(history: Store) -> None:
    barrier = threading.Barrier(8, timeout=PROCESS_TIMEOUT)

    def work(worker: int) -> None:
        barrier.wait()
        for number in range(10):
            record(history, attempt(f"job-{worker}", minute=number))

    assert in_threads(work, range(8)) == []
    assert len(history.runs()) == 80
    assert history.running() == []


def test_two_threads_retrying_an_unwritten_end_write_it_once(
    history: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The daemon's loop and a worker thread both retry the ends a full disk
    # kept back; one that is being written by one of them is not the other's.
    record_id = history.started(attempt(outcome=Outcome.RUNNING, seconds=None))
    write_end = history.finished
    failing, writing, release = threading.Event(), threading.Event(), threading.Event()
    failing.set()
    writes: list[int] = []

    def gated(record: int, result: RunResult) -> None:
        if failing.is_set():
            raise HistoryError("database or disk is full")
        writes.append(record)
        writing.set()  # the first writer is inside: the second retries now
        assert release.wait(PROCESS_TIMEOUT)
        write_end(record, result)

    monkeypatch.setattr(history, "finished", gated)
    warnings: list[str] = []
    recorder = TolerantRecorder(history, warnings.append, claim_slots=False)
    recorder.finished(record_id, attempt())
    assert [w for w in warnings if "cannot record the end" in w], warnings
    failing.clear()
    first = threading.Thread(target=recorder.retry)
    first.start()
    assert writing.wait(PROCESS_TIMEOUT)
    left_to_the_second = recorder.retry()
    release.set()
    first.join(PROCESS_TIMEOUT)
    assert not first.is_alive()
    assert writes == [record_id]
    assert left_to_the_second == 0
    assert recorder.retry() == 0
    assert history.run(record_id).outcome is Outcome.SUCCESS


# -- Pruning -------------------------------------------------------------------------------


def test_prune_removes_old_rows_and_their_logs(history: Store, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()

    def log(name: str, exists: bool = True) -> Path:
        path = logs / name
        if exists:
            path.write_text(name)
        return path

    def add(
        name: str,
        days_ago: int,
        outcome: Outcome = Outcome.SUCCESS,
        stdout_path: Path | None = None,
        stderr_path: Path | None = None,
    ) -> int:
        started = T0 - timedelta(days=days_ago)
        finished = None if outcome is Outcome.RUNNING else started + timedelta(seconds=5)
        return record(
            history,
            RunResult(
                name,
                started,
                1,
                outcome,
                started,
                finished,
                stdout_path=stdout_path,
                stderr_path=stderr_path,
            ),
        )

    old = add("old", 40, stdout_path=log("old.out"), stderr_path=log("old.err"))
    gone = add("gone", 35, Outcome.FAILED, stdout_path=log("gone.out", exists=False))
    shared = add("shared-old", 45, stdout_path=log("shared.log"))
    add("shared-new", 1, stdout_path=logs / "shared.log")
    add("stuck", 50, Outcome.RUNNING, stdout_path=log("stuck.out"))
    add("recent", 2, stdout_path=log("recent.out"))
    add("edge", 30)  # ended 5 s after the cutoff

    pruned = history.prune(T0 - timedelta(days=30))

    assert [run.id for run in pruned.records] == [shared, old, gone]
    # The store leaves the files alone: they are the caller's, after the commit.
    assert len(list(logs.iterdir())) == 5
    assert sorted(path.name for path in pruned.logs) == ["gone.out", "old.err", "old.out"]
    remove_logs(pruned.logs)
    assert sorted(path.name for path in logs.iterdir()) == ["recent.out", "shared.log", "stuck.out"]
    assert sorted(run.job_id for run in history.runs()) == ["edge", "recent", "shared-new", "stuck"]
    assert history.prune(T0 - timedelta(days=30)) == ([], [])


def test_removing_logs_tries_every_file_and_reports_those_it_cannot_remove(
    tmp_path: Path,
) -> None:
    directories = [tmp_path / f"{name}.out" for name in "ab"]
    for directory in directories:
        directory.mkdir()
    plain = tmp_path / "c.out"
    plain.write_text("c")
    with pytest.raises(HistoryError, match=r"a\.out: cannot remove the log file: .*\(and 1 more\)"):
        remove_logs([directories[0], plain, directories[1], tmp_path / "missing.out"])
    assert not plain.exists()
    assert all(directory.is_dir() for directory in directories)


def test_pruning_touches_no_log_file(history: Store, tmp_path: Path) -> None:
    # Even a log that could not be removed is no reason to keep the record: the
    # store commits first, and the files are removed after.
    directory = tmp_path / "a-directory.out"
    directory.mkdir()
    started = T0 - timedelta(days=40)
    record(
        history,
        RunResult("x", started, 1, Outcome.SUCCESS, started, started, stdout_path=directory),
    )
    pruned = history.prune(T0)
    assert [run.job_id for run in pruned.records] == ["x"]
    assert pruned.logs == [directory]
    assert history.runs() == []
    assert directory.is_dir()


# -- Slot claims ---------------------------------------------------------------------------


def scheduled(job: str = "backup", outcome: Outcome = Outcome.QUEUED, **fields: Any) -> RunResult:
    """The first attempt of the run of `job` scheduled for T0."""
    return RunResult(job, T0, 1, outcome, T0, **fields)


def test_a_slot_is_queued_once_by_two_stores_on_one_history(backend: Backend) -> None:
    with backend.open() as first, backend.open() as second:
        (taken,) = first.queue([scheduled()])
        assert isinstance(taken, int)
        refused, other = second.queue([scheduled(), scheduled("other")])
        assert refused == SlotTaken("backup", T0)
        assert isinstance(other, int)
        with pytest.raises(SlotTakenError, match="backup: the run of 2026-03-01T12:00:00"):
            second.started(scheduled(outcome=Outcome.RUNNING), claim=True)
        # Nothing was recorded of the refused runs.
        assert sorted((r.id, r.job_id) for r in first.runs()) == [
            (taken, "backup"),
            (other, "other"),
        ]


CLAIM_CASES = {
    # what was recorded of the slot first -> whether a later scheduled run of it is refused
    "a queued run": (lambda store: store.queue([scheduled()]), True),
    "a started run": (
        lambda store: store.started(scheduled(outcome=Outcome.RUNNING), claim=True),
        True,
    ),
    "a missed slot": (
        lambda store: store.started(
            scheduled(outcome=Outcome.MISSED, finished=T0, message="not run"), claim=True
        ),
        True,
    ),
    "a skipped run": (
        lambda store: store.started(
            scheduled(outcome=Outcome.SKIPPED_OVERLAP, finished=T0), claim=True
        ),
        True,
    ),
    "a manual run (run-now)": (
        lambda store: store.started(scheduled(outcome=Outcome.RUNNING)),
        False,
    ),
    "an interrupted run": (
        lambda store: (
            store.claim(store.queue([scheduled()])[0], T0),
            store.mark_interrupted(now=T0 + timedelta(minutes=1)),
        ),
        False,
    ),
}


@pytest.mark.parametrize(("first", "refused"), CLAIM_CASES.values(), ids=CLAIM_CASES.keys())
def test_which_records_hold_their_slot(history: Store, first: Any, refused: bool) -> None:
    first(history)
    (later,) = history.queue([scheduled()])
    assert isinstance(later, SlotTaken) is refused


def test_retries_and_claimed_records_claim_nothing_more(history: Store) -> None:
    (record_id,) = history.queue([scheduled()])
    assert isinstance(record_id, int)
    assert history.claim(record_id, T0)
    assert history.started(scheduled(outcome=Outcome.RUNNING, pid=7), record_id) == record_id
    retry = scheduled(outcome=Outcome.RUNNING)._replace(attempt=2)
    assert history.started(retry) != record_id


def test_pruning_a_slots_every_record_gives_its_claim_up(history: Store) -> None:
    ended = scheduled(outcome=Outcome.SUCCESS, finished=T0 + timedelta(seconds=1))
    history.started(ended, claim=True)
    history.started(ended._replace(attempt=2, finished=T0 + timedelta(days=2)))
    history.prune(T0 + timedelta(days=1))  # the first attempt only
    assert isinstance(history.queue([scheduled()])[0], SlotTaken)
    history.prune(T0 + timedelta(days=3))
    assert isinstance(history.queue([scheduled()])[0], int)


def test_a_claimer_refusing_slots_has_nothing_recorded_for_them(
    history: Store, backend: Backend
) -> None:
    asked: list[list[Slot]] = []

    def claimer(slots: Sequence[Slot]) -> list[bool]:
        asked.append(list(slots))
        return [slot.job_id != "b" for slot in slots]

    history.set_claimer(claimer)
    first, refused, last = history.queue([scheduled("c"), scheduled("b"), scheduled("a")])
    assert isinstance(first, int)
    assert refused == SlotTaken("b", T0)
    assert isinstance(last, int)
    assert asked == [[Slot("a", T0), Slot("b", T0), Slot("c", T0)]]  # in (job, slot) order
    with pytest.raises(SlotTakenError):
        history.started(scheduled("b", Outcome.RUNNING), claim=True)
    assert isinstance(history.started(scheduled("b", Outcome.RUNNING)), int)  # claims nothing
    assert len(asked) == 2
    # Nothing of the refused runs was recorded or claimed in the store.
    assert sorted(row[0] for row in backend.raw("SELECT job_id FROM claims")) == ["a", "c"]
    assert sorted(run.job_id for run in history.runs()) == ["a", "b", "c"]
    history.set_claimer(None)
    assert isinstance(history.queue([scheduled("b")])[0], int)


def test_a_claimer_that_fails_has_nothing_recorded(history: Store) -> None:
    def unreachable(slots: Sequence[Slot]) -> list[bool]:
        raise ConnectionError("the claims cannot be reached")

    history.set_claimer(unreachable)
    with pytest.raises(ConnectionError, match="cannot be reached"):
        history.queue([scheduled("a")])
    assert history.runs() == []


def test_sqlite_records_the_fence_and_leaves_the_check_to_the_cluster(tmp_path: Path) -> None:
    with SQLiteStore.open(tmp_path) as history:
        history.set_membership(Membership("here:1:7", 7))
        queued, claimed = history.queue([scheduled("queued"), scheduled("claimed")])
        assert isinstance(claimed, int)
        history.set_membership(Membership("here:1:8", 8))  # joined again
        assert history.claim(claimed, T0)
        history.set_membership(None)
        alone = history.started(scheduled("alone", Outcome.RUNNING))
        # It cannot know the membership is over: an end is written as ever.
        history.finished(claimed, scheduled("claimed", Outcome.SUCCESS, finished=T0))
    fences = raw(tmp_path / FILE_NAME, "SELECT id, fence FROM runs ORDER BY id")
    assert fences == [(queued, 7), (claimed, 8), (alone, None)]


QUEUER_CHILD = (
    CHILD_PRELUDE
    + """
kind, where = sys.argv[1:]
slot = datetime(2026, 3, 1, tzinfo=timezone.utc)
with open_store(kind, where) as history:
    print("ready", flush=True)
    sys.stdin.readline()  # the start signal: every process begins at once
    (added,) = history.queue([RunResult("backup", slot, 1, Outcome.QUEUED, slot)])
    print("taken" if isinstance(added, int) else "refused")
"""
)


def test_a_slot_is_claimed_once_by_processes_racing_for_it(
    backend: Backend, tmp_path: Path
) -> None:
    backend.open().close()
    children = run_children(
        [[QUEUER_CHILD, backend.name, backend.where] for _ in range(6)],
        tmp_path / "err",
        together=True,
    )
    assert [child.returncode for child in children] == [0] * 6, [c.stderr for c in children]
    assert sorted(child.stdout.strip() for child in children) == ["refused"] * 5 + ["taken"]
    with backend.open() as history:
        assert len(history.queued()) == 1


def test_a_version_2_history_gets_the_claims_of_its_recorded_slots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = older_history(tmp_path, 2, monkeypatch)
    insert_old_run(db, "backup", Outcome.SUCCESS, "2026-03-01T12:00:00.000000+00:00")
    with SQLiteStore.open(tmp_path) as new:
        assert new.schema_version == LATEST
        assert isinstance(new.queue([scheduled()])[0], SlotTaken)
        assert isinstance(new.queue([scheduled("other")])[0], int)


# -- Reading without writing ---------------------------------------------------------------


def _files(state: Path) -> dict[str, bytes]:
    """The files of a state directory and their bytes, but the -wal and -shm
    files that any SQLite reader of a WAL database creates (the -wal one
    empty: no data goes there)."""
    wal = state / f"{FILE_NAME}-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    return {
        path.name: path.read_bytes()
        for path in state.iterdir()
        if not path.name.endswith(("-wal", "-shm"))
    }


def test_a_reader_sees_the_history_settled_and_writes_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state"
    gone = _dead_pid()
    with SQLiteStore.open(state, host="here") as history:
        done = record(history, attempt("done"))
        orphan = history.started(attempt("orphan", minute=1, outcome=Outcome.RUNNING, seconds=None))
        noted = history.started(attempt("noted", minute=2, outcome=Outcome.RUNNING, seconds=None))
        alive = history.started(attempt("alive", minute=3, outcome=Outcome.RUNNING, seconds=None))
        end = attempt("noted", minute=2, outcome=Outcome.FAILED, exit_code=2)
        history.note_end(noted, end)
    db = state / FILE_NAME
    raw(db, "UPDATE runs SET recorder_pid = ? WHERE job_id IN ('orphan', 'noted')", (gone,))
    before = _files(state)
    now = T0 + timedelta(hours=1)

    with SQLiteStore.open_readonly(state, host="here", settled_at=now) as reader:
        shown = {r.job_id: r for r in reader.runs()}
        assert [r.id for r in reader.running()] == [alive]
        assert [r.id for r in reader.runs(outcome=Outcome.INTERRUPTED)] == [orphan]
        stats = reader.stats()
        last = reader.last_per_job()
    assert (shown["orphan"].outcome, shown["orphan"].finished) == (Outcome.INTERRUPTED, now)
    assert shown["orphan"].message == "pycron stopped before this attempt ended"
    assert (shown["noted"].outcome, shown["noted"].exit_code) == (Outcome.FAILED, 2)
    assert shown["noted"].finished == end.finished
    assert (shown["done"].id, shown["done"].outcome) == (done, Outcome.SUCCESS)
    assert (stats.runs, stats.successes) == (3, 1)
    assert last["orphan"].outcome is Outcome.INTERRUPTED
    # Not a byte changed, nor beside it: the note is still there for a writer.
    assert _files(state) == before
    assert len(list(state.glob(f"{END_NOTE}*"))) == 1
    assert raw(db, "SELECT job_id FROM runs WHERE outcome = 'running' ORDER BY id") == [
        ("orphan",),
        ("noted",),
        ("alive",),
    ]


def test_a_noted_end_keeps_what_the_attempt_used(history: Store, backend: Backend) -> None:
    record_id = history.started(attempt(outcome=Outcome.RUNNING, seconds=None))
    ended = attempt(outcome=Outcome.FAILED, exit_code=2, **USAGE)
    history.note_end(record_id, ended)
    history.settle(T0 + timedelta(hours=1))
    done = history.run(record_id)
    assert done is not None
    assert done.result == ended
    assert not list(backend.notes.glob(f"{backend.note_prefix}*"))


def test_a_note_of_an_older_pycron_without_usage_is_written_too(
    history: Store, backend: Backend
) -> None:
    record_id = history.started(attempt(outcome=Outcome.RUNNING, seconds=None))
    start = round(T0.timestamp()) * 1_000_000
    note = (
        backend.notes / f"{backend.note_prefix}{record_id}.{start}.failed.2.-.{start + 10_000_000}"
    )
    note.touch()
    history.settle(T0 + timedelta(hours=1))
    done = history.run(record_id)
    assert done is not None
    assert (done.outcome, done.exit_code, done.duration) == (Outcome.FAILED, 2, 10.0)
    assert (done.cpu_user, done.cpu_system, done.max_rss) == (None, None, None)
    assert not note.exists()


def test_a_reader_without_anything_to_settle_reads_the_rows_as_they_are(tmp_path: Path) -> None:
    with SQLiteStore.open(tmp_path, host="here") as history:
        ids = [record(history, attempt(job)) for job in "ab"]
        rows = history.runs()
    with SQLiteStore.open_readonly(tmp_path, host="here", settled_at=T0) as reader:
        assert reader.runs() == rows
        assert [r.id for r in reader.runs()] == ids[::-1]
