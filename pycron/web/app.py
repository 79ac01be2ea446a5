"""The web application: the JSON API, the pages, `/metrics` and the static
files, built from one `Source`."""

from __future__ import annotations

import asyncio

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from pycron.web import api, auth, health, metrics, pages
from pycron.web.source import Source

# A request that comes this close before a job's planned start waits until
# HOLD seconds after it, and never longer than MAX_WAIT in all.
LEAD = 0.25
HOLD = 0.05
MAX_WAIT = 1.0


def create_app(source: Source, token: str | None = None) -> Starlette:
    """The application serving `source` (read-only: nothing in it runs or
    changes a job), to those who show `token` if one is given (see
    `pycron.web.auth`)."""
    return Starlette(
        routes=[
            *api.routes(source),
            *metrics.routes(source),
            *pages.routes(source),
            *health.routes(source),
        ],
        middleware=[*auth.middleware(token), Middleware(ScheduleFirst, source=source)],
    )


class ScheduleFirst:
    """ASGI middleware that lets a daemon's jobs start on time while its page
    is read: a request arriving just before a planned start waits until the
    jobs have started.

    Requests run Python code in the daemon's process, and only one thread runs
    Python at a time: a job starting while a request is being answered waits
    for its turns at the interpreter at each step (the history, its log
    files, the process). Measured, one start in twenty of a page polled every
    two seconds came 10 to 35 ms late. Waiting costs the page a fraction of
    a second at most, and only near a start."""

    def __init__(self, app: ASGIApp, source: Source) -> None:
        self.app = app
        self.source = source

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.source.live is not None:
            await self._clear()
        await self.app(scope, receive, send)

    async def _clear(self) -> None:
        """Wait while a start is near (LEAD before it to HOLD after it), up to MAX_WAIT."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MAX_WAIT
        while (pause := min(self._pause(), deadline - loop.time())) > 0:
            await asyncio.sleep(pause)

    def _pause(self) -> float:
        """Seconds until the page may go on: 0 unless a start is near."""
        assert self.source.live is not None
        start = self.source.live.next_start()
        if start is None:
            return 0.0
        ahead = (start - self.source.clock()).total_seconds()
        return ahead + HOLD if -HOLD < ahead <= LEAD else 0.0
