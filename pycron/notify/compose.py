"""What a finished run owes people, as the daemon and `run-now` compose it:
the alerts of its job's `notify=` targets (or the daemon's `--notify`) and the
mail of its output to MAILTO, and the senders that deliver them.

This is where the mail and alert parts meet the outbox: `composer` gives the
outbox's `Compose` callable, `senders` the sender of each channel. A run's
mail holds the output of its last attempt, read up to the mail's size limit
(the mail says how much more there was, and where).
"""

from __future__ import annotations

import os
from datetime import timezone
from typing import TYPE_CHECKING

from pycron.notify import Message
from pycron.notify.alerts import (
    AlertFacts,
    alert_messages,
    alert_targets,
    start_messages,
)
from pycron.notify.mail import MAIL_LIMIT, MailFacts, mail_message, wants_mail
from pycron.runner import job_environment, owner_home, owner_name

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import tzinfo
    from pathlib import Path

    from pycron.crontab import Entry
    from pycron.notify.outbox import Compose, ComposeStart
    from pycron.records import RunResult
    from pycron.store import JobPast


def composer(*, host: str, zone: tzinfo | None, targets: tuple[str, ...], mails: bool) -> Compose:
    """The composer of this host's runs: alerts to each job's targets (else
    `targets`, the daemon's defaults), and mail when `mails` (a transport
    exists) and the job wants it. `zone` is the daemon's (None: UTC), in
    which schedules without CRON_TZ run and alerts show their times."""
    user, home = owner_name(), owner_home()

    def compose(
        entry: Entry,
        results: Sequence[RunResult],
        past: Callable[[], JobPast],
        run_id: int | None,
    ) -> list[Message]:
        result = results[-1]
        messages = []
        if alert_targets(entry, targets):  # only a job that alerts asks the history its past
            after = result.finished or result.started
            # Only a schedule fixed on the clock has a next run known here (an
            # `@every` counts from the start of the daemon that runs it).
            next_run = (
                entry.schedule.next_after(after, zone, after)
                if entry.schedule.on_the_clock
                else None
            )
            facts = AlertFacts(host, run_id, next_run, targets, zone or timezone.utc)
            messages = alert_messages(entry, result, past(), facts)
        if mails and wants_mail(entry):
            output, size = _output(result.stdout_path, MAIL_LIMIT)
            environment = job_environment(entry, user, home)
            mail_facts = MailFacts(user, host, environment, run_id, result.stdout_path, size)
            mail = mail_message(entry, result, output, mail_facts)
            if mail is not None:
                messages.append(mail)
        return messages

    return compose


def start_composer(*, host: str, zone: tzinfo | None, targets: tuple[str, ...]) -> ComposeStart:
    """What a run of this host owes as it starts: the `start` alerts of jobs
    that ask for them, to their targets (else `targets`)."""

    def compose_start(entry: Entry, result: RunResult, run_id: int | None) -> list[Message]:
        facts = AlertFacts(host, run_id, None, targets, zone or timezone.utc)
        return start_messages(entry, result, facts)

    return compose_start


def _output(path: Path | None, limit: int) -> tuple[bytes, int]:
    """The start of a run's output (at most `limit` bytes) and its whole size;
    nothing for a run without a log (it never started, or the log is gone)."""
    if path is None:
        return b"", 0
    try:
        with path.open("rb") as log:
            return log.read(limit), os.fstat(log.fileno()).st_size
    except FileNotFoundError:
        return b"", 0
