"""Syntax errors of cron expressions.

Exact messages are asserted only for the table of worked errors below. Elsewhere the tests
check what is fixed for every error: the class, the field index, the column of the offending
token, the `<field name>: ` prefix and the trailing `(column N)` with N == .position.
"""

from __future__ import annotations

from typing import Any

import pytest

import pycron
from pycron import CronExpression, CronSyntaxError, NoMatchError, PycronError

FIELD_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")
UNKNOWN = object()  # "do not check this attribute": it is not pinned down


def _ids(rows: list[tuple[Any, ...]]) -> list[str]:
    """Test ids: the expression text, quoted so that blanks and escapes stay visible."""
    return [repr(row[0]) for row in rows]


def reject(text: str) -> CronSyntaxError:
    with pytest.raises(CronSyntaxError) as caught:
        CronExpression(text)
    return caught.value


def check_shape(error: CronSyntaxError, text: str) -> None:
    """What every syntax error must satisfy (1.5)."""
    message = str(error)
    assert error.message == message
    if error.field is not None:
        assert error.field in range(5)
        assert message.startswith(f"{FIELD_NAMES[error.field]}: "), message
    else:
        assert not message.startswith(tuple(f"{name}: " for name in FIELD_NAMES)), message
    if error.position is None:
        # Leading and trailing blanks are ignored, so a blank text is an empty expression too.
        assert text.strip(" \t") == "", f"position None is only for an empty expression: {message}"
    else:
        assert 0 <= error.position <= len(text)
        assert message.endswith(f" (column {error.position})"), message


def check(text: str, field: object = UNKNOWN, position: object = UNKNOWN) -> CronSyntaxError:
    error = reject(text)
    check_shape(error, text)
    if field is not UNKNOWN:
        assert error.field == field, str(error)
    if position is not UNKNOWN:
        assert error.position == position, str(error)
    return error


# ------------------------------------------------------------------------------ 1.5 table

TABLE = [
    ("61 * * * *", "minute: value 61 out of range 0-59 (column 0)", 0, 0),
    ("0 24 * * *", "hour: value 24 out of range 0-23 (column 2)", 1, 2),
    ("0 0 * january *", "month: unknown name 'january', expected jan..dec (column 6)", 3, 6),
    ("0 0 * * sunday", "day-of-week: unknown name 'sunday', expected sun..sat (column 8)", 4, 8),
    ("*/0 * * * *", "minute: step 0 in '*/0', step must be 1 or more (column 2)", 0, 2),
    ("0 22-2 * * *", "hour: reversed range '22-2', start is after end (column 2)", 1, 2),
    ("1,,2 * * * *", "minute: empty list item in '1,,2' (column 2)", 0, 2),
    ("0 0 * * 1#6", "day-of-week: occurrence 6 in '1#6' out of range 1-5 (column 10)", 4, 10),
    ("0 0 L-31 * *", "day-of-month: offset 31 in 'L-31' out of range 0-30 (column 6)", 2, 6),
    (
        "* * * * * *",
        "expected 5 fields, got 6: seconds and year fields are not crontab syntax (column 10)",
        None,
        10,
    ),
    ("@DAILY", "nickname '@DAILY' must be lower case: use '@daily' (column 0)", None, 0),
    (
        "@reboot",
        "'@reboot' is only meaningful in a crontab file and has no next run time (column 0)",
        None,
        0,
    ),
    # Same forms as table rows, for the misspelling asked about in the test plan.
    ("0 0 * * mnd", "day-of-week: unknown name 'mnd', expected sun..sat (column 8)", 4, 8),
]


@pytest.mark.parametrize(("text", "message", "field", "position"), TABLE, ids=_ids(TABLE))
def test_error_table(text: str, message: str, field: int | None, position: int) -> None:
    error = reject(text)
    assert str(error) == message
    assert error.message == message
    assert error.field == field
    assert error.position == position


# ------------------------------------------------------------------------------ must reject

# (text, field, position); UNKNOWN where the value is not pinned down.
MUST_REJECT: list[tuple[str, object, object]] = [
    ("60 * * * *", 0, 0),
    ("0 24 * * *", 1, 2),
    ("0 0 0 * *", 2, 4),
    ("0 0 32 * *", 2, 4),
    ("0 0 * 0 *", 3, 6),
    ("0 0 * 13 *", 3, 6),
    ("0 0 * * 8", 4, 8),
    ("1-60 * * * *", 0, 2),  # the number out of range
    ("*/0 * * * *", 0, 2),
    ("1-5/0 * * * *", 0, 4),  # the step
    ("0 0 * january *", 3, 6),
    ("0 0 * * sunday", 4, 8),
    ("0x1 * * * *", 0, UNKNOWN),
    ("1.5 * * * *", 0, UNKNOWN),
    ("+5 * * * *", 0, 0),
    ("-5 * * * *", 0, 0),
    (",5 * * * *", 0, UNKNOWN),
    ("5, * * * *", 0, UNKNOWN),
    ("*/5/2 * * * *", 0, UNKNOWN),
    ("*x * * * *", 0, UNKNOWN),
    ("0 0 $ * *", 2, 4),
    ("H * * * *", 0, 0),
    ("0~30 * * * *", 0, UNKNOWN),
    ("@DAILY", None, 0),
    ("@every 5m", None, UNKNOWN),
    ("22-2 * * * *", 0, 0),
    ("0 0 * * fri-mon", 4, 8),
    ("* * * * * *", None, 10),
    ("* * * * * * *", None, UNKNOWN),
    ("* * * *", UNKNOWN, 7),  # the column just past the text
    ("\u0663 * * * *", 0, 0),  # ARABIC-INDIC DIGIT THREE
    ("? * * * *", 0, 0),
    ("0 0 L-31 * *", 2, 6),
    ("0 0 * * 1#0", 4, 10),  # the occurrence, as for 1#6 in the table
    ("0 0 0W * *", 2, 4),
    ("* * * */jan *", 3, 8),  # the step
    ("", None, None),
]


@pytest.mark.parametrize(("text", "field", "position"), MUST_REJECT, ids=_ids(MUST_REJECT))
def test_must_reject(text: str, field: object, position: object) -> None:
    check(text, field, position)


def test_empty_expression_has_no_position() -> None:
    error = reject("")
    assert error.position is None
    assert error.field is None


@pytest.mark.parametrize("text", ["   ", "\t", " \t "], ids=repr)
def test_blank_expression(text: str) -> None:
    error = reject(text)
    check_shape(error, text)


# ------------------------------------------------------------------------------ error classes

OUT_OF_RANGE = [
    ("60 * * * *", 0, 0, "60"),
    ("0 0-24 * * *", 1, 4, "24"),
    ("0 0 1-32 * *", 2, 6, "32"),
    ("0 0 0-5 * *", 2, 4, "0"),
    ("0 0 * 1-13 *", 3, 8, "13"),
    ("0 0 * 0-3 *", 3, 6, "0"),
    ("0 0 * * 0-8", 4, 10, "8"),
    ("0 0 * * 8#1", 4, 8, "8"),
    ("0 0 * * 8L", 4, 8, "8"),
    ("0 0 32W * *", 2, 4, "32"),
    ("70/5 * * * *", 0, 0, "70"),
    ("5,99 * * * *", 0, 2, "99"),
    ("99999999999 * * * *", 0, 0, "99999999999"),  # never an overflow
    ("0 99999999999999999999999 * * *", 1, 2, "99999999999999999999999"),
]


@pytest.mark.parametrize(
    ("text", "field", "position", "token"), OUT_OF_RANGE, ids=_ids(OUT_OF_RANGE)
)
def test_value_out_of_range(text: str, field: int, position: int, token: str) -> None:
    error = check(text, field, position)
    assert token in str(error)


UNKNOWN_NAMES = [
    ("0 0 * jna *", 3, 6, "jna"),
    ("0 0 * * mnd", 4, 8, "mnd"),
    ("0 0 * * sunday", 4, 8, "sunday"),
    ("0 0 * january *", 3, 6, "january"),
    ("0 0 * * mon-fry", 4, 12, "fry"),
    ("0 0 * * tues", 4, 8, "tues"),
    ("0 0 * jan,febr *", 3, 10, "febr"),
]


@pytest.mark.parametrize(
    ("text", "field", "position", "token"), UNKNOWN_NAMES, ids=_ids(UNKNOWN_NAMES)
)
def test_unknown_name(text: str, field: int, position: int, token: str) -> None:
    error = check(text, field, position)
    assert f"'{token}'" in str(error)


def test_close_misspelling_message() -> None:
    error = reject("0 0 * * mnd")
    assert str(error) == "day-of-week: unknown name 'mnd', expected sun..sat (column 8)"
    if error.hint is not None:
        assert "mon" in error.hint


NAMES_IN_THE_WRONG_FIELD = [
    ("0 jan * * *", 1, 2),
    ("0 9 mon * *", 2, 4),
    ("jan * * * *", 0, 0),
    ("0 0 * mon *", 3, 6),
    ("0 0 * * jan", 4, 8),
    ("0 0 * * */mon", 4, 10),  # a name as a step
    ("*/jan * * * *", 0, 2),
    ("0 0 1/feb * *", 2, 6),
]


@pytest.mark.parametrize(
    ("text", "field", "position"), NAMES_IN_THE_WRONG_FIELD, ids=_ids(NAMES_IN_THE_WRONG_FIELD)
)
def test_names_in_the_wrong_place(text: str, field: int, position: int) -> None:
    check(text, field, position)


STEP_ZERO = [
    ("*/0 * * * *", 0, 2),
    ("1-5/0 * * * *", 0, 4),
    ("5/0 * * * *", 0, 2),
    ("0 */00 * * *", 1, 4),
    ("0 0 * * mon-fri/0", 4, 16),
]


@pytest.mark.parametrize(("text", "field", "position"), STEP_ZERO, ids=_ids(STEP_ZERO))
def test_step_zero(text: str, field: int, position: int) -> None:
    error = check(text, field, position)
    assert "0" in str(error)


REVERSED = [
    ("22-2 * * * *", 0, 0),
    ("50-10 * * * *", 0, 0),
    ("0 22-2 * * *", 1, 2),
    ("0 3-0 * * *", 1, 2),
    ("0 0 20-10 * *", 2, 4),
    ("0 0 * nov-feb *", 3, 6),
    ("0 0 * 12-1 *", 3, 6),
    ("0 0 * * fri-mon", 4, 8),
    ("0 0 * * 6-1", 4, 8),
    ("0 0 * * 7-1", 4, 8),
    ("0 0 * * 1-5,sat-mon", 4, 12),
]


@pytest.mark.parametrize(("text", "field", "position"), REVERSED, ids=_ids(REVERSED))
def test_reversed_ranges(text: str, field: int, position: int) -> None:
    check(text, field, position)


@pytest.mark.parametrize(
    "text", ["0 0 * * 5-0", "0 0 * * sat-sun", "0 0 * * 5-0/2", "0 0 * * fri-SUN", "0 0 * * 1-0"]
)
def test_day_of_week_ranges_ending_on_sunday_0_are_accepted(text: str) -> None:
    assert CronExpression(text).text == text


EMPTY_ITEMS = [
    (",5 * * * *", 0),
    ("5, * * * *", 0),
    ("1,,2 * * * *", 0),
    ("0 0 * * mon,", 4),
    ("0 0 ,L * *", 2),
]


@pytest.mark.parametrize(("text", "field"), EMPTY_ITEMS, ids=_ids(EMPTY_ITEMS))
def test_empty_items(text: str, field: int) -> None:
    check(text, field)


@pytest.mark.parametrize(
    ("text", "position"),
    [("* * * * * *", 10), ("0 0 * * * 2026", 10), ("*  *  *  *  *  *", 15)],
    ids=repr,
)
def test_six_fields(text: str, position: int) -> None:
    error = check(text, None, position)
    assert "6" in str(error)
    assert "seconds" in str(error)
    assert "year" in str(error)


def test_seven_fields() -> None:
    error = check("0 0 1 * * * 2026", None)
    assert "7" in str(error)
    assert "seconds" in str(error)
    assert "year" in str(error)


@pytest.mark.parametrize(
    "text", ["* * * *", "0 0 * *", "*", "0", "  * * *", "* * * * * * * *"], ids=repr
)
def test_wrong_field_counts(text: str) -> None:
    error = check(text)
    if len(text.split()) < 5:
        assert error.position == len(text), "too few fields: the column just past the text"


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("@DAILY", "@daily"),
        ("@Daily", "@daily"),
        ("@Hourly", "@hourly"),
        ("@YEARLY", "@yearly"),
        ("@Midnight", "@midnight"),
    ],
)
def test_nickname_case(text: str, suggestion: str) -> None:
    error = check(text, None, 0)
    assert f"'{suggestion}'" in str(error)


@pytest.mark.parametrize(
    "text",
    ["@every 5m", "@ daily", "@daily-x", "@day", "@weekdays", "@daily 5", "@daily *", "@"],
    ids=repr,
)
def test_unknown_nicknames_and_trailing_text(text: str) -> None:
    error = check(text)
    assert error.field is None


def test_reboot() -> None:
    error = check("@reboot", None, 0)
    assert str(error) == (
        "'@reboot' is only meaningful in a crontab file and has no next run time (column 0)"
    )
    indented = check("  @reboot", None, 2)
    assert "'@reboot'" in str(indented)


EXTENSION_MISUSE = [
    # No step or range on extension items
    ("0 0 L/2 * *", 2),
    ("0 0 1-5W * *", 2),
    ("0 0 15W/2 * *", 2),
    ("0 0 LW-1 * *", 2),
    ("0 0 * * 5L-6", 4),
    ("0 0 * * 1#2/2", 4),
    ("0 0 * * 1-2#2", 4),
    # A form of one day field in the other
    ("0 0 5L * *", 2),
    ("0 0 1#2 * *", 2),
    ("0 0 * * 15W", 4),
    ("0 0 * * LW", 4),
    ("0 0 * * L-2", 4),
    ("0 0 * * L", 4),
    ("L * * * *", 0),
    ("0 L * * *", 1),
    ("0 0 * L *", 3),
    ("0 15W * * *", 1),
    ("0 0 * 1#2 *", 3),
    # `?` only in the day fields, only as the whole field
    ("0 0 ?,5 * *", 2),
    ("0 0 ?/2 * *", 2),
    ("0 0 * * 1,?", 4),
    ("? * * * *", 0),
    ("0 ? * * *", 1),
    ("0 0 * ? *", 3),
    # out-of-range parts of extensions
    ("0 0 L-31 * *", 2),
    ("0 0 0W * *", 2),
    ("0 0 * * 1#0", 4),
    ("0 0 * * 1#6", 4),
]


@pytest.mark.parametrize(("text", "field"), EXTENSION_MISUSE, ids=_ids(EXTENSION_MISUSE))
def test_extensions_in_the_wrong_place(text: str, field: int) -> None:
    check(text, field)


def test_bare_l_in_day_of_week_hints_at_6l() -> None:
    error = check("0 0 * * L", 4, 8)
    assert "6L" in str(error) + (error.hint or "")


SYNTAX_NOISE = [
    ("0x1 * * * *", 0),
    ("1.5 * * * *", 0),
    ("+5 * * * *", 0),
    ("-5 * * * *", 0),
    ("*x * * * *", 0),
    ("*/5/2 * * * *", 0),
    ("1-2-3 * * * *", 0),
    ("*/ * * * *", 0),
    ("$ * * * *", 0),
    ("H * * * *", 0),
    ("R * * * *", 0),
    ("~ * * * *", 0),
    ("0~30 * * * *", 0),
    ("% * * * *", 0),
    ("0 1- * * *", 1),
    ("0 -1 * * *", 1),
    ("0 0 * * mon/", 4),
    ("0 0 * * #2", 4),
    ("0 0 * * 1#", 4),
    ("0 0 W * *", 2),
    ("0 0 L- * *", 2),
    ("0 0 * * 1#2#3", 4),
    ("0 0 **/2 * *", 2),
]


@pytest.mark.parametrize(("text", "field"), SYNTAX_NOISE, ids=_ids(SYNTAX_NOISE))
def test_other_syntax(text: str, field: int) -> None:
    check(text, field)


NON_ASCII = [
    ("\u0663 * * * *", 0, 0),  # ARABIC-INDIC DIGIT THREE
    ("\uff10 * * * *", 0, 0),  # FULLWIDTH DIGIT ZERO
    ("0 \u0661\u0662 * * *", 1, 2),
    ("0 0 * * \u0665", 4, 8),
    ("0 0 * j\u00e1n *", 3, UNKNOWN),
]


@pytest.mark.parametrize(("text", "field", "position"), NON_ASCII, ids=_ids(NON_ASCII))
def test_non_ascii_digits_and_letters(text: str, field: int, position: object) -> None:
    check(text, field, position)


BAD_SEPARATORS = [
    "0 0 * *\n*",
    "0\n0 * * *",
    "0 0 * * *\r",
    "0\r0 * * *",
    "0\v0 * * *",
    "0\f0 * * *",
    "0\u00a00 * * *",  # no-break space
    "0\u30000 * * *",  # ideographic (full-width) space
    "0 0 * * *\n",
    "1, 2 * * * *",
    "1 ,2 * * * *",
    "*/ 5 * * * *",
    "\ufeff0 0 * * *",  # byte order mark
]


@pytest.mark.parametrize("text", BAD_SEPARATORS, ids=repr)
def test_only_spaces_and_tabs_separate_fields(text: str) -> None:
    check(text)


def test_the_api_never_accepts_the_no_log_dash() -> None:
    check("-1 * * * *", 0, 0)


# ------------------------------------------------------------------------------ the classes


def test_error_classes() -> None:
    assert issubclass(CronSyntaxError, ValueError)
    assert issubclass(CronSyntaxError, PycronError)
    assert issubclass(NoMatchError, ValueError)
    assert issubclass(NoMatchError, PycronError)
    assert issubclass(pycron.UnknownTimeZoneError, ValueError)
    assert issubclass(pycron.UnknownTimeZoneError, PycronError)
    assert not issubclass(CronSyntaxError, NoMatchError)
    assert not issubclass(NoMatchError, CronSyntaxError)


def test_a_syntax_error_is_caught_as_value_error() -> None:
    with pytest.raises(ValueError, match=r"^minute: value 61 out of range 0-59 \(column 0\)$"):
        CronExpression("61 * * * *")


def test_hint_is_optional_text() -> None:
    for text in ["0 0 * * mnd", "0 0 * * L", "@Daily", "0 22-2 * * *", "61 * * * *"]:
        error = reject(text)
        assert error.hint is None or (isinstance(error.hint, str) and error.hint)


def test_columns_count_leading_blanks() -> None:
    check("   61 * * * *", 0, 3)
    check("\t0 24 * * *", 1, 3)
    check("  0  0  *  *  sunday", 4, 14)
    error = check("  @DAILY", None, 2)
    assert str(error) == "nickname '@DAILY' must be lower case: use '@daily' (column 2)"
