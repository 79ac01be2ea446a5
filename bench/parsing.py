"""Reading a big crontab against building its expressions alone.

`pycron.crontab.parse()` of the daemon benchmark's crontab (10,000 distinct
jobs `m h d M * command`, see crontabs.py) reads every line: environment,
options, the schedule, the command and its `%` rule, the job's id. The peers
have no crontab reader, so they are given less work: building their objects
for the same 10,000 expressions alone, each through the `parse_fn()` closure
of libraries.py (the same call overhead for every library, pycron's own
`CronExpression` included).

Each round runs every item once, in an order that rotates every round, with
the garbage collector on as a program calling `parse()` has it (collected
before each run, so every item starts alike); pycron's `parse()` is also
timed with it off, as the daemon loads. A figure is the median over rounds.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from crontabs import far_month, idle_crontab
from libraries import Library, Unsupported
from terminal import progress

JOBS = 10_000
PARSE = "pycron parse()"
PARSE_NO_GC = "pycron parse(), gc off"
MAXIMUM_PARSE_MS = 100.0  # the crontab's parse() in the targets
_START = datetime(2026, 1, 1)  # the start croniter and cronsim bind in their constructors


@dataclass
class CrontabResult:
    """Milliseconds per run of each item, per round; `skipped` says why there are none."""

    jobs: int = JOBS
    rounds: int = 0
    samples_ms: dict[str, list[float]] = field(default_factory=dict)
    skipped: str = ""

    def median_ms(self, label: str) -> float | None:
        """The median of an item, None if it was not timed."""
        values = self.samples_ms.get(label)
        return statistics.median(values) if values else None


def _expressions(text: str) -> list[str]:
    """The schedule (first five fields) of every job line of the crontab."""
    return [" ".join(line.split()[:5]) for line in text.splitlines() if line[:1].isdigit()]


def _builder(library: Library, expressions: Sequence[str]) -> Callable[[], object] | str:
    """A callable building the library's objects for all expressions, or why it cannot."""
    try:
        builders = [library.prepare(text).parse_fn() for text in expressions]
    except Unsupported as error:
        return f"{library.name} rejects an expression: {error}"
    start = _START

    def build() -> object:
        for make in builders:
            make(start)
        return None

    return build


def _timed(run: Callable[[], object], collect: bool) -> float:
    """One run in ms, with the garbage collector on (`collect`) or off."""
    gc.collect()
    enabled = gc.isenabled()
    if not collect:
        gc.disable()
    try:
        began = time.perf_counter_ns()
        run()
        return (time.perf_counter_ns() - began) / 1e6
    finally:
        if enabled:
            gc.enable()


def measure_crontab(libraries: Sequence[Library], rounds: int) -> CrontabResult:
    """Time the crontab's parse() and each library's 10,000 expressions (see module doc)."""
    from pycron.crontab import parse  # noqa: PLC0415 - bench/run.py reports a missing pycron

    text = idle_crontab(JOBS, far_month(0))
    expressions = _expressions(text)
    result = CrontabResult(rounds=rounds)
    items: list[tuple[str, Callable[[], object], bool]] = [
        (PARSE, lambda: parse(text, "crontab"), True),
        (PARSE_NO_GC, lambda: parse(text, "crontab"), False),
    ]
    for library in libraries:
        progress(f"crontab: preparing {library.name}")
        built = _builder(library, expressions)
        if isinstance(built, str):
            result.skipped += ("; " if result.skipped else "") + built
            continue
        items.append((_expressions_label(library.name), built, True))
    for label, run, collect in items:  # warm-up
        _timed(run, collect)
        result.samples_ms[label] = []
    for number in range(rounds):
        progress(f"crontab: round {number + 1}/{rounds}")
        shift = number % len(items)
        for label, run, collect in items[shift:] + items[:shift]:
            result.samples_ms[label].append(_timed(run, collect))
    progress("")
    return result


def _expressions_label(library: str) -> str:
    """The label of a library's 10,000 expressions."""
    return f"{library} x {JOBS:,} expressions"


def crontab_block(result: CrontabResult) -> str:
    """The crontab figures, with the ratio of each library's expressions to parse()."""
    parse_ms = result.median_ms(PARSE)
    lines = [
        f"== reading a crontab of {result.jobs:,} jobs vs building its {result.jobs:,}"
        f" expressions alone (ms per run, median of {result.rounds} rounds)",
    ]
    for label in result.samples_ms:
        value = result.median_ms(label)
        assert value is not None
        line = f"   {label:<36} {value:8.1f} ms"
        if label not in (PARSE, PARSE_NO_GC) and parse_ms:
            line += f"  {value / parse_ms:5.2f}x the crontab's parse()"
        elif label == PARSE_NO_GC:
            line += "  (as the daemon loads)"
        lines.append(line)
    if result.skipped:
        lines.append(f"   left out: {result.skipped}")
    return "\n".join(lines)


def crontab_ratio(result: CrontabResult, peer: str) -> float | None:
    """A peer's time for the expressions alone divided by pycron's parse() of the file."""
    parse_ms = result.median_ms(PARSE)
    theirs = result.median_ms(_expressions_label(peer))
    return theirs / parse_ms if parse_ms and theirs else None


def crontab_json(result: CrontabResult | None) -> dict[str, object] | None:
    """The crontab part for results.json."""
    if result is None:
        return None
    return {
        "jobs": result.jobs,
        "rounds": result.rounds,
        "median_ms": {
            label: round(v, 3)
            for label in result.samples_ms
            if (v := result.median_ms(label)) is not None
        },
        "samples_ms": {
            label: [round(v, 3) for v in values] for label, values in result.samples_ms.items()
        },
        "skipped": result.skipped or None,
    }
