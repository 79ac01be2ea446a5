"""The run store in SQLite, the first implementation of `pycron.store.Store`:
one row per attempt, in `STATE/history.db`.

The queries and the recording are `pycron.store.sql.SQLStore`'s, shared with
the PostgreSQL store; what is SQLite's own is here: the file, its schema and
migrations, reading without writing, and a corrupt file set aside.

A row is written when an attempt starts (outcome `running`) and completed
when it ends, so a pycron that dies mid-run leaves evidence behind; the next
daemon start (or `run-now`) turns such rows into `interrupted` (`settle`).
The same history serves the CLI (`history`, `logs`, `status`, `stats`,
`history prune`) and the daemon's catch-up, which starts from the last slot
recorded per job (`last_scheduled`).

Several processes write at once (the daemon and any `pycron run-now`), so the
database runs in WAL mode (readers never block writers), every writer waits
for the lock for up to `BUSY_TIMEOUT` seconds instead of failing, and every
write is one short `BEGIN IMMEDIATE` transaction. One `SQLiteStore` holds one
connection, shared by the threads of one process under a lock; a child
process opens its own. A slot's claim is a row of `claims`, whose primary key
(job, slot) SQLite keeps unique across processes.

Every time column (`scheduled_for`, `started`, `finished`, `since`) holds the
text of `pycron.store.time_text`. Nothing here reads the wall clock: every
"now" is an argument (only the wait for WAL mode on a new database keeps a
monotonic deadline).

The schema carries a version (table `meta`) and grows only by the steps in
`MIGRATIONS`; a database written by a newer pycron is refused, not guessed at.

Disks fill up, turn read-only and break, and a scheduler must keep running
jobs through all of it. So: the commands that only read open the history
read-only and write nothing, not even its upkeep (`SQLiteStore.open_readonly`
shows it settled as of a given time instead, and an older schema upgraded in
a copy in memory); `run-now` and the daemon set a corrupt file aside and
start a new one (`open_recording`), and record through a
`pycron.store.TolerantRecorder`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pycron.errors import CorruptHistoryError, HistoryError
from pycron.locks import LockFile
from pycron.records import this_host
from pycron.store import INTERRUPTED_MESSAGE, Store, orphaned, time_text, utc
from pycron.store.sql import (
    EndNotes,
    Params,
    Row,
    Session,
    SQLStore,
    apply_steps,
    interrupted_values,
    refuse_newer,
    schema_version,
)

FILE_NAME = "history.db"
BUSY_TIMEOUT = 10.0  # seconds a writer waits for another writer before giving up
# An end that could not be written is noted in an empty file beside the
# database, whose name starts so (see `pycron.store.EndNotes`).
END_NOTE = f"{FILE_NAME}.end."

# Each step brings the schema from the version before it to its own version;
# the next schema change appends a step and never edits an old one.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            """CREATE TABLE runs (
                id INTEGER PRIMARY KEY,
                job_id TEXT NOT NULL,
                scheduled_for TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                outcome TEXT NOT NULL,
                exit_code INTEGER,
                signal INTEGER,
                started TEXT NOT NULL,
                finished TEXT,
                duration REAL,
                stdout_path TEXT,
                stderr_path TEXT,
                host TEXT NOT NULL,
                pid INTEGER,
                recorder_pid INTEGER NOT NULL,
                message TEXT
            )""",
            "CREATE INDEX runs_job_started ON runs (job_id, started)",
            "CREATE INDEX runs_job_scheduled ON runs (job_id, scheduled_for)",
            "CREATE INDEX runs_started ON runs (started)",
            "CREATE INDEX runs_outcome ON runs (outcome)",
        ),
    ),
    (
        2,
        (
            # Per job: since when the daemon has been responsible for it, and for
            # which schedule (a job whose schedule changes is a new job).
            """CREATE TABLE responsibility (
                job_id TEXT PRIMARY KEY,
                schedule TEXT NOT NULL,
                since TEXT NOT NULL
            )""",
        ),
    ),
    (
        3,
        (
            # One claim per (job, slot): a slot is run once, however many
            # processes try. Slots recorded before this step hold theirs.
            """CREATE TABLE claims (
                job_id TEXT NOT NULL,
                scheduled_for TEXT NOT NULL,
                PRIMARY KEY (job_id, scheduled_for)
            ) WITHOUT ROWID""",
            "INSERT OR IGNORE INTO claims (job_id, scheduled_for)"
            " SELECT job_id, scheduled_for FROM runs",
        ),
    ),
    (
        4,
        (
            # The messages runs owe. `target` is redacted; `target_key` finds
            # the real one again among the targets configured (never stored).
            """CREATE TABLE outbox (
                id INTEGER PRIMARY KEY,
                run_id INTEGER,
                job_id TEXT NOT NULL,
                channel TEXT NOT NULL,
                target TEXT NOT NULL,
                target_key TEXT NOT NULL,
                title TEXT NOT NULL,
                payload BLOB NOT NULL,
                created TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_try TEXT,
                state TEXT NOT NULL,
                error TEXT,
                delivered TEXT
            )""",
            "CREATE INDEX outbox_due ON outbox (state, next_try)",
            "CREATE INDEX outbox_run ON outbox (run_id)",
            "CREATE INDEX outbox_job ON outbox (job_id, channel, created)",
            # The runs (job, slot) whose messages were composed and queued (maybe
            # none): each run's are queued once. The runs that ended before
            # this step owe nothing: an upgrade does not mail the past.
            """CREATE TABLE composed (
                job_id TEXT NOT NULL,
                scheduled_for TEXT NOT NULL,
                PRIMARY KEY (job_id, scheduled_for)
            ) WITHOUT ROWID""",
            "INSERT OR IGNORE INTO composed (job_id, scheduled_for)"
            " SELECT job_id, scheduled_for FROM runs WHERE outcome NOT IN ('queued', 'running')",
        ),
    ),
    (
        5,
        (
            # The upstream runs (record ids, in the order of the job's `@after`
            # list) that triggered the run (job, slot) of an `@after` job.
            """CREATE TABLE triggers (
                job_id TEXT NOT NULL,
                scheduled_for TEXT NOT NULL,
                position INTEGER NOT NULL,
                upstream INTEGER NOT NULL,
                PRIMARY KEY (job_id, scheduled_for, position)
            ) WITHOUT ROWID""",
            "CREATE INDEX runs_job_finished ON runs (job_id, finished)",
        ),
    ),
    (
        6,
        (
            # What an attempt used, from the rusage of its process (NULL for
            # the attempts recorded before this step, and those never seen end).
            "ALTER TABLE runs ADD COLUMN cpu_user REAL",
            "ALTER TABLE runs ADD COLUMN cpu_system REAL",
            "ALTER TABLE runs ADD COLUMN max_rss INTEGER",
            # How many scheduled slots a record stands for: a missed record, every
            # slot of one catch-up decision. Older missed records said it only at
            # the start of their message ("3 missed run(s) from ..."), read once here.
            "ALTER TABLE runs ADD COLUMN slots INTEGER NOT NULL DEFAULT 1",
            "UPDATE runs SET slots = MAX(CAST(COALESCE(message, '') AS INTEGER), 1)"
            " WHERE outcome = 'missed'",
        ),
    ),
    (
        7,
        (
            # The generation of the cluster membership a run was recorded under
            # (its fence): NULL outside a cluster, as for every run before this step.
            "ALTER TABLE runs ADD COLUMN fence INTEGER",
        ),
    ),
)


class SQLiteStore(SQLStore):
    """The run history in one SQLite file; implements `pycron.store.Store`
    (see `SQLStore` for its use)."""

    _db: sqlite3.Connection

    def __init__(
        self,
        path: Path,
        *,
        host: str | None = None,
        readonly: bool = False,
        settled_at: datetime | None = None,
    ) -> None:
        """Open (creating if need be) the database at `path` and bring its schema
        up to date. `host` names this machine in new records (default: its
        hostname). A `readonly` store never writes (see `open_readonly`)."""
        self.path = path
        self.host = this_host() if host is None else host
        self._notes: EndNotes = EndNotes(path.parent, END_NOTE)
        self._lock = threading.Lock()
        self._db = _connect_readonly(path) if readonly else _connect(path)
        try:
            with self._guarded():
                if readonly:
                    _check_version(self._db, path, MIGRATIONS[-1][0])
                else:
                    _migrate(self._db, path)
            if settled_at is not None:
                self._show_settled(settled_at)
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def open(cls, state_dir: Path, *, host: str | None = None) -> SQLiteStore:
        """Open `STATE/history.db`, creating the state directory (private to its
        owner, as it holds commands' logs) and the database if need be."""
        try:
            state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            raise HistoryError(f"{state_dir}: cannot create the state directory: {error}") from None
        return cls(state_dir / FILE_NAME, host=host)

    @classmethod
    def open_readonly(
        cls, state_dir: Path, *, host: str | None = None, settled_at: datetime | None = None
    ) -> SQLiteStore:
        """Open `STATE/history.db` without writing anything, not even the files
        SQLite keeps beside it where it cannot create them (a read-only or full
        disk); a missing history reads as an empty one. With `settled_at`, it
        reads as `settle` at that time would leave it (noted ends written,
        orphaned runs interrupted), though nothing is written."""
        return cls(state_dir / FILE_NAME, host=host, readonly=True, settled_at=settled_at)

    @property
    def location(self) -> str:
        """The database file, for messages."""
        return str(self.path)

    @property
    def schema_version(self) -> int:
        """The schema version stored in the database."""
        with self._guarded():
            return _stored_version(self._db, self.path)

    def _show_settled(self, now: datetime) -> None:
        """Make this connection read the history as `settle` at `now` would
        leave it, writing nothing to the database: the settled rows go to a
        table of SQLite's temp schema (private to the connection, writable even
        when the database is opened read-only), and a temp view `runs` shows
        the stored rows with those in their place. SQLite looks up a name in
        the temp schema first, so every query reads the view. With nothing to
        settle (the usual case), nothing is made."""
        noted = {note.record_id: (note.started, note.values) for note in self._notes.read()}
        is_orphaned = orphaned(self.host)
        settled: dict[int, dict[str, object]] = {}
        for record in self.running():
            note = noted.get(record.id)
            if note is not None and note[0] == time_text(record.started):
                settled[record.id] = note[1]
            elif is_orphaned(record):
                settled[record.id] = interrupted_values(record, now, INTERRUPTED_MESSAGE)
        if not settled:
            return
        with self._guarded():
            db = self._db
            db.execute("CREATE TEMP TABLE settled AS SELECT * FROM main.runs WHERE 0")
            for record_id, values in settled.items():
                assignments = ", ".join(f"{name} = :{name}" for name in values)
                db.execute(
                    "INSERT INTO temp.settled SELECT * FROM main.runs WHERE id = ?", [record_id]
                )
                db.execute(
                    f"UPDATE temp.settled SET {assignments} WHERE id = :id",
                    {**values, "id": record_id},
                )
            db.execute(
                "CREATE TEMP VIEW runs AS"
                " SELECT * FROM main.runs WHERE id NOT IN (SELECT id FROM temp.settled)"
                " UNION ALL SELECT * FROM temp.settled"
            )

    # -- Plumbing --------------------------------------------------------------------------

    @contextmanager
    def _guarded(self) -> Iterator[sqlite3.Connection]:
        """Hold the connection's lock; report database failures as HistoryError."""
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as error:
                raise _history_error(self.path, error) from error

    @contextmanager
    def _session(self, *, transaction: bool = False) -> Iterator[Session]:
        """The connection under the lock. A write transaction takes the write
        lock at its start (waiting for other writers up to the busy timeout),
        so reads inside it are current."""
        with self._guarded() as db:
            if not transaction:
                yield _SQLiteSession(db)
                return
            db.execute("BEGIN IMMEDIATE")
            try:
                yield _SQLiteSession(db)
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")


def open_recording(state_dir: Path, now: datetime, warn: Callable[[str], None]) -> SQLiteStore:
    """Open the history to record runs in (`run-now`, the daemon). A corrupt
    file is moved aside to `history.db.corrupt-<UTC time>` (kept, with its WAL
    files, for whoever wants to look into it) and a new history started, which
    `warn` hears of: a damaged history must not stop jobs from running.

    Only one process sets a file aside (under a lock file), and it checks
    first that the file is still corrupt, lest it move aside the new history
    that another process has just started.
    """
    try:
        return SQLiteStore.open(state_dir)
    except CorruptHistoryError as error:
        reason = error.reason
    path = state_dir / FILE_NAME
    with LockFile(path.with_name(f"{FILE_NAME}.lock")):
        try:
            return SQLiteStore.open(state_dir)
        except CorruptHistoryError:
            moved = _set_aside(path, now)
        history = SQLiteStore.open(state_dir)
    warn(f"{path}: not a usable run history ({reason}): moved it to {moved}; a new one is started")
    return history


def _set_aside(path: Path, now: datetime) -> Path:
    """Rename a database and its -wal and -shm files to `<name>.corrupt-<UTC
    time>` (and -wal, -shm), the WAL files first: left behind, they would be
    taken for part of the new database."""
    stamp = f"{utc(now):%Y%m%dT%H%M%SZ}"
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    number = 1
    while target.exists():
        number += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}.{number}")
    try:
        for suffix in ("-wal", "-shm"):
            sibling = path.with_name(path.name + suffix)
            if sibling.exists():
                sibling.rename(target.with_name(target.name + suffix))
        path.rename(target)
    except OSError as error:
        raise HistoryError(
            f"{error.filename}: cannot move the corrupt run history aside: {error.strerror}; "
            "move it away by hand"
        ) from None
    return target


# -- Storage helpers -----------------------------------------------------------------------


def _connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), usable from
    any thread (SQLiteStore serialises use), in WAL mode, waiting on busy locks."""
    _check_header(path)
    try:
        db = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as error:
        raise _history_error(path, error) from error
    try:
        db.row_factory = sqlite3.Row
        _enter_wal(db)
        # In WAL mode NORMAL cannot corrupt the database; a power cut may lose the last commits.
        db.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.Error as error:
        db.close()
        raise _history_error(path, error) from error
    return db


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection (`mode=ro`), or an empty in-memory history if
    there is no file yet (nothing is created). A history of an older schema
    (which the next daemon or `run-now` upgrades) is read from an up-to-date
    copy in memory, taken as it is now, as a reader writes nothing.
    """
    _check_header(path)
    if not path.exists():
        return _memory_history(path)
    db = _open_file_readonly(path)
    with _closed_on_error(db, path):
        outdated = _stored_version(db, path) < MIGRATIONS[-1][0]
    return _memory_history(path, db) if outdated else db


@contextmanager
def _closed_on_error(db: sqlite3.Connection, path: Path) -> Iterator[None]:
    """Close `db` if the block fails; a database error becomes the history's."""
    try:
        yield
    except sqlite3.Error as error:
        db.close()
        raise _history_error(path, error) from error
    except BaseException:
        db.close()
        raise


def _memory_history(path: Path, source: sqlite3.Connection | None = None) -> sqlite3.Connection:
    """A history in memory with the latest schema: empty, or a copy of the one
    `source` reads (closed once copied). `path` names it in messages."""
    db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    db.row_factory = sqlite3.Row
    try:
        with _closed_on_error(db, path):
            if source is not None:
                source.backup(db)
            _migrate(db, path)
    finally:
        if source is not None:
            source.close()
    return db


def _open_file_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection to the database file at `path`.

    In WAL mode even a reader needs the -wal and -shm files beside the
    database, and creates them if they are missing (when the last connection
    closed). Where they cannot be created (a read-only directory, a disk too
    full for the -shm file) the database is opened `immutable`, which needs
    neither, but also ignores the WAL file and every lock: that is right only
    while no WAL content exists, which is checked first (with content in a WAL
    file, SQLite could open it `mode=ro` in the first place).
    """
    try:
        return _open_uri(path, "mode=ro")
    except sqlite3.OperationalError as error:
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise HistoryError(
                f"{path}: cannot read the run history ({error}), and its {wal.name} holds runs "
                f"that a reader needs write access to {path.parent} to see; free some space "
                "there or make it writable"
            ) from error
    except sqlite3.Error as error:
        raise _history_error(path, error) from error
    try:
        return _open_uri(path, "mode=ro&immutable=1")
    except sqlite3.Error as error:
        raise _history_error(path, error) from error


_NOT_A_DATABASE = "file is not a database"  # SQLite's word for a file without its header


def _check_header(path: Path) -> None:
    """Refuse a file that is no SQLite database before SQLite opens it for good:
    it would take the first page from the WAL, and closing its last connection
    delete the -wal and -shm files beside it, which belong to the evidence of
    what went wrong. (An empty or missing file is a new database.)

    SQLite reads the header itself, `immutable` (no WAL, no locks): closing a
    descriptor of the file opened otherwise would drop every lock that this
    process's connections hold on it (POSIX locks belong to the process), and
    another process could then checkpoint and delete the WAL under them. Only
    "not a database" is a verdict: the file alone may be caught in the middle
    of a checkpoint, and other faults the connection itself reports."""
    if not path.exists():
        return
    try:
        probe = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as error:
        raise HistoryError(f"{path}: cannot read the run history: {error}") from None
    try:
        probe.execute("PRAGMA schema_version").fetchone()
    except sqlite3.DatabaseError as error:
        if str(error) == _NOT_A_DATABASE:
            raise CorruptHistoryError(path, "not an SQLite database") from None
    finally:
        probe.close()


def _open_uri(path: Path, query: str) -> sqlite3.Connection:
    """A connection to `path` with URI parameters, tried with a first read (the
    file is opened lazily, so opening alone proves nothing)."""
    uri = f"{path.absolute().as_uri()}?{query}"
    db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT, check_same_thread=False)
    try:
        db.row_factory = sqlite3.Row
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except BaseException:
        db.close()
        raise
    return db


def _enter_wal(db: sqlite3.Connection) -> None:
    """Switch the database to WAL mode (it stays so, in the file), waiting at
    most BUSY_TIMEOUT in all for other connections.

    The switch upgrades a read lock to an exclusive one, and where waiting for
    that could deadlock SQLite answers "locked" at once instead of calling the
    busy handler, so processes creating the database together collide. Between
    tries, `BEGIN IMMEDIATE` waits, through the busy handler, for whoever holds
    the lock; once one switch is done the others find WAL mode and need no lock.
    Each wait gets only what is left of the deadline (monotonic clock).
    """
    deadline = time.monotonic() + BUSY_TIMEOUT
    try:
        while True:
            _set_busy_timeout(db, deadline - time.monotonic())
            try:
                db.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError as error:
                if not _is_busy(error) or time.monotonic() >= deadline:
                    raise
            else:
                return
            db.execute("BEGIN IMMEDIATE")
            db.execute("ROLLBACK")
    finally:
        _set_busy_timeout(db, BUSY_TIMEOUT)


def _set_busy_timeout(db: sqlite3.Connection, seconds: float) -> None:
    """How long a statement of this connection waits for another's lock."""
    db.execute(f"PRAGMA busy_timeout = {max(int(seconds * 1000), 0)}")


def _is_busy(error: sqlite3.OperationalError) -> bool:
    """Whether SQLite reported a lock held by another connection."""
    return str(error).startswith("database is locked")


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring the schema up to the latest version, all steps in one transaction
    (so a failed step changes nothing); refuse a newer database."""
    latest = MIGRATIONS[-1][0]
    if _check_version(db, path, latest) == latest:
        return  # the usual case: no write lock taken
    db.execute("BEGIN IMMEDIATE")
    try:
        current = _check_version(db, path, latest)  # another process may have migrated meanwhile
        apply_steps(_SQLiteSession(db), MIGRATIONS, current)
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _check_version(db: sqlite3.Connection, path: Path, latest: int) -> int:
    """The stored schema version, refused if newer than `latest`."""
    return refuse_newer(_stored_version(db, path), latest, str(path), "another --state-dir")


def _stored_version(db: sqlite3.Connection, path: Path) -> int:
    """The schema version in `meta`; 0 for a database without that table (new,
    empty, or holding nothing of pycron's yet)."""
    has_meta = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if has_meta is None:
        return 0
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return schema_version(None if row is None else row[0], str(path))


def _history_error(path: Path, error: sqlite3.Error) -> HistoryError:
    """A HistoryError naming the file, with advice where there is some."""
    if type(error) is sqlite3.DatabaseError:  # corrupt, or not a database at all
        return CorruptHistoryError(path, str(error))
    if isinstance(error, sqlite3.OperationalError) and _is_busy(error):
        return HistoryError(
            f"{path}: {error}: another process held it for over {BUSY_TIMEOUT:g} s; try again"
        )
    return HistoryError(f"{path}: {error}")


class _SQLiteSession(Session):
    """An SQLite connection as `SQLStore` uses it (sqlite3 reads its `?` and
    `:name` parameters as they are; rows read by name are `sqlite3.Row`s)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def execute(self, sql: str, params: Params = ()) -> int:
        return self._db.execute(sql, params).rowcount

    def executemany(self, sql: str, params: Iterable[Params]) -> None:
        self._db.executemany(sql, params)

    def rows(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self._db.execute(sql, params)]

    def named(self, sql: str, params: Params = ()) -> list[Row]:
        return list(self._db.execute(sql, params))

    def insert(self, table: str, values: Mapping[str, object]) -> int:
        names = ", ".join(values)
        marks = ", ".join(f":{name}" for name in values)
        row_id = self._db.execute(
            f"INSERT INTO {table} ({names}) VALUES ({marks})", values
        ).lastrowid
        assert row_id is not None  # an INSERT always sets it
        return row_id


if TYPE_CHECKING:

    def _is_a_store(history: SQLiteStore) -> Store:
        """mypy checks here that SQLiteStore keeps implementing the Store protocol."""
        return history
