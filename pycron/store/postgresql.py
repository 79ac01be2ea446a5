"""The run store on PostgreSQL (psycopg 3), the second implementation of
`pycron.store.Store`: the same tables and the same stored text as the SQLite
store, in one database that several hosts may share, so that a history can
be compared and copied from one backend to the other.

The queries and the recording are `pycron.store.sql.SQLStore`'s; what is
PostgreSQL's own is here:
- the connection: one per store, shared by the threads of one process under
  a lock, in autocommit mode with explicit transactions; a lock held by
  another connection is waited for up to `LOCK_TIMEOUT` seconds; a connection
  that the server or the network broke is opened again at the store's next
  use (the failed call itself is an error: what became of it is unknown);
- the claims: the primary key of `claims` is unique across every connection,
  so of two hosts inserting one slot's claim in concurrent transactions, the
  second waits for the first, then inserts nothing; messages are taken for a
  sender with `FOR UPDATE SKIP LOCKED`, so no two senders take one message;
- the schema: versioned in `meta`, grown only by the steps in `MIGRATIONS`,
  all applied in one transaction under an advisory lock
  (`pg_advisory_xact_lock`), so that of several hosts starting at once on a
  new version one migrates and the others find it done; a database of a
  newer schema is refused, not guessed at;
- times are text (`pycron.store.time_text`) in columns of the "C" collation,
  so that their order is byte order, as in SQLite, whatever the database's
  own collation;
- where ends go that the store cannot take (`note_end`): empty files in a
  directory of this host (its state directory), if the store was given one.

Each host writes its own name in the records (`host`): `settle` judges by
process id only the runs of this host; another host's run is never taken for
orphaned here.

The same database holds a cluster of daemons (`PostgresCluster`, see
`pycron.store.cluster`): its members and their leases, its epoch, and the
fence of each run (the generation of the membership it was recorded under),
which the store checks in the statements that write (`PostgresStore._holds`,
`_FENCE_HOLDS`), so that a membership that is over records nothing more.

Errors of the server or the connection are `HistoryError`s (a
`StoreConnectionError` when the server cannot be reached or the connection
was lost) naming the URL, its password masked.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row

from pycron.errors import HistoryError, StoreConnectionError
from pycron.records import Outcome, this_host
from pycron.store import text_time, time_text
from pycron.store.cluster import (
    DEFAULT_LEASE,
    Claimer,
    Member,
    Membership,
    Orphan,
    Slot,
    member_id,
    redacted,
)
from pycron.store.sql import (
    RECORD_COLUMNS,
    EndNotes,
    Params,
    Row,
    Session,
    SQLStore,
    apply_steps,
    interrupt,
    refuse_newer,
    schema_version,
)

if TYPE_CHECKING:
    from pycron.store import Store
    from pycron.store.cluster import Cluster

SCHEMES = ("postgresql://", "postgres://")
LOCK_TIMEOUT = 10.0  # seconds a statement waits for another connection's lock before failing
CONNECT_TIMEOUT = 10  # seconds to reach the server, unless the URL says otherwise
# libpq's settings of every connection, unless the URL says otherwise. A server
# that stops answering without a reset (a network that drops its packets) is
# given up on within about half a minute, not the kernel's hours: TCP
# keepalives while a reply is awaited (after 10 s, then every 5 s, 3 unanswered),
# and at most 30 s for sent data to be acknowledged. A cluster member then
# learns of the outage as it does of a refused connection.
CONNECTION_DEFAULTS = {
    "connect_timeout": str(CONNECT_TIMEOUT),
    "application_name": "pycron",
    "keepalives": "1",
    "keepalives_idle": "10",
    "keepalives_interval": "5",
    "keepalives_count": "3",
    "tcp_user_timeout": "30000",
}
# The names of the ends noted in the notes directory (see `pycron.store.sql.EndNotes`).
NOTE_PREFIX = "postgresql.end."
# The advisory lock under which the schema is migrated (any number that no
# other program of the database uses: "pycron" in ASCII).
MIGRATION_LOCK = 0x707963726F6E
# The advisory locks of cluster memberships: (MEMBER_LOCK, generation), a key
# of two numbers ("pycr" in ASCII), which never meets a key of one number.
MEMBER_LOCK = 0x70796372
# How long a member taken over is still listed (`PostgresCluster.members`)
# after its last beat, before a takeover forgets it.
FORGOTTEN_AFTER = timedelta(days=1)

TIME = 'TEXT COLLATE "C"'  # a time column: `time_text`, in byte order

# Each step brings the schema from the version before it to its own version;
# the next schema change appends a step and never edits an old one. (The
# versions are this backend's own: its first step is the SQLite store's sixth.)
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            f"""CREATE TABLE runs (
                id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                job_id TEXT COLLATE "C" NOT NULL,
                scheduled_for {TIME} NOT NULL,
                attempt INTEGER NOT NULL,
                outcome TEXT NOT NULL,
                exit_code INTEGER,
                signal INTEGER,
                started {TIME} NOT NULL,
                finished {TIME},
                duration DOUBLE PRECISION,
                stdout_path TEXT,
                stderr_path TEXT,
                host TEXT NOT NULL,
                pid INTEGER,
                recorder_pid INTEGER NOT NULL,
                message TEXT,
                cpu_user DOUBLE PRECISION,
                cpu_system DOUBLE PRECISION,
                max_rss BIGINT,
                slots INTEGER NOT NULL DEFAULT 1
            )""",
            "CREATE INDEX runs_job_started ON runs (job_id, started)",
            "CREATE INDEX runs_job_scheduled ON runs (job_id, scheduled_for)",
            "CREATE INDEX runs_job_finished ON runs (job_id, finished)",
            "CREATE INDEX runs_started ON runs (started)",
            "CREATE INDEX runs_outcome ON runs (outcome)",
            # Per job: since when the daemon has been responsible for it, and for
            # which schedule (a job whose schedule changes is a new job).
            f"""CREATE TABLE responsibility (
                job_id TEXT COLLATE "C" PRIMARY KEY,
                schedule TEXT NOT NULL,
                since {TIME} NOT NULL
            )""",
            # One claim per (job, slot): a slot is run once, however many
            # processes and hosts try.
            f"""CREATE TABLE claims (
                job_id TEXT COLLATE "C" NOT NULL,
                scheduled_for {TIME} NOT NULL,
                PRIMARY KEY (job_id, scheduled_for)
            )""",
            # The messages runs owe. `target` is redacted; `target_key` finds
            # the real one again among the targets configured (never stored).
            f"""CREATE TABLE outbox (
                id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                run_id BIGINT,
                job_id TEXT COLLATE "C" NOT NULL,
                channel TEXT NOT NULL,
                target TEXT NOT NULL,
                target_key TEXT NOT NULL,
                title TEXT NOT NULL,
                payload BYTEA NOT NULL,
                created {TIME} NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_try {TIME},
                state TEXT NOT NULL,
                error TEXT,
                delivered {TIME}
            )""",
            "CREATE INDEX outbox_due ON outbox (state, next_try)",
            "CREATE INDEX outbox_run ON outbox (run_id)",
            "CREATE INDEX outbox_job ON outbox (job_id, channel, created)",
            # The runs (job, slot) whose messages were composed and queued (maybe
            # none): each run's are queued once.
            f"""CREATE TABLE composed (
                job_id TEXT COLLATE "C" NOT NULL,
                scheduled_for {TIME} NOT NULL,
                PRIMARY KEY (job_id, scheduled_for)
            )""",
            # The upstream runs (record ids, in the order of the job's `@after`
            # list) that triggered the run (job, slot) of an `@after` job.
            f"""CREATE TABLE triggers (
                job_id TEXT COLLATE "C" NOT NULL,
                scheduled_for {TIME} NOT NULL,
                position INTEGER NOT NULL,
                upstream BIGINT NOT NULL,
                PRIMARY KEY (job_id, scheduled_for, position)
            )""",
        ),
    ),
    (
        2,
        (
            # The members of a cluster of daemons that share this database (the
            # cluster's epoch is a row of `meta`, written by the first member to
            # ask). Each membership has a generation of its own, handed out once,
            # in growing order; it is over once `over` says when it was taken
            # over, or once its row is gone (it left, or was forgotten).
            "CREATE SEQUENCE generations AS INTEGER",
            f"""CREATE TABLE members (
                generation INTEGER PRIMARY KEY,
                member_id TEXT NOT NULL,
                host TEXT COLLATE "C" NOT NULL,
                pid INTEGER NOT NULL,
                version TEXT NOT NULL,
                joined {TIME} NOT NULL,
                heartbeat {TIME} NOT NULL,
                over {TIME}
            )""",
            # The generation of the membership a run was recorded under (its
            # fence): NULL outside a cluster, as for every run before this step.
            "ALTER TABLE runs ADD COLUMN fence INTEGER",
        ),
    ),
)


class _Database:
    """One connection to a PostgreSQL database of pycron, shared by the threads
    of one process under a lock, opened again at the next use once the
    server or the network broke it; what the store and the cluster share."""

    _url: str
    _location: str
    _lock: threading.Lock
    _db: psycopg.Connection[tuple[Any, ...]]

    def _open_database(self, url: str) -> None:
        """Connect to the database at `url` (`postgresql://USER@HOST:PORT/DATABASE`)
        and bring its schema up to date."""
        self._url = url
        self._location = redacted(url)
        if not url.startswith(SCHEMES):
            raise HistoryError(
                f"{self._location}: not a PostgreSQL URL; give one such as "
                "postgresql://USER@HOST:5432/DATABASE"
            )
        self._lock = threading.Lock()
        self._db = _connect(url, self._location)
        try:
            with self._guarded() as db:
                _migrate(db, self._location)
        except BaseException:
            self._db.close()
            raise

    @property
    def location(self) -> str:
        """The database's URL, its password masked, for messages."""
        return self._location

    def close(self) -> None:
        """Close the connection; it cannot be used afterwards."""
        with self._lock:
            self._db.close()

    @contextmanager
    def _guarded(self) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """Hold the connection's lock (connecting again if the last connection
        broke); report failures of the server as HistoryError."""
        with self._lock:
            if self._db.broken:
                self._db = _connect(self._url, self._location)
            try:
                yield self._db
            except psycopg.Error as error:
                raise _history_error(self._location, error, self._db) from error

    @contextmanager
    def _session(self, *, transaction: bool = False) -> Iterator[Session]:
        """The connection under the lock. A transaction reads what others
        committed before each of its statements (PostgreSQL's READ COMMITTED);
        the statements say what they expect to find."""
        with self._guarded() as db, db.transaction() if transaction else nullcontext():
            yield _PostgresSession(db)


class PostgresStore(_Database, SQLStore):
    """The run store in a PostgreSQL database; implements `pycron.store.Store`
    (see `SQLStore` for its use)."""

    _db: psycopg.Connection[tuple[Any, ...]]

    _TAKE_LOCK = " FOR UPDATE SKIP LOCKED"
    _ROW_LOCK = " FOR UPDATE"
    # A record is its recorder's to write outside a cluster (no fence), or
    # while it has not ended and its membership is not over. (Not ended too,
    # as a write that waited for a takeover's lock on the record checks the
    # record again as the takeover left it, interrupted, but the membership
    # as it was when the statement began.)
    _FENCE_HOLDS = (
        f" AND (fence IS NULL OR outcome IN ('{Outcome.QUEUED.value}', '{Outcome.RUNNING.value}')"
        " AND EXISTS (SELECT 1 FROM members AS m WHERE m.generation = runs.fence"
        " AND m.over IS NULL))"
    )

    def __init__(self, url: str, *, host: str | None = None, notes: Path | None = None) -> None:
        """Connect to the database at `url` (`postgresql://USER@HOST:PORT/DATABASE`)
        and bring its schema up to date. `host` names this machine in new
        records (default: its hostname); `notes` is the directory (of this
        host) where ends that cannot be written are noted (`note_end`); without
        one, they cannot be."""
        self.host = this_host() if host is None else host
        self._notes = None if notes is None else EndNotes(notes, NOTE_PREFIX)
        self._open_database(url)

    @classmethod
    def open(cls, url: str, *, host: str | None = None, notes: Path | None = None) -> PostgresStore:
        """Open the store in the database at `url` (see the constructor)."""
        return cls(url, host=host, notes=notes)

    @property
    def schema_version(self) -> int:
        """The schema version stored in the database."""
        with self._guarded() as db:
            return _stored_version(db, self._location)

    def _holds(self, db: Session, membership: Membership) -> bool:
        """Whether the membership is not over, read under a shared lock on it,
        which its takeover takes alone: a membership is not taken over while a
        transaction records under it, and one that begins after its takeover
        finds it over."""
        db.execute(
            "SELECT pg_advisory_xact_lock_shared(CAST(? AS INTEGER), CAST(? AS INTEGER))",
            [MEMBER_LOCK, membership.generation],
        )
        return _holding(db, membership.generation)


class PostgresCluster(_Database):
    """The shared part of a cluster (`pycron.store.cluster.Cluster`) in the
    PostgreSQL database whose history its members share, on a connection of
    its own, so that a beat never waits behind a write of the history:

    - each member is a row of `members`; its membership is over once a
      takeover marked it so (`over`), or once the row is gone (it left, or
      was forgotten a day after it was taken over);
    - what a member runs is what the shared history says, its records running
      under its generation (their fence), which holds the runs started since
      its last beat too: the list a beat gives is not stored;
    - a takeover marks the stale members over and their running records
      interrupted (their slots' claims given up), in one transaction, each
      member under a lock that the taker takes alone, or passes by (the
      member is some other taker's, or it records just then: it is taken at
      a later turn); a member that is not live itself takes nothing over;
    - the store's claims and writes under a membership check it in their own
      transactions (`PostgresStore`), so `finish` only says whether it holds;
    - the epoch is the row `epoch` of `meta`.

    Staleness is judged by the `now` given, never by the server's clock.
    """

    def __init__(self, url: str, *, lease: timedelta = DEFAULT_LEASE) -> None:
        """Connect to the database at `url` and bring its schema up to date; a
        member whose lease (`lease`) runs out without a beat is stale."""
        self._lease = lease
        self._open_database(url)

    @classmethod
    def open(cls, url: str, *, lease: timedelta = DEFAULT_LEASE) -> PostgresCluster:
        """Open the cluster in the database at `url` (see the constructor)."""
        return cls(url, lease=lease)

    @property
    def backend(self) -> str:
        """`postgresql`."""
        return "postgresql"

    @property
    def lease(self) -> timedelta:
        """How long a member's beat holds."""
        return self._lease

    def join(self, host: str, pid: int, version: str, now: datetime) -> Membership:
        """Join as a new member, its generation the next of the sequence; its
        id is `HOST:PID:GENERATION`."""
        with self._session(transaction=True) as db:
            ((generation,),) = db.rows("SELECT nextval('generations')")
            membership = Membership(member_id(host, pid, generation), generation)
            db.execute(
                f"INSERT INTO members ({_MEMBER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    membership.member_id,
                    host,
                    pid,
                    version,
                    time_text(now),
                    time_text(now),
                    generation,
                ],
            )
        return membership

    def beat(self, membership: Membership, running: Collection[Slot], now: datetime) -> bool:
        """Renew the lease from `now`; False once the membership is over or its
        lease ran out before `now` (`running` is the history's to say)."""
        with self._session() as db:
            renewed = db.execute(
                "UPDATE members SET heartbeat = ?"
                " WHERE generation = ? AND over IS NULL AND heartbeat >= ?",
                [time_text(now), membership.generation, self._cutoff(now)],
            )
        return renewed == 1

    def leave(self, membership: Membership) -> None:
        """End the membership: its row goes."""
        with self._session() as db:
            db.execute("DELETE FROM members WHERE generation = ?", [membership.generation])

    def epoch(self, now: datetime) -> datetime:
        """The epoch in `meta`, written as `now` if no member wrote it before."""
        with self._session() as db:
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('epoch', ?) ON CONFLICT (key) DO NOTHING",
                [time_text(now)],
            )
            ((text,),) = db.rows("SELECT value FROM meta WHERE key = 'epoch'")
        return text_time(text)

    def take_over(self, membership: Membership, now: datetime) -> list[Orphan]:
        """The running runs of the members stale at `now`, marked interrupted,
        their memberships over, all in one transaction (see the class); then
        the members taken over a day before are forgotten."""
        cutoff = self._cutoff(now)
        orphans: list[Orphan] = []
        with self._session(transaction=True) as db:
            if not _holding(db, membership.generation, cutoff):
                return []
            stale = db.rows(
                "SELECT generation FROM members WHERE over IS NULL AND heartbeat < ?"
                " ORDER BY generation",
                [cutoff],
            )
            for (generation,) in stale:
                member = _mark_over(db, generation, cutoff, now)
                if member is not None:
                    message = (
                        f"taken over by {membership.member_id}: its member "
                        f"{member.member_id} stopped renewing its lease"
                    )
                    orphans += _interrupt_runs(db, member, now, message)
            db.execute(
                "DELETE FROM members WHERE over IS NOT NULL AND heartbeat < ?",
                [time_text(now - FORGOTTEN_AFTER)],
            )
        return orphans

    def claimer(self, membership: Callable[[], Membership]) -> Claimer | None:
        """None: the members' history is this database's, and it claims each
        run in the transaction that records it (see `PostgresStore`)."""
        return None

    def finish(self, membership: Membership, slot: Slot) -> bool:
        """Whether the membership holds: while it does, none of its runs was
        taken over. (The store checks each end itself, in its UPDATE.)"""
        with self._session() as db:
            return _holding(db, membership.generation)

    def members(self, now: datetime) -> list[Member]:
        """Every member listed, by host, then pid; stale if over, or if its
        last beat is older than the lease at `now`; running what the history
        says."""
        cutoff = now - self._lease
        with self._session() as db:
            rows = db.named(
                f"SELECT {_MEMBER_COLUMNS}, over FROM members ORDER BY host, pid, generation"
            )
            runs = db.rows(
                "SELECT fence, job_id, scheduled_for FROM runs"
                " WHERE outcome = ? AND fence IS NOT NULL ORDER BY scheduled_for, job_id",
                [Outcome.RUNNING.value],
            )
        running: dict[int, list[Slot]] = {}
        for fence, job_id, slot in runs:
            running.setdefault(fence, []).append(Slot(job_id, text_time(slot)))
        return [
            _member(
                row,
                tuple(running.get(row["generation"], ())),
                stale=row["over"] is not None or text_time(row["heartbeat"]) < cutoff,
            )
            for row in rows
        ]

    def _cutoff(self, now: datetime) -> str:
        """The stored time before which a last beat is stale at `now`."""
        return time_text(now - self._lease)


class _PostgresSession(Session):
    """A psycopg connection as `SQLStore` uses it: its `?` and `:name`
    parameters become psycopg's `%s` and `%(name)s`."""

    def __init__(self, db: psycopg.Connection[tuple[Any, ...]]) -> None:
        self._db = db

    def execute(self, sql: str, params: Params = ()) -> int:
        return self._db.execute(_placeholders(sql), params).rowcount

    def executemany(self, sql: str, params: Iterable[Params]) -> None:
        with self._db.cursor() as cursor:
            cursor.executemany(_placeholders(sql), params)

    def rows(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return self._db.execute(_placeholders(sql), params).fetchall()

    def named(self, sql: str, params: Params = ()) -> list[Row]:
        with self._db.cursor(row_factory=dict_row) as cursor:
            return list(cursor.execute(_placeholders(sql), params).fetchall())

    def insert(self, table: str, values: Mapping[str, object]) -> int:
        names = ", ".join(values)
        marks = ", ".join(f":{name}" for name in values)
        (row_id,) = self.rows(
            f"INSERT INTO {table} ({names}) VALUES ({marks}) RETURNING id", values
        )
        return int(row_id[0])


@lru_cache(maxsize=256)
def _placeholders(sql: str) -> str:
    """Shared SQL (see `pycron.store.sql`) with psycopg's placeholders: `?`
    becomes `%s`, `:name` becomes `%(name)s`, and a `%` of its own `%%`."""
    return _PLACEHOLDER.sub(
        lambda match: "%%" if match[0] == "%" else "%s" if match[0] == "?" else f"%({match[1]})s",
        sql,
    )


_PLACEHOLDER = re.compile(r"%|\?|:([A-Za-z_]\w*)")


# -- Storage helpers -----------------------------------------------------------------------


def _connect(url: str, location: str) -> psycopg.Connection[tuple[Any, ...]]:
    """A connection in autocommit mode (transactions are explicit) whose
    statements wait at most LOCK_TIMEOUT for a lock, with CONNECTION_DEFAULTS
    where the URL does not say otherwise."""
    try:
        given = conninfo_to_dict(url)
    except psycopg.Error as error:
        raise HistoryError(
            f"{location}: not a usable PostgreSQL URL ({_reason(error)}); give one such as "
            "postgresql://USER@HOST:5432/DATABASE"
        ) from None
    conninfo = make_conninfo(
        url, **{key: value for key, value in CONNECTION_DEFAULTS.items() if key not in given}
    )
    try:
        db = psycopg.connect(conninfo, autocommit=True)
    except psycopg.Error as error:
        raise StoreConnectionError(
            f"{location}: cannot connect to the store: {_reason(error)}; check that the server "
            "runs and can be reached, and that the URL's user, password and database are right"
        ) from error
    try:
        db.execute(f"SET lock_timeout = '{round(LOCK_TIMEOUT * 1000)}ms'")
    except psycopg.Error as error:
        db.close()
        raise _history_error(location, error, db) from error
    return db


def _migrate(db: psycopg.Connection[tuple[Any, ...]], location: str) -> None:
    """Bring the schema up to the latest version, all steps in one transaction
    (so a failed step changes nothing) under the migration lock, which the
    other hosts starting at once wait for; refuse a newer database."""
    latest = MIGRATIONS[-1][0]
    if _check_version(db, location, latest) == latest:
        return  # the usual case: no lock taken
    with db.transaction():
        db.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATION_LOCK])
        current = _check_version(db, location, latest)  # another host may have migrated meanwhile
        apply_steps(_PostgresSession(db), MIGRATIONS, current)


def _check_version(db: psycopg.Connection[tuple[Any, ...]], location: str, latest: int) -> int:
    """The stored schema version, refused if newer than `latest`."""
    return refuse_newer(_stored_version(db, location), latest, location, "another database")


def _stored_version(db: psycopg.Connection[tuple[Any, ...]], location: str) -> int:
    """The schema version in `meta`; 0 for a database without that table (new,
    empty, or holding nothing of pycron's yet)."""
    # Read from the catalog with this statement's snapshot: a name looked up
    # through the catalog's caches (`to_regclass`) may miss a table that a
    # host which held the migration lock before us has just committed.
    (has_meta,) = db.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables"
        " WHERE schemaname = current_schema() AND tablename = 'meta')"
    ).fetchone() or (False,)
    if not has_meta:
        return 0
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return schema_version(None if row is None else row[0], location)


def _history_error(
    location: str, error: psycopg.Error, db: psycopg.Connection[tuple[Any, ...]]
) -> HistoryError:
    """A HistoryError naming the store, with advice where there is some."""
    if isinstance(error, psycopg.errors.LockNotAvailable):
        return HistoryError(
            f"{location}: another connection held a lock for over {LOCK_TIMEOUT:g} s; try again"
        )
    if db.broken:
        return StoreConnectionError(
            f"{location}: the connection to the store was lost ({_reason(error)}); "
            "it is opened again at the next use of the store"
        )
    return HistoryError(f"{location}: {_reason(error)}")


def _reason(error: psycopg.Error) -> str:
    """The driver's message on one line, any password in it masked."""
    return redacted(" ".join(str(error).split())) or type(error).__name__


# -- The cluster's rows --------------------------------------------------------------------

# The columns of a member, as `_member` reads them (by name).
_MEMBER_COLUMNS = "member_id, host, pid, version, joined, heartbeat, generation"


def _holding(db: Session, generation: int, cutoff: str = "") -> bool:
    """Whether the membership of this generation is not over (and its last
    beat is not older than `cutoff`, a stored time, if given)."""
    return bool(
        db.rows(
            "SELECT 1 FROM members WHERE generation = ? AND over IS NULL AND heartbeat >= ?",
            [generation, cutoff],
        )
    )


def _mark_over(db: Session, generation: int, cutoff: str, now: datetime) -> Member | None:
    """Mark the membership of this generation over `now`, within the caller's
    transaction, if its lock is free (no other taker has it, and no
    transaction records under it) and it is still stale (no beat at or after
    `cutoff`) and not over; the member as it was, or None."""
    ((locked,),) = db.rows(
        "SELECT pg_try_advisory_xact_lock(CAST(? AS INTEGER), CAST(? AS INTEGER))",
        [MEMBER_LOCK, generation],
    )
    if not locked:
        return None
    rows = db.named(
        f"UPDATE members SET over = ? WHERE generation = ? AND over IS NULL AND heartbeat < ?"
        f" RETURNING {_MEMBER_COLUMNS}",
        [time_text(now), generation, cutoff],
    )
    return _member(rows[0], (), stale=True) if rows else None


def _interrupt_runs(db: Session, member: Member, now: datetime, message: str) -> list[Orphan]:
    """Mark the records running under the member's generation interrupted
    `now`, giving their slots' claims up, within the caller's transaction:
    the member's orphans. (A run whose end was written meanwhile is not one.)"""
    records = db.records(
        f"SELECT {RECORD_COLUMNS} FROM runs WHERE outcome = ? AND fence = ? ORDER BY id FOR UPDATE",
        [Outcome.RUNNING.value, member.generation],
    )
    marked = [done for record in records if (done := interrupt(db, record, now, message))]
    had = member._replace(running=tuple(Slot(run.job_id, run.scheduled_for) for run in marked))
    return [Orphan(Slot(run.job_id, run.scheduled_for), had, run.id) for run in marked]


def _member(row: Row, running: tuple[Slot, ...], *, stale: bool) -> Member:
    """A member as its row (of `_MEMBER_COLUMNS`) says, running `running`."""
    return Member(
        member_id=row["member_id"],
        host=row["host"],
        pid=row["pid"],
        version=row["version"],
        joined=text_time(row["joined"]),
        heartbeat=text_time(row["heartbeat"]),
        generation=row["generation"],
        running=running,
        stale=stale,
    )


if TYPE_CHECKING:

    def _is_a_store(history: PostgresStore) -> Store:
        """mypy checks here that PostgresStore keeps implementing the Store protocol."""
        return history

    def _is_a_cluster(cluster: PostgresCluster) -> Cluster:
        """mypy checks here that PostgresCluster keeps implementing the Cluster protocol."""
        return cluster
