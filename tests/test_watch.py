"""File events in a real daemon: the crontab loaded as soon as it is written,
and `@watch` jobs run by changes under their paths (debounced, coalesced)."""

from __future__ import annotations

import os
import re
import signal
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from test_daemon import ADDED, LATER, LOGGED, STAMP, Daemon, Sandbox, log_time, wait_until

from pycron.crontab import parse
from pycron.daemon import MAX_SLEEP, changes_since
from pycron.watch import Modified, modified_since

# What a @watch job writes of each run: its events, then its changed paths.
REPORT = 'echo "$PYCRON_EVENTS|$(echo "$PYCRON_CHANGED" | tr "\\n" " ")"'
EVENT_LINE = r"^(\S+) info +{event} +job={job}\b"


def watch_job(name: str, path: Path, command: str, options: str = "") -> str:
    """A crontab's `@watch` job called `name`, with `debounce=1s`."""
    return f"# pycron: name={name} debounce=1s {options}\n@watch {path} {command}\n"


def reports(sandbox: Sandbox, name: str) -> list[tuple[str, list[str]]]:
    """(events, changed paths relative to the sandbox) of each run, in order."""
    found = []
    for line in sandbox.lines(name):
        events, _, paths = line.partition("|")
        found.append((events, [os.path.relpath(p, sandbox.root) for p in paths.split()]))
    return found


def runs_reported(sandbox: Sandbox, name: str, count: int) -> list[tuple[str, list[str]]]:
    """Wait until `count` runs have reported into `name`; those reports."""
    return wait_until(
        lambda: len(reports(sandbox, name)) >= count and reports(sandbox, name),
        15,
        f"{count} run(s) reported in {name}",
    )


# --------------------------------------------------------------------------- the crontab


def test_an_edit_is_loaded_at_once_and_its_new_job_starts_within_a_second(
    sandbox: Sandbox,
) -> None:
    sandbox.write(LATER)
    daemon = sandbox.start()
    daemon.wait_for(r" info +ready ")
    written = time.time()
    sandbox.write(LATER + ADDED.format(root=sandbox.root))

    reload = daemon.wait_for(r"^(\S+) info +reload +jobs=2 errors=0 changed=added$")
    first = daemon.wait_for(EVENT_LINE.format(event="start", job="added"))
    assert reload.start() < first.start()  # the log's order: loaded, then started
    # Polling would notice the edit up to MAX_SLEEP (2 s) later; the file's
    # event makes it milliseconds. The new `@every 1s` job is due at the
    # daemon's next whole second after the reload, and starts then, not before.
    assert log_time(reload) - written < MAX_SLEEP / 4
    (run, *_) = wait_until(lambda: sandbox.ended("added"), 15, "the added job's first run")
    assert run.scheduled_for.timestamp() <= log_time(reload) + 1.0 + LOGGED
    (stamp, *_) = sandbox.stamps("added.txt")
    assert stamp >= run.scheduled_for.timestamp()


def test_every_edit_is_loaded_at_once(sandbox: Sandbox) -> None:
    """Five edits at moments the daemon's 2 s polling does not choose: each one
    loaded well before a poll would have come (by chance, five polls within
    0.5 s of their edits would be one in a thousand)."""
    sandbox.write(LATER)
    daemon = sandbox.start()
    daemon.wait_for(r" info +ready ")
    for number in range(1, 6):
        jobs = "".join(f"# pycron: name=j{n}\n@daily true\n" for n in range(number))
        written = time.time()
        sandbox.write(LATER + jobs)
        reload = daemon.wait_for(rf"^(\S+) info +reload +jobs={number + 1} errors=0 changed=j")
        assert log_time(reload) - written < MAX_SLEEP / 4


def test_without_watchdog_edits_still_load_at_once_and_watch_jobs_do_not_run(
    sandbox: Sandbox,
) -> None:
    """The crontab's edits come from the kernel (inotify), with or without
    watchdog, which only `@watch` jobs need."""
    hidden = sandbox.root / "no-watchdog"
    hidden.mkdir()
    (hidden / "sitecustomize.py").write_text("import sys\nsys.modules['watchdog'] = None\n")
    watched = watch_job("w", sandbox.root / "inbox", "true")
    sandbox.write(LATER + watched)
    daemon = sandbox.start(env={"PYTHONPATH": str(hidden)})
    daemon.wait_for(
        r" warning +watch +message=\"watchdog is not installed: @watch jobs do not run \("
    )
    daemon.wait_for(r" info +ready ")
    written = time.time()
    sandbox.write(LATER + watched + ADDED.format(root=sandbox.root))
    reload = daemon.wait_for(r"^(\S+) info +reload +jobs=3 errors=0 changed=added$")
    assert log_time(reload) - written < MAX_SLEEP / 4


# --------------------------------------------------------------------------- @watch jobs


def test_a_file_created_runs_the_job_once_with_what_changed(sandbox: Sandbox) -> None:
    inbox = sandbox.root / "inbox"
    inbox.mkdir()
    listing = f'cat "$PYCRON_CHANGED_FILE" >> {sandbox.root}/listed.txt'
    command = f"{REPORT} >> {sandbox.root}/runs.txt; {listing}"
    sandbox.write(LATER + watch_job("w", inbox, command))
    daemon = sandbox.start()
    daemon.wait_for(r" info +ready ")

    (inbox / "a").write_text("a\n")
    assert runs_reported(sandbox, "runs.txt", 1) == [("created,modified", ["inbox/a"])]
    (inbox / "b").touch()  # the next change: the first made one run only
    runs = runs_reported(sandbox, "runs.txt", 2)
    assert runs == [("created,modified", ["inbox/a"]), ("created", ["inbox/b"])]
    # A run is recorded once its job has written both files; its listing is
    # removed when the daemon hears of its end, a moment after.
    wait_until(lambda: len(sandbox.ended("w")) == 2, 15, "both runs recorded")
    assert sandbox.lines("listed.txt") == [str(inbox / "a"), str(inbox / "b")]
    changes = sandbox.state / "changes"
    wait_until(lambda: not list(changes.iterdir()), 15, "each run's listing to go with it")


def test_a_burst_of_100_writes_is_one_run(sandbox: Sandbox) -> None:
    inbox = sandbox.root / "inbox"
    inbox.mkdir()
    sandbox.write(LATER + watch_job("w", inbox, f"{REPORT} >> {sandbox.root}/runs.txt"))
    daemon = sandbox.start()
    daemon.wait_for(r" info +ready ")

    for number in range(100):
        with (inbox / f"f{number % 10}").open("a") as file:
            file.write(f"{number}\n")
    runs = runs_reported(sandbox, "runs.txt", 1)
    assert runs == [("created,modified", [f"inbox/f{n}" for n in range(10)])]
    (inbox / "last").touch()
    assert runs_reported(sandbox, "runs.txt", 2)[1] == ("created", ["inbox/last"])
    assert daemon.log().count(" changed    job=w ") == 2


def test_changes_during_a_run_make_one_more_run_after_it(sandbox: Sandbox) -> None:
    inbox = sandbox.root / "inbox"
    inbox.mkdir()
    release = sandbox.root / "release"
    hold = f"while [ ! -e {release} ]; do sleep 0.05; done"
    command = f"{REPORT} >> {sandbox.root}/runs.txt; {hold}"
    sandbox.write(LATER + watch_job("w", inbox, command))
    daemon = sandbox.start()
    daemon.wait_for(r" info +ready ")

    (inbox / "a").touch()
    wait_until(lambda: sandbox.running("w"), 10, "the first run to start")
    (inbox / "b").touch()
    (inbox / "c").touch()
    daemon.wait_for(r" info +hold +job=w paths=2 ", 10)  # held for the run to end...
    assert len(reports(sandbox, "runs.txt")) == 1  # ...not run beside it
    release.touch()
    runs = runs_reported(sandbox, "runs.txt", 2)
    assert runs == [("created", ["inbox/a"]), ("created", ["inbox/b", "inbox/c"])]
    (inbox / "d").touch()
    assert runs_reported(sandbox, "runs.txt", 3)[2] == ("created", ["inbox/d"])


def test_a_path_created_later_is_watched_once_it_appears(sandbox: Sandbox) -> None:
    target = sandbox.root / "later" / "deep"
    sandbox.write(LATER + watch_job("w", target, f"{REPORT} >> {sandbox.root}/runs.txt"))
    daemon = sandbox.start()
    daemon.wait_for(r" info +ready ")

    target.mkdir(parents=True)
    (target / "x").touch()
    first = runs_reported(sandbox, "runs.txt", 1)[0]
    assert first[1][0] == "later/deep"
    (target / "sub").mkdir()
    (target / "sub" / "y").write_text("y\n")  # inside it, a level down: watched recursively
    # (Its write may come before the new directory's own watch: then the
    # observer reports the file as created, with what is in it.)
    events, paths = runs_reported(sandbox, "runs.txt", 2)[1]
    assert paths == ["later/deep/sub", "later/deep/sub/y"]
    assert events.split(",")[0] == "created"


def test_a_watch_run_is_recorded_for_the_time_of_its_last_change(sandbox: Sandbox) -> None:
    inbox = sandbox.root / "inbox"
    inbox.mkdir()
    sandbox.write(LATER + watch_job("w", inbox, f"{STAMP} >> {sandbox.root}/runs.txt"))
    daemon = sandbox.start()
    daemon.wait_for(r" info +ready ")
    before = time.time()
    (inbox / "a").touch()
    (run,) = wait_until(lambda: sandbox.ended("w"), 15, "the run to end")
    assert before <= run.scheduled_for.timestamp() <= before + 1.0
    started = sandbox.stamps("runs.txt")[0]
    assert started - run.scheduled_for.timestamp() >= 1.0  # the debounce went first
    match = re.search(r" changed +job=w paths=1 events=created$", daemon.log(), re.MULTILINE)
    assert match is not None


# --------------------------------------------------------------------------- restart catch-up


def stop(daemon: Daemon) -> None:
    """SIGTERM, and wait for the daemon to end cleanly."""
    daemon.send(signal.SIGTERM)
    assert daemon.wait(15) == 0


def test_a_restart_catches_up_what_changed_while_no_daemon_watched(sandbox: Sandbox) -> None:
    inbox = sandbox.root / "inbox"
    inbox.mkdir()
    (inbox / "a").touch()
    command = f"{REPORT} >> {sandbox.root}/runs.txt"
    sandbox.write(LATER + watch_job("w", inbox, command, "catch-up=latest"))
    first = sandbox.start()
    first.wait_for(r" info +ready ")
    (inbox / "a").write_text("1\n")
    runs_reported(sandbox, "runs.txt", 1)
    wait_until(lambda: len(sandbox.ended("w")) == 1, 10, "the first run recorded")
    stop(first)

    (inbox / "a").write_text("2\n")  # modified while no daemon watches
    second = sandbox.start()
    second.wait_for(r" info +catch-up +job=w since=\S+ changed=1$")
    assert runs_reported(sandbox, "runs.txt", 2)[1] == ("modified", ["inbox/a"])
    wait_until(lambda: len(sandbox.ended("w")) == 2, 10, "the catch-up run recorded")
    stop(second)

    third = sandbox.start()  # nothing changed since the catch-up run started
    third.wait_for(r" info +catch-up +job=w since=\S+ changed=0$")
    third.wait_for(r" info +ready ")
    stop(third)
    assert len(sandbox.runs("w")) == 2
    assert " changed " not in third.log()


def test_without_catch_up_a_restart_runs_nothing_for_past_changes(sandbox: Sandbox) -> None:
    inbox = sandbox.root / "inbox"
    inbox.mkdir()
    sandbox.write(LATER + watch_job("w", inbox, f"{REPORT} >> {sandbox.root}/runs.txt"))
    first = sandbox.start()
    first.wait_for(r" info +ready ")
    (inbox / "a").touch()
    wait_until(lambda: len(sandbox.ended("w")) == 1, 15, "the first run recorded")
    stop(first)

    (inbox / "a").write_text("changed while no daemon watched\n")
    second = sandbox.start()
    second.wait_for(r" info +ready ")
    (inbox / "b").touch()  # a change seen live runs as usual, alone
    assert runs_reported(sandbox, "runs.txt", 2)[1] == ("created", ["inbox/b"])
    assert " catch-up " not in second.log()


# What changes_since decides from the job's line, its last run's start and
# since when the daemon has held it: (options and schedule, last, held, expected).
T0 = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)
T1 = T0 + timedelta(hours=1)
SINCE_CASES = [
    ("catch-up=latest\n@watch /in", T0, None, T0),
    ("catch-up=latest\n@watch /in", T0, T1, T1),  # held since after its last run
    ("catch-up=latest\n@watch /in", T1, T0, T1),
    ("catch-up=latest\n@watch /in", None, T0, T0),  # never run, held since T0
    ("catch-up=all\n@watch /in", T0, None, T0),  # one run too: changes have no slots
    ("catch-up=latest\n@watch /in", None, None, None),  # no known past
    ("catch-up=none\n@watch /in", T0, None, None),
    ("\n@watch /in", T0, None, None),  # the default for @watch: none
    ("catch-up=latest\n@daily", T0, None, None),  # not a @watch job
    ("catch-up=latest\n#pycron-disabled# @watch /in", T0, None, None),  # disabled
]


@pytest.mark.parametrize(("line", "last", "held", "expected"), SINCE_CASES)
def test_changes_since(
    line: str, last: datetime | None, held: datetime | None, expected: datetime | None
) -> None:
    options, schedule = line.split("\n")
    crontab, errors = parse(f"# pycron: name=w {options}\n{schedule} true\n")
    assert errors == []
    (entry,) = crontab.entries
    assert changes_since(entry, last, held) == expected


def test_modified_since_finds_what_changed_after_an_instant(tmp_path: Path) -> None:
    old = time.time() - 3600
    tree = tmp_path / "tree"
    for relative in ("a", "sub/b", "sub/deep/c", "gone/d"):
        (tree / relative).parent.mkdir(parents=True, exist_ok=True)
        (tree / relative).touch()
    for path in [*tree.rglob("*"), tree]:
        os.utime(path, (old, old))
    since = datetime.fromtimestamp(old + 60, timezone.utc)
    assert modified_since(str(tree), since) == Modified([], None, 8, complete=True)

    (tree / "sub" / "deep" / "c").write_text("new\n")  # a file written: itself
    (tree / "gone" / "d").unlink()  # a file removed: its directory
    (tree / "link").symlink_to("/")  # a link: itself, never followed
    found = modified_since(str(tree), since)
    names = [os.path.relpath(path, tree) for path in found.paths]
    assert names == [".", "gone", "link", "sub/deep/c"]
    assert found.latest is not None
    assert found.latest > since
    assert (found.looked_at, found.complete) == (8, True)

    cut = modified_since(str(tree), since, limit=3)
    assert (cut.looked_at, cut.complete) == (3, False)
    assert modified_since(str(tmp_path / "missing"), since) == Modified([], None, 0, True)
