"""What the daemon costs when it has nothing to do, and when many jobs start
at once: how long its loop sleeps, what a daemon process loads (neither
click nor the parts of the interactive commands, nor the alert side or the
checks of a crontab that no job needs), how a burst of starts is written to
the history. Structure only: no figure of speed."""

from __future__ import annotations

import functools
import importlib
import io
import os
import re
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from test_daemon import Sandbox, stop
from test_runner import spawned

from pycron import runner
from pycron.cli.app import FAMILIES
from pycron.daemon import MAX_IDLE, MAX_SLEEP, Daemon, EventLog, Settings, local_zone
from pycron.notify import local_sendmail
from pycron.notify.outbox import compose_nothing
from pycron.records import RunResult
from pycron.runner import Context
from pycron.supervisor import Launch, Workers

UTC = timezone.utc
START = datetime(2026, 5, 4, 10, 0, 30, tzinfo=UTC)
FAR = "# pycron: name=far\n0 3 1 1 * true\n"  # next on New Year's Day
UPSTREAM = "# pycron: name=up\n0 3 1 1 * true\n# pycron: name=down\n@after up true\n"


def sleeps_of(
    tmp_path: Path, crontab: str, *, notified: bool | None, heartbeat: float | None = None
) -> tuple[list[float], list[str]]:
    """The first three sleeps of a daemon on `crontab` whose clock only its
    sleeps move, and the jobs it started meanwhile; `notified` is what the
    kernel tells it (None: nothing, as in a daemon whose sleep is not
    `serve()`'s)."""
    path = tmp_path / "crontab"
    path.write_text(crontab)
    now = [START]
    sleeps: list[float] = []
    started: list[str] = []

    def sleep(seconds: float, wake: threading.Event) -> None:
        sleeps.append(seconds)
        now[0] += timedelta(seconds=seconds)
        if len(sleeps) == 3:
            daemon.stop(immediately=True)

    def execute(launch: Launch, context: Context) -> list[RunResult]:
        started.append(launch.entry.id)
        return []

    daemon = Daemon(
        Settings(path, tmp_path / "state", heartbeat=heartbeat),
        clock=lambda: now[0],
        sleep=sleep,
        log=EventLog(io.StringIO(), lambda: now[0]),
        pool=Workers,
        execute=execute,
        senders={},
        compose=compose_nothing,
        notified=None if notified is None else lambda: notified,
    )
    assert daemon.run() == 0
    return sleeps, started


SLEEPS = {
    "told of the clock and the crontab: until the next planned moment, an hour at most": (
        FAR,
        True,
        None,
        [MAX_IDLE] * 3,
    ),
    "told nothing now: a look every MAX_SLEEP": (FAR, False, None, [MAX_SLEEP] * 3),
    "a sleep not serve()'s: a look every MAX_SLEEP": (FAR, None, None, [MAX_SLEEP] * 3),
    "an @after job, whose upstream may run elsewhere: a look every MAX_SLEEP": (
        UPSTREAM,
        True,
        None,
        [MAX_SLEEP] * 3,
    ),
    "a heartbeat: woken for each": (FAR, True, 90.0, [90.0] * 3),
}


@pytest.mark.parametrize(
    ("crontab", "notified", "heartbeat", "expected"), SLEEPS.values(), ids=SLEEPS.keys()
)
def test_the_loop_sleeps_as_long_as_nothing_needs_a_look(
    tmp_path: Path,
    crontab: str,
    notified: bool | None,
    heartbeat: float | None,
    expected: list[float],
) -> None:
    sleeps, started = sleeps_of(tmp_path, crontab, notified=notified, heartbeat=heartbeat)
    assert (sleeps, started) == (expected, [])


def test_a_sleep_ends_at_the_next_fire_time(tmp_path: Path) -> None:
    every = "# pycron: name=tick\n@every 10m true\n"
    sleeps, started = sleeps_of(tmp_path, every, notified=True)
    assert sleeps[0] == 600.0
    assert started[:1] == ["tick"]  # then due: it starts (again at each 600 s slept)


def test_the_group_loads_each_command_from_its_family() -> None:
    """`FAMILIES` names every command of every family, in its own module."""
    found = {}
    for family in set(FAMILIES.values()):
        module = importlib.import_module(f"pycron.cli.{family}")
        found.update(dict.fromkeys((command.name for command in module.COMMANDS), family))
    assert found == FAMILIES


# A module as `python -X importtime` lists it, the first time it is imported
# (by an import statement: not what `importlib.import_module` loads, such as a
# family of the click interface; the modules those import are listed).
IMPORTED = re.compile(r"^import time: +\d+ \| +\d+ \| +(\S+)$", re.MULTILINE)
# What only the interactive commands use: click and what shows tables, the
# click interface's modules, the checks of `pycron check`, the status page.
INTERACTIVE = {
    "click",
    "rich",
    "tabulate",
    "pycron.cli.app",
    "pycron.cli.invocation",
    "pycron.cli.render",
    "pycron.cli.daemon",
    "pycron.cli.notify",
    "pycron.cli.web",
    "pycron.cli.cluster",
    "pycron.lint",
    "pycron.web",
}
# The alert side (and the mail composer), needed only by a daemon that can tell someone.
TELLING = {"pycron.notify.alerts", "pycron.notify.compose", "apprise"}
# A local sendmail lets every daemon send mail: its composer is loaded at the start.
MAILS = local_sendmail() is not None
ALERTING = "# pycron: name=far notify=json://127.0.0.1:9/hook\n0 3 1 1 * true\n"

LOADS = {
    "a plain crontab: neither the interactive parts nor the alert side, nor logging": (
        FAR,
        [],
        set(),
        INTERACTIVE
        | {"logging", "concurrent.futures"}
        | (set() if MAILS else TELLING | {"pycron.notify.mail"}),
    ),
    "a job with notify=: its targets are checked as the crontab loads": (
        ALERTING,
        [],
        {"pycron.lint", "pycron.notify.alerts"},
        INTERACTIVE - {"pycron.lint"},
    ),
    "a MAILTO: the review says whether mail can leave": (
        "MAILTO=ops@example.org\n" + FAR,
        [],
        set() if MAILS else {"pycron.lint"},
        INTERACTIVE - {"pycron.lint"},
    ),
    "default alert targets: the composer from the start": (
        FAR,
        ["--notify", "json://127.0.0.1:9/hook"],
        {"pycron.notify.compose"},
        INTERACTIVE,
    ),
    "a line the quick reader leaves to click (an option twice)": (
        FAR,
        ["--tz", "UTC", "--tz", "UTC"],
        {"click", "pycron.cli.app"},
        {"rich", "pycron.lint"},
    ),
}


@pytest.mark.parametrize(
    ("crontab", "args", "loaded", "unloaded"), LOADS.values(), ids=LOADS.keys()
)
def test_a_daemon_loads_only_what_it_needs(
    sandbox: Sandbox, crontab: str, args: list[str], loaded: set[str], unloaded: set[str]
) -> None:
    """What a `pycron daemon` process imports from its start to its stop,
    as Python lists it (`-X importtime`, by its environment variable)."""
    sandbox.write(crontab)
    daemon = sandbox.start("--log-format", "json", *args, env={"PYTHONPROFILEIMPORTTIME": "1"})
    daemon.wait_for(r'"event": "ready"')
    assert stop(daemon) == 0
    modules = set(IMPORTED.findall(daemon.log()))
    assert "pycron.daemon" in modules
    assert (loaded - modules, unloaded & modules) == (set(), set())


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="no pidfd on this system")
def test_a_job_is_waited_for_on_its_pidfd_without_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(runner.time, "sleep", slept.append)
    process = spawned("sleep 0.3")
    try:
        assert process.ended is not None
        assert process.reap(timeout=30)
        assert (process.returncode, process.ended, slept) == (0, None, [])
    finally:
        runner._forget_leader(process)


@pytest.mark.parametrize(
    ("zone", "loads_database"), [("Etc/UTC", False), (":UTC", False), ("Europe/Berlin", True)]
)
def test_a_daemon_on_utc_needs_no_tz_database(
    sandbox: Sandbox, zone: str, loads_database: bool
) -> None:
    sandbox.write(FAR)
    daemon = sandbox.start("--log-format", "json", env={"PYTHONPROFILEIMPORTTIME": "1", "TZ": zone})
    daemon.wait_for(r'"event": "ready"')
    assert stop(daemon) == 0
    assert ("zoneinfo" in IMPORTED.findall(daemon.log())) is loads_database


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        ("UTC", timezone.utc),
        (":Etc/UTC", timezone.utc),
        ("Zulu", timezone.utc),
        ("Europe/Berlin", ZoneInfo("Europe/Berlin")),
        ("Nowhere/Land", None),
    ],
)
def test_the_local_zone_of_tz(
    monkeypatch: pytest.MonkeyPatch, variable: str, expected: tzinfo | None
) -> None:
    monkeypatch.setenv("TZ", variable)
    assert local_zone() == expected


@pytest.mark.parametrize("size", [1, 3])
def test_the_workers_do_every_task_in_order_with_at_most_their_threads(size: int) -> None:
    done: list[tuple[int, str]] = []
    release = threading.Event()

    def task(number: int) -> None:
        assert release.wait(30)
        done.append((number, threading.current_thread().name))

    with Workers(size) as workers:
        for number in range(10):
            workers.submit(functools.partial(task, number))
        release.set()
    assert sorted(number for number, _ in done) == list(range(10))
    assert len({name for _, name in done}) == size
    if size == 1:
        assert [number for number, _ in done] == list(range(10))
    assert not [t for t in threading.enumerate() if t.name.startswith("job_")]


# A daemon started by the entry point, with a thread that waits until the
# daemon has frozen what its start-up made, then says whether the collector
# is on again, and stops the daemon.
COLLECTOR_CHILD = """
import gc, os, signal, sys, threading, time
from pycron.cli import main

def report():
    deadline = time.monotonic() + 60
    while gc.get_freeze_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    while not gc.isenabled() and time.monotonic() < deadline:
        time.sleep(0.01)
    print(gc.get_freeze_count() > 0, gc.isenabled(), flush=True)
    os.kill(os.getpid(), signal.SIGTERM)

threading.Thread(target=report, daemon=True).start()
main(["--crontab", sys.argv[1], "--state-dir", sys.argv[2], "daemon"])
"""


def test_the_collector_is_on_again_once_the_daemon_has_started(sandbox: Sandbox) -> None:
    sandbox.write(FAR)
    done = subprocess.run(
        [sys.executable, "-c", COLLECTOR_CHILD, str(sandbox.crontab), str(sandbox.state)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout.split() == ["True", "True"], done.stderr
