"""This daemon as a member of a cluster (`pycron daemon --cluster URL`): the
cluster opened from its URL, the membership kept alive by a thread of its
own, the claims the member's history asks it for, and the runs of dead
members it takes over (see `pycron.store.cluster` for the rules).

The loop that starts jobs never waits for the cluster's server to renew the
lease: a thread beats `BEATS_PER_LEASE` times per lease and, at each beat,
takes over the runs of members whose lease has run out. While the server
cannot be reached, the member claims nothing (so starts no new scheduled
run), lets what runs go on, says so once, and tries again with a growing
pause; should its lease run out meanwhile, the others take its runs over,
and it joins again, as a new member, once the server is back.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Collection
from datetime import datetime, timedelta

from pycron.errors import HistoryError
from pycron.store.cluster import (
    Claimer,
    Cluster,
    Membership,
    Orphan,
    Slot,
    backend_of,
    drivers,
)

BEATS_PER_LEASE = 3
FIRST_RETRY = 0.5  # seconds before the first new try to reach a server that was lost

Log = Callable[..., None]


def open_cluster(url: str, lease: timedelta) -> Cluster:
    """The cluster at `url`, its backend's driver loaded only now. A server that
    cannot be reached is a `StoreConnectionError`, a URL of another form a
    UsageError."""
    if backend_of(url) == "postgresql":
        with drivers():
            from pycron.store.postgresql import PostgresCluster  # noqa: PLC0415 - the extra
        return PostgresCluster.open(url, lease=lease)
    with drivers():
        from pycron.store.redis import RedisCluster  # noqa: PLC0415 - the extra
    return RedisCluster.open(url, lease=lease)


class Member:
    """This daemon's membership of `cluster`, kept alive by its own thread from
    `start()` to `stop()`. `running()` says which runs the daemon has now
    (each beat reports them); `taken_over` hears of the runs of dead members
    that fell to this one (from the member's thread); `rejoined` of a new
    membership after this one's had run out."""

    def __init__(
        self,
        cluster: Cluster,
        *,
        host: str,
        pid: int,
        version: str,
        clock: Callable[[], datetime],
        log: Log,
        running: Callable[[], Collection[Slot]],
        taken_over: Callable[[list[Orphan]], None],
        rejoined: Callable[[Membership], None],
    ) -> None:
        self.cluster = cluster
        self._who = (host, pid, version)
        self._clock = clock
        self._log = log
        self._running = running
        self._taken_over = taken_over
        self._rejoined = rejoined
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="cluster", daemon=True)
        self._lost_since: datetime | None = None  # the server could not be reached since
        self._failures = 0
        self.membership = self._join(clock())

    @property
    def interval(self) -> float:
        """Seconds between beats."""
        return self.cluster.lease.total_seconds() / BEATS_PER_LEASE

    def start(self) -> None:
        """Beat from now on, in the member's thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop beating and leave the cluster (the daemon's runs have ended);
        a server that cannot be reached lets the lease run out instead."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        try:
            self.cluster.leave(self.membership)
        except HistoryError as error:
            self._log("cluster", "warning", message=f"{error}: leaving when the lease runs out")
        finally:
            self.cluster.close()

    def claimer(self) -> Claimer | None:
        """What claims slots for this member's own history, under its membership
        of the moment (None: the history is the cluster's, and claims itself)."""
        return self.cluster.claimer(lambda: self.membership)

    def running_elsewhere(self) -> list[Slot]:
        """The runs the other live members of the cluster have now."""
        mine = self.membership.member_id
        members = self.cluster.members(self._clock())
        return [
            run
            for member in members
            if not member.stale and member.member_id != mine
            for run in member.running
        ]

    def finish(self, slot: Slot) -> bool:
        """Whether a run of this member that ended is still its own to record."""
        return self.cluster.finish(self.membership, slot)

    def _join(self, now: datetime) -> Membership:
        host, pid, version = self._who
        membership = self.cluster.join(host, pid, version, now)
        self._log(
            "cluster",
            member=membership.member_id,
            generation=membership.generation,
            backend=self.cluster.backend,
            location=self.cluster.location,
            lease=f"{self.cluster.lease.total_seconds():g}s",
        )
        return membership

    def _beat(self) -> None:
        pause = self.interval
        while not self._stop.wait(pause):
            pause = self._turn()

    def _turn(self) -> float:
        """One beat: renew the lease (joining again if it ran out), take over
        what dead members left; returns the seconds until the next one."""
        now = self._clock()
        try:
            if not self.cluster.beat(self.membership, self._running(), now):
                self._log(
                    "cluster",
                    "error",
                    member=self.membership.member_id,
                    message="this member's lease ran out: the other members take its runs "
                    "over, and their ends are not recorded here; joining again as a new member",
                )
                self.membership = self._join(now)
                self._rejoined(self.membership)
            orphans = self.cluster.take_over(self.membership, now)
        except HistoryError as error:
            return self._lost(error, now)
        if self._lost_since is not None:
            since = f"{self._lost_since:%H:%M:%S}"
            self._log("cluster", message=f"the cluster's server is back (lost since {since})")
            self._lost_since, self._failures = None, 0
        if orphans:
            self._taken_over(orphans)
        return self.interval

    def _lost(self, error: HistoryError, now: datetime) -> float:
        """The server cannot be reached: said once, tried again sooner and sooner
        less often, never less often than a beat."""
        if self._lost_since is None:
            self._lost_since = now
            self._log(
                "cluster",
                "error",
                message=f"{error}: no new run is claimed (so none starts) until it is back; "
                "running runs go on",
            )
        self._failures += 1
        delay = FIRST_RETRY * 2.0 ** (self._failures - 1) * (0.8 + 0.4 * random.random())
        return min(delay, self.interval)
