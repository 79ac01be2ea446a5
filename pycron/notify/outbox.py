"""The sender: delivers the messages of the store's outbox in a thread of its
own, so that a slow or dead mail server or webhook never delays a job or the
daemon's loop (the loop only wakes the sender).

Each message goes through the sender of its channel. A temporary failure
(`DeliveryError` not permanent, or any other error of a sender) is retried
after RETRY_DELAYS (with some jitter, so that messages failing together do
not come back together); a permanent one, or the failure of the last retry,
leaves the message undelivered with its reason. What is pending when the
sender stops stays in the outbox, for the next start.

Targets are kept redacted in the outbox. A target whose redaction hid a
secret is found again, by its key, among the targets configured now (the
job's, and the daemon's defaults): one no longer configured cannot be sent to,
and the message is undelivered for that reason.

The sender takes its clock, its wait and its randomness, so that tests drive
retries over minutes without waiting.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from pycron.errors import HistoryError, PycronError
from pycron.notify import Channel, DeliveryError, Message, redact
from pycron.store import Delivery, JobPast, OutboxEntry, Store, target_key

if TYPE_CHECKING:
    from pycron.crontab import Entry
    from pycron.records import RunResult

# Waits before the retries of a failed delivery: 3 retries over about 10 minutes.
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=3), timedelta(minutes=6))
JITTER = 0.1  # each wait is longer or shorter by up to this share of it
LEASE = timedelta(minutes=10)  # how long a message taken for sending is no one else's
BATCH = 50  # messages taken at once
MAX_WAIT = 60.0  # seconds: the sender looks at the outbox at least this often
STOP_WAIT = 5.0  # seconds a stop waits for a delivery under way
RECENT_RUNS = 20  # attempts of a job looked through for the record of a run that ended

Send = Callable[[Message], None]
Targets = Callable[[str], Iterable[str]]  # job id -> the targets configured now
# What a run that ended owes: (its job, the results of its attempts, what the
# store knows of the job's past, asked for only by a composer that needs it,
# the record of its last attempt) -> its messages.
Compose = Callable[
    ["Entry", Sequence["RunResult"], Callable[[], JobPast], "int | None"], list[Message]
]


# What a run that starts owes (its `start` alerts): (its job, the result of
# its first attempt, now running, and that attempt's record) -> its messages.
ComposeStart = Callable[["Entry", "RunResult", "int | None"], list[Message]]


def compose_nothing(
    entry: Entry, results: Sequence[RunResult], past: Callable[[], JobPast], run_id: int | None
) -> list[Message]:
    """A composer for a daemon that tells no one: no run owes anything."""
    return []


class Composer:
    """Composes the messages of runs that ended and queues them in the outbox,
    once per run (the store refuses a run composed already), then wakes the
    sender. The run's end is recorded first, the queueing follows: a pycron
    stopped between the two leaves the run uncomposed, and the next daemon
    start composes it (`recover`)."""

    def __init__(
        self,
        history: Store,
        compose: Compose,
        sender: Sender,
        *,
        clock: Callable[[], datetime],
        log: Callable[..., None],
        compose_start: ComposeStart | None = None,
    ) -> None:
        self.history = history
        self.compose = compose
        self.compose_start = compose_start
        self.sender = sender
        self._clock = clock
        self._log = log

    def run_ended(
        self, entry: Entry, results: Sequence[RunResult], record: int | None = None
    ) -> list[int] | None:
        """Queue what the run (its attempts' results) owes; the ids queued,
        None if nothing was (composed already, or the history failed).
        `record` is its last attempt's, if known (else the history is asked)."""
        if not results:
            return None
        slot = results[-1].scheduled_for
        try:
            run_id = record if record is not None else self._record_of(entry.id, slot)
            messages = self.compose(
                entry, results, lambda: self.history.job_past(entry.id, slot), run_id
            )
            queued = self.history.queue_messages(entry.id, slot, messages, self._clock())
        except HistoryError as error:
            self._log("history", "error", message=f"{error}: the messages of {entry.id}'s run wait")
            return None
        except (PycronError, OSError) as error:  # a log file gone, say: the run owes nothing
            self._log("compose", "error", job=entry.id, scheduled=slot, message=str(error))
            return None
        if queued:
            self._log("queued", job=entry.id, scheduled=slot, messages=len(queued))
            self.sender.wake()
        return queued

    def run_started(self, entry: Entry, result: RunResult, record: int | None) -> None:
        """Queue what a run owes as its first attempt starts (its `start`
        alerts), and wake the sender; a failure of the history is logged, and
        the run goes on."""
        if self.compose_start is None:
            return
        try:
            messages = self.compose_start(entry, result, record)
            if messages:
                self.history.queue_started(messages, self._clock())
                self.sender.wake()
        except HistoryError as error:
            self._log(
                "history", "error", message=f"{error}: the start alerts of {entry.id} are lost"
            )

    def _record_of(self, job_id: str, slot: datetime) -> int | None:
        """The record of the last attempt of the job's run at `slot` (the run
        id people see in `history` and in the alert)."""
        for record in self.history.runs(job_id, limit=RECENT_RUNS):
            if record.scheduled_for == slot:
                return record.id
        return None

    def recover(self, jobs: Mapping[str, Entry]) -> None:
        """Compose the runs that ended but were never composed (their pycron
        stopped first); a run whose job is gone owes nothing."""
        try:
            records = self.history.uncomposed()
        except HistoryError as error:
            self._log("history", "error", message=f"{error}: uncomposed runs wait")
            return
        runs = itertools.groupby(
            sorted(records, key=lambda r: (r.job_id, r.scheduled_for, r.attempt)),
            key=lambda r: (r.job_id, r.scheduled_for),
        )
        for (job_id, slot), attempts in runs:
            entry = jobs.get(job_id)
            if entry is not None:
                self.run_ended(entry, [record.result for record in attempts])
                continue
            try:
                self.history.queue_messages(job_id, slot, [], self._clock())
            except HistoryError:
                continue  # tried again at the next start


class Attempt(NamedTuple):
    """What came of one delivery: None for delivered, else the reason (redacted)
    and whether trying again could help."""

    error: str | None
    permanent: bool = False


class Sender:
    """Delivers the outbox's due messages, in a thread (`start`) or a pass at
    a time (`deliver_due`, for `run-now` and tests)."""

    def __init__(
        self,
        history: Store,
        senders: Mapping[Channel, Send],
        *,
        targets: Targets,
        log: Callable[..., None],
        clock: Callable[[], datetime],
        wait: Callable[[float, threading.Event], None],
        jitter: Callable[[], float] = random.random,
    ) -> None:
        """`wait(seconds, event)` returns after `seconds` or once `event` is set;
        `jitter()` draws in [0, 1)."""
        self.history = history
        self.senders = senders
        self.targets = targets
        self.log = log
        self.clock = clock
        self._wait = wait
        self._jitter = jitter
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------- the thread

    def start(self) -> None:
        """Deliver in a thread of its own until `stop`."""
        self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look at the outbox now (messages were queued)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop after the delivery under way (waiting for it at most STOP_WAIT
        seconds); what is pending stays in the outbox."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(STOP_WAIT)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                self.deliver_due()
                seconds = self._seconds_to_next()
            except HistoryError as error:
                self.log("outbox", "error", message=f"{error}: messages wait for a later try")
                seconds = MAX_WAIT
            self._wait(seconds, self._wake)

    def _seconds_to_next(self) -> float:
        """Seconds until the next message is due, at most MAX_WAIT."""
        upcoming = self.history.next_try()
        if upcoming is None:
            return MAX_WAIT
        return max(0.0, min(MAX_WAIT, (upcoming - self.clock()).total_seconds()))

    # ----------------------------------------------------------- delivering

    def deliver_due(self, only: Collection[int] | None = None) -> int:
        """Deliver the messages due now (of those ids `only` names), each once;
        returns how many were tried."""
        tried = 0
        while not self._stopping.is_set():
            taken = self.history.take_due(self.clock(), LEASE, BATCH, only)
            for entry in taken:
                self._deliver(entry)
            tried += len(taken)
            if len(taken) < BATCH:
                return tried
        return tried

    def _deliver(self, entry: OutboxEntry) -> None:
        """Send one message, then record (and log) what came of it."""
        message = entry.message
        attempt = self.attempt(message, entry.key)
        fields = {
            "job": message.job_id,
            "run": message.run_id,
            "channel": message.channel.value,
            "target": message.target,  # redacted in the outbox
        }
        now = self.clock()
        if attempt.error is None:
            self.history.delivered(entry.id, now)
            self.log("delivered", **fields, attempt=entry.attempts + 1)
            return
        retry = None if attempt.permanent else self.retry_at(entry.attempts + 1, now)
        self.history.failed(entry.id, attempt.error, retry)
        self.log(
            "undelivered" if retry is None else "send-failed",
            "error" if retry is None else "warning",
            **fields,
            attempt=entry.attempts + 1,
            retry=retry,
            message=attempt.error,
        )

    def attempt(self, message: Message, key: str) -> Attempt:
        """Try one delivery of a message as kept in the outbox."""
        target = self._resolve(message, key)
        if target is None:
            return Attempt("its target is no longer configured", permanent=True)
        (attempt,) = try_targets(self.senders, [message._replace(target=target)])
        return attempt

    def _resolve(self, message: Message, key: str) -> str | None:
        """The real target of a message kept with its redacted one (None: gone)."""
        if target_key(message.target) == key:
            return message.target  # nothing was hidden: it is the target
        for target in self.targets(message.job_id):
            if target_key(target) == key:
                return target
        return None

    def retry_at(self, failures: int, now: datetime) -> datetime | None:
        """When to try again after `failures` failed deliveries (None: give up)."""
        if failures > len(RETRY_DELAYS):
            return None
        delay = RETRY_DELAYS[failures - 1]
        return now + delay * (1 + JITTER * (2 * self._jitter() - 1))


def deliver(send: Send, message: Message) -> Attempt:
    """Send a message now, saying what came of it. Any error of a sender is a
    failure (temporary unless it says otherwise), its text redacted."""
    try:
        send(message)
    except DeliveryError as error:
        return Attempt(redact(error.reason), error.permanent)
    except Exception as error:  # a sender's bug or an unforeseen error must not end the thread
        return Attempt(redact(str(error) or type(error).__name__))
    return Attempt(None)


def deliver_once(sender: Sender, message_ids: Collection[int]) -> int:
    """Try each of the given messages once now, in the foreground (`run-now`);
    returns how many are left pending, for the daemon's sender to retry."""
    sender.deliver_due(only=message_ids)
    states = sender.history.entries(message_ids)
    return sum(1 for state in states.values() if state is Delivery.PENDING)


def try_targets(senders: Mapping[Channel, Send], messages: Sequence[Message]) -> list[Attempt]:
    """Send each message now, outside the outbox (`pycron notify test`): what
    came of each, in order."""
    results = []
    for message in messages:
        send = senders.get(message.channel)
        if send is None:
            results.append(Attempt(f"no {message.channel.value} transport is configured", True))
        else:
            results.append(deliver(send, message))
    return results
