"""The web application's data and its JSON API: the `Source` a page and the
API read (over a real history), then the API served for real on a loopback
port, checked against its own OpenAPI document and against the CLI."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from starlette.routing import Mount, Route

from pycron.errors import LogNotFoundError
from pycron.records import Outcome, RunResult
from pycron.store.sqlite import SQLiteStore
from pycron.web import health
from pycron.web.api import document, routes
from pycron.web.app import create_app
from pycron.web.server import HttpServer, bind
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
            started = NOW - attempt.ago
            result = RunResult(
                job_id=attempt.job,
                scheduled_for=started,
                attempt=1,
                outcome=Outcome.RUNNING,
                started=started,
                stdout_path=_log(logs / attempt.job / f"{number}.out", attempt.stdout),
                stderr_path=_log(logs / attempt.job / f"{number}.err", attempt.stderr),
                pid=os.getpid() if attempt.seconds is None else None,
            )
            record_id = history.started(result)
            if attempt.seconds is not None:
                finished = started + timedelta(seconds=attempt.seconds)
                history.finished(
                    record_id, result._replace(outcome=attempt.outcome, finished=finished)
                )
            ids.append(record_id)
    return ids


def _log(path: Path, content: bytes | None) -> Path | None:
    """A log file with this content (None: none)."""
    if content is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


@pytest.fixture
def world(tmp_path: Path) -> World:
    crontab = tmp_path / "crontab"
    crontab.write_text(CRONTAB)
    state = tmp_path / "state"
    return World(crontab, state, record(state, ATTEMPTS))


def utc_text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat()


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
    five = overview["five"]["recent"]
    assert isinstance(five, list)
    assert [item["outcome"] for item in five] == [
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
    removed = world.state / "logs" / "five" / "41.out"
    removed.unlink()
    with pytest.raises(LogNotFoundError, match="was deleted, not pruned by retention"):
        source.log(world.ids[-3], "stdout")


def test_a_copied_history_finds_its_logs_in_its_state_directory(world: World) -> None:
    copy = world.state.parent / "copy"
    shutil.copytree(world.state, copy)
    shutil.rmtree(world.state / "logs")
    source = file_source(world.crontab, copy, BERLIN, lambda: NOW)
    run = source.run(world.ids[-3])
    assert run is not None
    assert run["stdout"] == str(world.state / "logs" / "five" / "41.out")  # as recorded
    page = source.log(world.ids[-3], "stderr")
    assert page is not None
    assert page["text"] == "oops\n"


# A log of 3-byte characters and invalid bytes, in pages.
BIG = ("€uro " * 20000).encode() + b"\xff\xfe broken \xe2\x82 end\n"


@pytest.mark.parametrize("limit", [1, 2, 3, 1000, 65536], ids=lambda n: f"limit-{n}")
def test_pages_join_into_the_whole_log(tmp_path: Path, limit: int) -> None:
    path = tmp_path / "log"
    path.write_bytes(BIG)
    texts: list[str] = []
    offset = 0
    with path.open("rb") as log:
        while offset < len(BIG):
            page = log_page(log.fileno(), offset, limit)
            assert (page["offset"], page["size"]) == (offset, len(BIG))
            assert isinstance(page["next_offset"], int)
            assert offset < page["next_offset"] <= offset + max(limit, 3)
            texts.append(str(page["text"]))
            offset = page["next_offset"]
    assert "".join(texts) == BIG.decode("utf-8", errors="replace")


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

DOCUMENT = document()
DOCUMENT_URI = "urn:pycron:openapi"
REGISTRY: Registry[object] = Registry().with_resource(
    DOCUMENT_URI, Resource.from_contents(DOCUMENT, default_specification=DRAFT202012)
)


def get(url: str, method: str = "GET") -> tuple[int, Any]:
    """The status and JSON body of a request (errors included)."""
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, body, kind = response.status, response.read(), response.headers["Content-Type"]
    except urllib.error.HTTPError as error:
        with error:
            status, body, kind = error.code, error.read(), error.headers["Content-Type"]
    assert kind == "application/json"
    return status, json.loads(body)


def pointer(*parts: str) -> str:
    """A JSON pointer (RFC 6901) to a place in the document."""
    return "#/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def response_validator(path: str, status: int) -> Draft202012Validator:
    """A validator of what the document says `GET path` answers with `status`
    (which it must declare), its references resolved in the document."""
    response = DOCUMENT["paths"][path]["get"]["responses"][str(status)]
    place = ("paths", path, "get", "responses", str(status))
    if "$ref" in response:  # a shared response of the components
        place = tuple(response["$ref"].removeprefix("#/").split("/"))
    schema = {"$ref": DOCUMENT_URI + pointer(*place, "content", "application/json", "schema")}
    return Draft202012Validator(schema, registry=REGISTRY, format_checker=FormatChecker())


@pytest.fixture
def api(world: World, serve_web: Callable[[Source], str]) -> str:
    """The API of the world's source, served; its base URL."""
    return serve_web(world.source())


# The run ids of the world (records are numbered from 1 in a new history).
RUN_IDS = {
    "old": 1,  # OLD: failed, no log files
    "ok": len(ATTEMPTS) - 2,  # five's success, with a stdout and a stderr
    "running": len(ATTEMPTS),
    "missing": len(ATTEMPTS) + 1,
}
# (url, path of the document, status, what an error message says)
HTTP_CASES = {
    "jobs": ("/api/jobs", "/api/jobs", 200, None),
    "a job": ("/api/jobs/hourly", "/api/jobs/{id}", 200, None),
    "a job off the clock": ("/api/jobs/boot", "/api/jobs/{id}", 200, None),
    "an unknown job": ("/api/jobs/nope", "/api/jobs/{id}", 404, "no job 'nope' in the crontab"),
    "runs": ("/api/runs", "/api/runs", 200, None),
    "runs filtered": (
        "/api/runs?job=five&outcome=timeout&since=2026-03-01T00:00&limit=5",
        "/api/runs",
        200,
        None,
    ),
    "runs of an unknown job": ("/api/runs?job=nope", "/api/runs", 404, "no job 'nope'"),
    "runs: limit 0": (
        "/api/runs?limit=0",
        "/api/runs",
        400,
        "limit: '0' is not a whole number from 1 to 1000",
    ),
    "runs: limit too big": ("/api/runs?limit=1001", "/api/runs", 400, "limit: '1001' is not"),
    "runs: limit not a number": ("/api/runs?limit=ten", "/api/runs", 400, "limit: 'ten' is not"),
    "runs: unknown outcome": (
        "/api/runs?outcome=fine",
        "/api/runs",
        400,
        "outcome: 'fine' is not one of queued, running, success, failed",
    ),
    "runs: bad since": (
        "/api/runs?since=yesterday",
        "/api/runs",
        400,
        "since: 'yesterday' is neither a duration (7d, 12h) nor an ISO 8601 time",
    ),
    "a run": ("/api/runs/{ok}", "/api/runs/{id}", 200, None),
    "an unknown run": (
        "/api/runs/{missing}",
        "/api/runs/{id}",
        404,
        "no run {missing} in the history",
    ),
    "a log's tail": ("/api/runs/{ok}/log", "/api/runs/{id}/log", 200, None),
    "a page of stderr": (
        "/api/runs/{ok}/log?stream=stderr&offset=1&limit=2",
        "/api/runs/{id}/log",
        200,
        None,
    ),
    "a log being written": ("/api/runs/{running}/log", "/api/runs/{id}/log", 200, None),
    "a log never written": (
        "/api/runs/{old}/log",
        "/api/runs/{id}/log",
        404,
        "run {old} has no stdout log: it did not run (failed)",
    ),
    "the log of an unknown run": (
        "/api/runs/{missing}/log",
        "/api/runs/{id}/log",
        404,
        "no run {missing}",
    ),
    "log: bad stream": (
        "/api/runs/{ok}/log?stream=both",
        "/api/runs/{id}/log",
        400,
        "stream: 'both' is not one of stdout, stderr",
    ),
    "log: negative offset": (
        "/api/runs/{ok}/log?offset=-1",
        "/api/runs/{id}/log",
        400,
        "offset: '-1' is not a whole number of 0 or more",
    ),
    "log: offset past the end": (
        "/api/runs/{ok}/log?offset=6",
        "/api/runs/{id}/log",
        400,
        "offset: offset 6 is outside the log, which has 5 bytes",
    ),
    "log: limit 0": (
        "/api/runs/{ok}/log?limit=0",
        "/api/runs/{id}/log",
        400,
        "limit: '0' is not a whole number from 1 to 1048576",
    ),
    "stats": ("/api/stats", "/api/stats", 200, None),
    "stats of a job since": ("/api/stats?job=hourly&since=7d", "/api/stats", 200, None),
    "stats: bad since": ("/api/stats?since=7x", "/api/stats", 400, "since: '7x' is neither"),
    "stats of an unknown job": ("/api/stats?job=nope", "/api/stats", 404, "no job 'nope'"),
    "the document": ("/api/openapi.json", "/api/openapi.json", 200, None),
}


@pytest.mark.parametrize(
    ("url", "path", "status", "says"), HTTP_CASES.values(), ids=HTTP_CASES.keys()
)
def test_every_answer_is_as_the_document_says(
    api: str, url: str, path: str, status: int, says: str | None
) -> None:
    answered, body = get(api + url.format(**RUN_IDS))
    assert answered == status, body
    response_validator(path, status).validate(body)
    if says is not None:
        assert says.format(**RUN_IDS) in body["error"]


def test_the_document_describes_every_route_and_outcome(world: World) -> None:
    (mount,) = routes(world.source())
    assert isinstance(mount, Mount)
    paths = ["/api" + route.path for route in mount.routes if isinstance(route, Route)]
    paths += [route.path for route in health.routes(world.source()) if isinstance(route, Route)]
    served = {re.sub(r"\{\w+(:\w+)?\}", "{}", path) for path in paths}
    described = {re.sub(r"\{\w+\}", "{}", path) for path in DOCUMENT["paths"]}
    assert served == described
    schemas = DOCUMENT["components"]["schemas"]
    assert schemas["Outcome"]["enum"] == [outcome.value for outcome in Outcome]
    Draft202012Validator.check_schema({"$defs": schemas})
    assert {"Job", "Run", "LogPage", "Stats", "Error"} <= set(schemas)


def test_the_health_check_without_a_daemon_is_as_the_document_says(api: str) -> None:
    status, body = get(api + "/healthz")
    assert (status, body) == (200, {"status": "ok", "daemon": None})
    response_validator("/healthz", 200).validate(body)
    assert not response_validator("/healthz", 200).is_valid({"status": "fine", "daemon": None})


@pytest.mark.parametrize("path", ["/api/jobs", "/api/runs/{id}", "/api/openapi.json", "/healthz"])
def test_a_request_without_the_token_is_refused_as_the_document_says(
    world: World, path: str
) -> None:
    server = HttpServer(create_app(world.source(), token="the-token"), bind("127.0.0.1", 0))
    server.start()
    try:
        host, port = server.address
        base = f"http://{host}:{port}"
        status, body = get(base + path.format(id=RUN_IDS["ok"]))
        assert status == 401
        response_validator(path, 401).validate(body)
        with_token = base + path.format(id=RUN_IDS["ok"]) + "?token=the-token"
        assert get(with_token)[0] == 200
    finally:
        server.stop()


def test_a_schema_check_can_fail(api: str) -> None:
    status, run = get(api + f"/api/runs/{RUN_IDS['ok']}")
    assert status == 200
    validator = response_validator("/api/runs/{id}", 200)
    validator.validate(run)
    spoilt = {
        "a field missing": {key: value for key, value in run.items() if key != "outcome"},
        "a field not described": {**run, "colour": "green"},
        "a wrong type": {**run, "attempt": "1"},
        "an unknown outcome": {**run, "outcome": "fine"},
        "a time without offset": {**run, "started": "2026-03-01T08:58:00"},
    }
    for why, body in spoilt.items():
        assert not validator.is_valid(body), why
    _, stats = get(api + "/api/stats")
    stats_validator = response_validator("/api/stats", 200)
    assert not stats_validator.is_valid(
        {**stats, "per_day": {"yesterday": {"successes": 1, "failures": 0}}}
    )


def test_the_api_answers_with_what_was_recorded(api: str, world: World) -> None:
    _, runs = get(api + "/api/runs?job=five")
    logs = world.state / "logs"
    assert [
        (run["run"], run["outcome"], run["started"], run["duration"], run["stdout"]) for run in runs
    ] == [
        (44, "running", utc_text(NOW - timedelta(minutes=10)), None, str(logs / "five" / "43.out")),
        (43, "timeout", utc_text(NOW - timedelta(hours=2)), 60.0, str(logs / "five" / "42.out")),
        (42, "success", utc_text(NOW - timedelta(hours=3)), 2.0, str(logs / "five" / "41.out")),
    ]
    _, job = get(api + "/api/jobs/hourly")
    assert (job["success_rate_7d"], len(job["recent"]), job["recent"][-1]["run"]) == (0.75, 30, 41)
    _, stats = get(api + "/api/stats?job=five")
    assert (stats["runs"], stats["successes"], stats["failures"]) == (2, 1, {"timeout": 1})
    _, page = get(api + f"/api/runs/{RUN_IDS['ok']}/log?stream=stderr&offset=1&limit=2")
    assert page == {
        "run": RUN_IDS["ok"],
        "stream": "stderr",
        "size": 5,
        "offset": 1,
        "next_offset": 3,
        "text": "op",
        "complete": False,
    }


def test_a_large_log_in_pages(api: str, world: World) -> None:
    (world.state / "logs" / "five" / "41.out").write_bytes(BIG)
    url = api + f"/api/runs/{RUN_IDS['ok']}/log"
    _, tail = get(url)
    # The last 64 KiB, from the first character that starts in them.
    start = len(BIG) - 65536
    while BIG[start] & 0xC0 == 0x80:
        start += 1
    assert (tail["offset"], tail["next_offset"], tail["size"]) == (start, len(BIG), len(BIG))
    assert tail["text"] == BIG[start:].decode("utf-8", errors="replace")
    texts, offset = [], 0
    for _ in range(10):
        _, page = get(url + f"?offset={offset}")
        texts.append(page["text"])
        offset = page["next_offset"]
        if page["complete"]:
            break
    assert offset == len(BIG)
    assert len(texts) == 3  # 137 KiB in pages of 64 KiB
    assert "".join(texts) == BIG.decode("utf-8", errors="replace")
    assert "".join(texts).endswith("\ufffd\ufffd broken \ufffd end\n")


def test_the_api_is_read_only_and_speaks_json(api: str) -> None:
    status, body = get(api + "/api/jobs", method="POST")
    assert status == 405
    assert body == {"error": "POST is not allowed: this server is read-only (GET and HEAD)"}
    status, body = get(api + "/api/nothing")
    assert status == 404
    assert body == {"error": "no /api/nothing here: see /api/openapi.json for the API's paths"}
    status, body = get(api + "/api/runs/one")
    assert status == 404


def test_jobs_are_listed_with_their_next_runs(
    tmp_path: Path, serve_web: Callable[[Source], str]
) -> None:
    crontab = tmp_path / "crontab"
    crontab.write_text("# pycron: name=hourly\n0 * * * * true\n*/5 * * * * echo five\n")
    source = file_source(crontab, tmp_path / "state", BERLIN, lambda: NOW)
    _, jobs = get(serve_web(source) + "/api/jobs")
    assert isinstance(jobs, list)
    by_schedule = {job["schedule"]: job for job in jobs}
    # 11:58 UTC is 12:58 in Berlin (CET): the next whole hour is 13:00 there.
    assert by_schedule["0 * * * *"]["id"] == "hourly"
    assert by_schedule["0 * * * *"]["next"] == "2026-03-01T13:00:00+01:00"
    assert by_schedule["*/5 * * * *"]["next"] == "2026-03-01T13:00:00+01:00"
    assert all(job["last"] is None and not job["running"] for job in jobs)


# -- The API and the command line ----------------------------------------------------------


def cli(world: World, *args: str) -> Any:
    """The JSON a `pycron` command prints, on the world's crontab and state,
    in Berlin's zone."""
    env = {
        **os.environ,
        "PYCRON_CRONTAB": str(world.crontab),
        "PYCRON_STATE_DIR": str(world.state),
        "TZ": "Europe/Berlin",
    }
    done = subprocess.run(
        [sys.executable, "-m", "pycron", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_api_and_the_command_line_say_the_same(
    world: World, serve_web: Callable[[Source], str]
) -> None:
    # On the real clock, as the command line reads it.
    api = serve_web(
        file_source(world.crontab, world.state, BERLIN, lambda: datetime.now(timezone.utc))
    )
    _, runs = get(api + "/api/runs?limit=1000")
    assert runs == cli(world, "history", "--limit", "1000")
    since = "2026-03-01T08:00:00+01:00"
    _, some = get(api + "/api/runs?job=hourly&outcome=success&since=" + urllib.parse.quote(since))
    assert some == cli(world, "history", "hourly", "--outcome", "success", "--since", since)
    assert len(some) == 3  # n = 37, 38, 39 started from 07:00 UTC on; n = 36 failed
    _, stats = get(api + "/api/stats")
    assert stats == cli(world, "stats")
    _, stats = get(api + "/api/stats?job=hourly&since=" + urllib.parse.quote(since))
    assert stats == cli(world, "stats", "hourly", "--since", since)
    # A next run may pass between two looks: the command's look is the same as one of the API's.
    _, before = get(api + "/api/jobs")
    status = cli(world, "status")
    _, after = get(api + "/api/jobs")
    assert status in (
        [{key: job[key] for key in STATUS_FIELDS} for job in jobs] for jobs in (before, after)
    )


STATUS_FIELDS = ("id", "schedule", "enabled", "running", "queued", "next", "last")
