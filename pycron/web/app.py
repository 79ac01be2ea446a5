"""The web application: the JSON API, the pages, `/metrics` and the static
files, built from one `Source`."""

from __future__ import annotations

from starlette.applications import Starlette

from pycron.web import api, auth, health, metrics, pages
from pycron.web.source import Source


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
        middleware=auth.middleware(token),
    )
