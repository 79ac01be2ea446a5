"""Where the commands that tell people (`daemon`, `run-now`, `notify test`)
get how mail leaves, the senders and composers of their messages, the
default alert targets, and the daemon's review of what a crontab asks of
them: built here, at the edge, from the mail and alert parts.

The alert part (`notify.alerts`, `notify.compose`) and the checks of
`pycron.lint` are loaded only once something may use them: a daemon that
cannot send mail, has no default alert targets and runs no job with
`notify=` never loads them.
"""

from __future__ import annotations

import functools
import os
from datetime import datetime, timezone
from typing import TYPE_CHECKING, ParamSpec

from pycron.crontab import JOB_OPTIONS, LineKind
from pycron.notify import Channel, local_sendmail
from pycron.records import this_host

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import tzinfo
    from typing import Concatenate

    from pycron.crontab import Crontab, Entry, Finding
    from pycron.notify import Message
    from pycron.notify.mail import MailTransport
    from pycron.notify.outbox import Compose, ComposeStart, Send

NOTIFY_ENV = "PYCRON_NOTIFY"  # comma-separated default alert targets
SMTP_ENV = "PYCRON_SMTP"

P = ParamSpec("P")


def transport(smtp: str | None, sendmail: str | None) -> MailTransport | None:
    """How mail leaves: SMTP by `smtp` (else $PYCRON_SMTP), else the
    `sendmail` program (else /usr/sbin/sendmail where it exists), else none.
    A bad SMTP URL is a usage error that says what to write. Without any,
    the mail side is not loaded."""
    url = smtp or os.environ.get(SMTP_ENV) or None
    if url is None and sendmail is None and local_sendmail() is None:
        return None
    from pycron.notify.mail import mail_transport  # noqa: PLC0415 - only where mail can leave

    return mail_transport(url, sendmail)


def senders(mail: MailTransport | None) -> dict[Channel, Send]:
    """The sender of each channel: alerts through apprise, mail through the
    transport `mail` (none: mail has no sender, and none is composed)."""
    found: dict[Channel, Send] = {Channel.ALERT: _send_alert}
    if mail is not None:
        found[Channel.MAIL] = mail.send
    return found


def _send_alert(message: Message) -> None:
    """Deliver an alert (`notify.alerts.send_alert`), that part loaded with
    the first one sent."""
    from pycron.notify.alerts import send_alert  # noqa: PLC0415 - only once an alert is owed

    send_alert(message)


def composer(mails: bool, targets: tuple[str, ...], zone: tzinfo | None) -> Compose:
    """What this host's runs owe: alerts, and mail where `mails` (a transport exists)."""

    def build() -> Compose:
        from pycron.notify import compose  # noqa: PLC0415 - see _for_jobs_with_targets

        return compose.composer(host=this_host(), zone=zone, targets=targets, mails=mails)

    return build() if mails or targets else _for_jobs_with_targets(build)


def start_composer(targets: tuple[str, ...], zone: tzinfo | None) -> ComposeStart:
    """What this host's runs owe as they start: `start` alerts."""

    def build() -> ComposeStart:
        from pycron.notify import compose  # noqa: PLC0415 - see _for_jobs_with_targets

        return compose.start_composer(host=this_host(), zone=zone, targets=targets)

    return build() if targets else _for_jobs_with_targets(build)


def _for_jobs_with_targets(
    build: Callable[[], Callable[Concatenate[Entry, P], list[Message]]],
) -> Callable[Concatenate[Entry, P], list[Message]]:
    """A composer for runs that cannot mail and have no default alert
    targets: only the runs of jobs with `notify=` targets owe anything, and
    the composer `build` makes is made (its modules loaded) at the first."""
    built = functools.cache(build)

    def compose(entry: Entry, /, *args: P.args, **kwargs: P.kwargs) -> list[Message]:
        return built()(entry, *args, **kwargs) if entry.options.notify else []

    return compose


def reviewer(mails: bool) -> Callable[[Crontab], list[Finding]]:
    """What the daemon reports of each crontab it loads besides its errors:
    `notify=` targets that apprise cannot use, bad `notify-on` values, and a
    MAILTO that no mail can leave for (without `mails`, a transport), at
    their lines and columns, once per load (lint's LOAD_CHECKS)."""

    def review(crontab: Crontab) -> list[Finding]:
        if not _reviewed(crontab, mails):
            return []
        from pycron.lint import LOAD_CHECKS, lint  # noqa: PLC0415 - see _reviewed
        from pycron.notify.alerts import check_target  # noqa: PLC0415

        now = datetime.now(timezone.utc)  # unused by these checks, which do not look at dates
        return lint(crontab, now, check_target=check_target, mail_transport=mails, only=LOAD_CHECKS)

    return review


def _reviewed(crontab: Crontab, mails: bool) -> bool:
    """Whether `crontab` has a line the review looks at: an options comment
    with `notify=` or a soft option (`notify-on`), or, without `mails`, a
    MAILTO with a value. Without one, the review has nothing to say, and
    its checks are not loaded."""
    for line in crontab.lines:
        if line.kind is LineKind.OPTION:
            if any(key == "notify" or JOB_OPTIONS[key].soft for key, _ in line.options):
                return True
        elif line.kind is LineKind.ENV and not mails:
            env = line.env
            if env is not None and env.name == "MAILTO" and env.value:
                return True
    return False


def default_targets(given: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The alert targets of jobs without `notify=`: those given (--notify),
    else $PYCRON_NOTIFY's, comma-separated."""
    if given:
        return given
    return tuple(part.strip() for part in os.environ.get(NOTIFY_ENV, "").split(",") if part.strip())
