"""What only the PostgreSQL store has to show, on a real server (each test in
a database of its own, see tests/backends.py): hosts queueing the same slots
at once, a migration raced by several hosts, a newer schema refused, a
failed migration undone, the URL's errors and its password, a connection
lost and found again, lock waits, two senders sharing the outbox, and a
history copied from SQLite reading the same."""

from __future__ import annotations

import os
import random
import socket
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
from backends import PostgresBackend, SQLiteBackend
from test_store import (
    CHILD_PRELUDE,
    PROCESS_TIMEOUT,
    T0,
    _dead_pid,
    attempt,
    in_threads,
    record,
    run_children,
)

from pycron.errors import HistoryError, StoreConnectionError
from pycron.notify import Channel, Message
from pycron.records import Outcome, RunResult
from pycron.store import TolerantRecorder
from pycron.store import postgresql as postgres_module
from pycron.store.postgresql import MIGRATIONS, PostgresStore, redacted

LATEST = MIGRATIONS[-1][0]
SLOTS = 200  # (job, slot) pairs every member queues

MEMBER_CHILD = (
    CHILD_PRELUDE
    + """
import random
url, seed, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
first = datetime(2026, 3, 1, tzinfo=timezone.utc)
pairs = [(f"job-{n % 20}", first + timedelta(minutes=n // 20)) for n in range(count)]
random.Random(seed).shuffle(pairs)  # each member decides in an order of its own
with open_store("postgresql", url, host=f"member-{seed}") as store:
    print("ready", flush=True)
    sys.stdin.readline()  # the start signal: every member begins at once
    taken = []
    for start in range(0, count, 25):
        chunk = pairs[start:start + 25]
        batch = [RunResult(job, slot, 1, Outcome.QUEUED, slot) for job, slot in chunk]
        taken += [added for added in store.queue(batch) if isinstance(added, int)]
    print(" ".join(map(str, taken)))
"""
)


def test_members_queueing_the_same_slots_record_each_once(
    postgres: PostgresBackend, tmp_path: Path
) -> None:
    postgres.open().close()
    members = 4
    children = run_children(
        [[MEMBER_CHILD, postgres.url, str(seed), str(SLOTS)] for seed in range(members)],
        tmp_path / "err",
        together=True,
    )
    assert [child.returncode for child in children] == [0] * members, [c.stderr for c in children]
    taken = [[int(word) for word in child.stdout.split()] for child in children]
    assert sum(map(len, taken)) == SLOTS
    assert len({record_id for ids in taken for record_id in ids}) == SLOTS
    rows = postgres.raw("SELECT job_id, scheduled_for, host FROM runs")
    assert len(rows) == SLOTS
    assert len({(job, slot) for job, slot, _ in rows}) == SLOTS
    # Each record was written by the member that says it took it.
    hosts = dict(postgres.raw("SELECT id, host FROM runs"))
    assert all(
        hosts[record_id] == f"member-{seed}" for seed, ids in enumerate(taken) for record_id in ids
    )


MIGRATING_CHILD = (
    CHILD_PRELUDE
    + """
from pycron.store import postgresql
step = ("CREATE TABLE migrated (n INTEGER)", "INSERT INTO migrated VALUES (1)")
postgresql.MIGRATIONS += ((postgresql.MIGRATIONS[-1][0] + 1, step),)
print("ready", flush=True)
sys.stdin.readline()  # the start signal: every member begins at once
with postgresql.PostgresStore.open(sys.argv[1]) as store:
    print(store.schema_version)
"""
)


def test_a_migration_raced_by_four_processes_runs_once(
    postgres: PostgresBackend, tmp_path: Path
) -> None:
    # The database is new: the members race for every step, the last one a test's own.
    children = run_children(
        [[MIGRATING_CHILD, postgres.url] for _ in range(4)], tmp_path / "err", together=True
    )
    assert [child.returncode for child in children] == [0] * 4, [c.stderr for c in children]
    assert [child.stdout.strip() for child in children] == [str(LATEST + 1)] * 4
    assert postgres.raw("SELECT COUNT(*) FROM migrated") == [(1,)]
    assert postgres.raw("SELECT value FROM meta") == [(str(LATEST + 1),)]


def test_a_newer_database_is_refused(postgres: PostgresBackend) -> None:
    postgres.open().close()
    postgres.raw("UPDATE meta SET value = ?", (str(LATEST + 1),))
    with pytest.raises(HistoryError, match=f"schema version {LATEST + 1}, newer") as caught:
        postgres.open()
    assert "upgrade pycron" in str(caught.value)
    assert postgres.url in str(caught.value)


def test_a_failing_step_changes_nothing(
    postgres: PostgresBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    postgres.open().close()
    broken = ((LATEST + 1, ("ALTER TABLE runs ADD COLUMN note TEXT", "NOT SQL")),)
    monkeypatch.setattr(postgres_module, "MIGRATIONS", MIGRATIONS + broken)
    with pytest.raises(HistoryError, match="syntax error"):
        postgres.open()
    monkeypatch.undo()
    with postgres.open() as store:
        assert isinstance(store, PostgresStore)
        assert store.schema_version == LATEST
    columns = postgres.raw(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'runs'"
    )
    assert ("note",) not in columns


def _closed_port() -> int:
    """A port of 127.0.0.1 where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_server_says_where_without_the_password() -> None:
    url = f"postgresql://pycron:s3cret-word@127.0.0.1:{_closed_port()}/pycron"
    with pytest.raises(StoreConnectionError) as caught:
        PostgresStore.open(url)
    message = str(caught.value)
    assert message.startswith(f"{url.replace('s3cret-word', '***')}: cannot connect to the store: ")
    assert "s3cret-word" not in message
    assert "check that the server runs" in message


REDACTED = {
    "no password": ("postgresql://pycron@db1:5432/runs", "postgresql://pycron@db1:5432/runs"),
    "in the user part": ("postgresql://pycron:pw@db1/runs", "postgresql://pycron:***@db1/runs"),
    "in the query": (
        "postgresql://db1/runs?sslmode=require&password=pw",
        "postgresql://db1/runs?sslmode=require&password=***",
    ),
    "several hosts": (
        "postgres://u:pw@db1:5432,db2:5432/r",
        "postgres://u:***@db1:5432,db2:5432/r",
    ),
    "a socket": (
        "postgresql:///runs?host=/run/postgresql",
        "postgresql:///runs?host=/run/postgresql",
    ),
    "no URL at all": ("host=db1 password=pw dbname=runs", "host=db1 password=*** dbname=runs"),
}


@pytest.mark.parametrize(("url", "shown"), REDACTED.values(), ids=REDACTED.keys())
def test_urls_are_shown_without_their_password(url: str, shown: str) -> None:
    assert redacted(url) == shown


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "/var/lib/pycron", "host=db1"])
def test_what_is_no_postgresql_url_is_refused(url: str) -> None:
    with pytest.raises(HistoryError, match="not a PostgreSQL URL; give one such as postgresql://"):
        PostgresStore.open(url)


def test_a_url_the_driver_cannot_read_is_refused_before_connecting() -> None:
    url = "postgresql://pycron:s3cret-word@127.0.0.1/pycron?colour=blue"
    with pytest.raises(HistoryError, match="not a usable PostgreSQL URL") as caught:
        PostgresStore.open(url)
    assert "s3cret-word" not in str(caught.value)
    assert not isinstance(caught.value, StoreConnectionError)


@pytest.mark.parametrize(
    ("query", "keep_idle", "user_timeout"),
    [("", 10, 30_000), ("keepalives_idle=60&tcp_user_timeout=5000", 60, 5_000)],
)
def test_a_connection_gives_up_on_a_silent_server_unless_the_url_says_otherwise(
    postgres: PostgresBackend, query: str, keep_idle: int, user_timeout: int
) -> None:
    # What the kernel does with the connection's socket: keepalives while a
    # reply is awaited, and a limit for unacknowledged data.
    url = postgres.url + ("&" if "?" in postgres.url else "?") + query if query else postgres.url
    with PostgresStore.open(url) as store:
        db = store._db
        with socket.socket(fileno=os.dup(db.fileno())) as connection:
            options = (
                connection.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
                connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
                connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
            )
    assert options == (1, keep_idle, 5, 3, user_timeout)


def test_a_lost_connection_fails_the_call_and_the_next_one_connects_again(
    postgres: PostgresBackend,
) -> None:
    with postgres.open() as store:
        record_id = record(store, attempt())
        (ended,) = postgres.raw(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 'pycron'"
        )
        assert ended == (True,)
        with pytest.raises(StoreConnectionError, match="the connection to the store was lost"):
            store.runs()
        assert [run.id for run in store.runs()] == [record_id]


def test_a_lock_held_too_long_fails_within_the_lock_timeout(
    postgres: PostgresBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_module, "LOCK_TIMEOUT", 0.2)
    with postgres.open() as store, psycopg.connect(postgres.url) as other:
        record_id = store.started(attempt(outcome=Outcome.RUNNING, seconds=None))
        other.execute("SELECT id FROM runs WHERE id = %s FOR UPDATE", [record_id])
        with pytest.raises(HistoryError, match=r"held a lock for over 0\.2 s; try again"):
            store.finished(record_id, attempt())
        other.rollback()
        store.finished(record_id, attempt())
        assert [run.outcome for run in store.runs()] == [Outcome.SUCCESS]


def test_two_senders_never_take_one_message(postgres: PostgresBackend) -> None:
    with postgres.open() as store:
        run = record(store, attempt(outcome=Outcome.FAILED))
        message = Message(Channel.MAIL, "backup", run, "ops@example.com", "failed", b"x")
        queued = store.queue_messages("backup", T0, [message] * 40, T0)
    assert queued is not None
    taken: list[list[int]] = [[], []]
    barrier = threading.Barrier(2, timeout=PROCESS_TIMEOUT)

    def send(mine: list[int]) -> None:
        with postgres.open() as sender:
            barrier.wait()
            while batch := sender.take_due(T0, timedelta(minutes=5), 3):
                mine.extend(entry.id for entry in batch)

    assert in_threads(send, taken) == []
    assert sorted(taken[0] + taken[1]) == sorted(queued)  # each once, by one sender


def test_a_history_copied_from_sqlite_reads_the_same(
    postgres: PostgresBackend, tmp_path: Path
) -> None:
    sqlite = SQLiteBackend(tmp_path / "sqlite")
    with sqlite.open() as source:
        for minute, outcome in enumerate([Outcome.SUCCESS, Outcome.FAILED, Outcome.TIMEOUT]):
            record(source, attempt("backup", minute, outcome, cpu_user=0.5, max_rss=1 << 33))
        record(source, attempt("report", 5, Outcome.MISSED, slots=3))
        source.started(attempt("sync", 9, Outcome.RUNNING, seconds=None))
        expected = (source.runs(), source.stats(), source.totals([1.0, 60.0]))
    columns = [row[1] for row in sqlite.raw("PRAGMA table_info(runs)")]
    rows = sqlite.raw(f"SELECT {', '.join(columns)} FROM runs")
    postgres.open().close()
    marks = ", ".join("?" * len(columns))
    for row in rows:
        postgres.raw(f"INSERT INTO runs ({', '.join(columns)}) VALUES ({marks})", row)
    with postgres.open() as copy:
        assert (copy.runs(), copy.stats(), copy.totals([1.0, 60.0])) == expected


def test_an_end_is_not_noted_without_a_directory_for_notes(postgres: PostgresBackend) -> None:
    warnings: list[str] = []
    with PostgresStore.open(postgres.url) as store:
        recorder = TolerantRecorder(store, warnings.append, claim_slots=False)
        recorder.finished(12345, attempt())  # no such record: the end cannot be written
    (warning,) = warnings
    assert "no run with record id 12345" in warning
    assert "cannot be noted" in warning
    assert "nowhere to note the end of record 12345" in warning


def test_only_its_own_host_takes_a_run_for_orphaned(postgres: PostgresBackend) -> None:
    # Two hosts' pycron processes share a database; a dead recorder is judged
    # only by its own host, the one that can see its processes.
    with postgres.open(host="a") as on_a, postgres.open(host="b") as on_b:
        theirs = on_b.started(attempt("b-job", outcome=Outcome.RUNNING, seconds=None))
        postgres.raw("UPDATE runs SET recorder_pid = ? WHERE id = ?", (_dead_pid(), theirs))
        assert on_a.settle(T0 + timedelta(hours=1)) == []
        (interrupted,) = on_b.settle(T0 + timedelta(hours=1))
    assert interrupted.id == theirs


def test_times_keep_their_order_as_text_of_the_c_collation(postgres: PostgresBackend) -> None:
    postgres.open().close()
    collations = postgres.raw(
        "SELECT column_name, collation_name FROM information_schema.columns"
        " WHERE table_name = 'runs' AND column_name IN ('scheduled_for', 'started', 'finished')"
        " ORDER BY column_name"
    )
    assert collations == [("finished", "C"), ("scheduled_for", "C"), ("started", "C")]
    slots = [datetime(2026, 3, 1, hour, tzinfo=timezone.utc) for hour in (9, 10, 23)]
    with postgres.open() as store:
        for slot in random.Random(7).sample(slots, len(slots)):
            store.started(RunResult("x", slot, 1, Outcome.SUCCESS, slot, slot))
        assert [run.started for run in store.runs()] == slots[::-1]
        assert store.last_scheduled("x") == slots[-1]
