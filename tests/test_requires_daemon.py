"""`requires=` in a real daemon: a run waits for its required job and starts
once that job has succeeded, or is recorded `blocked` with the reason. The
required job's runs are made with `run-now`, so the test decides when it
fails and when it succeeds. Waits poll with deadlines (see `test_daemon`)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import timezone

from test_daemon import START_TIMEOUT, Sandbox, at, stop, wait_until

from pycron.records import Outcome
from pycron.store import RunRecord


def crontab(sandbox: Sandbox, retries: int) -> str:
    """`backup` succeeds once the file `ok` exists and never runs on its own;
    `report`, due in 2 s, requires it, re-checking `retries` times 1 s apart
    (then 2 s, 4 s ...)."""
    return (
        "# pycron: name=backup\n"
        f"@at 2099-01-01T00:00:00+00:00 test -e {sandbox.root}/ok\n"
        f"# pycron: name=report requires=backup retries={retries} retry-delay=1s\n"
        f"@at {at(2)} echo report >> {sandbox.root}/order\n"
    )


def run_now(sandbox: Sandbox, job_id: str) -> int:
    """`pycron run-now JOB` on the sandbox's crontab and history: its exit code."""
    command = [sys.executable, "-m", "pycron", "--crontab", str(sandbox.crontab)]
    command += ["--state-dir", str(sandbox.state), "run-now", job_id, "--no-notify"]
    return subprocess.run(command, capture_output=True, check=False).returncode


def report_ended(sandbox: Sandbox) -> RunRecord:
    (record,) = wait_until(lambda: sandbox.ended("report"), START_TIMEOUT, "report's run to end")
    return record


def test_a_blocked_run_waits_and_starts_once_its_required_job_succeeds(sandbox: Sandbox) -> None:
    sandbox.write(crontab(sandbox, retries=20))
    assert run_now(sandbox, "backup") == 1
    (failed,) = sandbox.ended("backup")
    daemon = sandbox.start("--tz", "UTC")
    waiting = daemon.wait_for(r"wait +job=report .*message=\"(backup failed at [^\"]*)\"")
    assert waiting.group(1).endswith(f", run {failed.id}")
    assert sandbox.lines("order") == []  # not started while backup's latest run failed

    (sandbox.root / "ok").touch()
    assert run_now(sandbox, "backup") == 0
    report = report_ended(sandbox)
    assert stop(daemon) == 0

    assert report.outcome is Outcome.SUCCESS
    assert sandbox.lines("order") == ["report"]
    assert report.started > sandbox.ended("backup")[-1].finished  # type: ignore[operator]


def test_a_run_whose_required_job_keeps_failing_is_recorded_blocked(sandbox: Sandbox) -> None:
    sandbox.write(crontab(sandbox, retries=1))
    assert run_now(sandbox, "backup") == 1
    (failed,) = sandbox.ended("backup")
    daemon = sandbox.start("--tz", "UTC")
    report = report_ended(sandbox)
    assert stop(daemon) == 0

    assert report.outcome is Outcome.BLOCKED
    assert sandbox.lines("order") == []
    assert failed.finished is not None
    moment = failed.finished.astimezone(timezone.utc).strftime("%H:%M")
    expected = rf"backup failed at (\d{{4}}-\d\d-\d\d )?{moment}, run {failed.id}"
    assert report.message is not None
    assert re.fullmatch(expected, report.message), report.message
    assert len(re.findall(r"wait +job=report ", daemon.log())) == 1  # retries=1: one more look

    command = [sys.executable, "-m", "pycron", "--state-dir", str(sandbox.state), "history"]
    shown = subprocess.run(
        [*command, "--outcome", "blocked", "--json"], capture_output=True, check=True
    )
    (view,) = json.loads(shown.stdout)
    assert (view["job"], view["outcome"], view["message"]) == ("report", "blocked", report.message)
