"""DST behaviour of the expression engine, zone by zone.

Every expected value is derived by hand from the DST rules (README, "Daylight saving time"):

1. a local minute that exists once fires once;
2. a repeated minute (fall back) fires once, in the first pass, for a fixed job and in both
   passes for a wildcard job (minute or hour text starting with `*`);
3. a missing minute (spring forward) never fires for a wildcard job; for a fixed job it fires
   once at the instant the gap ends, merged with any real firing at that instant.

Starts written with an offset are converted into the zone (so `01:30-05:00` in New York is the
second pass, fold=1); starts written without one are naive wall times read with fold=0, as
the engine reads a naive input given with `tz`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from itertools import islice, pairwise
from zoneinfo import ZoneInfo

import pytest
from notation import instant, stamp

from pycron import CronExpression

NEW_YORK = "America/New_York"
LONDON = "Europe/London"
LORD_HOWE = "Australia/Lord_Howe"
UTC = timezone.utc


def moment(text: str, zone: str) -> datetime:
    """An input: aware notation -> that instant in `zone`; naive notation -> naive wall time."""
    wall, offset = stamp(text)
    if offset is None:
        return wall
    return wall.replace(tzinfo=timezone(offset)).astimezone(ZoneInfo(zone))


def assert_moment(result: datetime, text: str, tz: tzinfo | None) -> None:
    """Same instant, same wall clock, same offset, fold 1 only in a second pass, zone `tz`."""
    wall, offset = stamp(text)
    assert offset is not None
    assert result.tzinfo is tz, f"result in {result.tzinfo!r}, expected {tz!r}"
    fold = 0 if wall.replace(tzinfo=tz, fold=0).utcoffset() == offset else 1
    assert wall.replace(tzinfo=tz, fold=fold).utcoffset() == offset, f"test data: {text}"
    got = (result.replace(tzinfo=None, fold=0), result.utcoffset(), result.fold)
    assert got == (wall, offset, fold), f"expected {text}"
    assert instant(result) == instant(wall.replace(tzinfo=timezone(offset)))


def _short(zone: str) -> str:
    return zone.rpartition("/")[2]


def _cases(zone: str, rows: list[tuple[str, str, str, list[str]]]) -> list[object]:
    return [
        pytest.param(expr, zone, start, expected, id=f"{_short(zone)} {key}: {expr}")
        for key, expr, start, expected in rows
    ]


# ------------------------------------------------------------------------------ New York
# 2026-03-08 07:00 UTC: 02:00 EST (-05:00) -> 03:00 EDT (-04:00); local 02:00-02:59 missing.
# 2026-11-01 06:00 UTC: 02:00 EDT (-04:00) -> 01:00 EST (-05:00); local 01:00-01:59 twice,
# first pass 05:00-05:59 UTC (-04:00), second pass 06:00-06:59 UTC (-05:00).
# (2027: DST from 03-14, to 11-07; 2028: from 03-12, to 11-05.)

NEW_YORK_NEXT = [
    (
        "gap fixed",
        "30 2 * * *",
        "2026-03-08 00:00-05:00",
        ["2026-03-08 03:00-04:00", "2026-03-09 02:30-04:00"],
    ),
    (
        "gap fixed, start inside the firing minute",
        "30 2 * * *",
        "2026-03-08 03:00:30-04:00",
        ["2026-03-09 02:30-04:00"],
    ),
    (
        "gap fixed at its start",
        "0 2 * * *",
        "2026-03-07 02:00-05:00",
        ["2026-03-08 03:00-04:00", "2026-03-09 02:00-04:00"],
    ),
    (
        "gap fixed at its end",
        "59 2 * * *",
        "2026-03-08 00:00-05:00",
        ["2026-03-08 03:00-04:00", "2026-03-09 02:59-04:00"],
    ),
    (
        "gap and the real 03:30",
        "30 2,3 * * *",
        "2026-03-08 00:00-05:00",
        ["2026-03-08 03:00-04:00", "2026-03-08 03:30-04:00", "2026-03-09 02:30-04:00"],
    ),
    (
        "gap merges with real 03:00",
        "0 1-3 * * *",
        "2026-03-08 00:30-05:00",
        ["2026-03-08 01:00-05:00", "2026-03-08 03:00-04:00", "2026-03-09 01:00-04:00"],
    ),
    (
        "two gap times, real 03:00 and 03:30",
        "0,30 1-4 * * *",
        "2026-03-08 01:15-05:00",
        [
            "2026-03-08 01:30-05:00",
            "2026-03-08 03:00-04:00",
            "2026-03-08 03:30-04:00",
            "2026-03-08 04:00-04:00",
        ],
    ),
    (
        "gap wildcard minute",
        "*/15 2 * * *",
        "2026-03-07 23:00-05:00",
        ["2026-03-09 02:00-04:00", "2026-03-09 02:15-04:00", "2026-03-09 02:30-04:00"],
    ),
    (
        "gap every minute",
        "* * * * *",
        "2026-03-08 01:58-05:00",
        ["2026-03-08 01:59-05:00", "2026-03-08 03:00-04:00", "2026-03-08 03:01-04:00"],
    ),
    (
        "gap wildcard hour",
        "5 * * * *",
        "2026-03-08 01:00-05:00",
        ["2026-03-08 01:05-05:00", "2026-03-08 03:05-04:00", "2026-03-08 04:05-04:00"],
    ),
    (
        "gap hourly keeps the real 03:00",
        "0 * * * *",
        "2026-03-08 01:00-05:00",
        ["2026-03-08 03:00-04:00", "2026-03-08 04:00-04:00"],
    ),
    (
        "gap wildcard, minute star",
        "*/30 2 * * *",
        "2026-03-08 00:00-05:00",
        ["2026-03-09 02:00-04:00", "2026-03-09 02:30-04:00"],
    ),
    (
        "gap fixed, star later in the list",
        "0,*/30 2 * * *",
        "2026-03-08 00:00-05:00",
        ["2026-03-08 03:00-04:00", "2026-03-09 02:00-04:00", "2026-03-09 02:30-04:00"],
    ),
    (
        "gap sundays only",
        "0 2 * * 0",
        "2026-03-01 12:00-05:00",
        ["2026-03-08 03:00-04:00", "2026-03-15 02:00-04:00"],
    ),
    (
        "gap yearly, other years EST",
        "30 2 8 3 *",
        "2026-01-01 00:00-05:00",
        ["2026-03-08 03:00-04:00", "2027-03-08 02:30-05:00", "2028-03-08 02:30-05:00"],
    ),
    (
        "gap naive start inside the gap",
        "30 2 * * *",
        "2026-03-08 02:30",
        ["2026-03-09 02:30-04:00"],
    ),
    (
        "gap naive start = 03:30 EDT",
        "*/15 * * * *",
        "2026-03-08 02:30",
        ["2026-03-08 03:45-04:00", "2026-03-08 04:00-04:00"],
    ),
    (
        "gap naive start = 03:30 EDT, 03:30 job",
        "30 3 * * *",
        "2026-03-08 02:30",
        ["2026-03-09 03:30-04:00"],
    ),
    ("gap naive start before it", "30 2 * * *", "2026-03-08 01:59", ["2026-03-08 03:00-04:00"]),
    (
        "fold fixed",
        "30 1 * * *",
        "2026-11-01 00:00-04:00",
        ["2026-11-01 01:30-04:00", "2026-11-02 01:30-05:00"],
    ),
    (
        "fold fixed after first pass",
        "30 1 * * *",
        "2026-11-01 01:30-04:00",
        ["2026-11-02 01:30-05:00"],
    ),
    (
        "fold fixed from second pass",
        "30 1 * * *",
        "2026-11-01 01:15-05:00",
        ["2026-11-02 01:30-05:00"],
    ),
    (
        "fold fixed list",
        "0,30 1 * * *",
        "2026-11-01 00:00-04:00",
        ["2026-11-01 01:00-04:00", "2026-11-01 01:30-04:00", "2026-11-02 01:00-05:00"],
    ),
    (
        "fold wildcard minute",
        "*/20 1 * * *",
        "2026-11-01 00:00-04:00",
        [
            "2026-11-01 01:00-04:00",
            "2026-11-01 01:20-04:00",
            "2026-11-01 01:40-04:00",
            "2026-11-01 01:00-05:00",
            "2026-11-01 01:20-05:00",
            "2026-11-01 01:40-05:00",
            "2026-11-02 01:00-05:00",
        ],
    ),
    (
        "fold wildcard hour",
        "15 * * * *",
        "2026-11-01 00:30-04:00",
        ["2026-11-01 01:15-04:00", "2026-11-01 01:15-05:00", "2026-11-01 02:15-05:00"],
    ),
    (
        "fold 02:00 exists once",
        "0 2 * * *",
        "2026-11-01 01:00-04:00",
        ["2026-11-01 02:00-05:00", "2026-11-02 02:00-05:00"],
    ),
    (
        "fold fixed at its start",
        "0 1 * * *",
        "2026-11-01 00:59-04:00",
        ["2026-11-01 01:00-04:00", "2026-11-02 01:00-05:00"],
    ),
    (
        "fold fixed at its end",
        "59 0,1 * * *",
        "2026-11-01 00:00-04:00",
        ["2026-11-01 00:59-04:00", "2026-11-01 01:59-04:00", "2026-11-02 00:59-05:00"],
    ),
    (
        "fold fixed range of hours",
        "30 1-2 * * *",
        "2026-11-01 00:00-04:00",
        ["2026-11-01 01:30-04:00", "2026-11-01 02:30-05:00", "2026-11-02 01:30-05:00"],
    ),
    (
        "fold every minute",
        "* * * * *",
        "2026-11-01 01:58-04:00",
        ["2026-11-01 01:59-04:00", "2026-11-01 01:00-05:00", "2026-11-01 01:01-05:00"],
    ),
    (
        "fold wildcard, end of second pass",
        "* 1 * * *",
        "2026-11-01 01:58-05:00",
        ["2026-11-01 01:59-05:00", "2026-11-02 01:00-05:00"],
    ),
    (
        "fold naive start is the first pass",
        "30 1 * * *",
        "2026-11-01 01:30",
        ["2026-11-02 01:30-05:00"],
    ),
    (
        "fold naive start, wildcard",
        "*/30 * * * *",
        "2026-11-01 01:30",
        ["2026-11-01 01:00-05:00", "2026-11-01 01:30-05:00", "2026-11-01 02:00-05:00"],
    ),
    (
        "fold start in second pass, wildcard",
        "*/30 * * * *",
        "2026-11-01 01:30-05:00",
        ["2026-11-01 02:00-05:00"],
    ),
    (
        "fold yearly, other years EDT",
        "30 1 1 11 *",
        "2026-01-01 00:00-05:00",
        ["2026-11-01 01:30-04:00", "2027-11-01 01:30-04:00", "2028-11-01 01:30-04:00"],
    ),
]

NEW_YORK_PREV = [
    (
        "gap fixed",
        "30 2 * * *",
        "2026-03-08 12:00-04:00",
        ["2026-03-08 03:00-04:00", "2026-03-07 02:30-05:00"],
    ),
    ("gap fixed, exclusive", "30 2 * * *", "2026-03-08 03:00-04:00", ["2026-03-07 02:30-05:00"]),
    (
        "gap fixed, a minute later",
        "30 2 * * *",
        "2026-03-08 03:01-04:00",
        ["2026-03-08 03:00-04:00"],
    ),
    (
        "gap fixed, inside the firing minute",
        "30 2 * * *",
        "2026-03-08 03:00:30-04:00",
        ["2026-03-08 03:00-04:00"],
    ),
    ("gap wildcard", "*/15 2 * * *", "2026-03-09 00:00-04:00", ["2026-03-07 02:45-05:00"]),
    (
        "gap every minute",
        "* * * * *",
        "2026-03-08 03:01-04:00",
        ["2026-03-08 03:00-04:00", "2026-03-08 01:59-05:00", "2026-03-08 01:58-05:00"],
    ),
    (
        "gap merged",
        "0 1-3 * * *",
        "2026-03-08 04:00-04:00",
        ["2026-03-08 03:00-04:00", "2026-03-08 01:00-05:00", "2026-03-07 03:00-05:00"],
    ),
    (
        "gap naive = 03:30 EDT",
        "*/15 * * * *",
        "2026-03-08 02:30",
        ["2026-03-08 03:15-04:00", "2026-03-08 03:00-04:00", "2026-03-08 01:45-05:00"],
    ),
    (
        "fold fixed",
        "30 1 * * *",
        "2026-11-01 03:00-05:00",
        ["2026-11-01 01:30-04:00", "2026-10-31 01:30-04:00"],
    ),
    (
        "fold fixed from second pass",
        "30 1 * * *",
        "2026-11-01 01:30-05:00",
        ["2026-11-01 01:30-04:00"],
    ),
    ("fold fixed, exclusive", "30 1 * * *", "2026-11-01 01:30-04:00", ["2026-10-31 01:30-04:00"]),
    (
        "fold wildcard",
        "*/30 * * * *",
        "2026-11-01 02:00-05:00",
        [
            "2026-11-01 01:30-05:00",
            "2026-11-01 01:00-05:00",
            "2026-11-01 01:30-04:00",
            "2026-11-01 01:00-04:00",
            "2026-11-01 00:30-04:00",
        ],
    ),
    (
        "fold wildcard minute",
        "*/20 1 * * *",
        "2026-11-02 00:00-05:00",
        [
            "2026-11-01 01:40-05:00",
            "2026-11-01 01:20-05:00",
            "2026-11-01 01:00-05:00",
            "2026-11-01 01:40-04:00",
        ],
    ),
    (
        "fold fixed list",
        "0,30 1 * * *",
        "2026-11-01 02:00-05:00",
        ["2026-11-01 01:30-04:00", "2026-11-01 01:00-04:00", "2026-10-31 01:30-04:00"],
    ),
    (
        "fold wildcard hour",
        "15 * * * *",
        "2026-11-01 02:00-05:00",
        ["2026-11-01 01:15-05:00", "2026-11-01 01:15-04:00", "2026-11-01 00:15-04:00"],
    ),
    (
        "fold naive is the first pass",
        "*/30 * * * *",
        "2026-11-01 01:30",
        ["2026-11-01 01:00-04:00", "2026-11-01 00:30-04:00"],
    ),
]

NEW_YORK_MATCHES = [
    ("30 2 * * *", "2026-03-08 03:00-04:00", True),
    ("30 2 * * *", "2026-03-08 03:00:59-04:00", True),
    ("30 2 * * *", "2026-03-08 07:00+00:00", True),
    ("30 2 * * *", "2026-03-08 03:01-04:00", False),
    ("30 2 * * *", "2026-03-09 02:30-04:00", True),
    ("30 2 * * *", "2026-03-08 01:30-05:00", False),
    ("0 2 * * *", "2026-03-08 03:00-04:00", True),
    ("59 2 * * *", "2026-03-08 03:00-04:00", True),
    ("30 3 * * *", "2026-03-08 03:00-04:00", False),
    ("30 3 * * *", "2026-03-08 03:30-04:00", True),
    ("*/15 2 * * *", "2026-03-08 03:00-04:00", False),
    ("* * * * *", "2026-03-08 03:00-04:00", True),
    ("* * * * *", "2026-03-08 01:59-05:00", True),
    ("0 * * * *", "2026-03-08 03:00-04:00", True),
    ("30 2 * * *", "2026-03-08 02:30", False),  # naive 02:30 = 03:30 EDT
    ("30 3 * * *", "2026-03-08 02:30", True),
    ("0 2 * * *", "2026-03-08 02:00", True),  # naive 02:00 = 03:00 EDT, the gap firing
    ("* * * * *", "2026-03-08 02:15", True),
    ("15 2 * * *", "2026-03-08 02:15", False),  # = 03:15 EDT
    ("15 3 * * *", "2026-03-08 02:15", True),
    ("30 1 * * *", "2026-11-01 01:30-04:00", True),
    ("30 1 * * *", "2026-11-01 01:30-05:00", False),
    ("30 1 * * *", "2026-11-01 05:30+00:00", True),
    ("30 1 * * *", "2026-11-01 06:30+00:00", False),
    ("30 1 * * *", "2026-11-01 01:30", True),  # naive: the first pass
    ("*/30 * * * *", "2026-11-01 01:30-04:00", True),
    ("*/30 * * * *", "2026-11-01 01:30-05:00", True),
    ("*/20 1 * * *", "2026-11-01 01:20-05:00", True),
    ("0,30 1 * * *", "2026-11-01 01:00-04:00", True),
    ("0,30 1 * * *", "2026-11-01 01:00-05:00", False),
    ("15 * * * *", "2026-11-01 01:15-05:00", True),
    ("0 2 * * *", "2026-11-01 02:00-05:00", True),
    ("0 2 * * *", "2026-11-01 01:00-05:00", False),
    ("* * * * *", "2026-11-01 01:59-05:00", True),
    ("0 0-23 * * *", "2026-11-01 01:00-05:00", False),
    ("@hourly", "2026-11-01 01:00-05:00", True),
]

# ------------------------------------------------------------------------------ London
# 2026-03-29 01:00 UTC: 01:00 GMT (+00:00) -> 02:00 BST (+01:00); local 01:00-01:59 missing.
# 2026-10-25 01:00 UTC: 02:00 BST (+01:00) -> 01:00 GMT (+00:00); local 01:00-01:59 twice,
# first pass 00:00-00:59 UTC (+01:00), second pass 01:00-01:59 UTC (+00:00).

LONDON_NEXT = [
    (
        "gap fixed",
        "0 1 * * *",
        "2026-03-29 00:00+00:00",
        ["2026-03-29 02:00+01:00", "2026-03-30 01:00+01:00"],
    ),
    (
        "gap merges with real 02:00",
        "0 1,2 * * *",
        "2026-03-29 00:00+00:00",
        ["2026-03-29 02:00+01:00", "2026-03-30 01:00+01:00", "2026-03-30 02:00+01:00"],
    ),
    (
        "gap wildcard",
        "*/30 * * * *",
        "2026-03-29 00:30+00:00",
        ["2026-03-29 02:00+01:00", "2026-03-29 02:30+01:00", "2026-03-29 03:00+01:00"],
    ),
    (
        "gap fixed hour range",
        "45 0-2 * * *",
        "2026-03-29 00:00+00:00",
        ["2026-03-29 00:45+00:00", "2026-03-29 02:00+01:00", "2026-03-29 02:45+01:00"],
    ),
    ("gap wildcard minute", "* 1 * * *", "2026-03-28 23:00+00:00", ["2026-03-30 01:00+01:00"]),
    ("gap naive start = 02:30 BST", "0 2 * * *", "2026-03-29 01:30", ["2026-03-30 02:00+01:00"]),
    ("gap naive start, wildcard", "*/15 * * * *", "2026-03-29 01:30", ["2026-03-29 02:45+01:00"]),
    (
        "fold fixed",
        "0 1 * * *",
        "2026-10-25 00:00+01:00",
        ["2026-10-25 01:00+01:00", "2026-10-26 01:00+00:00"],
    ),
    (
        "fold wildcard",
        "*/30 * * * *",
        "2026-10-25 00:45+01:00",
        [
            "2026-10-25 01:00+01:00",
            "2026-10-25 01:30+01:00",
            "2026-10-25 01:00+00:00",
            "2026-10-25 01:30+00:00",
            "2026-10-25 02:00+00:00",
        ],
    ),
    ("fold fixed at its end", "59 1 * * *", "2026-10-25 01:59+01:00", ["2026-10-26 01:59+00:00"]),
    (
        "fold every minute",
        "* * * * *",
        "2026-10-25 01:59+01:00",
        ["2026-10-25 01:00+00:00", "2026-10-25 01:01+00:00"],
    ),
    (
        "fold fixed hour range",
        "0 1-2 * * *",
        "2026-10-25 00:30+01:00",
        ["2026-10-25 01:00+01:00", "2026-10-25 02:00+00:00", "2026-10-26 01:00+00:00"],
    ),
    (
        "fold naive start, wildcard",
        "*/20 1 * * *",
        "2026-10-25 01:50",
        ["2026-10-25 01:00+00:00", "2026-10-25 01:20+00:00"],
    ),
]

LONDON_PREV = [
    (
        "gap fixed",
        "30 1 * * *",
        "2026-03-29 12:00+01:00",
        ["2026-03-29 02:00+01:00", "2026-03-28 01:30+00:00"],
    ),
    (
        "gap every minute",
        "* * * * *",
        "2026-03-29 02:01+01:00",
        ["2026-03-29 02:00+01:00", "2026-03-29 00:59+00:00"],
    ),
    (
        "gap merged",
        "0 1,2 * * *",
        "2026-03-29 03:00+01:00",
        ["2026-03-29 02:00+01:00", "2026-03-28 02:00+00:00"],
    ),
    (
        "fold fixed",
        "0 1 * * *",
        "2026-10-25 01:30+00:00",
        ["2026-10-25 01:00+01:00", "2026-10-24 01:00+01:00"],
    ),
    (
        "fold wildcard",
        "*/20 1 * * *",
        "2026-10-25 02:00+00:00",
        [
            "2026-10-25 01:40+00:00",
            "2026-10-25 01:20+00:00",
            "2026-10-25 01:00+00:00",
            "2026-10-25 01:40+01:00",
        ],
    ),
]

LONDON_MATCHES = [
    ("30 1 * * *", "2026-03-29 02:00+01:00", True),
    ("30 1 * * *", "2026-03-29 01:00+00:00", True),  # the same instant
    ("30 1 * * *", "2026-03-29 02:30+01:00", False),
    ("*/20 1 * * *", "2026-03-29 02:00+01:00", False),
    ("0 2 * * *", "2026-03-29 02:00+01:00", True),
    ("30 1 * * *", "2026-03-29 01:30", False),  # naive 01:30 = 02:30 BST
    ("30 2 * * *", "2026-03-29 01:30", True),
    ("0 1 * * *", "2026-10-25 01:00+01:00", True),
    ("0 1 * * *", "2026-10-25 01:00+00:00", False),
    ("0 1 * * *", "2026-10-25 00:00+00:00", True),  # = 01:00 BST
    ("*/20 1 * * *", "2026-10-25 01:40+00:00", True),
    ("0 2 * * *", "2026-10-25 02:00+00:00", True),
    ("0 2 * * *", "2026-10-25 01:00+00:00", False),
]

# ------------------------------------------------------------------------------ Lord Howe
# Verified with zoneinfo: 2026-04-04 15:00 UTC: 02:00 (+11:00) -> 01:30 (+10:30); local
# 01:30-01:59 twice, first pass 14:30-14:59 UTC (+11:00), second pass 15:00-15:29 UTC (+10:30).
# 2026-10-03 15:30 UTC: 02:00 (+10:30) -> 02:30 (+11:00); local 02:00-02:29 missing.

LORD_HOWE_NEXT = [
    (
        "fold fixed",
        "45 1 * * *",
        "2026-04-05 00:00+11:00",
        ["2026-04-05 01:45+11:00", "2026-04-06 01:45+10:30"],
    ),
    (
        "fold 01:15 exists once",
        "15 1 * * *",
        "2026-04-05 00:00+11:00",
        ["2026-04-05 01:15+11:00", "2026-04-06 01:15+10:30"],
    ),
    (
        "fold wildcard minute",
        "*/15 1 * * *",
        "2026-04-05 01:00+11:00",
        [
            "2026-04-05 01:15+11:00",
            "2026-04-05 01:30+11:00",
            "2026-04-05 01:45+11:00",
            "2026-04-05 01:30+10:30",
            "2026-04-05 01:45+10:30",
            "2026-04-06 01:00+10:30",
        ],
    ),
    (
        "fold 02:00 exists once",
        "0 2 * * *",
        "2026-04-05 01:45+10:30",
        ["2026-04-05 02:00+10:30", "2026-04-06 02:00+10:30"],
    ),
    (
        "fold wildcard hour",
        "*/30 * * * *",
        "2026-04-05 00:45+11:00",
        [
            "2026-04-05 01:00+11:00",
            "2026-04-05 01:30+11:00",
            "2026-04-05 01:30+10:30",
            "2026-04-05 02:00+10:30",
        ],
    ),
    (
        "fold wildcard hour, list",
        "0,30 * * * *",
        "2026-04-05 00:45+11:00",
        [
            "2026-04-05 01:00+11:00",
            "2026-04-05 01:30+11:00",
            "2026-04-05 01:30+10:30",
            "2026-04-05 02:00+10:30",
        ],
    ),
    (
        "fold fixed after first pass",
        "30 1 * * *",
        "2026-04-05 01:30+11:00",
        ["2026-04-06 01:30+10:30"],
    ),
    (
        "fold fixed list",
        "0,30 1,2 * * *",
        "2026-04-05 00:00+11:00",
        [
            "2026-04-05 01:00+11:00",
            "2026-04-05 01:30+11:00",
            "2026-04-05 02:00+10:30",
            "2026-04-05 02:30+10:30",
        ],
    ),
    (
        "fold naive start, wildcard",
        "*/15 1 * * *",
        "2026-04-05 01:45",
        ["2026-04-05 01:30+10:30", "2026-04-05 01:45+10:30"],
    ),
    (
        "fold every minute",
        "* * * * *",
        "2026-04-05 01:59+11:00",
        ["2026-04-05 01:30+10:30", "2026-04-05 01:31+10:30"],
    ),
    (
        "gap fixed",
        "0 2 * * *",
        "2026-10-04 00:00+10:30",
        ["2026-10-04 02:30+11:00", "2026-10-05 02:00+11:00"],
    ),
    (
        "gap fixed 02:15",
        "15 2 * * *",
        "2026-10-04 00:00+10:30",
        ["2026-10-04 02:30+11:00", "2026-10-05 02:15+11:00"],
    ),
    (
        "gap fixed merges with 02:30",
        "0,15,30,45 2 * * *",
        "2026-10-04 00:00+10:30",
        ["2026-10-04 02:30+11:00", "2026-10-04 02:45+11:00", "2026-10-05 02:00+11:00"],
    ),
    (
        "gap wildcard minute",
        "*/15 2 * * *",
        "2026-10-04 00:00+10:30",
        ["2026-10-04 02:30+11:00", "2026-10-04 02:45+11:00", "2026-10-05 02:00+11:00"],
    ),
    (
        "gap hourly",
        "0 * * * *",
        "2026-10-04 01:30+10:30",
        ["2026-10-04 03:00+11:00", "2026-10-04 04:00+11:00"],
    ),
    (
        "gap every ten minutes",
        "*/10 * * * *",
        "2026-10-04 01:50+10:30",
        ["2026-10-04 02:30+11:00", "2026-10-04 02:40+11:00"],
    ),
    (
        "gap last missing minute",
        "29 2 * * *",
        "2026-10-04 00:00+10:30",
        ["2026-10-04 02:30+11:00", "2026-10-05 02:29+11:00"],
    ),
    (
        "gap every minute",
        "* * * * *",
        "2026-10-04 01:59+10:30",
        ["2026-10-04 02:30+11:00", "2026-10-04 02:31+11:00"],
    ),
    ("gap wildcard hour", "20 * * * *", "2026-10-04 01:30+10:30", ["2026-10-04 03:20+11:00"]),
    (
        "gap fixed hour range",
        "20 1-3 * * *",
        "2026-10-04 01:30+10:30",
        ["2026-10-04 02:30+11:00", "2026-10-04 03:20+11:00"],
    ),
    (
        "gap naive start = 02:45+11:00",
        "*/15 * * * *",
        "2026-10-04 02:15",
        ["2026-10-04 03:00+11:00"],
    ),
]

LORD_HOWE_PREV = [
    (
        "fold fixed",
        "45 1 * * *",
        "2026-04-05 02:00+10:30",
        ["2026-04-05 01:45+11:00", "2026-04-04 01:45+11:00"],
    ),
    (
        "fold wildcard",
        "*/15 * * * *",
        "2026-04-05 02:00+10:30",
        [
            "2026-04-05 01:45+10:30",
            "2026-04-05 01:30+10:30",
            "2026-04-05 01:45+11:00",
            "2026-04-05 01:30+11:00",
            "2026-04-05 01:15+11:00",
        ],
    ),
    (
        "gap fixed",
        "0 2 * * *",
        "2026-10-04 03:00+11:00",
        ["2026-10-04 02:30+11:00", "2026-10-03 02:00+10:30"],
    ),
    (
        "gap wildcard",
        "*/15 * * * *",
        "2026-10-04 02:45+11:00",
        ["2026-10-04 02:30+11:00", "2026-10-04 01:45+10:30"],
    ),
    (
        "gap naive = 02:45+11:00",
        "*/15 * * * *",
        "2026-10-04 02:15",
        ["2026-10-04 02:30+11:00", "2026-10-04 01:45+10:30"],
    ),
]

LORD_HOWE_MATCHES = [
    ("45 1 * * *", "2026-04-05 01:45+11:00", True),
    ("45 1 * * *", "2026-04-05 01:45+10:30", False),
    ("*/15 1 * * *", "2026-04-05 01:45+10:30", True),
    ("*/15 1 * * *", "2026-04-05 01:45+11:00", True),
    ("15 1 * * *", "2026-04-05 01:15+11:00", True),
    ("0 2 * * *", "2026-04-05 02:00+10:30", True),
    ("45 1 * * *", "2026-04-05 01:45", True),  # naive: first pass
    ("0 2 * * *", "2026-10-04 02:30+11:00", True),
    ("0 2 * * *", "2026-10-04 02:31+11:00", False),
    ("*/15 2 * * *", "2026-10-04 02:30+11:00", True),
    ("15 2 * * *", "2026-10-04 02:30+11:00", True),
    ("*/5 2 * * *", "2026-10-04 02:30+11:00", True),
    ("20 * * * *", "2026-10-04 02:30+11:00", False),
    ("45 2 * * *", "2026-10-04 02:15", True),  # naive 02:15 = 02:45+11:00
    ("0 2 * * *", "2026-10-04 02:15", False),
    ("15 2 * * *", "2026-10-04 02:15", False),
]

# ------------------------------------------------------------------------------ other gaps
# America/Sao_Paulo 2018-11-04 03:00 UTC: 00:00 (-03:00) -> 01:00 (-02:00), midnight missing.
# Pacific/Apia 2011-12-30 10:00 UTC: 2011-12-30 00:00 (-10:00) -> 2011-12-31 00:00 (+14:00),
# the whole local day 2011-12-30 missing.

OTHER_NEXT = [
    pytest.param(
        "*/30 * * * *",
        "America/Sao_Paulo",
        "2018-11-03 23:30-03:00",
        ["2018-11-04 01:00-02:00", "2018-11-04 01:30-02:00"],
        id="Sao Paulo wildcard",
    ),
    pytest.param(
        "30 0 * * *",
        "America/Sao_Paulo",
        "2018-11-03 12:00-03:00",
        ["2018-11-04 01:00-02:00", "2018-11-05 00:30-02:00"],
        id="Sao Paulo 00:30",
    ),
    pytest.param(
        "0 0 30 12 *",
        "Pacific/Apia",
        "2011-01-01 00:00-11:00",
        ["2011-12-31 00:00+14:00", "2012-12-30 00:00+14:00"],
        id="Apia skipped date",
    ),
    pytest.param(
        "*/30 * * * *",
        "Pacific/Apia",
        "2011-12-29 23:30-10:00",
        ["2011-12-31 00:00+14:00", "2011-12-31 00:30+14:00"],
        id="Apia wildcard",
    ),
    pytest.param(
        "0 9,12 * * *",
        "Pacific/Apia",
        "2011-12-29 12:00-10:00",
        ["2011-12-31 00:00+14:00", "2011-12-31 09:00+14:00"],
        id="Apia two merged",
    ),
]

OTHER_PREV = [
    pytest.param(
        "@daily",
        "America/Sao_Paulo",
        "2018-11-04 12:00-02:00",
        ["2018-11-04 01:00-02:00", "2018-11-03 00:00-03:00"],
        id="Sao Paulo daily",
    ),
    pytest.param(
        "0 12 * * *",
        "Pacific/Apia",
        "2011-12-31 12:00+14:00",
        ["2011-12-31 00:00+14:00", "2011-12-29 12:00-10:00"],
        id="Apia noon",
    ),
]

OTHER_MATCHES = [
    pytest.param(
        "0 0 * * *",
        "America/Sao_Paulo",
        "2018-11-04 01:00-02:00",
        True,
        id="Sao Paulo midnight gap firing",
    ),
    pytest.param(
        "0 * * * *",
        "America/Sao_Paulo",
        "2018-11-04 01:00-02:00",
        True,
        id="Sao Paulo hourly real 01:00",
    ),
    pytest.param(
        "0 0 * * *",
        "America/Sao_Paulo",
        "2018-11-04 01:01-02:00",
        False,
        id="Sao Paulo a minute later",
    ),
    pytest.param(
        "0 12 * * *",
        "Pacific/Apia",
        "2011-12-31 00:00+14:00",
        True,
        id="Apia skipped noon fires at the day's end",
    ),
    pytest.param("0 12 * * *", "Pacific/Apia", "2011-12-31 12:00+14:00", True, id="Apia real noon"),
    pytest.param(
        "*/30 12 * * *",
        "Pacific/Apia",
        "2011-12-31 00:00+14:00",
        False,
        id="Apia wildcard never in the gap",
    ),
]

NEXT_CASES = [
    *_cases(NEW_YORK, NEW_YORK_NEXT),
    *_cases(LONDON, LONDON_NEXT),
    *_cases(LORD_HOWE, LORD_HOWE_NEXT),
    *OTHER_NEXT,
]
PREV_CASES = [
    *_cases(NEW_YORK, NEW_YORK_PREV),
    *_cases(LONDON, LONDON_PREV),
    *_cases(LORD_HOWE, LORD_HOWE_PREV),
    *OTHER_PREV,
]
MATCH_CASES = [
    *(
        pytest.param(expr, zone, when, expected, id=f"{_short(zone)} {expr} @ {when}")
        for zone, rows in [
            (NEW_YORK, NEW_YORK_MATCHES),
            (LONDON, LONDON_MATCHES),
            (LORD_HOWE, LORD_HOWE_MATCHES),
        ]
        for expr, when, expected in rows
    ),
    *OTHER_MATCHES,
]


@pytest.mark.parametrize(("expr", "zone", "start", "expected"), NEXT_CASES)
def test_next(expr: str, zone: str, start: str, expected: list[str]) -> None:
    cron = CronExpression(expr, tz=zone)
    current = moment(start, zone)
    for text in expected:
        current = cron.next(current)
        assert_moment(current, text, cron.tz)


@pytest.mark.parametrize(("expr", "zone", "start", "expected"), NEXT_CASES)
def test_iter(expr: str, zone: str, start: str, expected: list[str]) -> None:
    cron = CronExpression(expr, tz=zone)
    got = list(islice(cron.iter(moment(start, zone)), len(expected)))
    assert len(got) == len(expected)
    for result, text in zip(got, expected, strict=True):
        assert_moment(result, text, cron.tz)


@pytest.mark.parametrize(("expr", "zone", "start", "expected"), NEXT_CASES)
def test_next_with_the_start_in_utc(expr: str, zone: str, start: str, expected: list[str]) -> None:
    cron = CronExpression(expr, tz=zone)
    first = moment(start, zone)
    if first.tzinfo is None:  # naive wall time in the zone, fold=0
        first = first.replace(tzinfo=ZoneInfo(zone))
    assert_moment(cron.next(instant(first)), expected[0], cron.tz)


@pytest.mark.parametrize(("expr", "zone", "start", "expected"), NEXT_CASES)
def test_prev_undoes_next(expr: str, zone: str, start: str, expected: list[str]) -> None:
    """Consecutive firings: prev() of each expected result is the one before it."""
    cron = CronExpression(expr, tz=zone)
    for earlier, later in pairwise(expected):
        assert_moment(cron.prev(moment(later, zone)), earlier, cron.tz)
    first_back = cron.prev(moment(expected[0], zone))
    start_moment = moment(start, zone)
    if start_moment.tzinfo is None:
        start_moment = start_moment.replace(tzinfo=ZoneInfo(zone))
    assert instant(first_back) <= instant(start_moment)


@pytest.mark.parametrize(("expr", "zone", "before", "expected"), PREV_CASES)
def test_prev(expr: str, zone: str, before: str, expected: list[str]) -> None:
    cron = CronExpression(expr, tz=zone)
    current = moment(before, zone)
    for text in expected:
        current = cron.prev(current)
        assert_moment(current, text, cron.tz)


@pytest.mark.parametrize(("expr", "zone", "when", "expected"), MATCH_CASES)
def test_matches(expr: str, zone: str, when: str, expected: bool) -> None:
    cron = CronExpression(expr, tz=zone)
    assert cron.matches(moment(when, zone)) is expected
    if stamp(when)[1] is not None:
        # The same instant given in UTC, and through the input's zone without tz.
        assert cron.matches(instant(moment(when, zone))) is expected
        assert CronExpression(expr).matches(moment(when, zone)) is expected


@pytest.mark.parametrize(("expr", "zone", "when", "expected"), MATCH_CASES)
def test_matches_agrees_with_prev_and_next(expr: str, zone: str, when: str, expected: bool) -> None:
    """A minute is a firing instant iff next() from just before it lands on it."""
    cron = CronExpression(expr, tz=zone)
    start = moment(when, zone)
    if start.tzinfo is None:
        start = start.replace(tzinfo=ZoneInfo(zone))
    minute = instant(start).replace(second=0)
    landed = instant(cron.next(minute - timedelta(seconds=1))) == minute
    assert landed is expected
    back = instant(cron.prev(minute + timedelta(seconds=1))) == minute
    assert back is expected


def test_explicit_fold_inputs() -> None:
    """A datetime in the zone with fold=1 is the second pass, with fold=0 the first."""
    tz = ZoneInfo(NEW_YORK)
    first = datetime(2026, 11, 1, 1, 30, tzinfo=tz)
    second = datetime(2026, 11, 1, 1, 30, tzinfo=tz, fold=1)
    fixed_job = CronExpression("30 1 * * *", tz=tz)
    assert fixed_job.matches(first)
    assert not fixed_job.matches(second)
    wildcard = CronExpression("*/30 * * * *", tz=tz)
    assert_moment(wildcard.next(first), "2026-11-01 01:00-05:00", tz)
    assert_moment(wildcard.next(second), "2026-11-01 02:00-05:00", tz)
    assert_moment(wildcard.prev(second), "2026-11-01 01:00-05:00", tz)
    assert_moment(wildcard.prev(first), "2026-11-01 01:00-04:00", tz)


def test_naive_input_is_exactly_replace_tzinfo() -> None:
    """Section 2.1: a naive input with tz is `dt.replace(tzinfo=Z)` for all four methods."""
    tz = ZoneInfo(NEW_YORK)
    walls = [
        datetime(2026, 3, 8, 2, 0),
        datetime(2026, 3, 8, 2, 30, 15),
        datetime(2026, 3, 8, 2, 59, 59),
        datetime(2026, 11, 1, 1, 0),
        datetime(2026, 11, 1, 1, 30, 30),
        datetime(2026, 11, 1, 1, 59),
    ]
    for expr in ["30 2 * * *", "*/15 * * * *", "30 1 * * *", "*/20 1 * * *", "0 3 * * *"]:
        cron = CronExpression(expr, tz=NEW_YORK)
        for wall in walls:
            aware = wall.replace(tzinfo=tz)
            assert instant(cron.next(wall)) == instant(cron.next(aware)), (expr, wall)
            assert instant(cron.prev(wall)) == instant(cron.prev(aware)), (expr, wall)
            assert cron.matches(wall) is cron.matches(aware), (expr, wall)
            assert [instant(m) for m in islice(cron.iter(wall), 4)] == [
                instant(m) for m in islice(cron.iter(aware), 4)
            ], (expr, wall)


# ------------------------------------------------------------------------------ any tzinfo


class Eastern2026(tzinfo):
    """New York's 2026 rules as a hand-written PEP 495 tzinfo (not zoneinfo): EDT from
    2026-03-08 07:00 UTC to 2026-11-01 06:00 UTC, EST otherwise. For a wall time in the gap,
    fold=0 gives the offset before it; in the repeated hour fold=0 is the first (EDT) pass."""

    EST = timedelta(hours=-5)
    EDT = timedelta(hours=-4)
    GAP = datetime(2026, 3, 8, 2, 0)  # 02:00-02:59 local missing
    FOLD = datetime(2026, 11, 1, 1, 0)  # 01:00-01:59 local twice
    HOUR = timedelta(hours=1)

    def utcoffset(self, dt: datetime | None) -> timedelta:
        assert dt is not None
        wall = dt.replace(tzinfo=None)
        if self.GAP <= wall < self.GAP + self.HOUR:
            return self.EDT if dt.fold else self.EST
        if self.FOLD <= wall < self.FOLD + self.HOUR:
            return self.EST if dt.fold else self.EDT
        return self.EDT if self.GAP + self.HOUR <= wall < self.FOLD else self.EST

    def dst(self, dt: datetime | None) -> timedelta:
        return self.utcoffset(dt) - self.EST

    def tzname(self, dt: datetime | None) -> str:
        return "EDT" if self.utcoffset(dt) == self.EDT else "EST"

    def fromutc(self, dt: datetime) -> datetime:
        utc = dt.replace(tzinfo=None)
        if self.GAP - self.EST <= utc < self.FOLD + self.HOUR - self.EDT:
            return (utc + self.EDT).replace(tzinfo=self)
        local = utc + self.EST
        second_pass = self.FOLD <= local < self.FOLD + self.HOUR
        return local.replace(tzinfo=self, fold=int(second_pass))

    def __repr__(self) -> str:
        return "Eastern2026()"


EASTERN = Eastern2026()
CUSTOM_CASES = [
    pytest.param(expr, start, expected, id=f"{key}: {expr}")
    for key, expr, start, expected in NEW_YORK_NEXT
    if all(text.startswith("2026") for text in [start, *expected])
]


def test_custom_tzinfo_data() -> None:
    """The hand-written zone agrees with zoneinfo all through 2026."""
    new_york = ZoneInfo(NEW_YORK)
    probe = datetime(2026, 1, 1, tzinfo=UTC)
    while probe.year == 2026:
        mine, theirs = probe.astimezone(EASTERN), probe.astimezone(new_york)
        assert (mine.replace(tzinfo=None), mine.utcoffset(), mine.fold) == (
            theirs.replace(tzinfo=None),
            theirs.utcoffset(),
            theirs.fold,
        )
        probe += timedelta(minutes=30)


@pytest.mark.parametrize(("expr", "start", "expected"), CUSTOM_CASES)
def test_any_pep495_tzinfo_follows_the_same_rules(
    expr: str, start: str, expected: list[str]
) -> None:
    """The New York table again, with tz given as a tzinfo that is not a ZoneInfo."""
    wall, offset = stamp(start)
    current = wall if offset is None else wall.replace(tzinfo=timezone(offset)).astimezone(EASTERN)
    # With tz, and (for an aware start) without tz, the input's tzinfo being the zone.
    crons = [CronExpression(expr, tz=EASTERN)]
    if offset is not None:
        crons.append(CronExpression(expr))
    for cron in crons:
        found = current
        for text in expected:
            found = cron.next(found)
            assert_moment(found, text, EASTERN)
            assert cron.matches(found)
