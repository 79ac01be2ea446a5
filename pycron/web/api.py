"""The JSON API: the jobs, runs, logs and figures of `pycron.web.source`, with
the field names of the CLI's `--json` outputs, described by the OpenAPI
document `openapi.json` beside this module (served at `/api/openapi.json`).

Read-only: every path answers GET (and HEAD). A bad query parameter is a 400
that names it and says what it takes; an unknown job, run or log a 404;
errors are JSON, `{"error": message}`, whatever went wrong.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from importlib import resources
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from pycron.crontab import parse_since
from pycron.errors import LogNotFoundError, PycronError
from pycron.records import Outcome
from pycron.web.source import LOG_PAGE, Source, Stream

# How many runs /api/runs gives unless asked, and at most.
RUNS_LIMIT = 100
RUNS_LIMIT_MAX = 1000
# The largest page of a log, in bytes.
LOG_PAGE_MAX = 1 << 20

_OUTCOMES = tuple(outcome.value for outcome in Outcome)
_STREAMS: tuple[Stream, ...] = ("stdout", "stderr")

T = TypeVar("T")


class BadParameter(Exception):
    """A query parameter the API cannot use: a 400 naming it."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")


class NotFound(Exception):
    """An unknown job, run or log: a 404 saying which."""


def document() -> dict[str, Any]:
    """The API's OpenAPI 3.1 document."""
    text = resources.files(__package__).joinpath("openapi.json").read_text(encoding="utf-8")
    loaded = json.loads(text)
    assert isinstance(loaded, dict)
    return loaded


def routes(source: Source) -> list[BaseRoute]:
    """The API's routes, each reading `source`, under `/api`."""
    described = document()

    def jobs(request: Request) -> JSONResponse:
        return JSONResponse(source.overview())

    def job(request: Request) -> JSONResponse:
        job_id = request.path_params["job_id"]
        return JSONResponse(_found(source.job(job_id), f"no job {job_id!r} in the crontab"))

    def runs(request: Request) -> JSONResponse:
        query = request.query_params
        job_id = query.get("job")
        if job_id is not None:
            _known(source, job_id)
        return JSONResponse(
            source.runs(
                job=job_id,
                outcome=_choice(query, "outcome", _OUTCOMES),
                since=_since(source, query),
                limit=_whole(query, "limit", RUNS_LIMIT, 1, RUNS_LIMIT_MAX),
            )
        )

    def run(request: Request) -> JSONResponse:
        run_id = request.path_params["run_id"]
        return JSONResponse(_found(source.run(run_id), f"no run {run_id} in the history"))

    def log(request: Request) -> JSONResponse:
        run_id = request.path_params["run_id"]
        query = request.query_params
        stream: Stream = "stderr" if _choice(query, "stream", _STREAMS) == "stderr" else "stdout"
        offset = _whole(query, "offset", None, 0, None)
        limit = _whole(query, "limit", LOG_PAGE, 1, LOG_PAGE_MAX)
        try:
            page = source.log(run_id, stream, offset, limit)
        except ValueError as error:  # an offset past the end of the log
            raise BadParameter("offset", str(error)) from None
        return JSONResponse(_found(page, f"no run {run_id} in the history"))

    def stats(request: Request) -> JSONResponse:
        query = request.query_params
        job_id = query.get("job")
        if job_id is not None:
            _known(source, job_id)
        return JSONResponse(source.stats(job_id, _since(source, query)))

    def openapi(request: Request) -> JSONResponse:
        return JSONResponse(described)

    api = Starlette(
        routes=[
            Route("/jobs", jobs),
            Route("/jobs/{job_id}", job),
            Route("/runs", runs),
            Route("/runs/{run_id:int}", run),
            Route("/runs/{run_id:int}/log", log),
            Route("/stats", stats),
            Route("/openapi.json", openapi),
        ],
        exception_handlers={
            BadParameter: _error(400),
            NotFound: _error(404),
            LogNotFoundError: _error(404),
            HTTPException: _http_error,
            PycronError: _error(500),
            Exception: _unexpected,
        },
    )
    return [Mount("/api", app=api)]


def _found(answer: T | None, missing: str) -> T:
    """The source's answer, or a 404 saying what is missing."""
    if answer is None:
        raise NotFound(missing)
    return answer


def _known(source: Source, job_id: str) -> None:
    """Refuse a job that is neither in the crontab nor in the history (a typo,
    as `pycron history ID` refuses it)."""
    if not source.known(job_id):
        raise NotFound(f"no job {job_id!r} in the crontab, nor any run of it in the history")


def _choice(query: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    """Parameter `name`, one of `allowed` (None if not given)."""
    value = query.get(name)
    if value is not None and value not in allowed:
        raise BadParameter(name, f"{value!r} is not one of {', '.join(allowed)}")
    return value


def _whole(query: Mapping[str, str], name: str, default: T, low: int, high: int | None) -> int | T:
    """Parameter `name`, a whole number from `low` up to `high` (`default` if not given)."""
    value = query.get(name)
    if value is None:
        return default
    bounds = f"from {low} to {high}" if high is not None else f"of {low} or more"
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < low or (high is not None and number > high):
        raise BadParameter(name, f"{value!r} is not a whole number {bounds}")
    return number


def _since(source: Source, query: Mapping[str, str]) -> datetime | None:
    """Parameter `since`: a duration back from now (7d, 12h) or an ISO 8601 time."""
    value = query.get("since")
    if value is None:
        return None
    try:
        return parse_since(value, source.clock(), source.zone)
    except ValueError as error:
        raise BadParameter("since", str(error)) from None


def _error(status: int) -> Callable[[Request, Exception], Response]:
    """A handler answering an exception with `{"error": its message}` and `status`."""

    def handle(request: Request, error: Exception) -> Response:
        return JSONResponse({"error": str(error) or type(error).__name__}, status_code=status)

    return handle


def _unexpected(request: Request, error: Exception) -> Response:
    """A failure of the server itself (logged by the server, with its traceback)."""
    return JSONResponse({"error": "internal error: see the server's log"}, status_code=500)


def _http_error(request: Request, error: Exception) -> Response:
    """Starlette's own refusals (no such path, a method other than GET), in JSON."""
    assert isinstance(error, HTTPException)
    if error.status_code == 404:
        message = f"no {request.url.path} here: see /api/openapi.json for the API's paths"
    elif error.status_code == 405:
        message = f"{request.method} is not allowed: the API is read-only (GET)"
    else:
        message = error.detail
    return JSONResponse({"error": message}, status_code=error.status_code, headers=error.headers)
