"""Daemons in a cluster (`pycron daemon --cluster URL`), on each backend's real
server: three daemons on one crontab run each (job, slot) once; a member
killed with -9 has its long run taken over, marked interrupted and run again
once, and the killed member, restarted, records no success over it; a
cluster that cannot be reached stops the start; `pycron cluster status`
shows the members. Each test has its own PostgreSQL database or Redis key
prefix; where a server does not answer, its tests skip, saying so."""

from __future__ import annotations

import collections
import itertools
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import redis
from backends import PostgresServer
from test_daemon import START_TIMEOUT, Daemon, Sandbox, stop

from pycron.store.cluster import redacted

REDIS_URL = os.environ.get("PYCRON_TEST_REDIS", "redis://127.0.0.1:6379/0")
MEMBERS = 3
JOBS = 50
EVERY = 5  # seconds between the slots of each job
WINDOW = 60.0  # seconds the three members run side by side
LEASE = "3s"  # short, so that a takeover comes within seconds


class Cluster:
    """A cluster's URL for a test, and the sandboxes of its members (a crontab
    and a state directory each, as on separate hosts)."""

    def __init__(self, url: str, root: Path) -> None:
        self.url = url
        self.root = root
        self.members: list[Sandbox] = []

    def member(self) -> Sandbox:
        """A new member's sandbox (not started)."""
        box = Sandbox(self.root / f"member-{len(self.members)}")
        box.root.mkdir()
        self.members.append(box)
        return box

    def start(self, box: Sandbox, *args: str) -> Daemon:
        return box.start("--cluster", self.url, "--cluster-lease", LEASE, *args)

    def cleanup(self) -> None:
        for box in self.members:
            box.cleanup()


def redis_cluster(root: Path) -> Iterator[Cluster]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as error:
        client.close()
        pytest.skip(f"no Redis server answers at {redacted(REDIS_URL)}: {error}")
    prefix = f"pycron-test-{secrets.token_hex(8)}"
    cluster = Cluster(f"{REDIS_URL}?prefix={prefix}", root)
    try:
        yield cluster
    finally:
        cluster.cleanup()
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture(params=["postgresql", "redis"])
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    """An empty cluster of the test's own, on each backend in turn."""
    if request.param == "redis":
        yield from redis_cluster(tmp_path)
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create()
    cluster = Cluster(url, tmp_path)
    try:
        yield cluster
    finally:
        cluster.cleanup()
        server.drop(url)


def stamped(path: Path) -> str:
    """A command that appends its job, its slot and its daemon's pid to `path`."""
    return f'echo "$PYCRON_JOB_ID $PYCRON_SCHEDULED $PPID" >> {path}'


def starts(path: Path) -> list[tuple[str, datetime, int]]:
    """The (job, slot, daemon pid) of each run that started, from a `stamped` file."""
    if not path.exists():
        return []
    found = []
    for line in path.read_text().splitlines():
        job, slot, pid = line.split()
        found.append((job, datetime.fromisoformat(slot), int(pid)))
    return found


def test_three_members_run_every_slot_exactly_once(cluster: Cluster) -> None:
    stamps = cluster.root / "starts.txt"
    body = "".join(
        f"# pycron: name=j{n:02}\n@every {EVERY}s {stamped(stamps)}\n" for n in range(JOBS)
    )
    daemons = []
    for _ in range(MEMBERS):
        box = cluster.member()
        box.write(body)
        daemons.append(cluster.start(box))
    for daemon in daemons:
        daemon.wait_for(r" ready ", START_TIMEOUT)
    ready = datetime.now(timezone.utc)
    time.sleep(WINDOW)
    stopped = datetime.now(timezone.utc)
    for daemon in daemons:
        assert stop(daemon, 30) == 0, daemon.log()

    runs = starts(stamps)
    counted = collections.Counter((job, slot) for job, slot, _ in runs)
    twice = {run: n for run, n in counted.items() if n > 1}
    assert not twice, f"runs started more than once: {sorted(twice)[:10]}"
    # No slot is left out: every job ran each slot of the window (the
    # members agree on the slots, counted from the cluster's epoch).
    step = timedelta(seconds=EVERY)
    for n in range(JOBS):
        slots = sorted(slot for job_id, slot in counted if job_id == f"j{n:02}")
        inside = [s for s in slots if ready + step <= s <= stopped - step]
        assert len(inside) >= int(WINDOW / EVERY) - 3, (n, slots)
        gaps = {b - a for a, b in itertools.pairwise(inside)}
        assert gaps <= {step}, (n, inside)
    members = {pid for _, _, pid in runs}
    assert members <= {daemon.pid for daemon in daemons}
    assert len(members) > 1  # the work is shared, not done by one member alone


def test_a_cluster_that_cannot_be_reached_stops_the_start(tmp_path: Path) -> None:
    box = Sandbox(tmp_path)
    try:
        box.write(f"@every 1s {stamped(tmp_path / 'starts.txt')}\n")
        daemon = box.start("--cluster", "redis://127.0.0.1:1/0")
        assert daemon.wait(START_TIMEOUT) == 1
        assert "redis://127.0.0.1:1/0" in daemon.log()
        assert not (tmp_path / "starts.txt").exists()
    finally:
        box.cleanup()


@pytest.mark.parametrize(
    "url",
    ["mysql://db/pycron", "redis:/nohost", "postgresql://", "http://example.com"],
)
def test_check_refuses_a_url_of_another_form(tmp_path: Path, url: str) -> None:
    crontab = tmp_path / "crontab"
    crontab.write_text("@hourly true\n")
    completed = subprocess.run(
        [sys.executable, "-m", "pycron", "check", str(crontab), "--cluster", url],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert "postgresql://" in completed.stderr  # it says what a cluster URL looks like


def test_cluster_status_lists_the_members(cluster: Cluster) -> None:
    box = cluster.member()
    box.write("@hourly true\n")
    daemon = cluster.start(box)
    daemon.wait_for(r" ready ", START_TIMEOUT)
    completed = subprocess.run(
        [sys.executable, "-m", "pycron", "cluster", "status", "--cluster", cluster.url, "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    status = json.loads(completed.stdout)
    assert [m["pid"] for m in status["members"]] == [daemon.pid]
    assert status["members"][0]["stale"] is False
    assert stop(daemon) == 0
    after = subprocess.run(
        [sys.executable, "-m", "pycron", "cluster", "status", "--cluster", cluster.url, "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(after.stdout)["members"] == []  # it left
