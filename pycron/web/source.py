"""What the status page, the JSON API and `/metrics` read: the jobs with
their next runs, and the run history. Its answers have the shapes of the
CLI's `--json` outputs (`pycron.views`), so that a program reads the API and
the command line alike.

Two ways to know the jobs: a running daemon's own state (`daemon_source`),
or, when no daemon runs (`pycron web` on a copied state directory), the
crontab file read again on each look, with next runs computed as the daemon
computes them. The history is read through a store opened per look, so that
it can be read from any of the server's threads: the state directory's,
read-only, which never writes; or, in a cluster that shares its history
(PostgreSQL), the cluster's, which the source only reads. Log files stay on
the host that ran the run: a run of another host has its log read there.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Literal, Protocol

from pycron.crontab import Cron, CrontabFile, Entry
from pycron.daemon import next_runs
from pycron.errors import LogNotFoundError
from pycron.explain import headline
from pycron.records import Outcome
from pycron.runner import log_elsewhere, log_gone
from pycron.store import RunRecord, Store
from pycron.store.sqlite import SQLiteStore
from pycron.views import history_view, stats_view, status_view

Snapshot = dict[str, object]
Stream = Literal["stdout", "stderr"]

# The overview: a strip of each job's last attempts, and its success rate over a week.
RECENT_ATTEMPTS = 30
RATE_WINDOW = timedelta(days=7)
# A job's own page: its next runs and its last attempts.
UPCOMING_RUNS = 10
JOB_ATTEMPTS = 50
# A page of a log, in bytes, unless asked otherwise.
LOG_PAGE = 65536
# Attempts that have not ended: they count in no figure.
_UNENDED = frozenset({Outcome.RUNNING, Outcome.QUEUED})


class Live(Protocol):
    """What a running daemon tells the page beyond its history."""

    def entries(self) -> dict[str, Entry]:
        """The jobs as the daemon holds them now, by id."""

    def next_fires(self) -> Mapping[str, datetime | None]:
        """Each job's next fire time as the daemon planned it, by id."""

    def stalled_for(self) -> float:
        """Seconds the daemon's loop has been stuck: 0.0 while it turns, or
        sleeps with a wake-up that is not overdue."""

    def reload_counts(self) -> Mapping[str, int]:
        """Crontab loads since the daemon started, by result (`success`, `error`)."""

    def next_start(self) -> datetime | None:
        """When the daemon next starts a job by the clock (None: nothing planned)."""


@dataclass(frozen=True)
class Source:
    """The read side of one pycron: `entries()` gives the jobs as they are
    defined now (by id) and `next_fires(entries)` their next fire times,
    `store()` opens the history read-only, and `snapshot()` says from these
    what runs and what is next (see `pycron.views.status_view`). `clock`
    is the wall clock (injected, for tests) and `zone` the one times are
    shown in (None: this machine's). `live` is the daemon serving it, if one
    does (`pycron web` shows a history without one). `shared` opens the
    history a cluster shares, where there is one (None: the state
    directory's is read).

    Every answer is made of plain JSON values, with the field names of the
    CLI's `--json` outputs."""

    state_dir: Path
    entries: Callable[[], Mapping[str, Entry]]
    next_fires: Callable[[Mapping[str, Entry]], Mapping[str, datetime | None]]
    zone: tzinfo | None
    clock: Callable[[], datetime]
    live: Live | None = None
    shared: Callable[[], Store] | None = None

    @contextmanager
    def store(self) -> Iterator[Store]:
        """The run history: the cluster's shared one, or the state
        directory's, read-only, where runs whose pycron is gone show as
        interrupted, as the upkeep will mark them."""
        if self.shared is not None:
            opened = self.shared()
        else:
            opened = SQLiteStore.open_readonly(self.state_dir, settled_at=self.clock())
        with opened as history:
            yield history

    def snapshot(self, entries: Mapping[str, Entry] | None = None) -> Snapshot:
        """Every job (of `entries`, else of `entries()`) with its next run,
        whether it runs or waits and its last run; the runs going and queued."""
        jobs = self.entries() if entries is None else entries
        with self.store() as history:
            return status_view(jobs, self.next_fires(jobs), history, self.zone)

    def jobs(self, entries: Mapping[str, Entry] | None = None) -> list[dict[str, object]]:
        """Every job with its schedule, next run, whether it runs or waits and its last run."""
        jobs = self.snapshot(entries)["jobs"]
        assert isinstance(jobs, list)
        return jobs

    def known(self, job_id: str) -> bool:
        """Whether a job has this id, in the crontab or (a job removed since) in the history."""
        if job_id in self.entries():
            return True
        with self.store() as history:
            return history.latest(job_id) is not None

    def overview(self) -> list[dict[str, object]]:
        """Every job of `jobs()`, with the plain-English reading of its
        schedule (`description`), its success rate over the last 7 days
        (`success_rate_7d`) and its last attempts, oldest first (`recent`)."""
        entries = self.entries()
        return self._overview(self.jobs(entries), entries)

    def job(self, job_id: str) -> dict[str, object] | None:
        """One job of the overview, with its next runs (`upcoming`), its
        figures (`stats`, as `pycron stats ID --json`) and its last attempts,
        newest first (`runs`, as `pycron history --json`); None if no job
        has this id."""
        entries = self.entries()
        found = [job for job in self.jobs(entries) if job["id"] == job_id]
        if not found:
            return None
        (item,) = self._overview(found, entries)
        entry = entries.get(job_id)
        upcoming = next_runs(entry, self.clock(), UPCOMING_RUNS, self.zone) if entry else []
        with self.store() as history:
            stats = history.stats(job_id, tz=self._zone())
            runs = self._history(history, history.runs(job_id, limit=JOB_ATTEMPTS))
        return {
            **item,
            "upcoming": [moment.isoformat() for moment in upcoming],
            "stats": stats_view(job_id, stats),
            "runs": runs,
        }

    def runs(
        self,
        job: str | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[dict[str, object]]:
        """Recorded attempts, newest first, as `pycron history --json` shows
        them: of one job, with one outcome (its text), started at or after
        `since` (aware), at most `limit`. An unknown outcome: ValueError."""
        chosen = Outcome(outcome) if outcome is not None else None
        with self.store() as history:
            records = history.runs(job_id=job, limit=limit, since=since, outcome=chosen)
            return self._history(history, records)

    def run(self, run_id: int) -> dict[str, object] | None:
        """One attempt, as `pycron history --json` shows it (with `trigger`,
        the upstream runs that started it); None if it is not recorded."""
        with self.store() as history:
            record = history.run(run_id)
            return self._history(history, [record])[0] if record else None

    def log(
        self, run_id: int, stream: Stream, offset: int | None = None, limit: int = LOG_PAGE
    ) -> dict[str, object] | None:
        """A page of a run's stdout or stderr log: at most `limit` bytes from
        byte `offset`, or the last `limit` bytes (the tail) when `offset` is
        None. None if the run is not recorded; `LogNotFoundError` if it has
        no such log (it never ran), the file is gone, or another host of the
        cluster ran it (and keeps it). See `log_page`. A history copied from
        elsewhere finds its logs in this state directory."""
        if limit < 1:
            raise ValueError(f"limit must be 1 or more, not {limit}")
        with self.store() as history:
            record = history.run(run_id)
            here = history.host
        if record is None:
            return None
        path = record.stdout_path if stream == "stdout" else record.stderr_path
        if path is None:
            raise LogNotFoundError(
                f"run {run_id} has no {stream} log: it did not run ({record.outcome.value})"
            )
        if self.shared is not None and record.host != here:
            raise log_elsewhere(run_id, record.job_id, record.host, path)
        path = self._here(path)
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            raise log_gone(run_id, path) from None
        with handle:
            page = log_page(handle.fileno(), offset, limit)
        return {
            "run": run_id,
            "stream": stream,
            **page,
            "complete": page["next_offset"] == page["size"] and record.outcome not in _UNENDED,
        }

    def stats(self, job: str | None = None, since: datetime | None = None) -> dict[str, object]:
        """Figures over the ended attempts (of one job, started at or after
        `since`), as `pycron stats [ID] --json` shows them; days in `zone`."""
        with self.store() as history:
            return stats_view(job, history.stats(job, since, self._zone()))

    def _overview(
        self, jobs: list[dict[str, object]], entries: Mapping[str, Entry]
    ) -> list[dict[str, object]]:
        """These jobs of `jobs()` (defined by `entries`) with the overview's
        fields, from a few store reads."""
        ids = [str(job["id"]) for job in jobs]
        with self.store() as history:
            recent = history.recent(ids, RECENT_ATTEMPTS)
            counts = history.outcome_counts(self.clock() - RATE_WINDOW)
        return [
            {
                **job,
                "description": _description(entries.get(job_id)),
                "success_rate_7d": _success_rate(counts.get(job_id, {})),
                "recent": [_attempt_view(r) for r in reversed(recent.get(job_id, []))],
            }
            for job_id, job in zip(ids, jobs, strict=True)
        ]

    def _history(self, history: Store, records: list[RunRecord]) -> list[dict[str, object]]:
        """Records as `history --json` shows them (with triggers and deliveries)."""
        ids = [record.id for record in records]
        return history_view(records, history.triggers(ids), history.deliveries(ids), history.host)

    def _here(self, log: Path) -> Path:
        """A recorded log file as found here: where it was recorded or, in a
        history copied from another machine or directory, at its place in this
        state directory (`logs/JOB/FILE`)."""
        if log.exists() or log.parent.parent.name != "logs":
            return log
        moved = self.state_dir / "logs" / log.parent.name / log.name
        return moved if moved.exists() else log

    def _zone(self) -> tzinfo:
        """The zone days are counted in: `zone`, else this machine's offset now."""
        zone = self.zone or self.clock().astimezone().tzinfo
        assert zone is not None
        return zone


def log_page(fd: int, offset: int | None, limit: int) -> dict[str, object]:
    """A page of an open log file: {"size", "offset", "next_offset", "text"}.

    At most `limit` bytes from `offset` (None: the last `limit` bytes), as
    far as the file's size when looked at; the text is UTF-8 with each
    invalid byte replaced (U+FFFD). A page neither starts nor ends inside a
    character (it leaves up to three bytes to the next page, or takes the
    whole character when `limit` is shorter than it), so that the texts of
    consecutive pages join into the whole log. An offset past the end:
    ValueError.
    """
    size = os.fstat(fd).st_size
    if offset is not None and not 0 <= offset <= size:
        raise ValueError(f"offset {offset} is outside the log, which has {size} bytes")
    start = max(size - limit, 0) if offset is None else offset
    data = os.pread(fd, min(limit, size - start), start)
    if offset is None:  # the tail starts at a character, not inside one
        skip = _continuations(data[:3])
        data, start = data[skip:], start + skip
    if start + len(data) < size:
        cut = _cut_character(data)
        if cut == len(data):  # a limit shorter than the character: the page is the character
            data = os.pread(fd, min(_utf8_length(data[0]), size - start), start)
        else:
            data = data[: len(data) - cut]
    return {
        "size": size,
        "offset": start,
        "next_offset": start + len(data),
        "text": data.decode("utf-8", errors="replace"),
    }


def _continuations(head: bytes) -> int:
    """How many UTF-8 continuation bytes `head` starts with."""
    count = 0
    while count < len(head) and head[count] & 0xC0 == 0x80:
        count += 1
    return count


def _cut_character(data: bytes) -> int:
    """How many bytes at the end of `data` are a character cut short (0 to 3)."""
    for back in range(1, min(len(data), 4) + 1):
        byte = data[-back]
        if byte & 0xC0 != 0x80:  # the lead byte of the last character (or ASCII)
            return back if _utf8_length(byte) > back else 0
    return 0


def _utf8_length(lead: int) -> int:
    """The length of the UTF-8 sequence a byte starts (1 for ASCII, and for a
    byte that starts none, which decodes as one replaced byte)."""
    if lead >= 0xF0:
        return 4 if lead < 0xF8 else 1
    if lead >= 0xE0:
        return 3
    return 2 if lead >= 0xC0 else 1


def _description(entry: Entry | None) -> str | None:
    """The schedule in plain English, as `pycron explain` reads it (None for
    schedules that are no cron expression: `@every`, `@reboot`, `@after`...)."""
    if entry is None or not isinstance(entry.schedule, Cron):
        return None
    return headline(entry.schedule.expression)


def _success_rate(counts: Mapping[Outcome, int]) -> float | None:
    """Successes over the ended attempts (as `stats` counts them); None without any."""
    ended = sum(count for outcome, count in counts.items() if outcome not in _UNENDED)
    return counts.get(Outcome.SUCCESS, 0) / ended if ended else None


def _attempt_view(record: RunRecord) -> dict[str, object]:
    """An attempt in the overview's strip: which, how it ended, when, how long."""
    return {
        "run": record.id,
        "outcome": record.outcome.value,
        "started": record.started.isoformat(),
        "duration": record.duration,
    }


def file_source(
    crontab: Path,
    state_dir: Path,
    zone: tzinfo | None,
    clock: Callable[[], datetime],
    shared: Callable[[], Store] | None = None,
) -> Source:
    """A source for when no daemon runs: the jobs as the crontab file defines
    them now (a file with errors shows its good lines), with their next runs;
    the history a cluster shares, if `shared` opens one."""

    def entries() -> dict[str, Entry]:
        parsed, _ = CrontabFile(crontab).load()
        return {entry.id: entry for entry in parsed.entries}

    def next_fires(jobs: Mapping[str, Entry]) -> dict[str, datetime | None]:
        now = clock()
        return {job_id: next(iter(next_runs(e, now, 1, zone)), None) for job_id, e in jobs.items()}

    return Source(state_dir, entries, next_fires, zone, clock, shared=shared)


def daemon_source(
    live: Live,
    state_dir: Path,
    zone: tzinfo | None,
    clock: Callable[[], datetime],
    shared: Callable[[], Store] | None = None,
) -> Source:
    """The source of a running daemon's own page: the jobs and their next runs
    as the daemon planned them, the history (the cluster's, if `shared` opens
    it) through a connection of the page's own. The daemon's connection is
    never used from the page, so that a request never makes a due job wait
    for the history, nor the reverse."""

    def next_fires(_: Mapping[str, Entry]) -> Mapping[str, datetime | None]:
        return live.next_fires()

    return Source(state_dir, live.entries, next_fires, zone, clock, live=live, shared=shared)
