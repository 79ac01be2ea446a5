"""The cluster on Redis (redis-py, loaded only by this module): a `Cluster`
whose members share their claims, leases and membership there, while each
keeps its run history in its own state directory.

Every key lives under one prefix (`pycron` unless told otherwise), so that
two clusters can share a Redis server:
- `PREFIX:generation`: the counter of generations (INCR at each `join`);
- `PREFIX:members`: the set of member ids (`HOST:PID:GENERATION`);
- `PREFIX:member:ID`: a member's hash: host, pid, version, joined,
  heartbeat, generation, and `over` (the id of the member that took it
  over, once one did);
- `PREFIX:running:ID`: the set of its running runs, as its last beat said,
  with the runs it claimed since;
- `PREFIX:lease:ID`: its lease, a key that Redis expires a lease after its
  last beat;
- `PREFIX:claim:JOB:SLOT`: the claim of one run, holding the id of the
  member that got it;
- `PREFIX:last`: a hash of each job's latest claimed slot (its high-water
  mark);
- `PREFIX:epoch`: the cluster's epoch.
Times are whole microseconds since 1970 (UTC), so that the scripts compare
them as numbers. Each step that must see and change several keys at once
(a claim, a beat, a takeover, an end) is a Lua script, which Redis runs
alone.

The rules, on top of those of `pycron.store.cluster`:
- **Claims.** A member gets a run (job, slot) when its membership holds
  (its hash is there, of its generation, not taken over, and Redis has not
  expired its lease) and either `SET claim NX` creates the run's claim for a
  slot later than the job's high-water mark, which then moves to it; or the
  claim is the member's own from a takeover (below), which it gets once.
  Claims expire after `CLAIM_KEEP` (or the lease, if longer), so memory
  stays bounded by the runs of those hours plus one field per job; the
  high-water mark keeps refusing what they claimed. Its consequence: a
  slot at or before a job's latest claimed slot is never claimed again, so
  a catch-up of an older slot after a newer one ran anywhere is refused;
  the slots of one call are claimed in time order per job, so a batch of
  missed slots is claimed whole.
- **Staleness.** A member is stale when its last beat is older than `now`
  minus the lease (the `now` that callers give; the server's clock decides
  only when the lease key expires). A stale member's `beat` answers False;
  so does a beat whose lease key Redis expired, and such a member's claims
  fail at once.
- **Takeover.** `take_over` marks each member stale at `now` over, hands its
  running runs to the caller (they join the caller's running set until its
  next beat says otherwise) and turns each run's claim into a claim that the
  caller gets once, should it claim the slot to run it again; all in one
  script, so that of several members taking over at once, one gets each
  run. A member taken over is kept, stale, for `MEMBER_KEEP`, then
  forgotten; so is one that beats no more and that nobody takes over.
- **Fencing.** `finish` answers True while the membership holds, and drops
  the run from the member's running set in the same step, so that a run
  that ended is never taken over.

Nothing here is meant to survive a Redis that loses its data: the members'
beats then answer False, and they join again (generations count from 1
again, but a member's id holds its host and pid too); the epoch is set
again by the first member to ask; claims and high-water marks start afresh,
so a run claimed just before the loss may be claimed, and run, once more.

Errors are `HistoryError`s naming the URL with its password masked: a
`StoreConnectionError` when Redis cannot be reached or the connection was
lost (what became of the call that failed is unknown; the next call
connects again).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from pycron.errors import HistoryError, StoreConnectionError, UsageError
from pycron.store import utc
from pycron.store.cluster import (
    DEFAULT_LEASE,
    Claimer,
    Member,
    Membership,
    Orphan,
    Slot,
    member_id,
    redacted,
)

if TYPE_CHECKING:
    from redis.typing import EncodableT

    from pycron.store.cluster import Cluster

SOCKET_TIMEOUT = 5.0  # seconds to connect to Redis, and for it to answer a call
CLAIM_KEEP = timedelta(hours=2)  # how long a claim stays (at least a lease)
MEMBER_KEEP = timedelta(days=1)  # how long a member stays after its last beat or its takeover
DEFAULT_PREFIX = "pycron"  # the prefix of every key, unless told another
PREFIX_PARAMETER = "prefix"  # the query parameter of a cluster URL that tells it

# What a StoreConnectionError says, when opening and later.
_UNREACHABLE = (
    "cannot connect to Redis: {reason}; check that the server runs and can be reached, "
    "and that the URL's host, port and password are right"
)
_LOST = (
    "the connection to Redis failed ({reason}); what became of the call is unknown, "
    "and the next call connects again"
)

_UNIX = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
_MILLISECOND = timedelta(milliseconds=1)

# Each script starts with this: whether the membership of `generation` whose
# hash is `member` holds (its hash is there, of that generation, not taken over).
_HOLDS = """
local function holds(member, generation)
  local fields = redis.call('HMGET', member, 'generation', 'over')
  return fields[1] == generation and not fields[2]
end
"""

# KEYS: the high-water marks, the member's hash, lease and running set, then one
# claim per slot. ARGV: generation, member id, its takeover claim, claim ttl (ms),
# then job and slot per claim. A run granted joins the running set at once, so that
# a member that dies before its next beat has it taken over all the same.
_CLAIM = (
    _HOLDS
    + """
local granted = {}
for i = 5, #KEYS do
  granted[i - 4] = 0
end
if not holds(KEYS[2], ARGV[1]) or redis.call('EXISTS', KEYS[3]) == 0 then
  return granted
end
for i = 5, #KEYS do
  local job, text = ARGV[2 * i - 5], ARGV[2 * i - 4]
  local slot, last = tonumber(text), tonumber(redis.call('HGET', KEYS[1], job))
  local later = last == nil or slot > last
  local got = false
  if redis.call('GET', KEYS[i]) == ARGV[3] then
    got = redis.call('SET', KEYS[i], ARGV[2], 'XX', 'PX', ARGV[4])
  elseif later then
    got = redis.call('SET', KEYS[i], ARGV[2], 'NX', 'PX', ARGV[4])
  end
  if got and later then
    redis.call('HSET', KEYS[1], job, text)
  end
  if got then
    granted[i - 4] = 1
    redis.call('SADD', KEYS[4], text .. ' ' .. job)
  end
end
return granted
"""
)

# KEYS: the member's hash, lease and running set.
# ARGV: generation, now, lease (us), lease (ms), how long to keep the member (ms), runs...
_BEAT = (
    _HOLDS
    + """
if not holds(KEYS[1], ARGV[1]) or redis.call('EXISTS', KEYS[2]) == 0 then
  return 0
end
if tonumber(redis.call('HGET', KEYS[1], 'heartbeat')) < tonumber(ARGV[2]) - tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', KEYS[1], 'heartbeat', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[4])
redis.call('DEL', KEYS[3])
for first = 6, #ARGV, 1000 do
  redis.call('SADD', KEYS[3], unpack(ARGV, first, math.min(first + 999, #ARGV)))
end
redis.call('PEXPIRE', KEYS[3], ARGV[5])
return 1
"""
)

# KEYS: the caller's hash, lease and running set, then those of each member to look at.
# ARGV: the caller's generation and id, the cutoff (us), how long to keep a member
# (ms), claim ttl (ms), the claims' key prefix, the caller's takeover claim, then the
# ids of the members to look at.
# Answers, per member taken over: its id, its hash, its running runs.
_TAKE_OVER = (
    _HOLDS
    + """
local cutoff = tonumber(ARGV[3])
if not holds(KEYS[1], ARGV[1]) or redis.call('EXISTS', KEYS[2]) == 0
    or tonumber(redis.call('HGET', KEYS[1], 'heartbeat')) < cutoff then
  return {}
end
local taken = {}
for first = 4, #KEYS, 3 do
  local member, lease, running = KEYS[first], KEYS[first + 1], KEYS[first + 2]
  local fields = redis.call('HMGET', member, 'heartbeat', 'over')
  if fields[1] and not fields[2] and tonumber(fields[1]) < cutoff then
    local runs = redis.call('SMEMBERS', running)
    for _, run in ipairs(runs) do
      local slot, job = string.match(run, '^(%d+) (.*)$')
      redis.call('SET', ARGV[6] .. job .. ':' .. slot, ARGV[7], 'PX', ARGV[5])
      redis.call('SADD', KEYS[3], run)
    end
    redis.call('HSET', member, 'over', ARGV[2])
    redis.call('PEXPIRE', member, ARGV[4])
    redis.call('DEL', lease, running)
    taken[#taken + 1] = {ARGV[7 + (first - 1) / 3], redis.call('HGETALL', member), runs}
  end
end
redis.call('PEXPIRE', KEYS[3], ARGV[4])
return taken
"""
)

# KEYS: the member's hash and running set. ARGV: generation, the run that ended.
_FINISH = (
    _HOLDS
    + """
if not holds(KEYS[1], ARGV[1]) then
  return 0
end
redis.call('SREM', KEYS[2], ARGV[2])
return 1
"""
)


class RedisCluster:
    """The shared part of a cluster in Redis; implements `pycron.store.
    cluster.Cluster`, and claims runs for the members' own histories
    (`claim`). One instance may serve the threads of a process."""

    def __init__(self, url: str, *, lease: timedelta, prefix: str | None) -> None:
        """Connect to the Redis at `url` (`redis://[:PASSWORD@]HOST:PORT/DB`,
        or `rediss://` for TLS) and check that it answers; every key is
        under `prefix` (None: the URL's, see `open`). A member is stale
        `lease` after its last beat."""
        self._location = redacted(url)
        url, named = _without_prefix(url)
        prefix = prefix or named or DEFAULT_PREFIX
        if lease < _MILLISECOND:
            raise UsageError(
                f"a cluster lease of {lease.total_seconds():g} s is too short; give 1 ms or more"
            )
        self._lease = lease
        self._prefix = prefix
        self._claim_ttl = _milliseconds(max(lease, CLAIM_KEEP))
        try:
            self._redis = redis.Redis.from_url(
                url,
                decode_responses=True,
                socket_timeout=SOCKET_TIMEOUT,
                socket_connect_timeout=SOCKET_TIMEOUT,
                # A call is never sent twice: a claim whose answer was lost,
                # sent again, would be refused as taken.
                retry=Retry(NoBackoff(), 0),
            )
        except ValueError as error:
            raise HistoryError(
                f"{self._location}: not a usable Redis URL ({_reason(error)}); give one such "
                "as redis://HOST:6379/0"
            ) from None
        try:
            with self._guarded(_UNREACHABLE):
                self._redis.ping()
        except HistoryError:
            self._redis.close()
            raise
        self._claim = self._redis.register_script(_CLAIM)
        self._beat = self._redis.register_script(_BEAT)
        self._take_over = self._redis.register_script(_TAKE_OVER)
        self._finish = self._redis.register_script(_FINISH)

    @classmethod
    def open(
        cls, url: str, *, lease: timedelta = DEFAULT_LEASE, prefix: str | None = None
    ) -> RedisCluster:
        """Open the cluster at `url` (see the constructor). Its keys are under
        `prefix` if given, else under the URL's own `prefix` parameter
        (`redis://HOST:6379/0?prefix=NAME`: two clusters on one Redis, the
        same URL for every member), else under `pycron`."""
        return cls(url, lease=lease, prefix=prefix)

    @property
    def location(self) -> str:
        """The Redis URL, its password masked, for messages."""
        return self._location

    @property
    def backend(self) -> str:
        """`redis`."""
        return "redis"

    @property
    def lease(self) -> timedelta:
        """How long a member's beat holds: after as long without one, it is stale."""
        return self._lease

    # -- Membership ------------------------------------------------------------------------

    def join(self, host: str, pid: int, version: str, now: datetime) -> Membership:
        """Join as a new member of a new generation; its lease runs from `now`."""
        moment = str(_micros(now))
        with self._guarded():
            generation = int(self._redis.incr(self._key("generation")))
            membership = Membership(member_id(host, pid, generation), generation)
            fields: dict[EncodableT, EncodableT] = {
                "host": host,
                "pid": pid,
                "version": version,
                "joined": moment,
                "heartbeat": moment,
                "generation": generation,
            }
            member, lease, _ = self._member_keys(membership.member_id)
            with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(member, mapping=fields)
                pipe.pexpire(member, _milliseconds(MEMBER_KEEP))
                pipe.set(lease, generation, px=_milliseconds(self._lease))
                pipe.sadd(self._key("members"), membership.member_id)
                pipe.execute()
        return membership

    def beat(self, membership: Membership, running: Collection[Slot], now: datetime) -> bool:
        """Renew the lease from `now` and store the member's running runs;
        False if the membership is over (taken over, stale at `now`, or its
        lease expired in Redis): nothing is changed then."""
        args: list[str | int] = [
            membership.generation,
            _micros(now),
            self._lease // _MICROSECOND,
            _milliseconds(self._lease),
            _milliseconds(MEMBER_KEEP),
            *map(_run_text, running),
        ]
        with self._guarded():
            return bool(self._beat(keys=self._member_keys(membership.member_id), args=args))

    def leave(self, membership: Membership) -> None:
        """Remove the member (its runs have ended)."""
        with self._guarded(), self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(*self._member_keys(membership.member_id))
            pipe.srem(self._key("members"), membership.member_id)
            pipe.execute()

    def members(self, now: datetime) -> list[Member]:
        """Every member known, stale or not at `now`, by host then pid; the
        ids of members Redis forgot (expired) are dropped from the set."""
        cutoff = _micros(now - self._lease)
        with self._guarded():
            ids = sorted(map(_text, self._redis.smembers(self._key("members"))))
            with self._redis.pipeline(transaction=False) as pipe:
                for member_id in ids:
                    member, _, running = self._member_keys(member_id)
                    pipe.hgetall(member)
                    pipe.smembers(running)
                answers = pipe.execute()
            found = dict(zip(ids, zip(answers[::2], answers[1::2], strict=True), strict=True))
            forgotten = [member_id for member_id, (fields, _) in found.items() if not fields]
            if forgotten:
                self._redis.srem(self._key("members"), *forgotten)
        members = [
            _member(member_id, fields, runs, cutoff)
            for member_id, (fields, runs) in found.items()
            if fields
        ]
        return sorted(members, key=lambda member: (member.host, member.pid, member.generation))

    def epoch(self, now: datetime) -> datetime:
        """The cluster's epoch, set to `now` if no member set it before."""
        key = self._key("epoch")
        with self._guarded():
            self._redis.set(key, _micros(now), nx=True)
            return _moment(self._redis.get(key))

    # -- Runs ------------------------------------------------------------------------------

    def claim(self, membership: Membership, slots: Sequence[Slot]) -> list[bool]:
        """Claim runs for this member (see the module's rules): True for each
        it got, False for one that another member has or had, or that is at
        or before its job's latest claimed slot; all False if the membership
        is over. With `functools.partial(cluster.claim, membership)`, a
        `Claimer`."""
        if not slots:
            return []
        times = [_micros(slot.scheduled_for) for slot in slots]
        order = sorted(range(len(slots)), key=lambda index: (slots[index].job_id, times[index]))
        keys = [self._key("last"), *self._member_keys(membership.member_id)]
        args: list[str | int] = [
            membership.generation,
            membership.member_id,
            _rerun_claim(membership.member_id),
            self._claim_ttl,
        ]
        for index in order:
            keys.append(self._claim_key(slots[index].job_id, times[index]))
            args += [slots[index].job_id, times[index]]
        with self._guarded():
            answers = self._claim(keys=keys, args=args)
        granted = [False] * len(slots)
        for index, answer in zip(order, answers, strict=True):
            granted[index] = answer == 1
        return granted

    def claimer(self, membership: Callable[[], Membership]) -> Claimer:
        """What claims runs for a member's own history (`claim`), under the
        membership `membership()` gives at each claim."""
        return lambda slots: self.claim(membership(), slots)

    def take_over(self, membership: Membership, now: datetime) -> list[Orphan]:
        """The running runs of the members stale at `now`, each given to one
        caller only, once; their memberships end. A caller whose own
        membership is over takes nothing."""
        cutoff = _micros(now - self._lease)
        with self._guarded():
            candidates = self._stale_ids(membership.member_id, cutoff)
            if not candidates:
                return []
            keys = list(self._member_keys(membership.member_id))
            for member_id in candidates:
                keys += self._member_keys(member_id)
            args: list[str | int] = [
                membership.generation,
                membership.member_id,
                cutoff,
                _milliseconds(MEMBER_KEEP),
                self._claim_ttl,
                self._key("claim", ""),
                _rerun_claim(membership.member_id),
                *candidates,
            ]
            taken = self._take_over(keys=keys, args=args)
        orphans = []
        for member_id, flat, runs in taken:
            member = _member(member_id, dict(zip(flat[::2], flat[1::2], strict=True)), runs, cutoff)
            orphans += [Orphan(slot, member, None) for slot in member.running]
        return orphans

    def finish(self, membership: Membership, slot: Slot) -> bool:
        """A run of this member has ended: True if the membership holds (so
        the run was not taken over), and it leaves the running set; False
        if its membership is over."""
        member, _, running = self._member_keys(membership.member_id)
        with self._guarded():
            return bool(
                self._finish(keys=[member, running], args=[membership.generation, _run_text(slot)])
            )

    def close(self) -> None:
        """Let go of the connections (the membership stays until `leave` or its lease)."""
        self._redis.close()

    # -- Plumbing --------------------------------------------------------------------------

    def _key(self, *parts: str) -> str:
        """The key of these parts under the cluster's prefix."""
        return ":".join((self._prefix, *parts))

    def _member_keys(self, member_id: str) -> tuple[str, str, str]:
        """A member's hash, lease and running set."""
        return (
            self._key("member", member_id),
            self._key("lease", member_id),
            self._key("running", member_id),
        )

    def _claim_key(self, job_id: str, micros: int) -> str:
        """The claim of a run (the takeover script builds the same name)."""
        return self._key("claim", job_id, str(micros))

    def _stale_ids(self, caller: str, cutoff: int) -> list[str]:
        """The members other than `caller` that look stale at `cutoff` and not
        taken over yet (the takeover script decides, looking again)."""
        ids = sorted(set(map(_text, self._redis.smembers(self._key("members")))) - {caller})
        with self._redis.pipeline(transaction=False) as pipe:
            for member_id in ids:
                pipe.hmget(self._key("member", member_id), "heartbeat", "over")
            answers = pipe.execute()
        return [
            member_id
            for member_id, (heartbeat, over) in zip(ids, answers, strict=True)
            if heartbeat is not None and over is None and int(heartbeat) < cutoff
        ]

    @contextmanager
    def _guarded(self, unreachable: str = _LOST) -> Iterator[None]:
        """Report the failures of Redis as HistoryError naming the URL: a
        connection refused, lost or timed out as StoreConnectionError, saying
        `unreachable` (a template of the reason)."""
        try:
            yield
        except (redis.ConnectionError, redis.TimeoutError) as error:
            message = unreachable.format(reason=_reason(error))
            raise StoreConnectionError(f"{self._location}: {message}") from error
        except redis.RedisError as error:
            raise HistoryError(f"{self._location}: {_reason(error)}") from error


def _member(member_id: str, fields: Mapping[str, str], runs: Sequence[str], cutoff: int) -> Member:
    """A member from its hash and running set; stale if taken over or if its
    last beat is older than `cutoff`."""
    heartbeat = int(fields["heartbeat"])
    return Member(
        member_id=member_id,
        host=fields["host"],
        pid=int(fields["pid"]),
        version=fields["version"],
        joined=_moment(fields["joined"]),
        heartbeat=_moment(fields["heartbeat"]),
        generation=int(fields["generation"]),
        running=tuple(sorted(map(_run_slot, runs))),
        stale="over" in fields or heartbeat < cutoff,
    )


def _without_prefix(url: str) -> tuple[str, str | None]:
    """The URL without its `prefix` query parameter, and that parameter (None
    if it has none); redis-py would take it for an option of its own."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    named = [value for key, value in query if key == PREFIX_PARAMETER]
    rest = urlencode([(key, value) for key, value in query if key != PREFIX_PARAMETER])
    return urlunsplit(parts._replace(query=rest)), (named[-1] if named else None)


def _text(answer: bytes | str) -> str:
    """A text that Redis answered (the client decodes every answer)."""
    return answer if isinstance(answer, str) else answer.decode()


def _rerun_claim(member_id: str) -> str:
    """The claim that a takeover leaves on a run for the member that took it over."""
    return f"{member_id} re-run"


def _run_text(slot: Slot) -> str:
    """A run as a running set holds it: `SLOT JOB` (the slot in microseconds)."""
    return f"{_micros(slot.scheduled_for)} {slot.job_id}"


def _run_slot(text: str) -> Slot:
    """A run of a running set (`_run_text`) as a Slot."""
    micros, _, job_id = text.partition(" ")
    return Slot(job_id, _moment(micros))


def _micros(moment: datetime) -> int:
    """An aware time as whole microseconds since 1970 (a naive one is refused)."""
    return (utc(moment) - _UNIX) // _MICROSECOND


def _moment(micros: Any) -> datetime:
    """Microseconds since 1970, as Redis gives them back, as an aware UTC time."""
    return _UNIX + int(micros) * _MICROSECOND


def _milliseconds(span: timedelta) -> int:
    """A span in whole milliseconds, as PX and PEXPIRE take it."""
    return span // _MILLISECOND


def _reason(error: Exception) -> str:
    """The error's message on one line, any password in it masked."""
    return redacted(" ".join(str(error).split())) or type(error).__name__


if TYPE_CHECKING:

    def _is_a_cluster(cluster: RedisCluster) -> Cluster:
        """mypy checks here that RedisCluster keeps implementing the Cluster protocol."""
        return cluster
