"""The `notify` family (`pycron notify test`), and where the commands that
tell people (`daemon`, `run-now`, `notify test`) get their senders and their
composer: built here, at the edge, from the mail and alert parts.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import click

from pycron.cli.invocation import GlobalOptionsCommand, Group, invocation_of
from pycron.errors import UsageError
from pycron.lint import LOAD_CHECKS, lint
from pycron.notify import Channel, Message, compose, redact
from pycron.notify.alerts import check_target
from pycron.notify.mail import MailTransport, mail_transport
from pycron.notify.outbox import Compose, ComposeStart, Send, try_targets

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import tzinfo

    from pycron.crontab import Crontab, Finding

NOTIFY_ENV = "PYCRON_NOTIFY"  # comma-separated default alert targets
SMTP_ENV = "PYCRON_SMTP"


def transport(smtp: str | None, sendmail: str | None) -> MailTransport | None:
    """How mail leaves: SMTP by `smtp` (else $PYCRON_SMTP), else the
    `sendmail` program (else /usr/sbin/sendmail where it exists), else none.
    A bad SMTP URL is a usage error that says what to write."""
    return mail_transport(smtp or os.environ.get(SMTP_ENV) or None, sendmail)


def senders(mail: MailTransport | None) -> dict[Channel, Send]:
    """The sender of each channel (mail only through a transport, `mail`)."""
    return compose.senders(mail)


def reviewer(mails: bool) -> Callable[[Crontab], list[Finding]]:
    """What the daemon reports of each crontab it loads besides its errors:
    `notify=` targets that apprise cannot use, and a MAILTO that no mail can
    leave for (without `mails`, a transport), at their lines and columns,
    once per load."""

    def review(crontab: Crontab) -> list[Finding]:
        now = datetime.now(timezone.utc)  # unused by these checks, which do not look at dates
        return lint(crontab, now, check_target=check_target, mail_transport=mails, only=LOAD_CHECKS)

    return review


def start_composer(targets: tuple[str, ...], zone: tzinfo | None) -> ComposeStart:
    """What this host's runs owe as they start: `start` alerts."""
    return compose.start_composer(host=socket.gethostname(), zone=zone, targets=targets)


def composer(mails: bool, targets: tuple[str, ...], zone: tzinfo | None) -> Compose:
    """What this host's runs owe: alerts, and mail where `mails` (a transport exists)."""
    return compose.composer(host=socket.gethostname(), zone=zone, targets=targets, mails=mails)


def default_targets(given: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The alert targets of jobs without `notify=`: those given (--notify),
    else $PYCRON_NOTIFY's, comma-separated."""
    if given:
        return given
    return tuple(part.strip() for part in os.environ.get(NOTIFY_ENV, "").split(",") if part.strip())


@click.group("notify", cls=Group)
def notify_group() -> None:
    """Mail and alerts: try where they go."""


@notify_group.command("test", cls=GlobalOptionsCommand)
@click.argument("what", metavar="[ID | URL]", required=False)
@click.pass_context
def test_command(ctx: click.Context, what: str | None) -> None:
    """Send a test alert (and a test mail when MAILTO is set) now, through
    job ID's targets, through URL (an apprise URL), or, without either,
    through the default targets ($PYCRON_NOTIFY). Says per target whether
    it was delivered and why not; exits 1 if any was not.

    \b
    Examples:
      pycron notify test backup
      pycron notify test 'json://127.0.0.1:8080/hook'
    """
    messages = _test_messages(ctx, what)
    if not messages:
        raise UsageError("no target to test: give a job with notify= or MAILTO, or a URL")
    attempts = try_targets(senders(transport(None, None)), messages)
    for message, attempt in zip(messages, attempts, strict=True):
        where = f"{message.channel.value} {redact(message.target)}"
        click.echo(f"{where}: " + ("delivered" if attempt.error is None else attempt.error))
    ctx.exit(0 if all(attempt.error is None for attempt in attempts) else 1)


def _test_messages(ctx: click.Context, what: str | None) -> list[Message]:
    """The test messages for a job, a URL, or the default targets."""
    host = socket.gethostname()
    if what is not None and "://" in what:
        return [_test_alert("test", what, host)]
    if what is None:
        return [_test_alert("test", target, host) for target in default_targets()]
    crontab, _ = invocation_of(ctx).crontab_file().load()
    entry = crontab.find(what)
    messages = [
        _test_alert(entry.id, target, host) for target in entry.options.notify or default_targets()
    ]
    mailto = entry.env_dict.get("MAILTO")
    if mailto:
        messages.append(_test_mail(entry.id, mailto, host))
    return messages


def _test_alert(job_id: str, target: str, host: str) -> Message:
    body = f"A test alert from pycron on {host}: alerts of {job_id} reach this target."
    return Message(Channel.ALERT, job_id, None, target, "pycron: test alert", body.encode())


def _test_mail(job_id: str, recipients: str, host: str) -> Message:
    subject = f"pycron: test mail for {job_id}"
    payload = (
        f"To: {recipients}\r\nSubject: {subject}\r\n\r\n"
        f"A test mail from pycron on {host}: mail of {job_id} reaches you.\r\n"
    )
    return Message(Channel.MAIL, job_id, None, recipients, subject, payload.encode())


COMMANDS = (notify_group,)
