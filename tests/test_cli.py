"""The `pycron next` and `pycron explain` commands, through click and through
the fast entry path, as a pipeline sees them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pycron.cli.app import cli

# Expected times follow the rules in the README: the DST gap runs a fixed job once, at its end.
NEXT_CASES = [
    pytest.param(
        ["0 0 */3 * *", "--from", "2026-01-29T00:00", "--count", "3"],
        ["2026-01-31T00:00:00", "2026-02-01T00:00:00", "2026-02-04T00:00:00"],
        id="naive-row5",
    ),
    pytest.param(
        ["30 2 * * *", "--tz", "America/New_York", "--from", "2026-03-07T12:00", "-n", "3"],
        ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00", "2026-03-10T02:30:00-04:00"],
        id="dst-gap-D1",
    ),
    pytest.param(
        ["30 2 * * *", "--tz=America/New_York", "--from=2026-03-07T17:00:00+00:00"],
        ["2026-03-08T03:00:00-04:00"],
        id="offset-input-converted",
    ),
    pytest.param(
        ["@hourly", "--from", "2026-01-01T12:00"],
        ["2026-01-01T13:00:00"],
        id="nickname-default-count",
    ),
]


def _run_process(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pycron", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(("args", "expected"), NEXT_CASES)
def test_next_prints_one_iso_line_per_run(args: list[str], expected: list[str]) -> None:
    result = CliRunner().invoke(cli, ["next", *args])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == expected
    assert result.stderr == ""


@pytest.mark.parametrize(("args", "expected"), NEXT_CASES)
def test_fast_path_prints_the_same(args: list[str], expected: list[str]) -> None:
    done = _run_process(["next", *args])
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == expected


def test_next_json_is_an_array_of_iso_strings() -> None:
    args = ["next", "0 12 * * 7", "--from", "2026-01-01T00:00", "--count", "2", "--json"]
    for output in (CliRunner().invoke(cli, args).stdout, _run_process(args).stdout):
        assert json.loads(output) == ["2026-01-04T12:00:00", "2026-01-11T12:00:00"]


ERROR_CASES = [
    pytest.param(["next", "61 * * * *"], 2, "minute: value 61 out of range 0-59", id="syntax"),
    pytest.param(["next", "0 0 30 2 *"], 1, "never runs", id="never-runs"),
    pytest.param(["next", "* * * * *", "--tz", "Mars/Olympus"], 2, "unknown time zone", id="tz"),
    pytest.param(["next", "* * * * *", "--from", "yesterday"], 2, "--from", id="bad-from"),
    pytest.param(["next", "* * * * *", "--count", "0"], 2, "count", id="bad-count"),
    pytest.param(["next", "* * * * *", "--bogus"], 2, "--bogus", id="unknown-option"),
    pytest.param(["explain", "0 0 * * sunday"], 2, "unknown name 'sunday'", id="explain"),
]


@pytest.mark.parametrize(("args", "code", "message"), ERROR_CASES)
def test_errors_go_to_stderr_with_their_exit_code(args: list[str], code: int, message: str) -> None:
    for stdout, stderr, returncode in _both(args):
        assert returncode == code
        assert message in stderr
        assert stdout == ""


def _both(args: list[str]) -> list[tuple[str, str, int]]:
    """(stdout, stderr, exit code) through click in-process and through a real process."""
    result = CliRunner().invoke(cli, args)
    done = _run_process(args)
    return [
        (result.stdout, result.stderr, result.exit_code),
        (done.stdout, done.stderr, done.returncode),
    ]


def test_syntax_error_points_at_the_column() -> None:
    done = _run_process(["next", "0 0 * * 1#6"])
    lines = done.stderr.splitlines()
    assert (
        lines[0] == "pycron: error: day-of-week: occurrence 6 in '1#6' out of range 1-5 (column 10)"
    )
    assert lines[1] == "  0 0 * * 1#6"
    assert lines[2] == "  " + " " * 10 + "^"


def test_misspelt_name_gets_a_hint() -> None:
    done = _run_process(["next", "0 0 * * mnd"])
    assert done.returncode == 2
    assert "hint: did you mean 'mon'?" in done.stderr


def test_next_defaults_to_now() -> None:
    done = _run_process(["next", "* * * * *", "--count", "2"])
    first, second = done.stdout.split()
    assert second > first
    assert len(first) == len("2026-01-01T00:00:00")


def test_closed_pipe_is_not_an_error() -> None:
    done = subprocess.run(
        f"{sys.executable} -m pycron next '* * * * *' --count 200000 | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert len(done.stdout.splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_help_ends_with_examples() -> None:
    done = _run_process(["next", "--help"])
    assert done.returncode == 0
    assert "Examples:" in done.stdout
    assert "pycron next '*/15 * * * *' --count 3" in done.stdout


def test_explain_shows_description_runs_and_dst_notes() -> None:
    args = ["explain", "30 2 * * *", "--tz", "America/New_York", "--from", "2026-03-01T00:00"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "02:30" in lines[0]
    assert lines[1] == "Next runs:"
    assert lines[2:5] == [
        "  2026-03-01T02:30:00-05:00",
        "  2026-03-02T02:30:00-05:00",
        "  2026-03-03T02:30:00-05:00",
    ]
    notes = "\n".join(lines[5:])
    assert "2026-03-08" in notes
    assert "2026-11-01" not in notes  # 02:30 exists once when clocks go back at 02:00


def test_explain_of_a_never_running_expression() -> None:
    result = CliRunner().invoke(cli, ["explain", "0 0 30 2 *", "--from", "2026-01-01T00:00"])
    assert result.exit_code == 1  # as `next` exits for it
    assert "never runs" in result.stdout


# --------------------------------------------------------------------------- global options


@pytest.fixture
def places(tmp_path: Path) -> tuple[Path, Path]:
    crontab = tmp_path / "crontab"
    crontab.write_text("# pycron: name=hello\n@daily echo hello\n")
    return crontab, tmp_path / "state"


@pytest.mark.parametrize(
    "where",
    [
        pytest.param(["--crontab", "{crontab}", "--state-dir", "{state}", "list"], id="before"),
        pytest.param(["list", "--crontab", "{crontab}", "--state-dir", "{state}"], id="after"),
        pytest.param(["--crontab", "{crontab}", "list", "--state-dir", "{state}"], id="mixed"),
        pytest.param(["list", "--crontab={crontab}", "--state-dir={state}"], id="after-with-="),
    ],
)
def test_global_options_go_before_or_after_the_command(
    places: tuple[Path, Path], where: list[str]
) -> None:
    crontab, state = places
    done = _run_process([word.format(crontab=crontab, state=state) for word in where])
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1].split()[:2] == ["hello", "@daily"]


def test_global_options_after_a_subcommand_of_a_group(places: tuple[Path, Path]) -> None:
    crontab, state = places
    done = _run_process(["history", "prune", "--state-dir", str(state), "--crontab", str(crontab)])
    assert done.returncode == 0, done.stderr
    assert state.is_dir()


def test_a_global_option_on_both_sides_is_a_usage_error(places: tuple[Path, Path]) -> None:
    crontab, _ = places
    done = _run_process(["--crontab", str(crontab), "list", "--crontab", str(crontab)])
    assert done.returncode == 2
    assert done.stderr == (
        "pycron: error: --crontab is given both before and after the command: give it once\n"
    )


@pytest.mark.parametrize("command", ["list", "status", "daemon", "add", "history", "logs"])
def test_every_command_shows_the_global_options_in_its_help(command: str) -> None:
    done = _run_process([command, "--help"])
    assert done.returncode == 0
    for option in ("--crontab PATH", "--state-dir DIR", "--keep-runs N", "--keep-mib M"):
        assert option in done.stdout


@pytest.mark.parametrize(
    "args",
    [["--crontabs", "x", "list"], ["list", "--crontabs", "x"]],
    ids=["before", "after"],
)
def test_a_mistyped_global_option_gets_a_suggestion_in_either_place(args: list[str]) -> None:
    done = _run_process(args)
    assert done.returncode == 2
    first = done.stderr.splitlines()[0]
    assert first.startswith("pycron: error: no such option '--crontabs'")
    assert "'--crontab'" in first
    assert "Error:" not in done.stderr


def test_click_errors_read_like_pycron_errors() -> None:
    done = _run_process(["run-now"])
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "pycron: error: missing argument 'ID'",
        "  see 'pycron run-now --help'",
    ]
