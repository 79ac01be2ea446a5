"""The run store in SQLite, the first implementation of `pycron.store.Store`:
one row per attempt, in `STATE/history.db`.

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

import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock

from pycron.errors import CorruptHistoryError, HistoryError, SlotTakenError
from pycron.notify import Channel, Message, redact
from pycron.records import Outcome, RunResult
from pycron.store import (
    DELIVERY_COLUMNS,
    ENTRY_COLUMNS,
    FAILURE_OUTCOMES,
    INTERRUPTED_MESSAGE,
    RAN_OUTCOMES,
    RECORD_COLUMNS,
    TIMED_OUTCOMES,
    Delivery,
    DeliveryRecord,
    DurationBuckets,
    EndNotes,
    JobPast,
    JobTotals,
    NotedEnd,
    OutboxEntry,
    Pruned,
    RunRecord,
    RunStats,
    SlotTaken,
    Store,
    interrupted_values,
    job_past_of,
    message_values,
    orphaned,
    pid_alive,
    run_filters,
    stored_delivery,
    stored_entry,
    stored_record,
    stored_values,
    summarize,
    text_time,
    time_text,
    utc,
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
)


class SQLiteStore:
    """The run history in one SQLite file; implements `pycron.store.Store`.

    Use as a context manager, or call `close()`. Do not carry an open store
    into a forked child: open another there.
    """

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
        self.host = socket.gethostname() if host is None else host
        self._notes = EndNotes(path.parent, END_NOTE)
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

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection; the store cannot be used afterwards."""
        with self._lock:
            self._db.close()

    @property
    def location(self) -> str:
        """The database file, for messages."""
        return str(self.path)

    @property
    def schema_version(self) -> int:
        """The schema version stored in the database."""
        with self._guarded():
            return _stored_version(self._db, self.path)

    # -- Recorder --------------------------------------------------------------------------

    def started(
        self, result: RunResult, record_id: int | None = None, *, claim: bool = False
    ) -> int:
        """Record an attempt that starts (outcome `running`) in a new record, or
        in record `record_id` (a queued record claimed for it, or its own,
        now with its process's pid); returns the record id. A result that has
        already ended (a skipped attempt, say) is stored complete, as it is.
        With `claim`, a new record claims its slot: `SlotTakenError` if held."""
        if record_id is not None:
            values = stored_values(result)
            values.update(host=self.host, recorder_pid=os.getpid())
            self._update(record_id, values)
            return record_id
        (added,) = self._insert([result], claim=claim)
        if isinstance(added, SlotTaken):
            raise SlotTakenError(added.job_id, added.scheduled_for)
        return added

    def queue(self, results: Sequence[RunResult]) -> list[int | SlotTaken]:
        """Record first attempts of scheduled runs in new records, each claiming
        its slot, all in one transaction (the daemon records each due run
        `queued` as it decides it); their record ids, or `SlotTaken` for a
        slot held already (nothing recorded for it)."""
        return self._insert(results, claim=True)

    def queue_triggered(self, result: RunResult, upstream: Sequence[int]) -> int | SlotTaken:
        """`queue` one run of an `@after` job with the upstream runs that
        triggered it, in one transaction; its record id, or `SlotTaken`."""
        (added,) = self._insert([result], claim=True, upstream=upstream)
        return added

    def _insert(
        self, results: Sequence[RunResult], *, claim: bool, upstream: Sequence[int] = ()
    ) -> list[int | SlotTaken]:
        """Record attempts in new records, with (or without) the claims of their
        slots, and the upstream runs that triggered them, in one transaction."""
        added: list[int | SlotTaken] = []
        with self._transaction() as db:
            for result in results:
                values = stored_values(result)
                if claim and not _claimed(db, values):
                    added.append(SlotTaken(result.job_id, utc(result.scheduled_for)))
                    continue
                if upstream:
                    _record_trigger(db, values, upstream)
                values.update(host=self.host, recorder_pid=os.getpid())
                names = ", ".join(values)
                marks = ", ".join(f":{name}" for name in values)
                record_id = db.execute(
                    f"INSERT INTO runs ({names}) VALUES ({marks})", values
                ).lastrowid
                if record_id is None:  # pragma: no cover - an INSERT always sets it
                    raise HistoryError(f"{self.path}: the new record got no id")
                added.append(record_id)
        return added

    def claim(self, record_id: int, now: datetime) -> bool:
        """Take a queued record for its run (outcome `running`, started `now`, this
        process its recorder): True for exactly one caller, however many
        processes try at once; False if it is not (or no longer) queued."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE runs SET outcome = ?, started = ?, host = ?, recorder_pid = ?"
                " WHERE id = ? AND outcome = ?",
                [
                    Outcome.RUNNING.value,
                    time_text(now),
                    self.host,
                    os.getpid(),
                    record_id,
                    Outcome.QUEUED.value,
                ],
            )
            return cursor.rowcount == 1

    def queued(self) -> list[RunRecord]:
        """Runs recorded as due but not started yet, oldest slot first."""
        return self._records(
            f"SELECT {RECORD_COLUMNS} FROM runs WHERE outcome = ? ORDER BY scheduled_for, id",
            [Outcome.QUEUED.value],
        )

    def finished(self, record_id: int, result: RunResult) -> None:
        """Complete the record of an attempt that has ended with `result`."""
        if result.outcome is Outcome.RUNNING or result.finished is None:
            raise ValueError(f"record {record_id}: a finished attempt needs an end and an outcome")
        self._update(record_id, stored_values(result))

    def _update(self, record_id: int, values: dict[str, object]) -> None:
        """Set columns of one record; a record that is not there is an error."""
        assignments = ", ".join(f"{name} = :{name}" for name in values)
        with self._transaction() as db:
            cursor = db.execute(
                f"UPDATE runs SET {assignments} WHERE id = :id", {**values, "id": record_id}
            )
            if cursor.rowcount == 0:
                raise HistoryError(f"{self.path}: no run with record id {record_id}")

    # -- Queries ---------------------------------------------------------------------------

    def runs(
        self,
        job_id: str | None = None,
        limit: int | None = None,
        since: datetime | None = None,
        outcome: Outcome | Collection[Outcome] | None = None,
    ) -> list[RunRecord]:
        """Recorded attempts, newest (latest start) first, optionally of one job,
        started at or after `since`, with one of the given outcomes, at most
        `limit` of them."""
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be 0 or more, not {limit}")
        where, params = run_filters(job_id, since, outcome)
        params.append(-1 if limit is None else limit)
        return self._records(
            f"SELECT {RECORD_COLUMNS} FROM runs{where} ORDER BY started DESC, id DESC LIMIT ?",
            params,
        )

    def run(self, record_id: int) -> RunRecord | None:
        """The attempt with this record id, if it is (still) recorded."""
        found = self._records(f"SELECT {RECORD_COLUMNS} FROM runs WHERE id = ?", [record_id])
        return found[0] if found else None

    def latest(self, job_id: str) -> RunRecord | None:
        """The job's most recently started attempt, if any."""
        found = self.runs(job_id, limit=1)
        return found[0] if found else None

    def last_per_job(self) -> dict[str, RunRecord]:
        """Each recorded job's most recently started attempt, by job id."""
        latest_ids = (
            "SELECT (SELECT id FROM runs AS r WHERE r.job_id = j.job_id"
            " ORDER BY started DESC, id DESC LIMIT 1) FROM (SELECT DISTINCT job_id FROM runs) AS j"
        )
        records = self._records(
            f"SELECT {RECORD_COLUMNS} FROM runs WHERE id IN ({latest_ids}) ORDER BY job_id", []
        )
        return {record.job_id: record for record in records}

    def recent(self, job_ids: Collection[str], count: int) -> dict[str, list[RunRecord]]:
        """The last `count` attempts of each of these jobs, newest first, by
        job id: one indexed look per job, however long the history."""
        found: dict[str, list[RunRecord]] = {}
        ids = list(job_ids)
        for start in range(0, len(ids), 500):  # SQLite's cap on parameters
            chunk = ids[start : start + 500]
            jobs = ", ".join("(?)" for _ in chunk)
            records = self._records(
                f"WITH jobs (job) AS (VALUES {jobs})"
                f" SELECT {RECORD_COLUMNS} FROM jobs JOIN runs ON id IN (SELECT r.id FROM runs AS r"
                " WHERE r.job_id = jobs.job ORDER BY r.started DESC, r.id DESC LIMIT ?)"
                " ORDER BY job_id, started DESC, id DESC",
                [*chunk, count],
            )
            for record in records:
                found.setdefault(record.job_id, []).append(record)
        return found

    def outcome_counts(self, since: datetime | None = None) -> dict[str, dict[Outcome, int]]:
        """How many attempts started at or after `since` each job has, by outcome."""
        where, params = run_filters(None, since, None)
        rows = self._query(
            f"SELECT job_id, outcome, COUNT(*) FROM runs{where} GROUP BY job_id, outcome"
            " ORDER BY job_id, outcome",
            params,
        )
        counts: dict[str, dict[Outcome, int]] = {}
        for job_id, outcome, count in rows:
            counts.setdefault(job_id, {})[Outcome(outcome)] = count
        return counts

    def running(self) -> list[RunRecord]:
        """Attempts recorded as running, newest first."""
        return self.runs(outcome=Outcome.RUNNING)

    def last_scheduled(self, job_id: str) -> datetime | None:
        """The latest slot recorded for the job (whatever became of it): catch-up
        looks for missed slots after this one."""
        rows = self._query("SELECT MAX(scheduled_for) FROM runs WHERE job_id = ?", [job_id])
        text = rows[0][0]
        return None if text is None else text_time(text)

    def last_scheduled_per_job(self) -> dict[str, datetime]:
        """`last_scheduled` of every recorded job at once, by job id."""
        rows = self._query(
            "SELECT job_id, MAX(scheduled_for) FROM runs GROUP BY job_id ORDER BY job_id", []
        )
        return {job_id: text_time(text) for job_id, text in rows}

    def ended_after(self, job_ids: Collection[str], after: datetime | None) -> list[RunRecord]:
        """The runs of these jobs that ended after `after` (None: ever), each
        as its last attempt, oldest end first."""
        ids = list(job_ids)
        if not ids:
            return []
        where = f"job_id IN ({', '.join('?' * len(ids))}) AND finished IS NOT NULL"
        params: list[object] = [*ids]
        if after is not None:
            where += " AND finished > ?"
            params.append(time_text(after))
        return self._records(
            f"SELECT {RECORD_COLUMNS} FROM runs AS r WHERE {where} AND outcome NOT IN (?, ?)"
            " AND attempt = (SELECT MAX(attempt) FROM runs AS a"
            " WHERE a.job_id = r.job_id AND a.scheduled_for = r.scheduled_for)"
            " ORDER BY finished, id",
            [*params, Outcome.QUEUED.value, Outcome.RUNNING.value],
        )

    def triggers(self, run_ids: Collection[int]) -> dict[int, tuple[int, ...]]:
        """The upstream runs that triggered the given runs (record ids; every
        attempt of a run shares its trigger), for those that have one."""
        found: dict[int, list[int]] = {}
        ids = list(run_ids)
        for start in range(0, len(ids), 500):  # SQLite's cap on parameters
            chunk = ids[start : start + 500]
            rows = self._query(
                "SELECT r.id, t.upstream FROM runs AS r JOIN triggers AS t"
                " ON t.job_id = r.job_id AND t.scheduled_for = r.scheduled_for"
                f" WHERE r.id IN ({', '.join('?' * len(chunk))}) ORDER BY r.id, t.position",
                chunk,
            )
            for run_id, upstream in rows:
                found.setdefault(run_id, []).append(upstream)
        return {run_id: tuple(upstream) for run_id, upstream in found.items()}

    def pipeline(self, record_id: int) -> list[RunRecord]:
        """Every attempt of the runs that triggers link to run `record_id`, the
        runs upstream and downstream of it, and theirs in turn (a join's other
        upstream runs too): its whole pipeline run, oldest start first. Runs
        are (job, slot) pairs, so each run comes with all its attempts."""
        return self._records(
            "WITH RECURSIVE link (from_job, from_slot, to_job, to_slot) AS ("
            "  SELECT t.job_id, t.scheduled_for, r.job_id, r.scheduled_for"
            "  FROM triggers AS t JOIN runs AS r ON r.id = t.upstream"
            "  UNION ALL"
            "  SELECT r.job_id, r.scheduled_for, t.job_id, t.scheduled_for"
            "  FROM triggers AS t JOIN runs AS r ON r.id = t.upstream"
            "), chain (job_id, scheduled_for) AS ("
            "  SELECT job_id, scheduled_for FROM runs WHERE id = ?"
            "  UNION"
            "  SELECT l.to_job, l.to_slot FROM chain AS c JOIN link AS l"
            "  ON l.from_job = c.job_id AND l.from_slot = c.scheduled_for"
            f") SELECT {RECORD_COLUMNS} FROM runs AS r WHERE EXISTS (SELECT 1 FROM chain AS c"
            " WHERE c.job_id = r.job_id AND c.scheduled_for = r.scheduled_for)"
            " ORDER BY started, id",
            [record_id],
        )

    def stats(
        self,
        job_id: str | None = None,
        since: datetime | None = None,
        tz: tzinfo = timezone.utc,
    ) -> RunStats:
        """Figures over the ended attempts (of one job, started at or after
        `since`; running and queued ones are left out); days are counted in
        `tz`. See `RunStats`."""
        where, params = run_filters(job_id, since, None)
        where += " AND " if where else " WHERE "
        rows = self._query(
            "SELECT outcome, started, duration, cpu_user + cpu_system, max_rss"
            f" FROM runs{where}outcome NOT IN (?, ?)",
            [*params, Outcome.RUNNING.value, Outcome.QUEUED.value],
        )
        return summarize(
            (
                (Outcome(outcome), text_time(started), duration, cpu, max_rss)
                for outcome, started, duration, cpu, max_rss in rows
            ),
            tz,
        )

    def totals(self, bounds: Sequence[float]) -> dict[str, JobTotals]:
        """`JobTotals` of every recorded job, in three queries: the ended
        attempts by job and outcome, the timed durations by job (counted
        against `bounds` by SQLite), and what the attempts used by job."""
        ended = self._query(
            "SELECT job_id, outcome, COUNT(*), MAX(finished),"
            " SUM(slots)"
            " FROM runs WHERE outcome NOT IN (?, ?) GROUP BY job_id, outcome",
            [Outcome.QUEUED.value, Outcome.RUNNING.value],
        )
        timed = ", ".join("?" * len(TIMED_OUTCOMES))
        below = "".join(", SUM(duration <= ?)" for _ in bounds)
        durations = self._query(
            f"SELECT job_id, COUNT(*), SUM(duration){below} FROM runs"
            f" WHERE outcome IN ({timed}) AND duration IS NOT NULL GROUP BY job_id",
            [*bounds, *(outcome.value for outcome in TIMED_OUTCOMES)],
        )
        usage = self._query(
            "SELECT job_id, SUM(cpu_user + cpu_system), max_rss,"
            # With one MAX, SQLite takes the bare column max_rss from its row.
            " MAX(CASE WHEN max_rss IS NOT NULL THEN finished END)"
            " FROM runs WHERE outcome NOT IN (?, ?) GROUP BY job_id",
            [Outcome.QUEUED.value, Outcome.RUNNING.value],
        )
        used = {job_id: (cpu or 0.0, max_rss) for job_id, cpu, max_rss, _ in usage}
        counts: dict[str, dict[Outcome, int]] = {}
        last: dict[str, dict[Outcome, datetime]] = {}
        missed: dict[str, int] = {}
        for job_id, outcome_text, number, finished, slots in ended:
            outcome = Outcome(outcome_text)
            counts.setdefault(job_id, {})[outcome] = number
            ends = last.setdefault(job_id, {})
            if finished is not None:
                ends[outcome] = text_time(finished)
            if outcome is Outcome.MISSED:
                missed[job_id] = slots
        buckets = {row[0]: DurationBuckets(tuple(row[3:]), row[1], row[2]) for row in durations}
        no_durations = DurationBuckets((0,) * len(bounds), 0, 0.0)
        return {
            job_id: JobTotals(
                ended=counts[job_id],
                last_ended=last[job_id],
                missed_slots=missed.get(job_id, 0),
                durations=buckets.get(job_id, no_durations),
                cpu_seconds=used[job_id][0],
                max_rss=used[job_id][1],
            )
            for job_id in sorted(counts)
        }

    # -- Responsibility --------------------------------------------------------------------

    def responsibilities(self) -> dict[str, tuple[str, datetime]]:
        """Per job id: the schedule it had and the instant from which the daemon
        has been responsible for it (catch-up finds missed slots only after
        that instant, so a job never run still has its missed slots found)."""
        rows = self._query("SELECT job_id, schedule, since FROM responsibility", [])
        return {job_id: (schedule, text_time(since)) for job_id, schedule, since in rows}

    def take_responsibility(
        self, taken: Mapping[str, tuple[str, datetime]], dropped: Collection[str] = ()
    ) -> None:
        """Record (or replace) the responsibility for jobs, and drop it for jobs
        no longer scheduled, in one transaction."""
        if not taken and not dropped:
            return
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO responsibility (job_id, schedule, since) VALUES (?, ?, ?)",
                [
                    (job_id, schedule, time_text(since))
                    for job_id, (schedule, since) in taken.items()
                ],
            )
            db.executemany(
                "DELETE FROM responsibility WHERE job_id = ?", [(job_id,) for job_id in dropped]
            )

    # -- Upkeep ----------------------------------------------------------------------------

    def settle(self, now: datetime) -> list[RunRecord]:
        """The upkeep of the daemon and `run-now`: first the ends that were
        noted beside the database when it could not be written (`note_end`),
        then the runs left running by pycron processes of this host that are
        gone, marked interrupted (returned)."""
        self._notes.settle(self._write_ends)
        return self.mark_interrupted(now=now, where=orphaned(self.host))

    def note_end(self, record_id: int, result: RunResult) -> str:
        """Note the end of a recorded attempt in an empty file beside the
        database, for `settle` to write once the database can be written (so
        that the attempt is not taken for an interrupted one); returns its path."""
        return self._notes.write(record_id, result)

    def drop_notes(self, record_id: int) -> None:
        """Delete the notes of an end that was written after all."""
        self._notes.drop(record_id)

    def _write_ends(self, notes: Sequence[NotedEnd]) -> None:
        """Write noted ends to their records, in one transaction: only to those
        still running and started as noted (a note never completes another)."""
        with self._transaction() as db:
            for note in notes:
                assignments = ", ".join(f"{name} = :{name}" for name in note.values)
                db.execute(
                    f"UPDATE runs SET {assignments} WHERE id = :id AND started = :at"
                    " AND outcome = :running",
                    {
                        **note.values,
                        "id": note.record_id,
                        "at": note.started,
                        "running": Outcome.RUNNING.value,
                    },
                )

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

    def mark_interrupted(
        self,
        *,
        now: datetime,
        where: Callable[[RunRecord], bool] | None = None,
        message: str = INTERRUPTED_MESSAGE,
    ) -> list[RunRecord]:
        """Mark attempts recorded as running as interrupted, ended `now` (or at
        their start, should `now` come before it): all of them, or those the
        predicate `where` picks (see `orphaned`); their slots' claims are given
        up, so that catch-up may run them again. Returns the changed records."""
        now = utc(now)
        if not any(where is None or where(record) for record in self.running()):
            return []  # the usual case: no write lock taken, nothing written
        changed: list[RunRecord] = []
        with self._transaction() as db:
            rows = db.execute(
                f"SELECT {RECORD_COLUMNS} FROM runs WHERE outcome = ? ORDER BY id",
                [Outcome.RUNNING.value],
            ).fetchall()
            for record in map(stored_record, rows):
                if where is not None and not where(record):
                    continue
                values = interrupted_values(record, now, message)
                assignments = ", ".join(f"{name} = :{name}" for name in values)
                db.execute(
                    f"UPDATE runs SET {assignments} WHERE id = :id", {**values, "id": record.id}
                )
                db.execute(
                    "DELETE FROM claims WHERE job_id = ? AND scheduled_for = ?",
                    [record.job_id, time_text(record.scheduled_for)],
                )
                changed.append(
                    record._replace(
                        outcome=Outcome.INTERRUPTED,
                        finished=max(now, record.started),
                        message=message,
                    )
                )
        return changed

    def prune(self, older_than: datetime) -> Pruned:
        """Forget attempts that ended before `older_than`, and the claims of
        slots left without a record; running attempts are never pruned.
        Returns the removed records, oldest first, and those of their log
        files that no kept record names (files the caller removes once this
        transaction is committed, see `pycron.store.logs`)."""
        cutoff = time_text(older_than)
        with self._transaction() as db:
            rows = db.execute(
                f"SELECT {RECORD_COLUMNS} FROM runs WHERE outcome != ? AND finished < ?"
                " ORDER BY started, id",
                [Outcome.RUNNING.value, cutoff],
            ).fetchall()
            doomed = [stored_record(row) for row in rows]
            kept = db.execute(
                "SELECT stdout_path, stderr_path FROM runs"
                " WHERE outcome = ? OR finished IS NULL OR finished >= ?",
                [Outcome.RUNNING.value, cutoff],
            ).fetchall()
            kept_paths = {Path(text) for pair in kept for text in pair if text is not None}
            db.executemany("DELETE FROM runs WHERE id = ?", [(record.id,) for record in doomed])
            db.executemany(
                "DELETE FROM outbox WHERE run_id = ? AND state != ?",
                [(record.id, Delivery.PENDING.value) for record in doomed],
            )
            db.executemany(
                "DELETE FROM claims WHERE job_id = ? AND scheduled_for = ? AND NOT EXISTS"
                " (SELECT 1 FROM runs AS r"
                " WHERE r.job_id = claims.job_id AND r.scheduled_for = claims.scheduled_for)",
                {(record.job_id, time_text(record.scheduled_for)) for record in doomed},
            )
            db.executemany(
                "DELETE FROM triggers WHERE job_id = ? AND scheduled_for = ? AND NOT EXISTS"
                " (SELECT 1 FROM runs AS r"
                " WHERE r.job_id = triggers.job_id AND r.scheduled_for = triggers.scheduled_for)",
                {(record.job_id, time_text(record.scheduled_for)) for record in doomed},
            )
        logs = [path for record in doomed for path in record.log_paths if path not in kept_paths]
        return Pruned(doomed, list(dict.fromkeys(logs)))

    # -- The outbox ------------------------------------------------------------------------

    def queue_messages(
        self, job_id: str, scheduled_for: datetime, messages: Sequence[Message], now: datetime
    ) -> list[int] | None:
        """Queue a run's messages and mark it composed, in one transaction (see
        `Store.queue_messages`); None if it was composed already."""
        slot, created = time_text(scheduled_for), time_text(now)
        with self._transaction() as db:
            marked = db.execute(
                "INSERT INTO composed (job_id, scheduled_for) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [job_id, slot],
            )
            if marked.rowcount != 1:
                return None
            last = db.execute(
                "SELECT id FROM runs WHERE job_id = ? AND scheduled_for = ?"
                " ORDER BY attempt DESC, id DESC LIMIT 1",
                [job_id, slot],
            ).fetchone()
            return _insert_messages(db, messages, None if last is None else last[0], created)

    def queue_started(self, messages: Sequence[Message], now: datetime) -> list[int]:
        """Queue the messages of a run that starts (see `Store.queue_started`)."""
        with self._transaction() as db:
            return _insert_messages(db, messages, None, time_text(now))

    def uncomposed(self) -> list[RunRecord]:
        """Ended attempts of this host, of runs never composed, whose recorder is
        gone, oldest first (see `Store.uncomposed`)."""
        records = self._records(
            f"SELECT {RECORD_COLUMNS} FROM runs AS r WHERE outcome NOT IN (?, ?) AND host = ?"
            " AND NOT EXISTS (SELECT 1 FROM composed AS c"
            " WHERE c.job_id = r.job_id AND c.scheduled_for = r.scheduled_for)"
            " ORDER BY finished, id",
            [Outcome.QUEUED.value, Outcome.RUNNING.value, self.host],
        )
        return [record for record in records if not pid_alive(record.recorder_pid)]

    def take_due(
        self,
        now: datetime,
        lease: timedelta,
        limit: int,
        only: Collection[int] | None = None,
    ) -> list[OutboxEntry]:
        """Pending messages due at `now`, oldest first, each taken for `lease`."""
        where = "state = ? AND next_try <= ?"
        params: list[object] = [Delivery.PENDING.value, time_text(now)]
        if only is not None:
            where += f" AND id IN ({', '.join('?' * len(only))})"
            params.extend(only)
        with self._transaction() as db:
            rows = db.execute(
                f"SELECT {ENTRY_COLUMNS} FROM outbox WHERE {where} ORDER BY next_try, id LIMIT ?",
                [*params, limit],
            ).fetchall()
            db.executemany(
                "UPDATE outbox SET next_try = ? WHERE id = ?",
                [(time_text(now + lease), row["id"]) for row in rows],
            )
        return [stored_entry(row) for row in rows]

    def next_try(self) -> datetime | None:
        """The earliest next try of the pending messages."""
        rows = self._query(
            "SELECT MIN(next_try) FROM outbox WHERE state = ?", [Delivery.PENDING.value]
        )
        text = rows[0][0]
        return None if text is None else text_time(text)

    def retry_now(self, now: datetime) -> int:
        """Make every pending message due `now`; how many there are."""
        with self._transaction() as db:
            return db.execute(
                "UPDATE outbox SET next_try = ? WHERE state = ? AND next_try > ?",
                [time_text(now), Delivery.PENDING.value, time_text(now)],
            ).rowcount

    def delivered(self, message_id: int, now: datetime) -> None:
        """A message was delivered `now`."""
        with self._transaction() as db:
            db.execute(
                "UPDATE outbox SET state = ?, attempts = attempts + 1, delivered = ?,"
                " next_try = NULL WHERE id = ?",
                [Delivery.DELIVERED.value, time_text(now), message_id],
            )

    def failed(self, message_id: int, error: str, next_try: datetime | None) -> None:
        """A delivery failed: retried at `next_try`, or undelivered without one.
        The error is stored redacted, whoever gives it."""
        state = Delivery.PENDING if next_try is not None else Delivery.UNDELIVERED
        with self._transaction() as db:
            db.execute(
                "UPDATE outbox SET state = ?, attempts = attempts + 1, error = ?, next_try = ?"
                " WHERE id = ?",
                [
                    state.value,
                    redact(error),
                    None if next_try is None else time_text(next_try),
                    message_id,
                ],
            )

    def entries(self, message_ids: Collection[int]) -> dict[int, Delivery]:
        """Where the given messages stand, by id."""
        if not message_ids:
            return {}
        rows = self._query(
            f"SELECT id, state FROM outbox WHERE id IN ({', '.join('?' * len(message_ids))})",
            message_ids,
        )
        return {row["id"]: Delivery(row["state"]) for row in rows}

    def deliveries(self, run_ids: Collection[int]) -> dict[int, list[DeliveryRecord]]:
        """The messages the given runs owed, by run id, oldest first."""
        found: dict[int, list[DeliveryRecord]] = {}
        ids = list(run_ids)
        for start in range(0, len(ids), 500):  # SQLite's cap on parameters
            chunk = ids[start : start + 500]
            rows = self._query(
                f"SELECT {DELIVERY_COLUMNS} FROM outbox"
                f" WHERE run_id IN ({', '.join('?' * len(chunk))}) ORDER BY id",
                chunk,
            )
            for row in rows:
                found.setdefault(row["run_id"], []).append(stored_delivery(row))
        return found

    def outbox_counts(self) -> dict[Delivery, int]:
        """How many messages of the outbox stand where, by state."""
        rows = self._query("SELECT state, COUNT(*) FROM outbox GROUP BY state", [])
        found = {Delivery(state): number for state, number in rows}
        return {state: found.get(state, 0) for state in Delivery}

    def job_past(self, job_id: str, before: datetime) -> JobPast:
        """What the alerts need of the job's past before its run at `before`."""
        slot = time_text(before)
        ran = [outcome.value for outcome in RAN_OUTCOMES]
        failing = [outcome.value for outcome in FAILURE_OUTCOMES]
        # The last attempt of each run of the job but this one: the run's outcome.
        runs = (
            "SELECT outcome, finished FROM runs AS r WHERE job_id = :job AND scheduled_for != :slot"
            " AND attempt = (SELECT MAX(attempt) FROM runs AS a"
            " WHERE a.job_id = r.job_id AND a.scheduled_for = r.scheduled_for)"
            f" AND outcome IN ({', '.join(f':ran{i}' for i in range(len(ran)))})"
        )
        params: dict[str, object] = {"job": job_id, "slot": slot}
        params.update({f"ran{i}": value for i, value in enumerate(ran)})
        params.update({f"fail{i}": value for i, value in enumerate(failing)})
        fails = f"({', '.join(f':fail{i}' for i in range(len(failing)))})"
        with self._guarded():
            db = self._db
            previous = db.execute(
                f"SELECT outcome FROM ({runs}) ORDER BY finished DESC LIMIT 1", params
            ).fetchone()
            alert = db.execute(
                "SELECT MAX(o.created) FROM outbox AS o JOIN runs AS r ON r.id = o.run_id"
                f" WHERE o.job_id = :job AND o.channel = :alert AND r.outcome IN {fails}",
                {**params, "alert": Channel.ALERT.value},
            ).fetchone()[0]
            counted = db.execute(
                f"SELECT COUNT(*), MIN(finished) FROM ({runs}) WHERE outcome IN {fails}"
                " AND (:since IS NULL OR finished > :since)",
                {**params, "since": alert},
            ).fetchone()
        return job_past_of(None if previous is None else previous[0], alert, counted[0], counted[1])

    # -- Plumbing --------------------------------------------------------------------------

    @contextmanager
    def _guarded(self) -> Iterator[None]:
        """Hold the connection's lock; report database failures as HistoryError."""
        with self._lock:
            try:
                yield
            except sqlite3.Error as error:
                raise _history_error(self.path, error) from error

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: the write lock is taken at the start (waiting
        for other writers up to the busy timeout), so reads inside it are current."""
        with self._guarded():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, params: Iterable[object]) -> list[sqlite3.Row]:
        """Rows of one read statement (a consistent snapshot by itself)."""
        with self._guarded():
            return self._db.execute(sql, tuple(params)).fetchall()

    def _records(self, sql: str, params: Iterable[object]) -> list[RunRecord]:
        """The records a SELECT of `RECORD_COLUMNS` finds."""
        return [stored_record(row) for row in self._query(sql, params)]


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
    with FileLock(str(path.with_name(f"{FILE_NAME}.lock")), thread_local=False):
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
    try:
        outdated = _stored_version(db, path) < MIGRATIONS[-1][0]
    except sqlite3.Error as error:
        db.close()
        raise _history_error(path, error) from error
    except BaseException:
        db.close()
        raise
    return _memory_history(path, db) if outdated else db


def _memory_history(path: Path, source: sqlite3.Connection | None = None) -> sqlite3.Connection:
    """A history in memory with the latest schema: empty, or a copy of the one
    `source` reads (closed once copied). `path` names it in messages."""
    db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    db.row_factory = sqlite3.Row
    try:
        if source is not None:
            source.backup(db)
        _migrate(db, path)
    except sqlite3.Error as error:
        db.close()
        raise _history_error(path, error) from error
    except BaseException:
        db.close()
        raise
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


_MAGIC = b"SQLite format 3\x00"  # the first bytes of every SQLite database


def _check_header(path: Path) -> None:
    """Refuse a file that is no SQLite database before SQLite opens it: closing
    its last connection, SQLite would delete the -wal and -shm files beside it,
    which belong to the evidence of what went wrong. (An empty or missing file
    is a new database.)"""
    try:
        with path.open("rb") as stream:
            head = stream.read(len(_MAGIC))
    except FileNotFoundError:
        return
    except OSError as error:
        raise HistoryError(f"{path}: cannot read the run history: {error.strerror}") from None
    if head and head != _MAGIC:
        raise CorruptHistoryError(path, "not an SQLite database")


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
        for version, statements in MIGRATIONS:
            if version > current:
                for statement in statements:
                    db.execute(statement)
                db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                    [str(version)],
                )
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _check_version(db: sqlite3.Connection, path: Path, latest: int) -> int:
    """The stored schema version, refused if newer than `latest`."""
    current = _stored_version(db, path)
    if current > latest:
        raise HistoryError(
            f"{path}: the run history has schema version {current}, newer than the {latest} "
            "this pycron knows; upgrade pycron, or use another --state-dir"
        )
    return current


def _stored_version(db: sqlite3.Connection, path: Path) -> int:
    """The schema version in `meta`; 0 for a database without that table (new,
    empty, or holding nothing of pycron's yet)."""
    has_meta = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if has_meta is None:
        return 0
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:  # pycron writes the table and the version in one transaction
        raise HistoryError(f"{path}: a table meta without a schema version: not a run history")
    try:
        return int(row[0])
    except ValueError:
        raise HistoryError(f"{path}: unreadable schema version {row[0]!r}") from None


def _history_error(path: Path, error: sqlite3.Error) -> HistoryError:
    """A HistoryError naming the file, with advice where there is some."""
    if type(error) is sqlite3.DatabaseError:  # corrupt, or not a database at all
        return CorruptHistoryError(path, str(error))
    if isinstance(error, sqlite3.OperationalError) and _is_busy(error):
        return HistoryError(
            f"{path}: {error}: another process held it for over {BUSY_TIMEOUT:g} s; try again"
        )
    return HistoryError(f"{path}: {error}")


def _claimed(db: sqlite3.Connection, values: Mapping[str, object]) -> bool:
    """Claim the slot of a new record's run (its stored columns), within the
    caller's transaction; False if another run holds it."""
    cursor = db.execute(
        "INSERT INTO claims (job_id, scheduled_for) VALUES (:job_id, :scheduled_for)"
        " ON CONFLICT DO NOTHING",
        {"job_id": values["job_id"], "scheduled_for": values["scheduled_for"]},
    )
    return cursor.rowcount == 1


def _record_trigger(
    db: sqlite3.Connection, values: Mapping[str, object], upstream: Sequence[int]
) -> None:
    """Record the upstream runs that triggered a new record's run (its stored
    columns), within the caller's transaction; a run again in a slot given
    up (interrupted) keeps the trigger it had."""
    db.executemany(
        "INSERT OR REPLACE INTO triggers (job_id, scheduled_for, position, upstream)"
        " VALUES (?, ?, ?, ?)",
        [
            (values["job_id"], values["scheduled_for"], position, run_id)
            for position, run_id in enumerate(upstream)
        ],
    )


if TYPE_CHECKING:

    def _is_a_store(history: SQLiteStore) -> Store:
        """mypy checks here that SQLiteStore keeps implementing the Store protocol."""
        return history


def _insert_messages(
    db: sqlite3.Connection, messages: Sequence[Message], run_id: int | None, created: str
) -> list[int]:
    """Insert messages into the outbox (see `pycron.store.message_values`); their ids."""
    ids: list[int] = []
    for message in messages:
        values = message_values(message, run_id, created)
        names = ", ".join(values)
        marks = ", ".join(f":{name}" for name in values)
        cursor = db.execute(f"INSERT INTO outbox ({names}) VALUES ({marks})", values)
        assert cursor.lastrowid is not None  # an INSERT always sets it
        ids.append(cursor.lastrowid)
    return ids
