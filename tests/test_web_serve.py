"""Serving the status page: `pycron daemon --http` and `pycron web` as real
processes, and the guard in front of the application (token, read-only
methods, security headers) served for real on a loopback port.

A daemon started with `--http 127.0.0.1:0` listens on a free port and logs
the real one in its `http` line, before `ready`; the tests read it there.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from test_daemon import LATER, START_TIMEOUT, Daemon, Sandbox, stop, wait_until

from pycron.cli.serving import Address, parse_address
from pycron.crontab import Entry
from pycron.daemon import Pace
from pycron.errors import UsageError
from pycron.web.app import HOLD, LEAD, MAX_WAIT, ScheduleFirst, create_app
from pycron.web.health import STALL_LIMIT
from pycron.web.server import HttpServer, bind
from pycron.web.source import Source, daemon_source, file_source

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
TOKEN = "s3cret-t0ken"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
EMPTY = hashlib.sha256(b"").hexdigest()
HTTP_LINE = r"^\S+ info +http +url=(http://\S+)$"


@dataclass
class Answer:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def fetch(url: str, method: str = "GET", headers: Mapping[str, str] | None = None) -> Answer:
    """One request; an error status is an answer like any other."""
    request = urllib.request.Request(url, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Answer(error.code, error.headers, error.read())


def page_url(daemon: Daemon) -> str:
    """The page's address, from the daemon's `http` line."""
    return daemon.wait_for(HTTP_LINE).group(1)


def refused(url: str) -> bool:
    """Whether nothing listens at the URL's host and port any more."""
    match = re.match(r"http://([\d.]+):(\d+)/", url)
    assert match is not None, url
    try:
        socket.create_connection((match.group(1), int(match.group(2))), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


# --------------------------------------------------------------------------- the daemon


def test_the_daemon_serves_its_page_from_ready_on(sandbox: Sandbox) -> None:
    sandbox.write(LATER)
    daemon = sandbox.start("--http", "127.0.0.1:0")
    url = page_url(daemon)
    daemon.wait_for(r" ready +jobs=1 due=0$")
    log = daemon.log()
    assert log.index(" http ") < log.index(" ready "), log  # connectable once ready is logged
    assert not url.endswith(":0/"), url  # the port given as 0 is logged as the real one

    health = fetch(url + "healthz")
    assert health.status == 200
    assert health.headers["Content-Type"] == "application/json"
    body = health.json()
    assert isinstance(body, dict)
    assert body["status"] == "ok"
    assert body["daemon"]["reloads"] == {"success": 1, "error": 0}
    assert 0.0 <= body["daemon"]["stalled_for"] < STALL_LIMIT
    jobs = fetch(url + "api/jobs").json()
    assert isinstance(jobs, list)
    assert [job["id"] for job in jobs] == ["later"]
    assert fetch(url + "healthz", method="HEAD").status == 200
    assert stop(daemon) == 0
    assert refused(url)


def test_healthz_counts_the_crontab_loads_by_result(sandbox: Sandbox) -> None:
    sandbox.write(LATER)
    daemon = sandbox.start("--http", "127.0.0.1:0")
    url = page_url(daemon)
    daemon.wait_for(r" ready ")
    sandbox.write(LATER + "61 * * * * true\n")  # an error: its good lines still load
    daemon.wait_for(r" reload +jobs=1 errors=1")
    reloads = fetch(url + "healthz").json()["daemon"]["reloads"]
    assert reloads == {"success": 1, "error": 1}
    sandbox.write(LATER + "# pycron: name=hourly\n0 * * * * true\n")
    daemon.wait_for(r" reload +jobs=2 errors=0")
    reloads = fetch(url + "healthz").json()["daemon"]["reloads"]
    assert reloads == {"success": 2, "error": 1}
    assert stop(daemon) == 0


def test_sigterm_stops_the_server_after_the_drain(sandbox: Sandbox) -> None:
    release = sandbox.root / "release"
    # Every second (its later slots skipped while it runs), so that it starts
    # however long the daemon takes to start on a busy machine.
    sandbox.write(f"# pycron: name=slow\n@every 1s while [ ! -e {release} ]; do sleep 0.05; done\n")
    daemon = sandbox.start("--http", "127.0.0.1:0", "--shutdown-grace", "60")
    url = page_url(daemon)
    wait_until(lambda: sandbox.running("slow"), START_TIMEOUT, "the slow job to start")

    daemon.send(signal.SIGTERM)
    daemon.wait_for(r" drain +running=1 ")
    # While running jobs finish, the page still tells how they do.
    assert fetch(url + "api/jobs").status == 200
    release.touch()
    assert daemon.wait(timeout=30) == 0
    assert refused(url)
    log = daemon.log()
    assert log.index(" drain ") < log.index(" stop "), log


def test_a_token_given_on_loopback_applies_there(sandbox: Sandbox) -> None:
    sandbox.write(LATER)
    daemon = sandbox.start("--http", "127.0.0.1:0", env={"PYCRON_HTTP_TOKEN": TOKEN})
    url = page_url(daemon)
    assert fetch(url + "healthz").status == 401
    assert fetch(url + "healthz?token=wrong").status == 401
    assert fetch(url + "healthz", headers={"Authorization": "Bearer wrong"}).status == 401
    assert fetch(url + "healthz", headers={"Authorization": f"Bearer {TOKEN}"}).status == 200
    assert fetch(url + f"healthz?token={TOKEN}").status == 200
    assert fetch(url + f"api/jobs?token={TOKEN}").status == 200
    assert TOKEN not in daemon.log()
    assert stop(daemon) == 0


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["--http", "0.0.0.0:0"], {}, "--http 0.0.0.0:0: other machines can reach"),
        (["--http", "[::]:0"], {}, "add --http-token TOKEN (or set PYCRON_HTTP_TOKEN)"),
        (["--http", "0.0.0.0:0", "--http-token", ""], {}, "letters, digits and - . _ ~ only"),
        (["--http", "0.0.0.0:0"], {"PYCRON_HTTP_TOKEN": "a+b/c="}, "openssl rand -hex 16"),
        (
            ["--http", "0.0.0.0:0", "--http-insecure"],
            {"PYCRON_HTTP_TOKEN": TOKEN},
            "give one of them",
        ),
        (["--http-token", TOKEN], {}, "go with --http"),
        (["--http-insecure"], {}, "go with --http"),
        (["--http", "example.com:8765"], {}, "'example.com' is not an IP address"),
        (["--http", "127.0.0.1:65536"], {}, "the port must be a number from 0 to 65535"),
        (["--http", "::1:8765"], {}, "is not [HOST]:PORT"),
    ],
    ids=[
        "any-ipv4-without-token",
        "any-ipv6-without-token",
        "empty-token",
        "token-with-signs",
        "token-and-insecure",
        "token-without-http",
        "insecure-without-http",
        "host-name",
        "port-too-high",
        "ipv6-without-brackets",
    ],
)
def test_options_that_cannot_serve_safely_start_nothing(
    sandbox: Sandbox, args: list[str], env: dict[str, str], says: str
) -> None:
    sandbox.write(LATER)
    daemon = sandbox.start(*args, env=env)
    assert daemon.wait(timeout=START_TIMEOUT) == 2
    assert says in daemon.log()
    assert daemon.log().startswith("pycron: error: ")
    assert not sandbox.state.exists()  # not even the state directory was made


def test_a_taken_port_is_an_error_before_the_start(sandbox: Sandbox) -> None:
    sandbox.write(LATER)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        daemon = sandbox.start("--http", f"127.0.0.1:{port}")
        assert daemon.wait(timeout=START_TIMEOUT) == 1
    assert daemon.log() == (
        f"pycron: error: --http 127.0.0.1:{port}: cannot listen there: Address already in "
        "use; another program listens there: stop it, or give another port (0: any free one)\n"
    )
    assert not sandbox.state.exists()


def _without_web(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`pycron ARGS` in a Python where the web extra's Starlette cannot be imported."""
    script = (
        "import sys\n"
        "sys.modules['starlette'] = None  # as if not installed\n"
        "from pycron.cli import main\n"
        f"main({args!r})\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
    )


@pytest.mark.parametrize(
    ("args", "what"),
    [(["daemon", "--http", "127.0.0.1:0"], "--http"), (["web"], "pycron web")],
    ids=["daemon", "web"],
)
def test_without_the_web_extra_serving_says_what_to_install(
    tmp_path: Path, args: list[str], what: str
) -> None:
    done = _without_web(["--state-dir", str(tmp_path / "state"), *args], tmp_path)
    assert done.returncode == 1
    assert done.stderr == (
        f"pycron: error: {what}: the status page needs the web extra (starlette is not "
        "installed): pip install 'pycron-cli[web]'\n"
    )
    assert not (tmp_path / "state").exists()


def test_the_command_line_loads_the_web_part_only_to_serve() -> None:
    web = "{'pycron.web', 'starlette', 'uvicorn'}"
    probe = f"import sys, pycron.cli.app; print(sorted({web} & set(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


# --------------------------------------------------------------------------- pycron web


def _digest(directory: Path) -> dict[str, str]:
    """Every file under a directory, by relative path, with a hash of its bytes."""
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_pycron_web_serves_a_copied_history_read_only(
    sandbox: Sandbox, web_process: Callable[..., tuple[subprocess.Popen[str], str]]
) -> None:
    sandbox.write("# pycron: name=tick\n@every 1s echo tick\n")
    daemon = sandbox.start()
    wait_until(lambda: len(sandbox.ended("tick")) >= 2, START_TIMEOUT, "two runs of the tick")
    assert stop(daemon) == 0
    last_run = sandbox.ended("tick")[-1].id
    copy = sandbox.root / "copied-state"
    shutil.copytree(sandbox.state, copy)
    before = _digest(copy)
    assert "history.db" in before

    process, url = web_process(
        "--crontab", str(sandbox.crontab), "--state-dir", str(copy), "--http", "127.0.0.1:0"
    )
    health = fetch(url + "healthz")
    assert (health.status, health.json()) == (200, {"status": "ok", "daemon": None})
    (job,) = fetch(url + "api/jobs").json()
    assert (job["id"], job["last"]["run"], job["running"]) == ("tick", last_run, False)
    assert fetch(url + "api/jobs", method="POST").status == 405

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert process.stdout is not None
    assert process.stdout.read() == ""  # stdout stays for data
    assert refused(url)
    after = _digest(copy)
    assert {name: after[name] for name in before} == before  # history.db byte for byte
    # Beside it, at most the files every SQLite reader of a database in WAL
    # mode keeps where it may: an empty log, and the index of a log.
    added = {name: after[name] for name in set(after) - set(before)}
    assert set(added) <= {"history.db-wal", "history.db-shm"}
    assert added.get("history.db-wal", EMPTY) == EMPTY


def test_pycron_web_needs_a_token_off_loopback(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pycron", "web", "--http", "0.0.0.0:0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "add --http-token TOKEN" in done.stderr


# --------------------------------------------------------------------------- the guard


class Servers:
    """Applications served on free loopback ports of this process; what
    their servers report is kept in `reports`."""

    def __init__(self, root: Path) -> None:
        self.crontab = root / "crontab"
        self.crontab.write_text("# pycron: name=hourly\n0 * * * * true\n")
        self.state = root / "state"
        self.servers: list[HttpServer] = []
        self.reports: list[tuple[str, str]] = []

    def start(self, token: str | None = None, source: Source | None = None) -> str:
        """Serve `source` (default: a crontab with one job and no history),
        with or without a token; returns the base URL."""
        source = source or file_source(self.crontab, self.state, timezone.utc, lambda: NOW)
        app = create_app(source, token=token)
        server = HttpServer(app, bind("127.0.0.1", 0), self._report)
        server.start()
        self.servers.append(server)
        return server.url

    def _report(self, level: str, message: str) -> None:
        self.reports.append((level, message))

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Servers]:
    servers = Servers(tmp_path)
    try:
        yield servers
    finally:
        servers.stop()


def port_of(url: str) -> str:
    return url.rstrip("/").rsplit(":", 1)[1]


AUTH_CASES = [
    # (what the request shows, the status expected)
    ({}, "", 401),
    ({"Authorization": "Bearer wrong"}, "", 401),
    ({"Authorization": f"Basic {TOKEN}"}, "", 401),
    ({"Authorization": f"Bearer {TOKEN}x"}, "", 401),
    ({}, "?token=wrong", 401),
    ({}, f"?token={TOKEN[:-1]}", 401),
    ({"Cookie": "pycron-{port}=forged"}, "", 401),
    ({"Authorization": f"Bearer {TOKEN}"}, "", 200),
    ({"Authorization": f"bearer {TOKEN}"}, "", 200),
    ({}, f"?token={TOKEN}", 200),
    ({}, f"?limit=5&token={TOKEN}", 200),
]


@pytest.mark.parametrize(
    ("headers", "query", "status"),
    AUTH_CASES,
    ids=[
        "nothing",
        "wrong-bearer",
        "basic-scheme",
        "longer-token",
        "wrong-query",
        "shorter-query",
        "forged-cookie",
        "bearer",
        "bearer-lower-case",
        "query",
        "query-among-others",
    ],
)
def test_with_a_token_only_those_who_show_it_are_served(
    served: Servers, headers: dict[str, str], query: str, status: int
) -> None:
    url = served.start(token=TOKEN)
    shown = {name: value.format(port=port_of(url)) for name, value in headers.items()}
    for path in ("healthz", "api/jobs", "no-such-page"):
        answer = fetch(url + path + query, headers=shown)
        expected = 404 if status == 200 and path == "no-such-page" else status
        assert answer.status == expected, (path, answer.body)
        if status == 401:
            assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="pycron"')
            assert b"Authorization: Bearer TOKEN" in answer.body
            assert b"hourly" not in answer.body
            if path.startswith("api/"):  # the API's errors are all JSON
                assert "Authorization: Bearer TOKEN" in answer.json()["error"]


def test_a_wrong_token_is_told_apart_from_none(served: Servers) -> None:
    url = served.start(token=TOKEN)
    assert fetch(url + "healthz").headers["WWW-Authenticate"] == 'Bearer realm="pycron"'
    wrong = fetch(url + "healthz?token=wrong").headers["WWW-Authenticate"]
    assert wrong == 'Bearer realm="pycron", error="invalid_token"'


def test_a_page_opened_with_the_token_lets_its_links_in(served: Servers) -> None:
    url = served.start(token=TOKEN)
    port = port_of(url)
    opened = fetch(url + f"api/jobs?token={TOKEN}")
    assert opened.status == 200
    cookie = opened.headers["Set-Cookie"]
    name, _, rest = cookie.partition("=")
    value, *attributes = rest.split("; ")
    assert name == f"pycron-{port}"  # one per server: two pycrons on one host keep theirs
    assert TOKEN not in cookie  # it stands for the token without holding it
    assert set(attributes) == {"Path=/", "HttpOnly", "SameSite=Strict"}
    # A link of the page, without the token, with the cookie the browser keeps:
    assert fetch(url + "healthz", headers={"Cookie": f"{name}={value}"}).status == 200
    assert fetch(url + "healthz", headers={"Cookie": f"other=1; {name}={value}"}).status == 200
    # A bearer token makes no cookie (programs need none).
    bearer = fetch(url + "healthz", headers={"Authorization": f"Bearer {TOKEN}"})
    assert bearer.headers["Set-Cookie"] is None
    # The cookie of a server with another token does not open this one.
    other = served.start(token="another token")
    forged = {"Cookie": f"pycron-{port_of(other)}={value}"}
    assert fetch(other + "healthz", headers=forged).status == 401


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
@pytest.mark.parametrize("token", [None, TOKEN], ids=["open", "token"])
def test_only_get_and_head_are_served(served: Servers, method: str, token: str | None) -> None:
    url = served.start(token=token)
    shown = {"Authorization": f"Bearer {TOKEN}"} if token else {}
    for path in ("healthz", "api/jobs", "no-such-page"):
        answer = fetch(url + path, method=method, headers=shown)
        assert answer.status == 405, (path, method)
        assert answer.headers["Allow"] == "GET, HEAD"
        said = f"{method} is not allowed: this server is read-only (GET and HEAD)"
        if path.startswith(("api/", "healthz")):
            assert answer.json() == {"error": said}
        else:
            assert answer.body.decode() == f"405 {said}\n"
    assert fetch(url + "api/jobs", method="HEAD", headers=shown).status == 200


@pytest.mark.parametrize(
    ("token", "path", "method", "status"),
    [
        (None, "healthz", "GET", 200),
        (None, "no-such-page", "GET", 404),
        (None, "healthz", "POST", 405),
        (TOKEN, "healthz", "GET", 401),
    ],
    ids=["ok", "not-found", "not-allowed", "unauthorized"],
)
def test_every_answer_carries_the_security_headers(
    served: Servers, token: str | None, path: str, method: str, status: int
) -> None:
    answer = fetch(served.start(token=token) + path, method=method)
    assert answer.status == status
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers[name] == value, name
    policy = [part.strip() for part in answer.headers["Content-Security-Policy"].split(";")]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert not any("unsafe-inline" in part or "unsafe-eval" in part for part in policy)


def test_a_request_that_fails_is_reported_and_answered_500(served: Servers, tmp_path: Path) -> None:
    def broken() -> dict[str, Entry]:
        raise OSError("the disk is gone")

    source = Source(tmp_path, broken, dict, timezone.utc, lambda: NOW)
    url = served.start(source=source)
    assert fetch(url + "api/jobs").status == 500
    # Starlette answers 500 before the error reaches the report: wait for it.
    wait_until(lambda: served.reports, 10, "the failure's report")
    assert served.reports == [("error", "GET /api/jobs: OSError: the disk is gone")]
    assert fetch(url + "healthz").status == 200  # and it serves on


# --------------------------------------------------------------------------- /healthz


@dataclass
class Loop:
    """A daemon as the page sees it: stuck for `stalled` seconds, starting a
    job next at `start`."""

    stalled: float = 0.0
    start: datetime | None = None

    def entries(self) -> dict[str, Entry]:
        return {}

    def next_fires(self) -> Mapping[str, datetime | None]:
        return {}

    def stalled_for(self) -> float:
        return self.stalled

    def reload_counts(self) -> Mapping[str, int]:
        return {"success": 3, "error": 1}

    def next_start(self) -> datetime | None:
        return self.start


@pytest.mark.parametrize(
    ("stalled", "status", "word"),
    [(0.0, 200, "ok"), (29.5, 200, "ok"), (30.0, 200, "ok"), (30.5, 503, "stalled")],
)
def test_healthz_fails_once_the_loop_is_stuck_for_30_seconds(
    served: Servers, tmp_path: Path, stalled: float, status: int, word: str
) -> None:
    loop = Loop(stalled=stalled)
    source = daemon_source(loop, tmp_path, timezone.utc, lambda: NOW)
    answer = fetch(served.start(source=source) + "healthz")
    assert answer.status == status
    assert answer.json() == {
        "status": word,
        "daemon": {"stalled_for": stalled, "reloads": {"success": 3, "error": 1}},
    }


# --------------------------------------------------------------------------- the schedule first

# (a start this far after the request came, in seconds; how long the request waits)
WAIT_CASES = [
    (None, 0.0),  # nothing planned
    (LEAD + 0.5, 0.0),  # far enough
    (LEAD, LEAD + HOLD),  # just near
    (LEAD / 2, LEAD / 2 + HOLD),
    (0.0, HOLD),  # due now: until the jobs have started
    (-HOLD / 2, HOLD / 2),  # due a moment ago, the daemon at work
    (-HOLD, 0.0),  # long enough ago: a late daemon does not hold the page up
    (-60.0, 0.0),
]


@pytest.mark.parametrize(("ahead", "wait"), WAIT_CASES)
def test_a_request_near_a_planned_start_waits_for_it(
    tmp_path: Path, ahead: float | None, wait: float
) -> None:
    start = None if ahead is None else NOW + timedelta(seconds=ahead)
    source = daemon_source(Loop(start=start), tmp_path, timezone.utc, lambda: NOW)
    gate = ScheduleFirst(create_app(source), source)
    assert gate._pause() == pytest.approx(wait)


def test_a_request_before_a_start_is_answered_after_it(served: Servers, tmp_path: Path) -> None:
    def clock() -> datetime:
        return datetime.now(timezone.utc)

    loop = Loop()
    url = served.start(source=daemon_source(loop, tmp_path, timezone.utc, clock))
    loop.start = clock() + timedelta(seconds=LEAD / 2)
    asked = clock()
    assert fetch(url + "healthz").status == 200
    assert clock() >= loop.start + timedelta(seconds=HOLD)
    assert clock() - asked < timedelta(seconds=MAX_WAIT + 10)  # and it does not wait forever


class Monotonic:
    """A monotonic clock that moves only when told."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


PACE_CASES = [
    # (what the loop does, each at a time, when asked, stalled for)
    ([], 100.0, 0.0),
    ([], 104.0, 4.0),  # made, not turning yet: stuck since then
    ([("turning", 110.0)], 110.0, 0.0),
    ([("turning", 110.0)], 112.5, 2.5),  # a turn that takes long is a stall
    ([("turning", 110.0), ("sleeping", 110.1, 2.0)], 111.0, 0.0),
    ([("turning", 110.0), ("sleeping", 110.1, 2.0)], 112.1, 0.0),  # just due
    ([("turning", 110.0), ("sleeping", 110.1, 2.0)], 145.1, 33.0),  # overslept
    ([("sleeping", 110.0, 2.0), ("turning", 150.0)], 150.0, 0.0),  # woke late, turns again
    ([("sleeping", 110.0, 0.0)], 110.0, 0.0),
]


@pytest.mark.parametrize(
    ("steps", "asked", "expected"),
    PACE_CASES,
    ids=[
        "made",
        "made-long-ago",
        "turn-begins",
        "long-turn",
        "asleep",
        "wake-up-due",
        "overslept",
        "turning-again",
        "no-sleep",
    ],
)
def test_the_loop_is_stalled_while_it_works_or_oversleeps(
    steps: list[tuple[object, ...]], asked: float, expected: float
) -> None:
    clock = Monotonic()
    pace = Pace(clock)
    for step in steps:
        what, moment, *seconds = step
        assert isinstance(moment, float)
        clock.now = moment
        if what == "turning":
            pace.turning()
        else:
            (pause,) = seconds
            assert isinstance(pause, float)
            pace.sleeping(pause)
    clock.now = asked
    assert pace.stalled_for() == pytest.approx(expected)


# --------------------------------------------------------------------------- addresses


@pytest.mark.parametrize(
    ("text", "address", "loopback"),
    [
        ("8765", ("127.0.0.1", 8765), True),
        (":8765", ("127.0.0.1", 8765), True),
        ("localhost:80", ("127.0.0.1", 80), True),
        ("127.0.0.1:0", ("127.0.0.1", 0), True),
        ("127.1.2.3:8765", ("127.1.2.3", 8765), True),
        ("[::1]:8765", ("::1", 8765), True),
        ("[0:0:0:0:0:0:0:1]:8765", ("::1", 8765), True),
        ("0.0.0.0:8765", ("0.0.0.0", 8765), False),
        ("[::]:8765", ("::", 8765), False),
        ("192.168.1.10:65535", ("192.168.1.10", 65535), False),
    ],
)
def test_an_address_is_read_as_host_and_port(
    text: str, address: tuple[str, int], loopback: bool
) -> None:
    read = parse_address(text)
    assert read == Address(*address)
    assert read.loopback is loopback


@pytest.mark.parametrize(
    "text",
    [
        *["", ":", "host", "127.0.0.1", "127.0.0.1:", "127.0.0.1:http", "1.2.3.4:-1"],
        *["[127.0.0.1]:80", "::1:80", "[::1]", "[::1:80", "example.com:80", "1.2.3.4:99999"],
        "256.0.0.1:80",
    ],
)
def test_an_address_that_cannot_be_read_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError):
        parse_address(text)


@pytest.mark.parametrize(
    ("address", "shown"),
    [(Address("127.0.0.1", 8765), "127.0.0.1:8765"), (Address("::1", 80), "[::1]:80")],
)
def test_an_address_shows_as_it_is_written(address: Address, shown: str) -> None:
    assert str(address) == shown


def test_an_ipv6_server_shows_a_url_with_brackets(served: Servers) -> None:
    try:
        bind("::1", 0).close()
    except OSError:
        pytest.skip("this machine has no IPv6 loopback")
    source = file_source(served.crontab, served.state, timezone.utc, lambda: NOW)
    server = HttpServer(create_app(source), bind("::1", 0))
    server.start()
    try:
        assert re.fullmatch(r"http://\[::1\]:\d+/", server.url), server.url
        assert fetch(server.url + "healthz").status == 200
    finally:
        server.stop()
