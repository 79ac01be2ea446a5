"""The crontab model: parsing, byte-exact rendering, edits, and the file shell."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pycron.crontab import (
    DISABLED_MARK,
    JOB_OPTIONS,
    At,
    CatchUp,
    Cron,
    CrontabFile,
    Every,
    Line,
    LineKind,
    MailOn,
    NotifyEvent,
    Options,
    Overlap,
    Reboot,
    Spans,
    When,
    add_lines,
    disable_job,
    enable_job,
    parse,
    parse_assignment,
    parse_duration,
    remove_job,
    split_percent,
)
from pycron.errors import ConcurrentEditError, CrontabError, JobNotFoundError

SAMPLE = (
    "# nightly jobs\n"
    "SHELL=/bin/bash\n"
    "MAILTO=''\n"
    "\n"
    "# pycron: name=backup timeout=30m retries=2 overlap=queue catch-up=all:12h\n"
    "30 2 * * *\t/usr/local/bin/backup   # keeps this comment text\n"
    "*/5 * * * * date +\\%F >> /tmp/dates\n"
    "@every 90s echo tick\n"
    "@reboot echo up\n"
)


def test_a_sample_reads_as_cron_reads_it() -> None:
    crontab, errors = parse(SAMPLE, "jobs")
    assert errors == []
    backup, dates, tick, boot = crontab.entries
    assert backup.id == "backup"
    assert backup.command == "/usr/local/bin/backup   # keeps this comment text"
    assert backup.env_dict == {"SHELL": "/bin/bash", "MAILTO": ""}
    assert backup.options.timeout == timedelta(minutes=30)
    assert backup.options.retries == 2
    assert backup.options.overlap is Overlap.QUEUE
    assert backup.options.catch_up is CatchUp.ALL
    assert backup.options.catch_up_window == timedelta(hours=12)
    assert isinstance(backup.schedule, Cron)
    assert backup.schedule.text == "30 2 * * *"
    assert dates.command == "date +%F >> /tmp/dates"
    assert dates.stdin is None
    assert isinstance(tick.schedule, Every)
    assert tick.schedule.interval == timedelta(seconds=90)
    assert isinstance(boot.schedule, Reboot)
    assert [line.kind.value for line in crontab.lines] == [
        "comment",
        "env",
        "env",
        "blank",
        "option",
        "job",
        "job",
        "job",
        "job",
    ]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(SAMPLE, id="sample"),
        pytest.param("0 * * * * x", id="no-final-newline"),
        pytest.param("A=1\r\n0 * * * * x\r\n", id="crlf"),
        pytest.param("\n\n\n", id="blank-lines"),
        pytest.param("61 * * * * bad\n0 * * * * good\n", id="with-errors"),
        pytest.param("\ufeff0 * * * * x\n", id="bom"),
        pytest.param("0 * * * * a\0b\n", id="nul"),
        pytest.param("", id="empty"),
    ],
)
def test_render_gives_back_the_same_text(text: str) -> None:
    assert parse(text)[0].render() == text


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=300))
def test_any_text_parses_without_crashing_and_round_trips(text: str) -> None:
    crontab, errors = parse(text)
    assert crontab.render() == text
    assert all(error.line >= 1 for error in errors)


JOB_LINE = "17 3 * * * /usr/bin/good-job"


@given(
    noise=st.text(alphabet=" \t*/,-0123456789@#%=\"'abcLW?~\r", max_size=40),
    where=st.integers(min_value=0, max_value=2),
)
def test_a_bad_line_never_drops_a_good_one(noise: str, where: int) -> None:
    lines = ["A=1", JOB_LINE, "B=2"]
    lines.insert(where, noise.replace("\n", ""))
    crontab, _ = parse("\n".join(lines) + "\n")
    assert any(e.command == "/usr/bin/good-job" for e in crontab.entries)


@pytest.mark.parametrize(
    ("text", "command", "stdin"),
    [
        # cron's `%` rule: an unescaped `%` ends the command and starts its stdin.
        ("date +%Y-%m-%d", "date +", "Y-\nm-\nd\n"),
        ("date +\\%Y-\\%m-\\%d", "date +%Y-%m-%d", None),
        ("echo 100%", "echo 100", ""),
        ("cat%%", "cat", "\n"),
        ("mail -s hi joe%Hello,%%bye", "mail -s hi joe", "Hello,\n\nbye\n"),
        ("cat%a\\%b%c", "cat", "a%b\nc\n"),
        ("echo \\\\%x", "echo \\\\", "x\n"),
        ("%only", "", "only\n"),
    ],
)
def test_percent_rule(text: str, command: str, stdin: str | None) -> None:
    assert split_percent(text) == (command, stdin)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # Assignments as cron reads them.
        ("A = hello world  ", ("A", "hello world")),
        ('A="  x  "', ("A", "  x  ")),
        ('"A B"=1', ("A B", "1")),
        ("A=1=2", ("A", "1=2")),
        ("PATH=$HOME/bin:$PATH", ("PATH", "$HOME/bin:$PATH")),
        ("A=", ("A", "")),
        ('A=""', ("A", "")),
        ("5=x", ("5", "x")),
        ("=x", ("", "x")),
        ("A=1 # x", ("A", "1 # x")),
        ("A=x\r", ("A", "x")),
        # A CRLF line's CR after a quoted value is skipped as cron's isspace() skips it.
        ('A="x"\r', ("A", "x")),
        ("A = 'x y' \r", ("A", "x y")),
        ('"A B"=""\r', ("A B", "")),
        ('A="x"\r y', None),
        ('A="open', None),
        ('A="x" y', None),
        ("A B=c", None),
        ("FOO", None),
        ("0 5 * * * FOO=bar cmd", None),
    ],
)
def test_assignments(line: str, expected: tuple[str, str] | None) -> None:
    found = parse_assignment(line)
    assert (found if found is None else (found.name, found.value)) == expected


# Where the reader finds each part of a job line (columns counted by hand).
SPANS = [
    pytest.param("*/5  1 * * *  echo hi", False, Spans((0, 5, 7, 9, 11), 14), id="five-fields"),
    pytest.param("0\t1 * * *\tx", False, Spans((0, 2, 4, 6, 8), 10), id="tabs"),
    pytest.param("0 1 ~ * * x", False, Spans((0, 2, 4, 6, 8), 10), id="random"),
    pytest.param("@daily   run", False, Spans((0,), 9), id="nickname"),
    pytest.param("@every 90s cmd", False, Spans((0, 7), 11), id="every"),
    pytest.param("@reboot x", False, Spans((0,), 8), id="reboot"),
    pytest.param("-0 1 * * * x", False, Spans((1, 3, 5, 7, 9), 11), id="no-log"),
    pytest.param(
        "#pycron-disabled# 0 1 * * * x", False, Spans((18, 20, 22, 24, 26), 28), id="disabled"
    ),
    pytest.param(
        "0 1 * * * root -n mail %x%y",
        True,
        Spans((0, 2, 4, 6, 8), 18, user=10, option=15, percents=(23, 25)),
        id="user-dash-n-stdin",
    ),
    pytest.param(r"0 1 * * * a\%b%c", False, Spans((0, 2, 4, 6, 8), 10, percents=(14,)), id="esc"),
    pytest.param(r"0 1 * * * a\\%b", False, Spans((0, 2, 4, 6, 8), 10, percents=(13,)), id="pair"),
]


@pytest.mark.parametrize(("line", "system", "expected"), SPANS)
def test_a_job_line_keeps_the_columns_of_its_parts(
    line: str, system: bool, expected: Spans
) -> None:
    crontab, errors = parse(line + "\n", system=system)
    assert errors == []
    (entry,) = crontab.entries
    assert entry.spans == expected
    assert entry.schedule_column == expected.schedule[0]


@pytest.mark.parametrize(
    ("line", "name_column", "value_column"),
    [("  A = hello", 2, 6), ('"A B"="x"', 0, 6), ("\tPATH=/bin", 1, 6)],
)
def test_an_assignment_keeps_the_columns_of_its_name_and_value(
    line: str, name_column: int, value_column: int
) -> None:
    crontab, errors = parse(line + "\n")
    assert errors == []
    env = crontab.lines[0].env
    assert env is not None
    assert (env.name_column, env.value_column) == (name_column, value_column)


# Every kind of line, read from a file with LF endings (the control) and from one with
# CRLF endings, as cronie reads it: up to the LF, so the CR is the line's last character.
# A reading is ("blank",), ("comment",), ("env", name, value), ("option", pairs),
# ("job", schedule, zone, command, stdin, options, enabled), or ("invalid", words of
# the message). Each case: (id, lines, readings with LF, readings with CRLF).
_Reading = tuple[object, ...]
LINE_KINDS: list[tuple[str, list[str], list[_Reading], list[_Reading]]] = [
    ("comment", ["# nightly jobs"], [("comment",)], [("comment",)]),
    ("blank", [""], [("blank",)], [("invalid", "carriage return")]),
    ("blanks", [" \t "], [("blank",)], [("invalid", "carriage return")]),
    (
        "env-unquoted",
        ["MAILTO=ops@example.com"],
        [("env", "MAILTO", "ops@example.com")],
        [("env", "MAILTO", "ops@example.com")],
    ),
    (
        "env-double-quoted",
        ['MAILTO="ops team"'],
        [("env", "MAILTO", "ops team")],
        [("env", "MAILTO", "ops team")],
    ),
    ("env-single-quoted", ["A='x'"], [("env", "A", "x")], [("env", "A", "x")]),
    ("env-quoted-then-blanks", ['A = "x"  '], [("env", "A", "x")], [("env", "A", "x")]),
    ("env-quoted-name", ['"A B"="1 2"'], [("env", "A B", "1 2")], [("env", "A B", "1 2")]),
    ("env-empty-unquoted", ["A="], [("env", "A", "")], [("env", "A", "")]),
    ("env-empty-quoted", ['A=""'], [("env", "A", "")], [("env", "A", "")]),
    (
        "cron-tz-unquoted",
        ["CRON_TZ=Europe/Berlin", "0 9 * * * report"],
        [
            ("env", "CRON_TZ", "Europe/Berlin"),
            ("job", "0 9 * * *", "Europe/Berlin", "report", None, {}, True),
        ],
        [
            ("env", "CRON_TZ", "Europe/Berlin"),
            ("job", "0 9 * * *", "Europe/Berlin", "report\r", None, {}, True),
        ],
    ),
    (
        "cron-tz-quoted",
        ['CRON_TZ="Asia/Tokyo"', "0 9 * * * report"],
        [
            ("env", "CRON_TZ", "Asia/Tokyo"),
            ("job", "0 9 * * *", "Asia/Tokyo", "report", None, {}, True),
        ],
        [
            ("env", "CRON_TZ", "Asia/Tokyo"),
            ("job", "0 9 * * *", "Asia/Tokyo", "report\r", None, {}, True),
        ],
    ),
    (
        "job",
        ["0 5 * * * /usr/local/bin/report --all"],
        [("job", "0 5 * * *", None, "/usr/local/bin/report --all", None, {}, True)],
        [("job", "0 5 * * *", None, "/usr/local/bin/report --all\r", None, {}, True)],
    ),
    (
        "job-dash-and-dash-n",
        ["-0 5 * * * -n report"],
        [("job", "0 5 * * *", None, "report", None, {}, True)],
        [("job", "0 5 * * *", None, "report\r", None, {}, True)],
    ),
    (
        "job-percent-stdin",
        ["0 8 * * 1-5 mail -s hi ops%Good morning.%Bye"],
        [("job", "0 8 * * 1-5", None, "mail -s hi ops", "Good morning.\nBye\n", {}, True)],
        [("job", "0 8 * * 1-5", None, "mail -s hi ops", "Good morning.\nBye\r\n", {}, True)],
    ),
    (
        "job-percent-last",
        ["0 0 * * * cat%"],
        [("job", "0 0 * * *", None, "cat", "", {}, True)],
        [("job", "0 0 * * *", None, "cat", "\r\n", {}, True)],
    ),
    (
        "job-escaped-percent",
        ["30 6 * * * echo 50\\%"],
        [("job", "30 6 * * *", None, "echo 50%", None, {}, True)],
        [("job", "30 6 * * *", None, "echo 50%\r", None, {}, True)],
    ),
    (
        "options",
        ["# pycron: name=backup timeout=30m", "30 2 * * * backup"],
        [
            ("option", (("name", "backup"), ("timeout", "30m"))),
            ("job", "30 2 * * *", None, "backup", None, {"name": "backup", "timeout": "30m"}, True),
        ],
        [
            ("option", (("name", "backup"), ("timeout", "30m"))),
            (
                "job",
                "30 2 * * *",
                None,
                "backup\r",
                None,
                {"name": "backup", "timeout": "30m"},
                True,
            ),
        ],
    ),
    (
        "options-quoted-value",
        ['# pycron: cwd="/srv/my data"', "0 1 * * * ls"],
        [
            ("option", (("cwd", "/srv/my data"),)),
            ("job", "0 1 * * *", None, "ls", None, {"cwd": "/srv/my data"}, True),
        ],
        [
            ("option", (("cwd", "/srv/my data"),)),
            ("job", "0 1 * * *", None, "ls\r", None, {"cwd": "/srv/my data"}, True),
        ],
    ),
    (
        "options-bad-value",
        ["# pycron: retries=many", "0 1 * * * ls"],
        [("invalid", "bad retries 'many'"), ("invalid", "not loaded")],
        [("invalid", "bad retries 'many'"), ("invalid", "not loaded")],
    ),
    (
        "disabled",
        ["#pycron-disabled# 0 6 * * * old-job"],
        [("job", "0 6 * * *", None, "old-job", None, {}, False)],
        [("job", "0 6 * * *", None, "old-job\r", None, {}, False)],
    ),
    (
        "nickname",
        ["@hourly echo tick"],
        [("job", "@hourly", None, "echo tick", None, {}, True)],
        [("job", "@hourly", None, "echo tick\r", None, {}, True)],
    ),
    (
        "reboot",
        ["@reboot echo up"],
        [("job", "@reboot", None, "echo up", None, {}, True)],
        [("job", "@reboot", None, "echo up\r", None, {}, True)],
    ),
    (
        "every",
        ["@every 90s poll"],
        [("job", "@every 90s", None, "poll", None, {}, True)],
        [("job", "@every 90s", None, "poll\r", None, {}, True)],
    ),
    (
        "at",
        ["@at 2026-12-24T18:00 greet"],
        [("job", "@at 2026-12-24T18:00", None, "greet", None, {}, True)],
        [("job", "@at 2026-12-24T18:00", None, "greet\r", None, {}, True)],
    ),
    (
        "fields-only",
        ["0 5 * * *"],
        [("invalid", "missing command")],
        [("invalid", "carriage return")],
    ),
    (
        "nickname-only",
        ["@daily"],
        [("invalid", "missing command")],
        [("invalid", "carriage return")],
    ),
    (
        "every-only",
        ["@every 5m"],
        [("invalid", "missing command")],
        [("invalid", "carriage return")],
    ),
    (
        "at-only",
        ["@at 2026-12-24T18:00"],
        [("invalid", "missing command")],
        [("invalid", "carriage return")],
    ),
]


def _reading(line: Line) -> _Reading:
    """What a line was read as, in the terms of LINE_KINDS."""
    if line.kind is LineKind.ENV:
        assert line.env is not None
        return ("env", line.env.name, line.env.value)
    if line.kind is LineKind.OPTION:
        return ("option", line.options)
    if line.kind is LineKind.INVALID:
        return ("invalid", line.findings[0].message)
    if line.job is None:
        return (line.kind.value,)
    entry = line.job
    zone = entry.schedule.expression.tz if isinstance(entry.schedule, Cron) else None
    return (
        "job",
        entry.schedule.text,
        None if zone is None else str(zone),
        entry.command,
        entry.stdin,
        dict(entry.options.given),
        entry.enabled,
    )


@pytest.mark.parametrize(
    ("lines", "ending", "expected"),
    [
        pytest.param(lines, ending, readings, id=f"{name}-{label}")
        for name, lines, lf, crlf in LINE_KINDS
        for ending, label, readings in (("\n", "lf", lf), ("\r\n", "crlf", crlf))
    ],
)
def test_every_kind_of_line_with_lf_and_crlf_endings(
    lines: list[str], ending: str, expected: list[_Reading]
) -> None:
    text = "".join(line + ending for line in lines)
    crontab, _ = parse(text)
    got = [_reading(line) for line in crontab.lines]
    assert [reading[0] for reading in got] == [reading[0] for reading in expected]
    for reading, wanted in zip(got, expected, strict=True):
        if wanted[0] == "invalid":
            assert str(wanted[1]) in str(reading[1]), reading
        else:
            assert reading == wanted
    assert crontab.render() == text


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("5m", 300), ("1h30m", 5400), ("2d", 172800), ("1d2h3m4s", 93784), ("0s", 0)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "5", "5x", "1m1h", "-5m", "1.5h", "m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="bad duration"):
        parse_duration(text)


ERROR_CASES = [
    # (line, column of the error, words of the message)
    ("0 24 * * * x", 2, "hour: value 24 out of range 0-23"),
    ("* * * * *", 9, "missing command"),
    ("@daily", 6, "missing command"),
    ("* * * * * * cmd", 10, "sixth field"),
    ("@Daily x", 0, "must be lower case"),
    ("@every 0s x", 7, "longer than 0s"),
    ("@every 5x x", 7, "bad duration"),
    ("@at tomorrow x", 4, "ISO 8601"),
    ("--5 * * * * x", 1, "minute: unexpected '-'"),
    ("- 5 * * * * x", 1, "'-' (do not log)"),
    ("0 0 * * * -x cmd", 10, "bad option"),
    ("0 0 * * * -n", 10, "bad option"),
    ("0 0 * * * -n -n cmd", 10, "bad option"),
    ("20~10 * * * * x", 0, "bad random range"),
    ("0 0 * * * a\0b", 11, "NUL"),
    ("\r", 0, "carriage return"),
]


@pytest.mark.parametrize(("line", "column", "words"), ERROR_CASES)
def test_errors_say_where_and_what(line: str, column: int, words: str) -> None:
    crontab, errors = parse(line + "\n", "tab")
    (error,) = errors
    assert (error.path, error.line, error.column) == ("tab", 1, column)
    assert words in error.message
    assert crontab.lines[0].kind is LineKind.INVALID


def test_all_errors_of_a_file_are_collected() -> None:
    text = "61 * * * * a\n0 * * * * ok\n0 24 * * * b\n# pycron: bogus=1\n0 0 * * * c\n"
    crontab, errors = parse(text)
    assert [e.line for e in errors] == [1, 3, 4, 5]
    assert "not loaded" in errors[3].message  # a typo in its options must not run it bare
    assert [e.command for e in crontab.entries] == ["ok"]


# --------------------------------------------------------------------------- job options

# (options text, the job's Options but `given`): every key, each with a value that is
# not its default, so a key that sets the wrong attribute (or none) is seen.
OPTION_CASES = [
    ("name=backup", Options(name="backup")),
    ("timeout=1h30m", Options(timeout=timedelta(hours=1, minutes=30))),
    ("kill-grace=0s", Options(kill_grace=timedelta(0))),
    ("retries=100", Options(retries=100)),
    ("retry-delay=2m", Options(retry_delay=timedelta(minutes=2))),
    ("overlap=replace", Options(overlap=Overlap.REPLACE)),
    ("lock=db.main", Options(lock="db.main")),
    ('cwd="/srv/my dir"', Options(cwd="/srv/my dir")),
    ("catch-up=latest", Options(catch_up=CatchUp.LATEST)),
    ("catch-up=all", Options(catch_up=CatchUp.ALL)),
    ("catch-up=all:0s", Options(catch_up=CatchUp.ALL, catch_up_window=timedelta(0))),
    ("mail-on=never", Options(mail_on=MailOn.NEVER)),
    ('notify="json://h/x, ntfys://topic"', Options(notify=("json://h/x", "ntfys://topic"))),
    (
        "notify-on=start,missed",
        Options(notify_on=frozenset((NotifyEvent.START, NotifyEvent.MISSED))),
    ),
    ("notify-every=10m", Options(notify_every=timedelta(minutes=10))),
    ("debounce=0s", Options(debounce=timedelta(0))),
    ("when=always", Options(when=When.ALWAYS)),
    ("requires=backup,sync", Options(requires=("backup", "sync"))),
    ("enabled=false", Options(enabled=False)),
    (
        "name=a timeout=5m overlap=queue catch-up=all:12h",
        Options(
            name="a",
            timeout=timedelta(minutes=5),
            overlap=Overlap.QUEUE,
            catch_up=CatchUp.ALL,
            catch_up_window=timedelta(hours=12),
        ),
    ),
]


@pytest.mark.parametrize(("text", "expected"), OPTION_CASES, ids=[c[0] for c in OPTION_CASES])
def test_each_option_sets_its_attributes(text: str, expected: Options) -> None:
    crontab, errors = parse(f"# pycron: {text}\n@daily x\n")
    assert errors == []
    job = crontab.lines[1].job
    assert job is not None
    assert job.options._replace(given=()) == expected


def test_the_option_cases_cover_every_key() -> None:
    lines = [parse(f"# pycron: {text}\n@daily x\n")[0].lines[0] for text, _ in OPTION_CASES]
    assert {key for line in lines for key, _ in line.options} == set(JOB_OPTIONS)


KNOWN = (
    "options are: name, timeout, kill-grace, retries, retry-delay, overlap, lock, cwd, "
    "catch-up, mail-on, notify, notify-on, notify-every, debounce, when, requires, enabled"
)
BAD_DURATION = "bad duration {!r}: write it like 90s, 5m, 1h30m or 2d"

# (options text, column of the error, its message, its hint)
OPTION_ERROR_CASES = [
    ("bogus=1", 10, "unknown option 'bogus'", KNOWN),
    ("timeout=1m timeout=2m", 21, "option 'timeout' is given twice", None),
    ("timeout", 10, "option 'timeout' needs a value: write timeout=VALUE", None),
    (
        "name=.x",
        15,
        "bad name '.x': use 1-64 letters, digits, '.', '_' or '-', not starting with '.' or '-'",
        None,
    ),
    ("timeout=0s", 18, "timeout must be longer than 0s", None),
    ("timeout=5x", 18, BAD_DURATION.format("5x"), None),
    ("kill-grace=soon", 21, BAD_DURATION.format("soon"), None),
    ("retries=101", 18, "bad retries '101': a whole number from 0 to 100", None),
    ("retries=-1", 18, "bad retries '-1': a whole number from 0 to 100", None),
    ("retry-delay=1.5h", 22, BAD_DURATION.format("1.5h"), None),
    ("overlap=wait", 18, "bad overlap 'wait': one of skip, queue, allow, replace", None),
    ("overlap=skip:1h", 18, "bad overlap 'skip:1h': one of skip, queue, allow, replace", None),
    ("lock=a/b", 15, "bad lock name 'a/b': use letters, digits, '.', '_' or '-'", None),
    ('cwd=""', 14, "cwd needs a directory", None),
    (
        "catch-up=some",
        19,
        "bad catch-up 'some': one of none, latest, all or all:WINDOW (all:12h)",
        None,
    ),
    ("catch-up=latest:1h", 19, "only catch-up=all takes a window, as in all:12h", None),
    ("catch-up=all:1x", 19, BAD_DURATION.format("1x"), None),
    ("enabled=yes", 18, "bad enabled 'yes': true or false", None),
    (
        "requires=a,,b",
        19,
        "bad requires job id '': job ids separated by commas, no blanks",
        None,
    ),
    ("requires=a,b,a", 19, "requires names a job twice in 'a,b,a'", None),
]


@pytest.mark.parametrize(
    ("text", "column", "message", "hint"),
    OPTION_ERROR_CASES,
    ids=[c[0] for c in OPTION_ERROR_CASES],
)
def test_a_bad_option_is_an_error_at_its_column(
    text: str, column: int, message: str, hint: str | None
) -> None:
    crontab, errors = parse(f"# pycron: {text}\n@daily x\n", "tab")
    first = errors[0]
    assert (first.path, first.line, first.column) == ("tab", 1, column)
    assert (first.message, first.hint) == (message, hint)
    assert crontab.entries == ()  # the job under it is not loaded


UNATTACHED = "not directly above a job"
NOT_LOADED = "not loaded: the pycron options comment at line 1 does not attach to it"

# (crontab text, errors as (line, words in the message), commands of the jobs that load).
# A job must never run without the options meant for it: an options comment that is not
# directly above a job is an error, and so is the first job below it, which does not load.
ATTACH_CASES = [
    pytest.param(
        "# pycron: name=danger enabled=false\n0 0 * * * job\n",
        [],
        ["job"],
        id="directly-above-binds",
    ),
    pytest.param(
        "# pycron: name=danger enabled=false\n\n0 0 * * * job\n0 1 * * * other\n",
        [(1, UNATTACHED), (3, NOT_LOADED)],
        ["other"],
        id="blank-line-between",
    ),
    pytest.param(
        "# pycron: enabled=false\n# nightly cleanup\n0 0 * * * job\n0 1 * * * other\n",
        [(1, UNATTACHED), (3, NOT_LOADED)],
        ["other"],
        id="comment-between",
    ),
    pytest.param(
        "# pycron: enabled=false\nMAILTO=ops\n0 0 * * * job\n0 1 * * * other\n",
        [(1, UNATTACHED), (3, NOT_LOADED)],
        ["other"],
        id="assignment-between",
    ),
    pytest.param(
        "# pycron: timeout=1m\n\n# cleanup\nA=1\n\n0 0 * * * job\n0 1 * * * other\n",
        [(1, UNATTACHED), (6, NOT_LOADED)],
        ["other"],
        id="several-lines-between",
    ),
    pytest.param(
        "# pycron: name=danger\n# pycron: enabled=false\n\n0 0 * * * job\n0 1 * * * other\n",
        [(1, UNATTACHED), (2, UNATTACHED), (4, NOT_LOADED)],
        ["other"],
        id="two-options-comments-in-a-row",
    ),
    pytest.param(
        "# pycron: enabled=false\n\n# pycron: name=job\n0 0 * * * job\n0 1 * * * other\n",
        [(1, UNATTACHED), (4, NOT_LOADED)],
        ["other"],
        id="second-options-comment-directly-above",
    ),
    pytest.param(
        "# pycron: enabled=flase\n\n0 0 * * * job\n0 1 * * * other\n",
        [(1, "bad enabled 'flase'"), (1, UNATTACHED), (3, NOT_LOADED)],
        ["other"],
        id="broken-options-comment-between",
    ),
    pytest.param(
        "# pycron: enabled=false\n\r\n0 0 * * * job\n0 1 * * * other\n",
        [(1, UNATTACHED), (2, "carriage return"), (3, NOT_LOADED)],
        ["other"],
        id="above-a-carriage-return-line",
    ),
    pytest.param(
        "# pycron: enabled=false\n0 25 * * * job\n0 1 * * * other\n",
        [(2, "hour: value 25")],
        ["other"],
        id="directly-above-a-broken-job",
    ),
    pytest.param(
        "0 1 * * * other\n# pycron: enabled=false\n",
        [(2, UNATTACHED)],
        ["other"],
        id="at-end-of-file",
    ),
    pytest.param(
        "0 1 * * * other\n# pycron: enabled=false\n\n# the end\n",
        [(2, UNATTACHED)],
        ["other"],
        id="no-job-below",
    ),
]


@pytest.mark.parametrize(("text", "expected", "loaded"), ATTACH_CASES)
def test_options_comment_must_be_directly_above_its_job(
    text: str, expected: list[tuple[int, str]], loaded: list[str]
) -> None:
    crontab, errors = parse(text, "tab")
    assert [e.line for e in errors] == [line for line, _ in expected]
    for error, (_, words) in zip(errors, expected, strict=True):
        assert words in error.message, error
    assert [e.command for e in crontab.entries] == loaded
    assert all(crontab.lines[line - 1].kind is LineKind.INVALID for line, _ in expected)


def test_an_unattached_options_comment_says_what_to_do() -> None:
    options, job = parse("# pycron: enabled=false\n\n0 0 * * * job\n", "tab")[1]
    assert (options.line, options.column, job.line, job.column) == (1, 0, 3, 0)
    assert str(options).startswith("tab:1:1: error: ")
    assert "move it onto the line above the job it is for, or delete it" in options.message


def test_duplicate_names_are_errors_and_unnamed_twins_get_distinct_ids() -> None:
    text = (
        "# pycron: name=a\n0 * * * * x\n# pycron: name=a\n0 * * * * y\n1 * * * * z\n1 * * * * z\n"
    )
    crontab, errors = parse(text)
    assert [(e.line, e.column) for e in errors] == [(3, 15), (4, 0)]
    assert "already used on line 2" in errors[0].message
    first, second = (e.id for e in crontab.entries if e.command == "z")
    assert first != second
    assert second == f"{first}-2"


def test_unnamed_ids_are_stable_and_safe_in_file_names() -> None:
    ids = {parse("0 * * * * ../../etc/passwd\n")[0].entries[0].id for _ in range(3)}
    (job_id,) = ids
    assert job_id.isalnum()


def test_random_values_are_picked_once_per_line() -> None:
    line = "~ 2~4 * * * job\n"
    picks = {parse(line)[0].entries[0].schedule for _ in range(3)}
    (schedule,) = picks
    assert isinstance(schedule, Cron)
    assert schedule.random
    minute, hour, *_ = schedule.expression.fields
    assert len(minute.values) == 1
    assert hour.values <= {2, 3, 4}
    assert len(hour.values) == 1


def test_errors_after_a_random_field_keep_their_columns() -> None:
    (error,) = parse("~ 24 * * * x\n")[1]
    assert error.column == 2


def test_cron_tz_zones_the_jobs_below_it() -> None:
    crontab, errors = parse("0 9 * * * a\nCRON_TZ=Asia/Tokyo\n0 9 * * * b\nCRON_TZ=\n0 9 * * * c\n")
    assert errors == []
    zones = [e.schedule.expression.tz for e in crontab.entries if isinstance(e.schedule, Cron)]
    assert [str(z) if z else None for z in zones] == [None, "Asia/Tokyo", None]


def test_unknown_cron_tz_stops_its_jobs() -> None:
    _, errors = parse("CRON_TZ=Mars/Olympus\n0 9 * * * a\n")
    assert [e.line for e in errors] == [1, 2]


def test_at_takes_the_zone_of_cron_tz() -> None:
    crontab, _ = parse("CRON_TZ=Europe/Paris\n@at 2026-12-24T18:00 x\n")
    (entry,) = crontab.entries
    assert isinstance(entry.schedule, At)
    assert entry.schedule.when.utcoffset() == timedelta(hours=1)


def test_system_format_reads_a_user_column() -> None:
    crontab, errors = parse("17 * * * * root cd / && run-parts /etc/cron.hourly\n", system=True)
    assert errors == []
    (entry,) = crontab.entries
    assert (entry.user, entry.command) == ("root", "cd / && run-parts /etc/cron.hourly")


def test_dash_prefix_and_dash_n() -> None:
    crontab, errors = parse("-1 * * * * quiet\n0 0 * * * -n  mailer\n")
    assert errors == []
    quiet, mailer = crontab.entries
    assert quiet.no_log
    assert quiet.schedule.text == "1 * * * *"
    assert mailer.mail_on_error_only
    assert mailer.command == "mailer"


# --------------------------------------------------------------------------- edits

EDITABLE = "# top\nA=1\n# pycron: name=one\n0 1 * * * one\n\n0 2 * * * two   \n# end"


def _named(text: str, name: str) -> str:
    crontab = parse(text)[0]
    return next(e.id for e in crontab.entries if e.command.startswith(name))


def test_add_touches_only_the_end() -> None:
    crontab = parse(EDITABLE)[0]
    added = add_lines(crontab, ["0 3 * * * three"])
    assert added.render() == EDITABLE + "\n0 3 * * * three\n"


def test_add_refuses_to_give_options_left_at_the_end_to_the_new_job() -> None:
    crontab = parse("0 1 * * * one\n# pycron: name=old enabled=false\n", "tab")[0]
    with pytest.raises(CrontabError, match=r"^tab:2:1: error: the file ends with a pycron options"):
        add_lines(crontab, ["@daily x"])


def test_remove_takes_the_options_comment_along() -> None:
    removed = remove_job(parse(EDITABLE)[0], "one")
    assert removed.render() == "# top\nA=1\n\n0 2 * * * two   \n# end"


def test_disable_then_enable_restores_the_exact_line() -> None:
    crontab = parse(EDITABLE)[0]
    job_id = _named(EDITABLE, "two")
    disabled = disable_job(crontab, job_id)
    assert disabled.render() == EDITABLE.replace("0 2 * * * two", DISABLED_MARK + "0 2 * * * two")
    (entry,) = (e for e in disabled.entries if e.id == job_id)
    assert not entry.enabled
    assert enable_job(disabled, job_id).render() == EDITABLE


def test_unknown_id_is_a_clear_error() -> None:
    with pytest.raises(JobNotFoundError, match=r"no job 'nope'.*one"):
        remove_job(parse(EDITABLE)[0], "nope")


# --------------------------------------------------------------------------- the file


def test_update_installs_atomically_with_a_backup_and_keeps_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "crontab"
    path.write_text(EDITABLE)
    path.chmod(0o600)
    CrontabFile(path).update(lambda c: add_lines(c, ["0 3 * * * three"]))
    assert path.read_text().endswith("0 3 * * * three\n")
    assert (tmp_path / "crontab.bak").read_text() == EDITABLE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crontab", "crontab.bak", "crontab.lock"]


def test_an_invalid_result_is_never_installed(tmp_path: Path) -> None:
    path = tmp_path / "crontab"
    path.write_text(EDITABLE)
    with pytest.raises(CrontabError, match="hour: value 25"):
        CrontabFile(path).update(lambda c: add_lines(c, ["0 25 * * * bad"]))
    assert path.read_text() == EDITABLE
    assert not (tmp_path / "crontab.bak").exists()


def test_install_refuses_when_the_file_changed_meanwhile(tmp_path: Path) -> None:
    path = tmp_path / "crontab"
    path.write_text("0 1 * * * one\n")
    file = CrontabFile(path)
    original = file.read_text()
    path.write_text("0 1 * * * changed\n")
    with pytest.raises(ConcurrentEditError):
        file.install_text("0 1 * * * mine\n", expected=original)
    assert path.read_text() == "0 1 * * * changed\n"


def test_a_missing_file_is_an_empty_crontab(tmp_path: Path) -> None:
    file = CrontabFile(tmp_path / "sub" / "crontab")
    assert file.load()[0].entries == ()
    file.update(lambda c: add_lines(c, ["@daily x"]))
    assert file.read_text() == "@daily x\n"


# `pycron add LINE` that, once its imports are done, says so by creating a
# file, then waits for another to appear: released together, the adds meet at
# the crontab's lock within milliseconds of each other.
ADD_WHEN_RELEASED = """
import os, sys, time
import pycron.cli.app
from pycron.cli import main
ready, release, line = sys.argv[1:]
open(ready, "w").close()
while not os.path.exists(release):
    time.sleep(0.001)
main(["add", line])
"""
ADDS = 20


def test_adds_released_together_all_land_and_readers_see_whole_files(tmp_path: Path) -> None:
    path = tmp_path / "crontab"
    path.write_text("# start\n")
    release = tmp_path / "release"
    env = {**os.environ, "PYCRON_CRONTAB": str(path)}
    add = [sys.executable, "-c", ADD_WHEN_RELEASED]
    adds = [
        subprocess.Popen(
            [*add, str(tmp_path / f"ready-{n}"), str(release), f"{n} * * * * echo job-{n}"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for n in range(ADDS)
    ]
    seen = []
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("ready-*"))) < ADDS and time.monotonic() < deadline:
            time.sleep(0.01)
        release.touch()
        while any(p.poll() is None for p in adds):
            crontab, errors = parse(path.read_text())
            assert errors == []
            seen.append(len(crontab.entries))
            time.sleep(0.001)
    finally:
        for process in adds:
            process.wait(timeout=120)
    assert all(p.returncode == 0 for p in adds), [p.stderr.read() for p in adds if p.stderr]
    final, errors = parse(path.read_text())
    assert errors == []
    assert sorted(e.command for e in final.entries) == sorted(f"echo job-{n}" for n in range(ADDS))
    assert seen == sorted(seen)


def test_at_schedules_keep_naive_times_naive() -> None:
    (entry,) = parse("@at 2026-12-24T18:00 x\n")[0].entries
    assert isinstance(entry.schedule, At)
    assert entry.schedule.when == datetime(2026, 12, 24, 18, 0)


def test_random_values_differ_between_jobs() -> None:
    text = "".join(f"~ * * * * job-{n}\n" for n in range(20))
    minutes = set()
    for entry in parse(text)[0].entries:
        assert isinstance(entry.schedule, Cron)
        minutes |= entry.schedule.expression.fields[0].values
    assert len(minutes) > 5  # spread out, not one shared pick
