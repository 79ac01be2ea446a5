"""The JSON API: the jobs, runs, logs and figures of `pycron.web.source`, with
the field names of the CLI's `--json` outputs."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from pycron.web.source import Source


def routes(source: Source) -> list[BaseRoute]:
    """The API's routes, each reading `source`."""

    def jobs(request: Request) -> JSONResponse:
        """Every job, as `pycron status --json` shows it, with its next run."""
        return JSONResponse(source.jobs())

    return [Route("/api/jobs", jobs)]
