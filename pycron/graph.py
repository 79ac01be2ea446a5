"""Jobs that follow jobs: the graph of `@after` schedules, its cycles, and
which downstream runs the ends of upstream runs make due; and whether the
jobs a run `requires=` let it start.

Pure: the decisions are taken from plain facts of the history (`RunFact`)
and each downstream job's mark (the slot of its last run, or when the daemon
took it on), with no clock and no store, so the daemon, `check` and the tests
share them.

A downstream run's slot is the end time of the upstream run that completed
its trigger, and its trigger is the ids of the upstream runs it follows.
Since the history's claims are keyed on (job, slot), each trigger runs once,
however many times it is decided (at a run's end, and again at a restart).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo
from typing import NamedTuple

from pycron.crontab import After, Entry, When
from pycron.records import Outcome

# The outcomes each `when=` counts: runs that ran and whose end was seen (a
# missed, skipped or interrupted run triggers nothing).
_SUCCESSES = frozenset({Outcome.SUCCESS})
_FAILURES = frozenset({Outcome.FAILED, Outcome.TIMEOUT, Outcome.ERROR})
QUALIFYING: Mapping[When, frozenset[Outcome]] = {
    When.SUCCESS: _SUCCESSES,
    When.FAILURE: _FAILURES,
    When.ALWAYS: _SUCCESSES | _FAILURES,
}

Graph = Mapping[str, tuple[str, ...]]  # job id -> the ids of the jobs it runs after


class RunFact(NamedTuple):
    """What a trigger needs of an upstream run that ended: its job, the id
    of its last attempt, how that ended, and when."""

    job_id: str
    run_id: int
    outcome: Outcome
    finished: datetime


class Trigger(NamedTuple):
    """A downstream run to start: its job, its slot (the end of the upstream
    run that completed the trigger) and the upstream run ids, in the order
    of the job's `@after` list."""

    job_id: str
    slot: datetime
    upstream: tuple[int, ...]


def upstreams(entries: Iterable[Entry]) -> dict[str, tuple[str, ...]]:
    """Per `@after` job, the jobs it runs after, as written."""
    return {e.id: e.schedule.jobs for e in entries if isinstance(e.schedule, After)}


def downstreams(graph: Graph) -> dict[str, tuple[str, ...]]:
    """Per job, the `@after` jobs that follow it, in the order of `graph`."""
    followers: dict[str, list[str]] = {}
    for job_id, after in graph.items():
        for upstream in after:
            followers.setdefault(upstream, []).append(job_id)
    return {job_id: tuple(jobs) for job_id, jobs in followers.items()}


def find_cycle(graph: Graph) -> tuple[str, ...] | None:
    """A cycle of `graph`, spelled from its first job back to it (`a, b, a`:
    a runs after b, which runs after a), or None if there is none. The first
    one met in the order of `graph` is given, so the answer is stable."""
    done: set[str] = set()
    for start in graph:
        if start in done:
            continue
        path = [start]
        pending = [iter(graph[start])]
        while pending:
            upstream = next(pending[-1], None)
            if upstream is None:
                pending.pop()
                done.add(path.pop())
            elif upstream in path:
                return (*path[path.index(upstream) :], upstream)
            elif upstream in graph and upstream not in done:
                path.append(upstream)
                pending.append(iter(graph[upstream]))
    return None


def without_cycles(graph: Graph) -> tuple[dict[str, tuple[str, ...]], list[tuple[str, ...]]]:
    """`graph` without the jobs on its cycles as followers (nothing starts
    them, so a cycle never runs round), and the cycles found (`find_cycle`)."""
    kept = dict(graph)
    cycles: list[tuple[str, ...]] = []
    while (cycle := find_cycle(kept)) is not None:
        cycles.append(cycle)
        for job_id in cycle:
            kept.pop(job_id, None)
    return kept, cycles


def due(
    job_id: str,
    after: tuple[str, ...],
    when: When,
    facts: Iterable[RunFact],
    mark: datetime | None,
) -> Trigger | None:
    """The run of `job_id` (which runs after the jobs `after`) that the
    upstream runs `facts` make due, if any: each upstream job must have a run
    that ended as `when` asks after `mark` (the job's last slot, or when the
    daemon took it on; None: any run counts). Several qualifying runs of one
    upstream job make one run, triggered by the latest of them."""
    counted = QUALIFYING[when]
    latest: dict[str, RunFact] = {}
    for fact in facts:
        if fact.job_id not in after or fact.outcome not in counted:
            continue
        if mark is not None and fact.finished <= mark:
            continue
        held = latest.get(fact.job_id)
        if held is None or (fact.finished, fact.run_id) > (held.finished, held.run_id):
            latest[fact.job_id] = fact
    if len(latest) < len(after):
        return None
    chosen = [latest[upstream] for upstream in after]
    return Trigger(job_id, max(fact.finished for fact in chosen), tuple(f.run_id for f in chosen))


# Outcomes of a required job's record that mean a run of it is under way.
UNDER_WAY = frozenset({Outcome.QUEUED, Outcome.RUNNING})

# How a required job's latest run that did not succeed is told in a reason.
_ENDED_AS: Mapping[Outcome, str] = {
    Outcome.FAILED: "failed",
    Outcome.TIMEOUT: "timed out",
    Outcome.ERROR: "could not start",
    Outcome.INTERRUPTED: "was interrupted",
    Outcome.SKIPPED_OVERLAP: "was skipped",
    Outcome.MISSED: "missed a run",
    Outcome.BLOCKED: "was blocked",
}


class Standing(NamedTuple):
    """What `requires=` asks of a required job: its latest recorded attempt
    (None: it never ran) and an attempt of it queued or running (None: none)."""

    job_id: str
    latest: RunFact | None
    under_way: RunFact | None


def unmet(standings: Iterable[Standing], now: datetime, zone: tzinfo | None) -> str | None:
    """Why a run that requires these jobs may not start now, None if it may:
    each required job's latest run must have succeeded, and none may be
    queued or running (its result is not known yet). The reason names the
    first required job, in the order given, that stands in the way, with the
    time of its run in `zone` (None: the system's), as in
    `backup failed at 02:31, run 812`; the date is added when it is not the
    day of `now`."""
    for standing in standings:
        job = standing.job_id
        if standing.under_way is not None:
            fact = standing.under_way
            doing = "is running" if fact.outcome is Outcome.RUNNING else "is due to run"
            return f"{job} {doing}, run {fact.run_id}"
        latest = standing.latest
        if latest is None:
            return f"{job} has not run yet"
        if latest.outcome is not Outcome.SUCCESS:
            ended = _ENDED_AS.get(latest.outcome, latest.outcome.value)
            return f"{job} {ended} at {_moment(latest.finished, now, zone)}, run {latest.run_id}"
    return None


def _moment(at: datetime, now: datetime, zone: tzinfo | None) -> str:
    """`02:31` on the day of `now`, `2026-05-03 02:31` on another (in `zone`)."""
    local = at.astimezone(zone)
    if local.date() == now.astimezone(zone).date():
        return local.strftime("%H:%M")
    return local.strftime("%Y-%m-%d %H:%M")
