"""The cluster on Redis (`pycron.store.redis`), on a real server
(`PYCRON_TEST_REDIS`, by default 127.0.0.1:6379, each test under a key prefix
of its own, its keys deleted after it; skipped, saying why, where no server
answers): members claiming the same runs at once from threads and
processes, the high-water mark, memberships that end, takeovers raced by
several members, fencing, staleness from the `now` given, the epoch, the
keys' expiry, errors naming the URL without its password, and a Redis of
the test's own that stops and comes back without its data."""

from __future__ import annotations

import os
import random
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import redis
from backends import server_absent
from test_store import PROCESS_TIMEOUT, T0, in_threads, run_children

from pycron.errors import HistoryError, StoreConnectionError, UsageError
from pycron.store.cluster import Membership, Orphan, Slot, redacted
from pycron.store.redis import CLAIM_KEEP, MEMBER_KEEP, RedisCluster

REDIS_URL = os.environ.get("PYCRON_TEST_REDIS", "redis://127.0.0.1:6379/0")
TESTS = Path(__file__).resolve().parent
LEASE = timedelta(seconds=30)
SECOND = timedelta(seconds=1)
MICROSECOND = timedelta(microseconds=1)
# The keys of a cluster that never expire: each is one per cluster, or one field per job.
LASTING = {"generation", "members", "last", "epoch"}

Connect = Callable[..., RedisCluster]


@pytest.fixture(scope="module")
def server() -> Iterator[redis.Redis]:
    """A client of the tests' Redis, bypassing pycron; the module skips where none answers."""
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as error:
        client.close()
        server_absent(f"no Redis server answers at {redacted(REDIS_URL)}: {error}")
    yield client
    client.close()


@pytest.fixture
def prefix(server: redis.Redis) -> Iterator[str]:
    """A key prefix of the test's own; every key under it is deleted after the test."""
    name = f"pycron-test-{secrets.token_hex(8)}"
    yield name
    keys = list(server.scan_iter(match=f"{name}:*", count=1000))
    if keys:
        server.delete(*keys)


@pytest.fixture
def connect(prefix: str) -> Iterator[Connect]:
    """Open the test's cluster (one connection per member, as on separate
    hosts), with a lease of `LEASE` unless told; all closed after the test."""
    opened: list[RedisCluster] = []

    def connect(lease: timedelta = LEASE) -> RedisCluster:
        cluster = RedisCluster.open(REDIS_URL, lease=lease, prefix=prefix)
        opened.append(cluster)
        return cluster

    yield connect
    for cluster in opened:
        cluster.close()


def slot(job: str, minutes: int) -> Slot:
    """The run of `job` at `minutes` after T0."""
    return Slot(job, T0 + timedelta(minutes=minutes))


def expire(key: str) -> None:
    """Have the test's Redis expire a key now, and wait until it has."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        client.pexpire(key, 1)
        deadline = time.monotonic() + PROCESS_TIMEOUT
        while client.exists(key):
            assert time.monotonic() < deadline, f"Redis did not expire {key}"
            time.sleep(0.01)
    finally:
        client.close()


def free_port() -> int:
    """A loopback port that nothing listens on (as the system just said)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# -- Claims --------------------------------------------------------------------------------

JOBS = 50
MINUTES = 4
MEMBERS = 3


def claim_every_run(url: str, prefix: str, seed: int, ready: Callable[[], None]) -> list[str]:
    """What one member gets of every job's runs of `MINUTES` minutes, claimed
    minute by minute as a daemon's ticks claim them, the jobs of a minute in
    an order of its own and in chunks: `JOB@MINUTE` per run it got. `ready`
    waits for the other members."""
    cluster = RedisCluster.open(url, prefix=prefix)
    try:
        membership = cluster.join(f"member-{seed}", seed, "test", T0)
        order = random.Random(seed)
        ready()
        got: list[str] = []
        for minute in range(MINUTES):
            due = [slot(f"job-{number}", minute) for number in range(JOBS)]
            order.shuffle(due)
            for start in range(0, JOBS, 10):
                chunk = due[start : start + 10]
                granted = cluster.claim(membership, chunk)
                got += [
                    f"{run.job_id}@{minute}" for run, ok in zip(chunk, granted, strict=True) if ok
                ]
        return got
    finally:
        cluster.close()


CLAIMER_CHILD = f"""
import sys
sys.path[:0] = [{str(TESTS.parent)!r}, {str(TESTS)!r}]
from test_cluster_redis import claim_every_run

def ready():
    print("ready", flush=True)
    sys.stdin.readline()

print(" ".join(claim_every_run(sys.argv[1], sys.argv[2], int(sys.argv[3]), ready)))
"""


def in_threads_claiming(prefix: str, tmp_path: Path) -> list[list[str]]:
    """Each member's runs, the members being threads of this process."""
    barrier = threading.Barrier(MEMBERS, timeout=PROCESS_TIMEOUT)
    taken: dict[int, list[str]] = {}

    def member(seed: int) -> None:
        taken[seed] = claim_every_run(REDIS_URL, prefix, seed, barrier.wait)

    assert in_threads(member, range(MEMBERS)) == []
    return [taken[seed] for seed in range(MEMBERS)]


def in_processes_claiming(prefix: str, tmp_path: Path) -> list[list[str]]:
    """Each member's runs, the members being processes, released together."""
    children = run_children(
        [[CLAIMER_CHILD, REDIS_URL, prefix, str(seed)] for seed in range(MEMBERS)],
        tmp_path / "err",
        together=True,
    )
    assert [child.returncode for child in children] == [0] * MEMBERS, [
        child.stderr for child in children
    ]
    return [child.stdout.split() for child in children]


@pytest.mark.parametrize("members", [in_threads_claiming, in_processes_claiming])
def test_each_run_goes_to_exactly_one_of_the_members_claiming_it_at_once(
    members: Callable[[str, Path], list[list[str]]], prefix: str, tmp_path: Path
) -> None:
    taken = members(prefix, tmp_path)
    every_run = sorted(f"job-{n}@{m}" for n in range(JOBS) for m in range(MINUTES))
    assert sorted(run for runs in taken for run in runs) == every_run


# Steps of members 0 and 1 (live throughout): who claims what, and what each gets.
HIGH_WATER = {
    "an earlier slot after a later one, by anyone": [
        (0, [("a", 5)], [True]),
        (1, [("a", 3)], [False]),
        (0, [("a", 4)], [False]),
    ],
    "the slot itself again": [
        (0, [("a", 5)], [True]),
        (0, [("a", 5)], [False]),
        (1, [("a", 5)], [False]),
    ],
    "later slots, by anyone": [
        (0, [("a", 1)], [True]),
        (1, [("a", 2)], [True]),
        (0, [("a", 3)], [True]),
    ],
    "one call's slots in time order, whatever their order": [
        (0, [("a", 5), ("a", 3), ("b", 1), ("a", 4)], [True, True, True, True]),
        (1, [("a", 6), ("a", 5), ("b", 2)], [True, False, True]),
    ],
    "one slot twice in a call": [(0, [("a", 1), ("a", 1)], [True, False])],
    "each job its own mark": [
        (0, [("a", 5)], [True]),
        (1, [("b", 3)], [True]),
        (0, [("b", 2)], [False]),
    ],
    "no slots": [(0, [], [])],
}


@pytest.mark.parametrize("steps", HIGH_WATER.values(), ids=HIGH_WATER.keys())
def test_a_slot_at_or_before_its_jobs_latest_claim_is_refused(
    steps: list[tuple[int, list[tuple[str, int]], list[bool]]], connect: Connect
) -> None:
    clusters = [connect(), connect()]
    memberships = [cluster.join(f"host-{n}", n, "test", T0) for n, cluster in enumerate(clusters)]
    for member, runs, expected in steps:
        slots = [slot(job, minutes) for job, minutes in runs]
        assert clusters[member].claim(memberships[member], slots) == expected, (member, runs)


def test_a_claim_that_expired_stays_refused(
    connect: Connect, server: redis.Redis, prefix: str
) -> None:
    cluster = connect()
    first, second = (cluster.join(host, 1, "test", T0) for host in ("one", "two"))
    assert cluster.claim(first, [slot("a", 1)]) == [True]
    (key,) = server.keys(f"{prefix}:claim:*")
    assert server.get(key) == first.member_id
    assert 0 < server.pttl(key) <= CLAIM_KEEP // timedelta(milliseconds=1)
    expire(key)
    assert cluster.claim(second, [slot("a", 1)]) == [False]
    assert cluster.claim(second, [slot("a", 2)]) == [True]


# -- Memberships that end ------------------------------------------------------------------


def taken_over(cluster: RedisCluster, membership: Membership, lease_key: str) -> Membership:
    """Another member, joining past the lease, takes the member over."""
    later = T0 + LEASE + SECOND
    taker = cluster.join("taker", 2, "test", later)
    assert [orphan.slot for orphan in cluster.take_over(taker, later)] == [slot("a", 0)]
    return membership


def lease_expired(cluster: RedisCluster, membership: Membership, lease_key: str) -> Membership:
    """Redis expires the member's lease (the member did not beat in time)."""
    expire(lease_key)
    return membership


def left(cluster: RedisCluster, membership: Membership, lease_key: str) -> Membership:
    cluster.leave(membership)
    return membership


def forged(cluster: RedisCluster, membership: Membership, lease_key: str) -> Membership:
    """A membership of another generation under the member's id."""
    return Membership(membership.member_id, membership.generation + 1)


# How a membership ends -> whether the end of a run it started is still its own.
ENDINGS = {
    "taken over": (taken_over, False),
    "lease expired in Redis": (lease_expired, True),  # not taken over: the run is its own
    "left": (left, False),
    "another generation": (forged, False),
}


@pytest.mark.parametrize(("end", "finishes"), ENDINGS.values(), ids=ENDINGS.keys())
def test_a_membership_that_ended_claims_nothing_and_cannot_beat(
    end: Callable[[RedisCluster, Membership, str], Membership],
    finishes: bool,
    connect: Connect,
    prefix: str,
) -> None:
    cluster = connect()
    membership = cluster.join("gone", 1, "test", T0)
    assert cluster.claim(membership, [slot("a", 0)]) == [True]
    assert cluster.beat(membership, [slot("a", 0)], T0)
    ended = end(cluster, membership, f"{prefix}:lease:{membership.member_id}")
    assert cluster.claim(ended, [slot("a", 1), slot("b", 1)]) == [False, False]
    assert not cluster.beat(ended, [], T0 + SECOND)
    assert cluster.finish(ended, slot("a", 0)) is finishes
    # What it could not claim is still there for a live member.
    live = cluster.join("live", 3, "test", T0 + LEASE + SECOND)
    assert cluster.claim(live, [slot("a", 1), slot("b", 1)]) == [True, True]


# A member's last beat, then `members`/`beat` that long after it -> stale.
STALENESS = {
    "at its beat": (timedelta(0), False),
    "a lease after": (LEASE, False),
    "just over a lease after": (LEASE + MICROSECOND, True),
    "a day after": (timedelta(days=1), True),
}


@pytest.mark.parametrize(("after", "stale"), STALENESS.values(), ids=STALENESS.keys())
def test_staleness_is_counted_from_the_now_given(
    after: timedelta, stale: bool, connect: Connect
) -> None:
    cluster = connect()
    membership = cluster.join("web1", 10, "1.0", T0)
    beaten = T0 + 5 * SECOND
    assert cluster.beat(membership, [slot("a", 0)], beaten)
    (member,) = cluster.members(beaten + after)
    assert (member.heartbeat, member.stale) == (beaten, stale)
    assert cluster.beat(membership, [], beaten + after) is not stale


def test_members_are_listed_by_host_then_pid_with_what_they_run(connect: Connect) -> None:
    cluster = connect()
    b1 = cluster.join("b", 1, "1.0", T0)
    a2 = cluster.join("a", 2, "1.1", T0)
    a1 = cluster.join("a", 1, "1.0", T0 + SECOND)
    assert cluster.beat(a2, [slot("y", 1), slot("x", 2), slot("x", 1)], T0 + LEASE)
    assert cluster.beat(a1, [], T0 + LEASE)
    members = cluster.members(T0 + LEASE + SECOND)
    assert [(m.host, m.pid, m.stale) for m in members] == [
        ("a", 1, False),
        ("a", 2, False),
        ("b", 1, True),  # no beat since it joined
    ]
    first, second, third = members
    assert (first.member_id, first.generation, first.version) == (a1.member_id, 3, "1.0")
    assert (first.joined, first.heartbeat) == (T0 + SECOND, T0 + LEASE)
    assert second.running == (slot("x", 1), slot("x", 2), slot("y", 1))
    assert third.member_id == b1.member_id
    cluster.leave(a2)
    assert [m.member_id for m in cluster.members(T0 + LEASE)] == [a1.member_id, b1.member_id]


def test_members_that_redis_forgot_leave_the_list(
    connect: Connect, server: redis.Redis, prefix: str
) -> None:
    cluster = connect()
    kept = cluster.join("kept", 1, "1.0", T0)
    forgotten = cluster.join("forgotten", 2, "1.0", T0)
    server.delete(f"{prefix}:member:{forgotten.member_id}")  # as its expiry would
    assert [m.member_id for m in cluster.members(T0)] == [kept.member_id]
    assert server.smembers(f"{prefix}:members") == {kept.member_id}
    assert not cluster.beat(forgotten, [], T0)


# -- Takeover and fencing ------------------------------------------------------------------

DEAD = 3  # members that stop beating, each with runs running
RUNS = 10  # runs each of them has running


def test_concurrent_takeovers_give_each_orphan_to_one_member(connect: Connect) -> None:
    clusters = [connect() for _ in range(DEAD + 3)]
    dead = [clusters[n].join(f"dead-{n}", n, "1.0", T0) for n in range(DEAD)]
    running = {
        membership.member_id: [slot(f"job-{n}-{r}", 0) for r in range(RUNS)]
        for n, membership in enumerate(dead)
    }
    for cluster, membership in zip(clusters[:DEAD], dead, strict=True):
        assert cluster.claim(membership, running[membership.member_id]) == [True] * RUNS
        assert cluster.beat(membership, running[membership.member_id], T0)
    later = T0 + LEASE + SECOND
    takers = {n: clusters[n].join(f"taker-{n}", n, "1.0", later) for n in range(DEAD, DEAD + 3)}
    barrier = threading.Barrier(len(takers), timeout=PROCESS_TIMEOUT)
    taken: dict[int, list[Orphan]] = {}

    def take(n: int) -> None:
        barrier.wait()
        taken[n] = clusters[n].take_over(takers[n], later)

    assert in_threads(take, takers) == []
    orphans = [orphan for n in takers for orphan in taken[n]]
    assert sorted((o.member.member_id, o.slot) for o in orphans) == sorted(
        (member_id, run) for member_id, runs in running.items() for run in runs
    )
    # Each orphan comes with its member as its beats left it.
    assert all(o.record_id is None and o.member.stale for o in orphans)
    assert all(o.member.heartbeat == T0 and o.member.host.startswith("dead-") for o in orphans)
    # Their memberships are over; nothing is left to take.
    for cluster, membership in zip(clusters[:DEAD], dead, strict=True):
        assert not cluster.beat(membership, [], later)
    assert clusters[DEAD].take_over(takers[DEAD], later + LEASE / 2) == []
    assert [m.stale for m in clusters[DEAD].members(later)] == [True] * DEAD + [False] * 3
    # Over for good: stale even to a member whose clock is behind.
    assert [m.stale for m in clusters[DEAD].members(T0)] == [True] * DEAD + [False] * 3


def test_a_run_claimed_since_the_last_beat_is_taken_over_too(connect: Connect) -> None:
    """A member killed between its claim and its next beat: the claim alone
    puts the run among those taken over."""
    cluster = connect()
    dead = cluster.join("dead", 1, "1.0", T0)
    run = slot("backup", 0)
    assert cluster.claim(dead, [run]) == [True]
    later = T0 + LEASE + SECOND
    taker = cluster.join("taker", 2, "1.0", later)
    assert [orphan.slot for orphan in cluster.take_over(taker, later)] == [run]


def test_a_taker_claims_an_orphan_once_and_no_one_else_does(connect: Connect) -> None:
    cluster = connect()
    dead = cluster.join("dead", 1, "1.0", T0)
    run = slot("backup", 0)
    assert cluster.claim(dead, [run]) == [True]
    assert cluster.beat(dead, [run], T0)
    later = T0 + LEASE + SECOND
    taker, other = (cluster.join(host, 2, "1.0", later) for host in ("taker", "other"))
    assert [orphan.slot for orphan in cluster.take_over(taker, later)] == [run]
    # The taker's running runs now hold the orphan (until its next beat says otherwise).
    members = {m.member_id: m for m in cluster.members(later)}
    assert members[taker.member_id].running == (run,)
    assert cluster.claim(other, [run]) == [False]
    assert cluster.claim(taker, [run]) == [True]
    assert cluster.claim(taker, [run]) == [False]
    assert cluster.claim(other, [run]) == [False]


def test_a_takeover_needs_a_live_caller(connect: Connect) -> None:
    cluster = connect()
    dead = cluster.join("dead", 1, "1.0", T0)
    assert cluster.beat(dead, [slot("a", 0)], T0)
    late = cluster.join("late", 2, "1.0", T0)  # and beats no more either
    later = T0 + LEASE + SECOND
    assert cluster.take_over(late, later) == []
    live = cluster.join("live", 3, "1.0", later)
    taken = cluster.take_over(live, later)
    assert [(orphan.member.host, orphan.slot) for orphan in taken] == [("dead", slot("a", 0))]


def test_a_finished_run_is_not_taken_over_and_fencing_ends_the_rest(connect: Connect) -> None:
    cluster = connect()
    member = cluster.join("worker", 1, "1.0", T0)
    done, still = slot("short", 0), slot("long", 0)
    assert cluster.claim(member, [done, still]) == [True, True]
    assert cluster.beat(member, [done, still], T0)
    assert cluster.finish(member, done)
    assert cluster.members(T0)[0].running == (still,)
    later = T0 + LEASE + SECOND
    taker = cluster.join("taker", 2, "1.0", later)
    assert [orphan.slot for orphan in cluster.take_over(taker, later)] == [still]
    assert not cluster.finish(member, still)
    # The taker's run of it ends as the taker's own.
    assert cluster.finish(taker, still)


# -- Epoch, keys, errors -------------------------------------------------------------------


def test_the_epoch_is_set_once_by_the_first_member_to_ask(connect: Connect) -> None:
    clusters = [connect() for _ in range(4)]
    answers: dict[int, datetime] = {}

    def ask(n: int) -> None:
        answers[n] = clusters[n].epoch(T0 + n * SECOND)

    assert in_threads(ask, range(4)) == []
    assert len(set(answers.values())) == 1
    (epoch,) = set(answers.values())
    assert epoch in {T0 + n * SECOND for n in range(4)}
    assert epoch.utcoffset() == timedelta(0)
    assert clusters[0].epoch(T0 + timedelta(days=1)) == epoch


def test_every_key_expires_but_the_clusters_own(
    connect: Connect, server: redis.Redis, prefix: str
) -> None:
    cluster = connect()
    dead = cluster.join("dead", 1, "1.0", T0)
    assert cluster.claim(dead, [slot("a", 0), slot("b", 0)]) == [True, True]
    assert cluster.beat(dead, [slot("a", 0)], T0)
    later = T0 + LEASE + SECOND
    live = cluster.join("live", 2, "1.0", later)
    assert len(cluster.take_over(live, later)) == 1
    assert cluster.beat(live, [slot("a", 0)], later)
    cluster.epoch(T0)
    ttls = {key.removeprefix(f"{prefix}:"): server.pttl(key) for key in server.keys(f"{prefix}:*")}
    assert {key for key, ttl in ttls.items() if ttl == -1} == LASTING
    assert all(
        0 < ttl <= CLAIM_KEEP // timedelta(milliseconds=1)
        for key, ttl in ttls.items()
        if key.startswith("claim:")
    )
    assert all(
        0 < ttl <= MEMBER_KEEP // timedelta(milliseconds=1) for ttl in ttls.values() if ttl != -1
    )
    # A member that leaves takes its keys along.
    cluster.leave(live)
    left = {key.removeprefix(f"{prefix}:") for key in server.keys(f"{prefix}:*")}
    assert not {key for key in left if live.member_id in key}
    assert f"member:{dead.member_id}" in left  # kept, stale, for a while


def test_a_server_that_does_not_answer_fails_at_once_naming_the_url_masked() -> None:
    url = f"redis://:s3cret@127.0.0.1:{free_port()}/0"
    with pytest.raises(StoreConnectionError) as raised:
        RedisCluster.open(url)
    message = str(raised.value)
    assert "s3cret" not in message
    assert message.startswith(f"{redacted(url)}: cannot connect to Redis")
    assert "redis://:***@127.0.0.1:" in message


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw@cache1:6379/0", "redis://:***@cache1:6379/0"),
        ("rediss://pycron:pw@cache1/2", "rediss://pycron:***@cache1/2"),
        ("redis://cache1/0?password=pw&db=1", "redis://cache1/0?password=***&db=1"),
        ("redis://cache1:6379/0", "redis://cache1:6379/0"),
    ],
)
def test_the_password_of_a_url_is_masked(url: str, shown: str) -> None:
    assert redacted(url) == shown


def test_a_lease_under_a_millisecond_is_refused_before_connecting() -> None:
    with pytest.raises(UsageError, match="lease of 0 s is too short"):
        RedisCluster.open(f"redis://127.0.0.1:{free_port()}/0", lease=timedelta(0))


def test_a_url_redis_cannot_read_is_a_history_error() -> None:
    with pytest.raises(HistoryError, match="not a usable Redis URL") as raised:
        RedisCluster.open("redis://:pw@cache1:port/0")
    assert str(raised.value).startswith("redis://:***@cache1:port/0: ")


def test_an_error_of_redis_names_the_url(
    connect: Connect, server: redis.Redis, prefix: str
) -> None:
    cluster = connect()
    server.set(f"{prefix}:members", "not a set")
    with pytest.raises(HistoryError, match="WRONGTYPE") as raised:
        cluster.members(T0)
    assert not isinstance(raised.value, StoreConnectionError)
    assert str(raised.value).startswith(f"{cluster.location}: ")


# -- A Redis of the test's own -------------------------------------------------------------


class OwnRedis:
    """A redis-server on a free loopback port, keeping nothing on disk."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._directory = directory
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it, and wait until it answers."""
        log = (self._directory / "redis.log").open("ab")
        with log:
            self._process = subprocess.Popen(
                [
                    *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                    *("--save", "", "--appendonly", "no", "--dir", str(self._directory)),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        client = redis.Redis(port=self.port, socket_timeout=1)
        deadline = time.monotonic() + PROCESS_TIMEOUT
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    assert self._process.poll() is None, (self._directory / "redis.log").read_text()
                    assert time.monotonic() < deadline, "redis-server did not answer in time"
                    time.sleep(0.02)
        finally:
            client.close()

    def stop(self) -> None:
        """Stop it, if it runs; what it held is lost."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=PROCESS_TIMEOUT)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    """A Redis of the test's own, stopped after it."""
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server on this machine to start one of the test's own")
    own = OwnRedis(tmp_path)
    own.start()
    try:
        yield own
    finally:
        own.stop()


def test_a_redis_that_stops_and_loses_its_data(own_redis: OwnRedis) -> None:
    cluster = RedisCluster.open(own_redis.url)
    try:
        membership = cluster.join("web1", 1, "1.0", T0)
        assert cluster.epoch(T0) == T0
        assert cluster.claim(membership, [slot("a", 0)]) == [True]
        own_redis.stop()
        with pytest.raises(StoreConnectionError, match="connection to Redis failed") as raised:
            cluster.beat(membership, [], T0 + SECOND)
        assert str(raised.value).startswith(f"{own_redis.url}: ")
        own_redis.start()
        # The membership is gone with the data: the member joins again, and
        # what was claimed before may be claimed again; the epoch is set anew.
        assert not cluster.beat(membership, [], T0 + 2 * SECOND)
        assert cluster.claim(membership, [slot("a", 1)]) == [False]
        again = cluster.join("web1", 1, "1.0", T0 + 2 * SECOND)
        assert again.generation == 1
        assert cluster.claim(again, [slot("a", 0)]) == [True]
        assert cluster.epoch(T0 + 2 * SECOND) == T0 + 2 * SECOND
    finally:
        cluster.close()


# -- The prefix in the URL -----------------------------------------------------------------


def test_the_url_can_name_the_prefix_and_keeps_its_other_parameters(
    prefix: str, server: redis.Redis
) -> None:
    url = f"{REDIS_URL}?socket_keepalive=true&prefix={prefix}"
    cluster = RedisCluster.open(url)
    try:
        cluster.join("here", 1, "0", T0)
    finally:
        cluster.close()
    assert server.exists(f"{prefix}:generation")
    assert cluster.location == redacted(url)


def test_a_prefix_given_outright_wins_over_the_urls(prefix: str, server: redis.Redis) -> None:
    cluster = RedisCluster.open(f"{REDIS_URL}?prefix={prefix}-other", prefix=prefix)
    try:
        cluster.join("here", 1, "0", T0)
    finally:
        cluster.close()
    assert server.exists(f"{prefix}:generation")
    assert not server.exists(f"{prefix}-other:generation")
