"""The crontab verbs of the CLI: check, add, remove, enable, disable, edit,
list, import, export; JSON parsed back, exit codes as documented."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from freezegun import freeze_time

from pycron.cli.app import cli
from pycron.crontab import JOB_OPTIONS, parse
from pycron.lint import lint

GOOD = (
    "SHELL=/bin/sh\n# pycron: name=backup timeout=30m\n30 2 * * * /usr/bin/backup\n@hourly date\n"
)


@pytest.fixture
def crontab(tmp_path: Path) -> Path:
    path = tmp_path / "crontab"
    path.write_text(GOOD)
    return path


def _run(crontab: Path, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--crontab", str(crontab), *args], input=stdin)


# --------------------------------------------------------------------------- check


def test_check_a_good_file(crontab: Path) -> None:
    result = _run(crontab, "check")
    assert result.exit_code == 0, result.output
    assert "2 jobs, 0 errors, 0 warnings" in result.stderr


def test_check_reports_errors_like_a_compiler(tmp_path: Path) -> None:
    path = tmp_path / "bad"
    path.write_text("0 * * * * fine\n0 25 * * * bad\n")
    result = _run(path, "check", str(path))
    assert result.exit_code == 2
    assert f"{path}:2:3: error: hour: value 25 out of range 0-23" in result.stdout


def test_check_fails_on_options_that_do_not_attach_and_names_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "tab"
    path.write_text("# pycron: name=danger enabled=false\n\n* * * * * rm -rf /srv/cache\n")
    result = _run(path, "check", str(path))
    assert result.exit_code == 2
    assert f"{path}:1:1: error: this pycron options comment is not directly above a job" in (
        result.stdout
    )
    assert f"{path}:3:1: error: not loaded: the pycron options comment at line 1" in result.stdout
    assert "0 jobs, 2 errors" in result.stderr


def test_check_reports_a_notify_url_alerts_cannot_use_as_an_error(tmp_path: Path) -> None:
    path = tmp_path / "tab"
    path.write_text("# pycron: notify=json://h/x,nosuch://user:hunter22@h\n@daily /bin/true\n")
    result = _run(path, "check", str(path))
    assert result.exit_code == 2
    assert f"{path}:1:29: error: notify target 'nosuch://user:***@h': " in result.stdout
    assert "hunter22" not in result.stdout
    assert "1 job, 1 error, 0 warnings" in result.stderr


def test_check_reports_a_crontab_others_can_write(crontab: Path) -> None:
    crontab.chmod(0o646)
    result = _run(crontab, "check", str(crontab), "--json")
    assert result.exit_code == 2
    (finding,) = json.loads(result.stdout)
    assert (finding["line"], finding["column"], finding["severity"], finding["code"]) == (
        0,
        1,
        "error",
        "unsafe-permissions",
    )
    assert finding["message"].startswith("writable by others (mode 0646)")
    # The same text from stdin has no owner or mode to check.
    assert _run(crontab, "check", "-", stdin=crontab.read_text()).exit_code == 0


def test_check_json_gives_one_object_per_finding(tmp_path: Path) -> None:
    path = tmp_path / "tab"
    path.write_text("0 25 * * * bad\n*/5 * * * * date +%F\n")
    result = _run(path, "check", "--json", str(path))
    findings = json.loads(result.stdout)
    assert result.exit_code == 2
    error = next(f for f in findings if f["severity"] == "error")
    assert (error["line"], error["column"], error["code"]) == (1, 3, "syntax")
    assert {"path", "line", "column", "severity", "code", "message"} <= set(error)
    assert any(f["code"] == "percent" and f["line"] == 2 for f in findings)


def test_check_warns_of_watched_paths_missing_here_and_of_loops(tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    path = tmp_path / "tab"
    path.write_text(
        f"@watch {tmp_path}/inbox /bin/true\n"
        f"@watch {tmp_path}/outbox /bin/true\n"
        f"@watch {tmp_path}/inbox /bin/date >{tmp_path}/inbox/log\n"
    )
    result = _run(path, "check", "--json", str(path))
    assert result.exit_code == 0, result.output
    findings = json.loads(result.stdout)
    assert {(f["line"], f["code"]) for f in findings if f["code"] != "pycron-only"} == {
        (2, "watch-missing"),
        (3, "watch-loop"),
    }


def test_check_reads_stdin_and_strict_fails_on_warnings(crontab: Path) -> None:
    relaxed = _run(crontab, "check", "-", stdin="0 0 1-7 * 1 /bin/true\n")
    strict = _run(crontab, "check", "--strict", "-", stdin="0 0 1-7 * 1 /bin/true\n")
    assert relaxed.exit_code == 0
    assert "dom-dow-or" in relaxed.stdout
    assert strict.exit_code == 1


def test_check_lines_shows_what_cron_runs(crontab: Path) -> None:
    text = "A=1\n# note\n0 9 * * 1-5 mail -s hi joe%Hello%bye\n"
    result = _run(crontab, "check", "--lines", "--json", "-", stdin=text)
    records = json.loads(result.stdout)
    assert [r["kind"] for r in records] == ["env", "comment", "job"]
    assert (records[0]["name"], records[0]["value"]) == ("A", "1")
    job = records[2]
    assert (job["command"], job["stdin"]) == ("mail -s hi joe", "Hello\nbye\n")
    assert job["fields"]["day-of-week"] == [1, 2, 3, 4, 5]
    assert job["fields"]["hour"] == [9]


def test_check_lines_shows_the_picked_random_value(crontab: Path) -> None:
    result = _run(crontab, "check", "--lines", "--json", "-", stdin="~ 3 * * * job\n")
    (record,) = json.loads(result.stdout)
    minute = record["fields"]["minute"]
    assert len(minute) == 1
    assert record["picked"].split()[0] == str(minute[0])


def test_check_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = _run(tmp_path / "nope", "check")
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


# --------------------------------------------------------------------------- editing


def test_add_a_line_and_a_schedule_with_options(crontab: Path) -> None:
    first = _run(crontab, "add", "*/10 * * * * /usr/bin/poll")
    second = _run(
        crontab,
        "add",
        "--name",
        "report",
        "--timeout",
        "5m",
        "--retries",
        "2",
        "--",
        "0 8 * * 1",
        "/usr/bin/report",
        "--weekly",
    )
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert crontab.read_text() == GOOD + (
        "*/10 * * * * /usr/bin/poll\n"
        "# pycron: name=report timeout=5m retries=2\n"
        "0 8 * * 1 /usr/bin/report --weekly\n"
    )
    assert "added report" in second.stderr


def test_add_from_stdin_installs_many(crontab: Path) -> None:
    result = _run(crontab, "add", "-", stdin="MAILTO=ops\n0 1 * * * a\n0 2 * * * b\n")
    assert result.exit_code == 0, result.output
    assert crontab.read_text().endswith("MAILTO=ops\n0 1 * * * a\n0 2 * * * b\n")


@pytest.mark.parametrize(
    ("stdin", "written"),
    [
        pytest.param("@daily a\x0c* * * * * b\n", "@daily a\x0c* * * * * b\n", id="form-feed"),
        pytest.param("@daily a\x1c* * * * * b\n", "@daily a\x1c* * * * * b\n", id="file-separator"),
        pytest.param(
            "@daily a\u2028* * * * * b\n", "@daily a\u2028* * * * * b\n", id="line-separator"
        ),
        pytest.param("@daily a\r\n@hourly b\r\n", "@daily a\n@hourly b\n", id="crlf"),
        pytest.param("@daily a\n@hourly b", "@daily a\n@hourly b\n", id="no-final-newline"),
    ],
)
def test_add_from_stdin_splits_lines_as_cron_does(crontab: Path, stdin: str, written: str) -> None:
    result = _run(crontab, "add", "-", stdin=stdin)
    assert result.exit_code == 0, result.output
    assert crontab.read_bytes() == (GOOD + written).encode()


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["0 25 * * * x"], id="bad-hour"),
        pytest.param(["--timeout", "soon", "@daily", "x"], id="bad-option"),
        pytest.param(["--name", "backup", "@daily", "x"], id="duplicate-name"),
        pytest.param(["# just a comment"], id="no-job"),
    ],
)
def test_add_rejects_bad_input_and_changes_nothing(crontab: Path, args: list[str]) -> None:
    result = _run(crontab, "add", *args)
    assert result.exit_code == 2
    assert "error" in result.stderr
    assert crontab.read_text() == GOOD


INJECTED = "\n* * * * * echo injected"
# A good value of each option that takes text, to which INJECTED is appended.
OPTION_VALUES = {
    "--name": "a",
    "--timeout": "5m",
    "--kill-grace": "1s",
    "--retries": "1",
    "--retry-delay": "1s",
    "--lock": "db",
    "--cwd": "/srv",
    "--catch-up": "latest",
    "--notify": "json://h.example/x",
    "--notify-on": "failure,missed",
    "--notify-every": "30m",
    "--debounce": "5s",
    "--requires": "backup,sync",
}
# (arguments of add, where the error says the fault is, what it found)
LINE_BREAK_CASES = [
    pytest.param(["@hourly", "echo a" + INJECTED], "argument 2 ('echo a", "line break", id="word"),
    pytest.param(["@hourly echo a" + INJECTED], "argument 1 ('@hourly", "line break", id="line"),
    pytest.param(["@hourly", "echo a\r"], "argument 2 ('echo a", "carriage return", id="word-cr"),
    pytest.param(
        ["--cwd", "/srv\r", "@hourly", "x"], "--cwd ('/srv", "carriage return", id="cwd-cr"
    ),
    *(
        pytest.param(
            [option, value + INJECTED, "@hourly", "x"],
            f"{option} ('{value}",
            "line break",
            id=option,
        )
        for option, value in OPTION_VALUES.items()
    ),
]


@pytest.mark.parametrize(("args", "where", "what"), LINE_BREAK_CASES)
def test_add_refuses_line_breaks_and_writes_nothing(
    crontab: Path, args: list[str], where: str, what: str
) -> None:
    before = crontab.read_bytes()
    result = _run(crontab, "add", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"pycron: error: {where}")
    assert f"contains a {what}" in result.stderr
    assert crontab.read_bytes() == before
    assert not crontab.with_name("crontab.bak").exists()


# A good value of each option that add offers (--overlap takes no line break: click refuses it).
ADD_VALUES = {**OPTION_VALUES, "--overlap": "queue", "--mail-on": "failure", "--when": "failure"}


def test_add_offers_the_job_options_that_say_so_and_no_other() -> None:
    add = cli.get_command(click.Context(cli), "add")
    assert add is not None
    offered = {name for param in add.params for name in param.opts if name[2:] in JOB_OPTIONS}
    expected = {f"--{spec.key}" for spec in JOB_OPTIONS.values() if spec.in_add}
    assert offered == expected == set(ADD_VALUES)
    assert "--enabled" not in offered  # a job is added to run; `disable` turns it off


@pytest.mark.parametrize(("option", "value"), ADD_VALUES.items())
def test_add_writes_each_job_option_above_the_job(crontab: Path, option: str, value: str) -> None:
    result = _run(crontab, "add", option, value, "@daily", "/bin/true")
    assert result.exit_code == 0, result.output
    assert crontab.read_text() == GOOD + f"# pycron: {option[2:]}={value}\n@daily /bin/true\n"


def test_add_prints_the_warnings_of_check_for_the_new_line(crontab: Path) -> None:
    command = "/usr/bin/tar czf /b/$(date +%F).tgz /etc"
    result = _run(crontab, "add", "--name", "archive", "0 12 * * *", command)
    assert result.exit_code == 0, result.output
    line = len(GOOD.splitlines()) + 2  # below its options comment
    assert crontab.read_text().splitlines()[line - 1] == f"0 12 * * * {command}"
    parsed, _ = parse(crontab.read_text(), str(crontab))
    warnings = "\n".join(str(f) for f in lint(parsed, datetime.now()) if f.line == line)
    assert "[percent]" in warnings
    assert result.stderr.splitlines() == [*warnings.splitlines(), f"added archive to {crontab}"]
    assert warnings in _run(crontab, "check").stdout


def test_add_prints_no_warnings_for_a_clean_line(crontab: Path) -> None:
    result = _run(crontab, "add", "0 12 * * * /usr/bin/poll")
    assert result.exit_code == 0, result.output
    added = json.loads(_run(crontab, "list", "--json").stdout)[-1]["id"]
    assert result.stderr == f"added {added} to {crontab}\n"  # and no warning before it


def test_remove_disable_enable(crontab: Path) -> None:
    disabled = _run(crontab, "disable", "backup")
    assert disabled.exit_code == 0
    assert "#pycron-disabled# 30 2 * * * /usr/bin/backup\n" in crontab.read_text()
    listed = json.loads(_run(crontab, "list", "--json").stdout)
    assert (listed[0]["id"], listed[0]["enabled"]) == ("backup", False)
    assert _run(crontab, "enable", "backup").exit_code == 0
    assert crontab.read_text() == GOOD
    removed = _run(crontab, "remove", "backup", "--yes")
    assert removed.exit_code == 0
    assert crontab.read_text() == "SHELL=/bin/sh\n@hourly date\n"
    assert (crontab.parent / "crontab.bak").read_text() == GOOD


def test_unknown_id_exits_1_and_names_the_known_ones(crontab: Path) -> None:
    result = _run(crontab, "remove", "nope", "--yes")
    assert result.exit_code == 1
    assert "no job 'nope'" in result.stderr
    assert "backup" in result.stderr


def test_list_json_and_plain(crontab: Path) -> None:
    jobs = json.loads(_run(crontab, "list", "--json", "--next", "2").stdout)
    assert jobs[0]["id"] == "backup"
    assert jobs[0]["schedule"] == "30 2 * * *"
    assert len(jobs[0]["next"]) == 2
    first_run = datetime.fromisoformat(jobs[0]["next"][0])
    assert first_run.tzinfo is not None  # an instant, in this machine's zone
    assert first_run.strftime("%H:%M") == "02:30"
    plain = _run(crontab, "list")
    header, first, second = plain.stdout.splitlines()
    assert header.split() == [
        "ID",
        "SCHEDULE",
        "COMMAND",
        "NEXT",
        "RUN",
        "ENABLED",
        "LAST",
        "RUN",
        "RESULT",
    ]
    assert first.startswith("backup")
    assert second.split()[1] == "@hourly"


def test_import_and_export(crontab: Path, tmp_path: Path) -> None:
    new = "# imported\n0 4 * * * /usr/bin/other\n"
    imported = _run(crontab, "import", "-", stdin=new)
    assert imported.exit_code == 0
    exported = _run(crontab, "export")
    assert exported.stdout == new
    refused = _run(crontab, "import", "-", stdin="0 4 * * *\n")
    assert refused.exit_code == 2
    assert crontab.read_text() == new


def test_edit_installs_a_valid_edit(crontab: Path, tmp_path: Path, drafts: Path) -> None:
    editor = _editor(tmp_path, "printf '0 5 * * * /usr/bin/new\\n' >> \"$1\"")
    result = CliRunner(env={"VISUAL": str(editor)}).invoke(cli, ["--crontab", str(crontab), "edit"])
    assert result.exit_code == 0, result.output
    assert crontab.read_text() == GOOD + "0 5 * * * /usr/bin/new\n"
    assert list(drafts.iterdir()) == []  # installed: the copy is gone


@pytest.fixture
def drafts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where `edit` makes its copies in these tests (not the machine's /tmp)."""
    directory = tmp_path / "drafts"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def test_edit_with_errors_can_be_abandoned(crontab: Path, tmp_path: Path, drafts: Path) -> None:
    editor = _editor(tmp_path, "printf '0 25 * * * bad\\n' >> \"$1\"")
    result = CliRunner(env={"VISUAL": str(editor)}).invoke(
        cli, ["--crontab", str(crontab), "edit"], input="n\n"
    )
    assert result.exit_code == 2
    assert "hour: value 25" in result.stderr
    assert crontab.read_text() == GOOD
    assert list(drafts.iterdir()) == []  # dropped on purpose: no copy is left behind


@pytest.mark.parametrize(
    ("body", "answers"),
    [
        pytest.param("printf '# mine\\n' >> \"$1\"; exit 3", "", id="editor-fails"),
        pytest.param("printf '0 25 * * * mine\\n' >> \"$1\"", "", id="end-of-input-at-prompt"),
    ],
)
def test_a_stopped_edit_keeps_the_copy_and_says_where(
    crontab: Path, tmp_path: Path, drafts: Path, body: str, answers: str
) -> None:
    editor = _editor(tmp_path, body)
    result = CliRunner(env={"VISUAL": str(editor)}).invoke(
        cli, ["--crontab", str(crontab), "edit"], input=answers
    )
    assert result.exit_code == 1
    (kept,) = drafts.iterdir()
    assert "mine" in kept.read_text()
    last = result.stderr.splitlines()[-1]
    assert last.startswith("pycron: error: not installed (")
    assert last.endswith(f"): your version is kept in {kept}")
    assert crontab.read_text() == GOOD


def test_an_interrupted_edit_keeps_the_copy_and_says_where(crontab: Path, tmp_path: Path) -> None:
    editor = _editor(tmp_path, "printf '# mine\\n' >> \"$1\"; kill -INT 0; sleep 5")
    drafts = tmp_path / "drafts"
    drafts.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "pycron", "--crontab", str(crontab), "edit"],
        env={**os.environ, "VISUAL": str(editor), "TMPDIR": str(drafts)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,  # the editor interrupts its own process group only
        check=False,
    )
    assert done.returncode == 1, done.stderr
    (kept,) = drafts.iterdir()
    assert kept.read_text() == GOOD + "# mine\n"
    assert done.stderr.splitlines()[-1].endswith(f"your version is kept in {kept}")
    assert "Traceback" not in done.stderr
    assert crontab.read_text() == GOOD


def test_edit_keeps_both_versions_when_the_file_changed(
    crontab: Path, tmp_path: Path, drafts: Path
) -> None:
    script = f"printf '# mine\\n' >> \"$1\"; printf '# theirs\\n' >> {crontab}"
    editor = _editor(tmp_path, script)
    result = CliRunner(env={"VISUAL": str(editor)}).invoke(cli, ["--crontab", str(crontab), "edit"])
    assert result.exit_code == 1
    assert crontab.read_text() == GOOD + "# theirs\n"
    kept = crontab.with_name("crontab.edited")
    assert kept.read_text() == GOOD + "# mine\n"


def _editor(directory: Path, body: str) -> Path:
    """A fake $VISUAL: a shell script that edits the file it is given."""
    script = directory / "editor.sh"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return script


def test_crontab_path_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "env-crontab"
    result = CliRunner(env={"PYCRON_CRONTAB": str(path)}).invoke(cli, ["add", "@daily x"])
    assert result.exit_code == 0
    assert path.read_text() == "@daily x\n"


def test_default_crontab_is_under_xdg_config_home(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path), "PYCRON_CRONTAB": None}
    result = CliRunner(env=env).invoke(cli, ["add", "@daily x"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "pycron" / "crontab").read_text() == "@daily x\n"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_export_of_a_missing_crontab_is_empty(tmp_path: Path) -> None:
    result = _run(tmp_path / "missing", "export")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert not os.path.exists(tmp_path / "missing")


def test_crontab_example_explains_each_warning_it_keeps() -> None:
    example = Path(__file__).resolve().parent.parent / "crontab.example"
    result = _run(example, "check", str(example), "--json")
    assert result.exit_code == 0, result.output
    findings = json.loads(result.stdout)
    assert findings
    assert {finding["severity"] for finding in findings} == {"warning"}
    lines = example.read_text().splitlines()
    for finding in findings:  # a `# (check: ...)` comment stands just above each
        above = lines[max(0, finding["line"] - 4) : finding["line"] - 1]
        assert any(line.startswith("# (check") for line in above), finding


@pytest.mark.parametrize("command", ["list", "status"])
def test_next_runs_on_a_dst_day_are_the_ones_the_daemon_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """02:30 does not exist in New York on 2026-03-08: the daemon runs the job at
    03:00 EDT (the end of the gap), and `list` and `status` say so."""
    crontab = tmp_path / "crontab"
    crontab.write_text("# pycron: name=night\n30 2 * * * true\n")
    monkeypatch.setenv("TZ", "America/New_York")
    with freeze_time("2026-03-07T17:00:00+00:00"):
        result = _run(crontab, command, "--json", *(["--next", "2"] if command == "list" else []))
    assert result.exit_code == 0, result.output
    (job,) = json.loads(result.stdout)
    runs = job["next"] if command == "list" else [job["next"]]
    assert runs == ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"][: len(runs)]
    assert len(runs) == (2 if command == "list" else 1)
