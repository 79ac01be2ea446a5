"""The web application: the JSON API, the pages, `/metrics` and the static
files, built from one `Source`."""

from __future__ import annotations

from starlette.applications import Starlette

from pycron.web import api, metrics, pages
from pycron.web.source import Source


def create_app(source: Source) -> Starlette:
    """The application serving `source` (read-only: nothing in it runs or changes a job)."""
    return Starlette(routes=[*api.routes(source), *metrics.routes(source), *pages.routes(source)])
