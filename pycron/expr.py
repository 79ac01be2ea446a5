"""Cron expressions: parse the 5-field crontab syntax and compute firing times.

The semantics are those of the project's cron specification: ranges, steps,
lists, names, nicknames, the L/W/# extensions, the day-of-month/day-of-week OR
rule, and the DST rules for aware datetimes.

Everything here is pure: no clock, no files. Each field is expanded once at
parse time into lookup tables ("the next allowed value at or after k", "the
last allowed value at or before k"), and the day rules of a month are compiled
into such tables per month shape (weekday of the 1st, month length: only 28
shapes exist). `next`/`prev` then carry field by field (month, day, hour,
minute), so a search never walks minute by minute through time that cannot
match, and proving that nothing matches within 400 years takes milliseconds.

Aware datetimes are searched on wall time in the schedule's zone and then
mapped to instants. Days whose UTC offset is constant (all but a few a year)
map directly; around a transition the gap and fold rules apply (a fixed
time in a gap runs once when the gap ends, in a repeated hour once, in its
first pass; a wildcard job skips the gap and runs in both passes).
Any tzinfo will do: zoneinfo zones and the standard library's fixed offsets
are read directly, others (pytz, dateutil, hand-written ones) through a PEP 495
view built on their `fromutc`, and results come back in the caller's tzinfo.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone, tzinfo

from pycron.errors import CronSyntaxError, NoMatchError, UnknownTimeZoneError

# `pycron next` runs in shell loops, so this module imports nothing at run time
# beyond datetime: typing, enum and dataclasses alone would double its start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Final

# Per field, in order: its name, and the smallest and largest value it may be
# written with (day-of-week 7 is Sunday again, as 0 is).
FIELD_NAMES: Final = ("minute", "hour", "day-of-month", "month", "day-of-week")
FIELD_MIN: Final = (0, 0, 1, 1, 0)
FIELD_MAX: Final = (59, 23, 31, 12, 7)
MINUTE, HOUR, DOM, MONTH, DOW = range(5)

MONTH_NAMES: Final = (
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
)
DOW_NAMES: Final = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
MONTH_LONG_NAMES: Final = (
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
)
DOW_LONG_NAMES: Final = (
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
)
_NAMES: Final = {
    MONTH: {name: i + 1 for i, name in enumerate(MONTH_NAMES)},
    DOW: {name: i for i, name in enumerate(DOW_NAMES)},
}

NICKNAMES: Final = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_BLANKS: Final = " \t"
_DIGITS: Final = frozenset("0123456789")
_LETTERS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ONE_MINUTE: Final = timedelta(minutes=1)
_ONE_HOUR: Final = timedelta(hours=1)
_ONE_DAY: Final = timedelta(days=1)
_EARLIEST: Final = datetime.min + _ONE_DAY  # the range in which a day can be subtracted
_LATEST: Final = datetime.max - _ONE_DAY  # and added
_SEARCH_YEARS: Final = 400  # the Gregorian calendar, weekdays included, repeats every 400 years
_MAX_YEAR: Final = 9999


# --------------------------------------------------------------------------- syntax tree


class ItemKind:
    """What one comma-separated item of a field says (plain string constants)."""

    STAR = "star"  # `*` or `*/n`
    ANY = "any"  # `?`, the whole field
    VALUE = "value"  # `5`
    RANGE = "range"  # `1-5`, `1-5/2`, `5/15` (= 5-MAX/15)
    LAST_DAY = "last-day"  # `L`, `L-n`            (day-of-month)
    NEAREST_WEEKDAY = "nearest-weekday"  # `nW`     (day-of-month)
    LAST_WEEKDAY = "last-weekday"  # `LW`           (day-of-month)
    LAST_DOW = "last-dow"  # `nL`                   (day-of-week)
    NTH_DOW = "nth-dow"  # `n#k`                    (day-of-week)


# The kinds whose values are the same in every month (a field's `values` holds
# theirs), as opposed to the day fields' extensions, which depend on the month.
_ORDINARY: Final = frozenset((ItemKind.STAR, ItemKind.ANY, ItemKind.VALUE, ItemKind.RANGE))


class Record:
    """Base of small immutable value classes (here and the crontab's schedules):
    equality, hash and repr from `__slots__`, a light stand-in for frozen
    dataclasses, whose module alone costs more start-up than this one."""

    __slots__: tuple[str, ...] = ()

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Record)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        pairs = ", ".join(f"{n}={v!r}" for n, v in zip(self.__slots__, self._values(), strict=True))
        return f"{type(self).__name__}({pairs})"


class Item(Record):
    """One list item of a field, as written.

    `start`/`end`/`step` describe ranges (a single value has start == end;
    `*` spans the field). For `L-n` start is n, for `nW` the day, for `nL` the
    weekday, for `n#k` the weekday with `end` = k. Day-of-week 7 is kept as
    written; the value sets map it to 0.
    """

    __slots__ = ("column", "end", "kind", "start", "step", "text")

    def __init__(
        self, kind: str, text: str, column: int, start: int = 0, end: int = 0, step: int = 1
    ) -> None:
        self.kind = kind
        self.text = text
        self.column = column
        self.start = start
        self.end = end
        self.step = step

    @property
    def ordinary(self) -> bool:
        """True for `*`, `?`, a value or a range: an item whose values its
        field's `values` holds; False for an L/W/# extension (its days depend
        on the month)."""
        return self.kind in _ORDINARY


class Field(Record):
    """One parsed field: its text, items and the plain values it allows.

    `values` holds the values of the ordinary items (extension items depend on
    the month and are not in it); `star` is the notion used by the
    day-of-month/day-of-week rule (text starting with `*`, or `?`).
    """

    __slots__ = ("column", "index", "items", "text", "values")

    def __init__(
        self, index: int, text: str, column: int, items: tuple[Item, ...], values: frozenset[int]
    ) -> None:
        self.index = index
        self.text = text
        self.column = column
        self.items = items
        self.values = values

    @property
    def name(self) -> str:
        """The field's name as used in messages (`day-of-month`)."""
        return FIELD_NAMES[self.index]

    @property
    def star(self) -> bool:
        """True if the text starts with `*` or is `?`: for the day rule, such a
        day field does not restrict the days (cron's own test)."""
        return self.text[0] == "*" or self.text == "?"


# Per field, every distinct value it can match (day-of-week 0-6: 7 is 0 again).
FIELD_VALUES: Final = tuple(
    frozenset(range(low, 7 if i == DOW else high + 1))
    for i, (low, high) in enumerate(zip(FIELD_MIN, FIELD_MAX, strict=True))
)


def _fail(field: int | None, message: str, column: int, hint: str | None = None) -> CronSyntaxError:
    """Build the error for `message` at `column`, prefixed by the field name."""
    prefix = f"{FIELD_NAMES[field]}: " if field is not None else ""
    return CronSyntaxError(
        f"{prefix}{message} (column {column})", field=field, position=column, hint=hint
    )


def _show(char: str) -> str:
    """A character as it should appear inside quotes in a message."""
    return char if char.isprintable() and char not in " \t" else repr(char)[1:-1]


def _split_blanks(text: str) -> list[tuple[str, int]]:
    """Split at runs of spaces and tabs (the only field separators) -> (token, column)."""
    tokens: list[tuple[str, int]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] in _BLANKS:
            i += 1
            continue
        j = i
        while j < n and text[j] not in _BLANKS:
            j += 1
        tokens.append((text[i:j], i))
        i = j
    return tokens


def parse_fields(text: str) -> tuple[Field, ...]:
    """Parse an expression (5 fields or a nickname) into its five fields.

    Raises CronSyntaxError naming the field, the token and its column.
    """
    try:
        return _parse_fields(text)
    except CronSyntaxError as exc:
        exc.text = text
        raise


def _parse_fields(text: str) -> tuple[Field, ...]:
    """parse_fields without attaching the text to errors."""
    tokens = _split_blanks(text)
    if not tokens:
        raise CronSyntaxError(
            "empty expression: expected 5 fields or a nickname such as @daily",
            hint="example: '*/15 * * * *' runs every 15 minutes",
        )
    if tokens[0][0].startswith("@"):
        return _parse_nickname(tokens)
    if len(tokens) != 5:
        raise _field_count_error(text, tokens)
    return tuple(_parse_field(i, token, col) for i, (token, col) in enumerate(tokens))


def _parse_nickname(tokens: list[tuple[str, int]]) -> tuple[Field, ...]:
    """Expand `@daily` and friends; reject everything else that starts with `@`."""
    word, column = tokens[0]
    if word == "@reboot":
        raise _fail(
            None,
            "'@reboot' is only meaningful in a crontab file and has no next run time",
            column,
        )
    if word not in NICKNAMES:
        lower = word.lower()
        if lower in NICKNAMES or lower == "@reboot":
            raise _fail(None, f"nickname '{word}' must be lower case: use '{lower}'", column)
        known = ", ".join(NICKNAMES)
        hint = None
        if lower == "@every" or lower.startswith("@every"):
            hint = "'@every DURATION' is a pycron crontab schedule, not a cron expression"
        elif lower.startswith("@") and len(lower) == 1:
            hint = "write the nickname without a blank after '@', e.g. '@daily'"
        raise _fail(None, f"unknown nickname '{word}', expected one of {known}", column, hint)
    if len(tokens) > 1:
        extra, extra_column = tokens[1]
        raise _fail(None, f"unexpected text '{extra}' after '{word}'", extra_column)
    expansion = NICKNAMES[word]
    # Columns of a nickname's fields all point at the nickname itself.
    return tuple(
        _parse_field(i, token, column) for i, (token, _) in enumerate(_split_blanks(expansion))
    )


def _field_count_error(text: str, tokens: list[tuple[str, int]]) -> CronSyntaxError:
    """The error for an expression with other than 5 fields."""
    count = len(tokens)
    if count < 5:
        return _fail(
            None,
            f"expected 5 fields, got {count}: minute hour day-of-month month day-of-week",
            len(text.rstrip(_BLANKS)),
        )
    for index, (token, column) in enumerate(tokens[:5]):
        if token[-1] in ",-/":
            return _fail(
                index,
                f"'{token}' is cut short by a blank: fields contain no blanks",
                column + len(token),
            )
    return _fail(
        None,
        f"expected 5 fields, got {count}: seconds and year fields are not crontab syntax",
        tokens[5][1],
    )


def _parse_field(index: int, token: str, column: int) -> Field:
    """Parse one field's text (a comma-separated list of items)."""
    if token == "*":  # the commonest fields first, without the general machinery
        item = Item(ItemKind.STAR, token, column, FIELD_MIN[index], FIELD_MAX[index])
        return Field(index, token, column, (item,), FIELD_VALUES[index])
    if token.isdigit() and token.isascii() and len(token) < 3:
        value = int(token)
        if FIELD_MIN[index] <= value <= FIELD_MAX[index]:
            item = Item(ItemKind.VALUE, token, column, value, value)
            return Field(
                index, token, column, (item,), frozenset((value % 7 if index == DOW else value,))
            )
    if token == "?":
        if index not in (DOM, DOW):
            raise _fail(index, "'?' is allowed in day-of-month and day-of-week only", column)
        item = Item(ItemKind.ANY, token, column, FIELD_MIN[index], FIELD_MAX[index])
        return Field(index, token, column, (item,), _expand(index, (item,)))
    items: list[Item] = []
    offset = 0
    for part in token.split(","):
        if not part:
            raise _fail(index, f"empty list item in '{token}'", column + offset)
        items.append(_parse_item(index, part, column + offset))
        offset += len(part) + 1
    return Field(index, token, column, tuple(items), _expand(index, items))


def _expand(index: int, items: tuple[Item, ...] | list[Item]) -> frozenset[int]:
    """The plain values of a field's ordinary items (day-of-week 7 -> 0)."""
    values: set[int] = set()
    for item in items:
        if item.ordinary:
            values.update(range(item.start, item.end + 1, item.step))
    if index == DOW and 7 in values:
        values.discard(7)
        values.add(0)
    return frozenset(values)


def _parse_item(index: int, text: str, column: int) -> Item:
    """Parse one list item: `*[/n]`, `a[-b][/n]` or a day-field extension."""
    if "?" in text:
        raise _fail(
            index,
            f"'?' must stand alone as the whole field, not in '{text}'",
            column + text.index("?"),
        )
    if text[0] == "*":
        if len(text) == 1:
            return Item(ItemKind.STAR, text, column, FIELD_MIN[index], FIELD_MAX[index])
        if text[1] != "/":
            raise _unexpected(index, text, 1, column)
        step = _read_step(index, text, 2, column)
        return Item(ItemKind.STAR, text, column, FIELD_MIN[index], FIELD_MAX[index], step)
    if index == DOM:
        extension = _parse_dom_extension(text, column)
        if extension is not None:
            return extension
    elif index == DOW:
        extension = _parse_dow_extension(text, column)
        if extension is not None:
            return extension
    start, i = _read_value(index, text, 0, column)
    end, step, kind = start, 1, ItemKind.VALUE
    if i < len(text) and text[i] == "-":
        end, i = _read_value(index, text, i + 1, column)
        kind = ItemKind.RANGE
        if index == DOW and end == 0 and start > 0:
            end = 7  # `5-0`, `sat-sun`: Sunday as 7
        if start > end:
            raise _fail(
                index,
                f"reversed range '{text[:i]}', start is after end",
                column,
                hint=_reversed_hint(index, start, end),
            )
    if i < len(text) and text[i] == "/":
        step = _read_step(index, text, i + 1, column)
        if kind == ItemKind.VALUE:
            end, kind = FIELD_MAX[index], ItemKind.RANGE  # `a/n` = `a-MAX/n`
        i = len(text)
    if i < len(text):
        raise _unexpected(index, text, i, column)
    return Item(kind, text, column, start, end, step)


def _reversed_hint(index: int, start: int, end: int) -> str:
    """Suggest the list a user meant by a wrapping range such as `22-2`."""
    low, high = min(FIELD_VALUES[index]), max(FIELD_VALUES[index])
    first = f"{start}-{high}" if start < high else f"{start}"
    second = f"{low}-{end}" if end > low else f"{low}"
    return f"cron accepts such a range but never runs it; for a wrap-around write {first},{second}"


def _read_digits(text: str, i: int) -> int:
    """Index just past the run of ASCII digits starting at i."""
    while i < len(text) and text[i] in _DIGITS:
        i += 1
    return i


def _read_value(index: int, text: str, i: int, column: int) -> tuple[int, int]:
    """Read a number or a name at text[i:], check its range -> (value, next index)."""
    low, high = FIELD_MIN[index], FIELD_MAX[index]
    if i >= len(text):
        raise _fail(index, f"missing value after '{text[i - 1]}' in '{text}'", column + i)
    j = _read_digits(text, i)
    if j > i:
        value = int(text[i:j])
        if not low <= value <= high:
            raise _fail(index, f"value {text[i:j]} out of range {low}-{high}", column + i)
        return value, j
    j = i
    while j < len(text) and (text[j] in _LETTERS or text[j].isalpha()):
        j += 1  # non-ASCII letters too, so that a message quotes the whole word
    if j == i:
        raise _unexpected(index, text, i, column)
    return _name_value(index, text[i:j], column + i), j


def _name_value(index: int, word: str, column: int) -> int:
    """The value of a month or weekday name; an error anywhere else."""
    names = _NAMES.get(index)
    if names is None:
        hint = None
        if word.upper() == "H":
            hint = "'H' (hashed values) is Jenkins syntax; pick a fixed value"
        elif word.upper() in ("L", "W", "LW"):
            hint = "'L' and 'W' belong in day-of-month (L, L-n, nW, LW) or day-of-week (nL)"
        raise _fail(
            index,
            f"unexpected name '{word}', names are allowed in month and day-of-week only",
            column,
            hint,
        )
    value = names.get(word.lower())
    if value is None:
        first, last = next(iter(names)), list(names)[-1]
        raise _fail(
            index,
            f"unknown name '{word}', expected {first}..{last}",
            column,
            hint=_did_you_mean(word.lower(), names),
        )
    return value


def _did_you_mean(word: str, names: dict[str, int]) -> str | None:
    """Suggest the known name a misspelt or spelt-out one most likely meant:
    the name it starts with (`sunday`), else the closest within 2 edits,
    preferring one with the same first letter (`mnd` -> `mon`)."""
    for name in names:
        if word.startswith(name):
            return f"did you mean '{name}'?"
    distance, _, best = min(
        (_edit_distance(word, name), name[0] != word[:1], name) for name in names
    )
    return f"did you mean '{best}'?" if distance <= 2 else None


def _edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        previous = current
    return previous[-1]


def _read_step(index: int, text: str, i: int, column: int) -> int:
    """Read the step after a `/`; it must be the rest of the item."""
    j = _read_digits(text, i)
    if j == i:
        if i >= len(text):
            raise _fail(index, f"missing step after '/' in '{text}'", column + i)
        if text[i] in _LETTERS:
            raise _fail(index, f"step '{text[i:]}' in '{text}' must be a number", column + i)
        raise _unexpected(index, text, i, column)
    if j < len(text):
        raise _unexpected(index, text, j, column)
    step = int(text[i:j])
    if step == 0:
        raise _fail(index, f"step 0 in '{text}', step must be 1 or more", column + i)
    return step


def _unexpected(index: int, text: str, i: int, column: int) -> CronSyntaxError:
    """The error for a character that cannot stand at text[i]."""
    char = text[i]
    hint = None
    if char == "~":
        hint = "random values ('~') are read in crontab files only; pick a fixed value"
    elif char in "LlWw#":
        hint = "L, W and # stand only in the day fields, on a single day, without range or step"
    elif char in "+-" and i == 0:
        hint = "values are plain digits, without a sign"
    elif char.isdigit():
        hint = "only the ASCII digits 0-9 are numbers"
    return _fail(index, f"unexpected '{_show(char)}' in '{text}'", column + i, hint)


def _parse_dom_extension(text: str, column: int) -> Item | None:
    """`L`, `L-n`, `LW`, `nW` in day-of-month; None for an ordinary item."""
    upper = text.upper()
    if upper == "L":
        return Item(ItemKind.LAST_DAY, text, column, 0)
    if upper == "LW":
        return Item(ItemKind.LAST_WEEKDAY, text, column)
    if upper[0] == "L":
        if len(text) > 2 and text[1] == "-" and _read_digits(text, 2) == len(text):
            offset = int(text[2:])
            if offset > 30:
                raise _fail(DOM, f"offset {text[2:]} in '{text}' out of range 0-30", column + 2)
            return Item(ItemKind.LAST_DAY, text, column, offset)
        if len(text) == 2 and text[1] == "-":
            raise _fail(DOM, f"missing offset after 'L-' in '{text}'", column + 2)
        raise _fail(
            DOM,
            f"'{text}': L takes no range or step; write L, L-n or LW",
            column,
        )
    if upper[-1] == "W" and len(text) > 1:
        digits_end = _read_digits(text, 0)
        if digits_end == len(text) - 1 and digits_end > 0:
            day = int(text[:digits_end])
            low, high = FIELD_MIN[DOM], FIELD_MAX[DOM]
            if not low <= day <= high:
                raise _fail(
                    DOM, f"value {text[:digits_end]} in '{text}' out of range {low}-{high}", column
                )
            return Item(ItemKind.NEAREST_WEEKDAY, text, column, day)
        raise _fail(DOM, f"'{text}': W applies to a single day, such as 15W", column)
    if "#" in text:
        raise _fail(
            DOM,
            f"'{text}': n#k (k-th weekday) belongs in day-of-week",
            column + text.index("#"),
        )
    if upper[-1] == "L":
        raise _fail(
            DOM,
            f"'{text}': nL (last weekday n) belongs in day-of-week; L alone is the last day",
            column,
        )
    return None


def _parse_dow_extension(text: str, column: int) -> Item | None:
    """`nL` and `n#k` in day-of-week; None for an ordinary item."""
    upper = text.upper()
    if "#" in text:
        sharp = text.index("#")
        weekday, end = _read_value(DOW, text, 0, column)
        if end != sharp:
            raise _fail(DOW, f"'{text}': # takes a single weekday, such as 1#2", column + end)
        k_end = _read_digits(text, sharp + 1)
        if k_end == sharp + 1:
            raise _fail(DOW, f"missing occurrence after '#' in '{text}'", column + sharp + 1)
        if k_end < len(text):
            raise _fail(DOW, f"'{text}': # takes no range or step", column + k_end)
        k = int(text[sharp + 1 :])
        if not 1 <= k <= 5:
            raise _fail(
                DOW,
                f"occurrence {text[sharp + 1 :]} in '{text}' out of range 1-5",
                column + sharp + 1,
            )
        return Item(ItemKind.NTH_DOW, text, column, weekday % 7, k)
    if "L" in upper:
        if upper == "L":
            raise _fail(
                DOW,
                "bare 'L' in day-of-week: write nL for the last weekday n of the month",
                column,
                hint="6L is the last Saturday; L alone belongs in day-of-month",
            )
        if upper[-1] == "L":
            # Read the weekday without the L: a name would swallow it (`friL`).
            weekday, end = _read_value(DOW, text[:-1], 0, column)
            if end == len(text) - 1:
                return Item(ItemKind.LAST_DOW, text, column, weekday % 7)
        raise _fail(
            DOW, f"'{text}': L takes a single weekday, such as 5L, without range or step", column
        )
    if upper[-1] == "W" and _read_digits(text, 0) == len(text) - 1:
        raise _fail(DOW, f"'{text}': nW (nearest weekday) belongs in day-of-month", column)
    return None


# --------------------------------------------------------------------------- lookup tables


_Tables = tuple[tuple[int, ...], tuple[int, ...]]  # the next and prev lookup tables of a field
_TABLES: dict[tuple[bool, frozenset[int], int], tuple[int, ...]] = {}


def _next_table(values: frozenset[int], size: int) -> tuple[int, ...]:
    """t[k] = smallest value >= k, or -1; t[size] = -1 so an overflowed cursor misses."""
    key = (True, values, size)
    table = _TABLES.get(key)
    if table is None:
        cells = [-1] * (size + 1)
        following = -1
        for k in range(size - 1, -1, -1):
            if k in values:
                following = k
            cells[k] = following
        table = _TABLES[key] = tuple(cells)
    return table


def _prev_table(values: frozenset[int], size: int) -> tuple[int, ...]:
    """t[k] = largest value <= k, or -1; t[-1] (= t[size]) = -1 for an underflowed cursor."""
    key = (False, values, size)
    table = _TABLES.get(key)
    if table is None:
        cells = [-1] * (size + 1)
        preceding = -1
        for k in range(size):
            if k in values:
                preceding = k
            cells[k] = preceding
        if len(_TABLES) > 4096:
            _TABLES.clear()
        table = _TABLES[key] = tuple(cells)
    return table


_MONTH_LENGTHS: Final = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_SHAPES: dict[int, int] = {}  # y*16+m -> month shape (memo shared by all expressions)


def _month_shape(year: int, month: int) -> int:
    """The month's shape: 4 * weekday of its 1st (0 = Sunday) + (length - 28)."""
    key = year * 16 + month
    shape = _SHAPES.get(key)
    if shape is None:
        length = _MONTH_LENGTHS[month]
        if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
            length = 29
        shape = (date(year, month, 1).toordinal() % 7) * 4 + length - 28
        if len(_SHAPES) > 100_000:
            _SHAPES.clear()
        _SHAPES[key] = shape
    return shape


def _nearest_weekday(day: int, first_weekday: int, length: int) -> int:
    """`nW`: the Mon-Fri day nearest to `day`, never leaving the month; 0 if none."""
    if day > length:
        return 0
    weekday = (first_weekday + day - 1) % 7
    if weekday == 6:  # Saturday
        return 3 if day == 1 else day - 1
    if weekday == 0:  # Sunday
        return day - 2 if day == length else day + 1
    return day


class _DayRule:
    """The two day fields compiled: plain bitmasks plus the month-dependent items.

    It also holds the memos of its day tables, per month shape and per calendar
    month, which every expression with the same two day fields shares (see
    `_shared_day_rule`): they depend on nothing else.
    """

    __slots__ = (
        "both",
        "dom_last",
        "dom_last_weekday",
        "dom_mask",
        "dom_nearest",
        "dow_last",
        "dow_mask",
        "dow_nth",
        "months",
        "shapes",
    )

    def __init__(self, dom: Field, dow: Field) -> None:
        def starts(field: Field, kind: str) -> frozenset[int]:
            return frozenset(i.start for i in field.items if i.kind == kind)

        self.dom_mask = _mask(dom.values)  # bit d: day d (1..31)
        self.dom_last = starts(dom, ItemKind.LAST_DAY)  # L-n offsets
        self.dom_nearest = starts(dom, ItemKind.NEAREST_WEEKDAY)  # nW days
        self.dom_last_weekday = any(i.kind == ItemKind.LAST_WEEKDAY for i in dom.items)  # LW
        self.dow_mask = _mask(dow.values)  # bit w: weekday w (0 = Sunday)
        self.dow_last = starts(dow, ItemKind.LAST_DOW)  # nL weekdays
        self.dow_nth = frozenset(  # (weekday, k) of n#k
            (i.start, i.end) for i in dow.items if i.kind == ItemKind.NTH_DOW
        )
        self.both = dom.star or dow.star  # AND the fields (one is a star) rather than OR them
        self.shapes: list[_Tables | None] = [None] * 28  # by month shape
        self.months: dict[int, _Tables] = {}  # by year * 16 + month

    def days(self, shape: int) -> int:
        """Bitmask of the matching days (bit d = day d) of a month of this shape."""
        first_weekday, length = divmod(shape, 4)
        length += 28
        dom = self.dom_mask & ((1 << (length + 1)) - 2)
        for offset in self.dom_last:
            if length - offset >= 1:
                dom |= 1 << (length - offset)
        for day in self.dom_nearest:
            dom |= 1 << _nearest_weekday(day, first_weekday, length)
        if self.dom_last_weekday:
            dom |= 1 << _nearest_weekday(length, first_weekday, length)
        dom &= ~1  # bit 0 marks "no such day" from _nearest_weekday
        week = 0  # days 1-7 whose weekday is listed, then repeated for the other weeks
        for day in range(1, 8):
            if self.dow_mask >> ((first_weekday + day - 1) % 7) & 1:
                week |= 1 << day
        dow = (week | week << 7 | week << 14 | week << 21 | week << 28) & ((1 << (length + 1)) - 2)
        for weekday in self.dow_last:
            dow |= 1 << (length - (first_weekday + length - 1 - weekday) % 7)
        for weekday, k in self.dow_nth:
            day = 1 + (weekday - first_weekday) % 7 + 7 * (k - 1)
            if day <= length:
                dow |= 1 << day
        return dom & dow if self.both else dom | dow


def _mask(values: frozenset[int]) -> int:
    """The bitmask of a set of small integers (bit v set for each value v)."""
    mask = 0
    for value in values:
        mask |= 1 << value
    return mask


_DAY_TABLES: dict[int, _Tables] = {}


def _day_tables(mask: int) -> _Tables:
    """Next/prev lookup tables over days 0..32 for a day bitmask (memoised)."""
    tables = _DAY_TABLES.get(mask)
    if tables is None:
        days = frozenset(d for d in range(1, 32) if mask >> d & 1)
        tables = _next_table(days, 32), _prev_table(days, 32)
        if len(_DAY_TABLES) > 4096:
            _DAY_TABLES.clear()
        _DAY_TABLES[mask] = tables
    return tables


# --------------------------------------------------------------------------- time zones


class _Zone:
    """A schedule zone: which days have one constant UTC offset, and the gap/fold
    geometry of the others. Memoised per tzinfo object (see `_zone_for`).

    The search reads `tz`, which must follow PEP 495 for wall times. `shown` is
    the caller's tzinfo when `tz` is a `_Pep495` view of it, None when `tz` is
    the caller's own; results leave the engine through `show`.
    """

    __slots__ = ("_days", "_midnights", "shown", "tz")

    def __init__(self, tz: tzinfo, shown: tzinfo | None = None) -> None:
        self.tz = tz
        self.shown = shown
        self._days: dict[int, timedelta | None] = {}
        self._midnights: dict[int, timedelta] = {}

    def show(self, moment: datetime) -> datetime:
        """A result of the search in the caller's tzinfo: the same instant, through
        the caller's own fromutc (so pytz picks its offset object, dateutil the fold)."""
        shown = self.shown
        return moment if shown is None else moment.astimezone(shown)

    def day_offset(self, year: int, month: int, day: int) -> timedelta | None:
        """The day's UTC offset if it is the same all day long (no transition), else None.

        A day holds a transition exactly when the offsets of its midnight and
        the next one differ, both read with fold=0: a gap or fold that starts
        at midnight shows too, as fold=0 reads a missing or repeated midnight
        with the old offset. (No zone has two transitions within one day that
        cancel out.)
        """
        key = year * 512 + month * 32 + day
        days = self._days
        if key in days:
            return days[key]
        offset = self._midnight(year, month, day)
        if day < 28:
            following = self._midnight(year, month, day + 1)
        elif (year, month, day) == (_MAX_YEAR, 12, 31):
            following = offset
        else:
            tomorrow = date(year, month, day) + _ONE_DAY
            following = self._midnight(tomorrow.year, tomorrow.month, tomorrow.day)
        result = offset if offset == following else None
        if len(days) > 20_000:
            days.clear()
            self._midnights.clear()
        days[key] = result
        return result

    def _midnight(self, year: int, month: int, day: int) -> timedelta:
        """The UTC offset of a day's midnight read with fold=0 (memoised)."""
        key = year * 512 + month * 32 + day
        offset = self._midnights.get(key)
        if offset is None:
            offset = _offset(datetime(year, month, day, tzinfo=self.tz))
            self._midnights[key] = offset
        return offset

    def to_local(self, moment: datetime) -> datetime:
        """The same instant as a valid wall time in this zone (fold set right).

        A naive input is wall time in the zone with fold=0: a
        repeated time means its first occurrence, a missing one takes the
        offset in force before the gap.
        """
        tz = self.tz
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz)
        elif moment.tzinfo is not tz:
            return moment.astimezone(tz)
        if self.day_offset(moment.year, moment.month, moment.day) is not None:
            return moment.replace(fold=0) if moment.fold else moment
        return self.from_utc(moment.replace(tzinfo=None) - _offset(moment))

    def from_utc(self, utc: datetime) -> datetime:
        """The wall time in this zone of a naive UTC datetime."""
        return self.tz.fromutc(utc.replace(tzinfo=self.tz))

    def offsets(self, wall: datetime) -> tuple[timedelta, timedelta]:
        """UTC offsets of a naive wall time read with fold=0 and with fold=1.

        Equal: the time exists once; first larger: it is repeated (fold);
        first smaller: it does not exist (gap).
        """
        local = wall.replace(tzinfo=self.tz)
        return _offset(local), _offset(local.replace(fold=1))

    def transition(self, before: datetime, after: datetime) -> datetime:
        """The first UTC instant (naive, whole seconds) in (before, after] whose
        offset is the offset at `after`; `before` must have another offset."""
        target = _offset(self.from_utc(after))
        low, high = 0, int((after - before).total_seconds())
        while high - low > 1:
            middle = (low + high) // 2
            if _offset(self.from_utc(before + timedelta(seconds=middle))) == target:
                high = middle
            else:
                low = middle
        return before + timedelta(seconds=high)

    def fold_region(self, wall: datetime) -> tuple[datetime, datetime] | None:
        """Wall-time bounds [start, end) of the repeated interval holding `wall`, if any."""
        first, second = self.offsets(wall)
        if first <= second:
            return None
        moment = self.transition(wall - first, wall - second)
        return moment + second, moment + first

    def gap(self, wall: datetime) -> tuple[datetime, datetime] | None:
        """For a wall time inside a gap: (the aware instant the gap ends, the gap's
        first wall time); None if the wall time exists."""
        first, second = self.offsets(wall)
        if first >= second:
            return None
        moment = self.transition(wall - second, wall - first)
        return self.from_utc(moment), moment + first


def _offset(moment: datetime) -> timedelta:
    """utcoffset() of an aware datetime; a tzinfo answering None is a usage error."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError(f"time zone {moment.tzinfo!r} gives no UTC offset for {moment}")
    return offset


def _instant(moment: datetime) -> datetime:
    """An aware datetime as naive UTC: compares instants even within one tzinfo,
    where Python compares wall times and ignores fold."""
    return moment.replace(tzinfo=None) - _offset(moment)


class _FixedZone(_Zone):
    """A zone without transitions (UTC, fixed offsets): every day is simple."""

    __slots__ = ("_offset",)

    def __init__(self, tz: tzinfo) -> None:
        super().__init__(tz)
        self._offset = _offset(datetime(2000, 1, 1, tzinfo=tz))

    def day_offset(self, year: int, month: int, day: int) -> timedelta | None:
        return self._offset


class _Pep495(tzinfo):
    """A PEP 495 view of any tzinfo, built on its `fromutc` alone.

    Time zone libraries agree on `fromutc` (instant -> wall clock) but not on
    reading a wall time: a pytz zone attached with `replace(tzinfo=...)` gives
    its first offset (LMT) whatever the date, and dateutil's `tzlocal` gives the
    new offset for a time in a gap where PEP 495 wants the old one for fold=0.
    The search reads wall times through this view, which derives them from the
    wrapped zone's `fromutc`, and `_Zone.show` hands results back to the
    wrapped zone's own `fromutc`.

    A wall time's candidate offsets are those of the instants a day before and
    a day after it (no offset exceeds 24 hours, and no zone changes its offset
    twice within two days); reads are memoised per wall time and fold.
    """

    __slots__ = ("_reads", "zone")

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self._reads: dict[tuple[datetime, int], timedelta] = {}

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        """The offset of a wall time: the one instant that shows it, else (a
        repeated or a missing time) the offset before the change for fold=0 and
        the one after for fold=1."""
        if dt is None:
            return None
        key = (dt.replace(tzinfo=None, fold=0), dt.fold)
        offset = self._reads.get(key)
        if offset is None:
            offset = self._read(*key)
            if len(self._reads) > _MEMO_LIMIT:
                self._reads.clear()
            self._reads[key] = offset
        return offset

    def _read(self, wall: datetime, fold: int) -> timedelta:
        """utcoffset() of a naive wall time with a fold, not memoised."""
        before = self._offset_at(max(wall, _EARLIEST) - _ONE_DAY)
        after = self._offset_at(min(wall, _LATEST) + _ONE_DAY)
        if before == after:
            return before
        shown = {offset for offset in (before, after) if self._offset_at(wall - offset) == offset}
        return shown.pop() if len(shown) == 1 else (after if fold else before)

    def _offset_at(self, utc: datetime) -> timedelta:
        """The wrapped zone's offset at a naive UTC instant: its wall clock minus UTC."""
        return self._shown_at(utc).replace(tzinfo=None) - utc

    def _shown_at(self, utc: datetime) -> datetime:
        """A naive UTC instant as the wrapped zone shows it."""
        zone = self.zone
        return zone.fromutc(utc.replace(tzinfo=zone))

    def tzname(self, dt: datetime | None) -> str | None:
        """The wrapped zone's name for the instant of `dt` (the search never asks)."""
        return None if dt is None else self._shown_at(_instant(dt)).tzname()

    def dst(self, dt: datetime | None) -> timedelta | None:
        """The wrapped zone's DST adjustment at the instant of `dt` (likewise)."""
        return None if dt is None else self._shown_at(_instant(dt)).dst()

    def fromutc(self, dt: datetime) -> datetime:
        """The wall time of a UTC instant, with fold=1 in the second pass of a
        repeated time (its fold=0 reading then gives another offset)."""
        utc = dt.replace(tzinfo=None)
        offset = self._offset_at(utc)
        local = (utc + offset).replace(tzinfo=self)
        return local if local.utcoffset() == offset else local.replace(fold=1)


_ZONES: dict[int, _Zone] = {}  # id(tzinfo) -> its zone


def _zone_for(tz: tzinfo) -> _Zone:
    """The memoised _Zone of a tzinfo.

    Keyed by id(): tzinfo objects need not be hashable (dateutil's are not),
    and equal ones need not be interchangeable (timezone(-5h, "EST") ==
    timezone(-5h, "X"), and results carry the caller's very object). An id is
    a safe key as each entry keeps its tzinfo alive (`zone.tz` or
    `zone.shown`), so no other object can take that id while the entry
    exists; past 1000 zones the memo starts afresh, so callers that make a new
    tzinfo for every call cost a rebuilt zone each time, never unbounded memory.
    """
    zone = _ZONES.get(id(tz))
    if zone is None:
        zone = _new_zone(tz)
        if len(_ZONES) > 1000:
            _ZONES.clear()
        _ZONES[id(tz)] = zone
    return zone


def _new_zone(tz: tzinfo) -> _Zone:
    """A _Zone for a tzinfo: the stdlib's fixed offsets and zoneinfo zones are
    searched directly (they read wall times as PEP 495 says), any other tzinfo
    through a `_Pep495` view of it."""
    if isinstance(tz, timezone):
        return _FixedZone(tz)
    kind = type(tz)
    if kind.__name__ == "ZoneInfo" and kind.__module__ == "zoneinfo":  # not imported: start-up
        return _Zone(tz)
    return _Zone(_Pep495(tz), shown=tz)


def resolve_tz(tz: str | tzinfo | None) -> tzinfo | None:
    """A tzinfo from an IANA name (zoneinfo is imported only when a name is used)."""
    if tz is None or isinstance(tz, tzinfo):
        return tz
    if not isinstance(tz, str):
        raise TypeError(f"tz must be None, an IANA zone name or a tzinfo, not {type(tz).__name__}")
    import zoneinfo  # noqa: PLC0415 - deferred: start-up time of `pycron next` matters

    try:
        return zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a directory
        raise UnknownTimeZoneError(
            f"unknown time zone {tz!r}: use an IANA name such as 'Europe/London' or 'UTC'"
        ) from exc


# --------------------------------------------------------------------------- compiling


_MEMO_LIMIT: Final = 4096  # entries of each memo below; past it the memo starts afresh
_MINUTE_TABLES: dict[str, _Tables] = {}  # field text -> tables
_HOUR_TABLES: dict[str, _Tables] = {}
_MONTH_TABLES: dict[str, _Tables] = {}
_FIELD_MEMOS: Final = {
    MINUTE: (_MINUTE_TABLES, 60),
    HOUR: (_HOUR_TABLES, 24),
    MONTH: (_MONTH_TABLES, 13),
}
_DAY_RULES: dict[tuple[str, str], _DayRule] = {}  # (day-of-month, day-of-week text) -> rule


def _compile(text: str) -> tuple[_Tables, _Tables, _Tables, _DayRule, bool]:
    """What the search needs of an expression: the minute, hour and month
    tables, the day rule, and whether it is a wildcard job (for the DST rules).

    Memoised per field text, as crontabs repeat a few field texts (`0`, `*`,
    `*/5`, `1-5`) on line after line. The memos are safe in a long-running
    daemon: their keys are immutable texts, their values depend on those texts
    alone (no column: the same text means the same values anywhere), and each
    starts afresh past _MEMO_LIMIT entries. They hold successes only: an
    expression with a field text not seen yet (or blanks other than single
    spaces) goes through `parse_fields`, which raises the errors with their
    columns (as does anything but a string). A nickname is looked up as its
    expansion.
    """
    tokens = NICKNAMES.get(text, text).split(" ") if isinstance(text, str) else ()
    if len(tokens) == 5 and "\t" not in text:
        minute = _MINUTE_TABLES.get(tokens[0])
        hour = _HOUR_TABLES.get(tokens[1])
        month = _MONTH_TABLES.get(tokens[3])
        rule = _DAY_RULES.get((tokens[2], tokens[4]))
        if minute is not None and hour is not None and month is not None and rule is not None:
            return minute, hour, month, rule, tokens[0][0] == "*" or tokens[1][0] == "*"
    minute_field, hour_field, dom, month_field, dow = parse_fields(text)
    return (
        _field_tables(minute_field),
        _field_tables(hour_field),
        _field_tables(month_field),
        _shared_day_rule(dom, dow),
        minute_field.text[0] == "*" or hour_field.text[0] == "*",
    )


def _field_tables(field: Field) -> _Tables:
    """The next/prev tables of a minute, hour or month field (memoised per text)."""
    memo, size = _FIELD_MEMOS[field.index]
    tables = memo.get(field.text)
    if tables is None:
        tables = _next_table(field.values, size), _prev_table(field.values, size)
        if len(memo) > _MEMO_LIMIT:
            memo.clear()
        memo[field.text] = tables
    return tables


def _shared_day_rule(dom: Field, dow: Field) -> _DayRule:
    """The day rule of two day fields (memoised per pair of texts, so that
    expressions with the same day fields share its day-table memos)."""
    key = (dom.text, dow.text)
    rule = _DAY_RULES.get(key)
    if rule is None:
        rule = _DayRule(dom, dow)
        if len(_DAY_RULES) > _MEMO_LIMIT:
            _DAY_RULES.clear()
        _DAY_RULES[key] = rule
    return rule


# --------------------------------------------------------------------------- the expression

_Wall = tuple[int, int, int, int, int]  # year, month, day, hour, minute


class CronExpression:
    """A parsed cron expression with an optional schedule time zone.

    `next(after)`/`prev(before)` give the first firing strictly after / the
    last strictly before a datetime, `matches(dt)` tests one minute,
    `iter(after)` yields successive firings. Naive inputs without `tz` use
    plain wall-clock arithmetic; otherwise the zone's DST rules apply (see the
    module docstring). What an instance means never changes once it is built;
    it fills bounded memos (day tables, zone offsets) as it is used, and is
    safe to share.
    """

    __slots__ = (
        "_day_rule",
        "_fields",
        "_first_month",
        "_last_month",
        "_months",
        "_next_hour",
        "_next_minute",
        "_next_month",
        "_prev_hour",
        "_prev_minute",
        "_prev_month",
        "_shape_tables",
        "_zone",
        "text",
        "tz",
        "wildcard",
    )

    def __init__(self, text: str, tz: str | tzinfo | None = None) -> None:
        self.text = text
        minute, hour, month, rule, self.wildcard = _compile(text)
        self.tz = tz if tz is None else resolve_tz(tz)
        self._zone = None if self.tz is None else _zone_for(self.tz)
        self._next_minute, self._prev_minute = minute
        self._next_hour, self._prev_hour = hour
        self._next_month, self._prev_month = month
        self._first_month = self._next_month[1]  # the smallest month >= 1
        self._last_month = self._prev_month[12]  # the largest month <= 12
        self._day_rule = rule
        self._shape_tables = rule.shapes
        self._months = rule.months
        self._fields: tuple[Field, ...] | None = None

    @property
    def fields(self) -> tuple[Field, ...]:
        """The five parsed fields, with their items and columns.

        Parsed on first use: the search needs only the tables built at
        construction, and a crontab of thousands of jobs should not pay for
        syntax trees that only `explain` and the lint read.
        """
        fields = self._fields
        if fields is None:
            fields = self._fields = parse_fields(self.text)
        return fields

    def __repr__(self) -> str:
        if self.tz is None:
            return f"CronExpression({self.text!r})"
        return f"CronExpression({self.text!r}, tz={str(self.tz)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CronExpression):
            return NotImplemented
        return self.text == other.text and self.tz == other.tz

    def __hash__(self) -> int:
        # The text alone: equal expressions have equal texts, and a tzinfo need not
        # be hashable (dateutil's are not).
        return hash(self.text)

    # ----------------------------------------------------------------- public API

    def next(self, after: datetime) -> datetime:
        """The first firing instant strictly after `after`."""
        zone = self._zone_of(after)
        if zone is None:
            found = self._next_wall(
                after.year, after.month, after.day, after.hour, after.minute + 1
            )
            return datetime(*found)
        found_at = self._next_zoned(after, zone)
        return found_at if zone.shown is None else zone.show(found_at)  # no call when shown as is

    def prev(self, before: datetime) -> datetime:
        """The last firing instant strictly before `before`."""
        zone = self._zone_of(before)
        if zone is None:
            minute = before.minute
            if not (before.second or before.microsecond):
                minute -= 1
            found = self._prev_wall(before.year, before.month, before.day, before.hour, minute)
            return datetime(*found)
        found_at = self._prev_zoned(before, zone)
        return found_at if zone.shown is None else zone.show(found_at)

    def matches(self, moment: datetime) -> bool:
        """True if the minute holding `moment` is a firing instant."""
        zone = self._zone_of(moment)
        if zone is None:
            return self._wall_matches(moment)
        local = zone.to_local(moment).replace(second=0, microsecond=0)
        if zone.day_offset(local.year, local.month, local.day) is not None and not (
            local.hour == local.minute == 0 and self._after_gap(local, zone)
        ):
            return self._wall_matches(local)
        following = zone.from_utc(local.replace(tzinfo=None) - _offset(local) + _ONE_MINUTE)
        try:
            return _instant(self._prev_zoned(following, zone)) == _instant(local)
        except NoMatchError:
            return False

    def _after_gap(self, midnight: datetime, zone: _Zone) -> bool:
        """True if the day before this midnight holds a transition (which may be
        a gap ending at the midnight, a firing instant of its own)."""
        previous = midnight.date() - _ONE_DAY
        return zone.day_offset(previous.year, previous.month, previous.day) is None

    def iter(self, after: datetime) -> Iterator[datetime]:
        """Successive firing instants after `after` (each one `next` of the previous)."""
        zone = self._zone_of(after)
        if zone is None:
            return self._iter_naive(after)
        if zone.shown is None:
            return self._iter_zoned(after, zone)
        return map(zone.show, self._iter_zoned(after, zone))

    # ----------------------------------------------------------------- wall-time search

    def _zone_of(self, moment: datetime) -> _Zone | None:
        """The zone to evaluate `moment` in: the expression's, the input's, or None (naive)."""
        if self._zone is not None:
            return self._zone
        tz = moment.tzinfo
        if tz is None:
            return None
        # A hit in the memo of _zone_for without the call: each next() of an
        # expression without tz on an aware input pays this.
        return _ZONES.get(id(tz)) or _zone_for(tz)

    def _days_of(self, year: int, month: int) -> _Tables:
        """Next/prev day tables of one calendar month (memoised per month and shape,
        in the memos of the day rule)."""
        key = year * 16 + month
        tables = self._months.get(key)
        if tables is None:
            shape = _month_shape(year, month)
            tables = self._shape_tables[shape]
            if tables is None:
                tables = _day_tables(self._day_rule.days(shape))
                self._shape_tables[shape] = tables
            if len(self._months) > 5000:
                self._months.clear()
            self._months[key] = tables
        return tables

    def _next_wall(self, year: int, month: int, day: int, hour: int, minute: int) -> _Wall:
        """The first matching wall minute at or after the given one.

        Fields may overflow by one (minute 60, hour 24, day 32, month 13): the
        carry moves to the next larger field.
        """
        next_minute, next_hour, next_month = self._next_minute, self._next_hour, self._next_month
        limit = min(year + _SEARCH_YEARS, _MAX_YEAR)
        start = year
        while True:
            found = next_month[month]
            if found != month:
                if found < 0:
                    year += 1
                    if year > limit:
                        raise self._no_match("after", start)
                    found = self._first_month
                month, day, hour, minute = found, 1, 0, 0
            found = self._days_of(year, month)[0][day]
            if found != day:
                if found < 0:
                    month, day, hour, minute = month + 1, 1, 0, 0
                    continue
                day, hour, minute = found, 0, 0
            found = next_hour[hour]
            if found != hour:
                if found < 0:
                    day, hour, minute = day + 1, 0, 0
                    continue
                hour, minute = found, 0
            found = next_minute[minute]
            if found < 0:
                hour, minute = hour + 1, 0
                continue
            return year, month, day, hour, found

    def _prev_wall(self, year: int, month: int, day: int, hour: int, minute: int) -> _Wall:
        """The last matching wall minute at or before the given one (fields may be -1)."""
        prev_minute, prev_hour, prev_month = self._prev_minute, self._prev_hour, self._prev_month
        limit = max(year - _SEARCH_YEARS, 1)
        start = year
        while True:
            found = prev_month[month]
            if found != month or found < 0:  # a cursor of -1 "finds" the -1 sentinel
                if found < 0:
                    year -= 1
                    if year < limit:
                        raise self._no_match("before", start)
                    found = self._last_month
                month, day, hour, minute = found, 31, 23, 59
            found = self._days_of(year, month)[1][day]
            if found != day or found < 0:
                if found < 0:
                    month, day, hour, minute = month - 1, 31, 23, 59
                    continue
                day, hour, minute = found, 23, 59
            found = prev_hour[hour]
            if found != hour or found < 0:
                if found < 0:
                    day, hour, minute = day - 1, 23, 59
                    continue
                hour, minute = found, 59
            found = prev_minute[minute]
            if found < 0:
                hour, minute = hour - 1, 59
                continue
            return year, month, day, hour, found

    def _no_match(self, direction: str, year: int) -> NoMatchError:
        """The error for a search that ran out of years."""
        if abs(year - (_MAX_YEAR if direction == "after" else 1)) < _SEARCH_YEARS:
            return NoMatchError(
                f"'{self.text}' has no firing time {direction} {year} "
                f"within the years 1-{_MAX_YEAR} that datetime can represent"
            )
        return NoMatchError(
            f"'{self.text}' never runs: no firing time within {_SEARCH_YEARS} years "
            f"{direction} {year}, and the calendar repeats every {_SEARCH_YEARS} years"
        )

    def _wall_matches(self, moment: datetime) -> bool:
        """True if the wall-clock minute of `moment` satisfies every field."""
        minute, hour, day = moment.minute, moment.hour, moment.day
        return (
            self._next_minute[minute] == minute
            and self._next_hour[hour] == hour
            and self._next_month[moment.month] == moment.month
            and self._days_of(moment.year, moment.month)[0][day] == day
        )

    def _wall_from(self, wall: datetime) -> datetime:
        """The first matching wall minute at or after a naive wall time."""
        return datetime(*self._next_wall(wall.year, wall.month, wall.day, wall.hour, wall.minute))

    def _wall_upto(self, wall: datetime) -> datetime:
        """The last matching wall minute at or before a naive wall time."""
        return datetime(*self._prev_wall(wall.year, wall.month, wall.day, wall.hour, wall.minute))

    def _iter_naive(self, after: datetime) -> Iterator[datetime]:
        """Naive iteration: carry on from the last result's fields."""
        next_minute = self._next_minute
        year, month, day, hour, minute = self._next_wall(
            after.year, after.month, after.day, after.hour, after.minute + 1
        )
        while True:
            yield datetime(year, month, day, hour, minute)
            following = next_minute[minute + 1]
            if following >= 0:  # same hour: month, day and hour are known to match
                minute = following
            else:
                year, month, day, hour, minute = self._next_wall(year, month, day, hour + 1, 0)

    # ----------------------------------------------------------------- zoned search

    def _next_zoned(self, after: datetime, zone: _Zone) -> datetime:
        """next() on the instants of `zone`, by the gap and fold rules."""
        local = zone.to_local(after)
        year, month, day, hour, minute = (
            local.year,
            local.month,
            local.day,
            local.hour,
            local.minute,
        )
        if zone.day_offset(year, month, day) is not None:
            return self._next_on_wall(year, month, day, hour, minute + 1, zone)
        wall = datetime(year, month, day, hour, minute)
        region = zone.fold_region(wall)
        if region is None:
            return self._settle_next(self._wall_from(wall + _ONE_MINUTE), zone)
        start, end = region
        if local.fold == 0:
            candidate = self._wall_from(wall + _ONE_MINUTE)
            if candidate < end:
                return candidate.replace(tzinfo=zone.tz)
        if self.wildcard:
            candidate = self._wall_from(start if local.fold == 0 else wall + _ONE_MINUTE)
            if candidate < end:
                return candidate.replace(tzinfo=zone.tz, fold=1)
        return self._settle_next(self._wall_from(end), zone)

    def _settle_next(self, wall: datetime, zone: _Zone) -> datetime:
        """The first firing instant of matching wall minutes from `wall` on, given
        that their first occurrences all lie after the reference instant."""
        while True:
            if zone.day_offset(wall.year, wall.month, wall.day) is not None:
                return wall.replace(tzinfo=zone.tz)
            gap = zone.gap(wall)
            if gap is None:  # exists once, or repeated: the first occurrence comes first
                return wall.replace(tzinfo=zone.tz)
            gap_end, _ = gap
            if not self.wildcard:
                return gap_end
            wall = self._wall_from(gap_end.replace(tzinfo=None))

    def _prev_zoned(self, before: datetime, zone: _Zone) -> datetime:
        """prev() on the instants of `zone`, the mirror of _next_zoned."""
        local = zone.to_local(before)
        wall = datetime(local.year, local.month, local.day, local.hour, local.minute)
        upper = wall if local.second or local.microsecond else wall - _ONE_MINUTE
        if zone.day_offset(wall.year, wall.month, wall.day) is not None:
            return self._settle_prev(self._wall_upto(upper), zone, local)
        region = zone.fold_region(wall)
        if region is None:
            return self._settle_prev(self._wall_upto(upper), zone, local)
        start, end = region
        if local.fold == 1:
            if self.wildcard:
                candidate = self._wall_upto(upper)
                if candidate >= start:
                    return candidate.replace(tzinfo=zone.tz, fold=1)
            upper = end - _ONE_MINUTE
        candidate = self._wall_upto(upper)
        if candidate >= start:
            return candidate.replace(tzinfo=zone.tz)
        return self._settle_prev(candidate, zone, local)

    def _settle_prev(self, wall: datetime, zone: _Zone, local: datetime) -> datetime:
        """The last firing instant before `local` of matching wall minutes up to
        `wall`, given that no repeated interval holds `local`'s wall time."""
        while True:
            if zone.day_offset(wall.year, wall.month, wall.day) is not None:
                return wall.replace(tzinfo=zone.tz)
            first, second = zone.offsets(wall)
            if first == second:
                return wall.replace(tzinfo=zone.tz)
            if first > second:  # repeated: a wildcard job's last firing is the second pass
                return wall.replace(tzinfo=zone.tz, fold=int(self.wildcard))
            gap = zone.gap(wall)
            assert gap is not None  # offsets differ with the smaller first: a gap
            gap_end, gap_start = gap
            if not self.wildcard and _instant(gap_end) < _instant(local):
                return gap_end
            wall = self._wall_upto(gap_start - _ONE_MINUTE)

    def _iter_zoned(self, after: datetime, zone: _Zone) -> Iterator[datetime]:
        """Zoned iteration: on transition-free days, carry on from the last result's
        wall fields (minutes alone within an hour); around transitions, next()."""
        next_minute, tz, day_offset = self._next_minute, zone.tz, zone.day_offset
        current = self._next_zoned(after, zone)
        while True:
            yield current
            year, month, day, hour = current.year, current.month, current.day, current.hour
            if day_offset(year, month, day) is None:
                current = self._next_zoned(current, zone)
                continue
            minute = next_minute[current.minute + 1]
            if minute >= 0 and (hour or current.minute or self._wall_matches(current)):
                # Same hour of a simple day, whose wall time matched: only the
                # minute moves. (A firing at the end of a gap need not match; on
                # a simple day it can only be at midnight, hence the test.)
                current = datetime(year, month, day, hour, minute, tzinfo=tz)
            else:
                current = self._next_on_wall(year, month, day, hour, current.minute + 1, zone)

    def _next_on_wall(
        self, year: int, month: int, day: int, hour: int, minute: int, zone: _Zone
    ) -> datetime:
        """The first firing at or after a wall minute that follows a transition-free moment."""
        found = self._next_wall(year, month, day, hour, minute)
        if zone.day_offset(found[0], found[1], found[2]) is not None:
            return datetime(*found, tzinfo=zone.tz)
        return self._settle_next(datetime(*found), zone)


# --------------------------------------------------------------------------- transitions


class Transition(Record):
    """A change of UTC offset: a gap (clocks go forward) or a fold (they go back).

    `instant` is aware, in the zone, at the first moment of the new offset;
    `wall_start`/`wall_end` bound the missing or repeated wall times [start, end).
    """

    __slots__ = ("instant", "offset_after", "offset_before", "wall_end", "wall_start")

    def __init__(
        self,
        instant: datetime,
        offset_before: timedelta,
        offset_after: timedelta,
        wall_start: datetime,
        wall_end: datetime,
    ) -> None:
        self.instant = instant
        self.offset_before = offset_before
        self.offset_after = offset_after
        self.wall_start = wall_start
        self.wall_end = wall_end

    @property
    def is_gap(self) -> bool:
        """True if wall times are skipped (spring forward), False if repeated."""
        return self.offset_after > self.offset_before


def zone_transitions(tz: str | tzinfo, start: datetime, end: datetime) -> list[Transition]:
    """The offset transitions of a zone between two instants (naive: wall time in the zone).

    Probes the offset hourly in UTC (no zone changes its offset twice within an
    hour) and pins each change down to the second.
    """
    resolved = resolve_tz(tz)
    if resolved is None:
        raise TypeError("zone_transitions needs a time zone")
    zone = _zone_for(resolved)
    probe, last = _instant(zone.to_local(start)), _instant(zone.to_local(end))
    offset = _offset(zone.from_utc(probe))
    found: list[Transition] = []
    while probe < last:
        probe += _ONE_HOUR
        new_offset = _offset(zone.from_utc(probe))
        if new_offset != offset:
            moment = zone.transition(probe - _ONE_HOUR, probe)
            low, high = sorted((moment + offset, moment + new_offset))
            instant = zone.show(zone.from_utc(moment))
            found.append(Transition(instant, offset, new_offset, low, high))
            offset = new_offset
    return found
