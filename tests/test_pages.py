"""The status page: its charts (SVG parsed back), and its pages served over
real HTTP from a history that real runs of real jobs made."""

from __future__ import annotations

import itertools
import subprocess
import sys
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from email.message import Message
from html.parser import HTMLParser
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest

from pycron.store.sqlite import SQLiteStore
from pycron.web.charts import (
    DayCount,
    Point,
    day_chart,
    days_between,
    duration_chart,
    nice_ceiling,
    seconds_label,
)
from pycron.web.pages import by_attention, cpu_time, failure_trend, relative
from pycron.web.source import Source, file_source

SVG = "{http://www.w3.org/2000/svg}"
ZONE = ZoneInfo("Europe/Berlin")
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
    assert _texts(root, "text") == ["0", "5s", "10s", "12:00", "12:10"]


@pytest.mark.parametrize(
    ("seconds", "label"),
    [(0, "0"), (0.0025, "2.5ms"), (0.5, "500ms"), (1, "1s"), (2.5, "2.5s"), (300, "5m00s")],
)
def test_the_duration_axis_reads_in_milliseconds_below_a_second(seconds: float, label: str) -> None:
    assert seconds_label(seconds) == label


@pytest.mark.parametrize(
    ("last", "labels"),
    [
        (T0 + timedelta(seconds=42), ["12:00:00", "12:00:42"]),
        (T0 + timedelta(hours=11), ["12:00", "23:00"]),
        (T0 + timedelta(hours=12), ["Mar 01 12:00", "Mar 02 00:00"]),
    ],
    ids=["minutes", "a-day", "days"],
)
def test_the_time_axis_is_as_fine_as_its_span(last: datetime, labels: list[str]) -> None:
    points = [Point(T0, 1.0, "success", 1), Point(last, 1.0, "success", 2)]
    root = _parse(duration_chart(points, timezone.utc, "span"))
    assert _texts(root, "text")[-2:] == labels


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


@pytest.mark.parametrize(
    ("run", "text"),
    [
        ({}, "-"),
        ({"cpu_user": None, "cpu_system": None}, "-"),
        ({"cpu_user": 0.015, "cpu_system": 0.005}, "0.02s"),
        ({"cpu_user": 1.5, "cpu_system": 0.25}, "1.75s"),
        ({"cpu_user": 90.0, "cpu_system": None}, "1m30s"),
    ],
)
def test_cpu_time_is_user_and_system_together(run: dict[str, object], text: str) -> None:
    assert cpu_time(run) == text


# ----------------------------------------------------------------------------- pages

# Jobs that succeed, fail, time out, print markup and print a long log.
CRONTAB = """\
# pycron: name=ok
*/5 * * * * echo all good
# pycron: name=broken
0 3 * * * echo "disk full" >&2; exit 3
# pycron: name=slow timeout=1s kill-grace=1s
@hourly sleep 30
# pycron: name=markup
@daily printf '<script>alert(1)</script>\\n' >&2; echo '<b>bold</b>'
# pycron: name=chatty
@daily seq 1 20000
"""
# The order run: `ok` three times, the others once.
RUNS = ("ok", "broken", "ok", "slow", "markup", "chatty", "ok")
# What `seq 1 20000` prints.
SEQ = "".join(f"{n}\n" for n in range(1, 20001))


class History(NamedTuple):
    """A crontab and the state directory its runs (`run-now`) recorded."""

    crontab: Path
    state: Path

    def source(self) -> Source:
        return file_source(self.crontab, self.state, ZONE, lambda: datetime.now(timezone.utc))

    def run_ids(self, job_id: str) -> list[int]:
        """The job's recorded runs, oldest first."""
        with SQLiteStore.open_readonly(self.state) as store:
            return [record.id for record in reversed(store.runs(job_id))]


def make_history(root: Path, crontab: str, runs: tuple[str, ...]) -> History:
    """Run each of `runs` (job ids) with `pycron run-now`, in turn, as a
    person would: a real history, with real logs."""
    root.mkdir(parents=True, exist_ok=True)
    history = History(root / "crontab", root / "state")
    history.crontab.write_text(f"HOME={root}\n{crontab}")
    for job_id in runs:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pycron",
                "--crontab",
                str(history.crontab),
                "--state-dir",
                str(history.state),
                "run-now",
                "--no-notify",
                job_id,
            ],
            cwd=root,
            capture_output=True,
            timeout=60,
            check=False,
        )
    return history


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    return make_history(tmp_path_factory.mktemp("pages"), CRONTAB, RUNS)


class Page(NamedTuple):
    status: int
    headers: Message
    text: str

    @property
    def tree(self) -> ET.Element:
        return parse_html(self.text)


def get(url: str, method: str = "GET") -> Page:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read().decode()
            return Page(response.status, response.headers, body)
    except urllib.error.HTTPError as error:
        return Page(error.code, error.headers, error.read().decode())


VOID = {"meta", "link", "br", "hr", "img", "input", "source", "col", "wbr"}


class _TreeBuilder(HTMLParser):
    """HTML into an ElementTree (for its XPath subset), as the page writes it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = ET.Element("document")
        self.open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = ET.SubElement(self.open[-1], tag, {k: v or "" for k, v in attrs})
        if tag not in VOID:
            self.open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while len(self.open) > 1:
            if self.open.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        parent = self.open[-1]
        if len(parent):
            parent[-1].tail = (parent[-1].tail or "") + data
        else:
            parent.text = (parent.text or "") + data


def parse_html(text: str) -> ET.Element:
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


def words(element: ET.Element | None) -> str:
    """An element's text as a reader sees it: spaces collapsed."""
    assert element is not None
    return " ".join("".join(element.itertext()).split())


def test_the_overview_lists_every_job_failing_first(
    history: History, serve_web: Callable[[Source], str]
) -> None:
    page = get(serve_web(history.source()) + "/")
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    tree = page.tree
    assert words(tree.find(".//p[@class='summary']")) == "5 jobs 2 failing 0 running 0 queued"
    rows = {row.get("data-job"): row for row in tree.iter("tr") if row.get("data-job")}
    # Failing first (in crontab order), then the others in crontab order.
    assert list(rows) == ["broken", "slow", "ok", "markup", "chatty"]
    assert [row.get("class") for row in rows.values()] == ["job is-failing"] * 2 + ["job"] * 3

    def cell(job: str, label: str) -> ET.Element:
        found = rows[job].find(f"td[@data-label='{label}']")
        assert found is not None
        return found

    assert words(cell("ok", "Job")) == "ok */5 * * * * Every 5 minutes"
    assert words(cell("broken", "Job")) == "broken 0 3 * * * At 03:00 every day"
    badge = cell("broken", "Last result").find("a")
    assert badge is not None
    assert badge.get("class") == "badge o-failed"
    assert badge.text == "failed (3)"
    assert badge.get("href") == f"/runs/{history.run_ids('broken')[-1]}"
    assert cell("slow", "Last result").find("a").get("class") == "badge o-timeout"  # type: ignore[union-attr]
    assert words(cell("ok", "7-day success")) == "100%"
    assert words(cell("broken", "7-day success")) == "0%"
    assert words(cell("ok", "Now")) == "idle"
    # The next run of */5: a whole five minutes, in Berlin, soon.
    (next_time,) = cell("ok", "Next run").iter("time")
    moment = datetime.fromisoformat(next_time.get("datetime", ""))
    assert moment.utcoffset() == ZONE.utcoffset(moment.replace(tzinfo=None))
    assert moment.minute % 5 == 0
    assert moment.second == 0
    assert words(cell("ok", "Next run")).split()[-3] == "in"
    # The strip: one cell per run, oldest first, each a link to its run.
    strip = cell("ok", "Last 30 runs").findall(".//a")
    assert [a.get("href") for a in strip] == [f"/runs/{n}" for n in history.run_ids("ok")]
    assert {a.get("class") for a in strip} == {"cell o-success"}
    assert all(
        a.get("title", "").startswith(f"run {n}: success, started ")
        for a, n in zip(strip, history.run_ids("ok"), strict=True)
    )


def test_the_job_table_alone_is_what_the_page_refreshes_with(
    history: History, serve_web: Callable[[Source], str]
) -> None:
    base = serve_web(history.source())
    tree = get(base + "/").tree
    live = tree.find(".//div[@id='live']")
    assert live is not None
    assert live.get("data-refresh") == "/?part=jobs"
    part = get(base + "/?part=jobs")
    assert part.status == 200
    assert "<html" not in part.text
    assert '<table class="jobs">' in part.text
    rows = [row.get("data-job") for row in part.tree.iter("tr") if row.get("data-job")]
    assert rows == ["broken", "slow", "ok", "markup", "chatty"]
    # What the page loads is served by pycron itself (nothing from elsewhere).
    assets = [e.get("src") for e in tree.iter("script")] + [
        e.get("href") for e in tree.iter("link")
    ]
    assert assets
    assert all(str(asset).startswith("/static/") for asset in assets)
    for asset in assets:
        assert get(base + str(asset)).status == 200


def test_a_job_page_shows_its_definition_next_runs_figures_charts_and_runs(
    history: History, serve_web: Callable[[Source], str]
) -> None:
    page = get(serve_web(history.source()) + "/jobs/ok")
    assert page.status == 200
    tree = page.tree
    assert words(tree.find(".//pre[@class='command']")) == "echo all good"
    upcoming = [t.get("datetime", "") for t in tree.iterfind(".//ol[@class='upcoming']/li/time")]
    assert len(upcoming) == 10
    gaps = {
        datetime.fromisoformat(b) - datetime.fromisoformat(a)
        for a, b in itertools.pairwise(upcoming)
    }
    assert gaps == {timedelta(minutes=5)}
    figures = dict(
        zip(
            [words(dt) for dt in tree.iterfind(".//dl[@class='facts']/dt")],
            [words(dd) for dd in tree.iterfind(".//dl[@class='facts']/dd")],
            strict=True,
        )
    )
    assert figures["runs"] == "3"
    assert figures["succeeded"] == "3"
    assert figures["success rate"] == "100% (7 days: 100%)"
    assert figures["failures"] == "0 in the last 7 days, 0 in the 7 before"
    charts = list(tree.iter("svg"))
    assert len(charts) == 2
    durations, per_day = charts
    points = [c.get("class") for c in durations.iter("circle")]
    assert points == ["point o-success"] * 3
    bars = [r.get("class") for r in per_day.iter("rect")]
    assert bars == ["bar o-success"]  # one day, three successes
    assert all(svg.find("title") is not None and svg.find("desc") is not None for svg in charts)
    runs = [
        [words(td) for td in row.iter("td")]
        for row in tree.iterfind(".//table[@class='runs']/tbody/tr")
    ]
    ids = history.run_ids("ok")[::-1]  # newest first
    assert [row[0] for row in runs] == [f"#{n}" for n in ids]
    assert {(row[2], row[3], row[5], row[6]) for row in runs} == {("success", "0", "1", "-")}


def test_a_job_that_failed_shows_it_in_its_figures_and_charts(
    history: History, serve_web: Callable[[Source], str]
) -> None:
    tree = get(serve_web(history.source()) + "/jobs/broken").tree
    assert [c.get("class") for c in tree.iter("circle")] == ["point o-failed"]
    assert [r.get("class") for r in tree.iter("rect")] == ["bar o-failure"]
    (row,) = tree.iterfind(".//table[@class='runs']/tbody/tr")
    assert [words(td) for td in row.iter("td")][2:4] == ["failed", "3"]


def test_a_run_page_shows_its_output_as_text(
    history: History, serve_web: Callable[[Source], str]
) -> None:
    (run,) = history.run_ids("markup")
    page = get(serve_web(history.source()) + f"/runs/{run}")
    assert page.status == 200
    # The job's markup is text on the page: escaped, never an element.
    assert "<script>alert(1)" not in page.text
    assert "<b>bold" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    tree = page.tree
    assert not [s for s in tree.iter("script") if s.get("src") is None]
    logs = {s.get("id"): s.find("pre") for s in tree.iterfind(".//section[@class='log']")}
    assert "".join(logs["stderr"].itertext()) == "<script>alert(1)</script>\n"  # type: ignore[union-attr]
    assert "".join(logs["stdout"].itertext()) == "<b>bold</b>\n"  # type: ignore[union-attr]
    navigation = [words(p) for p in tree.iterfind(".//section[@class='log']/p")]
    assert navigation == ["all of it", "all of it"]
    facts = [words(dd) for dd in tree.iterfind(".//dl[@class='facts']/dd")]
    assert "success" in facts


def test_a_long_log_shows_its_tail_then_all_of_it_page_by_page(
    history: History, serve_web: Callable[[Source], str]
) -> None:
    (run,) = history.run_ids("chatty")
    base = serve_web(history.source()) + f"/runs/{run}"

    def stdout(url: str) -> tuple[str, dict[str, str]]:
        section = get(url).tree.find(".//section[@id='stdout']")
        assert section is not None
        links = {a.text or "": a.get("href", "") for a in section.iter("a")}
        return "".join(section.find("pre").itertext()), links  # type: ignore[union-attr]

    tail, links = stdout(base)
    assert tail == SEQ[-65536:]  # one byte a character: the last 64 KiB
    first, links = stdout(base + links["show all"])
    assert first == SEQ[:65536]
    rest, links = stdout(base + links["next page"])
    assert first + rest == SEQ
    assert "next page" not in links


def test_a_log_that_is_gone_is_said_so_in_its_place(
    tmp_path: Path, serve_web: Callable[[Source], str]
) -> None:
    history = make_history(
        tmp_path, "# pycron: name=broken\n@daily echo oops >&2; exit 1\n", ("broken",)
    )
    (run,) = history.run_ids("broken")
    with SQLiteStore.open_readonly(history.state) as store:
        record = store.run(run)
    assert record is not None
    assert record.stderr_path is not None
    record.stderr_path.unlink()
    page = get(serve_web(history.source()) + f"/runs/{run}")
    assert page.status == 200
    logs = {s.get("id"): words(s) for s in page.tree.iterfind(".//section[@class='log']")}
    assert "was deleted" in logs["stderr"]
    assert logs["stdout"] == "stdout 0 B empty"


def test_unknown_jobs_and_runs_are_pages_that_say_so(
    history: History, serve_web: Callable[[Source], str]
) -> None:
    base = serve_web(history.source())
    for path, message in [
        ("/jobs/nope", "There is no job 'nope' in the crontab."),
        ("/runs/999999", "There is no run 999999 in the history."),
    ]:
        page = get(base + path)
        assert page.status == 404
        assert words(page.tree.find(".//main/p")) == message


def test_the_pages_only_read(history: History, serve_web: Callable[[Source], str]) -> None:
    base = serve_web(history.source())
    assert get(base + "/", "HEAD").status == 200
    for path in ("/", "/jobs/ok", f"/runs/{history.run_ids('ok')[0]}"):
        assert get(base + path, "POST").status == 405
