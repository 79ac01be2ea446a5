"""The `@after` graph: cycles, and which downstream runs the upstream runs make due."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pycron.crontab import When, parse
from pycron.graph import (
    RunFact,
    Standing,
    Trigger,
    downstreams,
    due,
    find_cycle,
    unmet,
    upstreams,
    without_cycles,
)
from pycron.records import Outcome

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
OK, FAILED, TIMEOUT, ERROR = Outcome.SUCCESS, Outcome.FAILED, Outcome.TIMEOUT, Outcome.ERROR
INTERRUPTED, MISSED = Outcome.INTERRUPTED, Outcome.MISSED


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def fact(job: str, run: int, outcome: Outcome, seconds: int) -> RunFact:
    return RunFact(job, run, outcome, at(seconds))


def test_the_graph_of_a_crontab() -> None:
    crontab, errors = parse(
        "# pycron: name=fetch\n@every 2s f\n"
        "# pycron: name=transform\n@after fetch t\n"
        "# pycron: name=report\n@after transform,fetch r\n"
    )
    assert errors == []
    graph = upstreams(crontab.entries)
    assert graph == {"transform": ("fetch",), "report": ("transform", "fetch")}
    assert downstreams(graph) == {"fetch": ("transform", "report"), "transform": ("report",)}


@pytest.mark.parametrize(
    ("graph", "cycle"),
    [
        ({}, None),
        ({"b": ("a",), "c": ("b",)}, None),
        ({"d": ("b", "c"), "b": ("a",), "c": ("a",)}, None),  # a diamond is no cycle
        ({"a": ("a",)}, ("a", "a")),
        ({"a": ("b",), "b": ("a",)}, ("a", "b", "a")),
        ({"x": ("a",), "a": ("b",), "b": ("c",), "c": ("a",)}, ("a", "b", "c", "a")),
        ({"a": ("missing",), "b": ("a",)}, None),  # unknown ids are check's, not a cycle
    ],
)
def test_cycles(graph: dict[str, tuple[str, ...]], cycle: tuple[str, ...] | None) -> None:
    assert find_cycle(graph) == cycle


def test_jobs_on_cycles_follow_nothing() -> None:
    graph = {"a": ("b",), "b": ("a",), "c": ("a",), "d": ("d",)}
    assert without_cycles(graph) == ({"c": ("a",)}, [("a", "b", "a"), ("d", "d")])


@given(st.dictionaries(st.sampled_from("abcdef"), st.lists(st.sampled_from("abcdef"), max_size=3)))
def test_a_cycle_found_is_a_cycle_and_none_means_an_order_exists(
    edges: dict[str, list[str]],
) -> None:
    graph = {job: tuple(dict.fromkeys(after)) for job, after in edges.items()}
    cycle = find_cycle(graph)
    if cycle is not None:
        assert cycle[0] == cycle[-1]
        for job, upstream in pairwise(cycle):
            assert upstream in graph[job]
        return
    ordered: list[str] = []  # without a cycle, jobs can be run upstream first
    remaining = dict(graph)
    while remaining:
        ready = [j for j, after in remaining.items() if all(u not in remaining for u in after)]
        assert ready, f"no job can go first in {remaining}"
        for job in ready:
            ordered.append(job)
            del remaining[job]


A, B = ("a",), ("a", "b")
S, F, W = When.SUCCESS, When.FAILURE, When.ALWAYS

# (upstream jobs, when, facts as (job, run id, outcome, end second), mark second or
# None, the trigger as (slot second, run ids) or None)
DUE_CASES = [
    # one upstream: its latest qualifying run since the mark
    (A, S, [("a", 1, OK, 5)], None, (5, (1,))),
    (A, S, [("a", 1, OK, 5)], 5, None),
    (A, S, [("a", 1, OK, 5), ("a", 2, OK, 9)], 5, (9, (2,))),
    (A, S, [("a", 1, OK, 5), ("a", 2, OK, 9)], None, (9, (2,))),
    (A, S, [("a", 1, FAILED, 5)], None, None),
    (A, S, [("b", 1, OK, 5)], None, None),
    # when=failure and always
    (A, F, [("a", 1, OK, 5)], None, None),
    (A, F, [("a", 1, FAILED, 5)], None, (5, (1,))),
    (A, F, [("a", 1, TIMEOUT, 5)], None, (5, (1,))),
    (A, F, [("a", 1, ERROR, 5)], None, (5, (1,))),
    (A, W, [("a", 1, OK, 5), ("a", 2, FAILED, 7)], None, (7, (2,))),
    # runs whose end was not seen, or that never ran, trigger nothing
    (A, W, [("a", 1, INTERRUPTED, 5), ("a", 2, MISSED, 6)], None, None),
    # a join: each upstream since the mark, once, in the order of the @after list
    (B, S, [("a", 1, OK, 5)], None, None),
    (B, S, [("a", 1, OK, 5), ("b", 2, OK, 3)], None, (5, (1, 2))),
    (("b", "a"), S, [("a", 1, OK, 5), ("b", 2, OK, 3)], None, (5, (2, 1))),
    (B, S, [("a", 1, OK, 5), ("b", 2, OK, 3)], 4, None),
    (B, S, [("a", 1, OK, 5), ("b", 2, FAILED, 6)], None, None),
    (B, S, [("a", 1, OK, 5), ("a", 3, OK, 8), ("b", 2, OK, 6)], None, (8, (3, 2))),
]


@pytest.mark.parametrize(("after", "when", "facts", "mark", "expected"), DUE_CASES)
def test_due(
    after: tuple[str, ...],
    when: When,
    facts: list[tuple[str, int, Outcome, int]],
    mark: int | None,
    expected: tuple[int, tuple[int, ...]] | None,
) -> None:
    found = due("d", after, when, [fact(*f) for f in facts], None if mark is None else at(mark))
    assert found == (None if expected is None else Trigger("d", at(expected[0]), expected[1]))


@given(
    st.lists(
        st.tuples(st.sampled_from("ab"), st.sampled_from([OK, FAILED]), st.integers(0, 100)),
        max_size=12,
    ),
    st.integers(-1, 100),
)
def test_a_trigger_is_consumed_by_its_own_slot(
    runs: list[tuple[str, Outcome, int]], mark_seconds: int
) -> None:
    """Once the triggered run holds its slot (the job's new mark), the same
    facts make nothing more due: a trigger runs once."""
    facts = [fact(job, index, outcome, s) for index, (job, outcome, s) in enumerate(runs)]
    trigger = due("d", ("a", "b"), When.SUCCESS, facts, at(mark_seconds))
    if trigger is None:
        return
    assert trigger.slot > at(mark_seconds)
    assert due("d", ("a", "b"), When.SUCCESS, facts, trigger.slot) is None


# --------------------------------------------------------------------------- requires=

NOW = T0 + timedelta(hours=3)  # 15:00 UTC on the day of T0
DONE = fact("backup", 7, OK, 0)
DAY_BEFORE = RunFact("backup", 6, FAILED, T0 - timedelta(days=1))

# (the standings of the required jobs, in order; the reason, None: the run may start)
UNMET_CASES = [
    pytest.param([Standing("backup", DONE, None)], None, id="succeeded"),
    pytest.param([], None, id="nothing-required"),
    pytest.param(
        [Standing("backup", fact("backup", 812, FAILED, 31 * 60), None)],
        "backup failed at 12:31, run 812",
        id="failed",
    ),
    pytest.param(
        [Standing("backup", DAY_BEFORE, None)],
        "backup failed at 2026-02-28 12:00, run 6",
        id="failed-another-day",
    ),
    pytest.param(
        [Standing("backup", fact("backup", 9, TIMEOUT, 60), None)],
        "backup timed out at 12:01, run 9",
        id="timed-out",
    ),
    pytest.param(
        [Standing("backup", fact("backup", 9, MISSED, 60), None)],
        "backup missed a run at 12:01, run 9",
        id="missed",
    ),
    pytest.param(
        [Standing("backup", fact("backup", 9, Outcome.BLOCKED, 60), None)],
        "backup was blocked at 12:01, run 9",
        id="blocked-itself",
    ),
    pytest.param([Standing("backup", None, None)], "backup has not run yet", id="never-ran"),
    pytest.param(
        [Standing("backup", DONE, fact("backup", 8, Outcome.RUNNING, 60))],
        "backup is running, run 8",
        id="running-after-a-success",
    ),
    pytest.param(
        [Standing("backup", DONE, fact("backup", 8, Outcome.QUEUED, 60))],
        "backup is due to run, run 8",
        id="queued",
    ),
    pytest.param(
        [
            Standing("backup", DONE, None),
            Standing("sync", fact("sync", 3, ERROR, 5), None),
            Standing("mirror", None, None),
        ],
        "sync could not start at 12:00, run 3",
        id="first-in-the-way-in-order",
    ),
]


@pytest.mark.parametrize(("standings", "reason"), UNMET_CASES)
def test_what_requires_finds_in_the_way(standings: list[Standing], reason: str | None) -> None:
    assert unmet(standings, NOW, timezone.utc) == reason


def test_the_reason_tells_the_time_in_the_zone_given() -> None:
    failed = Standing("backup", fact("backup", 812, FAILED, 31 * 60), None)
    assert unmet([failed], NOW, timezone(timedelta(hours=2))) == "backup failed at 14:31, run 812"
