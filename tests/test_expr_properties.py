"""Property tests: the engine against a brute-force reference written here from cron's rules.

Expressions are generated as structured values (items of each field with the meaning cron
gives them: values, ranges, steps, names, `L`, `L-n`, `nW`, `LW`, `nL`, `n#k`, `?`) and rendered
to text; the reference never parses text and never calls the engine. It decides

* naive mode: whether a wall-clock minute satisfies the fields and the day-of-month /
  day-of-week rule, scanning days first and then the minutes of matching days;
* aware mode: the set of firing instants of a window of local days, from the three DST rules
  (README, "Daylight saving time") applied minute by minute with the zone database.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import cache
from itertools import islice, pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pycron import CronExpression, NoMatchError

UTC = timezone.utc
ONE_MINUTE = timedelta(minutes=1)
ONE_DAY = timedelta(days=1)

MINUTE, HOUR, DOM, MONTH, DOW = range(5)
BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DOW_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")

# An item's meaning: ("set", values) for ordinary items (already expanded, Sunday = 0),
# ("L", n) for L-n (L = L-0), ("W", n), ("LW",), ("nL", weekday), ("#", weekday, k).
Meaning = tuple[object, ...]


@dataclass(frozen=True)
class Field:
    text: str
    star: bool
    items: tuple[Meaning, ...]

    def values(self) -> frozenset[int]:
        """The union of the ordinary items (minute, hour and month fields have no others)."""
        out: set[int] = set()
        for item in self.items:
            assert item[0] == "set"
            values = item[1]
            assert isinstance(values, frozenset)
            out |= values
        return frozenset(out)


@dataclass(frozen=True)
class Expr:
    fields: tuple[Field, Field, Field, Field, Field]
    text: str

    @property
    def wildcard(self) -> bool:
        return self.fields[MINUTE].text[0] == "*" or self.fields[HOUR].text[0] == "*"


# ------------------------------------------------------------------------------ generation


@st.composite
def value_text(draw: st.DrawFn, value: int, field: int) -> str:
    """A value as digits (maybe zero-padded) or, in month/day-of-week, as a name in any case."""
    name: str | None = None
    if field == MONTH:
        name = MONTH_NAMES[value - 1]
    elif field == DOW and value <= 6:
        name = DOW_NAMES[value]
    if name is not None and draw(st.booleans()):
        return draw(st.sampled_from([name, name.upper(), name.title()]))
    return draw(st.sampled_from(["", "", "", "0", "00"])) + str(value)


@st.composite
def ordinary_item(
    draw: st.DrawFn, field: int, bias: tuple[int, int] | None = None
) -> tuple[str, Meaning]:
    lo, hi = BOUNDS[field]
    values = st.integers(lo, hi)
    if bias is not None:
        values = st.integers(*bias) | values
    kind = draw(st.sampled_from(["star", "value", "value", "range"]))
    step = draw(st.none() | st.none() | st.integers(1, hi - lo + 3))
    if kind == "star":
        text, start, end = "*", lo, hi
    elif kind == "value":
        start = draw(values)
        text = draw(value_text(start, field))
        end = start if step is None else hi  # a/n = a-MAX/n
    else:
        start = draw(values)
        if field == DOW and start >= 1 and draw(st.booleans()):
            end = 7  # x-0 / x-sun in day-of-week means x-7
            end_text = draw(st.sampled_from(["0", "sun", "SUN", "Sun"]))
        else:
            end = draw(st.integers(start, hi))
            end_text = draw(value_text(end, field))
        text = f"{draw(value_text(start, field))}-{end_text}"
    if step is not None:
        text += f"/{step}"
    expanded = set(range(start, end + 1, step or 1))
    if field == DOW:
        expanded = {v % 7 for v in expanded}
    return text, ("set", frozenset(expanded))


@st.composite
def dom_extension(draw: st.DrawFn) -> tuple[str, Meaning]:
    kind = draw(st.sampled_from(["L", "L-n", "W", "LW"]))
    ell = draw(st.sampled_from(["L", "l"]))
    if kind == "L":
        return ell, ("L", 0)
    if kind == "L-n":
        n = draw(st.integers(0, 30))
        return f"{ell}-{n}", ("L", n)
    if kind == "W":
        n = draw(st.integers(1, 31))
        return f"{n}{draw(st.sampled_from(['W', 'w']))}", ("W", n)
    return draw(st.sampled_from(["LW", "lw", "Lw"])), ("LW",)


@st.composite
def dow_extension(draw: st.DrawFn) -> tuple[str, Meaning]:
    weekday = draw(st.integers(0, 7))
    shown = draw(value_text(weekday, DOW))
    if draw(st.booleans()):
        return f"{shown}{draw(st.sampled_from(['L', 'l']))}", ("nL", weekday % 7)
    k = draw(st.integers(1, 5))
    return f"{shown}#{k}", ("#", weekday % 7, k)


@st.composite
def field_strategy(
    draw: st.DrawFn, field: int, bias: tuple[int, int] | None = None, star_weight: int = 0
) -> Field:
    if field in (DOM, DOW) and draw(st.integers(0, 11)) == 0:
        return Field("?", True, (("set", frozenset(range(7 if field == DOW else 32))),))
    if star_weight and draw(st.integers(0, 9)) < star_weight:
        lo, hi = BOUNDS[field]
        return Field(
            "*",
            True,
            (("set", frozenset(v % 7 if field == DOW else v for v in range(lo, hi + 1))),),
        )
    item = ordinary_item(field, bias)
    if field == DOM:
        item = st.one_of(item, item, dom_extension())
    elif field == DOW:
        item = st.one_of(item, item, dow_extension())
    parts = draw(st.lists(item, min_size=1, max_size=3))
    text = ",".join(part_text for part_text, _ in parts)
    return Field(text, text.startswith("*"), tuple(meaning for _, meaning in parts))


@st.composite
def expressions(draw: st.DrawFn, aware: bool = False) -> Expr:
    if aware:
        # Around transitions: hours biased to 0-4 local, day fields mostly `*` so that the
        # windows hold firings.
        fields = (
            draw(field_strategy(MINUTE)),
            draw(field_strategy(HOUR, bias=(0, 4))),
            draw(field_strategy(DOM, star_weight=7)),
            draw(field_strategy(MONTH, star_weight=7)),
            draw(field_strategy(DOW, star_weight=7)),
        )
    else:
        fields = tuple(draw(field_strategy(index)) for index in range(5))
    blanks = st.sampled_from([" ", " ", "  ", "\t", " \t"])
    text = draw(st.sampled_from(["", "", " ", "\t"]))
    for index, part in enumerate(fields):
        text += part.text + (draw(blanks) if index < 4 else "")
    text += draw(st.sampled_from(["", "", " ", "\t "]))
    return Expr(fields, text)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ the reference


def nearest_weekday(n: int, year: int, month: int, last: int) -> int | None:
    """`nW`: the Mon-Fri day nearest to day n, never leaving the month."""
    if n > last:
        return None
    weekday = date(year, month, n).weekday()  # Monday = 0
    if weekday < 5:
        return n
    if weekday == 5:  # Saturday: the Friday before, but for the 1st Monday the 3rd
        return 3 if n == 1 else n - 1
    return n - 2 if n == last else n + 1  # Sunday: the Monday after, or Friday if n is last


def last_weekday(year: int, month: int, last: int) -> int:
    weekday = date(year, month, last).weekday()
    return last - max(0, weekday - 4)  # Sat -> Fri (-1), Sun -> Fri (-2)


def dom_hit(item: Meaning, day: date, last: int) -> bool:
    kind = item[0]
    if kind == "set":
        values = item[1]
        assert isinstance(values, frozenset)
        return day.day in values
    if kind == "L":
        offset = item[1]
        assert isinstance(offset, int)
        return day.day == last - offset
    if kind == "W":
        n = item[1]
        assert isinstance(n, int)
        return day.day == nearest_weekday(n, day.year, day.month, last)
    assert kind == "LW"
    return day.day == last_weekday(day.year, day.month, last)


def dow_hit(item: Meaning, day: date, last: int) -> bool:
    weekday = day.isoweekday() % 7  # Sunday = 0
    kind = item[0]
    if kind == "set":
        values = item[1]
        assert isinstance(values, frozenset)
        return weekday in values
    if kind == "nL":
        return weekday == item[1] and day.day > last - 7
    assert kind == "#"
    k = item[2]
    assert isinstance(k, int)
    return weekday == item[1] and 7 * (k - 1) < day.day <= 7 * k


class Reference:
    """Brute force over wall-clock minutes, days first."""

    def __init__(self, expr: Expr) -> None:
        self.expr = expr
        minute, hour, dom, month, dow = expr.fields
        self.minutes = sorted(minute.values())
        self.hours = sorted(hour.values())
        self.months = month.values()
        self.dom = dom
        self.dow = dow
        self._days: dict[date, bool] = {}

    def day_matches(self, day: date) -> bool:
        known = self._days.get(day)
        if known is None:
            known = self._day_matches(day)
            self._days[day] = known
        return known

    def _day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        last = calendar.monthrange(day.year, day.month)[1]
        dom_ok = any(dom_hit(item, day, last) for item in self.dom.items)
        dow_ok = any(dow_hit(item, day, last) for item in self.dow.items)
        if self.dom.star or self.dow.star:
            return dom_ok and dow_ok
        return dom_ok or dow_ok

    def matches(self, moment: datetime) -> bool:
        return (
            moment.minute in self.minutes
            and moment.hour in self.hours
            and self.day_matches(moment.date())
        )

    def walls(self, day: date) -> list[datetime]:
        """The matching minutes of one day, in order."""
        if not self.day_matches(day):
            return []
        return [datetime.combine(day, time(h, m)) for h in self.hours for m in self.minutes]

    def next(self, after: datetime, days: int) -> datetime | None:
        """First matching minute > after, looking at most `days` days from after's date."""
        floor = after.replace(second=0, microsecond=0) + ONE_MINUTE
        for n in range(days):
            for wall in self.walls(floor.date() + timedelta(days=n)):
                if wall >= floor:
                    return wall
        return None

    def prev(self, before: datetime, days: int) -> datetime | None:
        """Last matching minute < before, looking at most `days` days back."""
        ceiling = before.replace(second=0, microsecond=0)
        if ceiling == before:
            ceiling -= ONE_MINUTE
        for n in range(days):
            for wall in reversed(self.walls(ceiling.date() - timedelta(days=n))):
                if wall <= ceiling:
                    return wall
        return None


@cache
def local_minute(wall: datetime, zone_name: str) -> tuple[str, tuple[datetime, ...]]:
    """How a local minute exists in a zone: ("once", (t,)), ("twice", (t1, t2)) or
    ("gap", (end,)) with `end` the instant the gap ends; instants in UTC."""
    zone = ZoneInfo(zone_name)
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)

    def exists(instant: datetime, local: datetime) -> bool:
        return instant.astimezone(zone).replace(tzinfo=None) == local

    if exists(first, wall):
        if first == second:
            return "once", (first,)
        return "twice", (min(first, second), max(first, second))
    later = wall + ONE_MINUTE
    while not exists(later.replace(tzinfo=zone).astimezone(UTC), later):
        later += ONE_MINUTE
    return "gap", (later.replace(tzinfo=zone).astimezone(UTC),)


def firing_instants(ref: Reference, zone_name: str, first: date, last: date) -> list[datetime]:
    """Section 2.3, rules 1-3, over the local days first..last: sorted UTC instants."""
    wildcard = ref.expr.wildcard
    found: set[datetime] = set()
    day = first
    while day <= last:
        for wall in ref.walls(day):
            kind, instants = local_minute(wall, zone_name)
            if kind == "once":
                found.add(instants[0])
            elif kind == "twice":
                found.update(instants if wildcard else instants[:1])
            elif not wildcard:
                found.add(instants[0])
        day += ONE_DAY
    return sorted(found)


# ------------------------------------------------------------------------------ naive mode

HORIZON = 800  # days the reference scans; beyond it only "later than the horizon" is checked


@st.composite
def naive_starts(draw: st.DrawFn) -> datetime:
    moment = draw(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31)))
    if draw(st.booleans()):
        moment = moment.replace(second=0, microsecond=0)
    return moment


def _or_none(call: Callable[[datetime], datetime], moment: datetime) -> datetime | None:
    """call(moment), or None when it raises NoMatchError."""
    try:
        return call(moment)
    except NoMatchError:
        return None


@given(expr=expressions(), start=naive_starts())
def test_naive_next_prev_matches_agree_with_brute_force(expr: Expr, start: datetime) -> None:
    cron = CronExpression(expr.text)
    ref = Reference(expr)
    assert cron.matches(start) is ref.matches(start)

    got = _or_none(cron.next, start)
    want = ref.next(start, HORIZON)
    if want is not None:
        assert got == want
    else:
        assert got is None or got.date() >= start.date() + timedelta(days=HORIZON)

    got_prev = _or_none(cron.prev, start)
    want_prev = ref.prev(start, HORIZON)
    if want_prev is not None:
        assert got_prev == want_prev
    else:
        assert got_prev is None or got_prev.date() <= start.date() - timedelta(days=HORIZON)

    if want is not None:
        assert cron.matches(want)
        assert cron.matches(want + timedelta(seconds=59))
        assert cron.matches(want - ONE_MINUTE) is ref.matches(want - ONE_MINUTE)
        assert cron.matches(want + ONE_MINUTE) is ref.matches(want + ONE_MINUTE)


@given(expr=expressions(), start=naive_starts())
def test_naive_iter_agrees_with_brute_force(expr: Expr, start: datetime) -> None:
    cron = CronExpression(expr.text)
    ref = Reference(expr)
    items = cron.iter(start)
    current = start
    for _ in range(4):
        want = ref.next(current, HORIZON)
        if want is None:
            break
        assert next(items) == want
        current = want


@given(expr=expressions(), start=naive_starts())
def test_naive_guarantees(expr: Expr, start: datetime) -> None:
    cron = CronExpression(expr.text)
    following = _or_none(cron.next, start)
    if following is None:
        with pytest.raises(NoMatchError):
            cron.prev(start)
        return
    assert following > start
    assert following.tzinfo is None
    assert following.second == 0
    assert following.microsecond == 0
    assert cron.matches(following)
    assert cron.prev(following) <= start
    preceding = cron.prev(start)
    assert preceding < start
    assert cron.matches(preceding)
    assert cron.next(preceding) >= start
    run = list(islice(cron.iter(start), 5))
    assert run[0] == following
    assert all(a < b for a, b in pairwise(run))
    assert all(cron.next(a) == b for a, b in pairwise(run))
    assert all(cron.prev(b) == a for a, b in pairwise(run))


# ------------------------------------------------------------------------------ aware mode

# 2026 transitions, verified with zoneinfo (see test_transition_data):
TRANSITIONS = [
    # America/New_York: 02:00 EST -> 03:00 EDT (02:00-02:59 missing)
    ("America/New_York", datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),
    # America/New_York: 02:00 EDT -> 01:00 EST (01:00-01:59 twice)
    ("America/New_York", datetime(2026, 11, 1, 6, 0, tzinfo=UTC)),
    # Europe/London: 01:00 GMT -> 02:00 BST (01:00-01:59 missing)
    ("Europe/London", datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
    # Europe/London: 02:00 BST -> 01:00 GMT (01:00-01:59 twice)
    ("Europe/London", datetime(2026, 10, 25, 1, 0, tzinfo=UTC)),
    # Australia/Lord_Howe, 2026-04-05: 02:00 +11:00 -> 01:30 +10:30 (01:30-01:59 twice)
    ("Australia/Lord_Howe", datetime(2026, 4, 4, 15, 0, tzinfo=UTC)),
    # Australia/Lord_Howe, 2026-10-04: 02:00 +10:30 -> 02:30 +11:00 (02:00-02:29 missing)
    ("Australia/Lord_Howe", datetime(2026, 10, 3, 15, 30, tzinfo=UTC)),
]


@pytest.mark.parametrize(("zone_name", "moment"), TRANSITIONS)
def test_transition_data(zone_name: str, moment: datetime) -> None:
    zone = ZoneInfo(zone_name)
    before = (moment - ONE_MINUTE).astimezone(zone).utcoffset()
    after = moment.astimezone(zone).utcoffset()
    assert before != after
    assert (moment - timedelta(hours=12)).astimezone(zone).utcoffset() == before
    assert (moment + timedelta(hours=12)).astimezone(zone).utcoffset() == after


@st.composite
def aware_starts(draw: st.DrawFn) -> tuple[str, datetime, str]:
    """(zone, UTC instant within 2 days of a transition, how the input is given)."""
    zone_name, moment = draw(st.sampled_from(TRANSITIONS))
    shift = timedelta(minutes=draw(st.integers(-2 * 1440, 2 * 1440)))
    seconds = draw(st.sampled_from([0, 0, 0, 1, 30, 59]))
    moment = moment + shift + timedelta(seconds=seconds)
    form = draw(st.sampled_from(["zone", "utc", "no-tz", "naive"]))
    return zone_name, moment, form


def _instant(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _check_result(result: datetime, expected: datetime, zone: ZoneInfo) -> None:
    """`result` is the firing instant `expected` shown in `zone` with the right fold."""
    assert _instant(result) == expected
    local = expected.astimezone(zone)
    assert result.utcoffset() == local.utcoffset()
    assert result.replace(tzinfo=None) == local.replace(tzinfo=None)
    assert result.fold == local.fold
    assert result.second == 0
    assert result.microsecond == 0


@given(expr=expressions(aware=True), where=aware_starts())
def test_aware_around_transitions(expr: Expr, where: tuple[str, datetime, str]) -> None:
    zone_name, moment, form = where
    zone = ZoneInfo(zone_name)
    cron = CronExpression(expr.text, tz=None if form == "no-tz" else zone_name)
    if form == "utc":
        start: datetime = moment
    elif form == "naive":
        # A naive input is wall time in the zone, read with fold=0.
        start = moment.astimezone(zone).replace(tzinfo=None, fold=0)
        moment = start.replace(tzinfo=zone).astimezone(UTC)
    else:
        start = moment.astimezone(zone)
    result_zone = cron.tz if cron.tz is not None else zone

    ref = Reference(expr)
    local_day = moment.astimezone(zone).date()
    firings = firing_instants(ref, zone_name, local_day - 2 * ONE_DAY, local_day + 2 * ONE_DAY)

    minute = moment.replace(second=0, microsecond=0)
    assert cron.matches(start) is (minute in firings)

    following = _or_none(cron.next, start)
    want = next((f for f in firings if f > moment), None)
    if want is not None and want <= moment + ONE_DAY:
        assert following is not None
        assert following.tzinfo is result_zone
        _check_result(following, want, zone)
    else:
        assert following is None or _instant(following) > moment + ONE_DAY

    preceding = _or_none(cron.prev, start)
    want_prev = next((f for f in reversed(firings) if f < moment), None)
    if want_prev is not None and want_prev >= moment - ONE_DAY:
        assert preceding is not None
        assert preceding.tzinfo is result_zone
        _check_result(preceding, want_prev, zone)
    else:
        assert preceding is None or _instant(preceding) < moment - ONE_DAY

    if following is None:
        return
    # Guarantees of 2.4, on instants.
    assert _instant(following) > moment
    assert cron.matches(following)
    assert _instant(cron.prev(following)) <= moment
    if preceding is not None:
        assert _instant(preceding) < moment
        assert cron.matches(preceding)
    run = list(islice(cron.iter(start), 4))
    assert _instant(run[0]) == _instant(following)
    assert all(_instant(a) < _instant(b) for a, b in pairwise(run))
    assert all(_instant(cron.next(a)) == _instant(b) for a, b in pairwise(run))
    assert all(item.tzinfo is result_zone for item in run)
    # No firing strictly between the start and next(start): every minute instant in between.
    if _instant(following) - moment <= ONE_DAY:
        probe = minute + ONE_MINUTE
        while probe < _instant(following):
            assert not cron.matches(probe.astimezone(zone)), probe
            if cron.tz is not None:  # with tz, an input in any zone is converted
                assert not cron.matches(probe), probe
            probe += ONE_MINUTE


@given(expr=expressions(aware=True), where=aware_starts())
def test_aware_chains_match_the_firing_set(expr: Expr, where: tuple[str, datetime, str]) -> None:
    """Walking next() and prev() through a transition visits exactly the reference instants."""
    zone_name, moment, _ = where
    zone = ZoneInfo(zone_name)
    cron = CronExpression(expr.text, tz=zone_name)
    ref = Reference(expr)
    local_day = moment.astimezone(zone).date()
    firings = firing_instants(ref, zone_name, local_day - 2 * ONE_DAY, local_day + 2 * ONE_DAY)
    low, high = moment - ONE_DAY, moment + ONE_DAY
    inside = [f for f in firings if low < f < high]

    forward: list[datetime] = []
    current = low.astimezone(zone)
    while True:
        found = _or_none(cron.next, current)
        if found is None or _instant(found) >= high:
            break
        forward.append(_instant(found))
        current = found
    assert forward == inside

    backward: list[datetime] = []
    current = high.astimezone(zone)
    while True:
        found = _or_none(cron.prev, current)
        if found is None or _instant(found) <= low:
            break
        backward.append(_instant(found))
        current = found
    assert backward == inside[::-1]


# ------------------------------------------------------------------------------ the reference


@pytest.mark.parametrize(
    ("n", "year", "month", "expected"),
    [
        (15, 2026, 2, 16),  # Sunday -> Monday
        (1, 2026, 8, 3),  # Saturday the 1st -> Monday the 3rd
        (17, 2026, 1, 16),  # Saturday -> Friday
        (31, 2026, 5, 29),  # Sunday, last day -> Friday
        (31, 2026, 6, None),  # no day 31
        (15, 2026, 1, 15),  # Thursday
    ],
)
def test_reference_nearest_weekday(n: int, year: int, month: int, expected: int | None) -> None:
    """The reference's own W rule against worked examples of `nW` and `LW`."""
    last = calendar.monthrange(year, month)[1]
    assert nearest_weekday(n, year, month, last) == expected


def test_reference_gap_and_fold_classification() -> None:
    new_york = "America/New_York"
    kind, instants = local_minute(datetime(2026, 3, 8, 2, 30), new_york)
    assert (kind, instants) == ("gap", (datetime(2026, 3, 8, 7, 0, tzinfo=UTC),))
    kind, instants = local_minute(datetime(2026, 11, 1, 1, 30), new_york)
    assert kind == "twice"
    assert instants == (
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
        datetime(2026, 11, 1, 6, 30, tzinfo=UTC),
    )
    kind, instants = local_minute(datetime(2026, 10, 4, 2, 10), "Australia/Lord_Howe")
    assert (kind, instants) == ("gap", (datetime(2026, 10, 3, 15, 30, tzinfo=UTC),))
