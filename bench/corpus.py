"""The benchmark corpus: the cron expressions timed and the start datetimes.

Expressions come in four kinds, so that a median over the corpus is not just a
median over `*/5 * * * *` look-alikes:

- common: what real crontabs hold (steps, business hours, nicknames);
- sparse: few firings a year or decade, where a search has to skip far ahead;
- or-rule: both day fields restricted, so a day matches if either does;
- extension: L, L-n, LW, nW, nL, n#k and `?`, which not every peer supports.

Starts are spread over the year (month and year ends, a leap February, a start
exactly on a firing, starts with seconds) so no expression is timed only from
one lucky point. The aware starts avoid the days of DST transitions and the 16
days after a start never cross one for a job that fires at 01:00-03:00: the
peers disagree with pycron (and each other) about gaps and folds, and a
disagreement takes the expression out of that peer's medians, which would
make the comparison about DST semantics instead of speed.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import NamedTuple
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")


class Case(NamedTuple):
    """One corpus expression: its text, its kind and why it is here."""

    text: str
    kind: str
    note: str


CORPUS: tuple[Case, ...] = (
    # common
    Case("* * * * *", "common", "every minute"),
    Case("*/5 * * * *", "common", "every five minutes"),
    Case("*/15 * * * *", "common", "quarter hours"),
    Case("0 * * * *", "common", "top of every hour"),
    Case("@hourly", "common", "nickname"),
    Case("@daily", "common", "nickname"),
    Case("@weekly", "common", "nickname"),
    Case("@monthly", "common", "nickname"),
    Case("@yearly", "common", "nickname"),
    Case("30 2 * * *", "common", "nightly job"),
    Case("0 9 * * 1-5", "common", "weekday mornings"),
    Case("0 */4 * * *", "common", "every four hours"),
    Case("15,45 8-18 * * mon-fri", "common", "office hours, names"),
    Case("*/10 9-17 * * 1-5", "common", "office hours, step"),
    Case("5 4 * * sun", "common", "weekly, day name"),
    Case("0 0 1 * *", "common", "first of the month"),
    Case("0 6 1 1,4,7,10 *", "common", "quarterly"),
    Case("*/7 */3 */2 * *", "common", "steps in three fields"),
    Case("23 0-23/2 * * *", "common", "range with a step"),
    # sparse
    Case("0 0 29 2 *", "sparse", "leap days only"),
    Case("0 0 31 * *", "sparse", "seven months a year"),
    Case("59 23 31 12 *", "sparse", "once a year, last minute"),
    Case("0 0 * 2 1#5", "sparse", "fifth Monday of February: 12-40 years apart"),
    # OR rule
    Case("30 4 1,15 * 5", "or-rule", "1st, 15th or Fridays"),
    Case("0 12 13 * fri", "or-rule", "13th or any Friday"),
    Case("0 0 1-7 * 1", "or-rule", "days 1-7 or Mondays"),
    Case("0 8 10-20 6-8 sat,sun", "or-rule", "summer, days 10-20 or weekends"),
    # extensions
    Case("0 0 L * *", "extension", "last day of the month"),
    Case("0 0 L-2 * *", "extension", "two days before the last"),
    Case("0 0 LW * *", "extension", "last weekday of the month"),
    Case("0 0 15W * *", "extension", "weekday nearest the 15th"),
    Case("0 7 1W * *", "extension", "weekday nearest the 1st"),
    Case("0 18 * * 5L", "extension", "last Friday"),
    Case("0 10 * * 1#2", "extension", "second Monday"),
    Case("0 0 * * fri#3", "extension", "third Friday, by name"),
    Case("0 8 ? * mon-fri", "extension", "question mark"),
)

# Naive starts: wall-clock arithmetic, no zone.
NAIVE_STARTS: tuple[datetime, ...] = (
    datetime(2026, 1, 15, 10, 7, 30),
    datetime(2026, 3, 31, 23, 59),
    datetime(2026, 6, 14, 5, 0),
    datetime(2026, 9, 30, 13, 45, 10),
    datetime(2026, 12, 31, 23, 58),
    datetime(2027, 2, 27, 6, 30),
    datetime(2028, 2, 10, 12, 0),
)

# Aware starts: mostly America/New_York (a zone with DST), two in UTC.
AWARE_STARTS: tuple[datetime, ...] = (
    datetime(2026, 1, 15, 10, 7, 30, tzinfo=NEW_YORK),
    datetime(2026, 4, 30, 23, 59, tzinfo=NEW_YORK),
    datetime(2026, 7, 4, 5, 0, tzinfo=NEW_YORK),
    datetime(2026, 9, 30, 13, 45, 10, tzinfo=NEW_YORK),
    datetime(2026, 12, 31, 23, 58, tzinfo=NEW_YORK),
    datetime(2028, 2, 10, 12, 0, tzinfo=NEW_YORK),
    datetime(2026, 3, 8, 6, 59, tzinfo=timezone.utc),
    datetime(2026, 11, 1, 5, 30, tzinfo=timezone.utc),
)

# Items taken from each iterator in the iter() scenarios (after one untimed item).
ITER_STEPS = 16
