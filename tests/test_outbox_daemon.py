"""The outbox in a real daemon process: a run's alert goes through apprise
(`json://`) to a real HTTP server on 127.0.0.1; the server is down, the
daemon is killed with -9 while the alert waits for its retry, and after a
restart the alert arrives, once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from test_daemon import Sandbox, at, stop, wait_until

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


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    box = Sandbox(tmp_path)
    try:
        yield box
    finally:
        box.cleanup()


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
