"""The time notation of the tests: `YYYY-MM-DD HH:MM[:SS[.ffffff]][±HH:MM]`."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

UTC = timezone.utc

_STAMP = re.compile(
    r"(?P<y>\d{4})-(?P<mo>\d\d)-(?P<d>\d\d) (?P<h>\d\d):(?P<mi>\d\d)"
    r"(?::(?P<s>\d\d)(?:\.(?P<us>\d{1,6}))?)?"
    r"(?:(?P<sign>[+-])(?P<oh>\d\d):(?P<om>\d\d))?"
)


def stamp(text: str) -> tuple[datetime, timedelta | None]:
    """Split the notation into the naive wall time and the UTC offset (None if naive)."""
    found = _STAMP.fullmatch(text)
    assert found is not None, f"bad time notation in the test data: {text!r}"
    wall = datetime(
        int(found["y"]),
        int(found["mo"]),
        int(found["d"]),
        int(found["h"]),
        int(found["mi"]),
        int(found["s"] or 0),
        int((found["us"] or "0").ljust(6, "0")),
    )
    if found["sign"] is None:
        return wall, None
    offset = timedelta(hours=int(found["oh"]), minutes=int(found["om"]))
    return wall, -offset if found["sign"] == "-" else offset


def instant(moment: datetime) -> datetime:
    """The UTC instant of an aware time (a naive one is returned as is). Aware datetimes are
    compared this way only: == between zones is False for fold=1 times (PEP 495) and within
    one tzinfo it compares wall clocks, ignoring fold."""
    return moment if moment.tzinfo is None else moment.astimezone(UTC)
