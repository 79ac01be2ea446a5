"""The engine with every kind of tzinfo: zoneinfo, dateutil, pytz and fixed offsets.

The DST tables of `test_expr_dst` (worked by hand from the DST rules) are run
again with each zone given as a dateutil and as a pytz zone; the property tests check that
dateutil and pytz agree with zoneinfo, the reference, as instants and as wall clocks. A
result must belong to the caller's family: the very tzinfo object for zoneinfo and dateutil,
for pytz the offset object that `normalize` picks (a pytz zone attached with `replace`
carries its first offset, LMT, which no result may show).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone, tzinfo
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

import dateutil.tz
import pytest
import pytz
from hypothesis import given, settings
from hypothesis import strategies as st
from notation import instant, stamp
from test_expr_dst import MATCH_CASES, NEW_YORK, NEW_YORK_NEXT, NEXT_CASES, PREV_CASES
from test_expr_properties import Expr, aware_starts, expressions

from pycron import CronExpression, NoMatchError
from pycron.expr import _ZONES, _Pep495, zone_transitions

UTC = timezone.utc


def _dateutil_zone(name: str) -> tzinfo:
    zone = dateutil.tz.gettz(name)
    assert zone is not None, name
    return zone


FAMILIES: dict[str, Callable[[str], tzinfo]] = {
    "zoneinfo": ZoneInfo,
    "dateutil": _dateutil_zone,
    "pytz": pytz.timezone,
}


def in_family(moment: datetime, zone: tzinfo) -> bool:
    """True if `moment` is shown as `zone`'s family shows it: pytz through its
    offset object for that instant, other families through the zone itself."""
    normalize = getattr(zone, "normalize", None)
    if normalize is None:
        return moment.tzinfo is zone
    normalized = normalize(moment)
    return moment.tzinfo is normalized.tzinfo and moment.tzinfo.zone == zone.zone  # type: ignore[union-attr]


def given_in(text: str, zone: tzinfo) -> datetime:
    """An input: aware notation -> that instant in `zone`; naive notation -> naive wall time."""
    wall, offset = stamp(text)
    if offset is None:
        return wall
    return wall.replace(tzinfo=timezone(offset)).astimezone(zone)


def assert_shown(result: datetime, text: str, zone: tzinfo, zone_name: str) -> None:
    """`result` is the instant, wall clock and offset of `text` in `zone`'s family, with
    zoneinfo's fold (pytz, which has no fold, shows fold=0)."""
    wall, offset = stamp(text)
    assert offset is not None
    assert instant(result) == instant(wall.replace(tzinfo=timezone(offset))), text
    assert (result.replace(tzinfo=None), result.utcoffset()) == (wall, offset), text
    assert in_family(result, zone), f"{result!r} is not shown in {zone!r}"
    reference = wall.replace(tzinfo=timezone(offset)).astimezone(ZoneInfo(zone_name))
    assert result.fold == (0 if hasattr(zone, "normalize") else reference.fold), text


def assert_chain(
    step: Callable[[datetime], datetime],
    start: datetime,
    expected: list[str],
    zone: tzinfo,
    zone_name: str,
) -> None:
    """`step` (next or prev) from `start`, then from each result, shows `expected` in turn."""
    current = start
    for text in expected:
        current = step(current)
        assert_shown(current, text, zone, zone_name)


def _in_families(cases: list[Any]) -> list[Any]:
    """Each case (a pytest.param) of a DST table once per family; the zoneinfo runs are
    test_expr_dst's own."""
    return [
        pytest.param(*case.values, family, id=f"{family} {case.id}")
        for case in cases
        for family in ("dateutil", "pytz")
    ]


# ------------------------------------------------------------------------------ DST tables


CHAINS = [
    pytest.param(*case.values, method, id=f"{method} {case.id}")
    for method, cases in (("next", NEXT_CASES), ("prev", PREV_CASES))
    for case in cases
]


@pytest.mark.parametrize(
    ("expr", "zone_name", "start", "expected", "method", "family"), _in_families(CHAINS)
)
def test_next_and_prev(
    expr: str, zone_name: str, start: str, expected: list[str], method: str, family: str
) -> None:
    zone = FAMILIES[family](zone_name)
    step = getattr(CronExpression(expr, tz=zone), method)
    assert_chain(step, given_in(start, zone), expected, zone, zone_name)


@pytest.mark.parametrize(
    ("expr", "zone_name", "start", "expected", "family"), _in_families(NEXT_CASES)
)
def test_iter(expr: str, zone_name: str, start: str, expected: list[str], family: str) -> None:
    zone = FAMILIES[family](zone_name)
    got = list(islice(CronExpression(expr, tz=zone).iter(given_in(start, zone)), len(expected)))
    assert len(got) == len(expected)
    for result, text in zip(got, expected, strict=True):
        assert_shown(result, text, zone, zone_name)


@pytest.mark.parametrize(
    ("expr", "zone_name", "start", "expected", "family"), _in_families(NEXT_CASES)
)
def test_next_in_the_zone_of_the_input(
    expr: str, zone_name: str, start: str, expected: list[str], family: str
) -> None:
    """Without tz, an aware input's own zone is the schedule's, in any family."""
    zone = FAMILIES[family](zone_name)
    first = given_in(start, zone)
    if first.tzinfo is None:  # naive wall time in the zone, fold=0
        first = first.replace(tzinfo=ZoneInfo(zone_name)).astimezone(zone)
    assert_chain(CronExpression(expr).next, first, expected, zone, zone_name)


@pytest.mark.parametrize(
    ("expr", "zone_name", "when", "expected", "family"), _in_families(MATCH_CASES)
)
def test_matches(expr: str, zone_name: str, when: str, expected: bool, family: str) -> None:
    zone = FAMILIES[family](zone_name)
    moment = given_in(when, zone)
    assert CronExpression(expr, tz=zone).matches(moment) is expected
    if moment.tzinfo is not None:
        assert CronExpression(expr).matches(moment) is expected


@pytest.fixture
def local_new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[tzinfo]:
    """dateutil's tzlocal() with the process's local zone set to New York."""
    with monkeypatch.context() as patch:
        patch.setenv("TZ", NEW_YORK)
        time.tzset()
        yield dateutil.tz.tzlocal()
    time.tzset()


@pytest.mark.parametrize(
    ("key", "expr", "start", "expected"),
    [pytest.param(*row, id=f"{row[0]}: {row[1]}") for row in NEW_YORK_NEXT],
)
def test_tzlocal_follows_the_same_rules(
    local_new_york: tzinfo, key: str, expr: str, start: str, expected: list[str]
) -> None:
    """tzlocal() may read a time in a gap with the new offset even for fold=0 (dateutil 4
    does); the engine still applies the gap rules (its results are the New York table's)."""
    cron = CronExpression(expr, tz=local_new_york)
    assert_chain(cron.next, given_in(start, local_new_york), expected, local_new_york, NEW_YORK)


def test_a_pytz_zone_gives_no_local_mean_time() -> None:
    """A pytz zone attached with replace() shows London's local mean time whatever the
    date; results carry BST or GMT."""
    london = pytz.timezone("Europe/London")
    assert datetime(2026, 3, 29, tzinfo=london).tzname() == "LMT"
    cron = CronExpression("30 1 * * *", tz=london)
    gap_end = cron.next(datetime(2026, 3, 29))  # 01:30 is missing: the gap ends at 02:00 BST
    assert gap_end == london.localize(datetime(2026, 3, 29, 2, 0))
    assert (gap_end.tzname(), gap_end.utcoffset()) == ("BST", timedelta(hours=1))
    winter = cron.prev(datetime(2026, 3, 29))
    assert (winter.replace(tzinfo=None), winter.tzname()) == (datetime(2026, 3, 28, 1, 30), "GMT")


# ------------------------------------------------------------------------------ properties

# pytz carries no rules past 2037: results from then on may differ from zoneinfo's.
PYTZ_HORIZON = datetime(2037, 1, 1, tzinfo=UTC)


def _start_in(form: str, moment: datetime, zone: tzinfo, zone_name: str) -> datetime:
    """The start as a caller would give it: in the zone, in UTC, or as naive wall time."""
    if form == "utc":
        return moment
    if form == "naive":
        return moment.astimezone(ZoneInfo(zone_name)).replace(tzinfo=None, fold=0)
    return moment.astimezone(zone)


def _outcome(call: Callable[[], datetime]) -> datetime | None:
    try:
        return call()
    except NoMatchError:
        return None


def _assert_same(got: datetime | None, want: datetime | None, zone: tzinfo) -> None:
    """`got` is zoneinfo's `want` shown in `zone`'s family (before pytz's horizon)."""
    if want is None or instant(want) >= PYTZ_HORIZON:
        assert got is None or instant(got) >= PYTZ_HORIZON
        return
    assert got is not None
    assert instant(got) == instant(want)
    assert (got.replace(tzinfo=None), got.utcoffset()) == (
        want.replace(tzinfo=None),
        want.utcoffset(),
    )
    assert in_family(got, zone)


@settings(max_examples=60)
@given(
    expr=expressions(aware=True), where=aware_starts(), family=st.sampled_from(["dateutil", "pytz"])
)
def test_families_agree_with_zoneinfo(
    expr: Expr, where: tuple[str, datetime, str], family: str
) -> None:
    zone_name, moment, form = where
    zone = FAMILIES[family](zone_name)
    reference_zone = ZoneInfo(zone_name)
    if form == "no-tz":  # the zone comes from the input
        cron, reference = CronExpression(expr.text), CronExpression(expr.text)
        start, reference_start = moment.astimezone(zone), moment.astimezone(reference_zone)
    else:
        cron, reference = (
            CronExpression(expr.text, tz=zone),
            CronExpression(expr.text, tz=zone_name),
        )
        start = _start_in(form, moment, zone, zone_name)
        reference_start = _start_in(form, moment, reference_zone, zone_name)

    assert cron.matches(start) is reference.matches(reference_start)
    _assert_same(
        _outcome(lambda: cron.next(start)), _outcome(lambda: reference.next(reference_start)), zone
    )
    _assert_same(
        _outcome(lambda: cron.prev(start)), _outcome(lambda: reference.prev(reference_start)), zone
    )
    try:
        wanted = list(islice(reference.iter(reference_start), 3))
    except NoMatchError:
        return
    for got, want in zip(cron.iter(start), wanted, strict=False):  # iter() never ends
        _assert_same(got, want, zone)


@settings(max_examples=30)
@given(where=aware_starts(), family=st.sampled_from(["dateutil", "pytz"]))
def test_family_inputs_are_their_instants(where: tuple[str, datetime, str], family: str) -> None:
    """An aware input in any family is the instant it stands for, fold and pytz offsets included."""
    zone_name, moment, _ = where
    zone = FAMILIES[family](zone_name)
    cron = CronExpression("* * * * *", tz=zone)
    following = cron.next(moment.astimezone(zone))
    assert instant(following) == moment.replace(second=0) + timedelta(minutes=1)


# ------------------------------------------------------------------------------ fixed offsets

FIXED_ZONES: list[tuple[str, tzinfo, timedelta]] = [
    ("timezone.utc", timezone.utc, timedelta(0)),
    ("timezone+05:30", timezone(timedelta(hours=5, minutes=30)), timedelta(hours=5, minutes=30)),
    ("dateutil tzutc", dateutil.tz.tzutc(), timedelta(0)),
    ("dateutil tzoffset", dateutil.tz.tzoffset("IST", 19800), timedelta(hours=5, minutes=30)),
    ("pytz utc", pytz.utc, timedelta(0)),
    ("pytz FixedOffset-02:30", pytz.FixedOffset(-150), timedelta(hours=-2, minutes=-30)),
    ("zoneinfo Etc/GMT+5", ZoneInfo("Etc/GMT+5"), timedelta(hours=-5)),
]
# Without transitions, a schedule is plain wall-clock arithmetic: New York's and London's
# transition days are ordinary days here.
FIXED_ROWS = [
    ("30 2 * * *", "2026-03-08 00:00", ["2026-03-08 02:30", "2026-03-09 02:30"]),
    ("*/20 1 * * *", "2026-11-01 01:30", ["2026-11-01 01:40", "2026-11-02 01:00"]),
    ("30 1 * * *", "2026-10-25 01:30", ["2026-10-26 01:30", "2026-10-27 01:30"]),
    ("0 0 29 2 *", "2026-01-01 00:00", ["2028-02-29 00:00", "2032-02-29 00:00"]),
    ("59 23 31 12 *", "2026-12-31 23:59", ["2027-12-31 23:59", "2028-12-31 23:59"]),
]
FIXED_CASES = [
    pytest.param(zone, offset, expr, start, expected, id=f"{name} {expr}")
    for name, zone, offset in FIXED_ZONES
    for expr, start, expected in FIXED_ROWS
]


@pytest.mark.parametrize(("zone", "offset", "expr", "start", "expected"), FIXED_CASES)
def test_fixed_offsets(
    zone: tzinfo, offset: timedelta, expr: str, start: str, expected: list[str]
) -> None:
    walls = [stamp(text)[0] for text in expected]
    first = stamp(start)[0]
    for cron, begin in [
        (CronExpression(expr, tz=zone), first),  # naive: wall time in the zone
        (CronExpression(expr, tz=zone), (first - offset).replace(tzinfo=UTC)),
        (CronExpression(expr), (first - offset).replace(tzinfo=UTC).astimezone(zone)),
    ]:
        got = list(islice(cron.iter(begin), len(walls)))
        assert [(g.replace(tzinfo=None), g.utcoffset()) for g in got] == [
            (w, offset) for w in walls
        ]
        assert all(g.tzinfo is zone for g in got)
        assert cron.next(begin) == got[0]
        assert cron.prev(got[1]) == got[0]
        assert cron.matches(got[1])
        assert not cron.matches(got[0] + timedelta(minutes=1))


# ------------------------------------------------------------------------------ memos and hashing


def test_unhashable_zones_are_memoised_in_bounds() -> None:
    """dateutil zones are unhashable; fresh ones over and over keep the zone memo bounded."""
    start = datetime(2026, 3, 8, 0, 0)
    for _ in range(1500):
        zone = dateutil.tz.tzoffset(None, 3600)
        found = CronExpression("30 2 * * *", tz=zone).next(start)
        assert (found.tzinfo, found.replace(tzinfo=None)) == (zone, datetime(2026, 3, 8, 2, 30))
    assert len(_ZONES) <= 1001


def test_expressions_with_unhashable_zones_hash() -> None:
    new_york = _dateutil_zone(NEW_YORK)
    first, second = (
        CronExpression("0 9 * * *", tz=new_york),
        CronExpression("0 9 * * *", tz=new_york),
    )
    assert first == second
    assert len({first, second, CronExpression("0 9 * * *")}) == 2


@pytest.mark.parametrize("family", ["dateutil", "pytz"])
@pytest.mark.parametrize("zone_name", [NEW_YORK, "Europe/London", "Australia/Lord_Howe"])
def test_zone_transitions_in_every_family(zone_name: str, family: str) -> None:
    zone = FAMILIES[family](zone_name)
    start, end = datetime(2026, 1, 1), datetime(2027, 1, 1)
    got = zone_transitions(zone, start, end)
    want = zone_transitions(zone_name, start, end)
    assert len(got) == len(want) == 2
    for mine, theirs in zip(got, want, strict=True):
        assert instant(mine.instant) == instant(theirs.instant)
        assert in_family(mine.instant, zone)
        assert (mine.offset_before, mine.offset_after) == (
            theirs.offset_before,
            theirs.offset_after,
        )
        assert (mine.wall_start, mine.wall_end) == (theirs.wall_start, theirs.wall_end)


@pytest.mark.parametrize("family", ["dateutil", "pytz"])
def test_the_view_of_a_zone_reads_as_zoneinfo(family: str) -> None:
    """The search's PEP 495 view of a foreign zone: offsets (gaps and folds included),
    names and DST adjustments as zoneinfo gives them."""
    view, reference = _Pep495(FAMILIES[family]("Europe/London")), ZoneInfo("Europe/London")
    existing = [datetime(2026, 1, 1, 12), datetime(2026, 7, 1, 12), datetime(2026, 10, 25, 1, 30)]
    for wall in [*existing, datetime(2026, 3, 29, 1, 30)]:  # the last one is in the gap
        for fold in (0, 1):
            mine, theirs = (
                wall.replace(tzinfo=view, fold=fold),
                wall.replace(tzinfo=reference, fold=fold),
            )
            assert mine.utcoffset() == theirs.utcoffset(), (wall, fold)
            if wall in existing:
                assert (mine.tzname(), mine.dst()) == (theirs.tzname(), theirs.dst()), (wall, fold)
    second_pass = datetime(2026, 10, 25, 1, 30, tzinfo=UTC).astimezone(view)
    assert (second_pass.replace(tzinfo=None), second_pass.fold) == (
        datetime(2026, 10, 25, 1, 30),
        1,
    )
