"""The daemon's job table: the jobs of its crontab as last read well.

It reads the file (refusing one that cron would not trust), tells when the
file changed on disk, and on a reload with errors keeps the previous version
of the jobs the broken file lost, so a typo never stops a job. What the jobs'
schedules mean is the scheduler's business, not the table's.
"""

from __future__ import annotations

import gc
import os
from typing import TYPE_CHECKING, NamedTuple

from pycron.crontab import Entry, parse, untrusted
from pycron.digest import sha256_hex
from pycron.errors import DaemonError, UnsafeFileError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

    from pycron.crontab import Crontab, Finding


LOAD_RESULTS = ("success", "error")


class Loaded(NamedTuple):
    """What a load changed: the jobs before it, the errors found in the file,
    and the ids of the jobs added or removed."""

    previous: dict[str, Entry]
    errors: int
    changed: list[str]


class JobTable:
    """The jobs of one crontab file, by id, as last loaded."""

    def __init__(
        self,
        path: Path,
        log: Callable[..., None],
        review: Callable[[Crontab], Iterable[Finding]] | None = None,
    ) -> None:
        """`log` is the daemon's event log (`EventLog`); `review` says what
        else to report of each version loaded (alert targets that cannot be
        used, mail that cannot leave), logged as the errors are."""
        self.path = path
        self.log = log
        self.review = review
        self.jobs: dict[str, Entry] = {}
        # Loads of the file by result: `error` when it could not be read or
        # trusted, or has errors (its good lines still count), else `success`.
        self.loads = dict.fromkeys(LOAD_RESULTS, 0)
        self._file_signature: tuple[int, int, int] | None = None
        self._loaded_digest: str | None = None  # of the text last parsed (the text is not kept)
        self._loaded_result = "success"

    def changed(self) -> bool:
        """Whether the file on disk differs from the one last loaded (by its
        modification time, size and inode: cheap enough for every turn)."""
        return self._signature() != self._file_signature

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            status = self.path.stat()
        except FileNotFoundError:
            return None
        return status.st_mtime_ns, status.st_size, status.st_ino

    def load(self, *, initial: bool) -> Loaded | None:
        """(Re)read the crontab; with errors, log them and keep the previous
        version of jobs that vanished. Returns what changed, or None if the
        table stays as it was (the file is unchanged, or unreadable or untrusted
        on a reload: then the jobs stay as they were). The first load raises
        instead, as the daemon cannot start without jobs."""
        self._file_signature = self._signature()
        path = self.path
        problem = untrusted(path, euid=os.geteuid())
        if problem is not None:
            if initial:
                raise UnsafeFileError(problem)
            self.loads["error"] += 1
            self.log("reload", "error", message=f"{problem}; the jobs stay as they were")
            return None
        try:
            data = path.read_bytes()
        except OSError as error:
            if initial:
                raise DaemonError(f"cannot read {path}: {error.strerror}") from None
            self.loads["error"] += 1
            self.log("reload", "error", message=f"cannot read {path}: {error.strerror}")
            return None
        digest = sha256_hex(data)
        if digest == self._loaded_digest:
            self.loads[self._loaded_result] += 1
            self.log("reload", jobs=len(self.jobs), message="unchanged")
            return None
        # Parsing 10,000 lines makes a lot of objects: without the cyclic
        # collector running through them meanwhile, (re)loads take half the time.
        # (At the daemon's start it is off already, and stays so.)
        collecting = gc.isenabled()
        gc.disable()
        try:
            crontab, errors = parse(data.decode("utf-8", "surrogateescape"), str(path))
        finally:
            if collecting:
                gc.enable()
        self._loaded_digest = digest
        self._loaded_result = "error" if errors else "success"
        self.loads[self._loaded_result] += 1
        reviewed = list(self.review(crontab)) if self.review is not None else []
        for finding in (*errors, *reviewed):
            self.log(
                finding.severity.value,
                "error" if finding.is_error else "warning",
                where=f"{finding.path}:{finding.line}:{finding.column + 1}",
                message=finding.message,
            )
        jobs = {entry.id: entry for entry in crontab.entries}
        if errors:
            for job_id, entry in self.jobs.items():
                if job_id not in jobs:
                    self.log(
                        "keep",
                        "warning",
                        job=job_id,
                        message="kept from the previous version until the file is fixed",
                    )
                    jobs[job_id] = entry
        loaded = Loaded(self.jobs, len(errors), sorted(set(jobs) ^ set(self.jobs)))
        self.jobs = jobs
        return loaded
