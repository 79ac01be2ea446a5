"""The `notify` family (`pycron notify test`): try where mail and alerts go,
through the senders the daemon uses (`pycron.cli.messages`)."""

from __future__ import annotations

import click

from pycron.cli.invocation import GlobalOptionsCommand, Group, invocation_of
from pycron.cli.messages import default_targets, senders, transport
from pycron.errors import UsageError
from pycron.notify import Channel, Message, redact
from pycron.notify.outbox import try_targets
from pycron.records import this_host


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
    host = this_host()
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
