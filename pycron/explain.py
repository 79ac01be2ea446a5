"""Cron expressions in plain English, and the DST notes a zoned job needs.

`describe()` turns the parsed fields of an expression into one sentence
("At 02:30 on Monday through Friday"). It reads the value sets of the ordinary
fields, so that equivalent spellings (`*/15`, `0,15,30,45`, `0-59/15`) read the
same, and the items of the day fields for the L/W/# extensions. The sentence
keeps cron's day rule visible: "or" when both day fields are restricted and
neither is a star, "if it is also" when a star field restricts the other.

`dst_notes()` lists, for a job with a time zone, the transitions of the coming
months where the job runs at another time, once instead of twice, or not at
all (README, "Daylight saving time").

`human_duration()`, `cpu_text()` and `human_bytes()` are the short texts of
amounts that the command line and the status page share ("3m04s", "0.42s",
"12.5 MiB").

All are pure: no clock and no files; time comes in as arguments.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta, tzinfo
from itertools import pairwise

from pycron.errors import NoMatchError
from pycron.expr import (
    DOM,
    DOW,
    DOW_LONG_NAMES,
    FIELD_VALUES,
    HOUR,
    MINUTE,
    MONTH,
    MONTH_LONG_NAMES,
    CronExpression,
    Field,
    ItemKind,
    Transition,
    zone_transitions,
)

# Like expr.py, import no typing machinery at run time: the CLI loads this module.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from typing import Final

OCCURRENCES: Final = ("first", "second", "third", "fourth", "fifth")
_ALL_MINUTES: Final = FIELD_VALUES[MINUTE]
_ALL_HOURS: Final = FIELD_VALUES[HOUR]
_ALL_DAYS: Final = FIELD_VALUES[DOM]
_ALL_WEEKDAYS: Final = FIELD_VALUES[DOW]
_ALL_MONTHS: Final = FIELD_VALUES[MONTH]
# Up to this many minute x hour combinations are spelt out as clock times.
_MAX_CLOCK_TIMES: Final = 6
# Up to this many wall times in a DST note are listed one by one.
_MAX_LISTED_TIMES: Final = 4
_ONE_MICROSECOND: Final = timedelta(microseconds=1)
_BYTE_UNITS: Final = ("B", "KiB", "MiB", "GiB", "TiB")


# --------------------------------------------------------------------------- words


def join_words(words: Iterable[str], conjunction: str = "and") -> str:
    """English list: `a`, `a and b`, `a, b and c` (no serial comma)."""
    items = list(words)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def _ordinal(number: int) -> str:
    """`2nd`, `3rd`, `11th`, `21st`: the step of an 'every nth hour' phrase."""
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _hour_label(hour: int) -> str:
    """An hour as the clock time it starts at: 9 -> `09:00`."""
    return f"{hour:02d}:00"


def _weekday_name(weekday: int) -> str:
    """A weekday number (0 and 7 = Sunday) as its English name."""
    return DOW_LONG_NAMES[weekday % 7]


def _month_name(month: int) -> str:
    """A month number (1-12) as its English name."""
    return MONTH_LONG_NAMES[month - 1]


def _runs(values: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted values as maximal runs of consecutive numbers: [1,2,3,7] -> [(1,3), (7,7)]."""
    runs: list[tuple[int, int]] = []
    for value in values:
        if runs and value == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], value)
        else:
            runs.append((value, value))
    return runs


def _pieces(values: Sequence[int], label: Callable[[int], str]) -> list[str]:
    """Sorted values as list pieces: runs of three or more as `a through b`,
    shorter runs value by value (`1 and 2` reads better than `1 through 2`)."""
    pieces: list[str] = []
    for first, last in _runs(values):
        if last - first >= 2:
            pieces.append(f"{label(first)} through {label(last)}")
        else:
            pieces.extend(label(value) for value in range(first, last + 1))
    return pieces


def _progression(values: Sequence[int], cycle: int) -> tuple[int, int, int, bool] | None:
    """(first, last, step, uniform) if sorted values are evenly spaced by a step > 1.

    `uniform` means the spacing also holds across the wrap of the cycle (60
    minutes, 24 hours), so "every n minutes" is exactly true; otherwise (`*/7`
    minutes: ..., :56, :00) the phrase names its first and last value. Two
    values make a progression only when uniform (`*/30`), else they are a list.
    """
    if len(values) < 2:
        return None
    step = values[1] - values[0]
    if step < 2 or any(b - a != step for a, b in pairwise(values)):
        return None
    uniform = values[-1] + step == values[0] + cycle
    if len(values) < 3 and not uniform:
        return None
    return values[0], values[-1], step, uniform


# --------------------------------------------------------------------------- time of day


def _clock_times(minutes: Sequence[int], hours: Sequence[int]) -> list[str] | None:
    """The firing times of a day as `HH:MM`, when few enough to list; else None.

    Hours that step through the day (`*/4`) read better as "every 4th hour"
    even when the times are few, so they are not listed.
    """
    if len(minutes) * len(hours) > _MAX_CLOCK_TIMES:
        return None
    if len(hours) >= 3 and _progression(hours, len(_ALL_HOURS)) is not None:
        return None
    return [f"{hour:02d}:{minute:02d}" for hour in hours for minute in minutes]


def _minute_phrase(minutes: Sequence[int]) -> tuple[str, bool]:
    """The minute field as the start of the sentence, and whether it is periodic.

    Periodic phrases ("Every 15 minutes") describe a rhythm and take the hours
    as a window; positional ones ("At minute 30") take the hours they fall in.
    """
    if len(minutes) == len(_ALL_MINUTES):
        return "Every minute", True
    progression = _progression(minutes, len(_ALL_MINUTES))
    if progression is not None:
        first, last, step, uniform = progression
        if not uniform:
            return f"Every {step} minutes from minute {first} through {last}", True
        if first == 0:
            return f"Every {step} minutes", True
        return f"Every {step} minutes from minute {first}", True
    if len(minutes) >= 3 and len(_runs(minutes)) == 1:
        return f"Every minute from minute {minutes[0]} through {minutes[-1]}", True
    if len(minutes) == 1:
        return f"At minute {minutes[0]}", False
    return f"At minutes {join_words(_pieces(minutes, str))}", False


def _hour_phrase(hours: Sequence[int], periodic: bool) -> str:
    """The hour field as it follows a minute phrase ("" when every hour is allowed
    and the minutes already read as a rhythm)."""
    if len(hours) == len(_ALL_HOURS):
        return "" if periodic else "past every hour"
    progression = _progression(hours, len(_ALL_HOURS)) if len(hours) >= 3 else None
    if progression is not None:
        first, last, step, uniform = progression
        text = f"every {_ordinal(step)} hour"
        if not uniform:
            text += f" from {_hour_label(first)} through {_hour_label(last)}"
        elif first != 0:
            text += f" from {_hour_label(first)}"
        return f"during {text}" if periodic else f"past {text}"
    single_run = len(_runs(hours)) == 1
    if periodic and single_run:
        return f"between {_hour_label(hours[0])} and {hours[-1]:02d}:59"
    if not periodic and single_run and len(hours) >= 3:
        return f"past every hour from {_hour_label(hours[0])} through {_hour_label(hours[-1])}"
    noun = "hour" if len(hours) == 1 else "hours"
    listed = join_words(_pieces(hours, _hour_label))
    return f"{'during' if periodic else 'of'} the {listed} {noun}"


def _time_phrase(minute: Field, hour: Field) -> tuple[str, bool]:
    """When in the day the job runs, and whether that is a list of clock times."""
    minutes, hours = sorted(minute.values), sorted(hour.values)
    times = _clock_times(minutes, hours)
    if times is not None:
        return f"At {join_words(times)}", True
    text, periodic = _minute_phrase(minutes)
    hour_text = _hour_phrase(hours, periodic)
    if not hour_text:
        return text, False
    separator = ", " if periodic and "from minute" in text else " "
    return f"{text}{separator}{hour_text}", False


# --------------------------------------------------------------------------- days


def _day_of_month_extensions(field: Field) -> list[str]:
    """The L, L-n, nW and LW items of a day-of-month field, as noun phrases."""
    terms: list[str] = []
    for item in field.items:
        if item.kind == ItemKind.LAST_DAY:
            if item.start == 0:
                term = "the last day"
            elif item.start == 1:
                term = "the day before the last day"
            else:
                term = f"the {_ordinal(item.start)} day before the last day"
        elif item.kind == ItemKind.NEAREST_WEEKDAY:
            term = f"the weekday nearest day {item.start}"
        elif item.kind == ItemKind.LAST_WEEKDAY:
            term = "the last weekday"
        else:
            continue
        if term not in terms:
            terms.append(term)
    return terms


def _numbered_days(days: Sequence[int], alone: bool) -> list[str]:
    """Plain day-of-month values as noun phrases.

    Steps read as "every 3rd day" (they restart each month, so that is exact
    when they run to the month's end); `alone` means no extension item follows,
    so a plain list can share one noun ("days 1 and 15").
    """
    if not days:
        return []
    if len(days) >= 3:
        progression = _progression(days, 0)
        if progression is not None:
            first, last, step, _ = progression
            if last + step > 31:
                if step == 2 and first <= 2:
                    return ["odd-numbered days" if first == 1 else "even-numbered days"]
                return [f"every {_ordinal(step)} day" + (f" from day {first}" if first > 1 else "")]
            if len(days) >= 4:
                return [f"every {_ordinal(step)} day from day {first} through {last}"]
    if alone:
        noun = "day" if len(days) == 1 else "days"
        return [f"{noun} {join_words(_pieces(days, str))}"]
    return [f"days {piece}" if " " in piece else f"day {piece}" for piece in _pieces(days, str)]


def _day_of_month_phrase(field: Field) -> str:
    """A restricted day-of-month field: "on day 1 and the last day of the month"."""
    extensions = _day_of_month_extensions(field)
    terms = _numbered_days(sorted(field.values), alone=not extensions) + extensions
    return f"on {join_words(terms)} of the month"


def _weekday_order(weekdays: frozenset[int]) -> list[list[int]]:
    """Weekdays (0-6) as runs in week order from Sunday.

    A run may wrap from Saturday to Sunday when that makes it read as a range
    (`5-0` -> Friday through Sunday) or for the weekend (`sat-sun`); such a run
    comes last, as it starts late in the week.
    """
    runs = [list(range(first, last + 1)) for first, last in _runs(sorted(weekdays))]
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][-1] == 6:
        wrapped = runs[-1] + runs[0]
        if len(wrapped) >= 3 or len(weekdays) == 2:
            runs = [*runs[1:-1], wrapped]
    return runs


def _weekday_extensions(field: Field) -> list[str]:
    """The nL and n#k items of a day-of-week field, as noun phrases without "of the month"."""
    terms: list[str] = []
    for item in field.items:
        if item.kind == ItemKind.LAST_DOW:
            term = f"the last {_weekday_name(item.start)}"
        elif item.kind == ItemKind.NTH_DOW:
            term = f"the {OCCURRENCES[item.end - 1]} {_weekday_name(item.start)}"
        else:
            continue
        if term not in terms:
            terms.append(term)
    return terms


def _weekday_phrase(field: Field) -> str:
    """A restricted day-of-week field: "on Monday through Friday"."""
    parts: list[str] = []
    if field.values:
        pieces: list[str] = []
        for run in _weekday_order(field.values):
            if len(run) >= 3:
                pieces.append(f"{_weekday_name(run[0])} through {_weekday_name(run[-1])}")
            else:
                pieces.extend(_weekday_name(day) for day in run)
        parts.append(f"on {join_words(pieces)}")
    extensions = _weekday_extensions(field)
    if extensions:
        parts.append(f"on {join_words(extensions)} of the month")
    return " and ".join(parts)


def _weekday_condition(field: Field) -> str:
    """A restricted day-of-week field as a condition on a day: "a Monday or Friday"."""
    names = [_weekday_name(day) for run in _weekday_order(field.values) for day in run]
    extensions = [f"{term} of the month" for term in _weekday_extensions(field)]
    text = join_words(names + extensions, "or")
    return f"a {text}" if names else text


def _day_phrase(day_of_month: Field, day_of_week: Field) -> tuple[str, bool]:
    """The days the job runs on, following cron's day rule.

    If either field is a star, a day must match both (AND); a restricted star
    field (`*/2`) then reads as a condition: "if it is also a Sunday". If
    neither is a star, a day must match one (OR): "..., or on Friday".
    Returns the phrase ("" when every day qualifies) and whether it is such a
    two-part clause.
    """
    dom_all = day_of_month.values >= _ALL_DAYS
    dow_all = day_of_week.values >= _ALL_WEEKDAYS
    if day_of_month.star or day_of_week.star:
        if dom_all and dow_all:
            return "", False
        if dom_all:
            return _weekday_phrase(day_of_week), False
        if dow_all:
            return _day_of_month_phrase(day_of_month), False
        condition = _weekday_condition(day_of_week)
        return f"{_day_of_month_phrase(day_of_month)}, if it is also {condition}", True
    if dom_all or dow_all:
        return "", False
    return f"{_day_of_month_phrase(day_of_month)}, or {_weekday_phrase(day_of_week)}", True


def _month_phrase(month: Field) -> str:
    """The months the job runs in ("" for all of them)."""
    if month.values >= _ALL_MONTHS:
        return ""
    return f"in {join_words(_pieces(sorted(month.values), _month_name))}"


def _calendar_date(day_of_month: Field, month: Field, day_of_week: Field) -> str | None:
    """`on January 1` for one plain day in one month on any weekday (`@yearly`); else None."""
    items = day_of_month.items
    if (
        len(day_of_month.values) == 1
        and len(month.values) == 1
        and all(item.kind in (ItemKind.VALUE, ItemKind.RANGE) for item in items)
        and day_of_week.star
        and day_of_week.values >= _ALL_WEEKDAYS
    ):
        (day,) = day_of_month.values
        (number,) = month.values
        return f"on {_month_name(number)} {day}"
    return None


def describe(expr: CronExpression) -> str:
    """One plain-English sentence saying when `expr` fires, without a final period.

    Examples: `30 2 * * 1-5` -> "At 02:30 on Monday through Friday";
    `*/15 * * * *` -> "Every 15 minutes"; `30 4 1,15 * 5` -> "At 04:30 on days
    1 and 15 of the month, or on Friday". Nicknames read as their expansion.
    The time zone is not mentioned: callers add it where they show the zone.
    """
    minute, hour, day_of_month, month, day_of_week = expr.fields
    time_text, clock = _time_phrase(minute, hour)
    date_text = _calendar_date(day_of_month, month, day_of_week)
    if date_text is not None:
        return f"{time_text} {date_text}"
    days, two_part = _day_phrase(day_of_month, day_of_week)
    months = _month_phrase(month)
    if two_part and months:  # keep the months out of the "or" / "if" clause
        return f"{time_text} {months}, {days}"
    if not days and clock:
        days = "every day"
    return " ".join(part for part in (time_text, days, months) if part)


def headline(expr: CronExpression) -> str:
    """What `pycron explain` says first: the sentence of `describe`, with the
    expression's own time zone in brackets if it has one."""
    return describe(expr) + (f" ({expr.tz})" if expr.tz is not None else "")


# --------------------------------------------------------------------------- amounts


def human_duration(seconds: float | None) -> str:
    """`0.4s`, `12.0s`, `3m04s`, `2h05m`: durations for people (`-` for none)."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def cpu_text(seconds: float | None) -> str:
    """`0.42s`, `3m04s`: CPU time, finer than `human_duration` below a
    minute, as jobs often use a few hundredths of a second (`-` for none)."""
    if seconds is None:
        return "-"
    return f"{seconds:.2f}s" if seconds < 60 else human_duration(seconds)


def human_bytes(count: int | None) -> str:
    """`512 B`, `3.4 KiB`, `120.0 MiB`: sizes for people, in powers of 1024 (`-` for none)."""
    if count is None:
        return "-"
    power = min((count.bit_length() - 1) // 10, len(_BYTE_UNITS) - 1) if count > 0 else 0
    if power == 0:
        return f"{count} B"
    return f"{count / 1024**power:.1f} {_BYTE_UNITS[power]}"


# --------------------------------------------------------------------------- DST notes


def _add_months(moment: datetime, months: int) -> datetime:
    """`moment` moved by whole calendar months (day clamped to the month's length,
    year capped at 9999)."""
    year, month_index = divmod(moment.year * 12 + moment.month - 1 + months, 12)
    if year > 9999:
        return moment.replace(year=9999, month=12, day=31, hour=23, minute=59)
    day = min(moment.day, calendar.monthrange(year, month_index + 1)[1])
    return moment.replace(year=year, month=month_index + 1, day=day)


def _zone_name(tz: tzinfo) -> str:
    """The IANA key of a zone (`America/New_York`), else its str()."""
    key = getattr(tz, "key", None)
    return key if isinstance(key, str) else str(tz)


def _abbreviation(moment: datetime) -> str:
    """The zone abbreviation of an aware time (`EDT`), else its UTC offset."""
    name = moment.tzname()
    if name and name[0] in "+-":  # zoneinfo's numeric names (`-02`) read better as UTC-02
        return f"UTC{name}"
    if name:
        return name
    offset = moment.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _wall_hits(naive: CronExpression, start: datetime, end: datetime) -> list[datetime]:
    """The wall minutes in [start, end) that satisfy a naive expression's fields.

    Searching after `start` less a microsecond finds a match at `start` itself
    and never one before it, even for a transition at an odd second.
    """
    hits: list[datetime] = []
    try:
        for moment in naive.iter(start - _ONE_MICROSECOND):
            if moment >= end:
                break
            hits.append(moment)
    except NoMatchError:
        pass
    return hits


def _clock(moment: datetime, with_date: bool) -> str:
    """A wall time as `HH:MM`, or `YYYY-MM-DD HH:MM` when a note spans several dates."""
    return moment.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M")


def _times_subject(hits: Sequence[datetime]) -> tuple[str, bool]:
    """The matched wall times as a sentence subject, and whether it is plural.

    The note starts with the date of the first one, so times carry their own
    date only when they fall on several dates.
    """
    with_date = hits[0].date() != hits[-1].date()
    if len(hits) > _MAX_LISTED_TIMES:
        first, last = _clock(hits[0], with_date), _clock(hits[-1], with_date)
        return f"the {len(hits)} run times from {first} to {last}", True
    return join_words([_clock(hit, with_date) for hit in hits]), len(hits) > 1


def _gap_note(
    expr: CronExpression, naive: CronExpression, transition: Transition, hits: list[datetime]
) -> str:
    """The note for matching wall times that a spring-forward gap skips."""
    assert expr.tz is not None
    start, end = transition.wall_start, transition.wall_end
    with_date = start.date() != end.date()
    subject, plural = _times_subject(hits)
    verb = "do" if plural else "does"
    head = (
        f"{hits[0]:%Y-%m-%d}: {subject} {verb} not exist in {_zone_name(expr.tz)} "
        f"(clocks go from {_clock(start, with_date)} to {_clock(end, with_date)})"
    )
    if expr.wildcard:
        if plural:
            return f"{head}; these {len(hits)} runs are skipped"
        return f"{head}; the {subject} run is skipped"
    resumed = f"{_clock(end, with_date)} {_abbreviation(transition.instant)}"
    if _wall_hits(naive, end, end + timedelta(minutes=1)):
        return (
            f"{head}; the job runs once at {resumed} instead, "
            f"together with its regular {_clock(end, with_date)} run"
        )
    return f"{head}; the job runs {'once ' if plural else ''}at {resumed} instead"


def _fold_note(expr: CronExpression, transition: Transition, hits: list[datetime]) -> str:
    """The note for matching wall times that a fall-back fold repeats."""
    assert expr.tz is not None
    start, end = transition.wall_start, transition.wall_end
    with_date = start.date() != end.date()
    subject, plural = _times_subject(hits)
    first_pass = _abbreviation(hits[0].replace(tzinfo=expr.tz, fold=0))
    second_pass = _abbreviation(hits[0].replace(tzinfo=expr.tz, fold=1))
    head = (
        f"{hits[0]:%Y-%m-%d}: {subject} {'happen' if plural else 'happens'} twice in "
        f"{_zone_name(expr.tz)} (clocks go back from {_clock(end, with_date)} "
        f"to {_clock(start, with_date)})"
    )
    if expr.wildcard:
        return f"{head}; the job runs in both passes, first {first_pass} then {second_pass}"
    if plural:
        return (
            f"{head}; the job runs once at each, in the first pass ({first_pass}), "
            f"not again in the second ({second_pass})"
        )
    return f"{head}; the job runs once, at the first {subject} ({first_pass})"


def dst_notes(expr: CronExpression, start: datetime, months: int = 12) -> list[str]:
    """Notes on the DST transitions within `months` months after `start` that change
    when a zoned job runs (README, "Daylight saving time"); [] for an
    expression without a zone.

    A fixed job whose time falls in a gap runs once when the gap ends; one whose
    time is repeated runs in the first pass only. A wildcard job (minute or hour
    field starting with `*`) skips gap times and runs repeated times twice.
    Transitions that no matching wall time meets are left out. `start` is aware,
    or naive wall time in the expression's zone.
    """
    if months < 0:
        raise ValueError(f"months must be 0 or more, not {months}")
    if expr.tz is None:
        return []
    naive = CronExpression(expr.text)
    notes: list[str] = []
    for transition in zone_transitions(expr.tz, start, _add_months(start, months)):
        hits = _wall_hits(naive, transition.wall_start, transition.wall_end)
        if not hits:
            continue
        if transition.is_gap:
            notes.append(_gap_note(expr, naive, transition, hits))
        else:
            notes.append(_fold_note(expr, transition, hits))
    return notes
