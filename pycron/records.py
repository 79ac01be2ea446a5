"""What a run of a job is, as the runner, the history, the daemon and the CLI
share it: plain values, importing nothing heavy, so that reading the history
does not load the machinery that starts processes."""

from __future__ import annotations

import enum
import os
from datetime import datetime
from pathlib import Path
from typing import NamedTuple, Protocol


def this_host() -> str:
    """The name of this host, as recorded with each run: the kernel's node
    name, which is what gethostname(2) returns, without loading `socket`."""
    return os.uname().nodename


class Outcome(enum.Enum):
    """How an attempt ended."""

    QUEUED = "queued"  # due, waiting for a worker (the daemon); replaced when it starts
    RUNNING = "running"  # recorded at start; replaced when the attempt ends
    SUCCESS = "success"  # exit status 0
    FAILED = "failed"  # another exit status, or killed by a signal of its own
    TIMEOUT = "timeout"  # terminated by pycron after its timeout
    SKIPPED_OVERLAP = "skipped-overlap"  # its lock was held by another run
    INTERRUPTED = "interrupted"  # pycron stopped (or died) while it ran
    ERROR = "error"  # could not start: bad shell, bad working directory, ...
    MISSED = "missed"  # slots the daemon was down for and did not catch up (not run)
    BLOCKED = "blocked"  # not run: a job of its `requires=` had not succeeded, or still ran


class RunResult(NamedTuple):
    """One attempt of one run of a job.

    `scheduled_for` is the slot the run belongs to (the same for all its
    attempts); `exit_code` is the exit status, `signal` the signal number
    that ended the process (either may be None). Times are aware (UTC).
    `cpu_user` and `cpu_system` are the CPU seconds the job's process and
    the descendants it waited for spent, `max_rss` the largest resident set
    (bytes) of any one of them; None for attempts whose process pycron did
    not see end (error, skipped and interrupted ones). `max_rss` is also None
    for a peak no larger than pycron's own, which the kernel counts into a
    process pycron starts, so that a smaller one cannot be told from it.
    `slots` is how many scheduled slots the attempt stands for: one, but a
    `missed` record stands for every slot of one catch-up decision.
    """

    job_id: str
    scheduled_for: datetime
    attempt: int
    outcome: Outcome
    started: datetime
    finished: datetime | None = None
    exit_code: int | None = None
    signal: int | None = None
    stdout_path: Path | None = None
    stderr_path: Path | None = None
    pid: int | None = None
    message: str | None = None  # why, for error and skipped outcomes
    cpu_user: float | None = None
    cpu_system: float | None = None
    max_rss: int | None = None
    slots: int = 1

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish (None while running)."""
        if self.finished is None:
            return None
        return (self.finished - self.started).total_seconds()


class Recorder(Protocol):
    """Hears of attempts; the run history implements it."""

    def started(self, result: RunResult, record_id: int | None = None) -> int:
        """An attempt starts (outcome RUNNING): record it in a new record, or in
        record `record_id` (one queued for it, or its own once its process has
        a pid); returns the record id."""

    def finished(self, record_id: int, result: RunResult) -> None:
        """The attempt with this record id has ended."""
