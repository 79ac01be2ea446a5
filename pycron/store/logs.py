"""The runs' log files, as the store sees them: files that its records name,
removed once the records that named them are gone (`pycron history prune`).

They are removed after the store has committed, never inside its
transaction: a slow or failing file system then holds no lock on the store,
and should removing stop half way, what is left is a log file no record
names, not a record that names a missing log. (The runner's own retention,
which keeps a job's newest runs in its log directory, goes by the files
alone and needs no store.)
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pycron.errors import HistoryError


def remove_logs(paths: Iterable[Path]) -> None:
    """Delete log files, each one tried: a missing one is fine; should any
    other fail to go, the first failure is reported once all were tried."""
    failures: list[str] = []
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            failures.append(f"{path}: cannot remove the log file: {error.strerror or error}")
    if failures:
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        raise HistoryError(failures[0] + more)
