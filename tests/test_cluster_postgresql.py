"""A cluster of daemons on PostgreSQL (`PostgresCluster`, and the fences its
store checks), on a real server, each test in a database of its own (see
tests/backends.py): members queueing the same slots at once, memberships
that end and what their members may still write, takeovers raced by several
members and by the ends and claims of the member taken over, the epoch, the
members' list at a time given, the schema step, and a server out of reach.
Members are stores and clusters of this process, on connections of their
own; every time is given, none read from a clock."""

from __future__ import annotations

import itertools
import random
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

import pytest
from backends import PostgresBackend
from test_store import PROCESS_TIMEOUT, in_threads

from pycron.errors import MembershipOverError, StoreConnectionError
from pycron.records import Outcome, RunResult
from pycron.store import SlotTaken, Store, TolerantRecorder
from pycron.store import postgresql as postgres_module
from pycron.store.cluster import DEFAULT_LEASE, Membership, Orphan, Slot
from pycron.store.postgresql import MIGRATIONS, PostgresCluster

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
LEASE = DEFAULT_LEASE
LATER = T0 + LEASE + timedelta(seconds=1)  # a member that last beat at T0 is stale by then


class Host(NamedTuple):
    """One member: its cluster connection, its store (recording under its
    membership) and its membership."""

    cluster: PostgresCluster
    store: Store
    membership: Membership


@pytest.fixture
def hosts(postgres: PostgresBackend) -> Iterator[Callable[..., Host]]:
    """Makes members that join at a time given; every connection is closed after."""
    opened: list[PostgresCluster | Store] = []
    pids = itertools.count(1000)

    def join(name: str, now: datetime = T0, pid: int | None = None) -> Host:
        cluster = PostgresCluster.open(postgres.url)
        opened.append(cluster)
        store = postgres.open(host=name)
        opened.append(store)
        membership = cluster.join(name, next(pids) if pid is None else pid, "0.1.0", now)
        store.set_membership(membership)
        return Host(cluster, store, membership)

    yield join
    for connection in opened:
        connection.close()


def scheduled(job: str, slot: datetime = T0) -> RunResult:
    """The first attempt of the run of `job` at `slot`, queued."""
    return RunResult(job, slot, 1, Outcome.QUEUED, slot)


def running(host: Host, job: str, slot: datetime = T0) -> int:
    """A run of `job` queued and claimed by `host`: its record, running."""
    (record_id,) = host.store.queue([scheduled(job, slot)])
    assert isinstance(record_id, int)
    assert host.store.claim(record_id, slot)
    return record_id


def ended(job: str, slot: datetime = T0) -> RunResult:
    """The run of `job` at `slot`, a success ten seconds after its start."""
    return RunResult(job, slot, 1, Outcome.SUCCESS, slot, slot + timedelta(seconds=10))


# -- Claims --------------------------------------------------------------------------------


def test_of_three_members_queueing_the_same_slots_one_records_each(
    postgres: PostgresBackend, hosts: Callable[..., Host]
) -> None:
    slots = [
        (f"job-{n}", T0 + timedelta(minutes=minute)) for n in range(50) for minute in (0, 1, 2)
    ]
    members = [hosts(f"host-{n}") for n in range(3)]
    taken: dict[int, list[int]] = {member.membership.generation: [] for member in members}
    barrier = threading.Barrier(len(members), timeout=PROCESS_TIMEOUT)

    def queue(member: Host) -> None:
        mine = random.Random(member.membership.generation).sample(slots, len(slots))
        barrier.wait()
        for start in range(0, len(mine), 25):
            added = member.store.queue(
                [scheduled(job, slot) for job, slot in mine[start : start + 25]]
            )
            taken[member.membership.generation] += [a for a in added if isinstance(a, int)]

    assert in_threads(queue, members) == []
    assert sum(map(len, taken.values())) == len(slots)
    rows = postgres.raw("SELECT id, job_id, scheduled_for, fence FROM runs")
    assert len(rows) == len(slots)
    assert len({(job, slot) for _, job, slot, _ in rows}) == len(slots)
    # Each record carries the generation of the member that says it took it.
    fences = {record_id: fence for record_id, _, _, fence in rows}
    assert all(fences[r] == generation for generation, ids in taken.items() for r in ids)


def test_a_membership_that_is_over_records_nothing_more(
    postgres: PostgresBackend, hosts: Callable[..., Host]
) -> None:
    dead = hosts("dead")
    (left_queued,) = dead.store.queue([scheduled("queued-before")])
    assert isinstance(left_queued, int)
    live = hosts("live", LATER)
    assert live.cluster.take_over(live.membership, LATER) == []  # it ran nothing

    assert dead.store.queue([scheduled("backup"), scheduled("report")]) == [
        SlotTaken("backup", T0),
        SlotTaken("report", T0),
    ]
    with pytest.raises(MembershipOverError, match=f"membership {dead.membership.generation} of"):
        dead.store.started(ended("manual"))
    assert not dead.store.claim(left_queued, LATER)
    # Nothing was recorded, nor claimed: the live member gets the slots.
    assert postgres.raw("SELECT job_id, outcome FROM runs") == [("queued-before", "queued")]
    added = live.store.queue([scheduled("backup"), scheduled("report")])
    assert all(isinstance(record_id, int) for record_id in added)


def test_a_store_outside_the_cluster_records_as_ever(
    postgres: PostgresBackend, hosts: Callable[..., Host]
) -> None:
    dead = hosts("dead")
    live = hosts("live", LATER)
    live.cluster.take_over(live.membership, LATER)
    with postgres.open() as single:
        (record_id,) = single.queue([scheduled("backup")])
        assert isinstance(record_id, int)
        assert single.claim(record_id, T0)
        dead.store.set_membership(None)  # the same store, out of the cluster
        assert isinstance(dead.store.queue([scheduled("report")])[0], int)
    assert postgres.raw("SELECT DISTINCT fence FROM runs") == [(None,)]


# -- Membership ----------------------------------------------------------------------------


def test_the_epoch_is_set_once_by_the_first_to_ask(hosts: Callable[..., Host]) -> None:
    members = [hosts(f"host-{n}") for n in range(3)]
    asked = [T0 + timedelta(minutes=n) for n in range(3)]
    answers: list[datetime] = []
    barrier = threading.Barrier(len(members), timeout=PROCESS_TIMEOUT)

    def ask(number: int) -> None:
        barrier.wait()
        answers.append(members[number].cluster.epoch(asked[number]))

    assert in_threads(ask, range(3)) == []
    (epoch,) = set(answers)
    assert epoch in asked
    assert members[0].cluster.epoch(T0 + timedelta(days=1)) == epoch


BEATS = {
    # beats after joining at T0 (seconds later) -> what each answers
    "within the lease": ([10, 39, 60], [True, True, True]),
    "on the lease's last instant": ([30], [True]),
    "after the lease ran out": ([31, 32], [False, False]),
}


@pytest.mark.parametrize(("beats", "answers"), BEATS.values(), ids=BEATS.keys())
def test_a_beat_holds_until_the_lease_runs_out(
    hosts: Callable[..., Host], beats: list[int], answers: list[bool]
) -> None:
    member = hosts("member")
    said = [
        member.cluster.beat(member.membership, (), T0 + timedelta(seconds=seconds))
        for seconds in beats
    ]
    assert said == answers


def test_a_member_taken_over_is_over_for_good(hosts: Callable[..., Host]) -> None:
    dead = hosts("dead")
    slot = Slot("backup", T0)
    assert dead.cluster.finish(dead.membership, slot)
    live = hosts("live", LATER)
    live.cluster.take_over(live.membership, LATER)
    # Whatever time it gives now, its beats and ends are refused.
    assert not dead.cluster.beat(dead.membership, [slot], T0 + timedelta(seconds=1))
    assert not dead.cluster.finish(dead.membership, slot)
    assert live.cluster.beat(live.membership, (), LATER)
    assert live.cluster.finish(live.membership, slot)


def test_generations_are_handed_out_once_in_growing_order(hosts: Callable[..., Host]) -> None:
    generations = [hosts("same", pid=7).membership for _ in range(3)]
    assert [m.generation for m in generations] == sorted({m.generation for m in generations})
    assert len({m.member_id for m in generations}) == 3


def test_members_are_stale_as_the_time_given_says(hosts: Callable[..., Host]) -> None:
    old = hosts("a", T0, pid=2)
    new = hosts("a", T0 + timedelta(seconds=20), pid=1)
    other = hosts("b", T0 + timedelta(seconds=25), pid=1)
    record_id = running(new, "backup")
    order = [new.membership, old.membership, other.membership]

    def standing(now: datetime) -> list[tuple[Membership, bool, tuple[Slot, ...]]]:
        return [
            (Membership(m.member_id, m.generation), m.stale, m.running)
            for m in old.cluster.members(now)
        ]

    runs = (Slot("backup", T0),)
    assert standing(T0 + timedelta(seconds=29)) == [
        (m, False, runs if m == new.membership else ()) for m in order
    ]
    assert standing(T0 + timedelta(seconds=40)) == [
        (new.membership, False, runs),
        (old.membership, True, ()),
        (other.membership, False, ()),
    ]
    (member,) = [m for m in old.cluster.members(T0) if m.generation == old.membership.generation]
    assert (member.host, member.pid, member.version, member.joined, member.heartbeat) == (
        "a",
        2,
        "0.1.0",
        T0,
        T0,
    )
    # Taken over (both are stale by then), a member stays stale at any time;
    # one that leaves is no longer listed.
    (orphan,) = other.cluster.take_over(other.membership, T0 + timedelta(seconds=51))
    assert orphan.record_id == record_id
    assert [(m.stale, m.running) for m in other.cluster.members(T0)] == [
        (True, ()),
        (True, ()),
        (False, ()),
    ]
    new.cluster.leave(new.membership)
    old.cluster.leave(old.membership)
    assert [m.generation for m in other.cluster.members(T0)] == [other.membership.generation]


# -- Takeover ------------------------------------------------------------------------------


def test_three_members_taking_over_at_once_get_each_orphan_once(
    postgres: PostgresBackend, hosts: Callable[..., Host]
) -> None:
    dead = hosts("dead")
    orphans = {running(dead, f"job-{n}") for n in range(20)}
    (waiting,) = dead.store.queue([scheduled("waiting")])
    done = running(dead, "done")
    dead.store.finished(done, ended("done"))
    takers = [hosts(f"taker-{n}", LATER) for n in range(3)]
    taken: list[list[Orphan]] = [[] for _ in takers]
    barrier = threading.Barrier(len(takers), timeout=PROCESS_TIMEOUT)

    def take(number: int) -> None:
        barrier.wait()
        taker = takers[number]
        taken[number] += taker.cluster.take_over(taker.membership, LATER)

    assert in_threads(take, range(3)) == []
    got = [orphan.record_id for orphans_of_one in taken for orphan in orphans_of_one]
    assert sorted(got) == sorted(orphans)  # each once
    (winner,) = [n for n, orphans_of_one in enumerate(taken) if orphans_of_one]
    for orphan in taken[winner]:
        assert orphan.member.member_id == dead.membership.member_id
        assert orphan.member.stale
        assert orphan.slot in orphan.member.running
    for record_id in orphans:
        run = dead.store.run(record_id)
        assert run is not None
        assert (run.outcome, run.finished) == (Outcome.INTERRUPTED, LATER)
        assert run.message == (
            f"taken over by {takers[winner].membership.member_id}: "
            f"its member {dead.membership.member_id} stopped renewing its lease"
        )
    # What was not running stays as it was; the orphans' slots are free again.
    outcomes = dict(
        postgres.raw("SELECT id, outcome FROM runs WHERE id IN (?, ?)", (waiting, done))
    )
    assert outcomes == {waiting: "queued", done: "success"}
    assert postgres.raw("SELECT job_id FROM claims ORDER BY job_id") == [("done",), ("waiting",)]
    # Nobody takes anything over again.
    assert all(t.cluster.take_over(t.membership, LATER) == [] for t in takers)


def test_a_member_that_is_not_live_takes_nothing_over(hosts: Callable[..., Host]) -> None:
    dead = hosts("dead")
    running(dead, "backup")
    late = hosts("late", T0)  # joined at T0 too: stale by LATER, as is the dead one
    assert late.cluster.take_over(late.membership, LATER) == []
    live = hosts("live", LATER)
    assert [o.member.member_id for o in live.cluster.take_over(live.membership, LATER)] == [
        dead.membership.member_id
    ]


def test_a_member_taken_over_is_forgotten_a_day_after_its_last_beat(
    hosts: Callable[..., Host],
) -> None:
    dead = hosts("dead")
    live = hosts("live", LATER)
    live.cluster.take_over(live.membership, LATER)
    day_after = T0 + timedelta(days=1, seconds=1)
    fresh = hosts("fresh", day_after)
    listed = [m.generation for m in fresh.cluster.members(day_after)]
    assert dead.membership.generation in listed
    fresh.cluster.take_over(fresh.membership, day_after)  # live, stale too by now, is taken
    assert [(m.host, m.stale) for m in fresh.cluster.members(day_after)] == [
        ("fresh", False),
        ("live", True),
    ]
    assert not dead.cluster.beat(dead.membership, (), day_after)


# -- Fencing -------------------------------------------------------------------------------


def test_the_end_of_a_run_taken_over_is_not_written(
    postgres: PostgresBackend, hosts: Callable[..., Host]
) -> None:
    dead = hosts("dead")
    first, second = running(dead, "first"), running(dead, "second")
    live = hosts("live", LATER)
    assert len(live.cluster.take_over(live.membership, LATER)) == 2
    with pytest.raises(MembershipOverError, match=f"record {first} was recorded under") as caught:
        dead.store.finished(first, ended("first"))
    assert (caught.value.record_id, caught.value.generation) == (first, dead.membership.generation)
    with pytest.raises(MembershipOverError):  # its start either (its pid, once known)
        dead.store.started(ended("first")._replace(outcome=Outcome.RUNNING, finished=None), first)
    # Through the recorder a runner uses: refused, neither kept nor noted.
    warnings: list[str] = []
    recorder = TolerantRecorder(dead.store, warnings.append, claim_slots=True)
    with pytest.raises(MembershipOverError):
        recorder.finished(second, ended("second"))
    assert recorder.retry() == 0
    assert warnings == []
    assert list(postgres.notes.iterdir()) == []
    outcomes = postgres.raw("SELECT outcome FROM runs ORDER BY id")
    assert outcomes == [("interrupted",), ("interrupted",)]


def test_an_interrupted_record_outside_a_cluster_takes_its_real_end(
    postgres: PostgresBackend,
) -> None:
    with postgres.open() as single:
        record_id = single.started(ended("backup")._replace(outcome=Outcome.RUNNING, finished=None))
        (marked,) = single.mark_interrupted(now=T0 + timedelta(minutes=1))
        assert marked.id == record_id
        single.finished(record_id, ended("backup"))
        run = single.run(record_id)
    assert run is not None
    assert run.outcome is Outcome.SUCCESS


def racing_a_takeover(live: Host, other: Callable[[], None]) -> list[Orphan]:
    """Run `other` (the dead member's writes) and a takeover by `live` at the
    same moment, from two threads; the takeover's orphans."""
    orphans: list[Orphan] = []
    barrier = threading.Barrier(2, timeout=PROCESS_TIMEOUT)

    def race(side: str) -> None:
        barrier.wait()
        if side == "taker":
            orphans.extend(live.cluster.take_over(live.membership, LATER))
        else:
            other()

    assert in_threads(race, ["taker", "other"]) == []
    return orphans


def test_ends_racing_a_takeover_are_either_written_or_interrupted(
    postgres: PostgresBackend, hosts: Callable[..., Host]
) -> None:
    dead = hosts("dead")
    records = [running(dead, f"job-{n}") for n in range(40)]
    written: list[int] = []
    refused: list[int] = []

    def finish() -> None:
        for number, record_id in enumerate(records):
            try:
                dead.store.finished(record_id, ended(f"job-{number}"))
            except MembershipOverError:
                refused.append(record_id)
            else:
                written.append(record_id)

    live = hosts("live", LATER)
    orphans = racing_a_takeover(live, finish)
    assert sorted(written + refused) == records
    assert sorted(orphan.record_id for orphan in orphans if orphan.record_id is not None) == sorted(
        refused
    )
    outcomes = dict(postgres.raw("SELECT id, outcome FROM runs"))
    assert {r for r, outcome in outcomes.items() if outcome == "success"} == set(written)
    assert {r for r, outcome in outcomes.items() if outcome == "interrupted"} == set(refused)


def test_claims_racing_a_takeover_leave_no_run_behind(
    postgres: PostgresBackend, hosts: Callable[..., Host]
) -> None:
    dead = hosts("dead")
    added = dead.store.queue([scheduled(f"job-{n}") for n in range(40)])
    records = [record_id for record_id in added if isinstance(record_id, int)]
    claimed: list[int] = []

    def claim() -> None:
        claimed.extend(r for r in records if dead.store.claim(r, LATER))

    live = hosts("live", LATER)
    orphans = racing_a_takeover(live, claim)
    # The taker passes a member that records just then by; it gets it at a later turn.
    orphans.extend(live.cluster.take_over(live.membership, LATER))
    assert not dead.cluster.finish(dead.membership, Slot("job-0", T0))
    # Every run the dead member claimed was taken over; the others wait, queued.
    assert sorted(orphan.record_id for orphan in orphans if orphan.record_id is not None) == sorted(
        claimed
    )
    outcomes = dict(postgres.raw("SELECT id, outcome FROM runs"))
    assert {r for r, outcome in outcomes.items() if outcome == "interrupted"} == set(claimed)
    assert {r for r, outcome in outcomes.items() if outcome == "queued"} == set(records) - set(
        claimed
    )


# -- Schema and connection -----------------------------------------------------------------


def test_a_step_1_database_gets_the_cluster_and_keeps_its_rows(
    postgres: PostgresBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(postgres_module, "MIGRATIONS", MIGRATIONS[:1])
        postgres.open().close()
    start = "2026-03-01T12:00:00.000000+00:00"
    for job, outcome in (("ran", "success"), ("runs", "running")):
        postgres.raw(
            "INSERT INTO runs (job_id, scheduled_for, attempt, outcome, started, host,"
            " recorder_pid) VALUES (?, ?, 1, ?, ?, 'here', 1)",
            (job, start, outcome, start),
        )
    before = postgres.raw("SELECT * FROM runs ORDER BY id")
    cluster = PostgresCluster.open(postgres.url)
    try:
        assert cluster.members(T0) == []
    finally:
        cluster.close()
    assert postgres.raw("SELECT value FROM meta WHERE key = 'schema_version'") == [
        (str(MIGRATIONS[-1][0]),)
    ]
    after = postgres.raw("SELECT * FROM runs ORDER BY id")
    assert after == [(*row, None) for row in before]  # the fence: none
    with postgres.open() as store:
        (running_id,) = [run.id for run in store.running()]
        store.finished(running_id, ended("runs"))  # written as ever
        assert [run.outcome for run in store.runs(job_id="runs")] == [Outcome.SUCCESS]


def _closed_port() -> int:
    """A port of 127.0.0.1 where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_cluster_out_of_reach_says_where_without_the_password() -> None:
    url = f"postgresql://pycron:s3cret-word@127.0.0.1:{_closed_port()}/pycron"
    with pytest.raises(StoreConnectionError) as caught:
        PostgresCluster.open(url)
    message = str(caught.value)
    assert message.startswith(f"{url.replace('s3cret-word', '***')}: cannot connect to the store: ")
    assert "s3cret-word" not in message
