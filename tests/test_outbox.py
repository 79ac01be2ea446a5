"""The outbox: the store's table of messages owed (queued once per run, taken
when due, retried, given up) and the sender that delivers them, driven by a
simulated clock, with small test senders that record or fail; on each
backend of the store (see tests/backends.py)."""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from subprocess import CompletedProcess
from typing import NamedTuple

import pytest
from backends import Backend
from test_daemon import wait_until
from test_daemon_plan import entries as entries_of
from test_store import T0, _dead_pid, attempt, raw, record

from pycron.crontab import Entry
from pycron.notify import Channel, DeliveryError, Message
from pycron.notify.outbox import LEASE, RETRY_DELAYS, Attempt, Composer, Sender, try_targets
from pycron.records import Outcome, RunResult
from pycron.store import Delivery, JobPast, Store
from pycron.store.sqlite import FILE_NAME, SQLiteStore

SECRET_URL = "json://hooks.example.com/T0123456789abcdefghij"  # its token is redacted
MAIL_TO = "ops@example.com"
TOKEN = "s3cr3t-hook-token-0123456789"  # a password in a webhook URL: never shown


@pytest.fixture
def history(backend: Backend) -> Iterator[Store]:
    """The test's store, on each backend in turn, naming this machine "here"."""
    with backend.open() as opened:
        yield opened


def alert(job: str = "backup", target: str = SECRET_URL, title: str = "backup failed") -> Message:
    return Message(Channel.ALERT, job, None, target, title, b"exit 1")


def mail(job: str = "backup") -> Message:
    return Message(Channel.MAIL, job, None, MAIL_TO, "Cron <me@here> backup", b"Subject: x\r\n")


class Clock:
    """A simulated clock that the sender's wait moves forward."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Recording:
    """A test sender: records what it delivers; fails while `down` is set."""

    def __init__(self, failure: DeliveryError | None = None) -> None:
        self.sent: list[Message] = []
        self.tries = 0
        self.failure = failure

    def __call__(self, message: Message) -> None:
        self.tries += 1
        if self.failure is not None:
            raise self.failure
        self.sent.append(message)


class Logged(NamedTuple):
    event: str
    level: str
    fields: dict[str, object]


def sender_for(
    history: Store,
    clock: Clock,
    senders: dict[Channel, Recording],
    log: list[Logged],
    targets: tuple[str, ...] = (SECRET_URL,),
) -> Sender:
    def record_log(event: str, level: str = "info", **fields: object) -> None:
        log.append(Logged(event, level, fields))

    return Sender(
        history,
        senders,
        targets=lambda job_id: targets,
        log=record_log,
        clock=clock,
        wait=lambda seconds, event: None,
        jitter=lambda: 0.5,  # no jitter: the waits are RETRY_DELAYS exactly
    )


def ended_run(history: Store, outcome: Outcome = Outcome.FAILED, minute: int = 0) -> int:
    return record(history, attempt(outcome=outcome, minute=minute))


# -- The store's outbox --------------------------------------------------------------------


def test_a_run_queues_its_messages_once(history: Store) -> None:
    run = ended_run(history)
    first = history.queue_messages("backup", T0, [alert(), mail()], T0)
    again = history.queue_messages("backup", T0, [alert()], T0)
    assert first is not None
    assert len(first) == 2
    assert again is None
    taken = history.take_due(T0, LEASE, 10)
    assert [entry.id for entry in taken] == first
    assert {entry.message.run_id for entry in taken} == {run}  # the run's last attempt


def test_the_secret_of_a_target_is_never_stored(history: Store, backend: Backend) -> None:
    ended_run(history)
    history.queue_messages("backup", T0, [alert()], T0)
    stored = backend.raw("SELECT target, target_key FROM outbox")
    dump = "\n".join(backend.raw("SELECT target || target_key || title FROM outbox")[0])
    assert stored[0][0] == "json://hooks.example.com/***"
    assert "T0123456789abcdefghij" not in dump


def test_a_message_taken_is_not_due_for_another_sender_until_its_lease_ends(
    history: Store,
) -> None:
    ended_run(history)
    history.queue_messages("backup", T0, [alert()], T0)
    assert len(history.take_due(T0, LEASE, 10)) == 1
    assert history.take_due(T0 + LEASE / 2, LEASE, 10) == []
    assert len(history.take_due(T0 + LEASE, LEASE, 10)) == 1
    assert history.retry_now(T0) == 1
    assert len(history.take_due(T0, LEASE, 10)) == 1


def test_take_due_only_takes_the_messages_asked_for(history: Store) -> None:
    ended_run(history)
    ended_run(history, minute=1)
    history.queue_messages("backup", T0, [alert()], T0)
    (mine,) = history.queue_messages("backup", T0 + timedelta(minutes=1), [mail()], T0) or []
    assert [entry.id for entry in history.take_due(T0, LEASE, 10, only=[mine])] == [mine]


def test_deliveries_per_run(history: Store) -> None:
    run = ended_run(history)
    sent, lost = history.queue_messages("backup", T0, [mail(), alert()], T0) or []
    history.delivered(sent, T0)
    history.failed(lost, "connection refused", None)
    states = {d.channel: (d.state, d.error, d.attempts) for d in history.deliveries([run])[run]}
    assert states == {
        Channel.MAIL: (Delivery.DELIVERED, None, 1),
        Channel.ALERT: (Delivery.UNDELIVERED, "connection refused", 1),
    }
    assert history.entries([sent, lost]) == {sent: Delivery.DELIVERED, lost: Delivery.UNDELIVERED}


def test_a_crash_between_a_runs_end_and_its_queueing_composes_it_once(
    history: Store, backend: Backend
) -> None:
    """The run's end is written, its pycron dies before queueing: the next start
    finds it uncomposed and composes it; composing it again queues nothing."""
    first = record(history, attempt(outcome=Outcome.FAILED, attempt=1))
    second = record(history, attempt(outcome=Outcome.FAILED, attempt=2, minute=1, scheduled_for=T0))
    backend.raw("UPDATE runs SET recorder_pid = ?", (_dead_pid(),))
    found = history.uncomposed()
    assert [r.id for r in found] == [first, second]
    composed: list[list[RunResult]] = []

    def compose(
        entry: Entry, results: list[RunResult], past: Callable[[], JobPast], run_id: int | None
    ) -> list[Message]:
        composed.append(list(results))
        return [alert()]

    entries = entries_of("# pycron: name=backup\n* * * * * true\n")
    sender = sender_for(history, Clock(T0), {}, [])
    composer = Composer(history, compose, sender, clock=lambda: T0, log=_ignore)
    composer.recover(entries)
    composer.recover(entries)  # a second start finds nothing left
    assert [[r.attempt for r in results] for results in composed] == [[1, 2]]
    assert history.uncomposed() == []
    assert [entry.message.run_id for entry in history.take_due(T0, LEASE, 10)] == [second]


def test_a_run_of_a_running_pycron_is_not_taken_for_uncomposed(history: Store) -> None:
    ended_run(history)  # recorded by this process, which lives
    assert history.uncomposed() == []


def test_runs_recorded_before_the_outbox_owe_nothing(tmp_path: Path) -> None:
    """The migration marks the runs that had ended as composed."""
    state = tmp_path / "state"
    with SQLiteStore.open(state, host="here") as history:
        ended_run(history)
        raw(history.path, "UPDATE runs SET recorder_pid = ?", (_dead_pid(),))
        raw(history.path, "DROP TABLE outbox")
        raw(history.path, "DROP TABLE composed")
        raw(history.path, "DROP TABLE triggers")  # and what later versions added
        raw(history.path, "DROP INDEX runs_job_finished")
        for column in ("cpu_user", "cpu_system", "max_rss", "slots", "fence"):
            raw(history.path, f"ALTER TABLE runs DROP COLUMN {column}")
        raw(history.path, "UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    with SQLiteStore(state / FILE_NAME, host="here") as history:
        assert history.uncomposed() == []


def _ignore(*args: object, **fields: object) -> None:
    pass


class PastCase(NamedTuple):
    outcomes: list[Outcome]  # one run per minute
    alerted: list[int]  # minutes whose runs got an alert queued
    expected: tuple[Outcome | None, int | None, int, int | None]  # minutes for times


PAST_CASES = {
    "no past": PastCase([], [], (None, None, 0, None)),
    "after a success": PastCase([Outcome.SUCCESS], [], (Outcome.SUCCESS, None, 0, None)),
    "failures never alerted": PastCase(
        [Outcome.SUCCESS, Outcome.FAILED, Outcome.TIMEOUT], [], (Outcome.TIMEOUT, None, 2, 1)
    ),
    "failures after an alert": PastCase(
        [Outcome.FAILED, Outcome.FAILED, Outcome.ERROR], [0], (Outcome.ERROR, 0, 2, 1)
    ),
    "missed slots are no runs": PastCase(
        [Outcome.FAILED, Outcome.MISSED], [], (Outcome.FAILED, None, 1, 0)
    ),
    "an alert of a success is no failure alert": PastCase(
        [Outcome.SUCCESS, Outcome.FAILED], [0], (Outcome.FAILED, None, 1, 1)
    ),
}


@pytest.mark.parametrize("case", PAST_CASES.values(), ids=PAST_CASES.keys())
def test_job_past(history: Store, case: PastCase) -> None:
    for minute, outcome in enumerate(case.outcomes):
        ended_run(history, outcome, minute)
        slot = T0 + timedelta(minutes=minute)
        alerts = [alert()] if minute in case.alerted else []
        history.queue_messages("backup", slot, alerts, slot + timedelta(seconds=30))
    current = T0 + timedelta(minutes=len(case.outcomes))
    ended_run(history, Outcome.FAILED, len(case.outcomes))  # the run being composed
    past = history.job_past("backup", current)
    previous, alert_minute, failures, since_minute = case.expected
    assert past.previous is previous
    assert past.last_failure_alert == (
        None if alert_minute is None else T0 + timedelta(minutes=alert_minute, seconds=30)
    )
    assert past.failures == failures
    # an attempt ends 10 s after its start (see `attempt`)
    assert past.failures_since == (
        None if since_minute is None else T0 + timedelta(minutes=since_minute, seconds=10)
    )


# -- The sender ----------------------------------------------------------------------------


def test_delivered_through_the_sender_of_its_channel_with_the_real_target(
    history: Store,
) -> None:
    ended_run(history)
    history.queue_messages("backup", T0, [alert(), mail()], T0)
    alerts, mails, log = Recording(), Recording(), []
    sender = sender_for(history, Clock(T0), {Channel.ALERT: alerts, Channel.MAIL: mails}, log)
    assert sender.deliver_due() == 2
    assert [m.target for m in alerts.sent] == [SECRET_URL]
    assert [m.target for m in mails.sent] == [MAIL_TO]
    assert [entry.event for entry in log] == ["delivered", "delivered"]
    assert all("T0123456789" not in str(entry.fields) for entry in log)
    assert history.next_try() is None


def test_a_temporary_failure_is_retried_with_backoff_then_undelivered(
    history: Store,
) -> None:
    run = ended_run(history)
    history.queue_messages("backup", T0, [alert()], T0)
    down = Recording(DeliveryError(SECRET_URL, f"cannot reach {SECRET_URL}"))
    clock, log = Clock(T0), []
    sender = sender_for(history, clock, {Channel.ALERT: down}, log)
    tries: list[datetime] = []
    for _ in range(10):
        upcoming = history.next_try()
        if upcoming is None:
            break
        clock.now = upcoming - timedelta(microseconds=1)
        assert sender.deliver_due() == 0  # not due yet
        clock.now = upcoming
        assert sender.deliver_due() == 1
        tries.append(upcoming)
    waits = [later - earlier for earlier, later in itertools.pairwise(tries)]
    assert waits == list(RETRY_DELAYS)
    (delivery,) = history.deliveries([run])[run]
    assert (delivery.state, delivery.attempts) == (Delivery.UNDELIVERED, 4)
    assert delivery.error == "cannot reach json://hooks.example.com/***"
    assert [entry.event for entry in log] == ["send-failed"] * 3 + ["undelivered"]


def test_a_permanent_failure_is_not_retried(history: Store) -> None:
    run = ended_run(history)
    history.queue_messages("backup", T0, [alert()], T0)
    refused = Recording(DeliveryError(SECRET_URL, "unknown scheme", permanent=True))
    sender = sender_for(history, Clock(T0), {Channel.ALERT: refused}, [])
    sender.deliver_due()
    (delivery,) = history.deliveries([run])[run]
    assert (delivery.state, delivery.error, refused.tries) == (
        Delivery.UNDELIVERED,
        "unknown scheme",
        1,
    )


@pytest.mark.parametrize(
    ("targets", "senders", "reason"),
    [
        ((), (Channel.ALERT,), "its target is no longer configured"),
        ((SECRET_URL,), (Channel.MAIL,), "no alert transport is configured"),
    ],
)
def test_what_cannot_be_sent_is_undelivered_with_its_reason(
    history: Store, targets: tuple[str, ...], senders: tuple[Channel, ...], reason: str
) -> None:
    run = ended_run(history)
    history.queue_messages("backup", T0, [alert()], T0)
    sender = sender_for(history, Clock(T0), {c: Recording() for c in senders}, [], targets)
    sender.deliver_due()
    (delivery,) = history.deliveries([run])[run]
    assert (delivery.state, delivery.error) == (Delivery.UNDELIVERED, reason)


def test_the_thread_delivers_when_woken_and_a_stop_leaves_the_pending(
    history: Store, backend: Backend
) -> None:
    """The thread waits on its event; a message queued while the target is
    down is retried later, and stopping leaves it pending in the outbox."""
    ended_run(history)
    ended_run(history, minute=1)
    sent = threading.Event()

    class Flaky(Recording):
        def __call__(self, message: Message) -> None:
            super().__call__(message)
            sent.set()

    working = Flaky()
    waits: list[float] = []

    def wait(seconds: float, event: threading.Event) -> None:
        waits.append(seconds)
        event.wait(5)

    sender = Sender(
        history,
        {Channel.ALERT: working},
        targets=lambda job_id: (SECRET_URL,),
        log=_ignore,
        clock=lambda: T0,
        wait=wait,
    )
    sender.start()
    try:
        history.queue_messages("backup", T0, [alert()], T0)
        sender.wake()
        assert sent.wait(10), "the woken sender delivered nothing"
        working.failure = DeliveryError(SECRET_URL, "down")
        history.queue_messages("backup", T0 + timedelta(minutes=1), [alert()], T0)
        sender.wake()
        wait_until(lambda: working.tries == 2, 10, "the retry of the failing delivery")
    finally:
        sender.stop()
    assert len(working.sent) == 1
    pending = backend.raw("SELECT COUNT(*) FROM outbox WHERE state = 'pending'")
    assert pending == [(1,)]
    assert waits
    assert max(waits) <= 60


# -- The commands --------------------------------------------------------------------------


def pycron(root: Path, *args: str, env: dict[str, str] | None = None) -> CompletedProcess[str]:
    """`python -m pycron ARGS` on the crontab and state directory in `root`."""
    places = ["--crontab", str(root / "crontab"), "--state-dir", str(root / "state")]
    return subprocess.run(
        [sys.executable, "-m", "pycron", *places, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


NOTIFY_CASES = {
    "mail ok, alert failed": ([Delivery.DELIVERED], [Delivery.UNDELIVERED]),
    "mail pending": ([Delivery.DELIVERED, Delivery.PENDING], []),
    "alert ok": ([], [Delivery.DELIVERED, Delivery.DELIVERED]),
    "-": ([], []),
}


@pytest.mark.parametrize(("shown", "states"), NOTIFY_CASES.items(), ids=NOTIFY_CASES.keys())
def test_history_shows_what_became_of_a_runs_mail_and_alerts(
    tmp_path: Path, shown: str, states: tuple[list[Delivery], list[Delivery]]
) -> None:
    (tmp_path / "crontab").write_text("# pycron: name=backup\n@daily true\n")
    with SQLiteStore.open(tmp_path / "state") as history:
        run = ended_run(history)
        mails, alerts = states
        messages = [mail() for _ in mails] + [alert() for _ in alerts]
        ids = history.queue_messages("backup", T0, messages, T0) or []
        for message_id, state in zip(ids, [*mails, *alerts], strict=True):
            if state is Delivery.DELIVERED:
                history.delivered(message_id, T0)
            elif state is Delivery.UNDELIVERED:
                history.failed(message_id, f"refused by {SECRET_URL}", None)
    table = pycron(tmp_path, "history")
    header, row = table.stdout.splitlines()
    assert header.split()[-1] == "NOTIFY"
    assert row.endswith(f"  {shown}"), row
    (view,) = json.loads(pycron(tmp_path, "history", "--json").stdout)
    assert view["run"] == run
    channels = [d["channel"] for d in view["deliveries"]]
    assert channels == ["mail"] * len(mails) + ["alert"] * len(alerts)
    assert "T0123456789abcdefghij" not in table.stdout + json.dumps(view)


def test_notify_test_says_per_target_whether_it_was_delivered(tmp_path: Path) -> None:
    """The alert reaches a live webhook through apprise; the mail's SMTP
    server is not there. One line per target, redacted, and exit code 1."""
    received: list[bytes] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with socket.socket() as closed:  # a port where no SMTP server listens
        closed.bind(("127.0.0.1", 0))
        smtp = f"smtp://127.0.0.1:{closed.getsockname()[1]}"
    try:
        target = f"json://cron:{TOKEN}@127.0.0.1:{server.server_address[1]}/hook"
        crontab = f"MAILTO={MAIL_TO}\n# pycron: name=backup notify={target}\n@daily true\n"
        (tmp_path / "crontab").write_text(crontab)
        done = pycron(tmp_path, "notify", "test", "backup", env={"PYCRON_SMTP": smtp})
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 1, done.stderr
    alert, mail = done.stdout.splitlines()
    assert alert == f"alert json://cron:***@127.0.0.1:{server.server_address[1]}/hook: delivered"
    assert mail.startswith(f"mail {MAIL_TO}: ")
    assert "delivered" not in mail
    assert TOKEN not in done.stdout + done.stderr
    (posted,) = received
    assert json.loads(posted)["title"] == "pycron: test alert"


def test_try_targets_reports_each_target() -> None:
    working, down = Recording(), Recording(DeliveryError(SECRET_URL, "timed out"))
    attempts = try_targets({Channel.MAIL: working, Channel.ALERT: down}, [mail(), alert()])
    assert attempts == [Attempt(None), Attempt("timed out")]
    assert working.sent == [mail()]


def test_run_now_no_notify_leaves_nothing_for_the_daemon(tmp_path: Path) -> None:
    """A run of `run-now --no-notify` is composed (with nothing): a daemon
    starting later does not send its messages."""
    (tmp_path / "crontab").write_text("# pycron: name=broken\n@daily false\n")
    assert pycron(tmp_path, "run-now", "--no-notify", "broken").returncode == 1
    with SQLiteStore.open(tmp_path / "state") as history:
        raw(history.path, "UPDATE runs SET recorder_pid = ?", (_dead_pid(),))
        assert history.uncomposed() == []
        assert raw(history.path, "SELECT COUNT(*) FROM composed") == [(1,)]
