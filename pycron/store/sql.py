"""What the stores built on SQL share: `SQLStore`, the whole `pycron.store.Store`
written once in the SQL that SQLite and PostgreSQL both speak, over a
`Session` that each backend provides (its connection, its placeholders, how
it inserts a row and learns its id); the stored form of records and
messages; and `EndNotes`, the ends kept outside a store that could not take
them. `pycron.store.sqlite` and `pycron.store.postgresql` add what is
theirs: connecting, the schema and its migrations, errors in their words.

The SQL here passes its values as parameters, written `?` (in order) or
`:name` (from a mapping), and holds no `?`, `:` or `%` of its own, so that a
session may turn them into its driver's placeholders. Its meaning holds
where several processes or hosts write at once: a claim is a unique row
inserted if absent; an update says what it expects to find (`WHERE outcome =
'queued'`), so that of two writers racing for a row one changes it and the
other learns that it came too late; and the claims of one transaction are
taken in (job, slot) order, so that two writers queueing the same slots wait
for each other instead of deadlocking.

In a cluster (`pycron.store.cluster`), each record carries its fence: the
generation of the membership it was recorded under (NULL outside a
cluster). A backend whose database holds the cluster's members says, in the
transaction that writes, whether a membership holds (`_holds`) and whether
a record's fence still does (`_FENCE_HOLDS`); one that cannot know leaves
that to the cluster.

Nothing here reads the wall clock: every "now" is an argument.
"""

from __future__ import annotations

import abc
import os
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, NamedTuple, Protocol, TypeVar

from pycron.errors import HistoryError, MembershipOverError, SlotTakenError
from pycron.notify import Channel, Message, redact
from pycron.records import Outcome, RunResult
from pycron.store import (
    FAILURE_OUTCOMES,
    INTERRUPTED_MESSAGE,
    RAN_OUTCOMES,
    TIMED_OUTCOMES,
    Delivery,
    DeliveryRecord,
    DurationBuckets,
    JobPast,
    JobTotals,
    OutboxEntry,
    Pruned,
    RunRecord,
    RunStats,
    SlotTaken,
    orphaned,
    pid_alive,
    stored_target,
    summarize,
    target_key,
    text_time,
    time_text,
    utc,
)
from pycron.store.cluster import Claimer, Membership, Slot

# How many values one statement takes at most (SQLite's cap on parameters is
# the lower one); longer lists are asked for in chunks.
CHUNK = 500

# The columns of a record, as `stored_record` reads them (by name).
RECORD_COLUMNS = (
    "id, job_id, scheduled_for, attempt, outcome, started, finished, exit_code, signal, "
    "stdout_path, stderr_path, pid, message, host, recorder_pid, "
    "cpu_user, cpu_system, max_rss, slots"
)
# The columns of `runs` that its indexes hold. Every update of a record sets
# some column that none holds (what the attempt became, who records it).
INDEXED_COLUMNS = ("job_id", "scheduled_for", "started", "outcome", "finished")
# The columns of a message, as the sender takes it (`stored_entry`).
ENTRY_COLUMNS = "id, run_id, job_id, channel, target, target_key, title, payload, created, attempts"
# The columns of a message owed, as `pycron history` shows it (`stored_delivery`).
DELIVERY_COLUMNS = "run_id, channel, target, state, attempts, error, delivered"

# A statement's parameters: in order (`?`), or by name (`:name`).
Params = Sequence[Any] | Mapping[str, Any]


class Row(Protocol):
    """A stored row whose columns are read by name."""

    def __getitem__(self, key: str, /) -> Any: ...


class Session(abc.ABC):
    """A store's connection as `SQLStore` uses it, under the store's lock (and
    in one transaction, where the store began one): statements with `?` or
    `:name` parameters (see the module's docstring)."""

    @abc.abstractmethod
    def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; how many rows it changed."""

    @abc.abstractmethod
    def executemany(self, sql: str, params: Iterable[Params]) -> None:
        """Run one statement once per set of parameters."""

    @abc.abstractmethod
    def rows(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        """The rows of a query, their columns in order."""

    @abc.abstractmethod
    def named(self, sql: str, params: Params = ()) -> list[Row]:
        """The rows of a query, their columns by name."""

    @abc.abstractmethod
    def insert(self, table: str, values: Mapping[str, object]) -> int:
        """Insert one row of these columns (named as the mapping's keys); its id."""

    def records(self, sql: str, params: Params = ()) -> list[RunRecord]:
        """The records a SELECT of `RECORD_COLUMNS` finds."""
        return [stored_record(row) for row in self.named(sql, params)]


class Connection(Protocol):
    """What `SQLStore` does with a backend's connection itself: close it."""

    def close(self) -> None: ...


class SQLStore(abc.ABC):
    """`pycron.store.Store` in SQL, for a backend to complete with its
    connection (`_db`, used through `_session` under `_lock`), its
    `location`, and a place for the ends it cannot take (`_notes`, None
    where there is none).

    Usable from several threads at once: a backend's sessions hold `_lock`.
    Use as a context manager, or call `close()`. Do not carry an open store
    into a forked child: open another there.
    """

    host: str
    _notes: EndNotes | None
    _lock: threading.Lock
    _db: Connection
    # Appended to the query that takes messages for a sender: how the backend
    # keeps two senders from taking the same message (none is needed where
    # one writer at a time holds the whole database).
    _TAKE_LOCK = ""
    # Appended to the query that reads a record before it is updated: how the
    # backend keeps others from changing it in between (none is needed where
    # a write transaction holds the whole database).
    _ROW_LOCK = ""
    # Appended to the UPDATE of one record (`runs`): the condition that the
    # record is still its recorder's to write, as its fence says (none where
    # the store cannot tell: a member's own history, fenced by its cluster).
    _FENCE_HOLDS = ""
    # The cluster membership that new records are recorded under, and what
    # claims their slots besides the store (see `set_membership`, `set_claimer`).
    _membership: Membership | None = None
    _claimer: Claimer | None = None

    @property
    @abc.abstractmethod
    def location(self) -> str:
        """Where the store is, for messages."""

    def __enter__(self: _Store) -> _Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection; the store cannot be used afterwards."""
        with self._lock:
            self._db.close()

    @abc.abstractmethod
    def _session(self, *, transaction: bool = False) -> AbstractContextManager[Session]:
        """The connection under the store's lock: in one write transaction
        (committed at the end, rolled back on an error), or each statement
        committed by itself."""

    def _transaction(self) -> AbstractContextManager[Session]:
        """The connection under the store's lock, in one write transaction."""
        return self._session(transaction=True)

    def _holds(self, db: Session, membership: Membership) -> bool:
        """Whether `membership` still holds, within the caller's transaction and
        until its end. Here, always: a store that cannot tell leaves it to the
        cluster."""
        return True

    # -- In a cluster ----------------------------------------------------------------------

    def set_membership(self, membership: Membership | None) -> None:
        """Record from now on under this cluster membership (see `Store.set_membership`)."""
        self._membership = membership

    def set_claimer(self, claimer: Claimer | None) -> None:
        """Have `claimer` claim new runs' slots first (see `Store.set_claimer`)."""
        self._claimer = claimer

    def _granted(self, slots: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
        """Of these slots (job, stored slot), those the claimer gives this
        member, asked in (job, slot) order; all of them without a claimer."""
        claimer = self._claimer
        if claimer is None:
            return set(slots)
        asked = sorted(slots)
        answers = claimer([Slot(job_id, text_time(slot)) for job_id, slot in asked])
        return {slot for slot, granted in zip(asked, answers, strict=True) if granted}

    # -- Recording -------------------------------------------------------------------------

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
        slots, and the upstream runs that triggered them, in one transaction.
        The claimer, if any, is asked first, outside the transaction; then
        the claims are taken, in (job, slot) order; of two results of one
        slot, the first is recorded. Under a membership that is over, every
        claim fails, and a record without one is `MembershipOverError`."""
        membership = self._membership
        fence = None if membership is None else membership.generation
        rows = [stored_values(result) for result in results]
        for values in rows:
            values.update(host=self.host, recorder_pid=os.getpid(), fence=fence)
        free = self._granted({_slot(values) for values in rows}) if claim else set()
        added: list[int | SlotTaken] = []
        with self._transaction() as db:
            if membership is not None and not self._holds(db, membership):
                if not claim:
                    raise MembershipOverError(self.location, membership.generation)
                free = set()
            held = _claim(db, free) if claim else set()
            for result, values in zip(results, rows, strict=True):
                if claim and _slot(values) not in held:
                    added.append(SlotTaken(result.job_id, utc(result.scheduled_for)))
                    continue
                held.discard(_slot(values))
                if upstream:
                    _record_trigger(db, values, upstream)
                added.append(db.insert("runs", values))
        return added

    def claim(self, record_id: int, now: datetime) -> bool:
        """Take a queued record for its run (outcome `running`, started `now`, this
        process its recorder, under this store's membership): True for exactly
        one caller, however many processes try at once; False if it is not
        (or no longer) queued, or the membership is over."""
        membership = self._membership
        with self._transaction() as db:
            if membership is not None and not self._holds(db, membership):
                return False
            changed = db.execute(
                "UPDATE runs SET outcome = ?, started = ?, host = ?, recorder_pid = ?, fence = ?"
                " WHERE id = ? AND outcome = ?",
                [
                    Outcome.RUNNING.value,
                    time_text(now),
                    self.host,
                    os.getpid(),
                    None if membership is None else membership.generation,
                    record_id,
                    Outcome.QUEUED.value,
                ],
            )
            return changed == 1

    def queued(self) -> list[RunRecord]:
        """Runs recorded as due but not started yet, oldest slot first."""
        return self._records(
            f"SELECT {RECORD_COLUMNS} FROM runs WHERE outcome = ? ORDER BY scheduled_for, id",
            [Outcome.QUEUED.value],
        )

    def finished(self, record_id: int, result: RunResult) -> None:
        """Complete the record of an attempt that has ended with `result`;
        `MembershipOverError` (nothing written) if its run was taken over."""
        if result.outcome is Outcome.RUNNING or result.finished is None:
            raise ValueError(f"record {record_id}: a finished attempt needs an end and an outcome")
        self._update(record_id, stored_values(result))

    def _update(self, record_id: int, values: dict[str, object]) -> None:
        """Set columns of one record, in the same statement that checks that its
        fence still holds (`_FENCE_HOLDS`: a check apart could pass just before
        a takeover); a record that is not there is a HistoryError, one whose
        membership is over a `MembershipOverError`. An indexed column that
        holds its value already is left as it is, so that its indexes are not
        written again (most of a run's start and end leaves them alone)."""
        with self._transaction() as db:
            stored = db.named(
                f"SELECT {', '.join(INDEXED_COLUMNS)} FROM runs WHERE id = ?{self._ROW_LOCK}",
                [record_id],
            )
            if stored:
                values = {
                    name: value
                    for name, value in values.items()
                    if name not in INDEXED_COLUMNS or stored[0][name] != value
                }
            changed = db.execute(
                f"UPDATE runs SET {_assignments(values)} WHERE id = :id{self._FENCE_HOLDS}",
                {**values, "id": record_id},
            )
            if changed == 1:
                return
            fences = db.rows("SELECT fence FROM runs WHERE id = ?", [record_id])
            if not fences:
                raise HistoryError(f"{self.location}: no run with record id {record_id}")
            raise MembershipOverError(self.location, fences[0][0], record_id)

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
        if limit is not None:
            where += " ORDER BY started DESC, id DESC LIMIT ?"
            params.append(limit)
        else:
            where += " ORDER BY started DESC, id DESC"
        return self._records(f"SELECT {RECORD_COLUMNS} FROM runs{where}", params)

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
        for chunk in _chunks(job_ids):
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
        rows = self._rows(
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
        rows = self._rows("SELECT MAX(scheduled_for) FROM runs WHERE job_id = ?", [job_id])
        text = rows[0][0]
        return None if text is None else text_time(text)

    def last_scheduled_per_job(self) -> dict[str, datetime]:
        """`last_scheduled` of every recorded job at once, by job id."""
        rows = self._rows(
            "SELECT job_id, MAX(scheduled_for) FROM runs GROUP BY job_id ORDER BY job_id", []
        )
        return {job_id: text_time(text) for job_id, text in rows}

    def ended_after(self, job_ids: Collection[str], after: datetime | None) -> list[RunRecord]:
        """The runs of these jobs that ended after `after` (None: ever), each
        as its last attempt, oldest end first."""
        found: list[RunRecord] = []
        for chunk in _chunks(job_ids):
            where = f"job_id IN ({_marks(chunk)}) AND finished IS NOT NULL"
            params: list[object] = [*chunk]
            if after is not None:
                where += " AND finished > ?"
                params.append(time_text(after))
            found += self._records(
                f"SELECT {RECORD_COLUMNS} FROM runs AS r WHERE {where} AND outcome NOT IN (?, ?)"
                f" AND {_LAST_ATTEMPT}",
                [*params, Outcome.QUEUED.value, Outcome.RUNNING.value],
            )
        return sorted(found, key=lambda record: (record.finished, record.id))

    def triggers(self, run_ids: Collection[int]) -> dict[int, tuple[int, ...]]:
        """The upstream runs that triggered the given runs (record ids; every
        attempt of a run shares its trigger), for those that have one."""
        found: dict[int, list[int]] = {}
        for chunk in _chunks(run_ids):
            rows = self._rows(
                "SELECT r.id, t.upstream FROM runs AS r JOIN triggers AS t"
                " ON t.job_id = r.job_id AND t.scheduled_for = r.scheduled_for"
                f" WHERE r.id IN ({_marks(chunk)}) ORDER BY r.id, t.position",
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
        rows = self._rows(
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
        against `bounds` by the database), and what the attempts used by job
        (the peak of the last attempt that measured one: one indexed look
        per job)."""
        ended_outcomes = [Outcome.QUEUED.value, Outcome.RUNNING.value]
        ended = self._rows(
            "SELECT job_id, outcome, COUNT(*), MAX(finished), SUM(slots)"
            " FROM runs WHERE outcome NOT IN (?, ?) GROUP BY job_id, outcome",
            ended_outcomes,
        )
        timed = [outcome.value for outcome in TIMED_OUTCOMES]
        below = "".join(", COUNT(CASE WHEN duration <= ? THEN 1 END)" for _ in bounds)
        durations = self._rows(
            f"SELECT job_id, COUNT(*), SUM(duration){below} FROM runs"
            f" WHERE outcome IN ({_marks(timed)}) AND duration IS NOT NULL GROUP BY job_id",
            [*bounds, *timed],
        )
        usage = self._rows(
            "SELECT job_id, SUM(cpu_user + cpu_system), (SELECT p.max_rss FROM runs AS p"
            " WHERE p.job_id = runs.job_id AND p.max_rss IS NOT NULL AND p.outcome NOT IN (?, ?)"
            " ORDER BY p.finished DESC, p.id DESC LIMIT 1)"
            " FROM runs WHERE outcome NOT IN (?, ?) GROUP BY job_id",
            ended_outcomes * 2,
        )
        used = {job_id: (cpu or 0.0, max_rss) for job_id, cpu, max_rss in usage}
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
        rows = self._rows("SELECT job_id, schedule, since FROM responsibility", [])
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
                "INSERT INTO responsibility (job_id, schedule, since) VALUES (?, ?, ?)"
                " ON CONFLICT (job_id) DO UPDATE"
                " SET schedule = excluded.schedule, since = excluded.since",
                _responsibility_rows(taken),
            )
            db.executemany(
                "DELETE FROM responsibility WHERE job_id = ?", [(job_id,) for job_id in dropped]
            )

    # -- Upkeep ----------------------------------------------------------------------------

    def settle(self, now: datetime) -> list[RunRecord]:
        """The upkeep of the daemon and `run-now`: first the ends that were
        noted when the store could not take them (`note_end`), then the runs
        left running by pycron processes of this host that are gone, marked
        interrupted (returned). Runs of other hosts are never judged here."""
        if self._notes is not None:
            self._notes.settle(self._write_ends)
        return self.mark_interrupted(now=now, where=orphaned(self.host))

    def note_end(self, record_id: int, result: RunResult) -> str:
        """Note the end of a recorded attempt outside the store (see
        `EndNotes`), for `settle` to write once the store can take it (so that
        the attempt is not taken for an interrupted one); returns where."""
        if self._notes is None:
            raise HistoryError(
                f"{self.location}: nowhere to note the end of record {record_id}: "
                "the store was opened without a directory for notes"
            )
        return self._notes.write(record_id, result)

    def drop_notes(self, record_id: int) -> None:
        """Delete the notes of an end that was written after all."""
        if self._notes is not None:
            self._notes.drop(record_id)

    def _write_ends(self, notes: Sequence[NotedEnd]) -> None:
        """Write noted ends to their records, in one transaction: only to those
        still running and started as noted (a note never completes another)."""
        with self._transaction() as db:
            for note in notes:
                db.execute(
                    f"UPDATE runs SET {_assignments(note.values)} WHERE id = :id"
                    " AND started = :at AND outcome = :running",
                    {
                        **note.values,
                        "id": note.record_id,
                        "at": note.started,
                        "running": Outcome.RUNNING.value,
                    },
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
        up, so that catch-up may run them again. Returns the changed records
        (a record another process marked first is not among them)."""
        now = utc(now)
        if not any(where is None or where(record) for record in self.running()):
            return []  # the usual case: no write lock taken, nothing written
        changed: list[RunRecord] = []
        with self._transaction() as db:
            running = db.records(
                f"SELECT {RECORD_COLUMNS} FROM runs WHERE outcome = ? ORDER BY id",
                [Outcome.RUNNING.value],
            )
            for record in running:
                if where is not None and not where(record):
                    continue
                marked = interrupt(db, record, now, message)
                if marked is not None:
                    changed.append(marked)
        return changed

    def prune(self, older_than: datetime) -> Pruned:
        """Forget attempts that ended before `older_than`, and the claims of
        slots left without a record; running attempts are never pruned.
        Returns the removed records, oldest first, and those of their log
        files that no kept record names (files the caller removes once this
        transaction is committed, see `pycron.store.logs`)."""
        cutoff = time_text(older_than)
        with self._transaction() as db:
            doomed = db.records(
                f"SELECT {RECORD_COLUMNS} FROM runs WHERE outcome != ? AND finished < ?"
                " ORDER BY started, id",
                [Outcome.RUNNING.value, cutoff],
            )
            kept = db.rows(
                "SELECT stdout_path, stderr_path FROM runs"
                " WHERE outcome = ? OR finished IS NULL OR finished >= ?",
                [Outcome.RUNNING.value, cutoff],
            )
            kept_paths = {Path(text) for pair in kept for text in pair if text is not None}
            db.executemany("DELETE FROM runs WHERE id = ?", [(record.id,) for record in doomed])
            db.executemany(
                "DELETE FROM outbox WHERE run_id = ? AND state != ?",
                [(record.id, Delivery.PENDING.value) for record in doomed],
            )
            slots = sorted({(record.job_id, time_text(record.scheduled_for)) for record in doomed})
            for table in ("claims", "triggers"):
                db.executemany(
                    f"DELETE FROM {table} WHERE job_id = ? AND scheduled_for = ? AND NOT EXISTS"
                    f" (SELECT 1 FROM runs AS r WHERE r.job_id = {table}.job_id"
                    f" AND r.scheduled_for = {table}.scheduled_for)",
                    slots,
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
            if marked != 1:
                return None
            last = db.rows(
                "SELECT id FROM runs WHERE job_id = ? AND scheduled_for = ?"
                " ORDER BY attempt DESC, id DESC LIMIT 1",
                [job_id, slot],
            )
            return _insert_messages(db, messages, last[0][0] if last else None, created)

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
            if not only:
                return []
            where += f" AND id IN ({_marks(only)})"
            params.extend(only)
        with self._transaction() as db:
            taken = [
                stored_entry(row)
                for row in db.named(
                    f"SELECT {ENTRY_COLUMNS} FROM outbox WHERE {where}"
                    f" ORDER BY next_try, id LIMIT ?{self._TAKE_LOCK}",
                    [*params, limit],
                )
            ]
            db.executemany(
                "UPDATE outbox SET next_try = ? WHERE id = ?",
                [(time_text(now + lease), entry.id) for entry in taken],
            )
        return taken

    def next_try(self) -> datetime | None:
        """The earliest next try of the pending messages."""
        rows = self._rows(
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
            )

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
        found: dict[int, Delivery] = {}
        for chunk in _chunks(message_ids):
            rows = self._rows(f"SELECT id, state FROM outbox WHERE id IN ({_marks(chunk)})", chunk)
            found.update((message_id, Delivery(state)) for message_id, state in rows)
        return found

    def deliveries(self, run_ids: Collection[int]) -> dict[int, list[DeliveryRecord]]:
        """The messages the given runs owed, by run id, oldest first."""
        found: dict[int, list[DeliveryRecord]] = {}
        for chunk in _chunks(run_ids):
            with self._session() as db:
                rows = db.named(
                    f"SELECT {DELIVERY_COLUMNS} FROM outbox"
                    f" WHERE run_id IN ({_marks(chunk)}) ORDER BY id",
                    chunk,
                )
            for row in rows:
                found.setdefault(row["run_id"], []).append(stored_delivery(row))
        return found

    def outbox_counts(self) -> dict[Delivery, int]:
        """How many messages of the outbox stand where, by state."""
        rows = self._rows("SELECT state, COUNT(*) FROM outbox GROUP BY state", [])
        found = {Delivery(state): number for state, number in rows}
        return {state: found.get(state, 0) for state in Delivery}

    def job_past(self, job_id: str, before: datetime) -> JobPast:
        """What the alerts need of the job's past before its run at `before`."""
        ran = [outcome.value for outcome in RAN_OUTCOMES]
        failing = [outcome.value for outcome in FAILURE_OUTCOMES]
        # The last attempt of each run of the job but this one: the run's outcome.
        runs = (
            "SELECT outcome, finished FROM runs AS r WHERE job_id = ? AND scheduled_for != ?"
            f" AND {_LAST_ATTEMPT} AND outcome IN ({_marks(ran)})"
        )
        params: list[object] = [job_id, time_text(before), *ran]
        fails = f"({_marks(failing)})"
        with self._session() as db:
            previous = db.rows(
                f"SELECT outcome FROM ({runs}) AS past ORDER BY finished DESC LIMIT 1", params
            )
            (alert,) = db.rows(
                "SELECT MAX(o.created) FROM outbox AS o JOIN runs AS r ON r.id = o.run_id"
                f" WHERE o.job_id = ? AND o.channel = ? AND r.outcome IN {fails}",
                [job_id, Channel.ALERT.value, *failing],
            )[0]
            after = "" if alert is None else " AND finished > ?"
            (failures, since) = db.rows(
                f"SELECT COUNT(*), MIN(finished) FROM ({runs}) AS past"
                f" WHERE outcome IN {fails}{after}",
                [*params, *failing, *([] if alert is None else [alert])],
            )[0]
        return JobPast(
            previous=Outcome(previous[0][0]) if previous else None,
            last_failure_alert=None if alert is None else text_time(alert),
            failures=failures,
            failures_since=None if since is None else text_time(since),
        )

    # -- Plumbing --------------------------------------------------------------------------

    def _rows(self, sql: str, params: Params) -> list[tuple[Any, ...]]:
        """Rows of one read statement (a consistent snapshot by itself)."""
        with self._session() as db:
            return db.rows(sql, params)

    def _records(self, sql: str, params: Params) -> list[RunRecord]:
        """The records one SELECT of `RECORD_COLUMNS` finds."""
        with self._session() as db:
            return db.records(sql, params)


_T = TypeVar("_T")
_Store = TypeVar("_Store", bound=SQLStore)

# The condition that a row of `runs AS r` is the last attempt of its run.
_LAST_ATTEMPT = (
    "attempt = (SELECT MAX(attempt) FROM runs AS a"
    " WHERE a.job_id = r.job_id AND a.scheduled_for = r.scheduled_for)"
)


def _claim(db: Session, slots: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
    """Claim the slots (job, stored slot) of new records, in order, within the
    caller's transaction; those that were free (and are now held)."""
    return {
        slot
        for slot in sorted(slots)
        if db.execute(
            "INSERT INTO claims (job_id, scheduled_for) VALUES (?, ?) ON CONFLICT DO NOTHING", slot
        )
        == 1
    }


def interrupt(db: Session, record: RunRecord, now: datetime, message: str) -> RunRecord | None:
    """Mark a running record interrupted `now` (or at its start, should `now`
    come before it) and give its slot's claim up, within the caller's
    transaction; the record as changed, or None if it was no longer running."""
    values = interrupted_values(record, now, message)
    marked = db.execute(
        f"UPDATE runs SET {_assignments(values)} WHERE id = :id AND outcome = :running",
        {**values, "id": record.id, "running": Outcome.RUNNING.value},
    )
    if marked == 0:
        return None
    db.execute(
        "DELETE FROM claims WHERE job_id = ? AND scheduled_for = ?",
        [record.job_id, time_text(record.scheduled_for)],
    )
    return record._replace(
        outcome=Outcome.INTERRUPTED, finished=max(utc(now), record.started), message=message
    )


def _slot(values: Mapping[str, object]) -> tuple[str, str]:
    """The (job, stored slot) of a record's stored columns."""
    return str(values["job_id"]), str(values["scheduled_for"])


def _record_trigger(db: Session, values: Mapping[str, object], upstream: Sequence[int]) -> None:
    """Record the upstream runs that triggered a new record's run (its stored
    columns), within the caller's transaction; a run again in a slot given
    up (interrupted) keeps the trigger it had."""
    db.executemany(
        "INSERT INTO triggers (job_id, scheduled_for, position, upstream) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (job_id, scheduled_for, position) DO UPDATE SET upstream = excluded.upstream",
        [
            (values["job_id"], values["scheduled_for"], position, run_id)
            for position, run_id in enumerate(upstream)
        ],
    )


def _insert_messages(
    db: Session, messages: Sequence[Message], run_id: int | None, created: str
) -> list[int]:
    """Insert messages into the outbox, pending and due at `created`; their ids.
    A message without a run id gets `run_id`. The target is stored redacted,
    with the key that finds the real one again."""
    return [
        db.insert(
            "outbox",
            {
                "run_id": run_id if message.run_id is None else message.run_id,
                "job_id": message.job_id,
                "channel": message.channel.value,
                "target": stored_target(message.target),
                "target_key": target_key(message.target),
                "title": message.title,
                "payload": message.payload,
                "created": created,
                "next_try": created,
                "state": Delivery.PENDING.value,
            },
        )
        for message in messages
    ]


def _assignments(values: Mapping[str, object]) -> str:
    """`column = :column, ...` for an UPDATE of these columns."""
    return ", ".join(f"{name} = :{name}" for name in values)


def _marks(values: Collection[object]) -> str:
    """`?, ?, ...`: one parameter for each value."""
    return ", ".join("?" * len(values))


def _chunks(values: Collection[_T]) -> Iterable[list[_T]]:
    """The values in lists of at most CHUNK."""
    listed = list(values)
    return (listed[start : start + CHUNK] for start in range(0, len(listed), CHUNK))


def run_filters(
    job_id: str | None, since: datetime | None, outcome: Outcome | Collection[Outcome] | None
) -> tuple[str, list[object]]:
    """A WHERE clause on runs (empty, or starting with a space) and its parameters."""
    clauses: list[str] = []
    params: list[object] = []
    if job_id is not None:
        clauses.append("job_id = ?")
        params.append(job_id)
    if since is not None:
        clauses.append("started >= ?")
        params.append(time_text(since))
    if outcome is not None:
        outcomes = [item.value for item in ([outcome] if isinstance(outcome, Outcome) else outcome)]
        clauses.append(f"outcome IN ({_marks(outcomes)})" if outcomes else "1 = 0")
        params.extend(outcomes)
    return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), params


# -- The schema's version ------------------------------------------------------------------


def schema_version(value: str | None, location: str) -> int:
    """The schema version stored in `meta` (None: the table holds none)."""
    if value is None:  # pycron writes the table and the version in one transaction
        raise HistoryError(f"{location}: a table meta without a schema version: not a run history")
    try:
        return int(value)
    except ValueError:
        raise HistoryError(f"{location}: unreadable schema version {value!r}") from None


def apply_steps(db: Session, migrations: Sequence[tuple[int, Sequence[str]]], current: int) -> None:
    """Apply the schema steps of `migrations` that come after version
    `current`, in order, each noting its version in `meta`, within the
    caller's transaction."""
    for version, statements in migrations:
        if version > current:
            for statement in statements:
                db.execute(statement)
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [str(version)],
            )


def refuse_newer(current: int, latest: int, location: str, elsewhere: str) -> int:
    """`current`, the stored schema version, unless it is newer than `latest`
    (a newer pycron's, which this one does not know): `elsewhere` says what
    to use instead."""
    if current > latest:
        raise HistoryError(
            f"{location}: the run history has schema version {current}, newer than the {latest} "
            f"this pycron knows; upgrade pycron, or use {elsewhere}"
        )
    return current


# -- The stored form -----------------------------------------------------------------------


def stored_values(result: RunResult) -> dict[str, object]:
    """The columns of a record that a RunResult fills, as stored."""
    return {
        "job_id": result.job_id,
        "scheduled_for": time_text(result.scheduled_for),
        "attempt": result.attempt,
        "outcome": result.outcome.value,
        "started": time_text(result.started),
        "finished": None if result.finished is None else time_text(result.finished),
        "duration": result.duration,
        "exit_code": result.exit_code,
        "signal": result.signal,
        "stdout_path": None if result.stdout_path is None else str(result.stdout_path),
        "stderr_path": None if result.stderr_path is None else str(result.stderr_path),
        "pid": result.pid,
        "message": result.message,
        "cpu_user": result.cpu_user,
        "cpu_system": result.cpu_system,
        "max_rss": result.max_rss,
        "slots": result.slots,
    }


def stored_record(row: Row) -> RunRecord:
    """A stored row (of `RECORD_COLUMNS`) as a record."""
    finished, stdout_path, stderr_path = row["finished"], row["stdout_path"], row["stderr_path"]
    return RunRecord(
        id=row["id"],
        job_id=row["job_id"],
        scheduled_for=text_time(row["scheduled_for"]),
        attempt=row["attempt"],
        outcome=Outcome(row["outcome"]),
        started=text_time(row["started"]),
        finished=None if finished is None else text_time(finished),
        exit_code=row["exit_code"],
        signal=row["signal"],
        stdout_path=None if stdout_path is None else Path(stdout_path),
        stderr_path=None if stderr_path is None else Path(stderr_path),
        pid=row["pid"],
        message=row["message"],
        host=row["host"],
        recorder_pid=row["recorder_pid"],
        cpu_user=row["cpu_user"],
        cpu_system=row["cpu_system"],
        max_rss=row["max_rss"],
        slots=row["slots"],
    )


def interrupted_values(record: RunRecord, now: datetime, message: str) -> dict[str, object]:
    """The columns of a running record marked interrupted `now` (or at its
    start, should `now` come before it)."""
    ended = max(utc(now), record.started)
    return {
        "outcome": Outcome.INTERRUPTED.value,
        "finished": time_text(ended),
        "duration": (ended - record.started).total_seconds(),
        "message": message,
    }


def stored_entry(row: Row) -> OutboxEntry:
    """A row of the outbox (of `ENTRY_COLUMNS`), as the sender takes it."""
    message = Message(
        channel=Channel(row["channel"]),
        job_id=row["job_id"],
        run_id=row["run_id"],
        target=row["target"],
        title=row["title"],
        payload=bytes(row["payload"]),
    )
    return OutboxEntry(
        row["id"], message, row["target_key"], row["attempts"], text_time(row["created"])
    )


def stored_delivery(row: Row) -> DeliveryRecord:
    """A row of the outbox (of `DELIVERY_COLUMNS`) as what became of a message."""
    delivered = row["delivered"]
    return DeliveryRecord(
        run_id=row["run_id"],
        channel=Channel(row["channel"]),
        target=row["target"],
        state=Delivery(row["state"]),
        attempts=row["attempts"],
        error=row["error"],
        delivered=None if delivered is None else text_time(delivered),
    )


# -- Ends noted outside the store ----------------------------------------------------------


class NotedEnd(NamedTuple):
    """An end noted by `EndNotes`: its file, the record, the start as stored
    (a note completes only the attempt that started then) and the columns of
    the end."""

    path: Path
    record_id: int
    started: str
    values: dict[str, object]


class EndNotes:
    """Ends of attempts that a store could not take (`Store.note_end`), noted
    in empty files of a directory, their names holding the end (an empty file
    needs no free block), for the store's `settle` to write later:
    `prefix` + "<record id>.<started>.<outcome>.<exit code>.<signal>.<finished>"
    + ".<CPU user>.<CPU system>.<peak RSS>" (times and CPU in microseconds; an
    older pycron wrote no usage), `-` for an absent number."""

    def __init__(self, directory: Path, prefix: str) -> None:
        self.directory = directory
        self.prefix = prefix

    def write(self, record_id: int, result: RunResult) -> str:
        """Note the end of record `record_id`; returns the note's path."""
        if result.finished is None:
            raise ValueError(f"record {record_id}: a noted end needs an end time")
        fields = (
            record_id,
            _micros(result.started),
            result.outcome.value,
            _number_text(result.exit_code),
            _number_text(result.signal),
            _micros(result.finished),
            _number_text(_seconds_micros(result.cpu_user)),
            _number_text(_seconds_micros(result.cpu_system)),
            _number_text(result.max_rss),
        )
        path = self.directory / (self.prefix + ".".join(map(str, fields)))
        path.touch()
        return str(path)

    def drop(self, record_id: int) -> None:
        """Delete the notes of record `record_id` (its end was written after all)."""
        for path in self.directory.glob(f"{self.prefix}{record_id}.*"):
            path.unlink(missing_ok=True)

    def read(self) -> list[NotedEnd]:
        """The ends noted (files whose names are no note are passed over)."""
        return [
            note
            for path in self.directory.glob(f"{self.prefix}*")
            if (note := self._read(path)) is not None
        ]

    def settle(self, write: Callable[[Sequence[NotedEnd]], None]) -> None:
        """Have `write` store the noted ends, then delete the notes; without
        notes, nothing is done (and nothing written)."""
        notes = self.read()
        if not notes:
            return
        write(notes)
        for note in notes:
            note.path.unlink(missing_ok=True)

    def _read(self, path: Path) -> NotedEnd | None:
        """The end a note's name holds, or None for a name that is not one."""
        parts = path.name[len(self.prefix) :].split(".")
        try:
            record_id, started, outcome, exit_code, number, finished, *usage = parts
            cpu_user, cpu_system, max_rss = usage or ("-", "-", "-")
            start = _EPOCH + timedelta(microseconds=int(started))
            end = _EPOCH + timedelta(microseconds=int(finished))
            values: dict[str, object] = {
                "outcome": Outcome(outcome).value,
                "exit_code": _text_number(exit_code),
                "signal": _text_number(number),
                "finished": time_text(end),
                "duration": (end - start).total_seconds(),
                "cpu_user": _micros_seconds(_text_number(cpu_user)),
                "cpu_system": _micros_seconds(_text_number(cpu_system)),
                "max_rss": _text_number(max_rss),
            }
            return NotedEnd(path, int(record_id), time_text(start), values)
        except ValueError:
            return None


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _micros(moment: datetime) -> int:
    """Microseconds since the epoch (for names, where ISO text would not do)."""
    return (utc(moment) - _EPOCH) // timedelta(microseconds=1)


def _number_text(number: int | None) -> str:
    """A number in a note's name; `-` for none."""
    return "-" if number is None else str(number)


def _text_number(text: str) -> int | None:
    """A number of a note's name (`-`: none); ValueError for anything else."""
    return None if text == "-" else int(text)


def _seconds_micros(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1_000_000)


def _micros_seconds(micros: int | None) -> float | None:
    return None if micros is None else micros / 1_000_000


def _responsibility_rows(
    taken: Mapping[str, tuple[str, datetime]],
) -> Iterator[tuple[str, str, str]]:
    """The rows of `taken`, one at a time (a first start takes thousands at
    once: they are not all made before the first is written), with one text
    per instant (the responsibilities taken together share theirs)."""
    texts: dict[datetime, str] = {}
    for job_id, (schedule, since) in taken.items():
        text = texts.get(since)
        if text is None:
            text = texts[since] = time_text(since)
        yield job_id, schedule, text
