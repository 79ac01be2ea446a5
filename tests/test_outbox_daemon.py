"""The outbox in a real daemon process: a run's alert goes through apprise
(`json://`) to a real HTTP server on 127.0.0.1; the server is down, the
daemon is killed with -9 while the alert waits for its retry, and after a
restart the alert arrives, once."""

from __future__ import annotations

import email
import getpass
import json
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from test_daemon import Sandbox, at, stop, wait_until
from test_mail import Handler, free_port

from pycron.crontab import Crontab, Finding
from pycron.jobtable import JobTable
from pycron.lint import LOAD_CHECKS, lint

TOKEN = "abcdefghijklmnop0123456789"  # a webhook's secret: never in a log or the history


class Hook:
    """A webhook on 127.0.0.1 that records what is posted to it, and answers
    503 while it is `down`."""

    def __init__(self) -> None:
        self.received: list[tuple[str, bytes]] = []
        self.refused = 0
        self.down = True
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if hook.down:
                    hook.refused += 1
                    self.send_response(503)
                else:
                    hook.received.append((self.path, body))
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    server = Hook()
    try:
        yield server
    finally:
        server.close()


def test_an_alert_queued_before_kill_9_is_delivered_once_after_the_restart(
    sandbox: Sandbox, hook: Hook
) -> None:
    target = f"json://cron:{TOKEN}@127.0.0.1:{hook.port}/hook"
    sandbox.write(f"# pycron: name=broken notify={target}\n@at {at(1)} false\n")
    first = sandbox.start()
    first.wait_for(r" send-failed .*job=broken")
    assert hook.refused == 1
    first.send(signal.SIGKILL)
    first.wait(10)
    hook.down = False

    second = sandbox.start()
    second.wait_for(r" delivered .*job=broken")
    assert stop(second) == 0
    ((path, body),) = hook.received
    alert = json.loads(body)
    assert path == "/hook"
    assert alert["title"].startswith("✗ broken failed")
    assert "job:      broken" in alert["message"]
    assert hook.refused == 1  # the restart sent it once, and nothing was sent twice

    places = ["--crontab", str(sandbox.crontab), "--state-dir", str(sandbox.state)]
    shown = subprocess.run(
        [sys.executable, "-m", "pycron", *places, "history", "--json"],
        capture_output=True,
        check=True,
    )
    (run,) = json.loads(shown.stdout)
    (delivery,) = run["deliveries"]
    assert (delivery["channel"], delivery["state"], delivery["attempts"]) == (
        "alert",
        "delivered",
        2,
    )
    assert TOKEN not in delivery["target"]
    assert delivery["target"].startswith("json://cron:")
    for text in (first.log(), second.log(), shown.stdout.decode()):
        assert TOKEN not in text
    wait_until(lambda: not sandbox.tagged(), 10, "the job's processes to end")


PYCRON = (sys.executable, "-m", "pycron")


def alerts_of(hook: Hook) -> list[dict[str, str]]:
    """The alerts the webhook received, in order (apprise's JSON objects)."""
    return [json.loads(body) for _, body in hook.received]


def test_a_job_failing_every_second_alerts_once_per_window_then_recovers_once(
    sandbox: Sandbox, hook: Hook
) -> None:
    hook.down = False
    target = f"json://127.0.0.1:{hook.port}/hook"
    flag = sandbox.root / "fixed"
    sandbox.write(
        f"# pycron: name=flaky notify={target} notify-every=3s\n@every 1s test -e {flag}\n"
    )
    daemon = sandbox.start()
    summed = wait_until(
        lambda: [a for a in alerts_of(hook) if "more times since" in a["message"]],
        20,
        "a failure alert that sums up the failures it did not send",
    )
    first, *_ = alerts_of(hook)
    assert first["title"].startswith("✗ flaky failed")
    assert "more times since" not in first["message"]
    failed = [r for r in sandbox.ended("flaky") if r.outcome.value == "failed"]
    assert len(alerts_of(hook)) < len(failed)  # throttled: not one alert per failure
    assert re.search(r"failed [0-9]+ more times since", summed[0]["message"])

    flag.touch()
    wait_until(
        lambda: [a for a in alerts_of(hook) if "recovered" in a["title"]], 20, "a recovery alert"
    )
    successes = len([r for r in sandbox.ended("flaky") if r.outcome.value == "success"])
    wait_until(
        lambda: (
            len([r for r in sandbox.ended("flaky") if r.outcome.value == "success"])
            >= successes + 3
        ),
        20,
        "three more successful runs",
    )
    assert stop(daemon) == 0
    recoveries = [a for a in alerts_of(hook) if "recovered" in a["title"]]
    assert len(recoveries) == 1  # a recovery alerts once; the successes after it do not


def test_the_daemon_mails_a_runs_output_in_order_as_cron_does(sandbox: Sandbox) -> None:
    handler = Handler()
    port = free_port()
    server = Controller(handler, hostname="127.0.0.1", port=port)
    server.start()
    try:
        command = "echo one; echo two >&2; echo three; exit 3"
        sandbox.write(f"MAILTO=ops@example.org\n# pycron: name=report\n@at {at(1)} {command}\n")
        daemon = sandbox.start("--smtp", f"smtp://127.0.0.1:{port}")
        (received,) = wait_until(lambda: handler.received, 20, "the mail of the run")
        daemon.wait_for(r" delivered .*job=report")
        assert stop(daemon) == 0
    finally:
        server.stop()
    mail = email.message_from_bytes(received.content)
    assert received.recipients == ["ops@example.org"]
    assert (
        mail["Subject"]
        == f"Cron <{getpass.getuser()}@{socket.gethostname().split('.')[0]}> {command}"
    )
    body = mail.get_payload(decode=True)
    assert body.replace(b"\r\n", b"\n") == b"one\ntwo\nthree\n"  # stdout and stderr, in order
    places = ("--crontab", str(sandbox.crontab), "--state-dir", str(sandbox.state))
    (run,) = json.loads(
        subprocess.run(
            [*PYCRON, *places, "history", "--json"],
            capture_output=True,
            check=True,
        ).stdout
    )
    assert [(d["channel"], d["state"]) for d in run["deliveries"]] == [("mail", "delivered")]


def test_the_daemon_reports_a_notify_target_apprise_cannot_use_at_its_column(
    sandbox: Sandbox,
) -> None:
    sandbox.write("# pycron: name=job notify=nosuchservice://somewhere\n@daily true\n")
    daemon = sandbox.start()
    daemon.wait_for(r" ready ")
    assert stop(daemon) == 0
    option_line = 3  # below the sandbox's two header lines
    column = len("# pycron: name=job notify=") + 1
    (line,) = [line for line in daemon.log().splitlines() if "notify target" in line]
    assert " error " in line
    assert f"where={sandbox.crontab}:{option_line}:{column} " in line


def test_each_load_warns_once_of_a_mailto_no_mail_can_leave_for(tmp_path: Path) -> None:
    crontab = tmp_path / "crontab"
    crontab.write_text("MAILTO=ops@example.org\n@daily true\n")
    logged: list[tuple[object, ...]] = []

    def log(event: str, level: str = "info", **fields: object) -> None:
        logged.append((event, level, fields.get("where")))

    def review(parsed: Crontab) -> list[Finding]:
        now = datetime.now(timezone.utc)
        return lint(parsed, now, mail_transport=False, only=LOAD_CHECKS)

    table = JobTable(crontab, log, review)
    table.load(initial=True)
    crontab.write_text("MAILTO=ops@example.org\n@daily true\n@hourly true\n")
    table.load(initial=False)
    warnings = [entry for entry in logged if entry[0] == "warning"]
    assert warnings == [("warning", "warning", f"{crontab}:1:8")] * 2  # one per load


def test_a_job_that_asks_for_start_alerts_gets_one_as_its_run_starts(
    sandbox: Sandbox, hook: Hook
) -> None:
    hook.down = False
    target = f"json://127.0.0.1:{hook.port}/hook"
    sandbox.write(f"# pycron: name=nightly notify={target} notify-on=start\n@at {at(1)} exit 4\n")
    daemon = sandbox.start()
    (alert,) = wait_until(lambda: alerts_of(hook), 20, "the start alert")
    wait_until(lambda: sandbox.ended("nightly"), 20, "the run's end")
    daemon.wait_for(r" delivered .*job=nightly")
    assert stop(daemon) == 0
    assert "nightly started" in alert["title"]
    assert len(alerts_of(hook)) == 1  # its failure was not asked for
