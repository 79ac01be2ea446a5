"""The status page: its charts (SVG parsed back), and its pages served over
real HTTP from a history that real runs of real jobs made."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta, timezone

import pytest

from pycron.web.charts import (
    DayCount,
    Point,
    day_chart,
    days_between,
    duration_chart,
    nice_ceiling,
    seconds_label,
)
from pycron.web.pages import by_attention, failure_trend, relative

SVG = "{http://www.w3.org/2000/svg}"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)

# ----------------------------------------------------------------------------- charts


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    # The title and description it names exist: what a screen reader reads.
    for name in (root.get("aria-labelledby") or "").split():
        assert root.find(f".//*[@id='{name}']") is not None, name
    return root


def _texts(root: ET.Element, tag: str) -> list[str]:
    return [element.text or "" for element in root.iter(f"{SVG}{tag}")]


@pytest.mark.parametrize(
    ("value", "ceiling"),
    [(0, 1), (0.3, 0.5), (1, 1), (1.1, 2), (3, 5), (7, 10), (10, 10), (11, 20), (250, 500)],
)
def test_an_axis_ends_on_a_round_number(value: float, ceiling: float) -> None:
    assert nice_ceiling(value) == pytest.approx(ceiling)


def test_the_duration_chart_has_a_point_per_run_in_time_order() -> None:
    # Given newest first, as the page lists runs; the axis tops at 10 s.
    points = [
        Point(T0 + timedelta(minutes=10), 10.0, "timeout", 3),
        Point(T0 + timedelta(minutes=5), 2.5, "failed", 2),
        Point(T0, 0.0, "success", 1),
    ]
    root = _parse(duration_chart(points, timezone.utc, "durations"))
    circles = list(root.iter(f"{SVG}circle"))
    assert [c.get("class") for c in circles] == [
        "point o-success",
        "point o-failed",
        "point o-timeout",
    ]
    # The plot spans x 60..468 and y 172 (0 s) .. 12 (10 s): the middle run
    # is half way in time, and 2.5 s is a quarter of the way up.
    assert [float(c.get("cx", "")) for c in circles] == [60.0, 264.0, 468.0]
    assert [float(c.get("cy", "")) for c in circles] == [172.0, 132.0, 12.0]
    links = [a.get("href") for a in root.iter(f"{SVG}a")]
    assert links == ["/runs/1", "/runs/2", "/runs/3"]
    assert "run 2: failed, 2.5s" in _texts(root, "title")[2]
    (line,) = root.iter(f"{SVG}polyline")
    assert line.get("points") == "60.0,172.0 264.0,132.0 468.0,12.0"
    (desc,) = _texts(root, "desc")
    assert desc.startswith("3 runs from Mar 01 12:00 to Mar 01 12:10")
    assert "longest 10.0s" in desc
    assert _texts(root, "text") == ["0", "5s", "10s", "Mar 01 12:00", "Mar 01 12:10"]


@pytest.mark.parametrize(
    ("seconds", "label"),
    [(0, "0"), (0.0025, "2.5ms"), (0.5, "500ms"), (1, "1s"), (2.5, "2.5s"), (300, "5m00s")],
)
def test_the_duration_axis_reads_in_milliseconds_below_a_second(seconds: float, label: str) -> None:
    assert seconds_label(seconds) == label


def test_a_single_run_sits_in_the_middle_and_no_run_says_so() -> None:
    root = _parse(duration_chart([Point(T0, 4.0, "success", 7)], None, "one"))
    (circle,) = root.iter(f"{SVG}circle")
    # 4 s of an axis to 5 s: 4/5 of 160 above y 172.
    assert (circle.get("cx"), circle.get("cy")) == ("264.0", "44.0")
    root = _parse(duration_chart([], None, "none"))
    assert list(root.iter(f"{SVG}circle")) == []
    assert _texts(root, "desc") == ["No run has ended yet."]


def test_the_day_chart_stacks_failures_on_successes() -> None:
    days = [
        DayCount(date(2026, 2, 27), 0, 0),
        DayCount(date(2026, 2, 28), 3, 1),
        DayCount(date(2026, 3, 1), 0, 2),
        DayCount(date(2026, 3, 2), 1, 0),
    ]
    root = _parse(day_chart(days, "per-day"))
    rects = [
        (r.get("class"), r.get("x"), r.get("y"), r.get("height")) for r in root.iter(f"{SVG}rect")
    ]
    # Four bands of 102 over x 60..468, bars 70% of a band (71.4, 15.3 in
    # from each side); the axis tops at 5 runs over 160 units (32 a run),
    # from y 172 up.
    assert rects == [
        ("bar o-success", "177.3", "76.0", "96.0"),
        ("bar o-failure", "177.3", "44.0", "32.0"),
        ("bar o-failure", "279.3", "108.0", "64.0"),
        ("bar o-success", "381.3", "140.0", "32.0"),
    ]
    titles = _texts(root, "title")
    assert "2026-02-28: 3 succeeded, 1 did not" in titles
    (desc,) = _texts(root, "desc")
    assert "4 runs succeeded and 3 did not" in desc
    assert "the busiest day, 2026-02-28, had 4 runs" in desc
    # 5 runs: no half-way label of 2.5 runs.
    assert _texts(root, "text")[:2] == ["0", "5"]


def test_the_day_chart_keeps_days_without_runs_in_their_place() -> None:
    days = days_between(date(2026, 2, 27), date(2026, 3, 2), {date(2026, 3, 1): (2, 1)})
    assert days == [
        DayCount(date(2026, 2, 27), 0, 0),
        DayCount(date(2026, 2, 28), 0, 0),
        DayCount(date(2026, 3, 1), 2, 1),
        DayCount(date(2026, 3, 2), 0, 0),
    ]
    root = _parse(day_chart(days, "gaps"))
    assert {r.get("x") for r in root.iter(f"{SVG}rect")} == {"279.3"}  # the third band
    root = _parse(day_chart(days_between(date(2026, 3, 1), date(2026, 3, 2), {}), "empty"))
    assert list(root.iter(f"{SVG}rect")) == []


# ----------------------------------------------------------------------------- page texts


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.4, "now"),
        (12, "in 12 s"),
        (-12, "12 s ago"),
        (90, "in 2 min"),
        (180, "in 3 min"),
        (-3 * 3600, "3 h ago"),
        (2 * 86400 + 60, "in 2 d"),
    ],
)
def test_times_read_relative_to_now(seconds: float, text: str) -> None:
    assert relative(T0 + timedelta(seconds=seconds), T0) == text


def test_failing_jobs_come_first_in_crontab_order() -> None:
    def job(name: str, outcome: str | None) -> dict[str, object]:
        return {"id": name, "last": None if outcome is None else {"outcome": outcome}}

    jobs = [
        job("a", "success"),
        job("b", "failed"),
        job("c", None),
        job("d", "timeout"),
        job("e", "skipped-overlap"),
        job("f", "error"),
    ]
    assert [j["id"] for j in by_attention(jobs)] == ["b", "d", "f", "a", "c", "e"]


def test_the_failure_trend_compares_the_last_week_with_the_one_before() -> None:
    today = date(2026, 3, 14)
    per_day = {
        date(2026, 3, 14): (5, 1),  # today
        date(2026, 3, 8): (5, 2),  # 6 days ago: the last week
        date(2026, 3, 7): (5, 4),  # 7 days ago: the week before
        date(2026, 3, 1): (5, 8),  # 13 days ago: the week before
        date(2026, 2, 28): (5, 16),  # 14 days ago: neither
    }
    assert failure_trend(per_day, today) == (3, 12)
