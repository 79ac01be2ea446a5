"""The shapes in which pycron shows its jobs, runs and findings to programs:
one place for the JSON of the CLI (`--json`) and of the status page's API,
so that the two never drift apart.

Each view is a plain dict of JSON values: times as ISO 8601 text with their
offset, paths as text, absent values as None.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo

from pycron.crontab import Cron, Entry, Finding, Line
from pycron.expr import FIELD_NAMES
from pycron.records import this_host
from pycron.store import DeliveryRecord, RunRecord, RunStats, Store, orphan_note


def finding_view(finding: Finding) -> dict[str, object]:
    """An error or warning of `check`, its column 1-based as editors count."""
    return {
        "path": finding.path,
        "line": finding.line,
        "column": finding.column + 1,
        "severity": finding.severity.value,
        "code": finding.code,
        "message": finding.message,
        "hint": finding.hint,
    }


def line_view(line: Line) -> dict[str, object]:
    """How pycron reads one physical line (`check --lines`)."""
    view: dict[str, object] = {"line": line.number, "kind": line.kind.value, "text": line.text}
    if line.env is not None:
        view["name"], view["value"] = line.env.name, line.env.value
    if line.options:
        view["options"] = dict(line.options)
    if line.findings:
        view["errors"] = [f"{f.column + 1}: {f.message}" for f in line.findings]
    if line.job is not None:
        view.update(job_view(line.job))
    return view


def job_view(entry: Entry) -> dict[str, object]:
    """A job as the crontab defines it (with the expanded fields of a cron schedule)."""
    schedule = entry.schedule
    view: dict[str, object] = {
        "id": entry.id,
        "schedule": schedule.text,
        "user": entry.user,
        "command": entry.command,
        "stdin": entry.stdin,
        "enabled": entry.enabled,
        "options": dict(entry.options.given),
    }
    if isinstance(schedule, Cron):
        expression = schedule.expression
        view["fields"] = {
            FIELD_NAMES[f.index]: sorted(f.values) if f.values or not f.items else []
            for f in expression.fields
        }
        view["extensions"] = [
            item.text
            for f in expression.fields
            for item in f.items
            if item.kind not in ("star", "any", "value", "range")
        ]
        if schedule.random:
            view["picked"] = expression.text
        view["tz"] = str(expression.tz) if expression.tz is not None else None
    return view


def run_view(record: RunRecord, host: str | None = None) -> dict[str, object]:
    """One recorded attempt; a run that outlived the pycron that started it
    says so in its message (`pycron gone, pid N`; `host` is this machine's).
    What it used: CPU seconds (user, system) and peak RSS in bytes, null
    where not measured."""
    here = this_host() if host is None else host
    return {
        "run": record.id,
        "job": record.job_id,
        "scheduled_for": record.scheduled_for.isoformat(),
        "attempt": record.attempt,
        "outcome": record.outcome.value,
        "exit_code": record.exit_code,
        "signal": record.signal,
        "started": record.started.isoformat(),
        "finished": record.finished.isoformat() if record.finished else None,
        "duration": record.duration,
        "stdout": str(record.stdout_path) if record.stdout_path else None,
        "stderr": str(record.stderr_path) if record.stderr_path else None,
        "host": record.host,
        "pid": record.pid,
        "message": record.message or orphan_note(record, here),
        "cpu_user": record.cpu_user,
        "cpu_system": record.cpu_system,
        "max_rss": record.max_rss,
    }


def deliveries_view(deliveries: list[DeliveryRecord]) -> list[dict[str, object]]:
    """The messages a run owed and what became of each (`history --json`);
    targets redacted."""
    return [
        {
            "channel": delivery.channel.value,
            "target": delivery.target,
            "state": delivery.state.value,
            "attempts": delivery.attempts,
            "error": delivery.error,
            "delivered": delivery.delivered.isoformat() if delivery.delivered else None,
        }
        for delivery in deliveries
    ]


def history_view(
    records: list[RunRecord],
    triggers: Mapping[int, tuple[int, ...]],
    deliveries: Mapping[int, list[DeliveryRecord]],
    host: str | None = None,
) -> list[dict[str, object]]:
    """Runs as `history --json` shows them: each attempt (`run_view`) with the
    upstream runs that triggered it (a list, or None for a run no trigger
    started) and the messages it owed."""
    return [
        {
            **run_view(record, host),
            "trigger": list(triggers[record.id]) if record.id in triggers else None,
            "deliveries": deliveries_view(deliveries.get(record.id, [])),
        }
        for record in records
    ]


def stats_view(job_id: str | None, stats: RunStats) -> dict[str, object]:
    """Figures over ended attempts (`stats --json`), of job `job_id` or of all
    jobs (None): durations in seconds, failures by outcome, counts per day,
    CPU seconds in all and the largest peak RSS in bytes."""
    return {
        "job": job_id,
        "runs": stats.runs,
        "successes": stats.successes,
        "success_rate": stats.success_rate,
        "duration": {
            "min": stats.duration_min,
            "avg": stats.duration_avg,
            "p95": stats.duration_p95,
            "max": stats.duration_max,
        },
        "failures": {outcome.value: count for outcome, count in stats.failures.items()},
        "per_day": {day.isoformat(): counts._asdict() for day, counts in stats.per_day.items()},
        "cpu_seconds": stats.cpu_seconds,
        "max_rss": stats.max_rss,
    }


def status_view(
    jobs: Mapping[str, Entry],
    next_fires: Mapping[str, datetime | None],
    history: Store,
    zone: tzinfo | None,
) -> dict[str, object]:
    """What runs and what is next: every job with its next run (in `zone`),
    whether it runs or waits and its last run; the runs going and queued.
    What the status page shows of a daemon, or of a crontab file."""
    last, running, queued = history.last_per_job(), history.running(), history.queued()
    going, waiting = {r.job_id for r in running}, {r.job_id for r in queued}
    views = []
    for job_id, entry in jobs.items():
        fire = next_fires.get(job_id)
        record = last.get(job_id)
        views.append(
            {
                **job_view(entry),
                "next": fire.astimezone(zone).isoformat() if fire is not None else None,
                "running": job_id in going,
                "queued": job_id in waiting,
                "last": run_view(record, history.host) if record else None,
            }
        )
    return {
        "jobs": views,
        "running": [run_view(r, history.host) for r in running],
        "queued": [run_view(r, history.host) for r in queued],
    }
