"""The status page's charts, drawn on the server as inline SVG: a job's
durations over time and its runs per day.

Pure functions from plain values to SVG text: no clock, no files. Every
chart is an `<svg role="img">` with a `<title>` and a `<desc>` that say in
words what it shows (screen readers read those), and its marks carry the
outcome classes of the page (`outcome_class`), so that one style sheet colours
a run alike in the tables, the strips and the charts. The drawing has a
fixed coordinate system (`viewBox`) and scales to the width of its box.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta, tzinfo
from html import escape
from typing import NamedTuple

from pycron.explain import human_duration

# The drawing's coordinates: the whole box, and the plot area inside it.
WIDTH = 480
HEIGHT = 200
LEFT = 60
RIGHT = 12
TOP = 12
BOTTOM = 28
PLOT_WIDTH = WIDTH - LEFT - RIGHT
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM
POINT_RADIUS = 4


def outcome_class(outcome: str) -> str:
    """The class that colours an outcome everywhere on the page (`o-failed`)."""
    return f"o-{outcome}"


class Point(NamedTuple):
    """One attempt on the duration chart: when it started, how long it took,
    how it ended and its run id (a point links to its run)."""

    started: datetime
    seconds: float
    outcome: str
    run: int


class DayCount(NamedTuple):
    """The ended attempts of one day: those that succeeded and the others."""

    day: date
    successes: int
    failures: int


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten that is at least `value`
    (1 for nothing), so that an axis ends on a round number."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value * (1 - 1e-9):
            return step * power
    raise AssertionError(value)  # pragma: no cover - 10 * power always reaches value


def seconds_label(seconds: float) -> str:
    """A label of the duration axis: `0`, `250ms`, `2.5s`, `40s`, `5m00s`
    (milliseconds below a second, where a tenth of a second is too coarse)."""
    if seconds == 0:
        return "0"
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    if seconds < 60:
        return f"{seconds:g}s"
    return human_duration(seconds)


def duration_chart(points: Sequence[Point], zone: tzinfo | None, chart_id: str) -> str:
    """Durations over time: a point per attempt at its start (oldest left),
    coloured by outcome and linked to its run, joined by a line; the y axis
    from zero to a round number of seconds. `chart_id` makes the ids of its
    title and description unique on the page."""
    title = "Duration of each run"
    if not points:
        return _svg(chart_id, title, "No run has ended yet.", [_empty_note()])
    ordered = sorted(points, key=lambda p: p.started)
    top = nice_ceiling(max(p.seconds for p in ordered))
    first, last = ordered[0].started, ordered[-1].started
    span = (last - first).total_seconds()

    def x(moment: datetime) -> float:
        if span == 0:
            return LEFT + PLOT_WIDTH / 2
        return LEFT + (moment - first).total_seconds() / span * PLOT_WIDTH

    def y(seconds: float) -> float:
        return TOP + PLOT_HEIGHT - seconds / top * PLOT_HEIGHT

    coordinates = [(x(p.started), y(p.seconds)) for p in ordered]
    parts = _y_axis((0.0, top / 2, top), top, seconds_label)
    marks = [(first, x(first)), (last, x(last))] if span else [(first, x(first))]
    parts += _x_labels(marks, zone, _time_format(first, last, zone))
    path = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coordinates)
    parts.append(f'<polyline class="line" points="{path}"/>')
    for point, (cx, cy) in zip(ordered, coordinates, strict=True):
        label = escape(
            f"run {point.run}: {point.outcome}, {human_duration(point.seconds)}, "
            f"started {_when(point.started, zone)}"
        )
        parts.append(
            f'<a href="/runs/{point.run}" aria-label="{label}">'
            f'<circle class="point {outcome_class(point.outcome)}" cx="{cx:.1f}" cy="{cy:.1f}" '
            f'r="{POINT_RADIUS}"><title>{label}</title></circle></a>'
        )
    seconds = [p.seconds for p in ordered]
    description = (
        f"{len(ordered)} runs from {_when(first, zone)} to {_when(last, zone)}: "
        f"shortest {human_duration(min(seconds))}, "
        f"average {human_duration(sum(seconds) / len(seconds))}, "
        f"longest {human_duration(max(seconds))}."
    )
    return _svg(chart_id, title, description, parts)


def day_chart(days: Sequence[DayCount], chart_id: str) -> str:
    """Runs per day: a bar per day of `days` (in their order), successes at
    the bottom and the other outcomes stacked on them; the y axis from zero
    to a round number of runs."""
    title = "Runs per day"
    if not any(d.successes or d.failures for d in days):
        return _svg(chart_id, title, "No run ended on these days.", [_empty_note()])
    top = nice_ceiling(max(d.successes + d.failures for d in days))
    band = PLOT_WIDTH / len(days)
    width = max(band * 0.7, 1.0)
    levels = (0.0, top / 2, top) if (top / 2).is_integer() else (0.0, top)
    parts = _y_axis(levels, top, lambda value: f"{value:g}")
    for index, count in enumerate(days):
        if not (count.successes or count.failures):
            continue
        left = LEFT + index * band + (band - width) / 2
        base: float = TOP + PLOT_HEIGHT
        label = f"{count.day.isoformat()}: {count.successes} succeeded, {count.failures} did not"
        bars = []
        for number, kind in ((count.successes, "success"), (count.failures, "failure")):
            if number:
                height = number / top * PLOT_HEIGHT
                base -= height
                bars.append(
                    f'<rect class="bar {outcome_class(kind)}" x="{left:.1f}" y="{base:.1f}" '
                    f'width="{width:.1f}" height="{height:.1f}"/>'
                )
        parts.append(f"<g><title>{escape(label)}</title>{''.join(bars)}</g>")
    ticks = {0: "start", len(days) // 2: "middle", len(days) - 1: "end"}
    for index, anchor in sorted(ticks.items()):
        position = {"start": LEFT, "middle": LEFT + (index + 0.5) * band, "end": WIDTH - RIGHT}
        label = days[index].day.strftime("%b %d")
        parts.append(_text(position[anchor], HEIGHT - 8, label, anchor))
    total_successes = sum(d.successes for d in days)
    total_failures = sum(d.failures for d in days)
    busiest = max(days, key=lambda d: d.successes + d.failures)
    description = (
        f"{len(days)} days from {days[0].day.isoformat()} to {days[-1].day.isoformat()}: "
        f"{total_successes} runs succeeded and {total_failures} did not; the busiest day, "
        f"{busiest.day.isoformat()}, had {busiest.successes + busiest.failures} runs."
    )
    return _svg(chart_id, title, description, parts)


def days_between(first: date, last: date, counts: Mapping[date, tuple[int, int]]) -> list[DayCount]:
    """Every day from `first` to `last`, with its (successes, failures) from
    `counts` (none for a day it lacks), so that a day without runs keeps its place."""
    days = []
    day = first
    while day <= last:
        successes, failures = counts.get(day, (0, 0))
        days.append(DayCount(day, successes, failures))
        day += timedelta(days=1)
    return days


def _svg(chart_id: str, title: str, description: str, parts: list[str]) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>' + "".join(parts) + "</svg>"
    )


def _y_axis(levels: Sequence[float], top: float, label: Callable[[float], str]) -> list[str]:
    """Grid lines and labels at `levels` of an axis from zero to `top`."""
    parts = []
    for value in levels:
        level = TOP + PLOT_HEIGHT - value / top * PLOT_HEIGHT
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
            f'y1="{level:.1f}" y2="{level:.1f}"/>'
        )
        parts.append(_text(LEFT - 6, level + 4, label(value), "end"))
    return parts


def _x_labels(marks: list[tuple[datetime, float]], zone: tzinfo | None, form: str) -> list[str]:
    anchors = ["start", "end"] if len(marks) == 2 else ["middle"]
    return [
        _text(position, HEIGHT - 8, moment.astimezone(zone).strftime(form), anchor)
        for (moment, position), anchor in zip(marks, anchors, strict=True)
    ]


def _text(x: float, y: float, text: str, anchor: str) -> str:
    return (
        f'<text class="label" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(text)}</text>'
    )


def _empty_note() -> str:
    return _text(WIDTH / 2, HEIGHT / 2, "no runs yet", "middle")


def _time_format(first: datetime, last: datetime, zone: tzinfo | None) -> str:
    """How the time axis labels its ends: to the second within a few minutes,
    without the date within a day, else with it."""
    if (last - first).total_seconds() < 600:
        return "%H:%M:%S"
    if first.astimezone(zone).date() == last.astimezone(zone).date():
        return "%H:%M"
    return "%b %d %H:%M"


def _when(moment: datetime, zone: tzinfo | None) -> str:
    return moment.astimezone(zone).strftime("%b %d %H:%M")
