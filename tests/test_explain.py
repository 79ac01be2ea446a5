"""Plain-English descriptions and DST notes (pycron.explain)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import takewhile
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pycron.errors import CronSyntaxError
from pycron.explain import cpu_text, describe, dst_notes, human_bytes, human_duration
from pycron.expr import DOW_NAMES, MONTH_NAMES, CronExpression, ItemKind

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")

# --------------------------------------------------------------------------- describe: table

DESCRIPTIONS = [
    # minutes and hours
    ("* * * * *", "Every minute", "every-minute"),
    ("*/15 * * * *", "Every 15 minutes", "minute-star-step"),
    ("0,15,30,45 * * * *", "Every 15 minutes", "minute-list-as-step"),
    ("5/15 * * * *", "Every 15 minutes from minute 5", "minute-a-slash-n"),
    ("*/7 * * * *", "Every 7 minutes from minute 0 through 56", "minute-step-not-dividing"),
    ("*/45 * * * *", "At minutes 0 and 45 past every hour", "minute-step-two-values"),
    ("*/100 * * * *", "At minute 0 past every hour", "minute-step-over-span"),
    ("0-10 * * * *", "Every minute from minute 0 through 10", "minute-range"),
    ("1-5/2,10 * * * *", "At minutes 1, 3, 5 and 10 past every hour", "minute-mixed-list"),
    ("*,5 * * * *", "Every minute", "minute-star-in-list"),
    ("0 * * * *", "At minute 0 past every hour", "hourly-minute-0"),
    ("0 0-23 * * *", "At minute 0 past every hour", "hour-full-range"),
    ("0 9-17 * * *", "At minute 0 past every hour from 09:00 through 17:00", "hour-range"),
    ("30 9-17 * * *", "At minute 30 past every hour from 09:00 through 17:00", "hour-range-30"),
    ("0 */4 * * *", "At minute 0 past every 4th hour", "hour-step"),
    ("0 1/2 * * *", "At minute 0 past every 2nd hour from 01:00", "hour-a-slash-n"),
    (
        "*/15 */5 * * *",
        "Every 15 minutes during every 5th hour from 00:00 through 20:00",
        "hour-step-not-dividing",
    ),
    ("* */12 * * *", "Every minute during the 00:00 and 12:00 hours", "hour-two-values"),
    ("* 16 * * *", "Every minute between 16:00 and 16:59", "minute-star-one-hour"),
    (
        "0-10 9-17 * * *",
        "Every minute from minute 0 through 10, between 09:00 and 17:59",
        "minute-range-hour-range",
    ),
    (
        "0,20,40 9,12,18 * * *",
        "Every 20 minutes during the 09:00, 12:00 and 18:00 hours",
        "minute-step-hour-list",
    ),
    (
        "0-7,30 9,18 * * *",
        "At minutes 0 through 7 and 30 of the 09:00 and 18:00 hours",
        "minute-list-hour-list",
    ),
    ("0,30 9,18 * * *", "At 09:00, 09:30, 18:00 and 18:30 every day", "clock-times"),
    ("*/20 1 * * *", "At 01:00, 01:20 and 01:40 every day", "clock-times-from-step"),
    ("00 05 * * *", "At 05:00 every day", "leading-zeros"),
    # days of the month, extensions included
    ("0 0 1 * *", "At 00:00 on day 1 of the month", "dom-value"),
    ("0 0 1,15 * *", "At 00:00 on days 1 and 15 of the month", "dom-list"),
    ("0 0 1-7 * *", "At 00:00 on days 1 through 7 of the month", "dom-range"),
    ("0 0 */2 * *", "At 00:00 on odd-numbered days of the month", "dom-odd"),
    ("0 0 2/2 * *", "At 00:00 on even-numbered days of the month", "dom-even"),
    ("0 0 */3 * *", "At 00:00 on every 3rd day of the month", "dom-step"),
    (
        "0 0 1-15/2 * *",
        "At 00:00 on every 2nd day from day 1 through 15 of the month",
        "dom-range-step",
    ),
    ("0 0 L * *", "At 00:00 on the last day of the month", "dom-last"),
    ("0 0 L-0 * *", "At 00:00 on the last day of the month", "dom-last-minus-0"),
    ("0 0 L-1 * *", "At 00:00 on the day before the last day of the month", "dom-last-minus-1"),
    ("0 0 L-2 * *", "At 00:00 on the 2nd day before the last day of the month", "dom-last-minus-2"),
    ("0 0 15W * *", "At 00:00 on the weekday nearest day 15 of the month", "dom-nearest-weekday"),
    ("0 0 lw * *", "At 00:00 on the last weekday of the month", "dom-last-weekday"),
    ("0 0 1,15,L * *", "At 00:00 on day 1, day 15 and the last day of the month", "dom-mixed"),
    (
        "0 0 1-7,15,16,L * *",
        "At 00:00 on days 1 through 7, day 15, day 16 and the last day of the month",
        "dom-runs-and-l",
    ),
    ("0 0 */2,L * *", "At 00:00 on odd-numbered days and the last day of the month", "dom-step-l"),
    # days of the week
    ("30 2 * * 1-5", "At 02:30 on Monday through Friday", "dow-range"),
    ("0 12 * * 7", "At 12:00 on Sunday", "dow-7-is-sunday"),
    ("0 0 * * 0,7", "At 00:00 on Sunday", "dow-0-and-7"),
    ("0 0 * * sat-sun", "At 00:00 on Saturday and Sunday", "dow-sat-sun"),
    ("0 0 * * 5-0", "At 00:00 on Friday through Sunday", "dow-5-0"),
    ("0 0 * * 5-0/2", "At 00:00 on Sunday and Friday", "dow-5-0-step"),
    ("0 0 * * MON-fri", "At 00:00 on Monday through Friday", "dow-names-any-case"),
    ("0 0 * * */2", "At 00:00 on Sunday, Tuesday, Thursday and Saturday", "dow-star-step"),
    ("0 0 * * 1/2", "At 00:00 on Sunday, Monday, Wednesday and Friday", "dow-a-slash-n"),
    ("0 0 * * sun,mon,fri,sat", "At 00:00 on Friday through Monday", "dow-wrapping-list"),
    ("0 0 * * 0-7", "At 00:00 every day", "dow-0-7"),
    ("0 0 * * 5L", "At 00:00 on the last Friday of the month", "dow-last"),
    ("0 0 * * fri#2", "At 00:00 on the second Friday of the month", "dow-nth-name"),
    ("0 0 * * 0L", "At 00:00 on the last Sunday of the month", "dow-last-sunday"),
    ("0 0 * * 1#2", "At 00:00 on the second Monday of the month", "dow-nth"),
    ("0 0 * * 7#5", "At 00:00 on the fifth Sunday of the month", "dow-nth-7"),
    (
        "0 0 * * 1#1,5L",
        "At 00:00 on the first Monday and the last Friday of the month",
        "dow-nth-and-last",
    ),
    (
        "0 0 * * 1-5,6#3",
        "At 00:00 on Monday through Friday and on the third Saturday of the month",
        "dow-mixed",
    ),
    ("0 0 ? * 1", "At 00:00 on Monday", "any-in-dom"),
    ("0 0 1 * ?", "At 00:00 on day 1 of the month", "any-in-dow"),
    ("0 0 ? * ?", "At 00:00 every day", "any-in-both"),
    # the day-of-month / day-of-week rule
    ("30 4 1,15 * 5", "At 04:30 on days 1 and 15 of the month, or on Friday", "or-rule"),
    ("0 0 1-7 * 1", "At 00:00 on days 1 through 7 of the month, or on Monday", "or-first-week"),
    ("0 0 L * 5", "At 00:00 on the last day of the month, or on Friday", "or-extension"),
    (
        "0 0 1 * 2#1",
        "At 00:00 on day 1 of the month, or on the first Tuesday of the month",
        "or-nth",
    ),
    (
        "0 0 */2 * sun",
        "At 00:00 on odd-numbered days of the month, if it is also a Sunday",
        "and-dom-star-step",
    ),
    (
        "0 0 1 * */2",
        "At 00:00 on day 1 of the month, if it is also a Sunday, Tuesday, Thursday or Saturday",
        "and-dow-star-step",
    ),
    (
        "0 0 */32,1-7 * 1",
        "At 00:00 on days 1 through 7 of the month, if it is also a Monday",
        "and-star-first",
    ),
    (
        "0 0 */2 * 5L",
        "At 00:00 on odd-numbered days of the month, if it is also the last Friday of the month",
        "and-extension",
    ),
    ("0 0 1,* * 1", "At 00:00 every day", "or-with-full-dom"),
    ("0 0 1-31 * 1", "At 00:00 every day", "or-with-full-range"),
    # months
    (
        "0 0 1 jan/3 *",
        "At 00:00 on day 1 of the month in January, April, July and October",
        "month-name-step",
    ),
    ("0 12 * jan-mar,oct *", "At 12:00 every day in January through March and October", "months"),
    ("0 0 29 2 *", "At 00:00 on February 29", "calendar-date"),
    (
        "30 4 1,15 JUN 5",
        "At 04:30 in June, on days 1 and 15 of the month, or on Friday",
        "month-before-or-clause",
    ),
    (
        "*/15 9-17 * * 1-5",
        "Every 15 minutes between 09:00 and 17:59 on Monday through Friday",
        "workday",
    ),
    # nicknames
    ("@yearly", "At 00:00 on January 1", "yearly"),
    ("@annually", "At 00:00 on January 1", "annually"),
    ("@monthly", "At 00:00 on day 1 of the month", "monthly"),
    ("@weekly", "At 00:00 on Sunday", "weekly"),
    ("@daily", "At 00:00 every day", "daily"),
    ("  @midnight  ", "At 00:00 every day", "midnight"),
    ("@hourly", "At minute 0 past every hour", "hourly"),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [pytest.param(text, expected, id=case_id) for text, expected, case_id in DESCRIPTIONS],
)
def test_describe(text: str, expected: str) -> None:
    assert describe(CronExpression(text)) == expected


def test_table_covers_every_item_kind() -> None:
    kinds = {
        item.kind
        for text, _, _ in DESCRIPTIONS
        for field in CronExpression(text).fields
        for item in field.items
    }
    expected = {value for name, value in vars(ItemKind).items() if not name.startswith("_")}
    assert kinds == expected


def test_describe_ignores_the_zone() -> None:
    assert describe(CronExpression("30 2 * * *", "America/New_York")) == "At 02:30 every day"


# --------------------------------------------------------------------------- describe: any input

MONTH_FULL = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]

_LIMITS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


@st.composite
def _value(draw: st.DrawFn, index: int) -> tuple[str, int]:
    """A value of field `index`, as a number or (month, day-of-week) a name."""
    low, high = _LIMITS[index]
    number = draw(st.integers(low, high))
    names = {3: MONTH_NAMES, 4: DOW_NAMES}.get(index)
    if names is not None and number < len(names) + low and draw(st.booleans()):
        name = names[number - low]
        return draw(st.sampled_from([name, name.upper(), name.title()])), number
    return str(number), number


@st.composite
def _item(draw: st.DrawFn, index: int) -> str:
    """One list item of field `index`: star, value, range, steps, extensions."""
    step = f"/{draw(st.integers(1, 70))}"
    choices = ["star", "star-step", "value", "range", "range-step", "value-step"]
    if index == 2:
        choices += ["last", "nearest", "last-weekday"]
    if index == 4:
        choices += ["last-dow", "nth-dow", "wrap"]
    kind = draw(st.sampled_from(choices))
    if kind in ("star", "star-step"):
        return "*" + (step if kind == "star-step" else "")
    if kind == "last":
        return "L" + draw(st.sampled_from(["", f"-{draw(st.integers(0, 30))}"]))
    if kind == "nearest":
        return f"{draw(st.integers(1, 31))}W"
    if kind == "last-weekday":
        return "LW"
    if kind == "wrap":
        return f"{draw(st.integers(1, 6))}-0" + draw(st.sampled_from(["", step]))
    if kind == "last-dow":  # numbers only: the engine rejects `friL`
        return f"{draw(st.integers(0, 7))}L"
    text, number = draw(_value(index))
    if kind == "nth-dow":
        return f"{text}#{draw(st.integers(1, 5))}"
    if kind in ("value", "value-step"):
        return text + (step if kind == "value-step" else "")
    end_text, end = draw(_value(index))
    if end < number:
        text, end_text = end_text, text
    return f"{text}-{end_text}" + (step if kind == "range-step" else "")


@st.composite
def _field(draw: st.DrawFn, index: int) -> str:
    """A field: `?` in the day fields, else a list of one to four items."""
    if index in (2, 4) and draw(st.integers(0, 9)) == 0:
        return "?"
    return ",".join(draw(st.lists(_item(index), min_size=1, max_size=4)))


@st.composite
def _expression(draw: st.DrawFn) -> str:
    """A five-field expression that the engine accepts (or a nickname)."""
    if draw(st.integers(0, 19)) == 0:
        return draw(st.sampled_from(["@yearly", "@monthly", "@weekly", "@daily", "@hourly"]))
    return " ".join(draw(_field(index)) for index in range(5))


def _parse(text: str) -> CronExpression:
    """The generator's text parsed; it is built to be valid, so an error is a test bug."""
    try:
        return CronExpression(text)
    except CronSyntaxError as exc:  # pragma: no cover - reported with the text
        raise AssertionError(f"generated an invalid expression {text!r}: {exc}") from exc


@settings(max_examples=600, deadline=None)
@given(_expression())
def test_describe_never_fails(text: str) -> None:
    sentence = describe(_parse(text))
    assert sentence
    assert sentence[0].isupper()
    assert "  " not in sentence
    assert not sentence.endswith((" ", ",", "."))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 59), st.integers(0, 23), st.integers(1, 31), st.integers(1, 12))
def test_clock_time_and_date_appear(minute: int, hour: int, day: int, month: int) -> None:
    sentence = describe(CronExpression(f"{minute} {hour} {day} {month} *"))
    assert sentence == f"At {hour:02d}:{minute:02d} on {MONTH_FULL[month - 1]} {day}"


# --------------------------------------------------------------------------- dst_notes

START = datetime(2026, 1, 1, tzinfo=NEW_YORK)
LONDON_START = datetime(2026, 1, 1, tzinfo=LONDON)


def _notes(text: str, zone: ZoneInfo, start: datetime) -> list[str]:
    return dst_notes(CronExpression(text, zone), start)


def test_dst_notes_new_york_fixed_in_gap() -> None:
    # NY 2026-03-08 02:00 EST -> 03:00 EDT: 02:30 does not exist; fixed jobs run at 03:00 EDT.
    (note,) = _notes("30 2 * * *", NEW_YORK, START)
    assert note == (
        "2026-03-08: 02:30 does not exist in America/New_York (clocks go from 02:00 to 03:00); "
        "the job runs at 03:00 EDT instead"
    )


def test_dst_notes_new_york_fixed_in_fold() -> None:
    # NY 2026-11-01 02:00 EDT -> 01:00 EST: 01:30 happens twice; a fixed job runs in the first.
    (note,) = _notes("30 1 * * *", NEW_YORK, START)
    assert note == (
        "2026-11-01: 01:30 happens twice in America/New_York (clocks go back from 02:00 "
        "to 01:00); the job runs once, at the first 01:30 (EDT)"
    )


def test_dst_notes_new_york_two_gap_times_collapse() -> None:
    (note,) = _notes("15,45 2 * * *", NEW_YORK, START)
    assert note.startswith("2026-03-08: 02:15 and 02:45 do not exist")
    assert note.endswith("the job runs once at 03:00 EDT instead")


def test_dst_notes_new_york_gap_merges_with_a_real_run() -> None:
    # Spec D3: the gap firing at 03:00 EDT is the job's own 03:00 run.
    # The fold (01:00-01:59 twice) holds none of its times: no note for 2026-11-01.
    (gap,) = _notes("0,30 2,3 * * *", NEW_YORK, START)
    assert gap.startswith("2026-03-08: 02:00 and 02:30 do not exist")
    assert gap.endswith("runs once at 03:00 EDT instead, together with its regular 03:00 run")


def test_dst_notes_new_york_wildcard() -> None:
    # Wildcard jobs skip gap times and run repeated times in both passes.
    gap, fold = _notes("*/30 * * * *", NEW_YORK, START)
    assert gap.startswith("2026-03-08: 02:00 and 02:30 do not exist in America/New_York")
    assert gap.endswith("these 2 runs are skipped")
    assert fold.startswith("2026-11-01: 01:00 and 01:30 happen twice in America/New_York")
    assert fold.endswith("the job runs in both passes, first EDT then EST")


def test_dst_notes_new_york_hourly_is_wildcard() -> None:
    gap, fold = _notes("@hourly", NEW_YORK, START)
    assert gap.endswith("the 02:00 run is skipped")
    assert "both passes" in fold


def test_dst_notes_new_york_fixed_every_hour() -> None:
    # `0 0-23` is fixed (neither field starts with `*`): no skipped or doubled run.
    gap, fold = _notes("0 0-23 * * *", NEW_YORK, START)
    assert "runs once at 03:00 EDT" in gap
    assert "runs once, at the first 01:00 (EDT)" in fold


def test_dst_notes_london_fixed() -> None:
    # London 2026-03-29 01:00 GMT -> 02:00 BST; 2026-10-25 02:00 BST -> 01:00 GMT.
    gap, fold = _notes("30 1 * * *", LONDON, LONDON_START)
    assert gap == (
        "2026-03-29: 01:30 does not exist in Europe/London (clocks go from 01:00 to 02:00); "
        "the job runs at 02:00 BST instead"
    )
    assert fold == (
        "2026-10-25: 01:30 happens twice in Europe/London (clocks go back from 02:00 to 01:00); "
        "the job runs once, at the first 01:30 (BST)"
    )


def test_dst_notes_london_wildcard() -> None:
    gap, fold = _notes("*/20 1 * * *", LONDON, LONDON_START)
    assert gap == (
        "2026-03-29: 01:00, 01:20 and 01:40 do not exist in Europe/London "
        "(clocks go from 01:00 to 02:00); these 3 runs are skipped"
    )
    assert fold == (
        "2026-10-25: 01:00, 01:20 and 01:40 happen twice in Europe/London "
        "(clocks go back from 02:00 to 01:00); the job runs in both passes, first BST then GMT"
    )


def test_dst_notes_many_times_are_counted() -> None:
    gap, fold = _notes("* * * * *", LONDON, LONDON_START)
    assert gap.startswith("2026-03-29: the 60 run times from 01:00 to 01:59 do not exist")
    assert gap.endswith("these 60 runs are skipped")
    assert fold.startswith("2026-10-25: the 60 run times from 01:00 to 01:59 happen twice")


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        pytest.param("0 12 * * *", NEW_YORK, id="noon-new-york"),
        pytest.param("0 12 * * *", LONDON, id="noon-london"),
        pytest.param("30 2 * * 1", NEW_YORK, id="monday-only"),  # 2026-03-08 is a Sunday
        pytest.param("0 2 * * *", LONDON, id="london-02-exists"),  # spec D18
        pytest.param("30 2 * * *", ZoneInfo("UTC"), id="utc"),
        pytest.param("30 2 * * *", timezone(timedelta(hours=-5)), id="fixed-offset"),
    ],
)
def test_dst_notes_none_when_no_transition_is_met(text: str, zone: object) -> None:
    expr = CronExpression(text, zone)  # type: ignore[arg-type]
    assert dst_notes(expr, datetime(2026, 1, 1, tzinfo=timezone.utc)) == []


def test_dst_notes_naive_expression() -> None:
    assert dst_notes(CronExpression("30 2 * * *"), datetime(2026, 1, 1)) == []


def test_dst_notes_window() -> None:
    expr = CronExpression("30 2 * * *", NEW_YORK)
    assert dst_notes(expr, datetime(2026, 1, 1, tzinfo=NEW_YORK), months=2) == []
    assert len(dst_notes(expr, datetime(2026, 1, 9, tzinfo=NEW_YORK), months=2)) == 1
    assert dst_notes(expr, datetime(2026, 3, 9, tzinfo=NEW_YORK)) == []  # next gap is 2027-03-14
    assert dst_notes(expr, datetime(2026, 3, 9, tzinfo=NEW_YORK), months=13)[0].startswith(
        "2027-03-14: "
    )


def test_dst_notes_naive_start_is_wall_time_in_the_zone() -> None:
    expr = CronExpression("30 1 * * *", LONDON)
    assert dst_notes(expr, datetime(2026, 1, 1)) == dst_notes(expr, LONDON_START)


def test_dst_notes_rejects_negative_months() -> None:
    with pytest.raises(ValueError, match="months"):
        dst_notes(CronExpression("0 0 * * *", NEW_YORK), START, months=-1)


@pytest.mark.parametrize(
    ("text", "zone", "start", "fragment"),
    [
        pytest.param(
            "0 0 * * *",
            "America/Sao_Paulo",
            datetime(2018, 6, 1),
            "2018-11-04: 00:00 does not exist in America/Sao_Paulo (clocks go from 00:00 to 01:00)",
            id="midnight-gap",
        ),
        pytest.param(
            "0 2 * * *",
            "Australia/Lord_Howe",
            datetime(2019, 6, 1),
            "(clocks go from 02:00 to 02:30); the job runs at 02:30 UTC+11 instead",
            id="half-hour-gap",
        ),
        pytest.param(
            "0 12 * * *",
            "Pacific/Apia",
            datetime(2011, 12, 1),
            "2011-12-30: 12:00 does not exist in Pacific/Apia (clocks go from 2011-12-30 00:00 "
            "to 2011-12-31 00:00); the job runs at 2011-12-31 00:00 UTC+14 instead",
            id="skipped-day",
        ),
    ],
)
def test_dst_notes_odd_transitions(text: str, zone: str, start: datetime, fragment: str) -> None:
    notes = dst_notes(CronExpression(text, zone), start)
    assert any(fragment in note for note in notes), notes


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        pytest.param("30 2 * * *", "America/New_York", id="ny-fixed"),
        pytest.param("15,45 2 * * *", "America/New_York", id="ny-fixed-two"),
        pytest.param("30 1 * * *", "Europe/London", id="london-fixed"),
        pytest.param("0 0-23 * * *", "America/New_York", id="ny-fixed-hours"),
    ],
)
def test_gap_notes_agree_with_the_engine(text: str, zone: str) -> None:
    """The time a note announces for a fixed gap job is the engine's firing."""
    expr = CronExpression(text, zone)
    start = datetime(2026, 1, 1, tzinfo=expr.tz)
    gap_note = next(note for note in dst_notes(expr, start) if "not exist" in note)
    day = datetime.strptime(gap_note[:10], "%Y-%m-%d").replace(tzinfo=expr.tz)
    firings = list(takewhile(lambda moment: moment.date() == day.date(), expr.iter(day)))
    assert any(f"at {m:%H:%M %Z} instead" in gap_note for m in firings), gap_note
    # ... and no firing that day shows a wall time the note names as missing.
    missing = gap_note.split(": ", 1)[1].split(" do")[0].replace(" and", ",").split(", ")
    assert not {f"{m:%H:%M}" for m in firings} & set(missing)


# --------------------------------------------------------------------------- amounts


@pytest.mark.parametrize(
    ("seconds", "duration", "cpu"),
    [
        (None, "-", "-"),
        (0.004, "0.0s", "0.00s"),
        (0.42, "0.4s", "0.42s"),
        (12.0, "12.0s", "12.00s"),
        (184, "3m04s", "3m04s"),
        (7500, "2h05m", "2h05m"),
    ],
)
def test_durations_for_people(seconds: float | None, duration: str, cpu: str) -> None:
    assert human_duration(seconds) == duration
    assert cpu_text(seconds) == cpu


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (None, "-"),
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (12_897_484, "12.3 MiB"),
        (5 * 2**30, "5.0 GiB"),
        (2**50, "1024.0 TiB"),
    ],
)
def test_sizes_for_people(count: int | None, text: str) -> None:
    assert human_bytes(count) == text
