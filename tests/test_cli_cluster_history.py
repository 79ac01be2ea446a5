"""The commands that read the history, given a cluster (`--cluster URL` or
PYCRON_CLUSTER), through real `pycron` processes: with a PostgreSQL cluster
they read the history its members share (runs of two hosts, written here as
those hosts' stores write them), with a HOST column, and send to the host
that has them for the logs of another host's run; the status pages of
`pycron web` and of a daemon in the cluster read it too. A Redis cluster
shares no history: the host's own is read. Each test has its own database."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import NamedTuple

import pytest
from backends import PostgresBackend
from test_cli_runs import Pycron
from test_daemon import START_TIMEOUT, Sandbox, stop
from test_web_serve import fetch, page_url

from pycron.records import Outcome, RunResult

CRONTAB = "# pycron: name=backup\n@daily true\n# pycron: name=report\n@hourly true\n"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
HERE = socket.gethostname()
OTHER = "beta.cluster.test"  # another host of the cluster (never this machine's name)
UNREACHABLE = "postgresql://pycron:hunter2@127.0.0.1:1/pycron"  # nothing listens on port 1


class Run(NamedTuple):
    """A run recorded in the shared history: its record, its host, its stdout log."""

    id: int
    job: str
    host: str
    log: Path


class Shared(NamedTuple):
    """A cluster's shared history with a run of each host, and the CLI on a
    crontab of the cluster's jobs and a state directory of this host."""

    url: str
    pycron: Pycron
    here: Run  # backup, run by this machine
    there: Run  # report, run by OTHER, later


def record(postgres: PostgresBackend, host: str, job: str, started: datetime, logs: Path) -> Run:
    """Record a successful run of `job` on `host` in the shared history, its
    stdout in a file under `logs` that says which host wrote it."""
    logs.mkdir(parents=True, exist_ok=True)
    out = logs / f"{job}.out"
    out.write_text(f"{job} on {host}\n")
    result = RunResult(
        job,
        started,
        1,
        Outcome.SUCCESS,
        started,
        started + timedelta(seconds=2),
        exit_code=0,
        stdout_path=out,
        stderr_path=logs / f"{job}.err",
        pid=4242,
    )
    with postgres.open(host=host) as store:
        record_id = store.started(result)
    return Run(record_id, job, host, out)


@pytest.fixture
def shared(postgres: PostgresBackend, tmp_path: Path) -> Shared:
    here = record(postgres, HERE, "backup", T0, tmp_path / "here-logs")
    there = record(postgres, OTHER, "report", T0 + timedelta(minutes=5), tmp_path / "there-logs")
    there.log.unlink()  # its host keeps it: a file of that name here must not be needed
    return Shared(postgres.url, Pycron(tmp_path, CRONTAB), here, there)


def table(text: str) -> list[list[str]]:
    """The rows of a plain table (a pipe's), header first, split on runs of spaces."""
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines() if line.strip()]


def column(rows: list[list[str]], header: str) -> list[str]:
    """The cells of one column of `table`'s rows."""
    index = rows[0].index(header)
    return [row[index] for row in rows[1:]]


# -- The read commands ---------------------------------------------------------------------


def test_history_shows_the_runs_of_every_host_with_a_host_column(shared: Shared) -> None:
    done = shared.pycron("history", "--cluster", shared.url)
    assert done.returncode == 0, done.stderr
    rows = table(done.stdout)
    assert column(rows, "RUN") == [str(shared.there.id), str(shared.here.id)]  # newest first
    assert column(rows, "HOST") == [OTHER, HERE]
    runs = shared.pycron.json("history", "--cluster", shared.url)
    assert isinstance(runs, list)
    assert [(run["run"], run["host"]) for run in runs] == [
        (shared.there.id, OTHER),
        (shared.here.id, HERE),
    ]


def test_the_cluster_may_be_given_by_the_environment(shared: Shared) -> None:
    shared.pycron.env["PYCRON_CLUSTER"] = shared.url
    rows = table(shared.pycron("history", "report").stdout)
    assert column(rows, "HOST") == [OTHER]


@pytest.mark.parametrize(("command", "summary"), [("status", 1), ("list", 0)])
def test_status_and_list_name_the_host_of_each_last_run(
    shared: Shared, command: str, summary: int
) -> None:
    """`summary`: the lines below the table."""
    done = shared.pycron(command, "--cluster", shared.url)
    assert done.returncode == 0, done.stderr
    rows = table(done.stdout)[: -summary or None]
    assert column(rows, "ID") == ["backup", "report"]
    assert column(rows, "HOST") == [HERE, OTHER]
    jobs = shared.pycron.json(command, "--cluster", shared.url)
    assert isinstance(jobs, list)
    assert [(job["id"], job["last"]["host"]) for job in jobs] == [
        ("backup", HERE),
        ("report", OTHER),
    ]


def test_stats_counts_the_runs_of_every_host(shared: Shared) -> None:
    stats = shared.pycron.json("stats", "--cluster", shared.url)
    assert isinstance(stats, dict)
    assert (stats["runs"], stats["successes"]) == (2, 2)
    report = shared.pycron.json("stats", "report", "--cluster", shared.url)
    assert isinstance(report, dict)
    assert report["runs"] == 1


def test_logs_of_this_hosts_run_are_printed(shared: Shared) -> None:
    done = shared.pycron("logs", "backup", "--cluster", shared.url)
    assert (done.returncode, done.stdout) == (0, f"backup on {HERE}\n"), done.stderr


@pytest.mark.parametrize("run", [[], ["--run"]], ids=["latest", "by-number"])
def test_logs_of_another_hosts_run_name_the_host_that_has_them(
    shared: Shared, run: list[str]
) -> None:
    chosen = [*run, str(shared.there.id)] if run else []
    done = shared.pycron("logs", "report", *chosen, "--cluster", shared.url)
    assert done.returncode == 1
    assert done.stdout == ""
    message = done.stderr
    assert f"run {shared.there.id} of 'report' ran on host {OTHER}" in message
    assert str(shared.there.log) in message
    assert f"pycron logs report --run {shared.there.id}" in message


def test_without_the_cluster_the_state_directorys_history_is_read(shared: Shared) -> None:
    done = shared.pycron("history")
    assert done.returncode == 0, done.stderr
    (header,) = table(done.stdout)  # this host's state directory has no run
    assert header[:3] == ["RUN", "JOB", "STARTED"]  # and one host: no HOST column


def test_a_redis_cluster_shares_no_history(shared: Shared) -> None:
    """Its URL (never connected to) leaves the commands on the state directory."""
    assert shared.pycron("run-now", "backup").returncode == 0
    url = "redis://127.0.0.1:1/0"
    rows = table(shared.pycron("history", "--cluster", url).stdout)
    assert rows[0][:2] == ["RUN", "JOB"]  # no HOST column: one host's history
    assert "HOST" not in rows[0]
    assert column(rows, "JOB") == ["backup"]
    status = table(shared.pycron("status", "--cluster", url).stdout)
    assert "HOST" not in status[0]


def test_history_prune_never_prunes_the_shared_history(shared: Shared) -> None:
    """Given --cluster, it is refused; from the environment, it prunes this host's
    history only: the cluster's runs, long past, are all still there."""
    assert shared.pycron("run-now", "backup").returncode == 0
    refused = shared.pycron("history", "--cluster", shared.url, "prune", "--older-than", "1s")
    assert refused.returncode == 2
    assert "give no --cluster" in refused.stderr
    assert column(table(shared.pycron("history").stdout), "JOB") == ["backup"]
    shared.pycron.env["PYCRON_CLUSTER"] = shared.url
    pruned = shared.pycron("history", "prune", "--older-than", "1s")
    assert pruned.returncode == 0, pruned.stderr
    kept = shared.pycron.json("history")
    assert isinstance(kept, list)
    assert [run["run"] for run in kept] == [shared.there.id, shared.here.id]


CLUSTER_ERRORS = {
    "not-a-cluster-url": ("mysql://db/pycron", 2, "not a cluster URL"),
    "out-of-reach": (UNREACHABLE, 1, "postgresql://pycron:***@127.0.0.1:1/pycron: cannot connect"),
}


@pytest.mark.parametrize(
    ("url", "code", "said"), CLUSTER_ERRORS.values(), ids=CLUSTER_ERRORS.keys()
)
def test_a_cluster_that_cannot_be_read_is_said(
    tmp_path: Path, url: str, code: int, said: str
) -> None:
    done = Pycron(tmp_path, CRONTAB)("status", "--cluster", url)
    assert done.returncode == code
    assert said in done.stderr
    assert "hunter2" not in done.stderr


# -- The status pages ----------------------------------------------------------------------


def assert_page_reads_the_shared_history(url: str, shared: Shared) -> None:
    """The page's runs are both hosts'; another host's log is a 404 naming it."""
    runs = fetch(url + "api/runs").json()
    assert {(run["run"], run["host"]) for run in runs} >= {
        (shared.here.id, HERE),
        (shared.there.id, OTHER),
    }
    log = fetch(url + f"api/runs/{shared.there.id}/log?stream=stdout")
    assert log.status == 404
    assert f"ran on host {OTHER}" in log.json()["error"]
    mine = fetch(url + f"api/runs/{shared.here.id}/log?stream=stdout")
    assert (mine.status, mine.json()["text"]) == (200, f"backup on {HERE}\n")


def test_pycron_web_reads_the_shared_history(
    shared: Shared, web_process: Callable[..., tuple[subprocess.Popen[str], str]]
) -> None:
    _, url = web_process(
        "--crontab",
        str(shared.pycron.crontab),
        "--state-dir",
        str(shared.pycron.state),
        "--http",
        "127.0.0.1:0",
        "--cluster",
        shared.url,
    )
    assert_page_reads_the_shared_history(url, shared)


def test_pycron_web_stops_at_once_on_a_cluster_out_of_reach(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pycron", "web", "--http", "127.0.0.1:0", "--cluster", UNREACHABLE],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert "cannot connect" in done.stderr


@pytest.fixture
def member(tmp_path: Path) -> Iterator[Sandbox]:
    """A daemon's sandbox beside the shared fixture's files; its daemons end after."""
    box = Sandbox(tmp_path / "member")
    box.root.mkdir()
    try:
        yield box
    finally:
        box.cleanup()


def test_a_members_page_reads_the_shared_history(shared: Shared, member: Sandbox) -> None:
    member.write("# pycron: name=tick\n@yearly true\n")
    daemon = member.start("--cluster", shared.url, "--http", "127.0.0.1:0")
    url = page_url(daemon)
    daemon.wait_for(r" ready ", START_TIMEOUT)
    assert_page_reads_the_shared_history(url, shared)
    assert stop(daemon) == 0
