"""`/metrics` served for real on a loopback port and read with
prometheus_client's own parser: every figure equals what the test works out
from the history it wrote (through the store, or by a daemon on a simulated
clock), and the counters survive a restart (a new source on the same
history)."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from prometheus_client.parser import text_string_to_metric_families
from test_cli_runs import HUNGRY, Pycron
from test_daemon_plan import Simulation, utc

from pycron.crontab import Entry
from pycron.notify import Channel, Message
from pycron.records import Outcome, RunResult
from pycron.store.sqlite import SQLiteStore
from pycron.web.metrics import SourceCollector
from pycron.web.source import Source, daemon_source, file_source

UTC = timezone.utc
T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 1, 11, 58, tzinfo=UTC)
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"
README = Path(__file__).resolve().parent.parent / "README.md"

CRONTAB = """\
# pycron: name=backup
0 3 * * * true
# pycron: name=report
*/15 * * * * true
# pycron: name=boot
@reboot true
"""

# Every outcome an ended attempt can have (missed slots are counted apart).
ATTEMPT_OUTCOMES = {
    "success",
    "failed",
    "timeout",
    "error",
    "interrupted",
    "skipped-overlap",
    "blocked",
}
TIMED = {Outcome.SUCCESS, Outcome.FAILED, Outcome.TIMEOUT}

# Samples by name, each by its label values in label-name order.
Samples = dict[str, dict[tuple[str, ...], float]]


class Attempt(NamedTuple):
    """An ended attempt the test records: its job, outcome, start (minutes after
    T0), duration in seconds, and what it used: CPU seconds (user, system) and
    peak RSS, where measured."""

    job: str
    outcome: Outcome
    minute: int
    seconds: float
    cpu: tuple[float, float] | None = None
    max_rss: int | None = None

    @property
    def started(self) -> datetime:
        return T0 + timedelta(minutes=self.minute)

    @property
    def finished(self) -> datetime:
        return self.started + timedelta(seconds=self.seconds)


MIB = 1024 * 1024
ATTEMPTS = [
    Attempt("backup", Outcome.SUCCESS, 0, 0.05, (0.5, 0.25), 10 * MIB),
    Attempt("backup", Outcome.SUCCESS, 10, 2.0, (1.0, 0.5)),  # a peak too small to tell
    Attempt("backup", Outcome.FAILED, 20, 30.0, (2.0, 0.125), 30 * MIB),
    Attempt("backup", Outcome.SUCCESS, 30, 400.0),  # recorded by a pycron that did not measure
    Attempt("backup", Outcome.TIMEOUT, 40, 3600.5, (3.0, 1.0), 20 * MIB),  # the last peak
    Attempt("backup", Outcome.ERROR, 50, 0.0),
    Attempt("report", Outcome.SUCCESS, 5, 0.1, (0.1, 0.1)),  # on a bucket's bound: inside it
    Attempt("report", Outcome.SKIPPED_OVERLAP, 15, 0.0),
    Attempt("report", Outcome.INTERRUPTED, 25, 12.0),
    Attempt("report", Outcome.FAILED, 35, 21600.0),
    # A job no longer in the crontab: its history still counts.
    Attempt("gone", Outcome.SUCCESS, 45, 7200.0),
    Attempt("gone", Outcome.BLOCKED, 55, 0.0),
]

# Missed records as the daemon writes them: a catch-up decision (the slots it
# stands for), and a queued run it could not resume (one slot).
MISSED = [
    ("backup", 4, "4 missed run(s) from 2026-02-25T03:00:00+00:00 to 2026-02-28T03:00:00+00:00"),
    ("gone", 1, "queued when the daemon stopped; its job is no longer in the crontab"),
]


def write_history(state: Path, attempts: Iterable[Attempt]) -> None:
    """Record ended attempts as the runner does: started, then finished."""
    with SQLiteStore.open(state) as history:
        for attempt in attempts:
            result = RunResult(attempt.job, attempt.started, 1, Outcome.RUNNING, attempt.started)
            record = history.started(result)
            cpu_user, cpu_system = attempt.cpu or (None, None)
            ended = result._replace(
                outcome=attempt.outcome,
                finished=attempt.finished,
                cpu_user=cpu_user,
                cpu_system=cpu_system,
                max_rss=attempt.max_rss,
            )
            history.finished(record, ended)


def write_missed(state: Path) -> None:
    with SQLiteStore.open(state) as history:
        for job, slots, message in MISSED:
            moment = T0 + timedelta(hours=1)
            history.started(
                RunResult(
                    job, moment, 1, Outcome.MISSED, moment, moment, message=message, slots=slots
                )
            )


def scrape(base: str) -> Samples:
    """`/metrics`, parsed by prometheus_client."""
    with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
        assert response.headers["Content-Type"] == TEXT_FORMAT
        text = response.read().decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = tuple(value for _, value in sorted(sample.labels.items()))
            assert key not in samples.setdefault(sample.name, {}), f"{sample.name}{key} twice"
            samples[sample.name][key] = sample.value
    return samples


def by_job(samples: Samples, name: str) -> dict[str, float]:
    """A metric labelled by job alone, as {job: value}."""
    return {key[0]: value for key, value in samples.get(name, {}).items()}


def expected_runs(attempts: Iterable[Attempt], jobs: Iterable[str]) -> dict[tuple[str, str], float]:
    """Attempts per (job, outcome), every outcome of every job present (0 for none)."""
    counts = {(job, outcome): 0.0 for job in jobs for outcome in ATTEMPT_OUTCOMES}
    for attempt in attempts:
        counts[attempt.job, attempt.outcome.value] += 1
    return counts


def expected_last(attempts: Iterable[Attempt]) -> dict[tuple[str, str], float]:
    """When the last attempt per (job, outcome) ended, as Unix time."""
    last: dict[tuple[str, str], float] = {}
    for attempt in attempts:
        key = (attempt.job, attempt.outcome.value)
        last[key] = max(last.get(key, 0.0), attempt.finished.timestamp())
    return last


def check_durations(samples: Samples, attempts: Iterable[Attempt], jobs: Iterable[str]) -> None:
    """Each bucket holds the timed attempts that took at most its bound."""
    durations = {
        job: [a.seconds for a in attempts if a.job == job and a.outcome in TIMED] for job in jobs
    }
    buckets = samples["pycron_job_duration_seconds_bucket"]
    bounds = sorted({le for _, le in buckets}, key=float)
    assert bounds[0] == "0.1"
    assert bounds[-2:] == ["21600.0", "+Inf"]  # up to 6 h
    assert set(buckets) == {(job, le) for job in durations for le in bounds}
    for job, seconds in durations.items():
        for le in bounds:
            assert buckets[job, le] == sum(s <= float(le) for s in seconds), (job, le)
        assert samples["pycron_job_duration_seconds_count"][(job,)] == len(seconds)
        assert samples["pycron_job_duration_seconds_sum"][(job,)] == pytest.approx(sum(seconds))


def check_usage(samples: Samples, attempts: Iterable[Attempt], jobs: Iterable[str]) -> None:
    """CPU seconds in all per job, and the peak of its last attempt that measured one."""
    ended = sorted(attempts, key=lambda attempt: attempt.finished)
    for job in jobs:
        cpu = sum(sum(a.cpu) for a in ended if a.job == job and a.cpu is not None)
        assert samples["pycron_job_cpu_seconds_total"][(job,)] == pytest.approx(cpu)
    peaks = {a.job: float(a.max_rss) for a in ended if a.max_rss is not None}
    assert by_job(samples, "pycron_job_max_rss_bytes") == peaks


def queue_messages(state: Path) -> None:
    """Four messages of backup's first run: one delivered, one given up, two pending
    (one of them after a failed try)."""
    message = Message(Channel.ALERT, "backup", None, "json://localhost/", "backup failed", b"x")
    with SQLiteStore.open(state) as history:
        ids = history.queue_messages("backup", T0, [message] * 4, NOW)
        assert ids is not None
        history.delivered(ids[0], NOW)
        history.failed(ids[1], "refused", None)
        history.failed(ids[2], "refused", NOW + timedelta(minutes=5))


class DaemonLive:
    """The daemon side of a source, as a test gives it: the jobs of the crontab,
    none with a planned time, and fixed reload counts."""

    def __init__(self, entries: Callable[[], dict[str, Entry]], reloads: Mapping[str, int]) -> None:
        self._entries = entries
        self._reloads = reloads

    def entries(self) -> dict[str, Entry]:
        return self._entries()

    def next_fires(self) -> Mapping[str, datetime | None]:
        return {}

    def stalled_for(self) -> float:
        return 0.0

    def reload_counts(self) -> Mapping[str, int]:
        return self._reloads

    def next_start(self) -> datetime | None:
        return None


def test_metrics_follow_the_history(tmp_path: Path, serve_web: Callable[[Source], str]) -> None:
    crontab, state = tmp_path / "crontab", tmp_path / "state"
    crontab.write_text(CRONTAB)
    write_history(state, ATTEMPTS)
    write_missed(state)
    queue_messages(state)
    with SQLiteStore.open(state) as history:
        # One attempt running now (its recorder, this process, is alive), one run queued.
        history.started(RunResult("report", NOW, 1, Outcome.RUNNING, NOW - timedelta(minutes=3)))
        history.queue([RunResult("backup", NOW, 1, Outcome.QUEUED, NOW)])

    samples = scrape(serve_web(file_source(crontab, state, UTC, lambda: NOW)))

    jobs = {"backup", "report", "boot", "gone"}
    assert samples["pycron_job_runs_total"] == expected_runs(ATTEMPTS, jobs)
    assert samples["pycron_job_last_run_timestamp_seconds"] == expected_last(ATTEMPTS)
    assert by_job(samples, "pycron_job_last_success_timestamp_seconds") == {
        "backup": (T0 + timedelta(minutes=30, seconds=400)).timestamp(),
        "report": (T0 + timedelta(minutes=5, seconds=0.1)).timestamp(),
        "gone": (T0 + timedelta(minutes=45, seconds=7200)).timestamp(),
    }
    check_durations(samples, ATTEMPTS, jobs)
    check_usage(samples, ATTEMPTS, jobs)
    assert by_job(samples, "pycron_job_max_rss_bytes") == {"backup": 20 * MIB}
    assert by_job(samples, "pycron_job_missed_total") == {
        "backup": 4,
        "report": 0,
        "boot": 0,
        "gone": 1,
    }
    # Next runs after 11:58 UTC; @reboot has none.
    assert by_job(samples, "pycron_job_next_run_timestamp_seconds") == {
        "backup": datetime(2026, 3, 2, 3, 0, tzinfo=UTC).timestamp(),
        "report": datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp(),
    }
    assert by_job(samples, "pycron_job_running") == {"backup": 0, "report": 1, "boot": 0, "gone": 0}
    assert samples["pycron_jobs_queued"] == {(): 1}
    assert samples["pycron_notifications_total"] == {("delivered",): 1, ("undelivered",): 1}
    assert samples["pycron_notifications_pending"] == {(): 2}
    assert "pycron_reloads_total" not in samples  # no daemon serves this source
    assert samples["process_resident_memory_bytes"][()] > 0
    assert samples["process_cpu_seconds_total"][()] > 0


def test_totals_survive_a_restart(tmp_path: Path, serve_web: Callable[[Source], str]) -> None:
    crontab, state = tmp_path / "crontab", tmp_path / "state"
    crontab.write_text(CRONTAB)
    first, later = ATTEMPTS[:7], ATTEMPTS[7:]
    write_history(state, first)
    before = scrape(serve_web(file_source(crontab, state, UTC, lambda: NOW)))
    jobs = {"backup", "report", "boot"}
    assert before["pycron_job_runs_total"] == expected_runs(first, jobs)
    # Restarted: a new source and application on the same history, counting the same.
    again = scrape(serve_web(file_source(crontab, state, UTC, lambda: NOW)))
    for name in (
        "pycron_job_runs_total",
        "pycron_job_duration_seconds_bucket",
        "pycron_job_last_run_timestamp_seconds",
    ):
        assert again[name] == before[name]
    # Runs after the restart add to the totals.
    write_history(state, later)
    after = scrape(serve_web(file_source(crontab, state, UTC, lambda: NOW)))
    assert after["pycron_job_runs_total"] == expected_runs(ATTEMPTS, jobs | {"gone"})
    check_durations(after, ATTEMPTS, jobs | {"gone"})
    check_usage(after, ATTEMPTS, jobs | {"gone"})


def test_what_real_runs_used(tmp_path: Path, serve_web: Callable[[Source], str]) -> None:
    pycron = Pycron(tmp_path, f"# pycron: name=hungry\n@daily {HUNGRY}\n")
    for _ in range(2):
        assert pycron("run-now", "hungry").returncode == 0
    samples = scrape(serve_web(file_source(pycron.crontab, pycron.state, UTC, lambda: NOW)))
    with SQLiteStore.open_readonly(pycron.state) as history:
        last, first = history.runs("hungry")
    cpu = samples["pycron_job_cpu_seconds_total"][("hungry",)]
    assert cpu >= 0.6  # each run burns 0.3 s
    assert cpu == pytest.approx(sum(r.cpu_seconds or 0.0 for r in (first, last)))
    peak = by_job(samples, "pycron_job_max_rss_bytes")["hungry"]
    assert peak >= 64 * MIB
    assert peak == last.max_rss


def test_a_daemon_s_runs_and_missed_slots_across_its_restart(
    tmp_path: Path, serve_web: Callable[[Source], str]
) -> None:
    sim = Simulation(
        tmp_path, "# pycron: name=tick catch-up=none\n*/10 * * * * true\n", utc("07:55"), UTC
    )
    first = sim.run_until(utc("08:35"), record=True)
    assert [start.slot for start in first] == [utc(f"08:{m}0") for m in "0123"]
    samples = scrape(serve_web(file_source(sim.crontab, sim.state_dir, UTC, sim.clock)))
    assert samples["pycron_job_runs_total"][("tick", "success")] == 4
    assert by_job(samples, "pycron_job_missed_total") == {"tick": 0}
    assert by_job(samples, "pycron_job_last_success_timestamp_seconds") == {
        "tick": first[-1].at.timestamp()
    }
    assert by_job(samples, "pycron_job_next_run_timestamp_seconds") == {
        "tick": utc("08:40").timestamp()
    }

    # Down from 08:35 to 10:35:30: the slots 08:40 to 10:30 pass unrun (12 of them).
    sim.now = utc("10:35:30")
    second = sim.run_until(utc("10:55"), record=True)
    assert [start.slot for start in second] == [utc("10:40"), utc("10:50")]
    samples = scrape(serve_web(file_source(sim.crontab, sim.state_dir, UTC, sim.clock)))
    assert samples["pycron_job_runs_total"][("tick", "success")] == 6
    assert by_job(samples, "pycron_job_missed_total") == {"tick": 12}
    assert by_job(samples, "pycron_job_duration_seconds_count") == {"tick": 6}


def test_a_scrape_reads_the_history_in_as_many_queries_for_many_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    statements: list[str] = []
    connect = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        db = connect(*args, **kwargs)
        db.set_trace_callback(statements.append)
        return db

    monkeypatch.setattr(sqlite3, "connect", traced)
    counted = []
    for jobs in (2, 40):
        crontab, state = tmp_path / f"{jobs}.crontab", tmp_path / f"{jobs}.state"
        crontab.write_text(
            "".join(f"# pycron: name=job{n}\n*/5 * * * * true\n" for n in range(jobs))
        )
        write_history(
            state,
            [Attempt(f"job{n}", outcome, n, 1.0) for n in range(jobs) for outcome in TIMED],
        )
        statements.clear()
        families = list(SourceCollector(file_source(crontab, state, UTC, lambda: NOW)).collect())
        runs = next(family for family in families if family.name == "pycron_job_runs")
        assert len(runs.samples) == jobs * len(ATTEMPT_OUTCOMES)
        counted.append(len(statements))
    assert counted[0] == counted[1]


def test_a_daemon_s_reloads_are_counted(tmp_path: Path, serve_web: Callable[[Source], str]) -> None:
    crontab, state = tmp_path / "crontab", tmp_path / "state"
    crontab.write_text(CRONTAB)
    jobs = file_source(crontab, state, UTC, lambda: NOW)
    live = DaemonLive(jobs.entries, {"success": 3})
    source = daemon_source(live, state, UTC, lambda: NOW)
    samples = scrape(serve_web(source))
    assert samples["pycron_job_runs_total"] == expected_runs([], {"backup", "report", "boot"})
    assert samples["pycron_reloads_total"] == {("success",): 3, ("error",): 0}


def test_an_unreadable_history_fails_the_scrape_saying_where(
    tmp_path: Path, serve_web: Callable[[Source], str]
) -> None:
    crontab, state = tmp_path / "crontab", tmp_path / "state"
    crontab.write_text(CRONTAB)
    state.mkdir(mode=0o700)
    (state / "history.db").write_bytes(b"not a database at all\n")
    base = serve_web(file_source(crontab, state, UTC, lambda: NOW))
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(base + "/metrics", timeout=10)
    assert raised.value.code == 503
    assert str(state / "history.db") in raised.value.read().decode()


# The README's alert rules against series as pycron exports them (scraped with
# `honor_labels: true`), in promtool's unit-test format: minute by minute, a
# job whose last attempt failed alerts until it succeeds, as does one that
# never succeeded; an hourly job alerts once it has not succeeded for two
# hours (not before), and one that succeeds every hour never does.
RULE_TESTS = """\
rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 5m
    input_series:
      - series: 'pycron_job_running{instance="h",job="backup"}'
        values: '0x6'
      - series: 'pycron_job_running{instance="h",job="never"}'
        values: '0x6'
      - series: 'pycron_job_running{instance="h",job="ok"}'
        values: '0x6'
      - series: 'pycron_job_last_run_timestamp_seconds{instance="h",job="backup",outcome="success"}'
        values: '100x2 1000x4'
      - series: 'pycron_job_last_success_timestamp_seconds{instance="h",job="backup"}'
        values: '100x2 1000x4'
      - series: 'pycron_job_last_run_timestamp_seconds{instance="h",job="backup",outcome="failed"}'
        values: '_ 700x5'
      - series: 'pycron_job_last_run_timestamp_seconds{instance="h",job="never",outcome="timeout"}'
        values: '50x6'
      - series: 'pycron_job_last_run_timestamp_seconds{instance="h",job="ok",outcome="failed"}'
        values: '200x6'
      - series: 'pycron_job_last_run_timestamp_seconds{instance="h",job="ok",outcome="success"}'
        values: '300x6'
      - series: 'pycron_job_last_success_timestamp_seconds{instance="h",job="ok"}'
        values: '300x6'
    alert_rule_test:
      - eval_time: 0m
        alertname: CronJobFailing
        exp_alerts:
          - exp_labels: {instance: h, job: never}
            exp_annotations: {summary: "never failed on h"}
      - eval_time: 10m
        alertname: CronJobFailing
        exp_alerts:
          - exp_labels: {instance: h, job: backup}
            exp_annotations: {summary: "backup failed on h"}
          - exp_labels: {instance: h, job: never}
            exp_annotations: {summary: "never failed on h"}
      - eval_time: 20m
        alertname: CronJobFailing
        exp_alerts:
          - exp_labels: {instance: h, job: never}
            exp_annotations: {summary: "never failed on h"}
  - interval: 1h
    input_series:
      - series: 'pycron_job_last_success_timestamp_seconds{instance="h",job="hourly"}'
        values: '0x4'
      - series: 'pycron_job_last_run_timestamp_seconds{instance="h",job="hourly",outcome="success"}'
        values: '0x4'
      - series: 'pycron_job_last_run_timestamp_seconds{instance="h",job="hourly",outcome="failed"}'
        values: '_ 3610 7210 10810 14410'
      - series: 'pycron_job_next_run_timestamp_seconds{instance="h",job="hourly"}'
        values: '3600+3600x4'
      - series: 'pycron_job_last_success_timestamp_seconds{instance="h",job="fine"}'
        values: '10+3600x4'
      - series: 'pycron_job_last_run_timestamp_seconds{instance="h",job="fine",outcome="success"}'
        values: '10+3600x4'
      - series: 'pycron_job_next_run_timestamp_seconds{instance="h",job="fine"}'
        values: '3600+3600x4'
    alert_rule_test:
      - eval_time: 90m
        alertname: CronJobNotSucceeding
        exp_alerts: []
      - eval_time: 2h
        alertname: CronJobNotSucceeding
        exp_alerts:
          - exp_labels: {instance: h, job: hourly}
            exp_annotations:
              summary: "hourly on h has not succeeded for over twice its interval"
"""


@pytest.fixture(scope="session")
def promtool(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Prometheus's rule checker: the installed one, else taken out of Debian's
    prometheus package, downloaded but not installed (no service is started)."""
    found = shutil.which("promtool")
    if found is not None:
        return found
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        pytest.skip("promtool is not installed and there is no apt-get to fetch it")
    where = tmp_path_factory.mktemp("prometheus")
    fetched = subprocess.run(
        ["apt-get", "download", "-q", "prometheus"],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    packages = sorted(where.glob("prometheus_*.deb"))
    if fetched.returncode != 0 or not packages:
        pytest.skip(f"promtool is not installed and apt-get download failed: {fetched.stderr}")
    subprocess.run(["dpkg-deb", "-x", str(packages[0]), str(where / "root")], check=True)
    return str(where / "root" / "usr" / "bin" / "promtool")


def test_the_readme_s_alert_rules_fire_when_they_should(tmp_path: Path, promtool: str) -> None:
    section = README.read_text().split("\n## Metrics\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)
    rules = [block for block in blocks if block.startswith("groups:")]
    assert len(rules) == 1, "the Metrics section shows one block of alert rules"
    (tmp_path / "rules.yml").write_text(rules[0])
    (tmp_path / "tests.yml").write_text(RULE_TESTS)
    checked = subprocess.run(
        [promtool, "test", "rules", "tests.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
