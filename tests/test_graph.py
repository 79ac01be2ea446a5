"""The `@after` graph: cycles, and which downstream runs the upstream runs make due."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pycron.crontab import When, parse
from pycron.graph import RunFact, Trigger, downstreams, due, find_cycle, upstreams
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


@given(st.dictionaries(st.sampled_from("abcdef"), st.lists(st.sampled_from("abcdef"), max_size=3)))
def test_a_cycle_found_is_a_cycle_and_none_means_an_order_exists(
    edges: dict[str, list[str]],
) -> None:
    graph = {job: tuple(dict.fromkeys(after)) for job, after in edges.items()}
    cycle = find_cycle(graph)
    if cycle is not None:
        assert cycle[0] == cycle[-1]
        for job, upstream in zip(cycle, cycle[1:], strict=False):
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


@pytest.mark.parametrize(
    ("after", "when", "facts", "mark", "expected"),
    [
        # one upstream: its latest success since the mark
        (("a",), When.SUCCESS, [fact("a", 1, OK, 5)], None, Trigger("d", at(5), (1,))),
        (("a",), When.SUCCESS, [fact("a", 1, OK, 5)], at(5), None),
        (("a",), When.SUCCESS, [fact("a", 1, OK, 5), fact("a", 2, OK, 9)], at(5), Trigger("d", at(9), (2,))),
        (("a",), When.SUCCESS, [fact("a", 1, OK, 5), fact("a", 2, OK, 9)], None, Trigger("d", at(9), (2,))),
        (("a",), When.SUCCESS, [fact("a", 1, FAILED, 5)], None, None),
        (("a",), When.SUCCESS, [fact("b", 1, OK, 5)], None, None),
        # when=failure and always
        (("a",), When.FAILURE, [fact("a", 1, OK, 5)], None, None),
        (("a",), When.FAILURE, [fact("a", 1, FAILED, 5)], None, Trigger("d", at(5), (1,))),
        (("a",), When.FAILURE, [fact("a", 1, TIMEOUT, 5)], None, Trigger("d", at(5), (1,))),
        (("a",), When.FAILURE, [fact("a", 1, ERROR, 5)], None, Trigger("d", at(5), (1,))),
        (("a",), When.ALWAYS, [fact("a", 1, OK, 5), fact("a", 2, FAILED, 7)], None, Trigger("d", at(7), (2,))),
        # runs whose end was not seen, or that never ran, trigger nothing
        (("a",), When.ALWAYS, [fact("a", 1, INTERRUPTED, 5), fact("a", 2, MISSED, 6)], None, None),
        # a join: both upstreams since the mark, once
        (("a", "b"), When.SUCCESS, [fact("a", 1, OK, 5)], None, None),
        (("a", "b"), When.SUCCESS, [fact("a", 1, OK, 5), fact("b", 2, OK, 3)], None, Trigger("d", at(5), (1, 2))),
        (("b", "a"), When.SUCCESS, [fact("a", 1, OK, 5), fact("b", 2, OK, 3)], None, Trigger("d", at(5), (2, 1))),
        (("a", "b"), When.SUCCESS, [fact("a", 1, OK, 5), fact("b", 2, OK, 3)], at(4), None),
        (("a", "b"), When.SUCCESS, [fact("a", 1, OK, 5), fact("b", 2, FAILED, 6)], None, None),
        (
            ("a", "b"),
            When.SUCCESS,
            [fact("a", 1, OK, 5), fact("a", 3, OK, 8), fact("b", 2, OK, 6)],
            None,
            Trigger("d", at(8), (3, 2)),
        ),
    ],
)
def test_due(
    after: tuple[str, ...],
    when: When,
    facts: list[RunFact],
    mark: datetime | None,
    expected: Trigger | None,
) -> None:
    assert due("d", after, when, facts, mark) == expected


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
