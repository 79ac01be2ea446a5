"""Mail a run's output as cron does, and the transports that carry it.

After a run, cronie mails the job's output (stdout and stderr together, in
the order written) when there is any, to MAILTO: unset, the job's owner;
empty, nobody; a comma-separated list, each address. `mail_message` decides
the same way (with the job's `mail-on=` option and cronie's `-n`) and builds
the message with cronie's headers, in cronie's order:

    From: "(Cron Daemon)" <MAILFROM, else the owner>
    To: MAILTO
    Subject: Cron <user@host> command
    MIME-Version: 1.0
    Content-Type: text/plain; charset=UTF-8   (or the job's CONTENT_TYPE)
    Content-Transfer-Encoding: ...            (the job's CONTENT_TRANSFER_ENCODING, else
                                               quoted-printable when a line is too long
                                               for mail, 8bit when it is not ASCII)
    Auto-Submitted: auto-generated
    Precedence: bulk
    X-Cron-Env: <NAME=value>                  (one per variable of the job)

then the output as it is, at most `MailFacts.limit` bytes of it.

A transport (`mail_transport`) sends such a message: by SMTP when an SMTP URL
is given, else through a local sendmail program, invoked as cronie invokes it.
The standard library's email and smtplib modules are loaded only when a mail
is built or sent.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol
from urllib.parse import unquote, urlsplit

from pycron.crontab import Entry, MailOn
from pycron.errors import UsageError
from pycron.notify import Channel, DeliveryError, Message, local_sendmail, redact
from pycron.records import Outcome, RunResult

if TYPE_CHECKING:
    import smtplib
    from collections.abc import Mapping, Sequence

MAIL_LIMIT = 1 << 20  # bytes of output in one mail (1 MiB); the rest is cut
# cronie's mailer flags: the sender's full name, no end at a lone ".", deliver
# at once, mail errors back, recipients from the headers; then `-f` and the sender.
SENDMAIL_FLAGS = ("-FCronDaemon", "-i", "-odi", "-oem", "-oi", "-t", "-f")
# The longest line mail may carry (RFC 5321); output with a longer one is sent
# quoted-printable, which wraps lines without changing what the reader sees.
_MAX_LINE = 998
SMTP_TIMEOUT = 30.0  # seconds for the connection and each reply
# An address cron will mail: a letter or digit, then those and `@!:%-.,_+`
# (cronie refuses anything else, so that no value can add a header).
_SAFE_ADDRESS = re.compile(r"[A-Za-z0-9][A-Za-z0-9@!:%\-.,_+]*")
# Outcomes of attempts that ran (or tried to start): only these have output to mail.
_RAN = frozenset(
    (Outcome.SUCCESS, Outcome.FAILED, Outcome.TIMEOUT, Outcome.ERROR, Outcome.INTERRUPTED)
)
# sendmail exit statuses (sysexits.h) after which trying again cannot help:
# bad usage, bad data, unknown user, unknown host.
_PERMANENT_EXITS = frozenset((64, 65, 67, 68))


class MailFacts(NamedTuple):
    """What a mail needs besides the job and its run.

    `user` owns the job (pycron's user: the default recipient, sender and the
    subject's `user@`), `host` is this machine's name (the subject keeps its
    first label, as cron does), `env` is the job's environment as it ran
    (cron's defaults and the crontab's assignments: the X-Cron-Env lines).
    `output_size` is the size of the whole output when `output` holds only
    its start (None: `output` is all of it); `log` is where the whole output
    is, named when the mail cuts it.
    """

    user: str
    host: str
    env: Mapping[str, str]
    run_id: int | None = None
    log: Path | None = None
    output_size: int | None = None
    limit: int = MAIL_LIMIT


def wants_mail(entry: Entry) -> bool:
    """Whether runs of the job may be mailed at all: MAILTO is not set empty
    and `mail-on` is not `never` (which run is mailed depends on the run)."""
    return entry.env_dict.get("MAILTO") != "" and entry.options.mail_on is not MailOn.NEVER


def recipients(entry: Entry, user: str) -> tuple[str, ...]:
    """Whom the job's mail goes to: each address of MAILTO (unset: `user`);
    none when MAILTO is empty or holds an address cron would refuse."""
    mailto = entry.env_dict.get("MAILTO", user)
    addresses = tuple(part.strip() for part in mailto.split(",") if part.strip())
    if not all(_SAFE_ADDRESS.fullmatch(address) for address in addresses):
        return ()
    return addresses


def mail_owed(entry: Entry, result: RunResult, output_size: int) -> bool:
    """Whether this run's output is mailed: by `mail-on` (`output`: when there
    is any, cron's rule; `failure`: a run that did not succeed, even silent;
    `always`; `never`), and never after a success with cronie's `-n`. A run
    that never started its command (skipped, missed, blocked) has nothing to mail."""
    mail_on = entry.options.mail_on
    if result.outcome not in _RAN or mail_on is MailOn.NEVER:
        return False
    succeeded = result.outcome is Outcome.SUCCESS
    if succeeded and (entry.mail_on_error_only or mail_on is MailOn.FAILURE):
        return False
    return mail_on is not MailOn.OUTPUT or output_size > 0


def mail_message(
    entry: Entry, result: RunResult, output: bytes, facts: MailFacts
) -> Message | None:
    """The mail this run owes (None: none), its output cut to `facts.limit`."""
    size = len(output) if facts.output_size is None else facts.output_size
    to = recipients(entry, facts.user)
    if not to or not wants_mail(entry) or not mail_owed(entry, result, size):
        return None
    env = dict(facts.env)
    subject = f"Cron <{facts.user}@{facts.host.split('.')[0]}> {entry.command}"
    sender = env.get("MAILFROM", "")
    if not _SAFE_ADDRESS.fullmatch(sender):
        sender = facts.user
    body = _body(output, size, facts)
    payload = _compose(sender, ", ".join(to), subject, _cron_env(entry, env), body, env)
    return Message(Channel.MAIL, entry.id, facts.run_id, ",".join(to), subject, payload)


def _body(output: bytes, size: int, facts: MailFacts) -> bytes:
    """The output, or its first `limit` bytes and a line saying how much was
    cut and where all of it is."""
    if size <= facts.limit:
        return output
    where = f"; all of it is in {facts.log}" if facts.log is not None else ""
    cut = size - facts.limit
    tail = b"" if output[: facts.limit].endswith(b"\n") else b"\n"
    note = f"[pycron: {cut} more bytes of output cut from this mail{where}]\n"
    return output[: facts.limit] + tail + note.encode()


def _cron_env(entry: Entry, env: Mapping[str, str]) -> list[str]:
    """The X-Cron-Env values: the crontab's variables in the file's order,
    then the defaults cron added, as cronie lists them."""
    names = dict.fromkeys(name for name, _ in entry.env if name in env)
    names.update(dict.fromkeys(env))
    return [f"<{name}={env[name]}>" for name in names]


def _one_line(value: str) -> str:
    """A header value from the job's environment, its line breaks made blanks
    (so that no variable can add a header)."""
    return value.replace("\r", " ").replace("\n", " ")


def _compose(
    sender: str, to: str, subject: str, cron_env: Sequence[str], body: bytes, env: Mapping[str, str]
) -> bytes:
    """The message, headers and body, with LF line ends (sendmail's; smtplib
    sends CRLF)."""
    import quopri  # noqa: PLC0415
    from email import policy  # noqa: PLC0415 - only when a mail is built
    from email.header import Header  # noqa: PLC0415
    from email.message import Message as EmailMessage  # noqa: PLC0415

    def text(value: str) -> str:
        """The value, in RFC 2047 words if it is not ASCII (a command in UTF-8)."""
        return value if value.isascii() else Header(value, "utf-8").encode(linesep="\n")

    message = EmailMessage(policy.compat32)
    message["From"] = f'"(Cron Daemon)" <{sender}>'
    message["To"] = to
    message["Subject"] = text(_one_line(subject))
    message["MIME-Version"] = "1.0"
    message["Content-Type"] = _one_line(env.get("CONTENT_TYPE", "text/plain; charset=UTF-8"))
    encoding = env.get("CONTENT_TRANSFER_ENCODING")
    if encoding is None and any(len(line) > _MAX_LINE for line in body.split(b"\n")):
        encoding, body = "quoted-printable", quopri.encodestring(body)
    elif encoding is None and not body.isascii():
        encoding = "8bit"  # what the body is: a server may then refuse it rather than mangle it
    if encoding is not None:
        message["Content-Transfer-Encoding"] = _one_line(encoding)
    message["Auto-Submitted"] = "auto-generated"
    message["Precedence"] = "bulk"
    for value in cron_env:
        message["X-Cron-Env"] = text(_one_line(value))
    head = message.as_bytes(policy=policy.compat32.clone(linesep="\n", max_line_length=0))
    return head + body


# --------------------------------------------------------------------------- transports


class MailTransport(Protocol):
    """Carries mail to its recipients."""

    def send(self, message: Message) -> None:
        """Deliver the message; `DeliveryError` (temporary or permanent) if not."""

    def describe(self) -> str:
        """The transport for logs, secrets masked: `smtp://user:***@host:25`."""


def mail_transport(smtp_url: str | None, sendmail: str | None) -> MailTransport | None:
    """The transport for the daemon's `--smtp URL` and `--sendmail PROGRAM`:
    SMTP when a URL is given; else the sendmail program given, or the local
    one when it exists; else None. `UsageError` for a URL or program that
    cannot be used."""
    if smtp_url:
        return SMTPTransport.from_url(smtp_url)
    if sendmail:
        import shutil  # noqa: PLC0415 - only to find a sendmail program named

        program = shutil.which(sendmail)
        if program is None:
            raise UsageError(f"--sendmail: no program {sendmail!r}: give the path of a sendmail")
        return SendmailTransport(program)
    local = local_sendmail()
    return None if local is None else SendmailTransport(local)


_LINE_END = re.compile(rb"\r\n|\r|\n")
_SMTP_SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
_SMTP_FORMS = "smtp://[user:password@]host[:port], smtp+starttls://... or smtps://..."


class SMTPTransport(NamedTuple):
    """An SMTP server: `smtp` in the clear, `smtp+starttls` upgraded with
    STARTTLS, `smtps` over TLS from the start; a login when a user is given."""

    url: str
    scheme: str
    host: str
    port: int
    user: str | None = None
    password: str | None = None
    timeout: float = SMTP_TIMEOUT

    @classmethod
    def from_url(cls, url: str) -> SMTPTransport:
        """Read `smtp://[user:password@]host[:port]` (user and password
        percent-encoded); `UsageError` naming `--smtp` otherwise."""
        shown = redact(url)
        parts = urlsplit(url)
        if parts.scheme not in _SMTP_SCHEMES:
            problem = f"unknown scheme {parts.scheme!r}" if parts.scheme else "no scheme"
            raise UsageError(f"--smtp {shown}: {problem}: write {_SMTP_FORMS}")
        if not parts.hostname:
            raise UsageError(f"--smtp {shown}: no host: write {_SMTP_FORMS}")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise UsageError(f"--smtp {shown}: nothing may follow the port: write {_SMTP_FORMS}")
        try:
            port = parts.port or _SMTP_SCHEMES[parts.scheme]
        except ValueError:
            raise UsageError(f"--smtp {shown}: bad port: a number from 1 to 65535") from None
        user = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        return cls(url, parts.scheme, parts.hostname, port, user, password)

    def describe(self) -> str:
        """The URL, its password masked."""
        return redact(self.url)

    def send(self, message: Message) -> None:
        """Hand the message to the server: a 5xx reply is permanent, a 4xx
        reply or a lost connection temporary."""
        import smtplib  # noqa: PLC0415 - only when mail is sent

        to = message.target.split(",")
        try:
            with self._connect() as server:
                if self.user is not None:
                    server.login(self.user, self.password or "")
                refused = server.sendmail(_sender(message.payload), to, _crlf(message.payload))
        except smtplib.SMTPRecipientsRefused as exc:
            raise _refused(message.target, exc.recipients) from None
        except smtplib.SMTPResponseException as exc:
            reason = f"the server replied {exc.smtp_code} {_said(exc.smtp_error)}".rstrip()
            raise DeliveryError(message.target, reason, permanent=exc.smtp_code >= 500) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(message.target, str(exc), permanent=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            reason = f"{self.describe()}: {exc or type(exc).__name__}"
            raise DeliveryError(message.target, reason) from None
        if refused:
            raise _refused(message.target, refused)

    def _connect(self) -> smtplib.SMTP:
        """A connection, in TLS when the scheme says so."""
        import smtplib  # noqa: PLC0415
        import ssl  # noqa: PLC0415

        if self.scheme == "smtps":
            context = ssl.create_default_context()
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        server = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.scheme == "smtp+starttls":
            try:
                server.starttls(context=ssl.create_default_context())
            except BaseException:
                server.close()
                raise
        return server


def _crlf(payload: bytes) -> bytes:
    """The message with SMTP's line ends: CRLF for each LF or lone CR
    (smtplib sends bytes as they are)."""
    return _LINE_END.sub(b"\r\n", payload)


def _said(reply: bytes | str) -> str:
    """A server's reply text."""
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


def _refused(target: str, refused: Mapping[str, tuple[int, bytes | str]]) -> DeliveryError:
    """The error for recipients the server refused (permanent if every refusal is)."""
    said = "; ".join(f"{to}: {code} {_said(reply)}" for to, (code, reply) in refused.items())
    permanent = all(code >= 500 for code, _ in refused.values())
    return DeliveryError(target, f"recipients refused: {said}", permanent=permanent)


def _sender(payload: bytes) -> str:
    """The address in the message's From header (the envelope's sender)."""
    from email.parser import BytesHeaderParser  # noqa: PLC0415
    from email.utils import parseaddr  # noqa: PLC0415

    return parseaddr(BytesHeaderParser().parsebytes(payload).get("From", ""))[1]


class SendmailTransport(NamedTuple):
    """A local sendmail program, run as cronie runs it: its flags, the sender
    after `-f`, the message on stdin, recipients read from the To header."""

    program: str
    timeout: float = SMTP_TIMEOUT

    def describe(self) -> str:
        """`sendmail PROGRAM`."""
        return f"sendmail {self.program}"

    def send(self, message: Message) -> None:
        """Run the program; an exit status that says the message is bad or its
        recipients unknown is permanent, any other failure temporary."""
        import subprocess  # noqa: PLC0415 - only when mail is sent

        argv = [self.program, *SENDMAIL_FLAGS, _sender(message.payload)]
        try:
            done = subprocess.run(
                argv, input=message.payload, capture_output=True, timeout=self.timeout, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DeliveryError(message.target, f"{self.describe()}: {exc}") from None
        if done.returncode != 0:
            said = done.stderr.decode(errors="replace").strip()
            reason = f"{self.describe()} exited with status {done.returncode}"
            permanent = done.returncode in _PERMANENT_EXITS
            raise DeliveryError(
                message.target, f"{reason}: {said}" if said else reason, permanent=permanent
            )
