"""Serving the web application with uvicorn: from a thread of the daemon
(`start`, `stop`), or in the foreground of `pycron web` (`run`).

The server's socket is bound by the caller, before anything starts, so that
a taken port or a bad address is an error of the command, said at once. Idle,
the server sleeps until asked to stop: uvicorn's own loop wakes ten times a
second to refresh its Date header, which a daemon that must cost nothing
while it waits for the next job cannot afford (responses carry no Date
header instead). What goes wrong while serving (a request that fails,
uvicorn's own warnings) is reported through the owner's `report`, one line
each, so that it lands in the daemon's log in the daemon's format.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator

import uvicorn
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pycron.errors import WebError

# How long open connections may finish their requests once the server stops.
GRACE = 2.0
# Where uvicorn logs what goes wrong in it (a bad request, a slow shutdown):
# this logger and those below it.
UVICORN_LOGGER = "uvicorn"

# How the server says what went wrong: (level: "warning" or "error", message).
Report = Callable[[str, str], None]


def report_on_stderr(level: str, message: str) -> None:
    """A report as one `pycron: LEVEL: ...` line on stderr."""
    print(f"pycron: {level}: {message}", file=sys.stderr, flush=True)


class _QuietServer(uvicorn.Server):
    """uvicorn's server, with a main loop that waits for the stop instead of
    ticking, and that leaves the process's signals to its owner (the daemon
    has its own handlers; `pycron web` lists the signals that stop it)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop_asked: asyncio.Event | None = None
        self.stop_on: tuple[signal.Signals, ...] = ()
        self.ready = threading.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def main_loop(self) -> None:
        await self.on_tick(0)  # the default headers, once
        self.loop = asyncio.get_running_loop()
        self.stop_asked = asyncio.Event()
        for number in self.stop_on:  # asyncio's handlers only record, through a pipe
            self.loop.add_signal_handler(number, self.stop_asked.set)
        self.ready.set()
        if not self.should_exit:
            await self.stop_asked.wait()


class _Reported:
    """ASGI wrapper: a request that fails is reported, and answered 500 if
    nothing was sent yet, instead of reaching uvicorn's own logging."""

    def __init__(self, app: ASGIApp, report: Report) -> None:
        self.app = app
        self.report = report

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as error:  # one request fails; the server serves on
            where = f"{scope.get('method', '')} {scope.get('path', '')}".strip()
            self.report("error", f"{where}: {type(error).__name__}: {error}")
            if not started and scope["type"] == "http":
                await PlainTextResponse("500 Internal Server Error\n", 500)(scope, receive, send)


class _Forward(logging.Handler):
    """uvicorn's warnings and errors, handed to a report."""

    def __init__(self, report: Report) -> None:
        super().__init__(logging.WARNING)
        self.report = report

    def emit(self, record: logging.LogRecord) -> None:
        level = "error" if record.levelno >= logging.ERROR else "warning"
        self.report(level, record.getMessage())


class HttpServer:
    """One application served on one bound socket."""

    def __init__(
        self, app: ASGIApp, sock: socket.socket, report: Report = report_on_stderr
    ) -> None:
        self.socket = sock
        self._report = report
        config = uvicorn.Config(
            _Reported(app, report),
            lifespan="off",
            log_config=None,
            access_log=False,
            date_header=False,
            server_header=False,
            timeout_graceful_shutdown=int(GRACE),
        )
        self._server = _QuietServer(config)
        self._thread = threading.Thread(target=self._serve, name="pycron-http", daemon=True)
        self._forward = _Forward(report)

    @property
    def address(self) -> tuple[str, int]:
        """The host and port the server listens on (the port is the real one for port 0)."""
        host, port = self.socket.getsockname()[:2]
        return host, port

    @property
    def url(self) -> str:
        """The server's address as a URL (`http://[::1]:8765/` for IPv6)."""
        host, port = self.address
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/"

    def start(self) -> None:
        """Serve from a thread of its own from now on; returns once the server
        accepts connections (WebError if it cannot)."""
        self._listen_to_uvicorn(True)
        self._thread.start()
        self._server.ready.wait()
        if not self._server.started:
            self._thread.join()
            self._listen_to_uvicorn(False)
            raise WebError(f"{self.url}: the web server did not start (see the error above)")

    def stop(self) -> None:
        """Stop accepting, let open requests finish within the grace, and end the thread."""
        server = self._server
        server.should_exit = True
        if server.loop is not None and server.stop_asked is not None:
            with contextlib.suppress(RuntimeError):  # its loop is gone: it has stopped already
                server.loop.call_soon_threadsafe(server.stop_asked.set)
        self._thread.join()
        self.socket.close()
        self._listen_to_uvicorn(False)

    def run(self, stop_on: tuple[signal.Signals, ...]) -> None:
        """Serve in this thread (the main one) until one of the signals `stop_on` comes."""
        self._server.stop_on = stop_on
        self._listen_to_uvicorn(True)
        try:
            asyncio.run(self._server.serve(sockets=[self.socket]))
        finally:
            self.socket.close()
            self._listen_to_uvicorn(False)

    def _serve(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self.socket]))
        except BaseException as error:  # said; the owner goes on without it
            self._report("error", f"the web server stopped: {type(error).__name__}: {error}")
        finally:
            self._server.ready.set()  # a server that failed to start does not leave start() waiting

    def _listen_to_uvicorn(self, listening: bool) -> None:
        logger = logging.getLogger(UVICORN_LOGGER)
        if listening:
            logger.addHandler(self._forward)
        else:
            logger.removeHandler(self._forward)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (IPv4 or IPv6 by the host's form)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(False)
    return sock
