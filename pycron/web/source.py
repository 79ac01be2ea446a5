"""What the status page, the JSON API and `/metrics` read: the jobs with
their next runs, and the run history. Its answers have the shapes of the
CLI's `--json` outputs (`pycron.views`), so that a program reads the API and
the command line alike.

Two ways to know the jobs: a running daemon's own state (`Daemon.snapshot`),
or, when no daemon runs (`pycron web` on a copied state directory), the
crontab file read again on each look, with next runs computed as the daemon
computes them. The history is always read through a read-only store, opened
per look, so that it can be read from any of the server's threads and never
writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Protocol

from pycron.crontab import CrontabFile
from pycron.daemon import next_runs
from pycron.store import Store
from pycron.store.sqlite import SQLiteStore
from pycron.views import status_view

Snapshot = dict[str, object]


class Live(Protocol):
    """What a running daemon tells the page beyond its history."""

    def snapshot(self) -> Snapshot:
        """Every job with its next run, and the runs going and queued (`views.status_view`)."""

    def stalled_for(self) -> float:
        """Seconds the daemon's loop has been stuck: 0.0 while it turns, or
        sleeps with a wake-up that is not overdue."""

    def reload_counts(self) -> Mapping[str, int]:
        """Crontab loads since the daemon started, by result (`success`, `error`)."""


@dataclass(frozen=True)
class Source:
    """The read side of one pycron: `snapshot()` says what runs and what is
    next (see `pycron.views.status_view`), `store()` opens the history
    read-only. `clock` is the wall clock (injected, for tests) and `zone` the
    one times are shown in. `live` is the daemon serving it, if one does
    (`pycron web` shows a history without one)."""

    state_dir: Path
    snapshot: Callable[[], Snapshot]
    zone: tzinfo | None
    clock: Callable[[], datetime]
    live: Live | None = None

    @contextmanager
    def store(self) -> Iterator[Store]:
        """The run history, read-only: runs whose pycron is gone show as
        interrupted, as the upkeep will mark them."""
        with SQLiteStore.open_readonly(self.state_dir, settled_at=self.clock()) as history:
            yield history

    def jobs(self) -> list[dict[str, object]]:
        """Every job with its schedule, next run, whether it runs or waits and its last run."""
        jobs = self.snapshot()["jobs"]
        assert isinstance(jobs, list)
        return jobs


def file_source(
    crontab: Path, state_dir: Path, zone: tzinfo | None, clock: Callable[[], datetime]
) -> Source:
    """A source for when no daemon runs: the jobs as the crontab file defines
    them now (a file with errors shows its good lines), with their next runs."""

    def snapshot() -> Snapshot:
        parsed, _ = CrontabFile(crontab).load()
        now = clock()
        jobs = {entry.id: entry for entry in parsed.entries}
        fires = {job_id: next(iter(next_runs(e, now, 1, zone)), None) for job_id, e in jobs.items()}
        with SQLiteStore.open_readonly(state_dir, settled_at=now) as history:
            return status_view(jobs, fires, history, zone)

    return Source(state_dir=state_dir, snapshot=snapshot, zone=zone, clock=clock)
