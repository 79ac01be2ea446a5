"""The expression engine against worked examples of cron's rules.

Every expected value below is a worked example of the rules of cron expressions (the field
syntax and its extensions, the day-of-month / day-of-week rule, seconds and DST, as the README
states them) or derived by hand from them; none comes from running the engine. Times are
written in this notation: `YYYY-MM-DD HH:MM[:SS[.ffffff]]` (naive) with an optional
`+HH:MM`/`-HH:MM` suffix (aware: local wall time and its UTC offset).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta, timezone, tzinfo
from itertools import islice
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import pytest
from notation import instant, stamp

import pycron
from pycron import CronExpression, CronSyntaxError, NoMatchError, PycronError

NEW_YORK = "America/New_York"
LONDON = "Europe/London"
UTC = timezone.utc
ONE_MINUTE = timedelta(minutes=1)

# --------------------------------------------------------------------------- notation helpers


def fixed(text: str) -> datetime:
    """An aware time of the notation, as a datetime with a fixed-offset tzinfo."""
    wall, offset = stamp(text)
    assert offset is not None, f"{text!r} has no offset"
    return wall.replace(tzinfo=timezone(offset))


def naive(text: str) -> datetime:
    wall, offset = stamp(text)
    assert offset is None, f"{text!r} is not naive"
    return wall


def in_zone(text: str, zone: str | tzinfo) -> datetime:
    """The instant of an aware notation, expressed in `zone` (fold set by the conversion)."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    return fixed(text).astimezone(tz)


def describe(moment: datetime) -> tuple[datetime, timedelta | None, int]:
    """Wall clock fields, UTC offset and fold: what a result must show."""
    return moment.replace(tzinfo=None, fold=0), moment.utcoffset(), moment.fold


def assert_moment(result: datetime, text: str, tz: tzinfo | None = None) -> None:
    """`result` is the time written `text`: same instant, same wall fields, same offset, and
    fold 1 exactly when it is the second occurrence of a repeated local time. If `tz` is
    given the result must carry that very tzinfo object."""
    assert result.second == 0, result
    assert result.microsecond == 0, result
    wall, offset = stamp(text)
    if offset is None:
        assert result.tzinfo is None, f"expected a naive result, got {result!r}"
        assert result == wall
        return
    assert result.tzinfo is not None, f"expected an aware result, got {result!r}"
    if tz is not None:
        assert result.tzinfo is tz, f"result in {result.tzinfo!r}, expected {tz!r}"
    first_offset = wall.replace(tzinfo=result.tzinfo, fold=0).utcoffset()
    expected_fold = 0 if first_offset == offset else 1
    assert describe(result) == (wall, offset, expected_fold)
    assert instant(result) == instant(wall.replace(tzinfo=timezone(offset)))


def chain_next(cron: CronExpression, start: datetime, count: int) -> list[datetime]:
    out: list[datetime] = []
    moment = start
    for _ in range(count):
        moment = cron.next(moment)
        out.append(moment)
    return out


# --------------------------------------------------------------------------- next, prev, DST

# (key, expression, zone or None for naive, start, next 1, next 2, next 3)
ROWS: list[tuple[str, str, str | None, str, str, str, str]] = [
    (
        "1",
        "* * * * *",
        None,
        "2026-01-01 00:00",
        "2026-01-01 00:01",
        "2026-01-01 00:02",
        "2026-01-01 00:03",
    ),
    (
        "2",
        "*/15 * * * *",
        None,
        "2026-01-01 10:07:30",
        "2026-01-01 10:15",
        "2026-01-01 10:30",
        "2026-01-01 10:45",
    ),
    (
        "3",
        "0 * * * *",
        None,
        "2026-01-01 10:00",
        "2026-01-01 11:00",
        "2026-01-01 12:00",
        "2026-01-01 13:00",
    ),
    (
        "4",
        "*/7 * * * *",
        None,
        "2026-01-01 10:50",
        "2026-01-01 10:56",
        "2026-01-01 11:00",
        "2026-01-01 11:07",
    ),
    (
        "5",
        "0 0 */3 * *",
        None,
        "2026-01-29 00:00",
        "2026-01-31 00:00",
        "2026-02-01 00:00",
        "2026-02-04 00:00",
    ),
    (
        "6",
        "0 12 * * 7",
        None,
        "2026-01-01 00:00",
        "2026-01-04 12:00",
        "2026-01-11 12:00",
        "2026-01-18 12:00",
    ),
    (
        "7",
        "0 0 * * sat-sun",
        None,
        "2026-01-05 00:00",
        "2026-01-10 00:00",
        "2026-01-11 00:00",
        "2026-01-17 00:00",
    ),
    (
        "8",
        "0 0 * * MON-fri",
        None,
        "2026-01-02 12:00",
        "2026-01-05 00:00",
        "2026-01-06 00:00",
        "2026-01-07 00:00",
    ),
    (
        "9",
        "0 0 29 2 *",
        None,
        "2026-01-01 00:00",
        "2028-02-29 00:00",
        "2032-02-29 00:00",
        "2036-02-29 00:00",
    ),
    (
        "10",
        "30 10 * * *",
        None,
        "2026-01-01 10:30:00.000001",
        "2026-01-02 10:30",
        "2026-01-03 10:30",
        "2026-01-04 10:30",
    ),
    (
        "11",
        "*/100 * * * *",
        None,
        "2026-01-01 10:00",
        "2026-01-01 11:00",
        "2026-01-01 12:00",
        "2026-01-01 13:00",
    ),
    (
        "12",
        "30 4 1,15 * 5",
        None,
        "2026-01-01 00:00",
        "2026-01-01 04:30",
        "2026-01-02 04:30",
        "2026-01-09 04:30",
    ),
    (
        "13",
        "0 0 1-7 * 1",
        None,
        "2026-01-08 00:00",
        "2026-01-12 00:00",
        "2026-01-19 00:00",
        "2026-01-26 00:00",
    ),
    (
        "14",
        "0 0 */32,1-7 * 1",
        None,
        "2026-01-01 00:00",
        "2026-01-05 00:00",
        "2026-02-02 00:00",
        "2026-03-02 00:00",
    ),
    (
        "15",
        "0 0 */2 * sun",
        None,
        "2026-01-01 00:00",
        "2026-01-11 00:00",
        "2026-01-25 00:00",
        "2026-02-01 00:00",
    ),
    (
        "16",
        "0 0 1 * */2",
        None,
        "2026-01-01 00:00",
        "2026-02-01 00:00",
        "2026-03-01 00:00",
        "2026-08-01 00:00",
    ),
    (
        "17",
        "0 0 * * */2",
        None,
        "2026-01-01 00:00",
        "2026-01-03 00:00",
        "2026-01-04 00:00",
        "2026-01-06 00:00",
    ),
    (
        "18",
        "0 0 1,* * 1",
        None,
        "2026-01-01 00:00",
        "2026-01-02 00:00",
        "2026-01-03 00:00",
        "2026-01-04 00:00",
    ),
    (
        "19",
        "0 0 31 2 0",
        None,
        "2026-01-01 00:00",
        "2026-02-01 00:00",
        "2026-02-08 00:00",
        "2026-02-15 00:00",
    ),
    (
        "20",
        "@hourly",
        None,
        "2026-01-01 12:00",
        "2026-01-01 13:00",
        "2026-01-01 14:00",
        "2026-01-01 15:00",
    ),
    (
        "21",
        "5/15 * * * *",
        None,
        "2026-01-01 10:00",
        "2026-01-01 10:05",
        "2026-01-01 10:20",
        "2026-01-01 10:35",
    ),
    (
        "22",
        "59/15 * * * *",
        None,
        "2026-01-01 10:00",
        "2026-01-01 10:59",
        "2026-01-01 11:59",
        "2026-01-01 12:59",
    ),
    (
        "23",
        "0 0 * * 1/2",
        None,
        "2026-01-09 12:00",
        "2026-01-11 00:00",
        "2026-01-12 00:00",
        "2026-01-14 00:00",
    ),
    (
        "24",
        "0 0 1 jan/3 *",
        None,
        "2026-01-15 00:00",
        "2026-04-01 00:00",
        "2026-07-01 00:00",
        "2026-10-01 00:00",
    ),
    (
        "25",
        "0 0 L * *",
        None,
        "2026-01-01 00:00",
        "2026-01-31 00:00",
        "2026-02-28 00:00",
        "2026-03-31 00:00",
    ),
    (
        "26",
        "0 0 L-2 * *",
        None,
        "2026-01-01 00:00",
        "2026-01-29 00:00",
        "2026-02-26 00:00",
        "2026-03-29 00:00",
    ),
    (
        "27",
        "0 0 L-30 * *",
        None,
        "2026-01-15 00:00",
        "2026-03-01 00:00",
        "2026-05-01 00:00",
        "2026-07-01 00:00",
    ),
    (
        "28",
        "0 0 LW * *",
        None,
        "2026-01-01 00:00",
        "2026-01-30 00:00",
        "2026-02-27 00:00",
        "2026-03-31 00:00",
    ),
    (
        "29",
        "0 0 15W * *",
        None,
        "2026-01-01 00:00",
        "2026-01-15 00:00",
        "2026-02-16 00:00",
        "2026-03-16 00:00",
    ),
    (
        "30",
        "0 0 1W * *",
        None,
        "2026-07-15 00:00",
        "2026-08-03 00:00",
        "2026-09-01 00:00",
        "2026-10-01 00:00",
    ),
    (
        "31",
        "0 0 31W * *",
        None,
        "2026-05-01 00:00",
        "2026-05-29 00:00",
        "2026-07-31 00:00",
        "2026-08-31 00:00",
    ),
    (
        "32",
        "0 0 * * 5L",
        None,
        "2026-01-01 00:00",
        "2026-01-30 00:00",
        "2026-02-27 00:00",
        "2026-03-27 00:00",
    ),
    (
        "33",
        "0 0 * * 1#2",
        None,
        "2026-01-01 00:00",
        "2026-01-12 00:00",
        "2026-02-09 00:00",
        "2026-03-09 00:00",
    ),
    (
        "34",
        "0 0 * * 1#5",
        None,
        "2026-01-01 00:00",
        "2026-03-30 00:00",
        "2026-06-29 00:00",
        "2026-08-31 00:00",
    ),
    (
        "35",
        "0 0 L * 5",
        None,
        "2026-01-20 00:00",
        "2026-01-23 00:00",
        "2026-01-30 00:00",
        "2026-01-31 00:00",
    ),
    (
        "36",
        "0 0 1 * 2#1",
        None,
        "2026-01-01 00:00",
        "2026-01-06 00:00",
        "2026-02-01 00:00",
        "2026-02-03 00:00",
    ),
    (
        "37",
        "0 0 ? * 1",
        None,
        "2026-01-01 00:00",
        "2026-01-05 00:00",
        "2026-01-12 00:00",
        "2026-01-19 00:00",
    ),
    (
        "38",
        "0 0 * 2 1#5",
        None,
        "2026-01-01 00:00",
        "2044-02-29 00:00",
        "2072-02-29 00:00",
        "2112-02-29 00:00",
    ),
    (
        "39",
        "0 0 * * *",
        "America/Sao_Paulo",
        "2018-11-03 12:00-03:00",
        "2018-11-04 01:00-02:00",
        "2018-11-05 00:00-02:00",
        "2018-11-06 00:00-02:00",
    ),
    (
        "40",
        "0 * * * *",
        "Australia/Lord_Howe",
        "2019-10-06 01:43+10:30",
        "2019-10-06 03:00+11:00",
        "2019-10-06 04:00+11:00",
        "2019-10-06 05:00+11:00",
    ),
    (
        "41",
        "0 2 * * *",
        "Australia/Lord_Howe",
        "2019-10-05 12:00+10:30",
        "2019-10-06 02:30+11:00",
        "2019-10-07 02:00+11:00",
        "2019-10-08 02:00+11:00",
    ),
    (
        "42",
        "*/5 * * * *",
        "Europe/Zurich",
        "2023-10-29 02:30+01:00",
        "2023-10-29 02:35+01:00",
        "2023-10-29 02:40+01:00",
        "2023-10-29 02:45+01:00",
    ),
    (
        "43",
        "0 12 * * *",
        "Pacific/Apia",
        "2011-12-29 13:00-10:00",
        "2011-12-31 00:00+14:00",
        "2011-12-31 12:00+14:00",
        "2012-01-01 12:00+14:00",
    ),
    (
        "D1",
        "30 2 * * *",
        NEW_YORK,
        "2026-03-07 12:00-05:00",
        "2026-03-08 03:00-04:00",
        "2026-03-09 02:30-04:00",
        "2026-03-10 02:30-04:00",
    ),
    (
        "D2",
        "15,45 2 * * *",
        NEW_YORK,
        "2026-03-08 00:00-05:00",
        "2026-03-08 03:00-04:00",
        "2026-03-09 02:15-04:00",
        "2026-03-09 02:45-04:00",
    ),
    (
        "D3",
        "0,30 2,3 * * *",
        NEW_YORK,
        "2026-03-08 00:00-05:00",
        "2026-03-08 03:00-04:00",
        "2026-03-08 03:30-04:00",
        "2026-03-09 02:00-04:00",
    ),
    (
        "D4",
        "30 2 * * *",
        NEW_YORK,
        "2026-03-08 03:00-04:00",
        "2026-03-09 02:30-04:00",
        "2026-03-10 02:30-04:00",
        "2026-03-11 02:30-04:00",
    ),
    (
        "D5",
        "*/30 * * * *",
        NEW_YORK,
        "2026-03-08 01:00-05:00",
        "2026-03-08 01:30-05:00",
        "2026-03-08 03:00-04:00",
        "2026-03-08 03:30-04:00",
    ),
    (
        "D6",
        "*/20 2 * * *",
        NEW_YORK,
        "2026-03-07 12:00-05:00",
        "2026-03-09 02:00-04:00",
        "2026-03-09 02:20-04:00",
        "2026-03-09 02:40-04:00",
    ),
    (
        "D7",
        "@daily",
        NEW_YORK,
        "2026-03-07 12:00-05:00",
        "2026-03-08 00:00-05:00",
        "2026-03-09 00:00-04:00",
        "2026-03-10 00:00-04:00",
    ),
    (
        "D8",
        "30 1 * * *",
        NEW_YORK,
        "2026-10-31 12:00-04:00",
        "2026-11-01 01:30-04:00",
        "2026-11-02 01:30-05:00",
        "2026-11-03 01:30-05:00",
    ),
    (
        "D9",
        "30 1 * * *",
        NEW_YORK,
        "2026-11-01 01:40-04:00",
        "2026-11-02 01:30-05:00",
        "2026-11-03 01:30-05:00",
        "2026-11-04 01:30-05:00",
    ),
    (
        "D10",
        "45 1 * * *",
        NEW_YORK,
        "2026-11-01 01:30-05:00",
        "2026-11-02 01:45-05:00",
        "2026-11-03 01:45-05:00",
        "2026-11-04 01:45-05:00",
    ),
    (
        "D11",
        "*/30 * * * *",
        NEW_YORK,
        "2026-11-01 00:45-04:00",
        "2026-11-01 01:00-04:00",
        "2026-11-01 01:30-04:00",
        "2026-11-01 01:00-05:00",
    ),
    (
        "D12",
        "@hourly",
        NEW_YORK,
        "2026-11-01 00:30-04:00",
        "2026-11-01 01:00-04:00",
        "2026-11-01 01:00-05:00",
        "2026-11-01 02:00-05:00",
    ),
    (
        "D13",
        "0 0-23 * * *",
        NEW_YORK,
        "2026-11-01 00:30-04:00",
        "2026-11-01 01:00-04:00",
        "2026-11-01 02:00-05:00",
        "2026-11-01 03:00-05:00",
    ),
    (
        "D14",
        "30 1 * * *",
        LONDON,
        "2026-03-28 12:00+00:00",
        "2026-03-29 02:00+01:00",
        "2026-03-30 01:30+01:00",
        "2026-03-31 01:30+01:00",
    ),
    (
        "D15",
        "*/20 1 * * *",
        LONDON,
        "2026-03-29 00:50+00:00",
        "2026-03-30 01:00+01:00",
        "2026-03-30 01:20+01:00",
        "2026-03-30 01:40+01:00",
    ),
    (
        "D16",
        "30 1 * * *",
        LONDON,
        "2026-10-24 12:00+01:00",
        "2026-10-25 01:30+01:00",
        "2026-10-26 01:30+00:00",
        "2026-10-27 01:30+00:00",
    ),
    (
        "D17",
        "*/20 1 * * *",
        LONDON,
        "2026-10-25 01:50+01:00",
        "2026-10-25 01:00+00:00",
        "2026-10-25 01:20+00:00",
        "2026-10-25 01:40+00:00",
    ),
    (
        "D18",
        "0 2 * * *",
        LONDON,
        "2026-10-25 01:30+00:00",
        "2026-10-25 02:00+00:00",
        "2026-10-26 02:00+00:00",
        "2026-10-27 02:00+00:00",
    ),
    (
        "D19",
        "30 2 * * *",
        None,
        "2026-03-08 00:00",
        "2026-03-08 02:30",
        "2026-03-09 02:30",
        "2026-03-10 02:30",
    ),
]

# Section 5: "a naive start with the same wall time gives the same results except where the
# start is the second occurrence of a repeated time (D10, row 42)".
SECOND_OCCURRENCE_STARTS = {"D10", "42"}


class Row(NamedTuple):
    key: str
    expr: str
    zone: str | None
    start: str
    first: str
    second: str
    third: str

    @property
    def expected(self) -> tuple[str, str, str]:
        return self.first, self.second, self.third


def _rows(keep: Callable[[Row], bool]) -> list[Any]:
    rows = [Row(*data) for data in ROWS]
    return [
        pytest.param(row, id=f"{row.key}: {row.expr} [{row.zone or 'naive'}]")
        for row in rows
        if keep(row)
    ]


ALL_ROWS = _rows(lambda row: True)
AWARE_ROWS = _rows(lambda row: row.zone is not None)
NAIVE_WALL_ROWS = _rows(
    lambda row: row.zone is not None and row.key not in SECOND_OCCURRENCE_STARTS
)


def _start(start: str, zone: str | None) -> datetime:
    return naive(start) if zone is None else in_zone(start, zone)


@pytest.mark.parametrize("row", ALL_ROWS)
def test_next_three_times(row: Row) -> None:
    expr, zone, start = row.expr, row.zone, row.start
    cron = CronExpression(expr, tz=zone)
    results = chain_next(cron, _start(start, zone), 3)
    for result, expected in zip(results, row.expected, strict=True):
        assert_moment(result, expected, cron.tz)


@pytest.mark.parametrize("row", ALL_ROWS)
def test_iter_gives_the_same_three(row: Row) -> None:
    expr, zone, start = row.expr, row.zone, row.start
    cron = CronExpression(expr, tz=zone)
    results = list(islice(cron.iter(_start(start, zone)), 3))
    assert len(results) == 3
    for result, expected in zip(results, row.expected, strict=True):
        assert_moment(result, expected, cron.tz)


@pytest.mark.parametrize("row", ALL_ROWS)
def test_prev_walks_the_table_back(row: Row) -> None:
    """The three results are consecutive firings, so prev() of each is the one before it and
    prev() of the first is at or before the start."""
    expr, zone, start = row.expr, row.zone, row.start
    cron = CronExpression(expr, tz=zone)
    first, second, third = row.expected
    assert_moment(cron.prev(_start(third, zone)), second, cron.tz)
    assert_moment(cron.prev(_start(second, zone)), first, cron.tz)
    assert instant(cron.prev(_start(first, zone))) <= instant(_start(start, zone))


@pytest.mark.parametrize("row", ALL_ROWS)
def test_matches_every_result(row: Row) -> None:
    expr, zone = row.expr, row.zone
    cron = CronExpression(expr, tz=zone)
    for text in row.expected:
        assert cron.matches(_start(text, zone)), text
        if expr != "* * * * *":
            # One minute later (as an instant) no table expression fires.
            later = naive(text) + ONE_MINUTE if zone is None else fixed(text) + ONE_MINUTE
            assert not cron.matches(later), f"{text} + 1 minute"


@pytest.mark.parametrize("row", NAIVE_WALL_ROWS)
def test_naive_start_with_tz_is_wall_time_in_the_zone(row: Row) -> None:
    expr, zone, start = row.expr, row.zone, row.start
    assert zone is not None
    wall, _ = stamp(start)
    cron = CronExpression(expr, tz=zone)
    results = chain_next(cron, wall, 3)
    for result, expected in zip(results, row.expected, strict=True):
        assert_moment(result, expected, cron.tz)


def test_naive_second_occurrence_starts_mean_the_first_occurrence() -> None:
    """D10 and row 42 with a naive start: the wall time is read with fold=0, the first pass."""
    d10 = CronExpression("45 1 * * *", tz=NEW_YORK)
    # naive 01:30 = 01:30-04:00, so the 01:45-04:00 firing of the same night comes next.
    assert_moment(d10.next(naive("2026-11-01 01:30")), "2026-11-01 01:45-04:00", d10.tz)
    row42 = CronExpression("*/5 * * * *", tz="Europe/Zurich")
    assert_moment(row42.next(naive("2023-10-29 02:30")), "2023-10-29 02:35+02:00", row42.tz)


@pytest.mark.parametrize("form", ["utc", "fixed-offset"])
@pytest.mark.parametrize("row", AWARE_ROWS)
def test_start_in_another_zone_is_converted(row: Row, form: str) -> None:
    expr, zone, start = row.expr, row.zone, row.start
    assert zone is not None
    moment = fixed(start).astimezone(UTC) if form == "utc" else fixed(start)
    cron = CronExpression(expr, tz=zone)
    results = chain_next(cron, moment, 3)
    for result, expected in zip(results, row.expected, strict=True):
        assert_moment(result, expected, cron.tz)


@pytest.mark.parametrize("row", AWARE_ROWS)
def test_without_tz_the_input_zone_is_the_schedule_zone(row: Row) -> None:
    expr, zone, start = row.expr, row.zone, row.start
    assert zone is not None
    tz = ZoneInfo(zone)
    cron = CronExpression(expr)
    assert cron.tz is None
    results = chain_next(cron, in_zone(start, tz), 3)
    for result, expected in zip(results, row.expected, strict=True):
        assert_moment(result, expected, tz)


# --------------------------------------------------------------------------- prev() of 2.3

PREV_CASES = [
    pytest.param(
        "30 2 * * *",
        NEW_YORK,
        "2026-03-08 12:00-04:00",
        "2026-03-08 03:00-04:00",
        id="NY gap firing",
    ),
    pytest.param(
        "30 1 * * *",
        NEW_YORK,
        "2026-11-01 03:00-05:00",
        "2026-11-01 01:30-04:00",
        id="NY fixed first pass",
    ),
    pytest.param(
        "*/30 * * * *",
        NEW_YORK,
        "2026-11-01 01:00-05:00",
        "2026-11-01 01:30-04:00",
        id="NY wildcard back into first pass",
    ),
    pytest.param(
        "30 1 * * *",
        LONDON,
        "2026-03-29 12:00+01:00",
        "2026-03-29 02:00+01:00",
        id="London gap firing",
    ),
    pytest.param("0 0 29 2 *", None, "2028-03-01 00:00", "2028-02-29 00:00", id="naive leap day"),
]


@pytest.mark.parametrize(("expr", "zone", "before", "expected"), PREV_CASES)
def test_prev_examples(expr: str, zone: str | None, before: str, expected: str) -> None:
    cron = CronExpression(expr, tz=zone)
    assert_moment(cron.prev(_start(before, zone)), expected, cron.tz)


def test_naive_input_with_tz_in_the_fold_is_the_first_pass() -> None:
    cron = CronExpression("*/30 * * * *", tz=NEW_YORK)
    assert_moment(cron.next(naive("2026-11-01 01:30")), "2026-11-01 01:00-05:00", cron.tz)


# --------------------------------------------------------------------------- seconds


def test_seconds_of_the_input_are_honoured() -> None:
    quarter = CronExpression("*/15 * * * *")
    assert_moment(quarter.next(naive("2026-01-01 10:07:30")), "2026-01-01 10:15")
    daily = CronExpression("30 10 * * *")
    assert_moment(daily.next(naive("2026-01-01 10:30:00.000001")), "2026-01-02 10:30")
    assert_moment(daily.prev(naive("2026-01-01 10:30:00.5")), "2026-01-01 10:30")
    assert_moment(daily.prev(naive("2026-01-01 10:30:00.000001")), "2026-01-01 10:30")
    assert_moment(daily.prev(naive("2026-01-01 10:30")), "2025-12-31 10:30")
    assert_moment(daily.next(naive("2026-01-01 10:29:59.999999")), "2026-01-01 10:30")


def test_seconds_of_an_aware_input_are_honoured() -> None:
    daily = CronExpression("30 10 * * *", tz=NEW_YORK)
    assert_moment(
        daily.next(in_zone("2026-01-01 10:30:00.000001-05:00", NEW_YORK)),
        "2026-01-02 10:30-05:00",
        daily.tz,
    )
    assert_moment(
        daily.prev(in_zone("2026-01-01 10:30:00.5-05:00", NEW_YORK)),
        "2026-01-01 10:30-05:00",
        daily.tz,
    )
    assert_moment(
        daily.next(in_zone("2026-01-01 10:07:30-05:00", NEW_YORK)),
        "2026-01-01 10:30-05:00",
        daily.tz,
    )


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        pytest.param("2026-01-01 10:30", True, id="on the minute"),
        pytest.param("2026-01-01 10:30:59.999999", True, id="end of the minute"),
        pytest.param("2026-01-01 10:30:00.5", True, id="inside the minute"),
        pytest.param("2026-01-01 10:31", False, id="next minute"),
        pytest.param("2026-01-01 10:29:59.999999", False, id="previous minute"),
    ],
)
def test_matches_has_minute_granularity(moment: str, expected: bool) -> None:
    assert CronExpression("30 10 * * *").matches(naive(moment)) is expected


# --------------------------------------------------------------------------- matches() of 2.2

MATCHES_CASES = [
    pytest.param("30 2 * * *", "2026-03-08 03:00-04:00", True, id="gap firing"),
    pytest.param("30 2 * * *", "2026-03-08 03:00:59-04:00", True, id="gap firing, seconds"),
    pytest.param("30 2 * * *", "2026-03-08 07:00+00:00", True, id="gap firing, same instant"),
    # Fold examples sometimes appear under `30 2 * * *`, but 01:30 cannot satisfy hour 2
    # in any pass: they are the fixed-job examples of `30 1 * * *` (D8, and the prev() example
    # of 2.3), which is what is tested here. `30 2 * * *` matches neither (both are 01:30).
    pytest.param("30 1 * * *", "2026-11-01 01:30-04:00", True, id="fold first pass"),
    pytest.param("30 1 * * *", "2026-11-01 01:30-05:00", False, id="fold second pass"),
    pytest.param("30 2 * * *", "2026-11-01 01:30-04:00", False, id="hour 2 never at 01:30"),
    pytest.param("30 2 * * *", "2026-11-01 02:30-05:00", True, id="02:30 exists once"),
    pytest.param("*/30 * * * *", "2026-11-01 01:30-05:00", True, id="wildcard second pass"),
]


@pytest.mark.parametrize(("expr", "moment", "expected"), MATCHES_CASES)
def test_matches_examples_with_tz(expr: str, moment: str, expected: bool) -> None:
    cron = CronExpression(expr, tz=NEW_YORK)
    assert cron.matches(fixed(moment)) is expected
    assert cron.matches(fixed(moment).astimezone(UTC)) is expected


@pytest.mark.parametrize(("expr", "moment", "expected"), MATCHES_CASES)
def test_matches_examples_in_the_input_zone(expr: str, moment: str, expected: bool) -> None:
    cron = CronExpression(expr)
    assert cron.matches(in_zone(moment, NEW_YORK)) is expected


def test_naive_matches_has_no_dst() -> None:
    assert CronExpression("30 2 * * *").matches(naive("2026-03-08 02:30"))
    assert not CronExpression("30 2 * * *").matches(naive("2026-03-08 03:00"))


# --------------------------------------------------------------------------- zones and results


def test_fixed_offset_zone_has_no_transitions() -> None:
    # (That the result carries the very tzinfo object is test_result_tzinfo_is_the_very_object.)
    minus_five = timezone(timedelta(hours=-5))
    cron = CronExpression("30 2 * * *", tz=minus_five)
    result = cron.next(naive("2026-03-08 00:00"))
    assert_moment(result, "2026-03-08 02:30-05:00")
    assert result.tzinfo == minus_five
    # Without tz the input's fixed-offset zone is the schedule zone: no gap either.
    plain = CronExpression("30 2 * * *")
    start = naive("2026-03-08 00:00").replace(tzinfo=minus_five)
    result = plain.next(start)
    assert_moment(result, "2026-03-08 02:30-05:00")
    assert result.tzinfo == minus_five
    result = CronExpression("0 0 * * *", tz=UTC).next(start)
    assert_moment(result, "2026-03-09 00:00+00:00")
    assert result.tzinfo == UTC


@pytest.mark.parametrize(
    ("expr", "zone", "start"),
    [
        pytest.param("30 2 * * *", NEW_YORK, "2026-03-07 12:00-05:00", id="NY gap"),
        pytest.param("*/20 1 * * *", LONDON, "2026-10-24 23:30+01:00", id="London fold"),
        pytest.param("@hourly", NEW_YORK, "2026-10-31 23:00-04:00", id="NY fold hourly"),
        pytest.param("0 0 L * 5", "Australia/Lord_Howe", "2026-03-20 00:00+11:00", id="LH days"),
    ],
)
def test_tz_as_name_or_object_gives_the_same_results(expr: str, zone: str, start: str) -> None:
    by_name = CronExpression(expr, tz=zone)
    assert str(by_name.tz) == zone
    own = ZoneInfo.no_cache(zone)
    by_object = CronExpression(expr, tz=own)
    assert by_object.tz is own
    named = list(islice(by_name.iter(fixed(start)), 8))
    objected = list(islice(by_object.iter(fixed(start)), 8))
    assert [describe(m) for m in named] == [describe(m) for m in objected]
    assert [instant(m) for m in named] == [instant(m) for m in objected]
    assert all(m.tzinfo is by_name.tz for m in named)
    assert all(m.tzinfo is own for m in objected)


def test_results_are_in_the_requested_zone() -> None:
    cron = CronExpression("0 9 * * *", tz=NEW_YORK)
    result = cron.next(datetime(2026, 1, 1, 12, 0, tzinfo=UTC))  # 07:00 EST
    assert_moment(result, "2026-01-01 09:00-05:00", cron.tz)
    result = cron.next(datetime(2026, 1, 1, 15, 0, tzinfo=UTC))  # 10:00 EST
    assert_moment(result, "2026-01-02 09:00-05:00", cron.tz)
    result = cron.prev(datetime(2026, 7, 1, 13, 0, 30, tzinfo=UTC))  # 09:00:30 EDT
    assert_moment(result, "2026-07-01 09:00-04:00", cron.tz)
    tokyo = ZoneInfo("Asia/Tokyo")
    result = cron.next(datetime(2026, 1, 1, 23, 0, tzinfo=tokyo))  # 09:00 EST exactly
    assert_moment(result, "2026-01-02 09:00-05:00", cron.tz)
    assert cron.matches(datetime(2026, 1, 1, 23, 0, 30, tzinfo=tokyo))


def test_result_tzinfo_is_the_very_object() -> None:
    """Equal fixed-offset zones may differ in name: the result carries the caller's object."""
    eastern = timezone(timedelta(hours=-5), "EST")
    elsewhere = timezone(timedelta(hours=-5), "Elsewhere")
    cron = CronExpression("30 2 * * *")
    for tz in (eastern, elsewhere):
        result = cron.next(datetime(2026, 3, 8, tzinfo=tz))
        assert result.tzinfo is tz
        assert result.tzname() == tz.tzname(None)
    for tz in (eastern, elsewhere):
        zoned = CronExpression("30 2 * * *", tz=tz)
        assert zoned.tz is tz
        result = zoned.next(datetime(2026, 3, 8))
        assert result.tzinfo is tz
        assert result.tzname() == tz.tzname(None)
        assert zoned.prev(datetime(2026, 3, 8, 12)).tzinfo is tz


def test_results_carry_no_seconds() -> None:
    for expr, zone in [("*/15 * * * *", None), ("*/15 * * * *", NEW_YORK), ("@daily", LONDON)]:
        cron = CronExpression(expr, tz=zone)
        start = datetime(2026, 3, 7, 10, 7, 31, 123456)
        for result in [*islice(cron.iter(start), 5), cron.prev(start)]:
            assert result.second == 0
            assert result.microsecond == 0


@pytest.mark.parametrize(
    "name",
    [
        "Mars/Olympus_Mons",
        "",
        "America/New_York ",
        "../../etc/passwd",
        "/etc/localtime",
        "America",  # a directory of the zone database, not a zone
        "Europe",
    ],
    ids=repr,
)
def test_unknown_zone_name_is_a_value_error(name: str) -> None:
    with pytest.raises(pycron.UnknownTimeZoneError) as caught:
        CronExpression("* * * * *", tz=name)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, PycronError)


def test_text_tz_and_repr() -> None:
    cron = CronExpression("  */5 * * * *  ")
    assert cron.text == "  */5 * * * *  "
    assert cron.tz is None
    assert "*/5 * * * *" in repr(cron)
    zoned = CronExpression("@daily", tz=NEW_YORK)
    assert zoned.text == "@daily"
    assert str(zoned.tz) == NEW_YORK
    assert "@daily" in repr(zoned)


# --------------------------------------------------------------------------- NoMatchError (2.4)

NEVER = ["0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 L-30 2 *", "0 0 30W 2 *"]


@pytest.mark.parametrize("zone", [None, NEW_YORK, "Australia/Lord_Howe"])
@pytest.mark.parametrize("expr", NEVER)
def test_unsatisfiable_expressions_parse_and_raise_no_match(expr: str, zone: str | None) -> None:
    cron = CronExpression(expr, tz=zone)
    start = datetime(2026, 5, 17, 13, 45)
    with pytest.raises(NoMatchError):
        cron.next(start)
    with pytest.raises(NoMatchError):
        cron.prev(start)
    assert not cron.matches(datetime(2026, 2, 28, 0, 0))


@pytest.mark.parametrize("zone", [None, NEW_YORK])
@pytest.mark.parametrize("expr", NEVER)
def test_iter_raises_no_match_only_when_an_item_is_requested(expr: str, zone: str | None) -> None:
    items = CronExpression(expr, tz=zone).iter(datetime(2026, 1, 1))
    with pytest.raises(NoMatchError):
        next(items)


def test_no_match_is_a_value_error() -> None:
    assert issubclass(NoMatchError, ValueError)
    assert issubclass(NoMatchError, PycronError)


def test_results_beyond_the_datetime_range_raise_no_match() -> None:
    yearly = CronExpression("0 0 1 1 *")
    items = yearly.iter(datetime(9998, 6, 1))
    assert next(items) == datetime(9999, 1, 1)
    with pytest.raises(NoMatchError):
        next(items)
    with pytest.raises(NoMatchError):
        CronExpression("* * * * *").next(datetime(9999, 12, 31, 23, 59))
    with pytest.raises(NoMatchError):
        CronExpression("* * * * *").prev(datetime(1, 1, 1, 0, 0))
    in_utc = CronExpression("* * * * *", tz=UTC)
    with pytest.raises(NoMatchError):
        in_utc.next(datetime(9999, 12, 31, 23, 59, tzinfo=UTC))
    last = in_utc.next(datetime(9999, 12, 31, 23, 57, 30, tzinfo=UTC))
    assert last == datetime(9999, 12, 31, 23, 58, tzinfo=UTC)


def test_one_expression_object_serves_several_zones() -> None:
    """Without tz, each input brings its own zone; nothing learnt for one leaks into another."""
    shared = CronExpression("30 2 * * *")
    calls = [
        (naive("2026-03-08 00:00"), "2026-03-08 02:30"),
        (in_zone("2026-03-08 00:00-05:00", NEW_YORK), "2026-03-08 03:00-04:00"),
        (in_zone("2026-03-08 00:00+00:00", LONDON), "2026-03-08 02:30+00:00"),
        (in_zone("2026-03-29 00:00+00:00", LONDON), "2026-03-29 02:30+01:00"),
        (in_zone("2026-03-08 00:00-05:00", "Asia/Tokyo"), "2026-03-09 02:30+09:00"),
        (naive("2026-03-08 00:00"), "2026-03-08 02:30"),
        (in_zone("2026-03-08 00:00-05:00", NEW_YORK), "2026-03-08 03:00-04:00"),
        (fixed("2026-03-08 00:00-05:00"), "2026-03-08 02:30-05:00"),
    ]
    for start, expected in calls:
        result = shared.next(start)
        assert_moment(result, expected)
        assert result.tzinfo == start.tzinfo
    assert shared.matches(in_zone("2026-03-08 03:00-04:00", NEW_YORK))
    assert not shared.matches(naive("2026-03-08 03:00"))
    assert shared.matches(naive("2026-03-08 02:30"))


def test_fold_of_an_input_without_tz() -> None:
    tz = ZoneInfo(NEW_YORK)
    cron = CronExpression("*/30 * * * *")
    second_pass = datetime(2026, 11, 1, 1, 30, tzinfo=tz, fold=1)
    assert_moment(cron.next(second_pass), "2026-11-01 02:00-05:00", tz)
    assert_moment(cron.prev(second_pass), "2026-11-01 01:00-05:00", tz)
    assert cron.matches(second_pass)
    assert not CronExpression("30 1 * * *").matches(second_pass)


def test_long_searches_find_the_rare_monday_february_29() -> None:
    """A 28-year window would miss 2072 -> 2112; the 400-year bound must not."""
    cron = CronExpression("0 0 * 2 1#5")
    assert cron.next(datetime(2072, 3, 1)) == datetime(2112, 2, 29)
    assert cron.prev(datetime(2112, 2, 28)) == datetime(2072, 2, 29)


# --------------------------------------------------------------------------- must accept (1.5)

MUST_ACCEPT = [
    "*/100 * * * *",
    "*/61 * * * *",
    "00 05 * * *",
    "0 0 * * 007",
    "0 0 * * 7",
    "0 0 * * 0-7",
    "0 0 * * 1-7",
    "0 0 * * sat-sun",
    "0 0 * * 5-0",
    "0 0 * * MON-fri/2",
    "0 0 * jan-mar *",
    "*,5 * * * *",
    "0,*/5 * * * *",
    "1-5/2,10 * * * *",
    "0 0 30 2 *",
    "0\t0\t*\t*\t*",
    "0  0 \t *   *\t\t*",
    "  @daily  ",
    "5/15 * * * *",
    "0 0 L * *",
    "0 0 L-3 * *",
    "0 0 LW * *",
    "0 0 15W * *",
    "0 0 * * 5L",
    "0 0 * * 1#2",
    "0 0 ? * 1",
    "0 0 1,L * *",
    "  0 0 * * *  ",
    "\t0 0 * * *\t",
    "\t@hourly",
    "0 0 ? * ?",
    "0 0 l * *",
    "0 0 lw * *",
    "0 0 15w * *",
    "0 0 * * friL",
    "0 0 * * mon#1",
    "0 0 * * 1#1,5L",
    "0 0 * * 1-5,6#3",
    "0 0 L-1,L * *",
    "0 0 1,15,L * *",
    "0 0 * * 0L",
    "0 0 * * 7#1",
    "0 0 L-0 * *",
    "0 0 L-30 * *",
    "0 0 * 1-mar *",
    "0 0 * JAN,Feb,mAr *",
    "0 0 * * 5-0/2",
    "0 0 * * fri-sun",
]


@pytest.mark.parametrize("text", MUST_ACCEPT, ids=repr)
def test_must_accept(text: str) -> None:
    cron = CronExpression(text)
    assert cron.text == text


# --------------------------------------------------------------------------- nicknames (1.2)

NICKNAMES = [
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
    ("  @daily  ", "0 0 * * *"),
    ("\t@weekly ", "0 0 * * 0"),
]
NICKNAME_STARTS = [
    pytest.param(None, "2026-01-01 00:00", id="naive new year"),
    pytest.param(None, "2026-02-28 23:59:30", id="naive end of february"),
    pytest.param(NEW_YORK, "2026-03-07 12:00-05:00", id="NY spring"),
    pytest.param(NEW_YORK, "2026-10-31 23:30-04:00", id="NY fall"),
    pytest.param(LONDON, "2026-10-24 22:00+01:00", id="London fall"),
    pytest.param("America/Sao_Paulo", "2018-11-03 20:00-03:00", id="Sao Paulo midnight gap"),
]


@pytest.mark.parametrize(("zone", "start"), NICKNAME_STARTS)
@pytest.mark.parametrize(("nickname", "fields"), NICKNAMES, ids=[n for n, _ in NICKNAMES])
def test_nickname_equivalences(nickname: str, fields: str, zone: str | None, start: str) -> None:
    short = CronExpression(nickname, tz=zone)
    long = CronExpression(fields, tz=zone)
    moment = _start(start, zone)
    got = list(islice(short.iter(moment), 5))
    want = list(islice(long.iter(moment), 5))
    assert [instant(m) for m in got] == [instant(m) for m in want]
    assert [describe(m) for m in got] == [describe(m) for m in want]
    assert describe(short.prev(moment)) == describe(long.prev(moment))


# --------------------------------------------------------------------------- field semantics


def _collect(expr: str, after: datetime, stop: datetime) -> list[datetime]:
    """Every naive firing of `expr` strictly after `after` and before `stop`."""
    found: list[datetime] = []
    for moment in CronExpression(expr).iter(after):
        if moment >= stop:
            break
        found.append(moment)
    return found


def minutes_of(field: str) -> set[int]:
    start = datetime(2026, 1, 1, 9, 59)
    return {m.minute for m in _collect(f"{field} * * * *", start, datetime(2026, 1, 1, 11))}


def hours_of(field: str) -> set[int]:
    start = datetime(2025, 12, 31, 23, 59)
    return {m.hour for m in _collect(f"0 {field} * * *", start, datetime(2026, 1, 2))}


def days_of(field: str, year: int, month: int) -> set[int]:
    start = datetime(year, month, 1) - ONE_MINUTE
    stop = datetime(year + month // 12, month % 12 + 1, 1)
    return {m.day for m in _collect(f"0 0 {field} * *", start, stop)}


def months_of(field: str) -> set[int]:
    start = datetime(2025, 12, 31, 23, 59)
    return {m.month for m in _collect(f"0 0 1 {field} *", start, datetime(2027, 1, 1))}


def weekdays_of(field: str) -> set[int]:
    """Cron weekday numbers (Sunday = 0) firing in the week Sun 2026-01-04 .. Sat 01-10."""
    start = datetime(2026, 1, 3, 23, 59)
    found = _collect(f"0 0 * * {field}", start, datetime(2026, 1, 11))
    return {m.isoweekday() % 7 for m in found}


ALL_MINUTES = set(range(60))
ALL_WEEKDAYS = set(range(7))

MINUTE_FIELDS = [
    ("*,5", ALL_MINUTES),
    ("0,*/5", set(range(0, 60, 5))),
    ("5-5", {5}),
    ("5/15", {5, 20, 35, 50}),
    ("59/15", {59}),
    ("*/7", set(range(0, 57, 7))),
    ("*/60", {0}),
    ("*/61", {0}),
    ("*/100", {0}),
    ("10-20/30", {10}),
    ("1-5/2,10", {1, 3, 5, 10}),
    ("5,5,1", {1, 5}),
    ("07", {7}),
    ("0-59/20", {0, 20, 40}),
    ("50-59", set(range(50, 60))),
    ("*", ALL_MINUTES),
]
HOUR_FIELDS = [
    ("*/23", {0, 23}),
    ("05", {5}),
    ("22-23,0-2", {22, 23, 0, 1, 2}),
    ("*/5", {0, 5, 10, 15, 20}),
    ("20/2", {20, 22}),
]
MONTH_FIELDS = [
    ("jan/3", {1, 4, 7, 10}),
    ("1-mar", {1, 2, 3}),
    ("jan-mar", {1, 2, 3}),
    ("JAN,Dec,mAy", {1, 5, 12}),
    ("*/5", {1, 6, 11}),
    ("nov/1", {11, 12}),
    ("12", {12}),
]
WEEKDAY_FIELDS = [
    ("0,7", {0}),
    ("7", {0}),
    ("007", {0}),
    ("0-7", ALL_WEEKDAYS),
    ("1-7", ALL_WEEKDAYS),
    ("sat-sun", {6, 0}),
    ("5-0", {5, 6, 0}),
    ("5-0/2", {5, 0}),
    ("fri-sun", {5, 6, 0}),
    ("1/2", {1, 3, 5, 0}),
    ("*/2", {0, 2, 4, 6}),
    ("mon,WED,Fri", {1, 3, 5}),
    ("MON-fri/2", {1, 3, 5}),
    ("mon-fri", {1, 2, 3, 4, 5}),
    ("sun", {0}),
    ("6-7", {6, 0}),
    ("*/7", {0}),
    ("*/3", {0, 3, 6}),
    ("0-0", {0}),
    ("1-0", ALL_WEEKDAYS),
]


@pytest.mark.parametrize(("field", "expected"), MINUTE_FIELDS, ids=[f for f, _ in MINUTE_FIELDS])
def test_minute_field_values(field: str, expected: set[int]) -> None:
    assert minutes_of(field) == expected


@pytest.mark.parametrize(("field", "expected"), HOUR_FIELDS, ids=[f for f, _ in HOUR_FIELDS])
def test_hour_field_values(field: str, expected: set[int]) -> None:
    assert hours_of(field) == expected


@pytest.mark.parametrize(("field", "expected"), MONTH_FIELDS, ids=[f for f, _ in MONTH_FIELDS])
def test_month_field_values(field: str, expected: set[int]) -> None:
    assert months_of(field) == expected


@pytest.mark.parametrize(("field", "expected"), WEEKDAY_FIELDS, ids=[f for f, _ in WEEKDAY_FIELDS])
def test_day_of_week_field_values(field: str, expected: set[int]) -> None:
    assert weekdays_of(field) == expected


# (day-of-month field, year, month, expected days). Weekdays of the dates involved, 2026:
# Jan 15 Thu, Jan 17 Sat, Jan 31 Sat, Feb 1 Sun, Feb 15 Sun, Feb 28 Sat, Mar 1 Sun,
# Mar 31 Tue, May 31 Sun, Aug 1 Sat, Aug 30 Sun, Oct 31 Sat, Nov 30 Mon; 2028-02-29 Tue.
DAY_OF_MONTH_CASES = [
    ("*/3", 2026, 1, set(range(1, 32, 3))),
    ("1/10", 2026, 1, {1, 11, 21, 31}),
    ("1/10", 2026, 2, {1, 11, 21}),
    ("*/32", 2026, 1, {1}),
    ("L", 2026, 1, {31}),
    ("L", 2026, 2, {28}),
    ("L", 2028, 2, {29}),
    ("L", 2026, 4, {30}),
    ("l", 2026, 4, {30}),
    ("L-0", 2026, 1, {31}),
    ("L-2", 2026, 1, {29}),
    ("L-2", 2026, 2, {26}),
    ("L-30", 2026, 1, {1}),
    ("L-30", 2026, 4, set()),
    ("L-30", 2026, 2, set()),
    ("L-29", 2026, 4, {1}),
    ("L-28", 2026, 2, set()),
    ("L-27", 2026, 2, {1}),
    ("L-1,L", 2026, 2, {27, 28}),
    ("1,15,L", 2026, 1, {1, 15, 31}),
    ("15W", 2026, 1, {15}),
    ("15W", 2026, 2, {16}),
    ("15w", 2026, 2, {16}),
    ("15W,15", 2026, 2, {15, 16}),
    ("17W", 2026, 1, {16}),
    ("1W", 2026, 8, {3}),
    ("1W", 2026, 2, {2}),
    ("1W", 2026, 3, {2}),
    ("28W", 2026, 2, {27}),
    ("30W", 2026, 8, {31}),
    ("30W", 2026, 11, {30}),
    ("30W", 2026, 2, set()),
    ("30W", 2028, 2, set()),
    ("29W", 2026, 2, set()),
    ("29W", 2028, 2, {29}),
    ("31W", 2026, 5, {29}),
    ("31W", 2026, 6, set()),
    ("31W", 2026, 10, {30}),
    ("LW", 2026, 1, {30}),
    ("LW", 2026, 2, {27}),
    ("LW", 2026, 3, {31}),
    ("LW", 2026, 5, {29}),
    ("LW", 2026, 10, {30}),
    ("lw", 2026, 5, {29}),
    ("L,LW", 2026, 5, {29, 31}),
]


@pytest.mark.parametrize(
    ("field", "year", "month", "expected"),
    DAY_OF_MONTH_CASES,
    ids=[f"{f} {y}-{m:02d}" for f, y, m, _ in DAY_OF_MONTH_CASES],
)
def test_day_of_month_field_values(field: str, year: int, month: int, expected: set[int]) -> None:
    assert days_of(field, year, month) == expected


def _dow(day: date) -> int:
    return day.isoweekday() % 7


def _last(day: date) -> int:
    return ((day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)).day


def _nth(day: date) -> int:
    """Which occurrence of its weekday in the month `day` is (1..5)."""
    return (day.day - 1) // 7 + 1


DayRule = Callable[[date], bool]

# (day-of-month, month, day-of-week fields, the days of 2026 they select by cron's day rule)
DAY_RULE_CASES: list[tuple[str, DayRule]] = [
    ("1,15 * 5", lambda d: d.day in {1, 15} or _dow(d) == 5),
    ("1-7 * 1", lambda d: d.day <= 7 or _dow(d) == 1),
    ("*/2 * sun", lambda d: _dow(d) == 0 and d.day % 2 == 1),
    ("1 * */2", lambda d: d.day == 1 and _dow(d) in {0, 2, 4, 6}),
    ("1,* * 1", lambda d: True),
    ("1-31 * 1", lambda d: True),
    ("*/1 * 1", lambda d: _dow(d) == 1),
    ("*,1 * 1", lambda d: _dow(d) == 1),
    ("L * 5", lambda d: d.day == _last(d) or _dow(d) == 5),
    ("* * 5L", lambda d: _dow(d) == 5 and d.day > _last(d) - 7),
    ("? * 1", lambda d: _dow(d) == 1),
    ("? * ?", lambda d: True),
    ("1 * ?", lambda d: d.day == 1),
    ("* * *", lambda d: True),
    ("* * 1#2", lambda d: _dow(d) == 1 and _nth(d) == 2),
    ("* * mon#1", lambda d: _dow(d) == 1 and _nth(d) == 1),
    ("* * 5#5", lambda d: _dow(d) == 5 and _nth(d) == 5),
    ("* * 0L", lambda d: _dow(d) == 0 and d.day > _last(d) - 7),
    ("* * 7L", lambda d: _dow(d) == 0 and d.day > _last(d) - 7),
    ("* * friL", lambda d: _dow(d) == 5 and d.day > _last(d) - 7),
    ("* * 0#1", lambda d: _dow(d) == 0 and d.day <= 7),
    ("* * 7#1", lambda d: _dow(d) == 0 and d.day <= 7),
    (
        "* * 1#1,5L",
        lambda d: (_dow(d) == 1 and d.day <= 7) or (_dow(d) == 5 and d.day > _last(d) - 7),
    ),
    ("* * 1-5,6#3", lambda d: 1 <= _dow(d) <= 5 or (_dow(d) == 6 and _nth(d) == 3)),
    ("*/32,1-7 * 1", lambda d: d.day <= 7 and _dow(d) == 1),
    ("1 * 2#1", lambda d: d.day == 1 or (_dow(d) == 2 and d.day <= 7)),
    ("L-30 * *", lambda d: d.day == 1 and _last(d) == 31),
    ("L * ?", lambda d: d.day == _last(d)),
    ("13 * 5", lambda d: d.day == 13 or _dow(d) == 5),
    ("13 * */7", lambda d: d.day == 13 and _dow(d) == 0),
    ("* feb,mar 1", lambda d: d.month in {2, 3} and _dow(d) == 1),
    ("1 jun-aug 0", lambda d: d.month in {6, 7, 8} and (d.day == 1 or _dow(d) == 0)),
]

YEAR_2026 = [date(2026, 1, 1) + timedelta(days=n) for n in range(365)]


@pytest.mark.parametrize(("days", "rule"), DAY_RULE_CASES, ids=[days for days, _ in DAY_RULE_CASES])
def test_day_rule_over_2026(days: str, rule: DayRule) -> None:
    found = _collect(f"0 0 {days}", datetime(2025, 12, 31, 23, 59), datetime(2027, 1, 1))
    assert sorted(m.date() for m in found) == [d for d in YEAR_2026 if rule(d)]


WHOLE_EXPRESSIONS = [
    pytest.param(
        "00 05 * * *",
        "2026-01-01 00:00",
        ["2026-01-01 05:00", "2026-01-02 05:00"],
        id="S1 leading zeros",
    ),
    pytest.param(
        "0 0 * * 007",
        "2026-01-01 00:00",
        ["2026-01-04 00:00", "2026-01-11 00:00"],
        id="S1 007 is Sunday",
    ),
    pytest.param(
        "*/7 * * * *",
        "2026-01-01 10:55",
        ["2026-01-01 10:56", "2026-01-01 11:00"],
        id="S6 no carry over the hour",
    ),
    pytest.param(
        "0 */23 * * *",
        "2026-01-01 01:00",
        ["2026-01-01 23:00", "2026-01-02 00:00", "2026-01-02 23:00"],
        id="S6 */23 hours",
    ),
    pytest.param(
        "0 0 */3 * *",
        "2026-01-30 00:00",
        ["2026-01-31 00:00", "2026-02-01 00:00"],
        id="S6 day steps restart each month",
    ),
    pytest.param(
        "0 0 */32 * *",
        "2026-01-01 00:00",
        ["2026-02-01 00:00", "2026-03-01 00:00"],
        id="S7 */32 days",
    ),
    pytest.param(
        "0 0 30 2 1",
        "2026-01-31 00:00",
        ["2026-02-02 00:00", "2026-02-09 00:00"],
        id="1.4 OR with an impossible date",
    ),
    pytest.param(
        "0 0 L * *",
        "2028-02-01 00:00",
        ["2028-02-29 00:00", "2028-03-31 00:00"],
        id="1.3 L in a leap February",
    ),
    pytest.param("0 0 ? * 1", "2026-01-05 00:00", ["2026-01-12 00:00"], id="1.3 ? is a star"),
]


@pytest.mark.parametrize(("expr", "start", "expected"), WHOLE_EXPRESSIONS)
def test_whole_expression_examples(expr: str, start: str, expected: list[str]) -> None:
    got = list(islice(CronExpression(expr).iter(naive(start)), len(expected)))
    assert got == [naive(text) for text in expected]


def _equivalent(pairs: Iterable[tuple[str, str]]) -> list[Any]:
    return [pytest.param(a, b, id=f"{a} == {b}") for a, b in pairs]


@pytest.mark.parametrize(
    ("left", "right"),
    _equivalent(
        [
            ("0 0 * * 0L", "0 0 * * 7L"),
            ("0 0 * * 0#1", "0 0 * * 7#1"),
            ("0 0 * * 0,7", "0 0 * * 0"),
            ("0 0 L-0 * *", "0 0 L * *"),
            ("0 0 * * friL", "0 0 * * 5L"),
            ("0 0 * * FRI#3", "0 0 * * 5#3"),
            ("0 0 ? * ?", "0 0 * * *"),
            ("0 0 * jan/3 *", "0 0 * 1,4,7,10 *"),
            ("0 0 l * *", "0 0 L * *"),
            ("0 0 lw * *", "0 0 LW * *"),
            ("*/15 * * * *", "0-59/15 * * * *"),
            ("0 0 * * 5-0/2", "0 0 * * 5,7"),
        ]
    ),
)
def test_equivalent_spellings(left: str, right: str) -> None:
    start = datetime(2026, 1, 1)
    assert list(islice(CronExpression(left).iter(start), 12)) == list(
        islice(CronExpression(right).iter(start), 12)
    )


def test_syntax_error_type_is_exported() -> None:
    assert issubclass(CronSyntaxError, ValueError)
    assert pycron.CronSyntaxError is CronSyntaxError
