"""`@after` pipelines run by a real daemon: order, trigger ids, failures,
`when=failure`, joins, and restarts that continue a pipeline exactly once.
Waits poll with deadlines (see `test_daemon`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from test_daemon import START_TIMEOUT, Daemon, Sandbox, at, stop, wait_until

from pycron.records import Outcome
from pycron.store import RunRecord
from pycron.store.sqlite import SQLiteStore


def job(sandbox: Sandbox, name: str, schedule: str, command: str = "true", extra: str = "") -> str:
    """A job that notes its name and run id in `order`, then runs `command`."""
    return (
        f"# pycron: name={name} {extra}\n"
        f"{schedule} echo {name} $PYCRON_RUN_ID >> {sandbox.root}/order; {command}\n"
    )


def triggers(sandbox: Sandbox) -> dict[int, tuple[int, ...]]:
    with SQLiteStore.open(sandbox.state) as history:
        return history.triggers([r.id for r in history.runs()])


def ended(sandbox: Sandbox, job_id: str, count: int = 1) -> list[RunRecord]:
    """Wait until the job has `count` ended runs; returns them, oldest first."""
    return wait_until(
        lambda: (runs := sandbox.ended(job_id)) and len(runs) >= count and runs,
        START_TIMEOUT,
        f"{count} ended run(s) of {job_id}",
    )


def test_a_three_step_pipeline_runs_in_order_with_its_triggers(sandbox: Sandbox) -> None:
    sandbox.write(
        job(sandbox, "fetch", "@every 2s")
        + job(sandbox, "transform", "@after fetch")
        + job(sandbox, "report", "@after transform")
    )
    daemon = sandbox.start()
    (report,) = ended(sandbox, "report")[:1]
    assert stop(daemon) == 0

    fetch = sandbox.ended("fetch")[0]
    transform = sandbox.ended("transform")[0]
    assert sandbox.lines("order")[:3] == [
        f"fetch {fetch.id}",
        f"transform {transform.id}",
        f"report {report.id}",
    ]
    found = triggers(sandbox)
    assert found[transform.id] == (fetch.id,)
    assert found[report.id] == (transform.id,)
    assert fetch.id not in found
    # Each step starts after its upstream ended; its slot is that end.
    assert fetch.finished is not None
    assert transform.finished is not None
    assert transform.scheduled_for == fetch.finished <= transform.started
    assert report.scheduled_for == transform.finished <= report.started
    shown = subprocess.run(
        [sys.executable, "-m", "pycron", "--state-dir", str(sandbox.state), "history", "--json"],
        capture_output=True,
        check=True,
    )
    views = {view["run"]: view for view in json.loads(shown.stdout)}
    assert views[report.id]["trigger"] == [transform.id]
    assert views[fetch.id]["trigger"] is None


def test_a_failure_stops_the_pipeline_and_starts_its_handler(sandbox: Sandbox) -> None:
    sandbox.write(
        job(sandbox, "fetch", "@every 2s")
        + job(sandbox, "transform", "@after fetch", "exit 3")
        + job(sandbox, "report", "@after transform")
        + job(sandbox, "cleanup", "@after transform", extra="when=failure")
    )
    daemon = sandbox.start()
    (cleanup,) = ended(sandbox, "cleanup")[:1]
    # The next fetch and transform give report a second chance it must not take.
    ended(sandbox, "transform", 2)
    ended(sandbox, "cleanup", 2)
    assert stop(daemon) == 0

    transform = sandbox.ended("transform")[0]
    assert transform.outcome is Outcome.FAILED
    assert cleanup.outcome is Outcome.SUCCESS
    assert triggers(sandbox)[cleanup.id] == (transform.id,)
    assert sandbox.runs("report") == []


def test_a_join_waits_for_both_upstreams_and_runs_once(sandbox: Sandbox) -> None:
    sandbox.write(
        job(sandbox, "often", "@every 1s")
        + job(sandbox, "once", f"@at {at(3)}")
        + job(sandbox, "join", "@after often,once")
    )
    daemon = sandbox.start()
    once = ended(sandbox, "once")[0]
    (joined,) = ended(sandbox, "join")[:1]
    # `often` runs on; without another `once`, the join does not run again.
    after_join = len(sandbox.ended("often")) + 2
    ended(sandbox, "often", after_join)
    assert stop(daemon) == 0

    assert len(sandbox.runs("join")) == 1
    often_before = [
        r for r in sandbox.ended("often") if r.finished and r.finished <= joined.started
    ]
    assert len(often_before) >= 2  # `often` alone did not start it
    assert once.finished is not None
    assert once.finished <= joined.started
    latest_often = max(often_before, key=lambda r: r.finished or r.started)
    assert triggers(sandbox)[joined.id] == (latest_often.id, once.id)


def kill_9(daemon: Daemon) -> None:
    daemon.process.kill()
    assert daemon.wait(timeout=10) == -signal.SIGKILL


def test_a_run_recorded_while_the_daemon_is_down_continues_the_pipeline_once(
    sandbox: Sandbox,
) -> None:
    sandbox.write(
        job(sandbox, "fetch", "@at 2099-01-01T00:00:00+00:00")
        + job(sandbox, "transform", "@after fetch")
        + job(sandbox, "report", "@after transform")
    )
    first = sandbox.start()

    def responsible() -> bool:
        with SQLiteStore.open(sandbox.state) as history:
            return "report" in history.responsibilities()

    wait_until(responsible, START_TIMEOUT, "the daemon to take the jobs on")
    kill_9(first)
    now = subprocess.run(
        [
            *(sys.executable, "-m", "pycron", "--crontab", str(sandbox.crontab)),
            *("--state-dir", str(sandbox.state), "run-now", "fetch"),
        ],
        capture_output=True,
        cwd=sandbox.root,
        check=False,
    )
    assert now.returncode == 0, now.stderr

    second = sandbox.start()
    report = ended(sandbox, "report")[0]
    second.wait_for(r" trigger +job=transform ")
    kill_9(second)  # right after the last step: its restart must repeat nothing
    third = sandbox.start()
    third.wait_for(r" ready ")  # what is due after a restart is queued by then
    assert stop(third) == 0

    names = [line.split()[0] for line in sandbox.lines("order")]
    assert names == ["fetch", "transform", "report"]
    (fetch,), (transform,) = sandbox.runs("fetch"), sandbox.runs("transform")
    assert triggers(sandbox) == {transform.id: (fetch.id,), report.id: (transform.id,)}


def test_a_run_now_of_an_upstream_job_starts_the_downstream_one_in_the_running_daemon(
    sandbox: Sandbox,
) -> None:
    sandbox.write("# pycron: name=first\n@daily true\n# pycron: name=second\n@after first true\n")
    daemon = sandbox.start()
    daemon.wait_for(r" ready ")
    places = ["--crontab", str(sandbox.crontab), "--state-dir", str(sandbox.state)]
    subprocess.run([sys.executable, "-m", "pycron", *places, "run-now", "first"], check=True)
    (upstream,) = sandbox.ended("first")
    (downstream,) = wait_until(lambda: sandbox.ended("second"), 20, "the downstream run")
    assert stop(daemon) == 0
    assert downstream.scheduled_for == upstream.finished  # its slot: the upstream run's end


def test_a_step_cut_short_by_kill_9_runs_again_after_the_restart_and_the_pipeline_goes_on(
    sandbox: Sandbox,
) -> None:
    """The daemon and the middle step die together (a power cut, say): the
    restarted daemon marks that run interrupted, runs the step again for the
    same trigger, and the pipeline goes on, each step once to its end."""
    once = sandbox.root / "cut-short-once"
    sandbox.write(
        job(sandbox, "fetch", "@at 2099-01-01T00:00:00+00:00")
        + job(
            sandbox,
            "transform",
            "@after fetch",
            f"test -e {once} || {{ touch {once}; sleep 600; }}",
        )
        + job(sandbox, "report", "@after transform")
    )
    first = sandbox.start()
    first.wait_for(r" ready ")
    places = ["--crontab", str(sandbox.crontab), "--state-dir", str(sandbox.state)]
    subprocess.run([sys.executable, "-m", "pycron", *places, "run-now", "fetch"], check=True)
    wait_until(once.exists, START_TIMEOUT, "the middle step to start")
    kill_9(first)
    for pid in sandbox.tagged():  # the step dies with its daemon
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not sandbox.tagged(), 10, "the step's processes to end")

    second = sandbox.start()
    (report,) = ended(sandbox, "report")
    assert stop(second) == 0
    (cut, again) = sorted(sandbox.runs("transform"), key=lambda r: r.id)
    assert cut.outcome is Outcome.INTERRUPTED
    assert again.outcome is Outcome.SUCCESS
    assert again.scheduled_for == cut.scheduled_for  # the same trigger, run again
    assert report.outcome is Outcome.SUCCESS
    assert triggers(sandbox)[report.id] == (again.id,)
    names = [line.split()[0] for line in (sandbox.root / "order").read_text().splitlines()]
    assert names == ["fetch", "transform", "transform", "report"]
