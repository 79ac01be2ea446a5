"""The senders, composers and review that the daemon gets from
`pycron.cli.messages`: loaded only when something may use them, they say
what the alert and mail parts would have said from the start."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta, timezone

import pytest

from pycron.cli.messages import composer, reviewer, senders, start_composer
from pycron.crontab import Entry, parse
from pycron.lint import LOAD_CHECKS, lint
from pycron.notify import Channel, compose
from pycron.notify.alerts import check_target
from pycron.records import Outcome, RunResult
from pycron.store import JobPast

UTC = timezone.utc
T0 = datetime(2026, 3, 2, 14, 2, tzinfo=UTC)
HOOK = "json://127.0.0.1:9/hook"

REVIEWED = {
    "plain jobs": "0 3 * * * backup.sh\n# pycron: name=sync timeout=5m\n*/5 * * * * sync.sh\n",
    "a target apprise cannot use": "# pycron: notify=nosuchservice://x\n0 3 * * * backup.sh\n",
    "a usable target": f"# pycron: notify={HOOK}\n0 3 * * * backup.sh\n",
    "a bad notify-on": "# pycron: notify-on=failure,never\n0 3 * * * backup.sh\n",
    "a target above a disabled job": (
        "# pycron: notify=nosuchservice://x\n#pycron-disabled# 0 3 * * * backup.sh\n"
    ),
    "a MAILTO": "MAILTO=ops@example.org\n0 3 * * * backup.sh\n",
    "an empty MAILTO": "MAILTO=\n0 3 * * * backup.sh\n",
    "a MAILTO of jobs that never mail": (
        "MAILTO=ops@example.org\n# pycron: mail-on=never\n0 3 * * * backup.sh\n"
    ),
}


@pytest.mark.parametrize("mails", [False, True], ids=["no transport", "a transport"])
@pytest.mark.parametrize("text", REVIEWED.values(), ids=REVIEWED.keys())
def test_the_review_finds_what_the_load_checks_find(text: str, mails: bool) -> None:
    crontab, errors = parse(text)
    assert errors == []
    expected = lint(crontab, T0, check_target=check_target, mail_transport=mails, only=LOAD_CHECKS)
    assert reviewer(mails)(crontab) == expected


def test_the_review_knows_the_load_checks() -> None:
    """The review skips crontabs without a line these checks look at (see
    `messages._reviewed`): a new load check needs a look there."""
    assert sorted(LOAD_CHECKS) == ["no-mail-transport", "notify-target", "option-value"]


def job(options: str) -> Entry:
    (entry,) = parse(f"# pycron: {options}\n0 3 * * * backup.sh\n")[0].entries
    return entry


def failed(entry: Entry) -> RunResult:
    return RunResult(entry.id, T0, 1, Outcome.FAILED, T0 - timedelta(seconds=9), T0, exit_code=1)


JOBS = {
    "no target": "name=backup",
    "a target": f"name=backup notify={HOOK}",
    "a target, start alerts": f"name=backup notify={HOOK} notify-on=start,failure",
}


@pytest.mark.parametrize("options", JOBS.values(), ids=JOBS.keys())
def test_a_composer_loaded_on_demand_composes_as_the_alert_part(options: str) -> None:
    entry = job(options)
    host = socket.gethostname()
    built = compose.composer(host=host, zone=UTC, targets=(), mails=False)
    built_start = compose.start_composer(host=host, zone=UTC, targets=())
    result = failed(entry)
    expected = (built(entry, [result], JobPast, 7), built_start(entry, result, 7))
    found = (
        composer(False, (), UTC)(entry, [result], JobPast, 7),
        start_composer((), UTC)(entry, result, 7),
    )
    assert found == expected
    assert bool(found[0]) == bool(entry.options.notify)


def test_alerts_have_a_sender_and_mail_only_with_a_transport() -> None:
    assert set(senders(None)) == {Channel.ALERT}
