"""Every fixture of tests/fixtures read as its expectation says (see the
fixtures' README for the format); each also renders back byte for byte."""

from __future__ import annotations

import json
import pwd
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from pycron.crontab import Cron, Crontab, Entry, parse
from pycron.lint import lint

FIXTURES = Path(__file__).parent / "fixtures"
NAMES = sorted(p.stem for p in FIXTURES.glob("*.crontab"))
NOW = datetime(2026, 1, 1, 12, 0).astimezone()


def _load(name: str) -> tuple[str, dict[str, Any], Crontab]:
    raw = (FIXTURES / f"{name}.crontab").read_bytes().decode("utf-8", "surrogateescape")
    expected = json.loads((FIXTURES / f"{name}.expect.json").read_text())
    crontab, _ = parse(raw, f"{name}.crontab", system=expected["system"])
    return raw, expected, crontab


def _job_view(entry: Entry) -> dict[str, Any]:
    schedule = entry.schedule
    return {
        "line": entry.line,
        "schedule": schedule.text,
        "user": entry.user,
        "command": entry.command,
        "stdin": entry.stdin,
        "env": {k: v for k, v in entry.env if k},
        "options": dict(entry.options.given),
        "enabled": entry.enabled,
        "no_log": entry.no_log,
        "mail_on_error_only": entry.mail_on_error_only,
        "random": isinstance(schedule, Cron) and schedule.random,
    }


def test_there_are_enough_fixtures() -> None:
    assert len(NAMES) >= 40


@pytest.mark.parametrize("name", NAMES)
def test_renders_back_byte_for_byte(name: str) -> None:
    raw, _, crontab = _load(name)
    assert crontab.render() == raw


@pytest.mark.parametrize("name", NAMES)
def test_jobs(name: str) -> None:
    _, expected, crontab = _load(name)
    got = {entry.line: entry for entry in crontab.entries}
    assert sorted(got) == [job["line"] for job in expected["jobs"]]
    for job in expected["jobs"]:
        entry = got[job["line"]]
        if job["id"] is not None:
            assert entry.id == job["id"]
        wanted = {key: job[key] for key in _job_view(entry)}
        assert _job_view(entry) == wanted


@pytest.mark.parametrize("name", NAMES)
def test_environment_lines(name: str) -> None:
    _, expected, crontab = _load(name)
    got = [
        {"line": line.number, "name": line.env[0], "value": line.env[1]}
        for line in crontab.lines
        if line.env is not None
    ]
    # An assignment of an unknown CRON_TZ is an error line, but an assignment still.
    errors_on_env = [e for e in expected["env"] if e["line"] not in {g["line"] for g in got}]
    assert all(e["name"] == "CRON_TZ" for e in errors_on_env)
    assert got == [e for e in expected["env"] if e not in errors_on_env]


@pytest.mark.parametrize("name", NAMES)
def test_errors(name: str) -> None:
    _, expected, crontab = _load(name)
    findings = {f.line: f for f in crontab.findings}
    for error in expected["errors"]:
        assert error["line"] in findings, f"line {error['line']} should be an error"
        finding = findings[error["line"]]
        if error["column"] is not None:
            assert finding.column == error["column"], finding
        if error["contains"] is not None:
            assert error["contains"].lower() in finding.message.lower(), finding
    # Beyond the expected errors, only jobs left unloaded by an error above them.
    extra = set(findings) - {error["line"] for error in expected["errors"]}
    assert all("not loaded" in findings[line].message for line in extra), [
        str(findings[line]) for line in extra
    ]


@pytest.mark.parametrize("name", NAMES)
def test_warnings(name: str) -> None:
    _, expected, crontab = _load(name)
    users = {entry.pw_name for entry in pwd.getpwall()}
    which = lambda word, path: shutil.which(word, path=path) is not None  # noqa: E731
    got = {(f.line, f.code) for f in lint(crontab, NOW, which=which, users=users)}
    missing = [w for w in expected["warnings"] if (w["line"], w["code"]) not in got]
    assert not missing, sorted(got)
