"""The web application's data and its JSON API: the `Source` a page and the
API read (over a real history), then the API served for real on a loopback
port, checked against its own OpenAPI document and against the CLI."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest

from pycron.errors import LogNotFoundError
from pycron.records import Outcome, RunResult
from pycron.store.sqlite import SQLiteStore
from pycron.web.source import Source, file_source, log_page

NOW = datetime(2026, 3, 1, 11, 58, tzinfo=timezone.utc)
BERLIN = ZoneInfo("Europe/Berlin")

CRONTAB = """\
# pycron: name=hourly
0 * * * * true
# pycron: name=five
*/5 * * * * echo five
CRON_TZ=America/New_York
# pycron: name=quarter
*/15 * * * * true
# pycron: name=boot
@reboot true
"""


class Attempt(NamedTuple):
    """An attempt to record: `job` started `ago` before NOW, ended `seconds`
    later (None: still running), with these log contents (None: no file)."""

    job: str
    ago: timedelta
    outcome: Outcome
    seconds: float | None
    stdout: bytes | None = None
    stderr: bytes | None = None


# hourly: 40 attempts, one an hour up to an hour ago, every fourth failed, the
# n-th lasting n+1 seconds; and a failure 8 days ago (out of the 7-day rate).
HOURLY = [
    Attempt(
        "hourly",
        timedelta(hours=40 - n),
        Outcome.FAILED if n % 4 == 0 else Outcome.SUCCESS,
        n + 1,
        stdout=f"run {n}\n".encode(),
        stderr=b"",
    )
    for n in range(40)
]
OLD = Attempt("hourly", timedelta(days=8), Outcome.FAILED, 5)
FIVE = [
    Attempt("five", timedelta(hours=3), Outcome.SUCCESS, 2, stdout=b"five\n", stderr=b"oops\n"),
    Attempt("five", timedelta(hours=2), Outcome.TIMEOUT, 60, stdout=b"", stderr=b""),
    Attempt("five", timedelta(minutes=10), Outcome.RUNNING, None, stdout=b"going\n", stderr=b""),
]
ATTEMPTS = [OLD, *HOURLY, *FIVE]


class World(NamedTuple):
    """A crontab, a state directory with a history, and the record ids of
    ATTEMPTS (in order)."""

    crontab: Path
    state: Path
    ids: list[int]

    def source(self, zone: ZoneInfo | None = BERLIN) -> Source:
        return file_source(self.crontab, self.state, zone, lambda: NOW)


def record(state: Path, attempts: list[Attempt]) -> list[int]:
    """Record attempts as the runner does (started, then finished), with
    their log files under the state directory; their record ids."""
    logs = state / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    ids = []
    with SQLiteStore.open(state) as history:
        for number, attempt in enumerate(attempts):
            paths = {}
            for stream in ("stdout", "stderr"):
                content = getattr(attempt, stream)
                if content is not None:
                    path = logs / f"{attempt.job}-{number}.{stream}"
                    path.write_bytes(content)
                    paths[f"{stream}_path"] = path
            started = NOW - attempt.ago
            result = RunResult(
                job_id=attempt.job,
                scheduled_for=started,
                attempt=1,
                outcome=Outcome.RUNNING,
                started=started,
                pid=os.getpid() if attempt.seconds is None else None,
                **paths,
            )
            record_id = history.started(result)
            if attempt.seconds is not None:
                finished = started + timedelta(seconds=attempt.seconds)
                history.finished(
                    record_id, result._replace(outcome=attempt.outcome, finished=finished)
                )
            ids.append(record_id)
    return ids


@pytest.fixture
def world(tmp_path: Path) -> World:
    crontab = tmp_path / "crontab"
    crontab.write_text(CRONTAB)
    state = tmp_path / "state"
    return World(crontab, state, record(state, ATTEMPTS))


def utc_text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat()


def _get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.headers["Content-Type"] == "application/json"
        return json.load(response)


# -- The source ----------------------------------------------------------------------------


def test_the_overview_reads_each_schedule_and_sums_up_its_week(world: World) -> None:
    overview = {job["id"]: job for job in world.source().overview()}
    assert list(overview) == ["hourly", "five", "quarter", "boot"]
    assert overview["hourly"]["description"] == "At minute 0 past every hour"
    assert overview["quarter"]["description"] == "Every 15 minutes (America/New_York)"
    assert overview["boot"]["description"] is None
    # 10 of the 40 hourly attempts of the week failed (n = 0, 4, ... 36).
    assert overview["hourly"]["success_rate_7d"] == 30 / 40
    # five: one success and one timeout ended; the running attempt is no result yet.
    assert overview["five"]["success_rate_7d"] == 1 / 2
    assert overview["quarter"]["success_rate_7d"] is None
    # The jobs' own fields are those of `jobs()`.
    assert {key: overview["hourly"][key] for key in ("schedule", "next", "running")} == {
        "schedule": "0 * * * *",
        "next": "2026-03-01T13:00:00+01:00",
        "running": False,
    }
    assert overview["five"]["running"] is True


def test_the_overview_strip_holds_the_last_30_attempts_oldest_first(world: World) -> None:
    overview = {job["id"]: job for job in world.source().overview()}
    strip = overview["hourly"]["recent"]
    assert isinstance(strip, list)
    expected = [
        {
            "run": world.ids[1 + n],
            "outcome": HOURLY[n].outcome.value,
            "started": utc_text(NOW - timedelta(hours=40 - n)),
            "duration": float(n + 1),
        }
        for n in range(10, 40)
    ]
    assert strip == expected
    assert [item["outcome"] for item in overview["five"]["recent"]] == [
        "success",
        "timeout",
        "running",
    ]
    assert overview["boot"]["recent"] == []


def test_a_job_has_its_next_runs_figures_and_runs(world: World) -> None:
    job = world.source().job("hourly")
    assert job is not None
    # 11:58 UTC is 12:58 in Berlin (CET): the next ten whole hours from 13:00.
    assert job["upcoming"] == [f"2026-03-01T{hour}:00:00+01:00" for hour in range(13, 23)]
    assert job["description"] == "At minute 0 past every hour"
    stats = job["stats"]
    assert isinstance(stats, dict)
    assert (stats["job"], stats["runs"], stats["successes"]) == ("hourly", 41, 30)
    assert stats["failures"] == {"failed": 11}
    # Durations 1..40 and 5: the 39th of the 41 (nearest rank of 95%) is 38.
    assert stats["duration"] == {
        "min": 1.0,
        "avg": (5 + sum(range(1, 41))) / 41,
        "p95": 38.0,
        "max": 40.0,
    }
    runs = job["runs"]
    assert isinstance(runs, list)
    # Its 41 attempts, newest first (fewer than 50).
    assert [run["run"] for run in runs] == world.ids[:41][::-1]
    boot = world.source().job("boot")
    assert boot is not None
    assert boot["upcoming"] == []
    assert world.source().job("nope") is None


def test_runs_filter_like_history(world: World) -> None:
    source = world.source()
    failed = source.runs(job="hourly", outcome="failed")
    every_fourth = [world.ids[1 + n] for n in range(36, -1, -4)]
    assert [run["run"] for run in failed] == [*every_fourth, world.ids[0]]
    recent = source.runs(since=NOW - timedelta(hours=2, minutes=30), limit=2)
    # five's running attempt (10 min ago), then hourly's last (an hour ago).
    assert [run["run"] for run in recent] == [world.ids[-1], world.ids[40]]
    assert len(source.runs()) == len(ATTEMPTS)
    assert source.runs(limit=3)[0]["outcome"] == "running"


def test_one_run_with_its_trigger(world: World) -> None:
    run = world.source().run(world.ids[-3])
    assert run is not None
    assert (run["job"], run["outcome"], run["exit_code"], run["trigger"]) == (
        "five",
        "success",
        None,
        None,
    )
    assert run["started"] == utc_text(NOW - timedelta(hours=3))
    assert run["duration"] == 2.0
    assert world.source().run(max(world.ids) + 1) is None


def test_stats_of_all_jobs_since_a_time(world: World) -> None:
    stats = world.source().stats(since=NOW - timedelta(hours=5))
    # hourly n = 35..39 (one failed, n = 36), five's success and timeout.
    assert (stats["runs"], stats["successes"]) == (7, 5)
    assert stats["failures"] == {"failed": 1, "timeout": 1}
    assert stats["per_day"] == {"2026-03-01": {"successes": 5, "failures": 2}}


# -- Logs ----------------------------------------------------------------------------------


def test_a_small_log_is_one_complete_page(world: World) -> None:
    page = world.source().log(world.ids[-3], "stderr")
    assert page == {
        "run": world.ids[-3],
        "stream": "stderr",
        "size": 5,
        "offset": 0,
        "next_offset": 5,
        "text": "oops\n",
        "complete": True,
    }


def test_the_log_of_a_running_attempt_is_not_complete(world: World) -> None:
    page = world.source().log(world.ids[-1], "stdout")
    assert page is not None
    assert (page["text"], page["next_offset"], page["complete"]) == ("going\n", 6, False)


def test_logs_that_are_not_there(world: World) -> None:
    source = world.source()
    assert source.log(max(world.ids) + 1, "stdout") is None
    with pytest.raises(LogNotFoundError, match=f"run {world.ids[0]} has no stdout log"):
        source.log(world.ids[0], "stdout")
    removed = world.state / "logs" / "five-41.stdout"
    removed.unlink()
    with pytest.raises(LogNotFoundError, match="was deleted, not pruned by retention"):
        source.log(world.ids[-3], "stdout")


# A log of 3-byte characters and invalid bytes, in pages.
BIG = ("€uro " * 20000).encode() + b"\xff\xfe broken \xe2\x82 end\n"


@pytest.mark.parametrize("limit", [1, 2, 3, 1000, 65536], ids=lambda n: f"limit-{n}")
def test_pages_join_into_the_whole_log(tmp_path: Path, limit: int) -> None:
    path = tmp_path / "log"
    path.write_bytes(BIG)
    texts, offset = [], 0
    with path.open("rb") as log:
        while offset < len(BIG):
            page = log_page(log.fileno(), offset, limit)
            assert (page["offset"], page["size"]) == (offset, len(BIG))
            assert isinstance(page["next_offset"], int)
            assert offset < page["next_offset"] <= offset + max(limit, 3)
            texts.append(page["text"])
            offset = page["next_offset"]
    assert "".join(texts) == BIG.decode("utf-8", errors="replace")  # type: ignore[arg-type]


def test_the_tail_starts_at_a_character(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes("€".encode() * 10)  # 30 bytes
    with path.open("rb") as log:
        # The last 7 bytes start inside a character: the tail is the last two.
        assert log_page(log.fileno(), None, 7) == {
            "size": 30,
            "offset": 24,
            "next_offset": 30,
            "text": "€€",
        }
        assert log_page(log.fileno(), None, 100)["offset"] == 0
        with pytest.raises(ValueError, match="offset 31 is outside the log, which has 30 bytes"):
            log_page(log.fileno(), 31, 10)


# -- The API over HTTP ---------------------------------------------------------------------


def test_jobs_are_listed_with_their_next_runs(
    tmp_path: Path, serve_web: Callable[[Source], str]
) -> None:
    crontab = tmp_path / "crontab"
    crontab.write_text("# pycron: name=hourly\n0 * * * * true\n*/5 * * * * echo five\n")
    source = file_source(crontab, tmp_path / "state", BERLIN, lambda: NOW)
    jobs = _get_json(serve_web(source) + "/api/jobs")
    assert isinstance(jobs, list)
    by_schedule = {job["schedule"]: job for job in jobs}
    # 11:58 UTC is 12:58 in Berlin (CET): the next whole hour is 13:00 there.
    assert by_schedule["0 * * * *"]["id"] == "hourly"
    assert by_schedule["0 * * * *"]["next"] == "2026-03-01T13:00:00+01:00"
    assert by_schedule["*/5 * * * *"]["next"] == "2026-03-01T13:00:00+01:00"
    assert all(job["last"] is None and not job["running"] for job in jobs)
