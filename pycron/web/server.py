"""Serving the web application from a thread of the process that owns it
(the daemon, or `pycron web`), with uvicorn.

The server's socket is bound by the caller, before the thread starts, so that
a taken port or a bad address is an error of the command, said at once. Idle,
the server's thread sleeps until asked to stop: uvicorn's own loop wakes ten
times a second to refresh its Date header, which a daemon that must cost
nothing while it waits for the next job cannot afford (responses carry no
Date header instead).
"""

from __future__ import annotations

import asyncio
import socket
import threading

import uvicorn
from starlette.types import ASGIApp

# How long open connections may finish their requests once the server stops.
GRACE = 2.0


class _QuietServer(uvicorn.Server):
    """uvicorn's server, with a main loop that waits for the stop instead of ticking."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop_asked: asyncio.Event | None = None
        self.ready = threading.Event()

    async def main_loop(self) -> None:
        await self.on_tick(0)  # the default headers, once
        self.loop = asyncio.get_running_loop()
        self.stop_asked = asyncio.Event()
        self.ready.set()
        if not self.should_exit:
            await self.stop_asked.wait()


class HttpServer:
    """One application served on one bound socket, from a thread of its own."""

    def __init__(self, app: ASGIApp, sock: socket.socket) -> None:
        self.socket = sock
        config = uvicorn.Config(
            app,
            lifespan="off",
            log_config=None,
            access_log=False,
            date_header=False,
            server_header=False,
            timeout_graceful_shutdown=int(GRACE),
        )
        self._server = _QuietServer(config)
        self._thread = threading.Thread(target=self._serve, name="pycron-http", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        """The host and port the server listens on (the port is the real one for port 0)."""
        host, port = self.socket.getsockname()[:2]
        return host, port

    def start(self) -> None:
        """Serve from now on; returns once the server accepts connections."""
        self._thread.start()
        self._server.ready.wait()

    def stop(self) -> None:
        """Stop accepting, let open requests finish within the grace, and end the thread."""
        server = self._server
        server.should_exit = True
        if server.loop is not None and server.stop_asked is not None:
            server.loop.call_soon_threadsafe(server.stop_asked.set)
        self._thread.join()
        self.socket.close()

    def _serve(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self.socket]))
        finally:
            self._server.ready.set()  # a server that failed to start does not leave start() waiting


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
