"""Scenarios, the correctness check and the interleaved timing rounds.

A cell is one (scenario, expression, library). Before any timing, every peer
cell is checked against pycron on every start of its scenario: a peer that
rejects the expression is "n/a", one that answers differently (or raises) is
"differs", and neither is timed or counted in a median. Then all remaining
cells are timed in rounds: each round times one batch of every cell, the
libraries of one expression back to back in a rotating order, so slow drifts
of a noisy machine hit every library alike. A cell's figure is the median over
rounds of its per-call time.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from corpus import AWARE_STARTS, ITER_STEPS, NAIVE_STARTS, Case
from libraries import Library, ParseFn, Prepared, StepFn, Unsupported
from terminal import progress

# A runner times one batch of `reps` repetitions: (elapsed ns, calls timed).
Runner = Callable[[int], tuple[int, int]]

OK, UNSUPPORTED, DIFFERS, ERROR, SKIPPED = "ok", "n/a", "differs", "error", "-"


@dataclass(frozen=True)
class Scenario:
    """What one table measures: `mode` is next, parse-next, parse or iter; `headline`
    scenarios count for the every-expression target."""

    key: str
    title: str
    mode: str
    aware: bool
    headline: bool

    @property
    def starts(self) -> tuple[datetime, ...]:
        """The start datetimes of this scenario."""
        return AWARE_STARTS if self.aware else NAIVE_STARTS


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("next-naive", "next(), naive starts", "next", aware=False, headline=True),
    Scenario(
        "next-aware",
        "next(), aware starts (America/New_York, UTC)",
        "next",
        aware=True,
        headline=True,
    ),
    Scenario("iter-naive", "one iter() step, naive starts", "iter", aware=False, headline=True),
    Scenario("iter-aware", "one iter() step, aware starts", "iter", aware=True, headline=True),
    Scenario(
        "parse-next-naive",
        "parse + next(), naive starts (expression built on every call)",
        "parse-next",
        aware=False,
        headline=False,
    ),
    Scenario(
        "parse",
        "building the expression's object alone (pycron: field texts seen before)",
        "parse",
        aware=False,
        headline=False,
    ),
)


@dataclass
class Cell:
    """One (scenario, expression, library): its check status and timings."""

    scenario: Scenario
    case: Case
    library: str
    status: str
    detail: str = ""
    run: Runner | None = None
    reps: int = 0
    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        """Median ns per call over the rounds."""
        return statistics.median(self.samples)

    @property
    def minimum(self) -> float:
        """Fastest round, ns per call."""
        return min(self.samples)


# --------------------------------------------------------------------------- runners


def _next_runner(fn: ParseFn, starts: Sequence[datetime]) -> Runner:
    """Time `fn(start)` for every start, `reps` times over."""

    def run(reps: int) -> tuple[int, int]:
        enabled = gc.isenabled()
        gc.disable()
        try:
            begin = time.perf_counter_ns()
            for _ in range(reps):
                for start in starts:
                    fn(start)
            elapsed = time.perf_counter_ns() - begin
        finally:
            if enabled:
                gc.enable()
        return elapsed, reps * len(starts)

    return run


def _iter_runner(prepared: Prepared, starts: Sequence[datetime], steps: int) -> Runner:
    """Time `steps` items of `reps` fresh iterators per start. Creating each
    iterator and taking its first item (a full search) happens before the clock
    starts: only the advancing of an existing iterator is timed."""

    def run(reps: int) -> tuple[int, int]:
        steppers: list[StepFn] = []
        for _ in range(reps):
            for start in starts:
                step = prepared.iterator(start)
                step()
                steppers.append(step)
        enabled = gc.isenabled()
        gc.disable()
        try:
            begin = time.perf_counter_ns()
            for step in steppers:
                for _ in range(steps):
                    step()
            elapsed = time.perf_counter_ns() - begin
        finally:
            if enabled:
                gc.enable()
        return elapsed, len(steppers) * steps

    return run


def make_runner(scenario: Scenario, prepared: Prepared) -> Runner:
    """The runner of a scenario for one prepared expression."""
    if scenario.mode == "next":
        return _next_runner(prepared.next_fn(), scenario.starts)
    if scenario.mode == "parse-next":
        return _next_runner(prepared.parse_next_fn(), scenario.starts)
    if scenario.mode == "parse":
        return _next_runner(prepared.parse_fn(), scenario.starts)
    return _iter_runner(prepared, scenario.starts, ITER_STEPS)


# --------------------------------------------------------------------------- correctness


Answers = list[datetime] | list[list[datetime]]


def answers(scenario: Scenario, prepared: Prepared) -> Answers:
    """What a library answers in a scenario: one datetime per start, or the
    first ITER_STEPS + 1 items of an iterator per start. The objects a `parse`
    cell builds are checked by their first firing, as in `parse-next`."""
    if scenario.mode == "iter":
        result: list[list[datetime]] = []
        for start in scenario.starts:
            step = prepared.iterator(start)
            result.append([step() for _ in range(ITER_STEPS + 1)])
        return result
    fn = prepared.next_fn() if scenario.mode == "next" else prepared.parse_next_fn()
    return [fn(start) for start in scenario.starts]


def same_instant(a: object, b: object) -> bool:
    """True if both are datetimes naming the same instant (naive: the same wall
    time). Aware values are compared in UTC: Python compares two datetimes of
    one tzinfo by wall time and ignores fold."""
    if not isinstance(a, datetime) or not isinstance(b, datetime):
        return False
    if (a.tzinfo is None) != (b.tzinfo is None):
        return False
    if a.tzinfo is None:
        return a == b
    return a.astimezone(timezone.utc) == b.astimezone(timezone.utc)


def first_difference(
    scenario: Scenario, reference: Answers, other: Answers, peer: str
) -> str | None:
    """Describe the first disagreement with pycron, and how many starts disagree."""
    found: list[str] = []
    for start, mine, theirs in zip(scenario.starts, reference, other, strict=True):
        pairs = (
            zip(mine, theirs, strict=True)
            if isinstance(mine, list) and isinstance(theirs, list)
            else [(mine, theirs)]
        )
        for index, (want, got) in enumerate(pairs):
            if not same_instant(want, got):
                where = f", item {index + 1}" if scenario.mode == "iter" else ""
                found.append(
                    f"from {start.isoformat()}{where}: pycron {_show(want)}, {peer} {_show(got)}"
                )
                break
    if not found:
        return None
    return f"{found[0]} ({len(found)} of {len(scenario.starts)} starts differ)"


def _show(value: object) -> str:
    """A result as printed in a difference report."""
    return value.isoformat() if isinstance(value, datetime) else repr(value)


def _peer_cell(
    scenario: Scenario, case: Case, peer: Library, prepared: Prepared | str, reference: Answers
) -> Cell:
    """Check one peer cell against pycron's answers; time it only if it agrees."""
    if isinstance(prepared, str):
        return Cell(scenario, case, peer.name, UNSUPPORTED, prepared)
    try:
        theirs = answers(scenario, prepared)
    except Exception as error:  # any failure of a peer is reported, not fatal
        reason = f"raised {type(error).__name__}" + (f": {error}" if str(error) else "")
        return Cell(scenario, case, peer.name, DIFFERS, reason)
    difference = first_difference(scenario, reference, theirs, peer.name)
    if difference is not None:
        return Cell(scenario, case, peer.name, DIFFERS, difference)
    return Cell(scenario, case, peer.name, OK, run=make_runner(scenario, prepared))


def _prepare(library: Library, text: str) -> Prepared | str:
    """A prepared expression, or the reason the library rejects it."""
    try:
        return library.prepare(text)
    except Unsupported as error:
        return str(error)


def _pycron_reference(
    pycron: Library, text: str, scenarios: Sequence[Scenario]
) -> tuple[Prepared | None, dict[str, Answers | str]]:
    """pycron's prepared expression and its answers per scenario, or for each
    scenario the reason there are none (an error of pycron's, shown in the table)."""
    try:
        mine = pycron.prepare(text)
    except Exception as error:  # shown in the table instead of stopping the run
        reason = f"pycron cannot parse it: {type(error).__name__}: {error}"
        return None, {scenario.key: reason for scenario in scenarios}
    found: dict[str, Answers | str] = {}
    for scenario in scenarios:
        try:
            found[scenario.key] = answers(scenario, mine)
        except Exception as error:  # shown in the table instead of stopping the run
            found[scenario.key] = f"pycron raised {type(error).__name__}: {error}"
    return mine, found


def build_cells(
    scenarios: Sequence[Scenario], cases: Sequence[Case], pycron: Library, peers: list[Library]
) -> list[Cell]:
    """Check every (scenario, expression, library) and build the cells to time."""
    cells: list[Cell] = []
    for case in cases:
        mine, references = _pycron_reference(pycron, case.text, scenarios)
        theirs = {peer.name: _prepare(peer, case.text) for peer in peers}
        for scenario in scenarios:
            reference = references[scenario.key]
            if mine is None or isinstance(reference, str):
                cells.append(Cell(scenario, case, pycron.name, ERROR, str(reference)))
                cells += [Cell(scenario, case, peer.name, SKIPPED) for peer in peers]
                continue
            cells.append(Cell(scenario, case, pycron.name, OK, run=make_runner(scenario, mine)))
            cells += [
                _peer_cell(scenario, case, peer, theirs[peer.name], reference) for peer in peers
            ]
    return cells


# --------------------------------------------------------------------------- timing


def calibrate(cell: Cell, batch_ns: int) -> None:
    """Choose the repetitions that make one batch of the cell last about batch_ns."""
    assert cell.run is not None
    cell.run(1)  # warm-up: first calls fill caches and specialise bytecode
    elapsed, _ = cell.run(1)
    cell.reps = max(1, min(1_000_000, math.ceil(batch_ns / max(elapsed, 1))))


def measure(cells: Sequence[Cell], rounds: int, batch_ns: int) -> None:
    """Calibrate the timed cells, then run the interleaved rounds (see module doc)."""
    timed = [cell for cell in cells if cell.status == OK]
    groups: dict[tuple[str, str], list[Cell]] = {}
    for cell in timed:
        groups.setdefault((cell.scenario.key, cell.case.text), []).append(cell)
    for index, cell in enumerate(timed, 1):
        progress(f"calibrating {index}/{len(timed)}")
        calibrate(cell, batch_ns)
    for number in range(rounds):
        progress(f"round {number + 1}/{rounds}")
        for group in groups.values():
            shift = number % len(group)
            for cell in group[shift:] + group[:shift]:
                assert cell.run is not None
                elapsed, calls = cell.run(cell.reps)
                cell.samples.append(elapsed / calls)
    progress("")
