"""The daemon's scheduling decisions, without processes and without waiting.

Two levels:

- `plan()` is pure: tables of (job, last decision, clock) -> what is due, what is
  caught up and what is skipped. Expected slots are written out by hand.
- `Daemon.run()` driven by a simulated clock: `sleep(seconds, wake)` moves a fake
  "now" forward (and can make the clock jump), the job it executes records which
  slot of which job would start, and the worker pool runs each job in line, so the
  order of starts is the order of submission. Hours of schedule take a fraction of a second.
  The restart tests use a real SQLiteStore in a temporary state directory.

The DST rules (wildcard = the minute or hour
field starts with `*`; fixed jobs fire once in a repeated hour and at the end of a
gap; wildcard jobs fire in both passes of a repeated hour and not in a gap).
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol, TypeVar
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from pycron.cli.app import cli
from pycron.crontab import CatchUp, Crontab, Entry, Finding, parse
from pycron.daemon import (
    ON_TIME,
    Daemon,
    EventLog,
    JobState,
    Settings,
    catch_up_policy,
    fire_after,
    plan,
)
from pycron.notify.outbox import compose_nothing
from pycron.records import Outcome, RunResult
from pycron.store import INTERRUPTED_MESSAGE
from pycron.store.sqlite import SQLiteStore
from pycron.supervisor import Launch, Workers
from pycron.web.source import daemon_source

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from pycron.notify import Message
    from pycron.runner import Context
    from pycron.store import JobPast

T = TypeVar("T")

UTC = timezone.utc
NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
DAY = "2026-05-04"  # a Monday without DST changes anywhere near it
ANCHOR = "09:00"  # the daemon's start, for @every in the plan() tables


def utc(text: str) -> datetime:
    """`10:00` or `10:00:30` on DAY in UTC, or a full ISO 8601 time with its offset;
    returned as an aware UTC datetime (so equal instants compare and print alike)."""
    if "T" not in text:
        text = f"{DAY}T{text}+00:00"
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None, f"give an offset: {text}"
    return moment.astimezone(UTC)


def utcs(texts: Iterable[str]) -> list[datetime]:
    return [utc(text) for text in texts]


def series(first: str, last: str, step: timedelta) -> list[str]:
    """The times from `first` to `last` (both included) `step` apart, as ISO text."""
    moment, end, found = utc(first), utc(last), []
    while moment <= end:
        found.append(moment.isoformat())
        moment += step
    return found


def entries(text: str) -> dict[str, Entry]:
    """The jobs of a crontab text by id; the text must be free of errors."""
    crontab, errors = parse(text)
    assert errors == []
    return {entry.id: entry for entry in crontab.entries}


def only_entry(text: str) -> Entry:
    (entry,) = entries(text).values()
    return entry


# =========================================================================== plan(), pure


class PlanCase(NamedTuple):
    """One decision of the planner for one job.

    The job's state is what the daemon holds after its previous decision: the next
    fire time after `since`, and `last` as the last slot run or decided. `due`
    lists the slots to start, in order, `" catch-up"` marking a catch-up run;
    `skipped` is (count, first, last, policy) of the missed slots not run; `then`
    is the job's next fire time afterwards (None: never again).
    """

    crontab: str
    since: str
    now: str
    due: tuple[str, ...]
    then: str | None
    skipped: tuple[int, str, str, str] | None = None
    last: str | None = None


HOURLY = "0 * * * * true\n"  # fixed minute: catch-up=latest by default
FIVE_MINUTES = "*/5 * * * * true\n"  # wildcard minute: catch-up=none by default

PLAN_CASES = [
    pytest.param(PlanCase(HOURLY, "09:30", "10:00", ("10:00",), "11:00"), id="on-time"),
    pytest.param(PlanCase(HOURLY, "09:30", "10:00:59", ("10:00",), "11:00"), id="59s-late"),
    pytest.param(PlanCase(HOURLY, "09:30", "10:01", ("10:00",), "11:00"), id="60s-late-is-on-time"),
    pytest.param(
        PlanCase(HOURLY, "09:30", "10:01:01", ("10:00 catch-up",), "11:00"),
        id="61s-late-fixed-is-caught-up",
    ),
    pytest.param(
        PlanCase(FIVE_MINUTES, "09:57", "10:01:01", (), "10:05", (1, "10:00", "10:00", "none")),
        id="61s-late-wildcard-is-skipped",
    ),
    pytest.param(PlanCase(HOURLY, "09:30", "09:59:59", (), "10:00"), id="not-yet-due"),
    pytest.param(
        PlanCase(
            HOURLY, "09:30", "12:30", ("12:00 catch-up",), "13:00", (2, "10:00", "11:00", "latest")
        ),
        id="down-3h-fixed-default-latest",
    ),
    pytest.param(
        PlanCase(FIVE_MINUTES, "09:30", "12:32", (), "12:35", (36, "09:35", "12:30", "none")),
        id="down-3h-wildcard-default-none",
    ),
    pytest.param(
        PlanCase(
            FIVE_MINUTES, "09:30", "12:30:30", ("12:30",), "12:35", (35, "09:35", "12:25", "none")
        ),
        id="down-3h-wildcard-current-slot-on-time",
    ),
    pytest.param(
        PlanCase(
            "# pycron: catch-up=all\n" + HOURLY,
            "09:30",
            "12:30",
            ("10:00 catch-up", "11:00 catch-up", "12:00 catch-up"),
            "13:00",
        ),
        id="down-3h-all-every-slot-in-order",
    ),
    pytest.param(
        PlanCase(
            "# pycron: catch-up=all:1h\n*/20 * * * * true\n",
            "09:30",
            "12:30",
            ("11:40 catch-up", "12:00 catch-up", "12:20 catch-up"),
            "12:40",
            (6, "09:40", "11:20", "all"),
        ),
        id="down-3h-all-1h-window",
    ),
    pytest.param(
        PlanCase(
            "# pycron: catch-up=all:2h\n" + HOURLY,
            "09:30",
            "12:00",
            ("10:00 catch-up", "11:00 catch-up", "12:00"),
            "13:00",
        ),
        id="all-window-start-is-inclusive",
    ),
    pytest.param(
        PlanCase(
            "# pycron: catch-up=latest\n" + FIVE_MINUTES,
            "09:30",
            "12:32",
            ("12:30 catch-up",),
            "12:35",
            (35, "09:35", "12:25", "latest"),
        ),
        id="explicit-latest-on-wildcard",
    ),
    pytest.param(
        PlanCase(
            "# pycron: catch-up=none\n" + HOURLY,
            "09:30",
            "12:30",
            (),
            "13:00",
            (3, "10:00", "12:00", "none"),
        ),
        id="explicit-none-on-fixed",
    ),
    pytest.param(
        PlanCase(
            "30 2 * * * true\n",
            "2026-05-01T20:00+00:00",
            "09:00",
            ("02:30 catch-up",),
            "2026-05-05T02:30+00:00",
            (2, "2026-05-02T02:30+00:00", "2026-05-03T02:30+00:00", "latest"),
        ),
        id="daily-down-3-nights-latest",
    ),
    pytest.param(
        PlanCase(HOURLY, "09:30", "12:00:30", ("12:00",), "13:00", last="11:00"),
        id="slots-up-to-last-never-again",
    ),
    pytest.param(
        PlanCase(HOURLY, "12:30", "11:30", (), "13:00", last="12:00"),
        id="clock-behind-after-backward-jump",
    ),
    pytest.param(
        PlanCase("#pycron-disabled# " + HOURLY, "09:30", "12:30", (), "13:00"),
        id="disabled-by-mark",
    ),
    pytest.param(
        PlanCase("# pycron: enabled=false\n" + HOURLY, "09:30", "12:30", (), "13:00"),
        id="disabled-by-option",
    ),
    pytest.param(
        PlanCase("@at 2026-05-04T12:00 true\n", "11:00", "12:00:10", ("12:00",), None),
        id="at-naive-in-daemon-zone",
    ),
    pytest.param(
        PlanCase("@at 2026-05-04T14:00+02:00 true\n", "11:00", "12:00", ("12:00",), None),
        id="at-with-offset",
    ),
    pytest.param(
        PlanCase("@at 2026-05-04T12:00 true\n", "11:00", "15:00", ("12:00 catch-up",), None),
        id="at-missed-default-latest",
    ),
    pytest.param(
        PlanCase(
            "@every 10m true\n",
            "09:30",
            "12:30:30",
            ("12:30",),
            "12:40",
            (17, "09:40", "12:20", "none"),
        ),
        id="every-down-3h-default-none",
    ),
]


@pytest.mark.parametrize("case", PLAN_CASES)
def test_plan_decides_due_catch_up_and_skipped(case: PlanCase) -> None:
    entry = only_entry(case.crontab)
    anchor = utc(ANCHOR)
    last = None if case.last is None else utc(case.last)
    state = {entry.id: JobState(fire_after(entry, utc(case.since), anchor, UTC), last)}
    before = dict(state)

    decided = plan(state, {entry.id: entry}, utc(case.now), anchor, UTC)

    due = [(d.job_id, d.scheduled_for, d.catch_up) for d in decided.due]
    assert due == [
        (entry.id, utc(text.removesuffix(" catch-up")), text.endswith(" catch-up"))
        for text in case.due
    ]
    skipped = [(s.job_id, s.missed, s.first, s.last, s.policy) for s in decided.skipped]
    if case.skipped is None:
        assert skipped == []
    else:
        count, first, final, policy = case.skipped
        assert skipped == [(entry.id, count, utc(first), utc(final), CatchUp(policy))]
    assert decided.state[entry.id].next_fire == (None if case.then is None else utc(case.then))
    assert state == before  # plan() is pure: the caller's state is untouched


@pytest.mark.parametrize(
    ("line", "policy"),
    [
        pytest.param("0 * * * * x", CatchUp.LATEST, id="fixed-minute"),
        pytest.param("30 2 * * * x", CatchUp.LATEST, id="fixed-time"),
        pytest.param("@daily x", CatchUp.LATEST, id="nickname-daily"),
        pytest.param("*/5 * * * * x", CatchUp.NONE, id="wildcard-minute"),
        pytest.param("* 3 * * * x", CatchUp.NONE, id="every-minute-of-an-hour"),
        pytest.param("@every 10s x", CatchUp.NONE, id="interval"),
        pytest.param("@at 2026-05-04T12:00 x", CatchUp.LATEST, id="one-shot"),
        pytest.param("# pycron: catch-up=all\n*/5 * * * * x", CatchUp.ALL, id="option-wins"),
        pytest.param("# pycron: catch-up=none\n0 3 * * * x", CatchUp.NONE, id="option-none"),
    ],
)
def test_catch_up_policy_defaults(line: str, policy: CatchUp) -> None:
    assert catch_up_policy(only_entry(line + "\n")) is policy


def test_catch_up_all_window_defaults_to_24h() -> None:
    entry = only_entry("# pycron: catch-up=all\n0 * * * * true\n")
    assert entry.options.catch_up_window == timedelta(hours=24)
    anchor = utc("09:00")
    state = {entry.id: JobState(fire_after(entry, utc("2026-05-02T23:59+00:00"), anchor, UTC))}
    decided = plan(state, {entry.id: entry}, utc("12:30"), anchor, UTC)
    # down from 05-03 00:00 to 05-04 12:30: the slots since 05-03 12:30 are caught up
    expected = [f"2026-05-03T{hour:02}:00+00:00" for hour in range(13, 24)]
    expected += [f"2026-05-04T{hour:02}:00+00:00" for hour in range(13)]
    assert [d.scheduled_for for d in decided.due] == utcs(expected)
    assert all(d.catch_up for d in decided.due)
    (skipped,) = decided.skipped
    assert (skipped.missed, skipped.first, skipped.last) == (
        13,
        utc("2026-05-03T00:00+00:00"),
        utc("2026-05-03T12:00+00:00"),
    )


@pytest.mark.parametrize(
    ("options", "due"),
    [
        pytest.param("catch-up=none", [], id="none"),
        pytest.param("catch-up=latest", ["00:00"], id="latest"),
        # every slot of the 24 h window, though the planner lists at most
        # MAX_CATCH_UP (10 000) slots per decision and 40 days hold 11 520
        pytest.param(
            "catch-up=all",
            series("2026-05-03T00:05+00:00", "00:00", timedelta(minutes=5)),
            id="all-24h",
        ),
        pytest.param(
            "catch-up=all:15m",
            ["2026-05-03T23:50+00:00", "2026-05-03T23:55+00:00", "00:00"],
            id="all-15m",
        ),
    ],
)
def test_long_downtime_beyond_the_listing_cap(options: str, due: list[str]) -> None:
    entry = only_entry(f"# pycron: {options}\n*/5 * * * * true\n")
    anchor = utc("00:00")
    state = {entry.id: JobState(fire_after(entry, anchor - timedelta(days=40), anchor, UTC))}

    decided = plan(state, {entry.id: entry}, utc("00:01:30"), anchor, UTC)

    assert [d.scheduled_for for d in decided.due] == utcs(due)
    assert all(d.catch_up for d in decided.due)
    assert decided.state[entry.id] == JobState(utc("00:05"), utc("00:00"))


def test_plan_orders_due_runs_of_several_jobs_by_slot() -> None:
    jobs = entries(
        "# pycron: name=hourly\n0 * * * * true\n"
        "# pycron: name=quarter\n*/15 * * * * true\n"
        "# pycron: name=all catch-up=all\n30 * * * * true\n"
    )
    anchor = utc("09:00")
    state = {
        job_id: JobState(fire_after(e, utc("10:50"), anchor, UTC)) for job_id, e in jobs.items()
    }

    decided = plan(state, jobs, utc("13:00:20"), anchor, UTC)

    assert [(d.job_id, d.scheduled_for, d.catch_up) for d in decided.due] == [
        ("all", utc("11:30"), True),
        ("hourly", utc("12:00"), True),
        ("all", utc("12:30"), True),
        ("hourly", utc("13:00"), False),
        ("quarter", utc("13:00"), False),
    ]
    assert {(s.job_id, s.missed) for s in decided.skipped} == {("hourly", 1), ("quarter", 8)}
    assert {job_id: s.next_fire for job_id, s in decided.state.items()} == {
        "hourly": utc("14:00"),
        "quarter": utc("13:15"),
        "all": utc("13:30"),
    }


def test_every_fires_on_the_anchor_grid_and_never_drifts() -> None:
    """1000 wakes, each late by a different 0-9.999 s: every run is exactly
    anchor + k * 10 s, the lateness never adds up."""
    entry = only_entry("@every 10s true\n")
    jobs = {entry.id: entry}
    anchor = datetime(2026, 5, 4, 9, 0, 0, 123456, tzinfo=UTC)
    state = {entry.id: JobState(fire_after(entry, anchor, anchor, UTC))}
    lateness = 0
    fired: list[datetime] = []
    for _ in range(1000):
        lateness = (lateness * 7919 + 104729) % 10_000  # milliseconds, scrambled, < 10 s
        next_fire = state[entry.id].next_fire
        assert next_fire is not None
        now = next_fire + timedelta(milliseconds=lateness)
        decided = plan(state, jobs, now, anchor, UTC)
        assert decided.skipped == []
        fired += [due.scheduled_for for due in decided.due if not due.catch_up]
        state = decided.state
    assert fired == [anchor + timedelta(seconds=10 * k) for k in range(1, 1001)]
    assert state[entry.id].next_fire == anchor + timedelta(seconds=10_010)


def test_every_counts_from_the_anchor_not_from_the_last_run() -> None:
    entry = only_entry("@every 90s true\n")
    anchor = utc("09:00:00")
    assert fire_after(entry, anchor, anchor, UTC) == utc("09:01:30")
    assert fire_after(entry, utc("09:01:30"), anchor, UTC) == utc("09:03:00")
    assert fire_after(entry, utc("09:02:59.999"), anchor, UTC) == utc("09:03:00")
    assert fire_after(entry, utc("08:00"), anchor, UTC) == anchor  # never before the anchor


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("@at 2026-05-04T12:00 true", id="naive"),
        pytest.param("@at 2026-05-04T08:00-04:00 true", id="offset"),
    ],
)
def test_at_fires_once_in_a_day_of_decisions(line: str) -> None:
    entry = only_entry(line + "\n")
    jobs = {entry.id: entry}
    anchor = utc("00:00")
    state = {entry.id: JobState(fire_after(entry, anchor, anchor, UTC))}
    fired = []
    for second in range(0, 24 * 3600, 30):
        decided = plan(state, jobs, anchor + timedelta(seconds=second), anchor, UTC)
        fired += [(d.scheduled_for, d.catch_up) for d in decided.due]
        state = decided.state
    assert fired == [(utc("12:00"), False)]
    assert state[entry.id] == JobState(None, utc("12:00"))


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("#pycron-disabled# * * * * * true\n", id="mark"),
        pytest.param("# pycron: enabled=false catch-up=all\n* * * * * true\n", id="option"),
        pytest.param("#pycron-disabled# @every 10s true\n", id="every"),
        pytest.param("#pycron-disabled# @at 2026-05-04T12:00 true\n", id="at"),
    ],
)
def test_disabled_jobs_never_fire(text: str) -> None:
    entry = only_entry(text)
    assert not entry.enabled
    jobs = {entry.id: entry}
    anchor = utc("00:00")
    state = {entry.id: JobState(fire_after(entry, anchor, anchor, UTC))}
    for minute in range(0, 24 * 60, 7):
        now = anchor + timedelta(minutes=minute)
        decided = plan(state, jobs, now, anchor, UTC)
        assert decided.due == []
        assert decided.skipped == []
        state = decided.state
        next_fire = state[entry.id].next_fire
        assert next_fire is None or next_fire > now  # the loop never spins on it


def test_on_time_tolerance_is_a_minute() -> None:
    assert ON_TIME.total_seconds() == 60


# =========================================================================== the simulated loop


class InlinePool:
    """Stands in for the worker pool: runs each job as it is submitted, so the
    starts happen in submission order and before the loop sleeps again."""

    def __init__(self, workers: int) -> None:
        del workers

    def submit(self, task: Callable[[], None]) -> None:
        task()

    def __enter__(self) -> InlinePool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass


class Start(NamedTuple):
    """A job start the daemon asked for: which job, which slot, at what (fake) time."""

    job: str
    slot: datetime
    at: datetime


DELAY_SCALE = 0.5  # the share of RANDOM_DELAY that every simulated daemon waits
MAX_STEPS = 500_000  # loop turns in one daemon lifetime before the harness gives up
MAX_IDLE_TURNS = 1000  # turns in a row with a 0 s sleep before it calls the loop busy


class Simulation:
    """A crontab, a state directory and a fake UTC clock. Each `run_until` is one
    daemon lifetime: a new Daemon on the same state directory, stopped (as if
    killed between two turns) once simulated time reaches `end`."""

    def __init__(self, directory: Path, crontab: str, start: datetime, zone: tzinfo) -> None:
        self.crontab = directory / "crontab"
        self.crontab.write_text(crontab)
        self.state_dir = directory / "state"
        self.zone = zone
        self.now = start.astimezone(UTC)
        self.starts: list[Start] = []
        self.composed: list[tuple[str, datetime, Outcome]] = []  # runs the outbox was asked about
        self.stream = io.StringIO()
        self.log = EventLog(self.stream, self.clock)

    def clock(self) -> datetime:
        return self.now

    def compose(
        self,
        entry: Entry,
        results: Sequence[RunResult],
        past: Callable[[], JobPast],
        run_id: int | None,
    ) -> list[Message]:
        """The daemon asks what a run owes: recorded (job, slot, outcome); nothing."""
        last = results[-1]
        self.composed.append((entry.id, last.scheduled_for, last.outcome))
        return []

    def run_until(
        self,
        end: datetime,
        *,
        jumps: Mapping[datetime, timedelta] | None = None,
        edits: Mapping[datetime, str] | None = None,
        record: bool = False,
        load_takes: timedelta = timedelta(0),
    ) -> list[Start]:
        """Run a daemon from `now` until `end`; at the moments in `jumps` the clock
        jumps by the given amount, at those in `edits` the crontab is replaced.
        With `record`, each start is recorded in the history as a success (as the
        runner would), so a later daemon finds it. Each load of the crontab
        takes `load_takes` of the clock (its review does). Returns this
        lifetime's starts."""
        changes: list[tuple[datetime, timedelta | str]] = sorted(
            [*(jumps or {}).items(), *(edits or {}).items()], key=lambda change: change[0]
        )
        first = len(self.starts)
        turns = idle = 0

        def sleep(seconds: float, wake: threading.Event) -> None:
            nonlocal turns, idle
            assert isinstance(wake, threading.Event)
            turns += 1
            idle = idle + 1 if seconds <= 0 else 0
            if idle > MAX_IDLE_TURNS or turns > MAX_STEPS:
                raise AssertionError(f"the loop is busy at {self.now}: {turns} turns")
            self.now += timedelta(seconds=seconds)
            while changes and self.now >= changes[0][0]:
                change = changes.pop(0)[1]
                if isinstance(change, timedelta):
                    self.now += change
                else:
                    self.crontab.write_text(change)
            if self.now >= end:
                daemon.stop(immediately=True)

        def execute(launch: Launch, context: Context) -> list[RunResult]:
            entry, slot = launch.entry, launch.slot
            assert launch.next_slot is None or launch.next_slot > slot
            self.starts.append(Start(entry.id, slot, self.now))
            if not record:
                return []
            result = RunResult(entry.id, slot, 1, Outcome.SUCCESS, self.now, self.now, exit_code=0)
            assert context.recorder is not None  # in the record the daemon queued and claimed
            context.recorder.started(result, launch.record)
            return [result]

        def review(crontab: Crontab) -> list[Finding]:
            self.now += load_takes
            return []

        settings = Settings(self.crontab, self.state_dir, max_parallel=1, zone=self.zone)
        daemon = Daemon(
            settings,
            clock=self.clock,
            sleep=sleep,
            log=self.log,
            pool=InlinePool,
            execute=execute,
            senders={},
            compose=self.compose,
            review=review,
            delay_scale=DELAY_SCALE,
        )
        assert daemon.run() == 0
        return self.starts[first:]

    def events(self, name: str) -> list[dict[str, str]]:
        """The fields of each logged event called `name`, in order."""
        found = []
        for line in self.stream.getvalue().splitlines():
            words = shlex.split(line)
            if words[2] == name:
                found.append(dict(word.split("=", 1) for word in words[3:]))
        return found

    def skips(self) -> list[tuple[str, int, datetime, datetime, str]]:
        return [
            (e["job"], int(e["count"]), utc(e["first"]), utc(e["last"]), e["policy"])
            for e in self.events("skip")
        ]

    def catch_ups(self) -> list[tuple[str, datetime]]:
        return [(e["job"], utc(e["scheduled"])) for e in self.events("catch-up")]


def by_job(starts: Iterable[Start]) -> dict[str, list[datetime]]:
    """The slots started per job, in start order."""
    slots: dict[str, list[datetime]] = {}
    for start in starts:
        slots.setdefault(start.job, []).append(start.slot)
    return slots


def expected(table: Mapping[str, str | Iterable[str]]) -> dict[str, list[datetime]]:
    """Slots per job as `utc()` texts: a list, or one string of times between blanks."""
    return {
        job: utcs(texts.split() if isinstance(texts, str) else texts)
        for job, texts in table.items()
        if texts
    }


class Simulate(Protocol):
    def __call__(self, crontab: str, start: datetime, zone: tzinfo = ...) -> Simulation: ...


@pytest.fixture
def simulate(tmp_path: Path) -> Simulate:
    """Make a Simulation in tmp_path; the daemon's worker pool runs jobs in line."""

    def make(crontab: str, start: datetime, zone: tzinfo = UTC) -> Simulation:
        return Simulation(tmp_path, crontab, start, zone)

    return make


# Four jobs whose defaults differ: fixed hourly (latest), wildcard (none), all, all:1h.
JUMP_CRONTAB = """\
# pycron: name=hourly
0 * * * * true
# pycron: name=quarter
*/15 * * * * true
# pycron: name=all catch-up=all
0 * * * * true
# pycron: name=twenty catch-up=all:1h
*/20 * * * * true
"""


def test_simulated_loop_runs_each_slot_once_on_time(simulate: Simulate) -> None:
    sim = simulate(JUMP_CRONTAB, utc("08:10"), UTC)

    starts = sim.run_until(utc("10:10"))

    assert by_job(starts) == expected(
        {
            "hourly": ["09:00", "10:00"],
            "quarter": ["08:15", "08:30", "08:45", "09:00", "09:15", "09:30", "09:45", "10:00"],
            "all": ["09:00", "10:00"],
            "twenty": ["08:20", "08:40", "09:00", "09:20", "09:40", "10:00"],
        }
    )
    assert all(start.at == start.slot for start in starts)  # the loop wakes at the slot itself
    assert sim.skips() == []
    assert sim.catch_ups() == []


def test_forward_jump_of_two_hours(simulate: Simulate) -> None:
    sim = simulate(JUMP_CRONTAB, utc("08:10"), UTC)

    starts = sim.run_until(utc("13:10"), jumps={utc("09:50"): timedelta(hours=2)})

    assert by_job(starts) == expected(
        {
            "hourly": ["09:00", "11:00", "12:00", "13:00"],
            "quarter": "08:15 08:30 08:45 09:00 09:15 09:30 09:45 12:00 12:15 12:30 12:45 13:00",
            "all": ["09:00", "10:00", "11:00", "12:00", "13:00"],
            "twenty": "08:20 08:40 09:00 09:20 09:40 11:00 11:20 11:40 12:00 12:20 12:40 13:00",
        }
    )
    # Right after the jump (the clock reads 11:50): catch-ups, oldest slot first.
    assert [(s.job, s.slot) for s in starts if s.at == utc("11:50")] == [
        ("all", utc("10:00")),
        ("hourly", utc("11:00")),
        ("all", utc("11:00")),
        ("twenty", utc("11:00")),
        ("twenty", utc("11:20")),
        ("twenty", utc("11:40")),
    ]
    assert sim.catch_ups() == [
        ("all", utc("10:00")),
        ("hourly", utc("11:00")),
        ("all", utc("11:00")),
        ("twenty", utc("11:00")),
        ("twenty", utc("11:20")),
        ("twenty", utc("11:40")),
    ]
    assert sorted(sim.skips()) == [
        ("hourly", 1, utc("10:00"), utc("10:00"), "latest"),
        ("quarter", 8, utc("10:00"), utc("11:45"), "none"),
        ("twenty", 3, utc("10:00"), utc("10:40"), "all"),
    ]


def test_backward_jump_of_an_hour_repeats_no_slot(simulate: Simulate) -> None:
    sim = simulate(JUMP_CRONTAB, utc("08:10"), UTC)

    starts = sim.run_until(utc("11:10"), jumps={utc("09:50"): timedelta(hours=-1)})

    assert by_job(starts) == expected(
        {
            "hourly": ["09:00", "10:00", "11:00"],
            "quarter": "08:15 08:30 08:45 09:00 09:15 09:30 09:45 10:00 10:15 10:30 10:45 11:00",
            "all": ["09:00", "10:00", "11:00"],
            "twenty": "08:20 08:40 09:00 09:20 09:40 10:00 10:20 10:40 11:00",
        }
    )
    assert len({(s.job, s.slot) for s in starts}) == len(starts)
    assert sim.skips() == []
    assert sim.catch_ups() == []


def test_backward_jump_across_a_restart_repeats_no_slot(simulate: Simulate) -> None:
    """The clock goes back an hour while the daemon is down: the new daemon
    reads the last slots from the history and runs none of them again."""
    sim = simulate(JUMP_CRONTAB, utc("08:10"), UTC)
    sim.run_until(utc("09:50"), record=True)

    sim.now = utc("08:50")
    starts = sim.run_until(utc("11:10"), record=True)

    assert by_job(starts) == expected(
        {
            "hourly": ["10:00", "11:00"],
            "quarter": ["10:00", "10:15", "10:30", "10:45", "11:00"],
            "all": ["10:00", "11:00"],
            "twenty": ["10:00", "10:20", "10:40", "11:00"],
        }
    )
    assert sim.skips() == []


DST_CRONTAB = """\
# pycron: name=0230
30 2 * * * true
# pycron: name=0130
30 1 * * * true
# pycron: name=half-hourly
*/30 * * * * true
# pycron: name=hourly
0 * * * * true
"""

DST_CASES = [
    pytest.param(
        NEW_YORK,
        "2026-03-07T23:10-05:00",
        "2026-03-08T04:10-04:00",
        {
            "0230": ["2026-03-08T03:00-04:00"],  # in the gap: once, at its end
            "0130": ["2026-03-08T01:30-05:00"],
            "half-hourly": [
                "2026-03-07T23:30-05:00",
                "2026-03-08T00:00-05:00",
                "2026-03-08T00:30-05:00",
                "2026-03-08T01:00-05:00",
                "2026-03-08T01:30-05:00",
                # 02:00 and 02:30 do not exist: a wildcard job skips them
                "2026-03-08T03:00-04:00",
                "2026-03-08T03:30-04:00",
                "2026-03-08T04:00-04:00",
            ],
            "hourly": [
                "2026-03-08T00:00-05:00",
                "2026-03-08T01:00-05:00",
                "2026-03-08T03:00-04:00",
                "2026-03-08T04:00-04:00",
            ],
        },
        id="new-york-spring-forward",
    ),
    pytest.param(
        NEW_YORK,
        "2026-10-31T23:10-04:00",
        "2026-11-01T03:10-05:00",
        {
            "0230": ["2026-11-01T02:30-05:00"],
            "0130": ["2026-11-01T01:30-04:00"],  # fixed: the first pass only
            "half-hourly": [
                "2026-10-31T23:30-04:00",
                "2026-11-01T00:00-04:00",
                "2026-11-01T00:30-04:00",
                "2026-11-01T01:00-04:00",
                "2026-11-01T01:30-04:00",
                "2026-11-01T01:00-05:00",  # wildcard: both passes
                "2026-11-01T01:30-05:00",
                "2026-11-01T02:00-05:00",
                "2026-11-01T02:30-05:00",
                "2026-11-01T03:00-05:00",
            ],
            "hourly": [
                "2026-11-01T00:00-04:00",
                "2026-11-01T01:00-04:00",
                "2026-11-01T01:00-05:00",
                "2026-11-01T02:00-05:00",
                "2026-11-01T03:00-05:00",
            ],
        },
        id="new-york-fall-back",
    ),
    pytest.param(
        LONDON,
        "2026-03-28T23:10+00:00",
        "2026-03-29T04:10+01:00",
        {
            "0230": ["2026-03-29T02:30+01:00"],
            "0130": ["2026-03-29T02:00+01:00"],  # in the gap: once, at its end
            "half-hourly": [
                "2026-03-28T23:30+00:00",
                "2026-03-29T00:00+00:00",
                "2026-03-29T00:30+00:00",
                # 01:00 and 01:30 do not exist
                "2026-03-29T02:00+01:00",
                "2026-03-29T02:30+01:00",
                "2026-03-29T03:00+01:00",
                "2026-03-29T03:30+01:00",
                "2026-03-29T04:00+01:00",
            ],
            "hourly": [
                "2026-03-29T00:00+00:00",
                "2026-03-29T02:00+01:00",
                "2026-03-29T03:00+01:00",
                "2026-03-29T04:00+01:00",
            ],
        },
        id="london-spring-forward",
    ),
    pytest.param(
        LONDON,
        "2026-10-24T23:10+01:00",
        "2026-10-25T03:10+00:00",
        {
            "0230": ["2026-10-25T02:30+00:00"],
            "0130": ["2026-10-25T01:30+01:00"],  # fixed: the first pass only
            "half-hourly": [
                "2026-10-24T23:30+01:00",
                "2026-10-25T00:00+01:00",
                "2026-10-25T00:30+01:00",
                "2026-10-25T01:00+01:00",
                "2026-10-25T01:30+01:00",
                "2026-10-25T01:00+00:00",  # wildcard: both passes
                "2026-10-25T01:30+00:00",
                "2026-10-25T02:00+00:00",
                "2026-10-25T02:30+00:00",
                "2026-10-25T03:00+00:00",
            ],
            "hourly": [
                "2026-10-25T00:00+01:00",
                "2026-10-25T01:00+01:00",
                "2026-10-25T01:00+00:00",
                "2026-10-25T02:00+00:00",
                "2026-10-25T03:00+00:00",
            ],
        },
        id="london-fall-back",
    ),
]


@pytest.mark.parametrize(("zone", "start", "end", "slots"), DST_CASES)
def test_dst_transitions_in_the_daemon_zone(
    simulate: Simulate, zone: tzinfo, start: str, end: str, slots: dict[str, list[str]]
) -> None:
    sim = simulate(DST_CRONTAB, utc(start), zone)

    starts = sim.run_until(utc(end))

    assert by_job(starts) == expected(slots)
    assert all(start.at == start.slot for start in starts)  # each on time, none caught up
    assert sim.skips() == []
    assert sim.catch_ups() == []


def test_dst_with_cron_tz_in_the_crontab(simulate: Simulate) -> None:
    """CRON_TZ in the file wins over the daemon's zone (here UTC)."""
    text = "CRON_TZ=America/New_York\n" + DST_CRONTAB
    sim = simulate(text, utc("2026-10-31T23:10-04:00"), UTC)

    starts = sim.run_until(utc("2026-11-01T03:10-05:00"))

    slots = by_job(starts)
    assert slots["0130"] == utcs(["2026-11-01T01:30-04:00"])
    assert slots["0230"] == utcs(["2026-11-01T02:30-05:00"])
    assert len(slots["half-hourly"]) == 10


def test_every_in_the_loop_is_anchored_at_the_daemon_start(simulate: Simulate) -> None:
    start = datetime(2026, 5, 4, 9, 0, 0, 250000, tzinfo=UTC)
    sim = simulate("# pycron: name=tick\n@every 10s true\n# pycron: name=odd\n@every 7s x\n", start)

    starts = sim.run_until(start + timedelta(seconds=1000))

    assert by_job(starts) == {
        "tick": [start + timedelta(seconds=10 * k) for k in range(1, 100)],
        "odd": [start + timedelta(seconds=7 * k) for k in range(1, 143)],
    }
    assert all(s.at == s.slot for s in starts)


def test_disabled_jobs_never_start_and_the_loop_still_sleeps(simulate: Simulate) -> None:
    sim = simulate(
        "# pycron: name=off\n#pycron-disabled# 0 * * * * true\n"
        "# pycron: name=off-too enabled=false catch-up=all\n*/5 * * * * true\n"
        "# pycron: name=on\n30 * * * * true\n",
        utc("08:10"),
    )

    starts = sim.run_until(utc("11:10"))

    assert by_job(starts) == expected({"on": ["08:30", "09:30", "10:30"]})
    assert sim.skips() == []


def test_enabling_a_job_catches_up_nothing_from_while_it_was_off(simulate: Simulate) -> None:
    sim = simulate("# pycron: name=backup\n#pycron-disabled# 0 * * * * true\n", utc("08:10"))

    enabled = "# pycron: name=backup\n0 * * * * true\n"
    starts = sim.run_until(utc("12:10"), edits={utc("10:30"): enabled})

    assert by_job(starts) == expected({"backup": ["11:00", "12:00"]})
    assert sim.catch_ups() == []
    assert sim.skips() == []


def test_a_job_below_options_that_do_not_attach_never_starts(simulate: Simulate) -> None:
    sim = simulate(
        "# pycron: name=danger enabled=false\n\n*/5 * * * * true\n"
        "# pycron: name=on\n30 * * * * true\n",
        utc("08:10"),
    )

    starts = sim.run_until(utc("10:10"))

    assert by_job(starts) == expected({"on": ["08:30", "09:30"]})
    assert [e["where"].rsplit(":", 2)[1] for e in sim.events("error")] == ["1", "3"]
    assert [(e["jobs"], e["errors"]) for e in sim.events("load")] == [("1", "2")]


# =========================================================================== restarts


RESTART_CRONTAB = """\
# pycron: name=hourly
0 * * * * true
# pycron: name=poll
*/5 * * * * true
# pycron: name=every-slot catch-up=all
0 * * * * true
"""


RESTART_CASES = [
    pytest.param(
        timedelta(hours=5),
        {
            "hourly": ["15:00"],  # latest
            "poll": [],  # none
            "every-slot": ["11:00", "12:00", "13:00", "14:00", "15:00"],  # all, in order
        },
        [
            ("hourly", 4, "11:00", "14:00", "latest"),
            ("poll", 60, "10:35", "15:30", "none"),
        ],
        id="down-5h",
    ),
    pytest.param(
        timedelta(hours=30),
        {
            "hourly": ["2026-05-05T16:00+00:00"],
            "poll": [],
            # all: only the slots of the last 24 h (since 05-04 16:32:30)
            "every-slot": series("17:00", "2026-05-05T16:00+00:00", timedelta(hours=1)),
        },
        [
            ("hourly", 29, "11:00", "2026-05-05T15:00+00:00", "latest"),
            ("poll", 360, "10:35", "2026-05-05T16:30+00:00", "none"),
            ("every-slot", 6, "11:00", "16:00", "all"),
        ],
        id="down-30h",
    ),
]


@pytest.mark.parametrize(("downtime", "caught_up", "skips"), RESTART_CASES)
def test_restart_catches_up_from_the_history(
    simulate: Simulate,
    downtime: timedelta,
    caught_up: dict[str, list[str]],
    skips: list[tuple[str, int, str, str, str]],
) -> None:
    sim = simulate(RESTART_CRONTAB, utc("07:50"), UTC)
    first = sim.run_until(utc("10:32:30"), record=True)
    assert by_job(first) == expected(
        {
            "hourly": ["08:00", "09:00", "10:00"],
            "poll": series("07:55", "10:30", timedelta(minutes=5)),
            "every-slot": ["08:00", "09:00", "10:00"],
        }
    )
    assert sim.skips() == []

    sim.now += downtime  # the "crash": no daemon for a while
    restart = sim.now
    second = sim.run_until(restart + timedelta(seconds=1))

    assert by_job(second) == expected(caught_up)
    assert all(start.at == restart for start in second)
    assert sorted(sim.catch_ups()) == sorted((s.job, s.slot) for s in second)
    expected_skips = sorted(
        (job, count, utc(first_slot), utc(last_slot), policy)
        for job, count, first_slot, last_slot, policy in skips
    )
    assert sorted(sim.skips()) == expected_skips
    with SQLiteStore.open(sim.state_dir) as history:
        for job, count, first_slot, last_slot, policy in expected_skips:
            (row,) = history.runs(job, outcome=Outcome.MISSED)  # one row per decision
            assert row.scheduled_for == last_slot
            assert row.started == row.finished == restart
            assert row.message == (
                f"{count} missed run(s) from {first_slot.isoformat()} to "
                f"{last_slot.isoformat()} not run (catch-up={policy})"
            )
        for job in {"hourly", "poll", "every-slot"} - {skip[0] for skip in skips}:
            assert history.runs(job, outcome=Outcome.MISSED) == []


def test_restart_then_running_on_resumes_the_schedule(simulate: Simulate) -> None:
    sim = simulate(RESTART_CRONTAB, utc("07:50"), UTC)
    sim.run_until(utc("10:32:30"), record=True)
    sim.now = utc("15:32:30")

    starts = sim.run_until(utc("16:10"), record=True)

    assert by_job(starts) == expected(
        {
            "hourly": ["15:00", "16:00"],
            "poll": ["15:35", "15:40", "15:45", "15:50", "15:55", "16:00", "16:05"],
            "every-slot": ["11:00", "12:00", "13:00", "14:00", "15:00", "16:00"],
        }
    )

    sim.now = utc("16:10:30")  # a quick restart: the slot of 16:10 is only 30 s late
    assert sim.run_until(utc("16:30"), record=True) == [
        Start("poll", utc("16:10"), utc("16:10:30")),
        Start("poll", utc("16:15"), utc("16:15")),
        Start("poll", utc("16:20"), utc("16:20")),
        Start("poll", utc("16:25"), utc("16:25")),
    ]
    assert len(sim.skips()) == 2  # from the first restart only


WRITE_RUNNING_ROW = """\
import os, sys
from datetime import datetime
from pathlib import Path
from pycron.store.sqlite import SQLiteStore
from pycron.records import Outcome, RunResult
state, job, slot, started = sys.argv[1:]
result = RunResult(
    job, datetime.fromisoformat(slot), 1, Outcome.RUNNING, datetime.fromisoformat(started),
    pid=os.getpid(),
)
with SQLiteStore.open(Path(state)) as history:
    history.started(result)
"""


def write_running_row_from_dead_process(
    state_dir: Path, job: str, slot: datetime, started: datetime
) -> None:
    """A `running` row whose recorder was a process that has exited since."""
    subprocess.run(
        [
            sys.executable,
            "-c",
            WRITE_RUNNING_ROW,
            str(state_dir),
            job,
            slot.isoformat(),
            started.isoformat(),
        ],
        check=True,
        timeout=60,
    )


INTERRUPTED_CRONTAB = """\
# pycron: name=backup catch-up=latest
0 * * * * true
# pycron: name=poll
*/5 * * * * true
# pycron: name=report
30 * * * * true
"""


def test_interrupted_run_is_marked_and_its_slot_started_again_once(simulate: Simulate) -> None:
    sim = simulate(INTERRUPTED_CRONTAB, utc("10:20:30"), UTC)
    with SQLiteStore.open(sim.state_dir) as history:  # what the dead daemon left behind
        for job, slot in [("backup", "09:00"), ("poll", "10:05")]:
            done = RunResult(job, utc(slot), 1, Outcome.SUCCESS, utc(slot), utc(slot), 0)
            history.finished(history.started(done._replace(outcome=Outcome.RUNNING)), done)
        # A run still going in a live process (this one, say a run-now): not an orphan.
        alive = RunResult("report", utc("09:30"), 1, Outcome.RUNNING, utc("09:30"), pid=1)
        alive_id = history.started(alive)
    write_running_row_from_dead_process(sim.state_dir, "backup", utc("10:00"), utc("10:00:01"))
    write_running_row_from_dead_process(sim.state_dir, "poll", utc("10:10"), utc("10:10:01"))

    starts = sim.run_until(utc("11:10"), record=True)

    assert by_job(starts) == expected(
        {
            "backup": ["10:00", "11:00"],  # the interrupted slot once, then on schedule
            # catch-up=none: its interrupted 10:10 is not run again, 10:15 is skipped,
            # 10:20 is 30 s late at the start, so on time
            "poll": series("10:20", "11:05", timedelta(minutes=5)),
            "report": ["10:30"],
        }
    )
    assert sim.catch_ups() == [("backup", utc("10:00"))]
    assert sim.skips() == [("poll", 1, utc("10:15"), utc("10:15"), "none")]
    assert [(e["job"], utc(e["scheduled"])) for e in sim.events("interrupted")] == [
        ("backup", utc("10:00")),
        ("poll", utc("10:10")),
    ]
    with SQLiteStore.open(sim.state_dir) as history:
        interrupted = history.runs(outcome=Outcome.INTERRUPTED)
        assert sorted((r.job_id, r.scheduled_for) for r in interrupted) == [
            ("backup", utc("10:00")),
            ("poll", utc("10:10")),
        ]
        assert {r.message for r in interrupted} == {INTERRUPTED_MESSAGE}
        assert {r.finished for r in interrupted} == {utc("10:20:30")}
        still = history.run(alive_id)
        assert still is not None
        assert still.outcome is Outcome.RUNNING
        assert still.recorder_pid == os.getpid()
        backup = history.runs("backup")
        assert sorted((r.scheduled_for, r.outcome.value) for r in backup) == [
            (utc("09:00"), "success"),
            (utc("10:00"), "interrupted"),
            (utc("10:00"), "success"),
            (utc("11:00"), "success"),
        ]

    # Another restart: the re-run is in the history, so nothing is started twice.
    sim.now = utc("11:10:30")
    again = sim.run_until(utc("11:16"), record=True)
    assert again == [
        Start("poll", utc("11:10"), utc("11:10:30")),
        Start("poll", utc("11:15"), utc("11:15")),
    ]
    assert sim.catch_ups() == [("backup", utc("10:00"))]


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("@at 2026-05-04T12:00 true", id="naive"),
        pytest.param("@at 2026-05-04T14:00+02:00 true", id="offset"),
    ],
)
def test_at_fires_once_and_never_again_after_restarts(simulate: Simulate, line: str) -> None:
    sim = simulate(f"# pycron: name=once\n{line}\n", utc("11:00"), UTC)

    assert sim.run_until(utc("13:00"), record=True) == [Start("once", utc("12:00"), utc("12:00"))]
    sim.now = utc("14:00")
    assert sim.run_until(utc("15:00"), record=True) == []
    sim.now = utc("11:00")  # even with the clock set back before its time
    assert sim.run_until(utc("13:00"), record=True) == []


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("@at 2026-05-04T12:00 true", id="naive"),
        pytest.param("@at 2026-05-04T14:00+02:00 true", id="offset"),
    ],
)
def test_at_missed_while_down_is_caught_up_once(simulate: Simulate, line: str) -> None:
    sim = simulate(f"# pycron: name=once\n{line}\n", utc("15:00"), UTC)

    assert sim.run_until(utc("16:00"), record=True) == [Start("once", utc("12:00"), utc("15:00"))]
    assert sim.catch_ups() == [("once", utc("12:00"))]
    sim.now = utc("17:00")
    assert sim.run_until(utc("18:00"), record=True) == []


def test_a_slot_that_comes_while_the_crontab_loads_runs_once(simulate: Simulate) -> None:
    """A load can take seconds on a busy machine (a notify target's check,
    say): a slot that comes meanwhile is run, at the first start as after a
    reload that added its job."""
    crontab = "# pycron: name=once\n@at 2026-05-04T11:00:05 true\n"
    sim = simulate(crontab, utc("11:00"), UTC)

    starts = sim.run_until(utc("11:01"), record=True, load_takes=timedelta(seconds=10))
    assert starts == [Start("once", utc("11:00:05"), utc("11:00:10"))]

    added = crontab + "# pycron: name=added\n@at 2026-05-04T12:00:05 true\n"
    sim.now = utc("11:30")
    starts = sim.run_until(
        utc("12:01"), record=True, edits={utc("12:00"): added}, load_takes=timedelta(seconds=10)
    )
    assert [(start.job, start.slot) for start in starts] == [("added", utc("12:00:05"))]
    assert sim.skips() == []


# --------------------------------------------------------------------------- jobs never run

NEVER_RUN = """\
# pycron: name=daily-latest
0 12 * * * true
# pycron: name=daily-none catch-up=none
0 12 * * * true
# pycron: name=half-all catch-up=all
0,30 12 * * * true
"""


def test_missed_runs_of_jobs_that_never_ran_are_found(simulate: Simulate) -> None:
    """Missed slots count from when the daemon took the job on, not only from
    its last run: these jobs never ran before the daemon went down."""
    sim = simulate(NEVER_RUN, utc("10:00"), UTC)
    assert sim.run_until(utc("10:30")) == []
    sim.now = utc("13:00")  # down over 12:00 and 12:30, far past the 60 s of lateness
    starts = sim.run_until(utc("13:00:01"), record=True)
    assert by_job(starts) == expected({"daily-latest": ["12:00"], "half-all": ["12:00", "12:30"]})
    assert sim.skips() == [("daily-none", 1, utc("12:00"), utc("12:00"), "none")]
    with SQLiteStore.open(sim.state_dir) as history:
        (missed,) = history.runs("daily-none", outcome=Outcome.MISSED)
        assert missed.message is not None
        assert missed.message.endswith("not run (catch-up=none)")
    # What the missed slot owes is asked once (its `missed` alerts, say).
    assert [c for c in sim.composed if c[0] == "daily-none"] == [
        ("daily-none", utc("12:00"), Outcome.MISSED)
    ]


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param("# pycron: name=late\n0 12 * * * true\n", id="added-while-down"),
        pytest.param("# pycron: name=early\n0 11 * * * true\n", id="schedule-changed-while-down"),
    ],
)
def test_no_catch_up_from_before_a_job_existed(simulate: Simulate, edit: str) -> None:
    sim = simulate("# pycron: name=early\n0 12 * * * true\n", utc("10:00"), UTC)
    assert sim.run_until(utc("10:30")) == []
    sim.crontab.write_text(edit)  # while no daemon runs
    sim.now = utc("13:00")
    assert sim.run_until(utc("13:00:01"), record=True) == []
    assert sim.skips() == []


# --------------------------------------------------------------------------- RANDOM_DELAY

DELAYED = """\
RANDOM_DELAY=10
# pycron: name=delayed
0 12 * * * true
RANDOM_DELAY=0
# pycron: name=on-time
0 12 * * * true
RANDOM_DELAY=ten
# pycron: name=ignored
0 12 * * * true
"""


def test_random_delay_holds_jobs_back_by_one_share_of_it(simulate: Simulate) -> None:
    sim = simulate(DELAYED, utc("11:00"), UTC)
    starts = sim.run_until(utc("12:10"))
    assert sorted((s.job, s.slot, s.at) for s in starts) == [
        ("delayed", utc("12:00"), utc("12:00") + timedelta(minutes=10 * DELAY_SCALE)),
        ("ignored", utc("12:00"), utc("12:00")),
        ("on-time", utc("12:00"), utc("12:00")),
    ]


def test_a_run_held_back_by_random_delay_survives_a_restart(simulate: Simulate) -> None:
    sim = simulate(DELAYED, utc("11:00"), UTC)
    first = sim.run_until(utc("12:03"), record=True)
    assert sorted(s.job for s in first) == ["ignored", "on-time"]
    sim.now = utc("12:04")
    second = sim.run_until(utc("12:10"), record=True)
    assert [(s.job, s.slot, s.at) for s in second] == [("delayed", utc("12:00"), utc("12:04"))]


def daemon_on_a_list_clock(
    settings: Settings,
    now: list[datetime],
    sleep: Callable[[float, threading.Event], None],
    execute: Callable[[Launch, Context], list[RunResult]],
) -> Daemon:
    """A daemon with a real worker pool whose clock reads `now[0]` (the test moves it)."""
    return Daemon(
        settings,
        clock=lambda: now[0],
        sleep=sleep,
        log=EventLog(io.StringIO(), lambda: now[0]),
        pool=Workers,
        execute=execute,
        senders={},
        compose=compose_nothing,
    )


def test_an_error_exit_drains_and_starts_nothing_that_waits(tmp_path: Path) -> None:
    """The loop fails while runs wait for the one worker: the running one gets the
    grace, the waiting ones are never started (they stay queued for a restart)."""
    crontab = tmp_path / "crontab"
    crontab.write_text("".join(f"# pycron: name=job{n}\n@every 1s true\n" for n in range(3)))
    now = [datetime(2026, 5, 4, 10, 0, tzinfo=UTC)]
    started: list[str] = []
    release = threading.Event()

    def execute(launch: Launch, context: Context) -> list[RunResult]:
        started.append(launch.entry.id)
        release.wait(10)
        return []

    first_slot = now[0] + timedelta(seconds=1)

    def sleep(seconds: float, wake: threading.Event) -> None:
        if now[0] >= first_slot:  # all three are due: the worker takes the first
            deadline = time.monotonic() + 10
            while not started and time.monotonic() < deadline:
                time.sleep(0.01)
            threading.Timer(0.2, release.set).start()
            raise RuntimeError("the store failed")
        now[0] += timedelta(seconds=seconds)

    settings = Settings(crontab, tmp_path / "state", max_parallel=1, shutdown_grace=5, zone=UTC)
    daemon = daemon_on_a_list_clock(settings, now, sleep, execute)
    with pytest.raises(RuntimeError, match="the store failed"):
        daemon.run()
    assert started == ["job0"]
    with SQLiteStore.open(settings.state_dir) as history:
        assert sorted(r.job_id for r in history.queued()) == ["job1", "job2"]


def test_a_snapshot_has_the_shapes_of_the_cli_json(tmp_path: Path) -> None:
    """What the daemon's status page reads of it (`web.source.daemon_source`)
    says what `pycron list --json` says, in the same shapes, while it runs."""
    crontab = tmp_path / "crontab"
    crontab.write_text(
        "# pycron: name=nightly\n30 2 * * * true\n"
        "# pycron: name=once\n@at 2026-05-04T10:00:01+00:00 true\n"
    )
    now = [datetime(2026, 5, 4, 10, 0, tzinfo=UTC)]
    snapshots: list[dict[str, object]] = []
    ran_once = threading.Event()

    def sleep(seconds: float, wake: threading.Event) -> None:
        if now[0] >= datetime(2026, 5, 4, 10, 0, 2, tzinfo=UTC):
            ran_once.wait(10)
            source = daemon_source(daemon, settings.state_dir, UTC, lambda: now[0])
            snapshots.append(source.snapshot())
            daemon.stop(immediately=True)
        now[0] += timedelta(seconds=max(seconds, 0.5))

    def execute(launch: Launch, context: Context) -> list[RunResult]:
        entry, slot = launch.entry, launch.slot
        result = RunResult(entry.id, slot, 1, Outcome.SUCCESS, now[0], now[0], exit_code=0)
        assert context.recorder is not None
        context.recorder.started(result, launch.record)
        ran_once.set()
        return [result]

    settings = Settings(crontab, tmp_path / "state", max_parallel=1, zone=UTC)
    daemon = daemon_on_a_list_clock(settings, now, sleep, execute)
    assert daemon.run() == 0
    (snapshot,) = snapshots
    jobs = {job["id"]: job for job in snapshot["jobs"]}  # type: ignore[attr-defined]
    where = ["--crontab", str(crontab), "--state-dir", str(settings.state_dir)]
    listed = json.loads(CliRunner().invoke(cli, ["list", "--json", *where]).stdout)
    assert {job["id"] for job in listed} == set(jobs)
    for job in listed:  # every key of `list --json`, with the same values but the times
        shown = jobs[job["id"]]
        assert set(job) <= set(shown)
        assert {k: v for k, v in job.items() if k != "next"} == {
            k: shown[k] for k in job if k != "next"
        }
    assert jobs["nightly"]["next"] == "2026-05-05T02:30:00+00:00"
    assert jobs["once"]["last"]["outcome"] == "success"
    assert jobs["once"]["next"] is None  # a one-shot that ran
    assert jobs["once"]["running"] is False
    assert snapshot["queued"] == []
    assert snapshot["running"] == []


def test_run_ends_come_back_to_the_scheduler_as_events(tmp_path: Path) -> None:
    """A run's end (its results, or the error that ended its worker) comes back
    to the scheduler as an event: it knows what runs and each job's last result
    without asking the history."""
    crontab = tmp_path / "crontab"
    crontab.write_text(
        "# pycron: name=once\n@at 2026-05-04T10:00:01+00:00 true\n"
        "# pycron: name=broken\n@at 2026-05-04T10:00:01+00:00 true\n"
    )
    now = [datetime(2026, 5, 4, 10, 0, tzinfo=UTC)]
    stream = io.StringIO()
    started, release = threading.Event(), threading.Event()
    while_running: list[dict[str, int]] = []

    def execute(launch: Launch, context: Context) -> list[RunResult]:
        if launch.entry.id == "broken":
            raise RuntimeError("no runner")
        started.set()
        release.wait(10)
        return [RunResult("once", launch.slot, 1, Outcome.FAILED, now[0], now[0], exit_code=3)]

    def sleep(seconds: float, wake: threading.Event) -> None:
        scheduler = daemon.scheduler
        assert scheduler is not None
        if started.wait(0) and not release.is_set():  # `once` waits for the test
            while_running.append(dict(scheduler.running))
            release.set()
        elif release.is_set():  # turns until its end has come back (or the deadline)
            deadline = time.monotonic() + 10
            while scheduler.running and daemon.events.empty() and time.monotonic() < deadline:
                time.sleep(0.01)
            if not scheduler.running or time.monotonic() > deadline:
                daemon.stop(immediately=True)
        now[0] += timedelta(seconds=max(seconds, 0.5))

    settings = Settings(crontab, tmp_path / "state", max_parallel=2, zone=UTC)
    daemon = Daemon(
        settings,
        clock=lambda: now[0],
        sleep=sleep,
        log=EventLog(stream, lambda: now[0]),
        pool=Workers,
        execute=execute,
        senders={},
        compose=compose_nothing,
    )
    assert daemon.run() == 0
    assert daemon.scheduler is not None
    assert [running.get("once") for running in while_running] == [1]
    assert daemon.scheduler.running == {}
    last = {j: (r.scheduled_for, r.outcome, r.exit_code) for j, r in daemon.scheduler.last.items()}
    assert last == {"once": (datetime(2026, 5, 4, 10, 0, 1, tzinfo=UTC), Outcome.FAILED, 3)}
    assert re.search(r" error +error +job=broken message=\"RuntimeError", stream.getvalue())


def test_the_grace_of_a_drain_is_counted_on_the_daemons_clock(tmp_path: Path) -> None:
    """A drain waits `--shutdown-grace` on the clock the daemon is given (not on
    summed waits): once that clock passes the grace, the running job is told to
    stop, however little real time went by."""
    crontab = tmp_path / "crontab"
    crontab.write_text("# pycron: name=long\n@at 2026-05-04T10:00:01+00:00 sleep 600\n")
    now = [datetime(2026, 5, 4, 10, 0, tzinfo=UTC)]
    clock_lock = threading.Lock()
    started, stopped = threading.Event(), threading.Event()

    def clock() -> datetime:
        with clock_lock:
            return now[0]

    def execute(launch: Launch, context: Context) -> list[RunResult]:
        started.set()
        assert context.stopping is not None
        deadline = time.monotonic() + 20  # real seconds, only so that a failure ends
        while not context.stopping() and time.monotonic() < deadline:
            time.sleep(0.01)
        if context.stopping():
            stopped.set()
        return []

    def advance() -> None:  # a minute of the daemon's clock per 10 ms, until the job stops
        deadline = time.monotonic() + 20
        while not stopped.is_set() and time.monotonic() < deadline:
            with clock_lock:
                now[0] += timedelta(minutes=1)
            time.sleep(0.01)

    def sleep(seconds: float, wake: threading.Event) -> None:
        if started.wait(0 if now[0] < datetime(2026, 5, 4, 10, 0, 1, tzinfo=UTC) else 10):
            daemon.stop()  # drain: the job gets the grace
            threading.Thread(target=advance, daemon=True).start()
            return
        with clock_lock:
            now[0] += timedelta(seconds=seconds)

    settings = Settings(
        crontab, tmp_path / "state", max_parallel=1, shutdown_grace=1800.0, zone=UTC
    )
    stream = io.StringIO()
    daemon = Daemon(
        settings,
        clock=clock,
        sleep=sleep,
        log=EventLog(stream, clock),
        pool=Workers,
        execute=execute,
        senders={},
        compose=compose_nothing,
    )
    assert daemon.run() == 0
    assert stopped.is_set()
    assert re.search(r" drain +running=1 grace=1800.0s$", stream.getvalue(), re.MULTILINE)
