"""The warnings of `pycron check` (pycron.lint).

Each code has snippets that must produce it, at the line and column written
here by hand (1-based line, 0-based column of the token), and
near misses that must not.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pycron.crontab import Cron, Finding, Severity, parse
from pycron.lint import CODES, lint

NOW = datetime(2026, 1, 1)  # a Thursday
NEW_YORK = ZoneInfo("America/New_York")

# A fake file system for `which`: the programs in each PATH directory.
PROGRAMS = {
    "/usr/bin": {"tar", "date", "echo", "mail", "x", "c", "cmd"},
    "/bin": {"sh"},
    "/usr/sbin": {"ip"},
    "/opt/bin": {"tool"},
}


def fake_which(word: str, path: str) -> bool:
    return any(word in PROGRAMS.get(directory, ()) for directory in path.split(":"))


def run_lint(
    text: str, *, system: bool = False, which: bool = False, **options: Any
) -> list[Finding]:
    """Parse a crontab that must have no errors and lint it at NOW (fake `which` if asked)."""
    crontab, errors = parse(text, "tab", system=system)
    assert errors == []
    return lint(crontab, NOW, which=fake_which if which else None, **options)


# --------------------------------------------------------------------------- each code fires

# (crontab text, lint options, code, line, column)
FIRES = [
    # percent: the column of the first unescaped `%`
    pytest.param("0 0 * * * date +%F >x\n", {}, "percent", 1, 16, id="percent-date"),
    pytest.param("0 0 * * * echo 100%\n", {}, "percent", 1, 18, id="percent-at-end"),
    pytest.param("0 0 * * * a\\%b%c\n", {}, "percent", 1, 14, id="percent-after-escaped"),
    pytest.param("0 0 * * * a\\\\%b\n", {}, "percent", 1, 13, id="percent-double-backslash"),
    # dom-dow-or: at day-of-month
    pytest.param("0 0 1-7 * 1 x\n", {}, "dom-dow-or", 1, 4, id="dom-dow-or-range"),
    pytest.param("0 0 L * 5 x\n", {}, "dom-dow-or", 1, 4, id="dom-dow-or-extension"),
    pytest.param("0 0 1 * 1#1 x\n", {}, "dom-dow-or", 1, 4, id="dom-dow-or-nth"),
    # star-step-day: at the star field
    pytest.param("0 0 1 * */2 x\n", {}, "star-step-day", 1, 8, id="star-step-dow"),
    pytest.param("0 0 */2 * sun x\n", {}, "star-step-day", 1, 4, id="star-step-dom"),
    pytest.param("0 0 *,1 * 1 x\n", {}, "star-step-day", 1, 4, id="star-list-dom"),
    # a-slash-n: at the item
    pytest.param("5/15 * * * * x\n", {}, "a-slash-n", 1, 0, id="a-slash-n-minute"),
    pytest.param("0 0 1 jan/3 * x\n", {}, "a-slash-n", 1, 6, id="a-slash-n-month-name"),
    pytest.param("0 1,5/6 * * * x\n", {}, "a-slash-n", 1, 4, id="a-slash-n-in-list"),
    # extension: at the item
    pytest.param("0 0 L * * x\n", {}, "extension", 1, 4, id="extension-L"),
    pytest.param("0 0 1,15W * * x\n", {}, "extension", 1, 6, id="extension-W-in-list"),
    pytest.param("0 0 LW * * x\n", {}, "extension", 1, 4, id="extension-LW"),
    pytest.param("0 0 * * 5L x\n", {}, "extension", 1, 8, id="extension-nL"),
    pytest.param("0 0 * * 1#2 x\n", {}, "extension", 1, 8, id="extension-hash"),
    pytest.param("0 0 ? * 1 x\n", {}, "extension", 1, 4, id="extension-question"),
    # step: at the step number
    pytest.param("*/60 * * * * x\n", {}, "step", 1, 2, id="step-keeps-one-minute"),
    pytest.param("0 0 10-20/30 * * x\n", {}, "step", 1, 10, id="step-keeps-one-range"),
    pytest.param("0 0 */32 * * x\n", {}, "step", 1, 6, id="step-keeps-one-dom"),
    pytest.param("*/7 * * * * x\n", {}, "step", 1, 2, id="step-7-minutes"),
    pytest.param("0 */5 * * * x\n", {}, "step", 1, 4, id="step-5-hours"),
    pytest.param("0 0 1 */5 * x\n", {}, "step", 1, 8, id="step-5-months"),
    pytest.param("50/7 * * * * x\n", {}, "step", 1, 3, id="step-a-slash-n-wraps"),
    # dow-x-0: at the item
    pytest.param("0 0 * * fri-sun x\n", {}, "dow-x-0", 1, 8, id="dow-fri-sun"),
    pytest.param("0 0 * * 1,5-0/2 x\n", {}, "dow-x-0", 1, 10, id="dow-5-0-step-in-list"),
    # never-runs: at day-of-month
    pytest.param("0 0 31 4 * x\n", {}, "never-runs", 1, 4, id="never-april-31"),
    pytest.param("0 0 30 2 * x\n", {}, "never-runs", 1, 4, id="never-february-30"),
    pytest.param("0 0 L-30 2 * x\n", {}, "never-runs", 1, 4, id="never-L-30-february"),
    # rare: at day-of-month, or day-of-week when day-of-month is a star
    pytest.param("0 0 29 2 * x\n", {}, "rare", 1, 4, id="rare-leap-day"),
    pytest.param("0 0 31 * * x\n", {}, "rare", 1, 4, id="rare-31st"),
    pytest.param("0 0 30 * * x\n", {}, "rare", 1, 4, id="rare-30th"),
    pytest.param("0 0 * 2 1#5 x\n", {}, "rare", 1, 8, id="rare-fifth-monday-february"),
    pytest.param("0 0 1 * */2 x\n", {}, "rare", 1, 4, id="rare-first-on-weekdays"),
    # every-minute: at the minute field
    pytest.param("* 16 * * * x\n", {}, "every-minute", 1, 0, id="every-minute-one-hour"),
    pytest.param("* */2 * * * x\n", {}, "every-minute", 1, 0, id="every-minute-hour-step"),
    # no-final-newline: just past the last character
    pytest.param("0 0 * * * x", {}, "no-final-newline", 1, 11, id="no-newline-job"),
    pytest.param("A=1\n# end", {}, "no-final-newline", 2, 5, id="no-newline-comment"),
    # six-fields: at the token
    pytest.param("0 0 * * * 2024 cmd\n", {}, "six-fields", 1, 10, id="six-fields-year"),
    pytest.param("0 0 * * * ? cmd\n", {}, "six-fields", 1, 10, id="six-fields-question"),
    pytest.param("0 0 * * * 1-5 cmd\n", {}, "six-fields", 1, 10, id="six-fields-range"),
    pytest.param(
        "0 0 * * * 2024 root x\n", {"system": True}, "six-fields", 1, 10, id="six-fields-system"
    ),
    # crlf: at the CR of the first CRLF line
    pytest.param("A=1\r\n0 0 * * * x\r\n", {}, "crlf", 1, 3, id="crlf"),
    # relative-command: at the first word
    pytest.param("0 0 * * * ./backup.sh\n", {}, "relative-command", 1, 10, id="relative-dot"),
    pytest.param("0 0 * * * bin/run x\n", {}, "relative-command", 1, 10, id="relative-dir"),
    pytest.param(
        "0 0 * * * backup.sh\n", {"which": True}, "relative-command", 1, 10, id="not-in-path"
    ),
    pytest.param(
        "0 0 * * * ip addr\n", {"which": True}, "relative-command", 1, 10, id="not-in-debian-path"
    ),
    pytest.param(
        "PATH=/usr/bin\n0 0 * * * tool\n",
        {"which": True},
        "relative-command",
        2,
        10,
        id="not-in-crontab-path",
    ),
    # env-expansion: at the `$` or `~`
    pytest.param("PATH=$HOME/bin:$PATH\n", {}, "env-expansion", 1, 5, id="expansion-path"),
    pytest.param("A = ~/x\n", {}, "env-expansion", 1, 4, id="expansion-tilde"),
    pytest.param('A="x $Y"\n', {}, "env-expansion", 1, 5, id="expansion-quoted"),
    # env-special: at the value (empty) or the name
    pytest.param("MAILTO=\n", {}, "env-special", 1, 7, id="special-empty-value"),
    pytest.param("TZ=UTC\n", {}, "env-special", 1, 0, id="special-TZ"),
    pytest.param("  CRON_TZ=UTC\n", {}, "env-special", 1, 2, id="special-CRON_TZ"),
    pytest.param("RANDOM_DELAY=5\n", {}, "env-special", 1, 0, id="special-RANDOM_DELAY"),
    pytest.param("RANDOM_DELAY=5m\n", {}, "env-special", 1, 13, id="special-RANDOM_DELAY-bad"),
    pytest.param("=x\n", {}, "env-special", 1, 0, id="special-empty-name"),
    # dst: at the hour field
    pytest.param(
        "CRON_TZ=America/New_York\n30 2 * * * x\n", {}, "dst", 2, 3, id="dst-new-york-gap"
    ),
    pytest.param(
        "CRON_TZ=America/New_York\n30 1 * * * x\n", {}, "dst", 2, 3, id="dst-new-york-fold"
    ),
    pytest.param("CRON_TZ=Europe/London\n*/20 1 * * * x\n", {}, "dst", 2, 5, id="dst-london"),
    pytest.param("30 2 * * * x\n", {"local_tz": NEW_YORK}, "dst", 1, 3, id="dst-local-zone"),
    # portability: at the `-`, the `-n`, the `~` field, the command
    pytest.param("-0 * * * * c\n", {}, "portability", 1, 0, id="portability-no-log"),
    pytest.param("0 * * * * -n c\n", {}, "portability", 1, 10, id="portability-dash-n"),
    pytest.param("0 1~5 * * * c\n", {}, "portability", 1, 2, id="portability-random"),
    pytest.param(
        "0 * * * * " + "c" * 999 + "\n", {}, "portability", 1, 10, id="portability-long-command"
    ),
    pytest.param("A=1\n" * 1001, {}, "portability", 1001, 0, id="portability-many-assignments"),
    # user-column
    pytest.param("@hourly root echo\n", {}, "user-column", 1, 8, id="user-in-user-crontab"),
    pytest.param(
        "0 * * * * bob x\n",
        {"system": True, "users": ("root",)},
        "user-column",
        1,
        10,
        id="unknown-user-in-system-crontab",
    ),
    pytest.param(
        "@daily backup x\n", {"users": ("root", "backup")}, "user-column", 1, 7, id="given-user"
    ),
    # empty-command: at the command
    pytest.param("* * * * * %x\n", {}, "empty-command", 1, 10, id="empty-command"),
    pytest.param("-* * * * * -n %x\n", {}, "empty-command", 1, 14, id="empty-command-after-n"),
    # pycron-only: at the schedule
    pytest.param("@every 5m x\n", {}, "pycron-only", 1, 0, id="pycron-only-every"),
    pytest.param("A=1\n  @at 2026-12-24T18:00 x\n", {}, "pycron-only", 2, 2, id="pycron-only-at"),
    # no-mail-transport: at MAILTO's value
    pytest.param(
        "MAILTO=ops@example.org\n0 * * * * x\n",
        {"mail_transport": False},
        "no-mail-transport",
        1,
        7,
        id="mailto-without-transport",
    ),
    # duplicate-job: at the second job's schedule
    pytest.param("0 * * * * x\n0  *  * * * x\n", {}, "duplicate-job", 2, 0, id="duplicate"),
    # notify-target (an error): at the URL alerts cannot go to
    pytest.param(
        "# pycron: notify=json://h/x,nope://h\n0 * * * * x\n",
        {"check_target": lambda url: "unknown" if url.startswith("nope:") else None},
        "notify-target",
        1,
        28,
        id="notify-target",
    ),
    # option-value (an error): at the value of a soft option that is not one
    pytest.param(
        "# pycron: name=x notify-on=failure,sucess\n0 * * * * x\n",
        {},
        "option-value",
        1,
        27,
        id="notify-on-unknown-event",
    ),
    # watch-missing: at the @watch PATH that `exists` does not know
    pytest.param(
        "@watch /srv/inbx x\n",
        {"exists": {"/srv/inbox"}.__contains__},
        "watch-missing",
        1,
        7,
        id="watch-missing",
    ),
    # watch-loop: where the command names its own watched path
    *(
        pytest.param(f"@watch {path} {command}\n", {}, "watch-loop", 1, column, id=case)
        for case, path, command, column in [
            ("watch-loop-inside", "/srv/in", "sort /srv/in/a > /srv/in/b", 20),
            ("watch-loop-itself", "/srv/in/", "touch /srv/in", 22),
            ("watch-loop-relative", "in", "cp x ./in/", 15),
            ("watch-loop-quoted", "~/in", 'date >"~/in/log"', 19),
        ]
    ),
    # unknown-job (an error): at the id in the @after list that no job has
    pytest.param(
        "# pycron: name=a\n@daily x\n@after a,nope y\n", {}, "unknown-job", 3, 9, id="after-unknown"
    ),
    # unknown-job (an error): at the id in a requires= list that no job has
    pytest.param(
        "# pycron: name=a\n@daily x\n# pycron: requires=a,nope\n@daily y\n",
        {},
        "unknown-job",
        3,
        21,
        id="requires-unknown",
    ),
    pytest.param(
        '# pycron: name=a\n@daily x\n# pycron: requires="nope"\n@daily y\n',
        {},
        "unknown-job",
        3,
        20,
        id="requires-unknown-quoted",
    ),
    # requires-idle: at the id in a requires= list whose job never runs
    pytest.param(
        "# pycron: name=boot\n@reboot x\n# pycron: requires=boot\n@daily y\n",
        {},
        "requires-idle",
        3,
        19,
        id="requires-reboot-only",
    ),
    pytest.param(
        "# pycron: name=off enabled=false\n@daily x\n# pycron: name=y requires=off\n@daily y\n",
        {},
        "requires-idle",
        3,
        26,
        id="requires-disabled",
    ),
    # cycle (an error): at the @after list of the cycle's first job
    pytest.param(
        "# pycron: name=a\n@after b x\n# pycron: name=b\n@after a y\n",
        {},
        "cycle",
        2,
        7,
        id="after-cycle",
    ),
]


@pytest.mark.parametrize(("text", "options", "code", "line", "column"), FIRES)
def test_warning_fires(
    text: str, options: dict[str, Any], code: str, line: int, column: int
) -> None:
    found = {(f.code, f.line, f.column) for f in run_lint(text, **options)}
    assert (code, line, column) in found


# --------------------------------------------------------------------------- near misses

# (crontab text, lint options, code that must not appear)
QUIET = [
    pytest.param("0 0 * * * date +\\%F >x\n", {}, "percent", id="percent-escaped"),
    pytest.param("0 0 * * * echo 100\\%\n", {}, "percent", id="percent-escaped-at-end"),
    pytest.param("0 0 * * * echo '#%'\n", {}, "empty-command", id="percent-not-empty"),
    pytest.param("0 0 * * 1#1 x\n", {}, "dom-dow-or", id="dom-dow-or-star-dom"),
    pytest.param("0 0 1-7 * * x\n", {}, "dom-dow-or", id="dom-dow-or-star-dow"),
    pytest.param("0 0 1 * ? x\n", {}, "dom-dow-or", id="dom-dow-or-question"),
    pytest.param("0 0 */2 * * x\n", {}, "star-step-day", id="star-step-other-is-star"),
    pytest.param("0 0 1 * ? x\n", {}, "star-step-day", id="question-is-no-star-step"),
    pytest.param("0 0 1,* * 1 x\n", {}, "star-step-day", id="star-not-first"),
    pytest.param("5-59/15 * * * * x\n", {}, "a-slash-n", id="a-b-slash-n"),
    pytest.param("*/15 * * * * x\n", {}, "a-slash-n", id="star-slash-n"),
    pytest.param("0 0 1,15 * * x\n", {}, "extension", id="no-extension"),
    *(
        pytest.param(f"@watch {path} {command}\n", {}, "watch-loop", id=case)
        for case, path, command in [
            ("watch-loop-other-path", "/srv/in", "sort /srv/incoming/a > /srv/inbox"),
            ("watch-loop-parent", "/srv/in", "du /srv"),
            ("watch-loop-deeper-elsewhere", "in", "cp x /data/in/"),
            ("watch-loop-other-job", "/srv/in", "true"),
        ]
    ),
    pytest.param(
        "@watch /srv/in x\n",
        {"exists": {"/srv/in"}.__contains__},
        "watch-missing",
        id="watch-path-exists",
    ),
    pytest.param("@watch /nowhere x\n", {}, "watch-missing", id="watch-path-not-checked"),
    pytest.param("@monthly x\n", {}, "extension", id="nickname-no-extension"),
    pytest.param("*/15 * * * * x\n", {}, "step", id="step-15-minutes"),
    pytest.param("0 */4 * * * x\n", {}, "step", id="step-4-hours"),
    pytest.param("0 1-23/5 * * * x\n", {}, "step", id="step-inside-range"),
    pytest.param("5/15 * * * * x\n", {}, "step", id="step-a-slash-n-even"),
    pytest.param("0 0 */2 * * x\n", {}, "step", id="step-day-of-month-not-cyclic"),
    pytest.param("0 0 1 */3 * x\n", {}, "step", id="step-3-months"),
    pytest.param("0 0 * * 5-7 x\n", {}, "dow-x-0", id="dow-5-7"),
    pytest.param("0 0 * * sat,sun x\n", {}, "dow-x-0", id="dow-list-sun"),
    pytest.param("0 0 * * 0-6 x\n", {}, "dow-x-0", id="dow-0-start"),
    pytest.param("0 0 31 * * x\n", {}, "never-runs", id="never-but-rare"),
    pytest.param("0 0 30 2 1 x\n", {}, "never-runs", id="never-or-monday"),
    pytest.param("0 0 28 2 * x\n", {}, "rare", id="rare-28th"),
    pytest.param("0 0 L * * x\n", {}, "rare", id="rare-last-day"),
    pytest.param("0 0 31 1,3 * x\n", {}, "rare", id="rare-31-in-long-months"),
    pytest.param("0 0 31 * 1 x\n", {}, "rare", id="rare-or-mondays"),
    pytest.param("0 0 30 2 * x\n", {}, "rare", id="rare-but-never"),
    pytest.param("0 0 * * 1#1 x\n", {}, "rare", id="rare-first-monday"),
    pytest.param("0 16 * * * x\n", {}, "every-minute", id="minute-0"),
    pytest.param("* * * * * x\n", {}, "every-minute", id="every-minute-all-day"),
    pytest.param("*/5 16 * * * x\n", {}, "every-minute", id="minute-step"),
    pytest.param("* 0-23 * * * x\n", {}, "every-minute", id="hour-full-range"),
    pytest.param("0 0 * * * x\n", {}, "no-final-newline", id="final-newline"),
    *(
        pytest.param(text, {"mail_transport": transport}, "no-mail-transport", id=name)
        for name, text, transport in (
            ("transport", "MAILTO=a@b\n@daily x\n", True),
            ("transport-not-checked", "MAILTO=a@b\n@daily x\n", None),
            ("mailto-empty", 'MAILTO=""\n@daily x\n', False),
            ("mailto-unset", "@daily x\n", False),
            ("mail-on-never", "MAILTO=a@b\n# pycron: mail-on=never\n@daily x\n", False),
            ("no-job-below", "@daily x\nMAILTO=a@b\n", False),
            ("another-mailto-below", 'MAILTO=a@b\nMAILTO=""\n@daily x\n', False),
            ("disabled-job", "MAILTO=a@b\n#pycron-disabled# @daily x\n", False),
        )
    ),
    pytest.param("", {}, "no-final-newline", id="empty-file"),
    pytest.param("0 0 * * * 2to3 x\n", {}, "six-fields", id="six-fields-2to3"),
    pytest.param("0 0 * * * 7z x\n", {}, "six-fields", id="six-fields-7z"),
    pytest.param("@daily x\n", {}, "six-fields", id="six-fields-nickname-command"),
    pytest.param("0 0 * * * x\n", {}, "crlf", id="lf"),
    pytest.param("0 0 * * * x\r", {}, "crlf", id="cr-without-lf"),
    pytest.param("0 0 * * * backup.sh\n", {}, "relative-command", id="not-found-without-which"),
    pytest.param("0 0 * * * tar cf x\n", {"which": True}, "relative-command", id="found"),
    pytest.param("0 0 * * * /opt/x\n", {"which": True}, "relative-command", id="absolute"),
    pytest.param("0 0 * * * ~/bin/x\n", {"which": True}, "relative-command", id="tilde"),
    pytest.param("0 0 * * * cd /x && ./run\n", {"which": True}, "relative-command", id="builtin"),
    pytest.param("0 0 * * * A=1 x\n", {"which": True}, "relative-command", id="assignment"),
    pytest.param(
        "PATH=/usr/sbin:/usr/bin\n0 0 * * * ip a\n",
        {"which": True},
        "relative-command",
        id="found-in-crontab-path",
    ),
    pytest.param("@hourly root echo\n", {"which": True}, "relative-command", id="user-not-cmd"),
    pytest.param("PATH=/usr/bin:/bin\n", {}, "env-expansion", id="expansion-none"),
    pytest.param("A=x~y\n", {}, "env-expansion", id="expansion-inner-tilde"),
    pytest.param('MAILTO=""\n', {}, "env-special", id="special-quoted-empty"),
    pytest.param("MAILTO=me\n", {}, "env-special", id="special-plain"),
    pytest.param("CRON_TZ_X=1\n", {}, "env-special", id="special-other-name"),
    pytest.param("CRON_TZ=America/New_York\n30 3 * * * x\n", {}, "dst", id="dst-after-gap"),
    pytest.param("CRON_TZ=America/New_York\n*/30 * * * * x\n", {}, "dst", id="dst-every-hour"),
    pytest.param("CRON_TZ=America/New_York\n@hourly x\n", {}, "dst", id="dst-hourly"),
    pytest.param("CRON_TZ=Europe/London\n30 2 * * * x\n", {}, "dst", id="dst-london-02"),
    pytest.param("CRON_TZ=UTC\n30 2 * * * x\n", {}, "dst", id="dst-utc"),
    pytest.param("30 2 * * * x\n", {}, "dst", id="dst-no-zone"),
    pytest.param("0 * * * * c\n", {}, "portability", id="portable"),
    pytest.param("A=1\n" * 1000, {}, "portability", id="portability-1000-assignments"),
    pytest.param("0 * * * * " + "c" * 998 + "\n", {}, "portability", id="command-998"),
    pytest.param("@hourly rooted x\n", {}, "user-column", id="user-prefix"),
    pytest.param(
        "@hourly mail -s hi me\n",
        {"users": ("root", "mail")},
        "user-column",
        id="user-name-with-option",
    ),
    pytest.param("0 * * * * bob x\n", {"system": True}, "user-column", id="users-not-given"),
    pytest.param(
        "0 * * * * root x\n", {"system": True, "users": ("root",)}, "user-column", id="known-user"
    ),
    pytest.param(
        "@hourly mail x\n",
        {"which": True, "users": ("root", "mail")},
        "user-column",
        id="user-name-that-is-a-program",
    ),
    pytest.param("* * * * * \\%x\n", {}, "empty-command", id="escaped-percent-command"),
    pytest.param("* * * * * x%y\n", {}, "empty-command", id="command-before-percent"),
    pytest.param("@daily x\n@reboot x\n", {}, "pycron-only", id="cron-nicknames"),
    pytest.param("0 * * * * x\n0 * * * * y\n", {}, "duplicate-job", id="different-commands"),
    pytest.param(
        "# pycron: notify=nope://h enabled=false\n0 * * * * x\n",
        {"check_target": lambda url: "unknown"},
        "notify-target",
        id="notify-target-of-a-disabled-job",
    ),
    pytest.param(
        "0 * * * * x\n# pycron: name=again\n0 * * * * x\n", {}, "duplicate-job", id="named"
    ),
    pytest.param(
        "0 * * * * x\n#pycron-disabled# 0 * * * * x\n", {}, "duplicate-job", id="second-disabled"
    ),
]


@pytest.mark.parametrize(("text", "options", "code"), QUIET)
def test_warning_stays_quiet(text: str, options: dict[str, Any], code: str) -> None:
    codes = {f.code for f in run_lint(text, **options)}
    assert code not in codes


# --------------------------------------------------------------------------- messages


def only(findings: list[Finding], code: str) -> Finding:
    (finding,) = [f for f in findings if f.code == code]
    return finding


def test_percent_says_what_runs_and_how_to_escape() -> None:
    finding = only(run_lint("0 0 * * * date +%F >x\n"), "percent")
    assert "'date +'" in finding.message
    assert finding.hint is not None
    assert finding.hint.endswith("date +\\%F >x")


def test_dst_gap_names_the_date_and_the_firing_time() -> None:
    finding = only(run_lint("CRON_TZ=America/New_York\n30 2 * * * x\n"), "dst")
    assert "2026-03-08" in finding.message
    assert "03:00 EDT" in finding.message


def test_dst_fold_names_the_date() -> None:
    finding = only(run_lint("CRON_TZ=America/New_York\n30 1 * * * x\n"), "dst")
    assert "2026-11-01" in finding.message
    assert "once" in finding.message


def test_dst_wildcard_in_london_names_both_transitions() -> None:
    findings = [f for f in run_lint("CRON_TZ=Europe/London\n*/20 1 * * *  x\n") if f.code == "dst"]
    assert [f.message[:10] for f in findings] == ["2026-03-29", "2026-10-25"]
    assert "skipped" in findings[0].message
    assert "both passes" in findings[1].message


def test_dst_uses_now_for_its_twelve_months() -> None:
    crontab, _ = parse("CRON_TZ=America/New_York\n30 2 * * * x\n")
    # 2027's gap (March 14) is past the 12 months from 2026-03-09, within those from 2026-03-20.
    assert [f for f in lint(crontab, datetime(2026, 3, 9)) if f.code == "dst"] == []
    findings = lint(crontab, datetime(2026, 3, 20))
    assert [f.message[:10] for f in findings if f.code == "dst"] == ["2027-03-14"]


def test_rare_names_the_years_skipped() -> None:
    finding = only(run_lint("0 0 29 2 * x\n"), "rare")
    assert "leap years" in finding.message
    assert "2026 or 2027" in finding.message
    assert "2028-02-29" in finding.message


def test_rare_names_the_months_skipped() -> None:
    finding = only(run_lint("0 0 31 * * x\n"), "rare")
    assert "February, April, June, September or November" in finding.message


def test_rare_names_calendar_months_when_they_change_by_year() -> None:
    # The 1st on a Sun/Tue/Thu/Sat: 2026-04-01 is a Wednesday, May 1 a Friday,
    # June 1 a Monday, July 1 a Wednesday.
    finding = only(run_lint("0 0 1 * */2 x\n"), "rare")
    assert "April, May, June and July 2026" in finding.message


def test_step_names_the_short_interval() -> None:
    finding = only(run_lint("*/7 * * * * x\n"), "step")
    assert ":56" in finding.message
    assert ":00" in finding.message
    assert "4 minutes" in finding.message


def test_step_keeping_one_value_suggests_it() -> None:
    assert only(run_lint("*/60 * * * * x\n"), "step").hint == "write '0'"


def test_a_slash_n_suggests_the_range() -> None:
    assert only(run_lint("5/15 * * * * x\n"), "a-slash-n").hint == "write '5-59/15'"


def test_dow_x_0_suggests_x_7() -> None:
    assert only(run_lint("0 0 * * fri-sun x\n"), "dow-x-0").hint == "write '5-7'"


def test_dom_dow_or_suggests_the_nth_weekday() -> None:
    hint = only(run_lint("0 0 8-14 * 2 x\n"), "dom-dow-or").hint
    assert hint is not None
    assert "'0 0 * * 2#2'" in hint


def test_every_minute_suggests_minute_0() -> None:
    hint = only(run_lint("* 16 * * 1-5 x\n"), "every-minute").hint
    assert hint is not None
    assert "'0 16 * * 1-5'" in hint


def test_random_value_names_the_value_picked() -> None:
    crontab, _ = parse("0 1~5 * * * c\n")
    finding = only(lint(crontab, NOW), "portability")
    schedule = crontab.entries[0].schedule
    assert isinstance(schedule, Cron)
    picked = schedule.expression.fields[1].text
    assert picked in {"1", "2", "3", "4", "5"}
    assert f"picked {picked}" in finding.message
    assert finding.hint == f"write the value: {picked}"


def test_every_suggests_a_cron_schedule() -> None:
    hint = only(run_lint("@every 15m x\n"), "pycron-only").hint
    assert hint is not None
    assert "'*/15 * * * *'" in hint


def test_duplicate_names_the_first_line_and_asks_for_a_name() -> None:
    finding = only(run_lint("0 * * * * x\n\n0 * * * * x\n"), "duplicate-job")
    assert "line 1" in finding.message
    assert "-2" in finding.message
    assert finding.hint is not None
    assert "name=" in finding.hint


def test_many_jobs() -> None:
    text = "".join(f"0 * * * * /bin/x{i}\n" for i in range(10_001))
    finding = only(run_lint(text), "portability")
    assert (finding.line, finding.column) == (10_001, 0)


# --------------------------------------------------------------------------- the whole


def test_crlf_is_one_warning_per_file() -> None:
    findings = run_lint("A=1\r\n0 0 * * * x\r\n0 1 * * * x\r\n")
    assert [(f.line, f.column) for f in findings if f.code == "crlf"] == [(1, 3)]


def test_crlf_says_how_to_convert_the_file() -> None:
    hint = only(run_lint('A="x"\r\n0 0 * * * /bin/x\r\n'), "crlf").hint
    assert hint is not None
    assert "dos2unix FILE" in hint
    assert "sed -i 's/\\r$//' FILE" in hint


def test_disabled_jobs_are_not_linted() -> None:
    assert run_lint("#pycron-disabled# 0 0 1-7 * 1 ./x %y\n") == []
    assert run_lint("# pycron: enabled=false\n* 16 * * * x\n") == []


def test_errors_are_not_repeated() -> None:
    crontab, errors = parse("0 0 * * * x\n61 * * * * x\n")
    assert errors
    assert lint(crontab, NOW) == []


def test_a_clean_crontab_has_no_warnings() -> None:
    text = (
        "SHELL=/bin/sh\n"
        "MAILTO=me@example.com\n"
        "# nightly\n"
        "# pycron: name=backup timeout=1h\n"
        "15 3 * * * tar cf /tmp/x.tar /etc\n"
        "*/15 9-17 * * 1-5 date\n"
        "@reboot echo up\n"
    )
    assert run_lint(text, which=True) == []


def test_findings_are_warnings_in_line_order() -> None:
    findings = run_lint("* 16 * * * x\nTZ=UTC\n0 0 1-7 * 1 date +%F\n")
    assert [(f.line, f.code) for f in findings] == [
        (1, "every-minute"),
        (2, "env-special"),
        (3, "dom-dow-or"),
        (3, "percent"),
    ]
    assert all(f.severity is Severity.WARNING and f.path == "tab" for f in findings)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# pycron: name=a\n@after b x\n# pycron: name=b\n@after a y\n", "cycle: a -> b -> a"),
        ("# pycron: name=a\n@after a x\n", "cycle: a -> a"),
        (
            "# pycron: name=s\n@daily x\n# pycron: name=c\n@after s,b y\n"
            "# pycron: name=b\n@after d z\n# pycron: name=d\n@after c w\n",
            "cycle: c -> b -> d -> c",
        ),
    ],
)
def test_a_cycle_is_spelled_out(text: str, expected: str) -> None:
    findings = [f for f in run_lint(text) if f.code == "cycle"]
    assert [(f.message, f.is_error) for f in findings] == [(expected, True)]


def test_requires_of_jobs_that_run_is_clean() -> None:
    text = (
        "# pycron: name=a\n@daily x\n# pycron: name=b\n@after a y\n"
        "# pycron: requires=a,b\n@hourly z\n"
        "# pycron: requires=nope enabled=false\n@hourly w\n"  # a disabled job is not checked
    )
    assert {f.code for f in run_lint(text)} & {"requires-idle", "unknown-job"} == set()


def test_a_pipeline_without_cycles_or_unknown_ids_is_clean() -> None:
    text = "# pycron: name=a\n@daily x\n# pycron: name=b\n@after a y\n@after a,b z\n"
    assert {f.code for f in run_lint(text)} & {"cycle", "unknown-job"} == set()


def test_every_code_of_the_spec_is_implemented() -> None:
    spec = {
        "percent",
        "dom-dow-or",
        "star-step-day",
        "a-slash-n",
        "extension",
        "step",
        "dow-x-0",
        "never-runs",
        "rare",
        "every-minute",
        "no-final-newline",
        "six-fields",
        "crlf",
        "relative-command",
        "env-expansion",
        "env-special",
        "dst",
        "portability",
        "user-column",
        "empty-command",
    }
    assert set(CODES) == spec | {
        "pycron-only",
        "duplicate-job",
        "notify-target",
        "option-value",
        "no-mail-transport",
        "unknown-job",
        "cycle",
        "watch-missing",
        "watch-loop",
        "requires-idle",
    }
    tested = {param.values[2] for param in FIRES}
    assert tested == set(CODES)
