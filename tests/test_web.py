"""The web application served for real on a loopback port: the JSON API and
the server's life (start, stop)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from pycron.web.source import Source, file_source

NOW = datetime(2026, 3, 1, 11, 58, tzinfo=timezone.utc)


def _get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.headers["Content-Type"] == "application/json"
        return json.load(response)


def test_jobs_are_listed_with_their_next_runs(
    tmp_path: Path, serve_web: Callable[[Source], str]
) -> None:
    crontab = tmp_path / "crontab"
    crontab.write_text("# pycron: name=hourly\n0 * * * * true\n*/5 * * * * echo five\n")
    source = file_source(crontab, tmp_path / "state", ZoneInfo("Europe/Berlin"), lambda: NOW)
    jobs = _get_json(serve_web(source) + "/api/jobs")
    assert isinstance(jobs, list)
    by_schedule = {job["schedule"]: job for job in jobs}
    # 11:58 UTC is 12:58 in Berlin (CET): the next whole hour is 13:00 there.
    assert by_schedule["0 * * * *"]["id"] == "hourly"
    assert by_schedule["0 * * * *"]["next"] == "2026-03-01T13:00:00+01:00"
    assert by_schedule["*/5 * * * *"]["next"] == "2026-03-01T13:00:00+01:00"
    assert all(job["last"] is None and not job["running"] for job in jobs)
