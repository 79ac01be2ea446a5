"""Shared test configuration: hypothesis profiles, and the fixtures that many
modules share (a sandbox of daemons, `pycron web` processes, the run stores
of both backends).

`ci` is deterministic (derandomized, failing examples printed as blobs) so that a CI run
is reproducible; `dev` draws fresh examples each run. The `CI` environment variable picks
the profile.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import psycopg
import pytest
from backends import (
    POSTGRES_URL,
    Backend,
    PostgresBackend,
    PostgresServer,
    SQLiteBackend,
    server_absent,
)
from hypothesis import settings
from test_daemon import START_TIMEOUT, Sandbox, wait_until

from pycron.runner import Supervision, supervise
from pycron.web.source import Source

# Modules whose tests share what a module fixture makes once (a browser on a
# daemon's page, a history of real runs): with workers, each runs whole in one.
WHOLE_MODULES = frozenset(("tests/test_browser.py", "tests/test_pages.py"))

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=200, print_blob=True)
settings.register_profile("dev", deadline=None, max_examples=200)
settings.load_profile("ci" if "CI" in os.environ else "dev")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """With workers (`make test`: pytest-xdist's `-n`, `--dist load`), tests
    are handed out one at a time as workers free up, but each of WHOLE_MODULES
    as one piece. (xdist_group marks would say so, but reach the scheduler
    only through test ids, which pytest no longer lets plugins rename.)"""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadGroupScheduling  # noqa: PLC0415 - only with workers

    class WholeModules(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in WHOLE_MODULES else nodeid

    return WholeModules(config, log)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _private_homes(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads or writes the real user's crontab or state: the default
    locations point into a fresh temporary directory."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.delenv("PYCRON_CRONTAB", raising=False)
    monkeypatch.delenv("PYCRON_STATE_DIR", raising=False)


@pytest.fixture(scope="session")
def supervision() -> Supervision:
    """This process prepared to supervise jobs as the daemon and `run-now` do at
    start (subreaper, a cgroup per run where possible): once, as they do."""
    return supervise()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """A crontab, a state directory and the daemons of one test (see
    test_daemon.Sandbox); every daemon and job it started is ended after."""
    box = Sandbox(tmp_path)
    try:
        yield box
    finally:
        box.cleanup()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test's report ends with the logs of the daemons its sandbox
    started: what a daemon did is what a timed-out wait needs explained."""
    report = yield
    box = getattr(item, "funcargs", {}).get("sandbox")
    if report.failed and isinstance(box, Sandbox):
        for number, daemon in enumerate(box.daemons):
            report.sections.append((f"daemon {number} log", daemon.log()))
    return report


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A job's home (its working directory) inside the test's directory."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def serve_web() -> Iterator[Callable[[Source], str]]:
    """Serve a source's web application on a free loopback port, from a
    thread, as the daemon does; returns its base URL. Stopped after the test."""
    from pycron.web.app import create_app  # noqa: PLC0415 - the optional web extra
    from pycron.web.server import HttpServer, bind  # noqa: PLC0415

    servers: list[HttpServer] = []

    def serve(source: Source) -> str:
        server = HttpServer(create_app(source), bind("127.0.0.1", 0))
        server.start()
        servers.append(server)
        host, port = server.address
        return f"http://{host}:{port}"

    yield serve
    for server in servers:
        server.stop()


@pytest.fixture
def web_process(tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen[str], str]]]:
    """Start `pycron web ARGS`; returns the process and the URL it says it
    serves. Every process started is ended after the test."""
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> tuple[subprocess.Popen[str], str]:
        stderr = tmp_path / f"web-{len(started)}.stderr"
        with stderr.open("w") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "pycron", "web", *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                cwd=tmp_path,
            )
        started.append(process)

        def said() -> str | None:
            match = re.search(r"^pycron: serving (http://\S+) read-only", stderr.read_text(), re.M)
            if match is None and process.poll() is not None:
                raise AssertionError(f"pycron web exited: {stderr.read_text()}")
            return match.group(1) if match else None

        return process, wait_until(said, START_TIMEOUT, "pycron web to say where it serves")

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The PostgreSQL server of the tests (`PYCRON_TEST_POSTGRESQL`, else the
    project's machines' own); the tests that need it skip where none answers."""
    url = os.environ.get("PYCRON_TEST_POSTGRESQL", POSTGRES_URL)
    try:
        server = PostgresServer(url)
    except psycopg.OperationalError as error:
        server_absent(f"no PostgreSQL server answers at {url}: {' '.join(str(error).split())}")
    yield server
    server.close()


@pytest.fixture
def postgres(postgres_server: PostgresServer, tmp_path: Path) -> Iterator[PostgresBackend]:
    """A database of the test's own, dropped after it."""
    url = postgres_server.create()
    try:
        yield PostgresBackend(url, tmp_path / "state")
    finally:
        postgres_server.drop(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """The store of one test, on each backend in turn."""
    if request.param == "sqlite":
        return SQLiteBackend(tmp_path / "state")
    postgres: PostgresBackend = request.getfixturevalue("postgres")
    return postgres
