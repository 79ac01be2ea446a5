"""The schedule kinds behind one interface (`Schedule` in pycron.crontab), and
the registry of `@` words the crontab reader reads them through.

Expected times follow the README's rules: a fixed time in a DST gap runs once,
at the end of the gap; `@every` counts whole intervals from the daemon's start;
`@at` fires once; `@reboot` never fires on the clock.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from freezegun import freeze_time

from pycron.cli.app import cli
from pycron.crontab import (
    SCHEDULE_WORDS,
    At,
    CatchUp,
    Cron,
    Every,
    Reboot,
    Schedule,
    ScheduleWord,
    Watch,
    parse,
)
from pycron.daemon import Due, JobState, fire_after, plan
from pycron.lint import lint

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
README = Path(__file__).resolve().parent.parent / "README.md"


def at(text: str) -> datetime:
    """An ISO 8601 time with its offset, as an aware UTC datetime."""
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None, f"give an offset: {text}"
    return moment.astimezone(UTC)


def schedule_of(text: str) -> Schedule:
    """The schedule of the only job in a crontab."""
    crontab, errors = parse(text)
    assert not errors, errors
    (entry,) = crontab.entries
    return entry.schedule


# --------------------------------------------------------------------------- the interface


class Kind(NamedTuple):
    """One schedule read from a crontab, asked everything the interface answers."""

    crontab: str
    zone: tzinfo  # the daemon's
    anchor: str  # the daemon's start
    after: str
    next: str | None  # next_after(after)
    moment: str
    latest: str | None  # latest_at_or_before(moment)
    catch_up: CatchUp
    identity: tuple[str, object]
    on_the_clock: bool = True
    at_boot: bool = False
    once: bool = False


ANCHOR = "2026-05-04T09:00:00+00:00"
KINDS = {
    # 02:30 does not exist in Berlin on 2026-03-29 (02:00 CET -> 03:00 CEST): it runs at 03:00.
    "cron-spring-forward-berlin": Kind(
        "30 2 * * * true\n",
        BERLIN,
        ANCHOR,
        after="2026-03-28T12:00:00+01:00",
        next="2026-03-29T03:00:00+02:00",
        moment="2026-03-29T07:00:00+02:00",
        latest="2026-03-29T03:00:00+02:00",
        catch_up=CatchUp.LATEST,
        identity=("30 2 * * *", None),
    ),
    "cron-spring-forward-new-york": Kind(
        "30 2 * * * true\n",
        NEW_YORK,
        ANCHOR,
        after="2026-03-08T01:59:00-05:00",
        next="2026-03-08T03:00:00-04:00",
        moment="2026-03-08T01:59:00-05:00",  # just before the gap: the day before's run
        latest="2026-03-07T02:30:00-05:00",
        catch_up=CatchUp.LATEST,
        identity=("30 2 * * *", None),
    ),
    "cron-own-zone": Kind(
        "CRON_TZ=America/New_York\n0  9 * * * true\n",
        BERLIN,  # not read: the job has a zone of its own
        ANCHOR,
        after="2026-05-04T09:00:00-04:00",
        next="2026-05-05T09:00:00-04:00",
        moment="2026-05-04T08:59:59-04:00",
        latest="2026-05-03T09:00:00-04:00",
        catch_up=CatchUp.LATEST,
        identity=("0 9 * * *", NEW_YORK),
    ),
    "cron-wildcard-minute": Kind(
        "*/15 * * * * true\n",
        UTC,
        ANCHOR,
        after="2026-05-04T10:00:00+00:00",
        next="2026-05-04T10:15:00+00:00",
        moment="2026-05-04T10:29:59+00:00",
        latest="2026-05-04T10:15:00+00:00",
        catch_up=CatchUp.NONE,
        identity=("*/15 * * * *", None),
    ),
    "nickname": Kind(
        "@daily true\n",
        UTC,
        ANCHOR,
        after="2026-05-04T00:00:00+00:00",
        next="2026-05-05T00:00:00+00:00",
        moment="2026-05-04T00:00:00+00:00",  # at: included
        latest="2026-05-04T00:00:00+00:00",
        catch_up=CatchUp.LATEST,
        identity=("@daily", None),
    ),
    "every": Kind(
        "@every 90s true\n",
        BERLIN,
        ANCHOR,
        after="2026-05-04T09:01:30+00:00",  # strictly after
        next="2026-05-04T09:03:00+00:00",
        moment="2026-05-04T09:04:29+00:00",
        latest="2026-05-04T09:03:00+00:00",
        catch_up=CatchUp.NONE,
        identity=("@every 90s", None),
        on_the_clock=False,
    ),
    "every-before-its-anchor": Kind(
        "@every 1h true\n",
        UTC,
        ANCHOR,
        after="2026-05-04T07:30:00+00:00",
        next=ANCHOR,  # never before the daemon's start
        moment=ANCHOR,
        latest=ANCHOR,
        catch_up=CatchUp.NONE,
        identity=("@every 1h", None),
        on_the_clock=False,
    ),
    "at-in-the-daemon-zone": Kind(
        "@at 2026-12-24T18:00 true\n",
        BERLIN,
        ANCHOR,
        after="2026-12-24T17:59:59+01:00",
        next="2026-12-24T18:00:00+01:00",
        moment="2026-12-24T18:00:00+01:00",
        latest="2026-12-24T18:00:00+01:00",
        catch_up=CatchUp.LATEST,
        identity=("@at 2026-12-24T18:00", None),
        once=True,
    ),
    "at-passed": Kind(
        "CRON_TZ=America/New_York\n@at 2026-12-24T18:00 true\n",
        BERLIN,
        ANCHOR,
        after="2026-12-24T18:00:00-05:00",
        next=None,
        moment="2026-12-24T17:59:59-05:00",
        latest=None,
        catch_up=CatchUp.LATEST,
        identity=("@at 2026-12-24T18:00", None),
        once=True,
    ),
    "reboot": Kind(
        "@reboot true\n",
        UTC,
        ANCHOR,
        after="2026-05-04T10:00:00+00:00",
        next=None,
        moment="2026-05-04T10:00:00+00:00",
        latest=None,
        catch_up=CatchUp.NONE,
        identity=("@reboot", None),
        on_the_clock=False,
        at_boot=True,
    ),
}


@pytest.mark.parametrize("case", KINDS.values(), ids=KINDS.keys())
def test_each_kind_answers_the_interface(case: Kind) -> None:
    schedule = schedule_of(case.crontab)
    anchor = at(case.anchor)
    upcoming = schedule.next_after(at(case.after), case.zone, anchor)
    assert upcoming == (at(case.next) if case.next else None)
    latest = schedule.latest_at_or_before(at(case.moment), case.zone, anchor)
    assert latest == (at(case.latest) if case.latest else None)
    for found in (upcoming, latest):
        assert found is None or found.utcoffset() == timedelta(0)
    assert schedule.default_catch_up is case.catch_up
    assert schedule.identity == case.identity
    traits = (schedule.on_the_clock, schedule.at_boot, schedule.once)
    assert traits == (case.on_the_clock, case.at_boot, case.once)


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("0 9 * * * true\n", "0   9 * * *   other\n", True),  # blanks and command do not count
        ("0 9 * * * true\n", "CRON_TZ=Europe/Berlin\n0 9 * * * true\n", False),
        ("@every 90s true\n", "@every 1m30s true\n", False),  # as written
        ("@reboot true\n", "@reboot false\n", True),
    ],
)
def test_identity_is_what_makes_the_same_schedule(first: str, second: str, same: bool) -> None:
    assert (schedule_of(first).identity == schedule_of(second).identity) is same


def test_latest_at_or_before_is_the_last_fire_time_not_after_it() -> None:
    """For each kind: the latest fire time at or before a moment, then the next
    one after it, lead back to the same time (they agree on every kind)."""
    anchor = at(ANCHOR)
    for name, case in KINDS.items():
        schedule = schedule_of(case.crontab)
        latest = schedule.latest_at_or_before(at(case.moment), case.zone, anchor)
        if latest is None:
            continue
        before = latest - timedelta(microseconds=1)
        assert schedule.next_after(before, case.zone, anchor) == latest, name
        assert latest <= at(case.moment), name


# --------------------------------------------------------------------------- the registry


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("@reboot true", Reboot),
        ("@every 5m true", Every),
        ("@at 2026-12-24T18:00 true", At),
        ("@watch /srv/in true", Watch),
        *((f"{word} true", Cron) for word in ("@yearly", "@annually", "@monthly", "@weekly")),
        *((f"{word} true", Cron) for word in ("@daily", "@midnight", "@hourly")),
    ],
)
def test_the_reader_reads_each_word_through_the_registry(line: str, kind: type) -> None:
    word, _, _ = line.partition(" ")
    assert word in SCHEDULE_WORDS
    assert type(schedule_of(line + "\n")) is kind


def test_a_watch_schedule_has_no_time_and_says_what_starts_it() -> None:
    schedule = schedule_of("@watch ~/inbox true\n")
    assert isinstance(schedule, Watch)
    assert schedule.path == "~/inbox"
    moment = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert schedule.next_after(moment, None, moment) is None
    assert schedule.latest_at_or_before(moment, None, moment) is None
    assert not schedule.on_the_clock
    assert schedule.no_next == "on changes under ~/inbox"


def test_the_registry_holds_every_schedule_word_the_readme_names() -> None:
    named = set(re.findall(r"`(@[a-z]+)", README.read_text()))
    assert named == set(SCHEDULE_WORDS)


@pytest.mark.parametrize(
    ("line", "column", "message"),
    [
        ("@every 0s true", 7, "@every needs an interval longer than 0s"),
        ("@every soon true", 7, "@every: "),
        ("@at tomorrow true", 4, "@at: cannot read 'tomorrow'"),
        ("@watch", 6, "@watch needs a path"),
        ("@dayly true", 0, "unknown nickname '@dayly'"),
        ("  @Daily true", 2, "nickname '@Daily' must be lower case"),
    ],
)
def test_an_unreadable_word_or_value_is_reported_at_its_column(
    line: str, column: int, message: str
) -> None:
    _, errors = parse(line + "\n")
    (error,) = errors
    assert error.column == column
    assert message in error.message


@dataclass(frozen=True, slots=True)
class AtMinute(Schedule):
    """A kind made up for the test: `@minute 45` fires at minute 45 of every UTC
    hour. It says only where it differs from the defaults of `Schedule`."""

    text: str
    minute: int

    @classmethod
    def read(cls, value: str, column: int, tz: tzinfo | None) -> AtMinute:
        return cls(f"@minute {value}", int(value))

    @property
    def default_catch_up(self) -> CatchUp:
        return CatchUp.LATEST

    def next_after(self, after: datetime, zone: tzinfo | None, anchor: datetime) -> datetime:
        hour = after.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        fire = hour + timedelta(minutes=self.minute)
        return fire if fire > after else fire + timedelta(hours=1)

    def latest_at_or_before(
        self, moment: datetime, zone: tzinfo | None, anchor: datetime
    ) -> datetime:
        return self.next_after(moment, zone, anchor) - timedelta(hours=1)

    def plain_cron(self) -> tuple[str, str | None] | None:
        return "cron rejects the line", f"'{self.minute} * * * *'"


@pytest.fixture
def minute_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    """The made-up kind, known to the reader by its registry entry alone."""
    monkeypatch.setitem(SCHEDULE_WORDS, "@minute", ScheduleWord(AtMinute.read, takes_value=True))


@pytest.mark.usefixtures("minute_kind")
def test_a_registry_entry_is_all_a_new_kind_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reader, planner, `list` and `check` take a new kind from one entry."""
    text = "# pycron: name=tick\n@minute 45   echo tick\n"
    crontab, errors = parse(text)
    assert not errors
    (entry,) = crontab.entries
    assert (entry.schedule, entry.command) == (AtMinute("@minute 45", 45), "echo tick")

    anchor = at("2026-05-04T09:00:00+00:00")
    now = at("2026-05-04T13:50:00+00:00")  # 10:45 to 13:45 missed; latest runs
    state = {"tick": JobState(fire_after(entry, at("2026-05-04T10:00:00+00:00"), anchor, UTC))}
    decided = plan(state, {"tick": entry}, now, anchor, UTC)
    assert decided.due == [Due("tick", at("2026-05-04T13:45:00+00:00"), catch_up=True)]
    assert [skip.missed for skip in decided.skipped] == [3]
    assert decided.state["tick"].next_fire == at("2026-05-04T14:45:00+00:00")

    path = tmp_path / "crontab"
    path.write_text(text)
    monkeypatch.setenv("TZ", "UTC")
    with freeze_time("2026-05-04T10:50:00+00:00"):
        result = CliRunner().invoke(cli, ["--crontab", str(path), "list", "--json", "--next", "2"])
    assert result.exit_code == 0, result.output
    (job,) = json.loads(result.stdout)
    assert job["next"] == ["2026-05-04T11:45:00+00:00", "2026-05-04T12:45:00+00:00"]

    found = [f for f in lint(crontab, now) if "@minute 45" in f.message]
    assert [(f.column, f.hint) for f in found] == [(0, "'45 * * * *'")]
