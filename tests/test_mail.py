"""Mail as cron sends it (pycron.notify.mail): which runs are mailed and to whom,
cronie's message, the 1 MiB cut, and the transports, against a real SMTP server
in this process (aiosmtpd on 127.0.0.1) and a stand-in sendmail program.
"""

from __future__ import annotations

import email
import json
import socket
import stat
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

import pycron.notify as notify_module
from pycron.crontab import CRON_PATH, Entry, parse
from pycron.errors import UsageError
from pycron.notify import Channel, DeliveryError, Message
from pycron.notify.mail import (
    MAIL_LIMIT,
    SENDMAIL_FLAGS,
    MailFacts,
    SendmailTransport,
    mail_message,
    mail_transport,
    wants_mail,
)
from pycron.records import Outcome, RunResult
from pycron.runner import Context, job_environment, run

if TYPE_CHECKING:
    from collections.abc import Iterator

WHEN = datetime(2026, 3, 1, 2, 30, tzinfo=timezone.utc)
ENV = {"SHELL": "/bin/sh", "PATH": "/usr/bin:/bin", "HOME": "/home/alice", "LOGNAME": "alice"}


def entry_of(text: str) -> Entry:
    """The one job of a crontab text, read by the real parser."""
    crontab, errors = parse(text)
    assert errors == []
    (entry,) = crontab.entries
    return entry


def result_of(entry: Entry, outcome: Outcome = Outcome.SUCCESS, code: int | None = 0) -> RunResult:
    return RunResult(entry.id, WHEN, 1, outcome, WHEN, WHEN, exit_code=code)


def facts(entry: Entry, **changes: Any) -> MailFacts:
    """Alice's facts on `box.example.org`, with the job's environment as the runner makes it."""
    env = job_environment(entry, "alice", "/home/alice")
    return MailFacts("alice", "box.example.org", env, 42)._replace(**changes)


# --------------------------------------------------------------------------- the SMTP server


class Received(NamedTuple):
    sender: str
    recipients: list[str]
    content: bytes


class Handler:
    """Keeps what arrives; refuses recipients named `refused*` (550) and
    `busy*` (451); keeps the login it was given."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("refused"):
            return "550 5.1.1 no such user"
        if address.startswith("busy"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(Received(envelope.mail_from, envelope.rcpt_tos, envelope.content))
        return "250 OK"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"p@ss:word", handled=False)


class Server(NamedTuple):
    handler: Handler
    port: int

    def url(self, userinfo: str = "") -> str:
        return f"smtp://{userinfo}127.0.0.1:{self.port}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp() -> Iterator[Server]:
    handler = Handler()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=handler.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield Server(handler, port)
    finally:
        controller.stop()


def send(url: str, message: Message) -> None:
    transport = mail_transport(url, None)
    assert transport is not None
    transport.send(message)


def parsed(content: bytes) -> email.message.Message:
    return email.message_from_bytes(content)


# --------------------------------------------------------------------------- which runs, to whom


class Case(NamedTuple):
    crontab: str
    outcome: Outcome
    output: bytes
    to: str | None  # the message's target; None: no mail


CASES = {
    "output-mailed-to-the-owner": Case("@daily x\n", Outcome.SUCCESS, b"hi\n", "alice"),
    "no-output-no-mail": Case("@daily x\n", Outcome.FAILED, b"", None),
    "mailto-empty": Case('MAILTO=""\n@daily x\n', Outcome.FAILED, b"hi\n", None),
    "mailto-one": Case(
        "MAILTO=ops@example.org\n@daily x\n", Outcome.SUCCESS, b"hi\n", "ops@example.org"
    ),
    "mailto-list": Case(
        "MAILTO=a@example.org, b@example.org\n@daily x\n",
        Outcome.SUCCESS,
        b"hi\n",
        "a@example.org,b@example.org",
    ),
    "mailto-unsafe": Case("MAILTO=a@example.org;rm\n@daily x\n", Outcome.SUCCESS, b"hi\n", None),
    "dash-n-success": Case("@daily -n x\n", Outcome.SUCCESS, b"hi\n", None),
    "dash-n-failure": Case("@daily -n x\n", Outcome.FAILED, b"hi\n", "alice"),
    "failure-on-success": Case(
        "# pycron: mail-on=failure\n@daily x\n", Outcome.SUCCESS, b"hi\n", None
    ),
    "failure-silent": Case("# pycron: mail-on=failure\n@daily x\n", Outcome.TIMEOUT, b"", "alice"),
    "always-silent-success": Case(
        "# pycron: mail-on=always\n@daily x\n", Outcome.SUCCESS, b"", "alice"
    ),
    "never": Case("# pycron: mail-on=never\n@daily x\n", Outcome.FAILED, b"hi\n", None),
    "skipped-never-ran": Case(
        "# pycron: mail-on=always\n@daily x\n", Outcome.SKIPPED_OVERLAP, b"", None
    ),
    "could-not-start": Case("@daily x\n", Outcome.ERROR, b"pycron: could not start\n", "alice"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_which_runs_are_mailed_and_to_whom(case: Case) -> None:
    entry = entry_of(case.crontab)
    message = mail_message(entry, result_of(entry, case.outcome), case.output, facts(entry))
    assert (message.target if message is not None else None) == case.to


@pytest.mark.parametrize(
    ("crontab", "wanted"),
    [
        ("@daily x\n", True),
        ("MAILTO=a@b\n@daily x\n", True),
        ('MAILTO=""\n@daily x\n', False),
        ("# pycron: mail-on=never\n@daily x\n", False),
        ("# pycron: mail-on=failure\n@daily -n x\n", True),
    ],
)
def test_wants_mail(crontab: str, wanted: bool) -> None:
    assert wants_mail(entry_of(crontab)) is wanted


# --------------------------------------------------------------------------- the message


CRONTAB = (
    "MAILTO=ops@example.org,dev@example.org\n"
    "MAILFROM=cron@example.org\n"
    "0 2 * * * backup --all % ignored\n"
)


def test_the_mail_arrives_in_cron_format(smtp: Server) -> None:
    entry = entry_of(CRONTAB)
    output = b"starting\nwarning: disk 91% full\n"
    message = mail_message(entry, result_of(entry, Outcome.FAILED, 1), output, facts(entry))
    assert message is not None
    assert (message.channel, message.job_id, message.run_id) == (Channel.MAIL, entry.id, 42)
    assert message.title == "Cron <alice@box> backup --all "
    send(smtp.url(), message)
    (got,) = smtp.handler.received
    assert got.sender == "cron@example.org"
    assert got.recipients == ["ops@example.org", "dev@example.org"]
    mail = parsed(got.content)
    assert mail.keys() == [
        "From",
        "To",
        "Subject",
        "MIME-Version",
        "Content-Type",
        "Auto-Submitted",
        "Precedence",
        *["X-Cron-Env"] * 7,
    ]
    assert mail["From"] == '"(Cron Daemon)" <cron@example.org>'
    assert mail["To"] == "ops@example.org, dev@example.org"
    assert mail["Subject"] == "Cron <alice@box> backup --all "
    assert mail["Content-Type"] == "text/plain; charset=UTF-8"
    assert (mail["Auto-Submitted"], mail["Precedence"]) == ("auto-generated", "bulk")
    assert mail.get_all("X-Cron-Env") == [
        "<MAILTO=ops@example.org,dev@example.org>",
        "<MAILFROM=cron@example.org>",
        "<SHELL=/bin/sh>",
        f"<PATH={CRON_PATH}>",
        "<HOME=/home/alice>",
        "<LOGNAME=alice>",
        "<USER=alice>",
    ]
    assert mail.get_payload(decode=True) == output.replace(b"\n", b"\r\n")


def test_without_mailfrom_the_owner_sends() -> None:
    entry = entry_of("@daily x\n")
    message = mail_message(entry, result_of(entry), b"hi\n", facts(entry))
    assert message is not None
    assert parsed(message.payload)["From"] == '"(Cron Daemon)" <alice>'


def test_output_that_is_not_ascii_goes_as_8bit_and_a_command_in_utf8_in_words() -> None:
    entry = entry_of("@daily echo héllo\n")
    output = "héllo\n".encode()
    message = mail_message(entry, result_of(entry), output, facts(entry))
    assert message is not None
    mail = parsed(message.payload)
    assert mail["Content-Transfer-Encoding"] == "8bit"
    assert str(email.header.make_header(email.header.decode_header(mail["Subject"]))) == (
        "Cron <alice@box> echo héllo"
    )
    assert message.payload.endswith(b"\n\n" + output)


def test_the_job_may_set_its_content_type_but_add_no_header() -> None:
    entry = entry_of("CONTENT_TYPE=text/html\nCONTENT_TRANSFER_ENCODING=7bit\n@daily x\n")
    env = {**ENV, "CONTENT_TYPE": "text/html\nBcc: eve@example.org"}
    message = mail_message(entry, result_of(entry), b"<p>hi</p>\n", facts(entry, env=env))
    assert message is not None
    mail = parsed(message.payload)
    assert mail["Content-Type"] == "text/html Bcc: eve@example.org"
    assert "Bcc" not in mail


def test_a_mail_holds_at_most_one_mib_of_output(smtp: Server, tmp_path: Path) -> None:
    entry = entry_of("@daily x\n")
    log = tmp_path / "run-1.out"
    output = b"x" * (MAIL_LIMIT - 1) + b"\n" + b"y" * 1000
    message = mail_message(entry, result_of(entry), output, facts(entry, log=log))
    assert message is not None
    send(smtp.url(), message)
    body = parsed(smtp.handler.received[0].content).get_payload(decode=True)
    assert isinstance(body, bytes)
    body = body.replace(b"\r\n", b"\n")  # as the reader sees it: SMTP's line ends undone
    kept, note = body[:MAIL_LIMIT], body[MAIL_LIMIT:]
    assert kept == output[:MAIL_LIMIT]
    assert b"1000 more bytes" in note
    assert str(log).encode() in note


def test_the_cut_counts_output_the_caller_did_not_read() -> None:
    entry = entry_of("@daily x\n")
    message = mail_message(
        entry, result_of(entry), b"abcdef", facts(entry, limit=4, output_size=10)
    )
    assert message is not None
    body = message.payload.split(b"\n\n", 1)[1]
    assert body.startswith(b"abcd\n[")
    assert b"6 more bytes" in body


def test_combined_output_of_a_real_run_is_mailed_in_order(
    tmp_path: Path, home: Path, smtp: Server
) -> None:
    entry = entry_of("@daily echo one; echo two >&2; echo three; exit 3\n")
    context = Context(
        state_dir=tmp_path / "state",
        clock=lambda: datetime.now(timezone.utc),
        sleep=lambda seconds: True,
        user="alice",
        home=str(home),
        poll_interval=0.02,
        combined_output=True,
    )
    (result,) = run(entry, WHEN, context)
    assert result.outcome is Outcome.FAILED
    assert result.stdout_path is not None
    message = mail_message(entry, result, result.stdout_path.read_bytes(), facts(entry))
    assert message is not None
    send(smtp.url(), message)
    (got,) = smtp.handler.received
    assert got.content == message.payload.replace(b"\n", b"\r\n")  # SMTP's line ends
    assert got.content.endswith(b"\r\n\r\none\r\ntwo\r\nthree\r\n")


# --------------------------------------------------------------------------- SMTP


def a_message(to: str = "ops@example.org") -> Message:
    entry = entry_of(f"MAILTO={to}\n@daily x\n")
    message = mail_message(entry, result_of(entry), b"hi\n", facts(entry))
    assert message is not None
    return message


def test_smtp_logs_in_with_the_decoded_user_and_password(smtp: Server) -> None:
    send(smtp.url("mail%20user:p%40ss%3Aword@"), a_message())
    assert smtp.handler.logins == [(b"mail user", b"p@ss:word")]
    assert len(smtp.handler.received) == 1


def test_a_refused_login_is_permanent(smtp: Server) -> None:
    with pytest.raises(DeliveryError) as caught:
        send(smtp.url("user:wrong@"), a_message())
    assert caught.value.permanent
    assert smtp.handler.received == []


@pytest.mark.parametrize(
    ("to", "permanent"),
    [("refused@example.org", True), ("busy@example.org", False)],
    ids=["5xx-permanent", "4xx-temporary"],
)
def test_a_refusal_says_whether_to_try_again(smtp: Server, to: str, permanent: bool) -> None:
    with pytest.raises(DeliveryError) as caught:
        send(smtp.url(), a_message(to))
    assert caught.value.permanent is permanent
    assert to in str(caught.value)


def test_no_server_is_temporary() -> None:
    with pytest.raises(DeliveryError) as caught:
        send(f"smtp://user:secret@127.0.0.1:{free_port()}", a_message())
    assert not caught.value.permanent
    assert "secret" not in str(caught.value)


BAD_URLS = {
    "unknown-scheme": ("http://mail.example.org", "unknown scheme 'http'"),
    "no-scheme": ("mail.example.org:25", "scheme"),
    "no-host": ("smtp://user:secret@:25", "no host"),
    "port-not-a-number": ("smtp://user:secret@mail.example.org:smtp", "bad port"),
    "port-too-big": ("smtps://mail.example.org:70000", "bad port"),
    "a-path": ("smtp://mail.example.org/relay", "nothing may follow"),
}


@pytest.mark.parametrize(("url", "problem"), BAD_URLS.values(), ids=BAD_URLS.keys())
def test_a_bad_smtp_url_is_a_usage_error(url: str, problem: str) -> None:
    with pytest.raises(UsageError) as caught:
        mail_transport(url, None)
    said = str(caught.value)
    assert said.startswith("--smtp ")
    assert problem in said
    assert "smtp://[user:password@]host[:port]" in said or "bad port" in said
    assert "secret" not in said


@pytest.mark.parametrize(
    ("url", "described"),
    [
        ("smtp://relay.example.org", "smtp://relay.example.org"),
        ("smtps://me:hunter2@mail.example.org:465", "smtps://me:***@mail.example.org:465"),
        ("smtp+starttls://me:p%40ss@mail.example.org", "smtp+starttls://me:***@mail.example.org"),
    ],
)
def test_describe_never_shows_the_password(url: str, described: str) -> None:
    transport = mail_transport(url, None)
    assert transport is not None
    assert transport.describe() == described


# --------------------------------------------------------------------------- sendmail


def stand_in(directory: Path, status: int = 0) -> Path:
    """A sendmail that writes its arguments and stdin beside it, then exits with `status`."""
    program = directory / "sendmail"
    program.write_text(
        f"#!{sys.executable}\n"
        "import json, sys, pathlib\n"
        "here = pathlib.Path(sys.argv[0]).parent\n"
        "(here / 'args.json').write_text(json.dumps(sys.argv[1:]))\n"
        "(here / 'stdin').write_bytes(sys.stdin.buffer.read())\n"
        "print('sendmail said no', file=sys.stderr)\n"
        f"sys.exit({status})\n"
    )
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return program


def test_sendmail_gets_cronies_flags_and_the_message_on_stdin(tmp_path: Path) -> None:
    program = stand_in(tmp_path)
    transport = mail_transport(None, str(program))
    assert transport == SendmailTransport(str(program))
    entry = entry_of(CRONTAB)
    message = mail_message(entry, result_of(entry), b"done\n", facts(entry))
    assert message is not None
    transport.send(message)
    args = json.loads((tmp_path / "args.json").read_text())
    assert args == ["-FCronDaemon", "-i", "-odi", "-oem", "-oi", "-t", "-f", "cron@example.org"]
    assert args[:-1] == list(SENDMAIL_FLAGS)
    assert (tmp_path / "stdin").read_bytes() == message.payload
    assert message.payload.startswith(b'From: "(Cron Daemon)" <cron@example.org>\nTo: ')


def test_sendmail_is_found_on_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stand_in(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert mail_transport(None, "sendmail") == SendmailTransport(str(tmp_path / "sendmail"))


@pytest.mark.parametrize(("status", "permanent"), [(67, True), (75, False), (1, False)])
def test_a_failing_sendmail(tmp_path: Path, status: int, permanent: bool) -> None:
    transport = mail_transport(None, str(stand_in(tmp_path, status)))
    assert transport is not None
    with pytest.raises(DeliveryError) as caught:
        transport.send(a_message())
    assert caught.value.permanent is permanent
    assert f"status {status}" in str(caught.value)
    assert "sendmail said no" in str(caught.value)


def test_a_missing_sendmail_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--sendmail"):
        mail_transport(None, str(tmp_path / "nowhere"))


def test_the_local_sendmail_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notify_module, "SENDMAIL", str(tmp_path / "sendmail"))
    assert mail_transport(None, None) is None
    stand_in(tmp_path)
    assert mail_transport(None, None) == SendmailTransport(str(tmp_path / "sendmail"))
    assert mail_transport("smtp://relay.example.org", None) is not None  # SMTP first


def test_sending_loads_nothing_until_needed() -> None:
    """Deciding (wants_mail) needs neither smtplib nor the email package."""
    probe = (
        "import sys, pycron.notify.mail\n"
        "print(sorted({'smtplib', 'email.message', 'ssl'} & set(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


def test_the_readme_shows_a_mail_as_pycron_builds_it() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    start = readme.index('```\nFrom: "(Cron Daemon)"') + len("```\n")
    shown = readme[start : readme.index("```", start)]
    entry = entry_of(
        "MAILTO=ops@example.org, alice\n"
        "MAILFROM=cron@example.org\n"
        "30 2 * * * /usr/local/bin/backup --all\n"
    )
    output = b"backup: starting\nbackup: /srv is not mounted\n"
    env = job_environment(entry, "alice", "/home/alice")
    message = mail_message(
        entry,
        result_of(entry, Outcome.FAILED, 1),
        output,
        MailFacts("alice", "backup.example.org", env, 1),
    )
    assert message is not None
    assert message.payload.decode() == shown
    assert shown.startswith(
        'From: "(Cron Daemon)" <cron@example.org>\nTo: ops@example.org, alice\n'
    )
