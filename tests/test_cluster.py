"""Daemons in a cluster (`pycron daemon --cluster URL`), on each backend's real
server: three daemons on one crontab run each (job, slot) once; a member
killed with -9 has its long run taken over, marked interrupted and run again
once, and the killed member, restarted, records no success over it; a
cluster that cannot be reached stops the start; `pycron cluster status`
shows the members. Each test has its own PostgreSQL database or Redis key
prefix; where a server does not answer, its tests skip, saying so."""

from __future__ import annotations

import collections
import contextlib
import itertools
import json
import os
import secrets
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from backends import PostgresServer, server_absent
from test_daemon import START_TIMEOUT, Daemon, Sandbox, stop, wait_until

from pycron.store.cluster import redacted
from pycron.store.postgresql import PostgresStore

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
        server_absent(f"no Redis server answers at {redacted(REDIS_URL)}: {error}")
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
    # Whichever member claims a slot's runs first gets them all (one claim,
    # one transaction): the runs are the members', not someone else's.
    assert {pid for _, _, pid in runs} <= {daemon.pid for daemon in daemons}


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


def histories(cluster: Cluster) -> list[tuple[str, datetime, str, str | None]]:
    """(job, slot, outcome, message) of every attempt recorded: in the shared
    database (PostgreSQL), else in each member's own history (Redis)."""
    if cluster.url.startswith("postgresql"):
        with PostgresStore.open(cluster.url) as history:
            records = history.runs()
    else:
        records = [record for box in cluster.members for record in box.runs()]
    return [(r.job_id, r.scheduled_for, r.outcome.value, r.message) for r in records]


def test_a_killed_members_run_is_taken_over_once_and_not_recorded_as_its_success(
    cluster: Cluster,
) -> None:
    stamps, ends = cluster.root / "starts.txt", cluster.root / "ends.txt"
    long_job = f"{stamped(stamps)}; sleep 6; {stamped(ends)}"
    body = f"# pycron: name=long catch-up=latest\n@every 10s {long_job}\n"
    boxes = [cluster.member() for _ in range(MEMBERS)]
    daemons = {}
    for box in boxes:
        box.write(body)
        daemon = cluster.start(box)
        daemons[daemon.pid] = (box, daemon)
    first = wait_until(lambda: starts(stamps), 10 + START_TIMEOUT, "the long job's first start")
    (job, slot, ran_by) = first[0]
    box, victim = daemons[ran_by]
    victim.process.kill()  # kill -9: no drain, no leave; its job runs on in its own session
    victim.process.wait()

    def again() -> list[tuple[str, datetime, int]]:
        return [run for run in starts(stamps) if run[1] == slot and run[2] != ran_by]

    (rerun,) = wait_until(again, 20, "the slot run again by another member")
    assert rerun[2] in daemons
    restarted = cluster.start(box)  # the killed member comes back, as a new member
    restarted.wait_for(r" ready ", START_TIMEOUT)
    # Both runs of the slot end (the first, its member gone, still writes its end).
    wait_until(lambda: len([e for e in starts(ends) if e[1] == slot]) == 2, 30, "both ends")
    for pid, (_, daemon) in daemons.items():
        if pid != ran_by:
            assert stop(daemon, 30) == 0, daemon.log()
    assert stop(restarted, 30) == 0, restarted.log()

    runs_of_slot = [run for run in starts(stamps) if run[1] == slot]
    assert len(runs_of_slot) == 2  # the first, and one run again: once
    recorded = sorted(
        (outcome, message)
        for job_id, at, outcome, message in histories(cluster)
        if (job_id, at) == (job, slot)
    )
    outcomes = [outcome for outcome, _ in recorded]
    # One success, that of the run again; the first stays interrupted, however
    # its member (restarted) saw its job end.
    assert outcomes.count("success") == 1, recorded
    assert "interrupted" in outcomes, recorded


class Proxy:
    """A TCP proxy on 127.0.0.1 in front of a server, which the test cuts (the
    connections open reset, new ones refused) and restores, on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        """Accept connections (again)."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Refuse new connections, and reset those open."""
        assert self._listener is not None
        self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._listener = None
        with self._lock:
            cut, self._open = self._open, []
        for sock in cut:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                # Closing alone would neither wake the pump reading it nor reset
                # the connection while that read goes on: the peer would wait on.
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        if self._listener is not None:
            self.cut()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._open += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy one direction of a proxied connection until either side closes."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def through(url: str, proxy: Proxy) -> str:
    """The URL with its host and port those of the proxy."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{proxy.port}"))


OUTAGE = 6.0  # seconds the cluster's server is out of reach: longer than the lease


def test_an_outage_starts_nothing_unclaimed_and_records_nothing_twice(cluster: Cluster) -> None:
    direct = cluster.url
    target = urlsplit(direct)
    proxy = Proxy((target.hostname or "127.0.0.1", target.port or 0))
    cluster.url = through(direct, proxy)
    stamps = cluster.root / "starts.txt"
    body = "".join(f"# pycron: name=t{n}\n@every 1s {stamped(stamps)}\n" for n in range(5))
    try:
        daemons = []
        for _ in range(MEMBERS):
            box = cluster.member()
            box.write(body)
            daemons.append(cluster.start(box))
        wait_until(lambda: len(starts(stamps)) >= 15, 20 + START_TIMEOUT, "runs before the cut")
        proxy.cut()
        cut = datetime.now(timezone.utc)
        time.sleep(OUTAGE)
        restored = datetime.now(timezone.utc)
        proxy.restore()

        def resumed() -> bool:
            later = {
                job for job, slot, _ in starts(stamps) if slot > restored + timedelta(seconds=2)
            }
            return len(later) == 5

        wait_until(resumed, 30, "runs of every job after the cluster is back")
        for daemon in daemons:
            assert stop(daemon, 30) == 0, daemon.log()
    finally:
        proxy.close()
        cluster.url = direct

    runs = starts(stamps)
    during = [
        (job, slot) for job, slot, _ in runs if cut + timedelta(seconds=0.5) < slot < restored
    ]
    assert not during, f"runs started while the cluster was out of reach: {during}"
    counted = collections.Counter((job, slot) for job, slot, _ in runs)
    assert max(counted.values()) == 1
    recorded = collections.Counter(
        (job, slot) for job, slot, outcome, _ in histories(cluster) if outcome == "success"
    )
    assert max(recorded.values()) == 1  # nothing recorded twice
    assert set(recorded) <= set(counted)
    logs = "".join(box.daemons[0].log() for box in cluster.members)
    assert "not started, as unclaimed" in logs or "no new run is claimed" in logs


def test_a_job_running_on_one_member_is_skipped_on_the_others(cluster: Cluster) -> None:
    """overlap=skip (the default) holds across the cluster: a slot that comes
    while the job still runs on another member is recorded skipped there."""
    spans = cluster.root / "spans.txt"
    now = r"$(date +\%s.\%N)"  # a crontab's % must be escaped
    command = f'echo "start {now}" >> {spans}; sleep 3; echo "end {now}" >> {spans}'
    body = f"# pycron: name=slow\n@every 1s {command}\n"
    daemons = []
    for _ in range(MEMBERS):
        box = cluster.member()
        box.write(body)
        daemons.append(cluster.start(box))

    def ended() -> int:
        return (
            sum(1 for line in spans.read_text().splitlines() if line.startswith("end"))
            if spans.exists()
            else 0
        )

    wait_until(lambda: ended() >= 3, 30 + START_TIMEOUT, "three runs of the slow job")
    for daemon in daemons:
        assert stop(daemon, 30) == 0, daemon.log()
    events = sorted(
        (float(at), kind) for kind, at in (line.split() for line in spans.read_text().splitlines())
    )
    running = 0
    for _, kind in events:
        running += 1 if kind == "start" else -1
        assert running <= 1, events  # never two runs of the job at once, on any member
    skipped = [
        message
        for job, _, outcome, message in histories(cluster)
        if job == "slow" and outcome == "skipped-overlap"
    ]
    # Skipped for a run on another member (a member's own run skips by its lock file).
    assert any("another member" in (message or "") for message in skipped), skipped


def test_watch_jobs_run_on_each_member_that_sees_the_change(cluster: Cluster) -> None:
    """`@watch` stays per host: every member watching a path runs the job for
    a change it sees, claimed by none of the others."""
    watched = cluster.root / "inbox"
    watched.mkdir()
    stamps = cluster.root / "starts.txt"
    body = f"# pycron: name=inbox debounce=1s\n@watch {watched} {stamped(stamps)}\n"
    daemons = []
    for _ in range(2):
        box = cluster.member()
        box.write(body)
        daemon = cluster.start(box)
        daemon.wait_for(r" ready ", START_TIMEOUT)
        daemons.append(daemon)
    (watched / "new.txt").write_text("hello\n")
    runs = wait_until(
        lambda: len(starts(stamps)) >= 2 and starts(stamps), 20, "a run on each member"
    )
    for daemon in daemons:
        assert stop(daemon, 30) == 0, daemon.log()
    assert sorted(pid for _, _, pid in runs) == sorted(daemon.pid for daemon in daemons)


BLOCK_DRIVERS = """
import sys

class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("psycopg", "redis"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Missing())
"""


@pytest.mark.parametrize(
    "command",
    [
        ["cluster", "status", "--cluster", "redis://127.0.0.1:6379/0"],
        ["daemon", "--cluster", "postgresql://postgres@127.0.0.1/postgres"],
        ["status", "--cluster", "postgresql://postgres@127.0.0.1/postgres"],
    ],
    ids=["cluster-status", "daemon", "status"],
)
def test_without_the_cluster_extra_a_command_says_what_to_install(
    tmp_path: Path, command: list[str]
) -> None:
    (tmp_path / "sitecustomize.py").write_text(BLOCK_DRIVERS)
    (tmp_path / "crontab").write_text("@hourly true\n")
    where = ["--crontab", str(tmp_path / "crontab"), "--state-dir", str(tmp_path / "state")]
    completed = subprocess.run(
        [sys.executable, "-m", "pycron", *where, *command],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "PYTHONPATH": f"{tmp_path}:{os.environ.get('PYTHONPATH', '')}"},
    )
    assert completed.returncode == 1, completed.stderr
    assert "pip install 'pycron-cli[cluster]'" in completed.stderr
    assert "Traceback" not in completed.stderr
