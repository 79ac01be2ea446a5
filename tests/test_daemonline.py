"""`pycron daemon`'s command line read without click: the quick reader takes
what the click command takes, as click reads it, and hands anything else to
click; an error of the start reads the same on both paths."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pycron.cli import app
from pycron.cli import daemon as click_daemon
from pycron.cli.daemonline import DaemonLine, read_daemon_line

# `{file}` and `{dir}` stand for a file and a directory that exist, `{new}` for a
# path that does not.
SAME = {
    "no option: the defaults": (["@"], {}),
    "global options before the command": (
        ["--crontab", "{file}", "--state-dir", "{dir}", "@"],
        {},
    ),
    "global options after the command": (
        ["@", "--crontab", "{new}", "--state-dir", "{new}", "--keep-runs", "5", "--keep-mib", "7"],
        {},
    ),
    "some before, others after": (["--keep-runs", "3", "@", "--keep-mib", "9"], {}),
    "every daemon option, as --opt VALUE": (
        [
            "@",
            "--max-parallel",
            "3",
            "--shutdown-grace",
            "2.5",
            "--tz",
            "Europe/Paris",
            "--reboot",
            "--log-format",
            "json",
            "--log-level",
            "debug",
            "--heartbeat",
            "60",
            "--smtp",
            "smtp://mail.example.com",
            "--sendmail",
            "/usr/sbin/sendmail",
            "--notify",
            "json://a.example.com",
            "--notify",
            "json://b.example.com",
            "--http",
            "127.0.0.1:0",
            "--http-token",
            "abc",
            "--cluster",
            "redis://localhost:6379/0",
            "--cluster-lease",
            "2m",
        ],
        {},
    ),
    "every daemon option, as --opt=VALUE": (
        [
            "@",
            "--max-parallel=007",
            "--shutdown-grace=.5",
            "--tz=UTC",
            "--log-format=text",
            "--log-level=error",
            "--heartbeat=1.",
            "--smtp=smtps://cron:secret@mail.example.com",
            "--sendmail=sendmail",
            "--notify=json://a.example.com",
            "--http=[::1]:8765",
            "--http-insecure",
            "--cluster=postgresql://cron@db.example.com/pycron",
            "--cluster-lease=1s",
            "--crontab={file}",
        ],
        {},
    ),
    "a port alone": (["@", "--http", "8765"], {}),
    "the global options' environment": (
        ["@"],
        {
            "PYCRON_CRONTAB": "{file}",
            "PYCRON_STATE_DIR": "{dir}",
            "PYCRON_KEEP_RUNS": "4",
            "PYCRON_KEEP_MIB": "8",
        },
    ),
    "an option after the command over its environment variable": (
        ["@", "--crontab", "{new}", "--keep-runs", "2"],
        {"PYCRON_CRONTAB": "{file}", "PYCRON_KEEP_RUNS": "4"},
    ),
    "the daemon options' environment": (
        ["@"],
        {
            "PYCRON_SMTP": "smtp://mail.example.com",
            "PYCRON_HTTP_TOKEN": "from-the-environment",
            "PYCRON_CLUSTER": "redis://localhost:6379/0",
            "PYCRON_NOTIFY": "json://a.example.com",
        },
    ),
    "an option over its environment variable": (
        ["@", "--http-token", "given", "--cluster", "redis://other:6379/1"],
        {"PYCRON_HTTP_TOKEN": "from-the-environment", "PYCRON_CLUSTER": "redis://x:6379/0"},
    ),
    "empty environment variables count as unset": (
        ["@"],
        {"PYCRON_CRONTAB": "", "PYCRON_KEEP_RUNS": "", "PYCRON_CLUSTER": "", "PYCRON_SMTP": ""},
    ),
}

# Lines the reader leaves to click, and the exit code click ends them with
# (0: it serves them, or starts the daemon).
TO_CLICK = {
    "help": (["@", "--help"], {}, 0),
    "short help": (["@", "-h"], {}, 0),
    "the group's help": (["--help", "@"], {}, 0),
    "the version": (["--version", "@"], {}, 0),
    "a count out of range": (["@", "--max-parallel", "0"], {}, 2),
    "a count that is not one": (["@", "--max-parallel", "many"], {}, 2),
    "a count with a sign, which click takes": (["@", "--max-parallel", "+3"], {}, 0),
    "seconds in exponent form, which click takes": (["@", "--shutdown-grace", "1e3"], {}, 0),
    "negative seconds, which click takes": (["@", "--shutdown-grace", "-1"], {}, 0),
    "an unknown choice": (["@", "--log-format", "xml"], {}, 2),
    "a choice in other letters": (["@", "--log-level", "DEBUG"], {}, 2),
    "a missing value": (["@", "--tz"], {}, 2),
    "a missing value of a repeatable option": (["@", "--notify"], {}, 2),
    "an empty value": (["@", "--tz="], {}, 0),
    "a flag given a value": (["@", "--reboot=yes"], {}, 2),
    "an unknown option": (["@", "--verbose"], {}, 2),
    "a mistyped option": (["@", "--max-paralel", "3"], {}, 2),
    "an argument": (["@", "now"], {}, 2),
    "the end of options": (["@", "--"], {}, 0),
    "an option given twice": (["@", "--tz", "UTC", "--tz", "UTC"], {}, 0),
    "a global option on both sides": (["--crontab", "{file}", "@", "--crontab", "{file}"], {}, 2),
    "a global option whose value is the command's name": (["--state-dir", "@", "@"], {}, 0),
    "a bad address": (["@", "--http", "nowhere"], {}, 2),
    "a port out of range": (["@", "--http", "127.0.0.1:99999"], {}, 2),
    "a bad cluster URL": (["@", "--cluster", "ftp://x"], {}, 2),
    "a lease too short": (["@", "--cluster-lease", "0s"], {}, 2),
    "a lease that is no duration": (["@", "--cluster-lease", "soon"], {}, 2),
    "a crontab that is a directory": (["--crontab", "{dir}", "@"], {}, 2),
    "a bad count in the environment": (["@"], {"PYCRON_KEEP_RUNS": "0"}, 2),
    "a bad count in the environment, the option after the command": (
        ["@", "--keep-runs", "3"],
        {"PYCRON_KEEP_RUNS": "none"},
        2,
    ),
    "a bad cluster URL in the environment": (["@"], {"PYCRON_CLUSTER": "nope"}, 2),
}


@pytest.fixture
def places(tmp_path: Path) -> dict[str, str]:
    """What `{file}`, `{dir}` and `{new}` stand for."""
    (tmp_path / "crontab").write_text("")
    (tmp_path / "state").mkdir()
    return {
        "file": str(tmp_path / "crontab"),
        "dir": str(tmp_path / "state"),
        "new": str(tmp_path / "new"),
    }


def _line(words: list[str], places: dict[str, str]) -> list[str]:
    """The words of a table's line: `@` is the command, places filled in."""
    return ["daemon" if word == "@" else word.format(**places) for word in words]


def _set(env: dict[str, str], places: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment of a table's row, and no other variable pycron reads."""
    for name in os.environ:
        if name.startswith(("PYCRON_", "_PYCRON_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value.format(**places))


def _through_click(
    args: list[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, DaemonLine | None]:
    """The exit code of the click interface on `args`, and what its daemon
    command would have started (the daemon itself is not)."""
    started: list[DaemonLine] = []

    def start(line: DaemonLine) -> int:
        started.append(line)
        return 0

    monkeypatch.setattr(click_daemon, "start", start)
    with pytest.raises(SystemExit) as done:
        app.main(args)
    code = done.value.code
    assert isinstance(code, int)
    return code, started[0] if started else None


@pytest.mark.parametrize(("words", "env"), SAME.values(), ids=SAME.keys())
def test_the_quick_reader_reads_as_click_does(
    words: list[str],
    env: dict[str, str],
    places: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _set(env, places, monkeypatch)
    args = _line(words, places)
    quick = read_daemon_line(args)
    code, clicked = _through_click(args, monkeypatch)
    assert quick is not None
    assert (code, quick) == (0, clicked)


def test_the_table_sets_every_option() -> None:
    """Each value of the line is set other than by default in some row."""
    defaults = DaemonLine._field_defaults
    words = {word.partition("=")[0] for line, _ in SAME.values() for word in line}
    options = {"--" + name.replace("_", "-") for name in defaults if name != "token_given"}
    assert options <= words


@pytest.mark.parametrize(("words", "env", "code"), TO_CLICK.values(), ids=TO_CLICK.keys())
def test_the_quick_reader_hands_anything_else_to_click(
    words: list[str],
    env: dict[str, str],
    code: int,
    places: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _set(env, places, monkeypatch)
    args = _line(words, places)
    assert read_daemon_line(args) is None
    assert _through_click(args, monkeypatch)[0] == code


def test_the_quick_reader_leaves_a_shell_completion_to_click(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("_PYCRON_COMPLETE", "bash_complete")
    assert read_daemon_line(["daemon"]) is None


# Lines whose error shows only as the daemon starts: through the quick path, and
# through click (the same line with an option given twice, which only click reads).
START_ERRORS = {
    "an unknown zone": ["--tz", "Nowhere/Zone"],
    "a bad SMTP URL": ["--smtp", "bad://mail.example.com"],
    "a token without an address": ["--http-token", "abc"],
    "an address others reach, without a token": ["--http", "0.0.0.0:0"],
}


@pytest.mark.parametrize("words", START_ERRORS.values(), ids=START_ERRORS.keys())
def test_an_error_of_the_start_reads_the_same_on_both_paths(
    words: list[str], tmp_path: Path
) -> None:
    where = ["--crontab", str(tmp_path / "crontab"), "--state-dir", str(tmp_path / "state")]
    assert read_daemon_line(["daemon", *words]) is not None
    assert read_daemon_line(["daemon", *words, "--reboot", "--reboot"]) is None
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYCRON_")}
    done = [
        subprocess.run(
            [sys.executable, "-m", "pycron", *where, "daemon", *words, *twice],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=env,
        )
        for twice in ([], ["--reboot", "--reboot"])
    ]
    quick, clicked = ((d.returncode, d.stdout, d.stderr) for d in done)
    assert quick == clicked
    assert quick[0] == 2
    assert quick[2].startswith("pycron: error: ")
