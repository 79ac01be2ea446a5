"""What the command line gives, as values that need no click: where a
command's crontab, state and run history are (`Invocation`, from the global
options, their environment variables and defaults), and a cluster's lease.

`pycron daemon` starts without click (`pycron.cli.daemonline`), so what it
shares with the click commands lives here.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from pycron.crontab import CrontabFile, parse_duration
from pycron.errors import UsageError
from pycron.runner import Retention
from pycron.store.cluster import backend_of, drivers

if TYPE_CHECKING:
    from pycron.store import Store

CRONTAB_ENV = "PYCRON_CRONTAB"
STATE_DIR_ENV = "PYCRON_STATE_DIR"
KEEP_RUNS_ENV = "PYCRON_KEEP_RUNS"
KEEP_MIB_ENV = "PYCRON_KEEP_MIB"
CLUSTER_ENV = "PYCRON_CLUSTER"

# The defaults of --keep-runs and --keep-mib: the runner's.
KEEP_RUNS = Retention().runs
KEEP_MIB = Retention().max_bytes // 2**20

# The global options, by the name of their value: taken before the command
# (with the environment variables above) and after it.
GLOBAL_NAMES = ("crontab_path", "state_dir", "keep_runs", "keep_mib")


class Invocation(NamedTuple):
    """What the global options of one `pycron` invocation chose: where the
    crontab and the state live, and how many logs to keep (options, then
    environment, then defaults); and the cluster whose history a command
    that reads it was told to read (its `--cluster`), if any."""

    crontab: Path
    state_dir: Path
    retention: Retention
    cluster: str | None = None

    @classmethod
    def given(
        cls, crontab_path: Path | None, state_dir: Path | None, keep_runs: int, keep_mib: int
    ) -> Invocation:
        """The invocation of the options given before the command."""
        return cls(
            crontab_path or _default_crontab(),
            state_dir or _default_state_dir(),
            Retention(keep_runs, keep_mib * 2**20),
        )

    @property
    def shared_history(self) -> str | None:
        """The URL of the history read, where it is the one the cluster's
        members share; None where it is the state directory's."""
        return shared_history_url(self.cluster)

    def crontab_file(self, system: bool = False) -> CrontabFile:
        """The crontab as a file to read and edit."""
        return CrontabFile(self.crontab, system=system)

    def updated(self, given: dict[str, Any]) -> Invocation:
        """This invocation with the global options given after the command
        (by the names of GLOBAL_NAMES; the caller has refused those given on
        both sides)."""
        runs = given.get("keep_runs", self.retention.runs)
        mib = given.get("keep_mib")
        return self._replace(
            crontab=given.get("crontab_path", self.crontab),
            state_dir=given.get("state_dir", self.state_dir),
            retention=Retention(runs, mib * 2**20 if mib else self.retention.max_bytes),
        )


def _default_crontab() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base, "pycron", "crontab")


def _default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(base, "pycron")


def shared_history_url(cluster: str | None) -> str | None:
    """The URL of the history the members of cluster `cluster` share: a
    PostgreSQL cluster's own; None for a Redis cluster, which shares only its
    claims (each host keeps its history in its state directory), or for no
    cluster."""
    if cluster is None or backend_of(cluster) != "postgresql":
        return None
    return cluster


def open_shared_history(url: str) -> Store:
    """The history a PostgreSQL cluster shares, for reading: the whole
    cluster's runs, each naming its host. The store has no read-only mode, so
    the readers take care never to write through it; opening it brings its
    schema up to date, as any member's start does. Runs of other hosts are
    shown as recorded: a member that died leaves its runs running until a
    live member takes them over. A server out of reach is a
    `StoreConnectionError` naming the URL, its password masked."""
    with drivers():
        from pycron.store.postgresql import PostgresStore  # noqa: PLC0415 - the cluster extra
    return PostgresStore.open(url)


def cluster_url(text: str | None) -> str | None:
    """A `--cluster` URL of a known form (`backend_of` says what one looks
    like), or none."""
    if text:
        backend_of(text)
    return text or None


def read_lease(text: str) -> timedelta:
    """A `--cluster-lease`: a duration (`30s`, `2m`) of at least a second."""
    try:
        lease = parse_duration(text)
    except ValueError as error:
        raise UsageError(f"--cluster-lease {text!r}: {error}") from None
    if lease < timedelta(seconds=1):
        raise UsageError(f"--cluster-lease {text!r}: give at least 1s (30s by default)")
    return lease
