"""Expressions built from memoised field texts behave as freshly parsed ones.

`CronExpression` memoises what each field text compiles to and shares day
rules between expressions with the same day fields; these tests check that
nothing of one expression leaks into another: columns, errors, results.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from pycron import CronExpression, CronSyntaxError
from pycron.expr import _DAY_RULES, _MEMO_LIMIT, _MINUTE_TABLES, parse_fields


def test_fields_have_the_columns_of_their_own_text() -> None:
    CronExpression("0 10 * * *")  # the same field texts at other columns first
    fields = CronExpression("10 0 * * *").fields
    assert [field.column for field in fields] == [0, 3, 5, 7, 9]
    assert fields == parse_fields("10 0 * * *")


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("0 0 * * * *", 10),  # six fields, each text seen before
        ("0 0 * * 1#6", 10),  # a day-of-week text never valid
        ("0\t0 * * 8", 8),  # a tab: the full parser's columns
        ("0  0 * * 8", 9),  # two spaces: likewise
    ],
)
def test_errors_keep_their_columns_after_memoised_texts(text: str, column: int) -> None:
    CronExpression("0 0 * * *")
    with pytest.raises(CronSyntaxError) as caught:
        CronExpression(text)
    assert caught.value.position == column
    assert caught.value.text == text


def test_blanks_other_than_single_spaces_give_the_same_expression() -> None:
    start = datetime(2026, 3, 1, 12, 0)
    single = CronExpression("*/7 9-17 * * 1-5")
    for text in ("*/7\t9-17 * * 1-5", " */7  9-17 * * 1-5 "):
        other = CronExpression(text)
        assert other.next(start) == single.next(start)
        assert other.wildcard == single.wildcard


def test_shared_day_rules_answer_for_each_expression() -> None:
    start = datetime(2026, 2, 1)
    noon = CronExpression("0 12 L * *")
    night = CronExpression("30 23 L 2,3 *")
    assert noon.next(start) == datetime(2026, 2, 28, 12, 0)
    assert night.next(start) == datetime(2026, 2, 28, 23, 30)
    assert night.next(datetime(2026, 3, 1)) == datetime(2026, 3, 31, 23, 30)
    assert noon.prev(start) == datetime(2026, 1, 31, 12, 0)


def test_a_nickname_equals_its_expansion() -> None:
    start = datetime(2026, 5, 17, 8, 30)
    weekly = CronExpression("@weekly")
    assert weekly.next(start) == CronExpression("0 0 * * 0").next(start)
    assert weekly.fields[0].column == 0
    assert weekly.text == "@weekly"


def test_the_memos_stay_bounded() -> None:
    for first in range(60):  # more distinct minute texts than the limit
        for last in range(first, 60):
            for step in (1, 2, 3):
                CronExpression(f"{first}-{last}/{step} 0 1 * *")
    for first in range(1, 32):  # more distinct pairs of day texts than the limit
        for last in range(first, 32):
            for weekday in ("*", "0", "1", "2", "3", "4", "5", "6", "7"):
                CronExpression(f"0 0 {first}-{last} * {weekday}")
    assert len(_MINUTE_TABLES) <= _MEMO_LIMIT + 1
    assert len(_DAY_RULES) <= _MEMO_LIMIT + 1
    assert CronExpression("5,9 0 9,6 * *").next(datetime(2026, 1, 1)) == datetime(2026, 1, 6, 0, 5)
