"""Prometheus metrics at `/metrics`: the jobs' attempts by outcome, their
durations, CPU time and peak memory, last and next runs, what runs and
waits, missed slots, crontab reloads and notifications, and the serving
process's own figures.

Everything about jobs is computed from the run history (and the jobs of the
source) at each scrape, in a few queries whatever the number of jobs, so a
restart resets nothing: the counters count what the history holds. A job
removed from the crontab still counts as long as its runs are in the
history; `pycron history prune` forgets runs, which Prometheus reads as a
counter reset.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime

from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from pycron.errors import PycronError
from pycron.records import Outcome
from pycron.store import Delivery, JobTotals
from pycron.web.source import Snapshot, Source

# The Prometheus text format, version 0.0.4: what `generate_latest` writes.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Upper bounds of the duration buckets, in seconds: cron jobs take anything
# from a tenth of a second to hours.
BUCKETS = (
    0.1,
    0.5,
    1.0,
    5.0,
    15.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    1800.0,
    3600.0,
    7200.0,
    21600.0,
)

# The outcomes of ended attempts; missed slots are counted apart, as nothing ran.
ATTEMPT_OUTCOMES = tuple(
    outcome
    for outcome in Outcome
    if outcome not in {Outcome.QUEUED, Outcome.RUNNING, Outcome.MISSED}
)

# Where a message of the outbox ends (a count that only grows); the pending ones are a gauge.
SETTLED_DELIVERIES = (Delivery.DELIVERED, Delivery.UNDELIVERED)

# The results of crontab loads a daemon counts, reported even while still 0.
RELOAD_RESULTS = ("success", "error")


def routes(source: Source) -> list[BaseRoute]:
    """`/metrics`, with a registry of its own: the source's metrics and the
    process's (CPU, memory, open files, Python's platform and GC)."""
    registry = CollectorRegistry()
    registry.register(SourceCollector(source))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)

    def metrics(request: Request) -> Response:
        """Every metric, in the Prometheus text format; 503 while the history
        or the crontab cannot be read (the scrape fails, saying why)."""
        try:
            body = generate_latest(registry)
        except PycronError as error:
            return PlainTextResponse(f"{error}\n", status_code=503)
        return Response(body, media_type=CONTENT_TYPE)

    return [Route("/metrics", metrics)]


class SourceCollector:
    """The metrics of one source's jobs and history, computed at each scrape."""

    def __init__(self, source: Source) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        """The metric families of the jobs, the history and the daemon."""
        snapshot = self._source.snapshot()
        with self._source.store() as history:
            totals = history.totals(BUCKETS)
            outbox = history.outbox_counts()
        jobs = _views(snapshot, "jobs")
        running = [str(run["job"]) for run in _views(snapshot, "running")]
        names = sorted({str(job["id"]) for job in jobs} | set(totals) | set(running))
        yield _runs(names, totals)
        yield _durations(names, totals)
        yield from _last_runs(totals)
        yield _next_runs(jobs)
        yield _running(names, running)
        yield _missed(names, totals)
        yield from _usage(names, totals)
        yield GaugeMetricFamily(
            "pycron_jobs_queued",
            "Runs that are due and wait for a worker.",
            value=len(_views(snapshot, "queued")),
        )
        yield from _notifications(outbox)
        live = self._source.live
        if live is not None:
            yield _reloads(live.reload_counts())


def _runs(names: Sequence[str], totals: Mapping[str, JobTotals]) -> Metric:
    family = CounterMetricFamily(
        "pycron_job_runs_total",
        "Ended attempts of a job (each retry is one), by outcome, over the run history.",
        labels=["job", "outcome"],
    )
    for name in names:
        ended = totals[name].ended if name in totals else {}
        for outcome in ATTEMPT_OUTCOMES:
            family.add_metric([name, outcome.value], ended.get(outcome, 0))
    return family


def _durations(names: Sequence[str], totals: Mapping[str, JobTotals]) -> Metric:
    family = HistogramMetricFamily(
        "pycron_job_duration_seconds",
        "Durations of a job's attempts that ran to an end (success, failed, timeout).",
        labels=["job"],
    )
    bounds = [*map(repr, BUCKETS), "+Inf"]
    for name in names:
        if name in totals:
            within, attempts, seconds = totals[name].durations
        else:
            within, attempts, seconds = (0,) * len(BUCKETS), 0, 0.0
        family.add_metric([name], list(zip(bounds, [*within, attempts], strict=True)), seconds)
    return family


def _last_runs(totals: Mapping[str, JobTotals]) -> Iterator[Metric]:
    last = GaugeMetricFamily(
        "pycron_job_last_run_timestamp_seconds",
        "When the last attempt of a job with this outcome ended (Unix time).",
        labels=["job", "outcome"],
    )
    success = GaugeMetricFamily(
        "pycron_job_last_success_timestamp_seconds",
        "When the last successful attempt of a job ended (Unix time).",
        labels=["job"],
    )
    for name, job in totals.items():
        for outcome in ATTEMPT_OUTCOMES:
            ended = job.last_ended.get(outcome)
            if ended is not None:
                last.add_metric([name, outcome.value], ended.timestamp())
        succeeded = job.last_ended.get(Outcome.SUCCESS)
        if succeeded is not None:
            success.add_metric([name], succeeded.timestamp())
    yield last
    yield success


def _next_runs(jobs: Sequence[Mapping[str, object]]) -> Metric:
    family = GaugeMetricFamily(
        "pycron_job_next_run_timestamp_seconds",
        "When a job runs next (Unix time); absent for a job without a time (disabled, @reboot...).",
        labels=["job"],
    )
    for job in jobs:
        upcoming = job["next"]
        if isinstance(upcoming, str):
            family.add_metric([str(job["id"])], datetime.fromisoformat(upcoming).timestamp())
    return family


def _running(names: Sequence[str], running: Sequence[str]) -> Metric:
    family = GaugeMetricFamily(
        "pycron_job_running",
        "Attempts of a job running now.",
        labels=["job"],
    )
    for name in names:
        family.add_metric([name], running.count(name))
    return family


def _missed(names: Sequence[str], totals: Mapping[str, JobTotals]) -> Metric:
    family = CounterMetricFamily(
        "pycron_job_missed_total",
        "Scheduled slots of a job that passed without a run (down and not caught up).",
        labels=["job"],
    )
    for name in names:
        family.add_metric([name], totals[name].missed_slots if name in totals else 0)
    return family


def _usage(names: Sequence[str], totals: Mapping[str, JobTotals]) -> Iterator[Metric]:
    cpu = CounterMetricFamily(
        "pycron_job_cpu_seconds_total",
        "CPU time (user and system) of a job's attempts and the processes they waited for.",
        labels=["job"],
    )
    rss = GaugeMetricFamily(
        "pycron_job_max_rss_bytes",
        "Peak resident memory of the largest process of a job's last attempt that measured one.",
        labels=["job"],
    )
    for name in names:
        job = totals.get(name)
        cpu.add_metric([name], job.cpu_seconds if job is not None else 0.0)
        if job is not None and job.max_rss is not None:
            rss.add_metric([name], job.max_rss)
    yield cpu
    yield rss


def _notifications(outbox: Mapping[Delivery, int]) -> Iterator[Metric]:
    settled = CounterMetricFamily(
        "pycron_notifications_total",
        "Messages owed by runs (mail, alerts) that were delivered, or given up (undelivered).",
        labels=["outcome"],
    )
    for state in SETTLED_DELIVERIES:
        settled.add_metric([state.value], outbox[state])
    yield settled
    yield GaugeMetricFamily(
        "pycron_notifications_pending",
        "Messages owed by runs that wait for their delivery, or for a retry.",
        value=outbox[Delivery.PENDING],
    )


def _reloads(counts: Mapping[str, int]) -> Metric:
    family = CounterMetricFamily(
        "pycron_reloads_total",
        "Crontab loads since the daemon started, by result.",
        labels=["result"],
    )
    for result, count in {**dict.fromkeys(RELOAD_RESULTS, 0), **counts}.items():
        family.add_metric([result], count)
    return family


def _views(snapshot: Snapshot, key: str) -> list[Mapping[str, object]]:
    """A list of views of a snapshot (`pycron.views.status_view`)."""
    views = snapshot[key]
    assert isinstance(views, list)
    return views
