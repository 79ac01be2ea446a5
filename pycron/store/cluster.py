"""Daemons in a cluster: what the members of one cluster share so that each
scheduled run happens once, on one member, and the runs of a member that died
are taken over once.

Every daemon started with the same cluster URL (`pycron daemon --cluster URL`)
and the same crontab is a member. The URL names the backend:
- `postgresql://` (psycopg 3): the whole history is shared (`pycron.store.
  postgresql`), and the claims are its rows;
- `redis://`, `rediss://` (redis-py): only the claims, leases and members are
  shared; each member keeps its history in its own state directory.

The rules, whatever the backend:
- **Membership.** A member joins (`join`) with its host, pid and version and
  gets a `Membership`: an id, and a generation, a number that grows with each
  membership the cluster hands out and is never handed out twice (the
  fencing token). It renews its lease (`beat`) well within the lease
  (`Cluster.lease`); a member whose lease has run out is stale, and its
  membership is over for good: `beat` answers False, its claims fail, and its
  runs are taken over. It leaves (`leave`) when it stops.
- **Claims.** Each due run (job, slot) is claimed before it starts; of all
  the members that claim one slot, at once or later, exactly one gets it. A
  claim is taken where the run is recorded (PostgreSQL: the claim row in the
  transaction that records the run queued) or just before it is recorded in
  the member's own history (Redis: `SET NX`, a `Claimer` the history asks).
- **Takeover.** The runs a stale member had running (as its beats said) go to
  exactly one live member (`take_over`), once each: it marks them
  interrupted and handles their slots as each job's catch-up policy says.
- **Fencing.** A run's end is recorded as its own only while the membership
  that started it holds (`finish`): a member that comes back after its
  lease was taken over does not record a success over the interruption.
- **Epoch.** `@every` slots are counted from the cluster's epoch (`epoch`),
  set once, by the first member to ask, to its start, so that every member
  agrees on them.

A cluster URL's password never shows in a message: every backend names
its URL `redacted`.

Nothing here reads the clock: every "now" is an argument.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol
from urllib.parse import urlsplit

from pycron.errors import ClusterError, UsageError

# The schemes of a cluster URL, by backend.
SCHEMES = {
    "postgresql": ("postgresql://", "postgres://"),
    "redis": ("redis://", "rediss://"),
}
DEFAULT_LEASE = timedelta(seconds=30)


class Slot(NamedTuple):
    """One scheduled run of a job: its id and its slot (aware, UTC)."""

    job_id: str
    scheduled_for: datetime


class Membership(NamedTuple):
    """A member's place in the cluster for one lifetime: its id (unique in
    the cluster) and its generation (the fencing token)."""

    member_id: str
    generation: int


class Member(NamedTuple):
    """A member as `pycron cluster status` shows it."""

    member_id: str
    host: str
    pid: int
    version: str
    joined: datetime
    heartbeat: datetime  # its last beat
    generation: int
    running: tuple[Slot, ...]  # as its last beat said
    stale: bool  # its lease ran out: its runs are (or are to be) taken over


class Orphan(NamedTuple):
    """A run that a stale member had running, taken over by this member: to
    mark interrupted (`record_id`, its record in a shared history, if any)
    and to handle by its job's catch-up policy."""

    slot: Slot
    member: Member
    record_id: int | None


# Claims slots for this member where the history does not (Redis): True for
# each slot it got, False for one another member has, or had.
Claimer = Callable[[Sequence[Slot]], list[bool]]


class Cluster(Protocol):
    """The shared part of a cluster (see the module's docstring)."""

    @property
    def location(self) -> str:
        """The cluster's URL, its password masked, for messages."""

    @property
    def backend(self) -> str:
        """`postgresql` or `redis`."""

    @property
    def lease(self) -> timedelta:
        """How long a member's beat holds: after as long without one, it is stale."""

    def join(self, host: str, pid: int, version: str, now: datetime) -> Membership:
        """Join the cluster as a new member; its lease runs from `now`."""

    def beat(self, membership: Membership, running: Collection[Slot], now: datetime) -> bool:
        """Renew the member's lease from `now`, saying which runs it has running;
        False if its membership is over (it was found stale): it must claim
        nothing more and join again."""

    def leave(self, membership: Membership) -> None:
        """End the membership of a member that stops (its runs have ended)."""

    def epoch(self, now: datetime) -> datetime:
        """The cluster's epoch, set to `now` if no member set it before."""

    def claimer(self, membership: Callable[[], Membership]) -> Claimer | None:
        """What claims slots for a member's own history, under the membership
        `membership()` gives at each claim; None where the history is the
        cluster's and claims itself (PostgreSQL)."""

    def take_over(self, membership: Membership, now: datetime) -> list[Orphan]:
        """The running runs of the members stale at `now`, each given to one
        caller only, once; their members' memberships end."""

    def finish(self, membership: Membership, slot: Slot) -> bool:
        """A run of this member has ended: True if its end is the member's to
        record (the membership holds and the run was not taken over)."""

    def members(self, now: datetime) -> list[Member]:
        """Every member known, live and stale, by host then pid."""

    def close(self) -> None:
        """Let go of the connection (the membership stays until `leave` or its lease)."""


INSTALL = "pip install 'pycron-cli[cluster]'"


@contextmanager
def drivers() -> Iterator[None]:
    """Around the import of a backend's module: its driver missing (psycopg,
    redis: the `cluster` extra is not installed) is a ClusterError saying
    what to install."""
    try:
        yield
    except ModuleNotFoundError as error:
        missing = (error.name or "a library").split(".")[0]
        if missing == "pycron":
            raise
        raise ClusterError(
            f"a cluster needs the cluster extra ({missing} is not installed): {INSTALL}"
        ) from None


def member_id(host: str, pid: int, generation: int) -> str:
    """A member's id: `HOST:PID:GENERATION`, unique in its cluster (the
    generation is) and telling people where it runs."""
    return f"{host}:{pid}:{generation}"


def backend_of(url: str) -> str:
    """The backend a cluster URL names (`postgresql`, `redis`); a URL of
    another form is a UsageError saying what a cluster URL looks like."""
    for backend, schemes in SCHEMES.items():
        if url.startswith(schemes) and len(url) > len(url.split("//", 1)[0]) + 2:
            return backend
    raise UsageError(
        f"--cluster {url.rsplit('@', maxsplit=1)[-1]!r}: not a cluster URL; give "
        "postgresql://USER@HOST:5432/DATABASE or redis://HOST:6379/0"
    )


def redacted(url: str) -> str:
    """The URL (or whatever was given for one) with its password masked, in
    the user part and in a `password` parameter, for messages:
    `postgresql://pycron:***@db1/pycron`, `redis://:***@cache1:6379/0`."""
    masked = _PASSWORD.sub(r"\1***", url)
    userinfo, at, _ = urlsplit(masked).netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return masked
    return masked.replace(f"//{userinfo}@", f"//{userinfo.partition(':')[0]}:***@", 1)


_PASSWORD = re.compile(r"(password=)[^&\s]*", re.IGNORECASE)
