"""The big crontab of the benchmarks: jobs at fixed times of a month far away.

The daemon benchmark starts, idles and reloads daemons on it, and the engine
benchmark times `pycron.crontab.parse()` of it against the peers building the
same expressions (bench/parsing.py).
"""

from __future__ import annotations

from datetime import datetime


def far_month(shift: int) -> int:
    """The month six (plus `shift`) months from now: no job in it is due soon."""
    return (datetime.now().month - 1 + 6 + shift) % 12 + 1


def idle_crontab(count: int, month: int, edit: int = 0, last_day: bool = True) -> str:
    """`count` jobs at fixed times of `month` only (every fourth on its last day,
    `L`, unless `last_day` is false: a crontab that Vixie cron reads too), each
    with its own command and so its own id; `edit` changes the command of the
    first job, as a one-line edit does."""
    lines = ["# pycron daemon benchmark: jobs that are not due for months", ""]
    for number in range(count):
        day = "L" if last_day and number % 4 == 3 else str(number % 28 + 1)
        command = f"echo idle job {number}" + (f" edit {edit}" if number == 0 and edit else "")
        lines.append(f"{number % 60} {(number // 60) % 24} {day} {month} * {command}")
    return "\n".join(lines) + "\n"
