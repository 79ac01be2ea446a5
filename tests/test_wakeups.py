"""What the kernel tells the daemon's sleeping loop (`pycron.wakeups`): a timer
on the wall clock, and the events of the crontab's directory."""

from __future__ import annotations

import os
import select
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pycron.wakeups import FileWatch, WallTimer, file_system

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="timerfd and inotify are Linux's"
)


def readable(source: WallTimer | FileWatch, within: float) -> bool:
    """Whether the descriptor becomes readable within `within` seconds."""
    return bool(select.select([source], [], [], within)[0])


@pytest.fixture
def timer() -> Iterator[WallTimer]:
    made = WallTimer.create()
    assert made is not None
    yield made
    made.close()


def test_the_timer_fires_at_its_instant_of_the_wall_clock(timer: WallTimer) -> None:
    timer.set(time.time() + 3600)
    assert not readable(timer, 0.05)
    timer.set(time.time() + 0.05)  # set again: the new instant replaces the old one
    assert readable(timer, 10)
    timer.clear()
    assert not readable(timer, 0)


def test_an_instant_passed_fires_at_once(timer: WallTimer) -> None:
    timer.set(time.time() - 60)
    assert readable(timer, 10)


def write(path: Path, text: str) -> None:
    path.write_text(text)


def replace(path: Path, text: str) -> None:
    """As an editor saves: a new file renamed into place."""
    new = path.with_name(f".{path.name}.new")
    new.write_text(text)
    os.replace(new, path)


# Changes in the crontab's directory, and whether the watch says the crontab changed.
CHANGES: dict[str, tuple[Callable[[Path], None], bool]] = {
    "written in place": (lambda crontab: write(crontab, "* * * * * b\n"), True),
    "replaced by a rename": (lambda crontab: replace(crontab, "* * * * * b\n"), True),
    "removed": (lambda crontab: crontab.unlink(), True),
    "its mode changed": (lambda crontab: crontab.chmod(0o600), True),
    "another file written": (lambda crontab: write(crontab.with_name("other"), "x\n"), False),
    "another file removed": (lambda crontab: crontab.with_name("old").unlink(), False),
}


@pytest.mark.parametrize(("change", "concerned"), CHANGES.values(), ids=CHANGES.keys())
def test_the_watch_tells_of_the_crontab_and_of_nothing_else(
    tmp_path: Path, change: Callable[[Path], None], concerned: bool
) -> None:
    crontab = tmp_path / "crontab"
    crontab.write_text("* * * * * a\n")
    (tmp_path / "old").write_text("x\n")
    watch = FileWatch.create(crontab)
    assert watch is not None
    assert watch.watching
    try:
        change(crontab)
        assert readable(watch, 10)  # an event came, whichever it concerns
        assert watch.changed() is concerned
        assert not readable(watch, 0)  # taken
    finally:
        watch.close()


def test_a_link_swapped_to_a_new_directory_is_a_change_and_watched_from_then_on(
    tmp_path: Path,
) -> None:
    """As a mounted volume is updated (Kubernetes' ConfigMaps): the crontab is
    a link through `..data`, a link to a directory that is replaced whole."""
    for version in ("v1", "v2"):
        (tmp_path / version).mkdir()
        (tmp_path / version / "crontab").write_text(f"# {version}\n")
    (tmp_path / "..data").symlink_to("v1")
    crontab = tmp_path / "crontab"
    crontab.symlink_to("..data/crontab")
    watch = FileWatch.create(crontab)
    assert watch is not None
    assert watch.watching
    try:
        swap = tmp_path / "..data.new"
        swap.symlink_to("v2")
        os.replace(swap, tmp_path / "..data")
        (tmp_path / "v1" / "crontab").unlink()
        (tmp_path / "v1").rmdir()
        assert readable(watch, 10)
        assert watch.changed()
        write(tmp_path / "v2" / "crontab", "# v2, edited\n")
        assert readable(watch, 10)
        assert watch.changed()
    finally:
        watch.close()


def test_a_directory_that_cannot_be_watched_gives_no_watch(tmp_path: Path) -> None:
    assert FileWatch.create(tmp_path / "missing" / "crontab") is None


MOUNTS = [
    "22 27 0:21 / /proc rw,relatime - proc proc rw",
    "27 1 253:0 / / rw,relatime - ext4 /dev/vda rw",
    "40 27 0:50 / /srv/shared rw,relatime - nfs4 host:/export rw",
    "41 40 0:51 / /srv/shared/local rw,relatime - tmpfs tmpfs rw",
    r"42 27 0:52 / /mnt/my\040disk rw,relatime - fuse.sshfs host: rw",
    "43 27 0:53 / /srv/shared rw,relatime - xfs /dev/vdb rw",
]
# A path, and the type of the file system that holds it by MOUNTS.
FILE_SYSTEMS = {
    "the root's": ("/etc/pycron/crontab", "ext4"),
    "the last mounted on a point": ("/srv/shared/crontab", "xfs"),
    "a mount below another": ("/srv/shared/local/crontab", "tmpfs"),
    "a point with a blank": ("/mnt/my disk/crontab", "fuse.sshfs"),
    "not below a point that only begins alike": ("/srv/sharedness/crontab", "ext4"),
}


@pytest.mark.parametrize(("path", "kind"), FILE_SYSTEMS.values(), ids=FILE_SYSTEMS.keys())
def test_the_file_system_of_a_path(path: str, kind: str) -> None:
    assert file_system(path, MOUNTS) == kind
