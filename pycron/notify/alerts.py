"""Alerts: short messages about runs to chat, webhooks and phones, through apprise.

A finished run raises at most one event (`run_events`): `failure` when its
last attempt failed, timed out, could not start or was interrupted, or it
was blocked by its `requires=`;
`recovery` for the first success after a failure; `success` otherwise;
`missed` for slots the daemon skipped. A job alerts the events of its
`notify-on` to its `notify=` targets, else to the daemon's `--notify`
targets, else nowhere.

A job failing every minute must not alert every minute: `throttle` lets the
first failure through, counts the failures within `notify-every` of the last
failure alert, and has the next alert that goes out say how many there were.

Building messages reads nothing but the tail of the run's log files;
delivery (`send_alert`) and URL checks (`check_target`) load apprise, and
only then, so that a daemon without alerts never imports it.
"""

from __future__ import annotations

import logging
import signal
from collections import deque
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, Final, NamedTuple

from pycron.crontab import Entry, NotifyEvent, format_duration
from pycron.notify import Channel, DeliveryError, Message, redact
from pycron.records import Outcome, RunResult
from pycron.store import JobPast

TITLE_WIDTH: Final = 60  # what a phone's notification shows of a title
_HOST_MIN: Final = 12  # what a title keeps of a long host name
TAIL_LINES: Final = 20  # lines of output an alert quotes
_TAIL_BYTES: Final = 64 * 1024  # how much of the end of a log the tail is looked for in

# Outcomes whose run failed for the `failure` event. An interrupted run (pycron
# stopped or died while it ran) counts: its work did not finish, and the moment
# the daemon goes down is when nothing else would tell anyone. So does a blocked
# run (its `requires=` jobs never let it start): its work was not done either.
FAILURES: Final = frozenset(
    (Outcome.FAILED, Outcome.TIMEOUT, Outcome.ERROR, Outcome.INTERRUPTED, Outcome.BLOCKED)
)

_MARKS: Final = {
    NotifyEvent.FAILURE: "✗",
    NotifyEvent.RECOVERY: "✓",
    NotifyEvent.SUCCESS: "✓",
    NotifyEvent.MISSED: "⚠",
    NotifyEvent.START: "▶",
}


class AlertFacts(NamedTuple):
    """What an alert says that neither the entry nor the result knows.

    `targets` are the daemon's default targets (`--notify`), for jobs without
    `notify=`; `zone` is the zone times are shown in.
    """

    host: str
    run_id: int | None
    next_run: datetime | None = None
    targets: tuple[str, ...] = ()
    zone: tzinfo = timezone.utc


class Throttled(NamedTuple):
    """Whether an event's alert goes out, and what it says of the ones that did not."""

    send: bool
    note: str | None = None  # "failed 37 more times since 14:02"


# --------------------------------------------------------------------------- events


def run_events(result: RunResult, past: JobPast) -> tuple[NotifyEvent, ...]:
    """The events a finished run raises, the most telling first: a job alerts
    the first of them it is set to (a recovery is also a success, and alerts
    as a success when `recovery` is not chosen). None for a run skipped for
    overlap, or one that has not ended."""
    if result.outcome is Outcome.MISSED:
        return (NotifyEvent.MISSED,)
    if result.outcome in FAILURES:
        return (NotifyEvent.FAILURE,)
    if result.outcome is Outcome.SUCCESS:
        if past.previous in FAILURES:
            return (NotifyEvent.RECOVERY, NotifyEvent.SUCCESS)
        return (NotifyEvent.SUCCESS,)
    return ()


def throttle(event: NotifyEvent, at: datetime, past: JobPast, every: timedelta) -> Throttled:
    """Whether the alert of `event` at `at` goes out: a failure within `every`
    of the last failure alert does not (it is counted in `past.failures` by the
    history); the next alert that goes out, a later failure or the recovery,
    says how many did not."""
    if (
        event is NotifyEvent.FAILURE
        and past.last_failure_alert is not None
        and at - past.last_failure_alert < every
    ):
        return Throttled(send=False)
    if (
        past.failures
        and past.last_failure_alert is not None
        and event in (NotifyEvent.FAILURE, NotifyEvent.RECOVERY)
    ):
        return Throttled(
            True, f"failed {past.failures} more times since {_clock(past.last_failure_alert, at)}"
        )
    return Throttled(send=True)


def _clock(moment: datetime, now: datetime) -> str:
    """`14:02`, with the date when it is not `now`'s (in `now`'s zone)."""
    local = moment.astimezone(now.tzinfo)
    return local.strftime("%H:%M" if local.date() == now.date() else "%Y-%m-%d %H:%M")


def _moment(result: RunResult) -> datetime:
    """When a run's fate was known: its end, or its start if it has none."""
    return result.finished or result.started


# --------------------------------------------------------------------------- messages


def alert_targets(entry: Entry, defaults: tuple[str, ...]) -> tuple[str, ...]:
    """Where a job's alerts go: its `notify=` targets, else `defaults` (the
    daemon's); none: it alerts no one."""
    return entry.options.notify or defaults


def alert_messages(
    entry: Entry, result: RunResult, past: JobPast, facts: AlertFacts
) -> list[Message]:
    """The alerts a finished run owes: one per target for the first of its
    events the job is set to, unless throttled; none without targets."""
    options = entry.options
    targets = alert_targets(entry, facts.targets)
    chosen = [event for event in run_events(result, past) if event in options.notify_on]
    if not targets or not chosen:
        return []
    event = chosen[0]
    at = _moment(result).astimezone(facts.zone)
    verdict = throttle(event, at, past, options.notify_every)
    if not verdict.send:
        return []
    what = _short_outcome(event, result)
    title = alert_title(event, entry.id, what, facts.host)
    lines = [f"{entry.id} {what} on {facts.host}"]
    if verdict.note:
        lines.append(verdict.note)
    body = "\n".join([*lines, "", *_details(entry, result, facts), *_tail_section(result)])
    return _to_each(targets, entry.id, facts.run_id, title, body)


def start_messages(entry: Entry, result: RunResult, facts: AlertFacts) -> list[Message]:
    """The alerts owed when a run's first attempt starts (event `start`)."""
    targets = alert_targets(entry, facts.targets)
    if not targets or NotifyEvent.START not in entry.options.notify_on or result.attempt != 1:
        return []
    title = alert_title(NotifyEvent.START, entry.id, "started", facts.host)
    headline = f"{entry.id} started on {facts.host}"
    body = "\n".join([headline, "", *_details(entry, result, facts)])
    return _to_each(targets, entry.id, facts.run_id, title, body)


def alert_title(event: NotifyEvent, job_id: str, what: str, host: str) -> str:
    """`✗ backup failed (exit 1) on web01`, within TITLE_WIDTH: the host's
    first label, and what does not fit cut with `…` (the host first, down to
    a few characters, then the job id)."""
    host = host.split(".", 1)[0]
    room = TITLE_WIDTH - len(f"{_MARKS[event]}  {what} on ")  # for the job id and the host
    host = _cut(host, max(room - len(job_id), min(len(host), _HOST_MIN)))
    return f"{_MARKS[event]} {_cut(job_id, room - len(host))} {what} on {host}"


def _cut(text: str, width: int) -> str:
    """`text`, or its start and `…` in `width` characters (at least one and `…`)."""
    return text if len(text) <= width else text[: max(width - 1, 1)] + "…"


def _to_each(
    targets: Iterable[str], job_id: str, run_id: int | None, title: str, body: str
) -> list[Message]:
    payload = body.encode()
    return [Message(Channel.ALERT, job_id, run_id, url, title, payload) for url in targets]


def _short_outcome(event: NotifyEvent, result: RunResult) -> str:
    """What happened, in the few words a title has room for."""
    if event is NotifyEvent.RECOVERY:
        return "recovered"
    if event is NotifyEvent.SUCCESS:
        return "succeeded"
    if event is NotifyEvent.MISSED:
        return "missed runs"
    if result.outcome is Outcome.TIMEOUT:
        return "timed out"
    if result.outcome is Outcome.ERROR:
        return "could not start"
    if result.outcome is Outcome.INTERRUPTED:
        return "interrupted"
    if result.outcome is Outcome.BLOCKED:
        return "blocked"
    if result.signal is not None:
        return f"killed ({_signal_name(result.signal)})"
    return f"failed (exit {result.exit_code})" if result.exit_code is not None else "failed"


def _outcome_text(result: RunResult) -> str:
    """The outcome with its details: `failed, exit code 1`, `timed out`."""
    text = result.outcome.value
    if result.signal is not None:
        text += f", killed by signal {result.signal} ({_signal_name(result.signal)})"
    elif result.exit_code is not None:
        text += f", exit code {result.exit_code}"
    return f"{text}: {result.message}" if result.message else text


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _details(entry: Entry, result: RunResult, facts: AlertFacts) -> list[str]:
    """The facts of the run, one `name: value` line each."""
    rows = [
        ("job", entry.id),
        ("host", facts.host),
        ("schedule", entry.schedule.text),
        ("command", entry.command),
        ("outcome", _outcome_text(result)),
        ("attempt", f"{result.attempt} of {entry.options.retries + 1}"),
    ]
    if result.duration is not None:
        rows.append(("duration", format_duration(timedelta(seconds=round(result.duration)))))
    if facts.run_id is not None:
        rows.append(("run", str(facts.run_id)))
    rows.append(("slot", _when(result.scheduled_for, facts.zone)))
    rows += [(name, str(path)) for name, path in _logs(result)]
    if facts.next_run is not None:
        rows.append(("next run", _when(facts.next_run, facts.zone)))
    return [f"{name + ':':<10}{value}" for name, value in rows]


def _when(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z").rstrip()


def _logs(result: RunResult) -> list[tuple[str, Path]]:
    pairs = (("stderr", result.stderr_path), ("stdout", result.stdout_path))
    return [(name, path) for name, path in pairs if path is not None]


def _tail_section(result: RunResult) -> list[str]:
    """The last lines of stderr, else of stdout, under a heading (none if both are empty)."""
    for name, path in _logs(result):
        lines = tail(path)
        if lines:
            count = f"last {len(lines)} lines" if len(lines) > 1 else "last line"
            return ["", f"{count} of {name}:", *lines]
    return []


def tail(path: Path, count: int = TAIL_LINES) -> list[str]:
    """The last `count` lines of a log file (empty if it is missing or empty),
    read from its end only: a log may be large."""
    try:
        with path.open("rb") as log:
            size = log.seek(0, 2)
            log.seek(max(size - _TAIL_BYTES, 0))
            data = log.read()
    except OSError:
        return []
    text = data.decode(errors="replace").rstrip("\n")
    return list(deque(text.splitlines(), maxlen=count)) if text else []


# --------------------------------------------------------------------------- delivery


def send_alert(message: Message) -> None:
    """Deliver an alert through apprise. Raises DeliveryError: permanent if
    apprise cannot read the target, temporary if the service did not take it
    (with apprise's reason, when it logged one)."""
    import apprise  # noqa: PLC0415 - loaded only when a job alerts

    plugin = apprise.Apprise.instantiate(message.target)
    if plugin is None:
        raise DeliveryError(message.target, _UNREADABLE, permanent=True)
    target = _private(plugin)
    sender = apprise.Apprise()
    sender.add(plugin)
    capture = apprise.LogCapture(level=logging.WARNING, fmt="%(message)s")  # type: ignore[no-untyped-call]
    with capture as log:
        delivered = sender.notify(title=message.title, body=message.payload.decode())
        said = [line for line in log.getvalue().splitlines() if line.strip()]
    if not delivered:
        reason = "; ".join(dict.fromkeys(said)) or "the service did not take the alert"
        raise DeliveryError(target, redact(reason))


_UNREADABLE: Final = "apprise cannot read this URL (unknown service, or a part missing)"


def check_target(url: str) -> str | None:
    """Why apprise cannot use `url` (None if it can), for `check` and the daemon."""
    import apprise  # noqa: PLC0415 - loaded only when a job alerts

    if apprise.Apprise.instantiate(url) is None:
        return _UNREADABLE
    return None


def redact_target(url: str) -> str:
    """`url` as logs and the history may show it: apprise's own rendering
    with its secrets masked, where apprise can read it; else `redact()`."""
    import apprise  # noqa: PLC0415 - loaded only when a job alerts

    plugin = apprise.Apprise.instantiate(url)
    return redact(url) if plugin is None else _private(plugin)


def _private(plugin: Any) -> str:
    """apprise's rendering of a target it read, its secrets masked (in the
    form `redact` gives), without the query of default settings it appends."""
    rendered: str = plugin.url(privacy=True)
    return redact(rendered.partition("?")[0])
