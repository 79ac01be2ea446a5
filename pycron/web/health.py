"""`/healthz`: whether the daemon's loop turns, for a container's health
check, a load balancer or a monitoring probe."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from pycron.web.source import Source

# Seconds the daemon's loop may be stuck before it is reported unhealthy: far
# beyond any turn's work or any wake-up's lateness on a busy machine.
STALL_LIMIT = 30.0


def routes(source: Source) -> list[BaseRoute]:
    """The health check of `source`'s daemon (always healthy without one)."""

    async def healthz(request: Request) -> JSONResponse:
        """200 while the daemon's loop turns, 503 once it has been stuck for
        over STALL_LIMIT seconds; `daemon` is null when no daemon serves the
        page (`pycron web`)."""
        live = source.live
        if live is None:
            return JSONResponse({"status": "ok", "daemon": None})
        stalled = live.stalled_for()
        healthy = stalled <= STALL_LIMIT
        daemon = {"stalled_for": round(stalled, 3), "reloads": dict(live.reload_counts())}
        return JSONResponse(
            {"status": "ok" if healthy else "stalled", "daemon": daemon},
            status_code=200 if healthy else 503,
        )

    return [Route("/healthz", healthz)]
