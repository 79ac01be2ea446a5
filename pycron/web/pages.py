"""The status page: the overview of every job (`/`), a job (`/jobs/{id}`), a
run with its output (`/runs/{id}`), and their style sheet and script
(`/static/...`). Read-only: nothing on them runs or changes a job.

The pages are HTML rendered on the server from `pycron.web.source` with
Jinja2 (every value escaped, so a job that prints markup shows text), with
the charts of `pycron.web.charts` inline. They work without JavaScript; with
it, the overview fetches its job table again every few seconds
(`/?part=jobs`) and swaps it in, without reloading the page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from jinja2 import Environment, PackageLoader, Undefined
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from pycron.errors import LogNotFoundError
from pycron.explain import cpu_text, human_bytes, human_duration
from pycron.store import FAILURE_OUTCOMES
from pycron.web import charts
from pycron.web.source import LOG_PAGE, Source, Stream

# The outcomes that make a job "failing" when its last attempt ended so.
FAILING = frozenset(outcome.value for outcome in FAILURE_OUTCOMES)
# Days of the runs-per-day chart, and of each half of the failure trend.
CHART_DAYS = 30
TREND_DAYS = 7
# The units of `relative`, largest first.
_UNITS = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))
# What the page forbids itself: anything not served by pycron, and inline script.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def routes(source: Source) -> list[BaseRoute]:
    """The pages' routes, each reading `source`, and the static files."""
    pages = _Pages(source)
    return [
        Route("/", pages.overview),
        Route("/jobs/{job_id}", pages.job),
        Route("/runs/{run_id:int}", pages.run),
        Mount("/static", StaticFiles(packages=[("pycron.web", "static")]), name="static"),
    ]


def relative(moment: datetime, now: datetime) -> str:
    """`in 3 min`, `12 s ago`, `in 2 h`, `now`: how far `moment` is from `now`."""
    seconds = (moment - now).total_seconds()
    size = abs(seconds)
    if size < 1:
        return "now"
    unit, length = next((unit, length) for unit, length in _UNITS if size >= length)
    amount = f"{round(size / length)} {unit}"
    return f"in {amount}" if seconds > 0 else f"{amount} ago"


def cpu_time(run: Mapping[str, Any]) -> str:
    """The CPU time of a run, user and system together (`-` where not recorded)."""
    times = [run.get(key) for key in ("cpu_user", "cpu_system")]
    if all(time is None for time in times):
        return "-"
    return cpu_text(sum(time or 0.0 for time in times))


def failing(job: Mapping[str, Any]) -> bool:
    """Whether the job's last attempt failed, timed out, could not start or was blocked."""
    last = job.get("last")
    return last is not None and last["outcome"] in FAILING


def by_attention(jobs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The jobs with the failing ones first, each group in the crontab's order."""
    return sorted(jobs, key=lambda job: not failing(job))


def failure_trend(per_day: Mapping[date, tuple[int, int]], today: date) -> tuple[int, int]:
    """Failed attempts in the last `TREND_DAYS` days (today included) and in
    the `TREND_DAYS` before them."""
    recent = earlier = 0
    for day, (_, failures) in per_day.items():
        age = (today - day).days
        if 0 <= age < TREND_DAYS:
            recent += failures
        elif TREND_DAYS <= age < 2 * TREND_DAYS:
            earlier += failures
    return recent, earlier


class _Pages:
    """The handlers of the pages, sharing one source and one template environment."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.templates = Environment(
            loader=PackageLoader("pycron.web", "templates"),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters.update(
            when=self._when,
            relative=self._relative,
            duration=lambda seconds: human_duration(_known(seconds)),
            bytes=lambda count: human_bytes(_known(count)),
            percent=lambda rate: "-" if rate is None else f"{rate:.0%}",
            outcome_class=charts.outcome_class,
            cpu=cpu_time,
            cpu_text=lambda seconds: cpu_text(_known(seconds)),
        )
        self.templates.tests["failing"] = failing

    def overview(self, request: Request) -> HTMLResponse:
        """Every job, failing ones first; `?part=jobs` is the job table alone,
        which the page's script fetches to refresh itself."""
        jobs = by_attention(self.source.overview())
        context = {
            "jobs": jobs,
            "failing": sum(1 for job in jobs if failing(job)),
            "running": sum(1 for job in jobs if job.get("running")),
            "queued": sum(1 for job in jobs if job.get("queued")),
        }
        if request.query_params.get("part") == "jobs":
            return self._render("jobs_part.html", context)
        return self._render("overview.html", context)

    def job(self, request: Request) -> HTMLResponse:
        """One job: its definition, next runs, figures, charts and runs."""
        job_id = request.path_params["job_id"]
        job: Mapping[str, Any] | None = self.source.job(job_id)
        if job is None:
            return self._missing(f"There is no job {job_id!r} in the crontab.")
        today = self.source.clock().astimezone(self.source.zone).date()
        stats: Mapping[str, Any] = job["stats"]
        per_day = {
            date.fromisoformat(day): (counts["successes"], counts["failures"])
            for day, counts in stats["per_day"].items()
        }
        days = charts.days_between(today - timedelta(days=CHART_DAYS - 1), today, per_day)
        points = [
            charts.Point(
                datetime.fromisoformat(run["started"]), run["duration"], run["outcome"], run["run"]
            )
            for run in job["runs"]
            if run["duration"] is not None
        ]
        context = {
            "job": job,
            "stats": stats,
            "trend": failure_trend(per_day, today),
            "days": [day for day in days if day.successes or day.failures],
            "duration_chart": Markup(charts.duration_chart(points, self.source.zone, "durations")),
            "day_chart": Markup(charts.day_chart(days, "per-day")),
        }
        return self._render("job.html", context)

    def run(self, request: Request) -> HTMLResponse:
        """One run: its timing, outcome, resource use and output. The output
        shows its tail; `?stream=stdout&offset=N` shows a page of it from byte N."""
        run_id: int = request.path_params["run_id"]
        run: Mapping[str, Any] | None = self.source.run(run_id)
        if run is None:
            return self._missing(f"There is no run {run_id} in the history.")
        paged = request.query_params.get("stream")
        offset = _offset(request.query_params.get("offset"))
        streams: tuple[Stream, ...] = ("stdout", "stderr")
        logs = {
            stream: self._log(run, stream, offset if stream == paged else None)
            for stream in streams
        }
        return self._render("run.html", {"run": run, "logs": logs, "page": LOG_PAGE})

    def _log(self, run: Mapping[str, Any], stream: Stream, offset: int | None) -> dict[str, Any]:
        """A page of one of the run's logs (its tail for an offset past its
        end), or why there is none (`missing`)."""
        if run.get(stream) is None:
            return {"missing": f"no {stream} was recorded: the run did not start a process"}
        try:
            try:
                page = self.source.log(run["run"], stream, offset=offset)
            except ValueError:  # an offset past the end
                offset = None
                page = self.source.log(run["run"], stream)
        except LogNotFoundError as error:
            return {"missing": str(error)}
        if page is None:
            return {"missing": f"no {stream} was recorded"}
        return {**page, "tail": offset is None}

    def _missing(self, message: str) -> HTMLResponse:
        return self._render("missing.html", {"message": message}, status=404)

    def _render(self, template: str, context: Mapping[str, Any], status: int = 200) -> HTMLResponse:
        zone = self.source.zone
        page = self.templates.get_template(template).render(
            **context, zone=str(zone) if zone is not None else "local time"
        )
        return HTMLResponse(page, status_code=status, headers=SECURITY_HEADERS)

    def _when(self, text: str | None) -> str:
        """An ISO time of the source as the page shows it: wall time in the
        source's zone, to the second."""
        if text is None:
            return "-"
        moment = datetime.fromisoformat(text).astimezone(self.source.zone)
        return moment.strftime("%Y-%m-%d %H:%M:%S")

    def _relative(self, text: str | None) -> str:
        if text is None:
            return ""
        return relative(datetime.fromisoformat(text), self.source.clock())


def _known(value: Any) -> Any:
    """A value of a page's data, None for one it lacks (fields that older
    histories did not record, such as a run's CPU time)."""
    return None if isinstance(value, Undefined) else value


def _offset(text: str | None) -> int | None:
    """The `offset` of a log page asked for (None for the tail, or anything unreadable)."""
    if text is None or not text.isdigit():
        return None
    return int(text)
