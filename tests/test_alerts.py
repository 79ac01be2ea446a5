"""Alerts: which runs alert, throttling, the alert's text, delivery to a real
webhook on loopback through apprise, target checks and redaction."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import NamedTuple

import pytest

from pycron.crontab import Entry, NotifyEvent, Severity, parse
from pycron.lint import lint
from pycron.notify import Channel, DeliveryError, Message, alerts
from pycron.notify.alerts import (
    TITLE_WIDTH,
    AlertFacts,
    alert_messages,
    check_target,
    redact_target,
    run_events,
    send_alert,
    start_messages,
    throttle,
)
from pycron.records import Outcome, RunResult
from pycron.store import JobPast

UTC = timezone.utc
T0 = datetime(2026, 3, 2, 14, 2, tzinfo=UTC)
HOOK = "json://127.0.0.1:9/hook"
FACTS = AlertFacts("web01.example.com", run_id=7, targets=("json://default.example/hook",))


def job(options: str = f"notify={HOOK}", command: str = "backup.sh") -> Entry:
    """The one entry of a crontab with an options comment above `0 3 * * *`."""
    text = (f"# pycron: {options}\n" if options else "") + f"0 3 * * * {command}\n"
    crontab, errors = parse(text)
    assert errors == []
    (entry,) = crontab.entries
    return entry


def run(outcome: Outcome, at: datetime = T0, **more: object) -> RunResult:
    """A finished attempt of job `backup` that took 90 seconds."""
    fields: dict[str, object] = {"exit_code": 0 if outcome is Outcome.SUCCESS else None}
    fields.update(more)
    return RunResult(
        "backup",
        at,
        1,
        outcome,
        at - timedelta(seconds=90),
        at,
        **fields,  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------- events

FAILED, SUCCESS = Outcome.FAILED, Outcome.SUCCESS
E = NotifyEvent


@pytest.mark.parametrize(
    ("outcome", "previous", "events"),
    [
        (Outcome.FAILED, None, (E.FAILURE,)),
        (Outcome.TIMEOUT, SUCCESS, (E.FAILURE,)),
        (Outcome.ERROR, SUCCESS, (E.FAILURE,)),
        (Outcome.INTERRUPTED, SUCCESS, (E.FAILURE,)),
        (Outcome.SUCCESS, None, (E.SUCCESS,)),
        (Outcome.SUCCESS, SUCCESS, (E.SUCCESS,)),
        (Outcome.SUCCESS, FAILED, (E.RECOVERY, E.SUCCESS)),
        (Outcome.SUCCESS, Outcome.TIMEOUT, (E.RECOVERY, E.SUCCESS)),
        (Outcome.MISSED, FAILED, (E.MISSED,)),
        (Outcome.SKIPPED_OVERLAP, FAILED, ()),
    ],
)
def test_the_events_a_run_raises(
    outcome: Outcome, previous: Outcome | None, events: tuple[NotifyEvent, ...]
) -> None:
    assert run_events(run(outcome), JobPast(previous)) == events


@pytest.mark.parametrize(
    ("notify_on", "outcome", "previous", "title"),
    [
        ("failure,recovery", FAILED, SUCCESS, "✗ backup failed (exit 3) on web01"),
        ("failure,recovery", SUCCESS, FAILED, "✓ backup recovered on web01"),
        ("failure,recovery", SUCCESS, SUCCESS, None),
        ("failure,recovery", Outcome.MISSED, SUCCESS, None),
        ("success", SUCCESS, FAILED, "✓ backup succeeded on web01"),
        ("success,recovery", SUCCESS, FAILED, "✓ backup recovered on web01"),
        ("recovery", FAILED, SUCCESS, None),
        ("missed", Outcome.MISSED, SUCCESS, "⚠ backup missed runs on web01"),
        ("failure", Outcome.TIMEOUT, SUCCESS, "✗ backup timed out on web01"),
        ("failure", Outcome.ERROR, SUCCESS, "✗ backup could not start on web01"),
        ("failure", Outcome.INTERRUPTED, SUCCESS, "✗ backup interrupted on web01"),
        ("start", SUCCESS, SUCCESS, None),
    ],
)
def test_a_job_alerts_the_events_it_is_set_to(
    notify_on: str, outcome: Outcome, previous: Outcome, title: str | None
) -> None:
    entry = job(f"name=backup notify={HOOK} notify-on={notify_on}")
    exit_code = 3 if outcome is FAILED else (0 if outcome is SUCCESS else None)
    messages = alert_messages(entry, run(outcome, exit_code=exit_code), JobPast(previous), FACTS)
    assert [m.title for m in messages] == ([title] if title else [])


@pytest.mark.parametrize(
    ("options", "defaults", "targets"),
    [
        (f"notify={HOOK}", ("json://default/x",), [HOOK]),
        (f'notify="{HOOK}, ntfys://topic"', (), [HOOK, "ntfys://topic"]),
        ("name=backup", ("json://default/x",), ["json://default/x"]),
        ("name=backup", (), []),
    ],
)
def test_alerts_go_to_the_jobs_targets_else_the_daemons(
    options: str, defaults: tuple[str, ...], targets: list[str]
) -> None:
    facts = FACTS._replace(targets=defaults)
    messages = alert_messages(job(options), run(FAILED, exit_code=1), JobPast(), facts)
    assert [m.target for m in messages] == targets
    assert all(m.channel is Channel.ALERT and m.run_id == 7 for m in messages)


def test_a_start_alerts_once_for_the_first_attempt_only() -> None:
    entry = job(f"name=backup notify={HOOK} notify-on=start,failure")
    first = RunResult("backup", T0, 1, Outcome.RUNNING, T0)
    assert [m.title for m in start_messages(entry, first, FACTS)] == ["▶ backup started on web01"]
    assert start_messages(entry, first._replace(attempt=2), FACTS) == []
    assert start_messages(job(f"name=backup notify={HOOK}"), first, FACTS) == []


# --------------------------------------------------------------------------- throttling


class Day(NamedTuple):
    alerts: list[tuple[datetime, str]]  # when, and the body's second line (the note, or "")
    past: JobPast


def remember(past: JobPast, result: RunResult, event: NotifyEvent | None, sent: bool) -> JobPast:
    """The test's model of what the store knows after `result`, whose alert of
    `event` was `sent` or not (the store's own `job_past` is tested against
    recorded runs in test_outbox)."""
    if result.outcome is Outcome.SUCCESS:
        return JobPast(Outcome.SUCCESS)
    if result.outcome not in alerts.FAILURES:
        return past
    if event is NotifyEvent.FAILURE and sent:
        return JobPast(result.outcome, result.finished or result.started, 0)
    return JobPast(result.outcome, past.last_failure_alert, past.failures + 1)


def simulate(entry: Entry, outcomes: list[tuple[datetime, Outcome]], past: JobPast) -> Day:
    """Runs in order, the history kept as the store keeps it (`remember`)."""
    alerts: list[tuple[datetime, str]] = []
    for at, outcome in outcomes:
        result = run(outcome, at, exit_code=0 if outcome is SUCCESS else 1)
        messages = alert_messages(entry, result, past, FACTS)
        events = [e for e in run_events(result, past) if e in entry.options.notify_on]
        for message in messages:
            alerts.append((at, message.payload.decode().split("\n")[1]))
        past = remember(past, result, events[0] if events else None, bool(messages))
    return Day(alerts, past)


def test_a_job_failing_every_minute_alerts_once_an_hour_with_a_count() -> None:
    entry = job(f"name=backup notify={HOOK}")  # notify-every defaults to 1h
    minutes = [(T0 + timedelta(minutes=n), FAILED) for n in range(24 * 60)]
    day = simulate(entry, minutes, JobPast(SUCCESS))
    assert len(day.alerts) == 24
    assert day.alerts[0] == (T0, "")
    assert day.alerts[1] == (T0 + timedelta(hours=1), "failed 59 more times since 14:02")
    assert day.alerts[-1] == (
        T0 + timedelta(hours=23),
        "failed 59 more times since 12:02",
    )
    assert day.past.failures == 59
    recovered = simulate(entry, [(T0 + timedelta(days=1), SUCCESS)], day.past)
    assert recovered.alerts == [(T0 + timedelta(days=1), "failed 59 more times since 13:02")]
    assert recovered.past == JobPast(SUCCESS)
    after = simulate(entry, [(T0 + timedelta(days=1, minutes=1), SUCCESS)], recovered.past)
    assert after.alerts == []


@pytest.mark.parametrize(
    ("event", "minutes_after", "past", "expected"),
    [
        (E.FAILURE, 0, JobPast(SUCCESS), (True, None)),
        (E.FAILURE, 59, JobPast(FAILED, T0, 58), (False, None)),
        (E.FAILURE, 60, JobPast(FAILED, T0, 59), (True, "failed 59 more times since 14:02")),
        (E.FAILURE, 90, JobPast(FAILED, T0, 0), (True, None)),
        (E.RECOVERY, 5, JobPast(FAILED, T0, 4), (True, "failed 4 more times since 14:02")),
        (E.RECOVERY, 5, JobPast(FAILED, T0, 0), (True, None)),
        (E.RECOVERY, 5, JobPast(FAILED, None, 4), (True, None)),  # no failure alert went out
        (E.SUCCESS, 5, JobPast(SUCCESS), (True, None)),
        (E.MISSED, 5, JobPast(FAILED, T0, 4), (True, None)),
    ],
)
def test_throttle(
    event: NotifyEvent, minutes_after: int, past: JobPast, expected: tuple[bool, str | None]
) -> None:
    at = T0 + timedelta(minutes=minutes_after)
    assert tuple(throttle(event, at, past, timedelta(hours=1))) == expected


def test_failures_a_job_does_not_alert_on_leave_the_recovery_without_a_count() -> None:
    entry = job(f"name=backup notify={HOOK} notify-on=recovery")
    runs = [(T0, FAILED), (T0 + timedelta(minutes=1), FAILED), (T0 + timedelta(minutes=2), SUCCESS)]
    assert simulate(entry, runs, JobPast(SUCCESS)).alerts == [(runs[2][0], "")]


# --------------------------------------------------------------------------- the text


def test_the_title_fits_a_phone() -> None:
    entry = job(f"name={'nightly-database-backup-' * 2}x notify={HOOK}")
    facts = FACTS._replace(host="a-very-long-host-name-indeed-for-a-title.example.com")
    (message,) = alert_messages(entry, run(FAILED, signal=9), JobPast(), facts)
    assert len(message.title) <= TITLE_WIDTH
    assert message.title == "✗ nightly-database-backup-… killed (SIGKILL) on a-very-long…"


def write_log(path: Path, count: int, word: str) -> Path:
    path.write_text("".join(f"{word} {n}\n" for n in range(1, count + 1)))
    return path


def test_the_body_carries_the_runs_facts_and_the_end_of_stderr(tmp_path: Path) -> None:
    entry = job(f"name=backup notify={HOOK} retries=2", command="/usr/local/bin/backup --all")
    result = run(
        FAILED,
        exit_code=2,
        stdout_path=write_log(tmp_path / "out.log", 5, "out"),
        stderr_path=write_log(tmp_path / "err.log", 30, "err"),
    )._replace(attempt=3)
    facts = FACTS._replace(next_run=datetime(2026, 3, 3, 3, 0, tzinfo=UTC))
    (message,) = alert_messages(entry, result, JobPast(), facts)
    body = message.payload.decode()
    lines = body.split("\n")
    assert lines[0] == "backup failed (exit 2) on web01.example.com"
    for row in (
        "job:      backup",
        "host:     web01.example.com",
        "schedule: 0 3 * * *",
        "command:  /usr/local/bin/backup --all",
        "outcome:  failed, exit code 2",
        "attempt:  3 of 3",
        "duration: 1m30s",
        "run:      7",
        "slot:     2026-03-02 14:02:00 UTC",
        f"stderr:   {tmp_path / 'err.log'}",
        f"stdout:   {tmp_path / 'out.log'}",
        "next run: 2026-03-03 03:00:00 UTC",
    ):
        assert row in lines
    heading = lines.index("last 20 lines of stderr:")
    assert lines[heading + 1 :] == [f"err {n}" for n in range(11, 31)]


@pytest.mark.parametrize(
    ("stderr_lines", "expected"),
    [
        (0, ["last 5 lines of stdout:", "out 1", "out 2", "out 3", "out 4", "out 5"]),
        (1, ["last line of stderr:", "err 1"]),
    ],
)
def test_the_tail_is_of_stdout_when_stderr_is_empty(
    tmp_path: Path, stderr_lines: int, expected: list[str]
) -> None:
    result = run(
        Outcome.TIMEOUT,
        stdout_path=write_log(tmp_path / "out.log", 5, "out"),
        stderr_path=write_log(tmp_path / "err.log", stderr_lines, "err"),
    )
    (message,) = alert_messages(job(), result, JobPast(), FACTS)
    lines = message.payload.decode().split("\n")
    assert lines[-len(expected) :] == expected


def test_a_missing_log_leaves_the_tail_out(tmp_path: Path) -> None:
    result = run(Outcome.ERROR, stderr_path=tmp_path / "gone.log", message="no such directory")
    (message,) = alert_messages(job(), result, JobPast(), FACTS)
    body = message.payload.decode()
    assert "outcome:  error: no such directory" in body.split("\n")
    assert "last" not in body


# --------------------------------------------------------------------------- delivery


class Hook(NamedTuple):
    url: str  # a json:// URL of the server, with a password in it
    received: list[tuple[str, dict[str, object]]]  # path and JSON of each POST
    status: list[int]  # what the server answers (settable)


@pytest.fixture
def hook() -> Iterator[Hook]:
    """A webhook on loopback, in a thread of the test process."""
    received: list[tuple[str, dict[str, object]]] = []
    status = [200]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            size = int(self.headers["Content-Length"])
            received.append((self.path, json.loads(self.rfile.read(size))))
            self.send_response(status[0])
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test reads what arrived."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        yield Hook(f"json://alice:s3cretpass@127.0.0.1:{port}/hooks/pycron", received, status)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def alert_to(url: str) -> Message:
    entry = job(f"name=backup notify={url}")
    (message,) = alert_messages(entry, run(FAILED, exit_code=1), JobPast(), FACTS)
    return message


def test_an_alert_arrives_at_a_webhook(hook: Hook) -> None:
    message = alert_to(hook.url)
    send_alert(message)
    ((path, data),) = hook.received
    assert path == "/hooks/pycron"
    assert data["title"] == "✗ backup failed (exit 1) on web01"
    assert data["message"] == message.payload.decode()
    assert str(data["message"]).startswith("backup failed (exit 1) on web01.example.com\n")


def test_a_webhook_answering_500_is_a_temporary_failure(hook: Hook) -> None:
    hook.status[0] = 500
    with pytest.raises(DeliveryError) as caught:
        send_alert(alert_to(hook.url))
    assert not caught.value.permanent
    assert "500" in caught.value.reason
    assert "s3cretpass" not in str(caught.value)
    assert len(hook.received) == 1


def test_an_unreadable_url_is_a_permanent_failure() -> None:
    message = alert_to(HOOK)._replace(target="nosuchservice://host/abcdefghijklmnopqrstu")
    with pytest.raises(DeliveryError) as caught:
        send_alert(message)
    assert caught.value.permanent
    assert "abcdefghijklmnopqrstu" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("json://host/path", False),
        ("ntfys://topic", False),
        ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general", False),
        ("nosuchservice://host", True),
        ("json://", True),
        ("just words", True),
    ],
)
def test_check_target(url: str, problem: bool) -> None:
    assert (check_target(url) is not None) == problem


@pytest.mark.parametrize(
    ("url", "secrets", "kept"),
    [
        ("json://user:pass1234@host/path", ["pass1234"], "json://user:"),
        (
            "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general",
            ["T1JJ3T3L2", "A1BRTD4JD", "TIiajkdnlazkcOXrIdevi7FQ"],
            "slack://",
        ),
        (
            "https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ",
            ["TIiajkdnlazkcOXrIdevi7FQ"],
            "slack://",
        ),
        (
            "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/12345",
            ["AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"],
            "tgram://",
        ),
        ("nosuchservice://user:hunter22@host/x", ["hunter22"], "nosuchservice://user:"),
    ],
)
def test_targets_are_shown_without_their_secrets(url: str, secrets: list[str], kept: str) -> None:
    shown = redact_target(url)
    assert shown.startswith(kept)
    assert not [secret for secret in secrets if secret in shown]


def test_building_alerts_does_not_load_apprise() -> None:
    """The daemon composes alerts, and reads the crontab, without apprise."""
    probe = (
        "import sys\n"
        "from pycron.crontab import parse\n"
        "from pycron.notify.alerts import AlertFacts, alert_messages\n"
        "from pycron.store import JobPast\n"
        "from pycron.records import Outcome, RunResult\n"
        "from datetime import datetime, timezone\n"
        "(entry,) = parse('# pycron: notify=json://h/x\\n* * * * * x\\n')[0].entries\n"
        "now = datetime.now(timezone.utc)\n"
        "result = RunResult('x', now, 1, Outcome.FAILED, now, now, exit_code=1)\n"
        "assert alert_messages(entry, result, JobPast(), AlertFacts('h', 1))\n"
        "print('apprise' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout == "False\n"


# --------------------------------------------------------------------------- check


def test_check_reports_a_bad_notify_url_as_an_error_at_its_column() -> None:
    text = (
        "# pycron: name=backup notify=json://good/x,nosuchservice://h\n"
        "0 3 * * * backup.sh\n"
        '# pycron: notify="ntfys://topic, bad url"\n'
        "0 4 * * * report.sh\n"
    )
    crontab, errors = parse(text)
    assert errors == []
    assert len(crontab.entries) == 2
    found = [f for f in lint(crontab, T0, check_target=check_target) if f.code == "notify-target"]
    assert [(f.line, f.column, f.severity) for f in found] == [
        (1, text.index("nosuchservice"), Severity.ERROR),
        (3, text.split("\n")[2].index("bad url"), Severity.ERROR),
    ]
    assert "apprise cannot read" in found[0].message


def test_notify_targets_are_not_checked_without_a_checker() -> None:
    crontab, _ = parse("# pycron: notify=nosuchservice://h\n0 3 * * * backup.sh\n")
    assert [f for f in lint(crontab, T0) if f.code == "notify-target"] == []


def test_an_unknown_event_is_an_error_naming_the_events_and_the_job_still_runs() -> None:
    crontab, errors = parse("# pycron: notify-on=failure,sucess\n0 3 * * * backup.sh\n")
    assert errors == []
    (entry,) = crontab.entries
    assert entry.options.notify_on == {NotifyEvent.FAILURE}  # the events that exist
    (error,) = [f for f in lint(crontab, T0) if f.code == "option-value"]
    assert (error.line, error.column, error.severity) == (1, 20, Severity.ERROR)
    assert "'sucess'" in error.message
    assert "failure, recovery, missed, success, start" in error.message
