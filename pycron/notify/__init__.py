"""Telling people about runs: cron-format mail and alerts, through an outbox.

A finished run may owe messages: a mail of its output to MAILTO
(`notify.mail`) and alerts to its `notify=` targets (`notify.alerts`). Each is
a `Message`, decided and built without I/O from the run's facts, then kept in
the store's outbox until a sender thread (`notify.outbox`) delivers it, with
retries, so that sending never delays a job or the daemon's loop and nothing
is lost when the daemon stops.

A target may hold a secret (a password in an SMTP URL, a token in a webhook
URL): what is logged, shown or stored is `redact(target)`.
"""

from __future__ import annotations

import enum
import os
import re
from typing import NamedTuple

from pycron.errors import PycronError

SENDMAIL = "/usr/sbin/sendmail"  # the local mailer used when no other is named


def local_sendmail() -> str | None:
    """The local mailer (SENDMAIL) where it exists and may be run, else None:
    the transport of a daemon given no other (`notify.mail.mail_transport`)."""
    return SENDMAIL if os.access(SENDMAIL, os.X_OK) else None


class Channel(enum.Enum):
    """How a message travels."""

    MAIL = "mail"  # an RFC 5322 message, by SMTP or sendmail
    ALERT = "alert"  # a title and a body, by apprise


class Message(NamedTuple):
    """One message a run owes to one target.

    For mail, `target` is the recipients (comma-separated, as in MAILTO) and
    `payload` the whole message, headers and body, as sent. For an alert,
    `target` is the apprise URL and `payload` the body (UTF-8 text).
    """

    channel: Channel
    job_id: str
    run_id: int | None  # the run's record; None for a test message
    target: str
    title: str  # the mail's subject, the alert's title
    payload: bytes


class DeliveryError(PycronError):
    """A message could not be delivered. `permanent` says that trying again
    cannot help (a target apprise cannot read, recipients the server refuses);
    otherwise the sender retries with backoff."""

    def __init__(self, target: str, reason: str, *, permanent: bool = False) -> None:
        super().__init__(f"{redact(target)}: {reason}")
        self.target = redact(target)
        self.reason = reason
        self.permanent = permanent


# `scheme://user:password@host` or `scheme://token@host`: what goes before `@`.
_USERINFO = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)([^/@]+)@")
# A long run of token characters after `/`, `=` or `:` (webhook and chat URLs carry
# their tokens in the path, the query or after a bot id).
_TOKEN = re.compile(r"(?<=[/=:])[A-Za-z0-9_\-]{16,}")


def redact(target: str) -> str:
    """`target` with its secrets masked, for logs, `check`, the history and
    the web: `smtp://user:***@host`, `json://host/hooks/***`."""

    def userinfo(match: re.Match[str]) -> str:
        user, _, password = match[2].partition(":")
        return f"{match[1]}{user}:***@" if password else f"{match[1]}***@"

    return _TOKEN.sub("***", _USERINFO.sub(userinfo, target))
