"""Which processes belong to a run of a job, and how to stop every one of them.

A job may leave its process group (`setsid`, a double fork, `setpgid`), so
its group alone does not hold it. Each run is marked two ways, and a process
counts as the run's only when one of the marks proves it:

- a random token in its environment (`PYCRON_RUN_TOKEN`), which every
  process the job starts inherits unless it clears its environment on
  purpose, and which no stranger can hold;
- where pycron can create cgroups (cgroup v2, as root or in a delegated
  subtree), a cgroup of the run's own, which nothing the job starts once it
  is in there can leave, whatever it does to its environment, and which
  `cgroup.kill` empties at once.

Nothing here trusts a bare process id read from a file: a process is
signalled through a pidfd taken before its mark is checked, so a pid the
kernel reuses meanwhile is never hit. (Linux; elsewhere only the process
group is known and `members` finds nothing more.)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

TOKEN_VARIABLE = "PYCRON_RUN_TOKEN"
JOB_VARIABLE = "PYCRON_JOB_ID"
PROC = Path("/proc")
# Seconds after it is made before an empty run cgroup counts as left behind:
# a job is moved into its cgroup milliseconds after the cgroup is made.
SWEEP_AGE = 60.0
_PR_SET_CHILD_SUBREAPER = 36


class Scope(NamedTuple):
    """The marks of one run: its environment token and its cgroup, if it has one.

    Written into a job's lock file (`to_text`) so that a later pycron can find a
    run that outlived the pycron that started it, and prove it is that run.
    """

    token: str
    cgroup: Path | None = None

    def to_text(self) -> str:
        """The scope as one line of JSON."""
        cgroup = str(self.cgroup) if self.cgroup is not None else None
        return json.dumps({"token": self.token, "cgroup": cgroup}) + "\n"

    @classmethod
    def from_text(cls, text: str) -> Scope | None:
        """A scope written by `to_text`; None for anything else (an older or
        damaged file proves nothing, so it owns nothing)."""
        try:
            data = json.loads(text)
            token, cgroup = data["token"], data["cgroup"]
        except (ValueError, TypeError, KeyError):
            return None
        if not isinstance(token, str) or len(token) < 32:
            return None
        return cls(token, Path(cgroup) if isinstance(cgroup, str) else None)


def new_scope(cgroups: Path | None) -> Scope:
    """A fresh token (16 random bytes from the system, as hexadecimal), and a
    fresh cgroup under `cgroups` where one can be made."""
    token = os.urandom(16).hex()
    if cgroups is None:
        return Scope(token)
    path = cgroups / f"run-{token}"
    try:
        path.mkdir(mode=0o700)
    except OSError:
        return Scope(token)
    return Scope(token, path)


# --------------------------------------------------------------------------- membership


def members(scope: Scope, group: int | None = None) -> set[int]:
    """Live processes of the run: those in its cgroup, those carrying its token,
    and those in process group `group`, given only while its leader is held
    unreaped by the caller (so the group id cannot have been reused)."""
    caged = set(_cgroup_pids(scope.cgroup)) if scope.cgroup is not None else set()
    needle = _token_entry(scope.token)
    return {
        pid
        for pid, entry, stat in _living()
        if pid in caged or stat.group == group or _carries(entry, needle)
    }


def job_alive(group: int, job_id: str) -> bool:
    """Whether a process of group `group` that pycron started for job `job_id`
    (it carries the job id in its environment) still lives. A group id taken
    from the history proves nothing alone: the kernel reuses ids."""
    needle = f"\0{JOB_VARIABLE}={job_id}\0".encode("utf-8", "surrogateescape")
    return any(stat.group == group and _carries(entry, needle) for _, entry, stat in _living())


def _living() -> Iterator[tuple[int, Path, _Stat]]:
    """Every process that has not ended (zombies have): its pid, its /proc
    directory and its stat."""
    for entry in _process_dirs():
        stat = _stat(entry)
        if stat is not None and not stat.zombie:
            yield int(entry.name), entry, stat


def signal_members(scope: Scope, number: int) -> int:
    """Send signal `number` to every proven member of the run; returns how many
    were signalled. Each pid is pinned by a pidfd before its mark is checked,
    so a pid reused in between is left alone. SIGKILL first empties the run's
    cgroup with `cgroup.kill`, which is atomic: nothing escapes by forking."""
    if number == signal.SIGKILL and scope.cgroup is not None:
        with contextlib.suppress(OSError):
            (scope.cgroup / "cgroup.kill").write_text("1")
    return sum(_signal_if_member(pid, scope, number) for pid in members(scope))


def _signal_if_member(pid: int, scope: Scope, number: int) -> bool:
    """Signal one process if, pinned by a pidfd, it still carries the run's mark."""
    try:
        pidfd = os.pidfd_open(pid)
    except (OSError, AttributeError):
        return False  # gone already (or no pidfds: then nothing is signalled unproven)
    try:
        if not _belongs(PROC / str(pid), scope):
            return False
        signal.pidfd_send_signal(pidfd, number)
        return True
    except OSError:
        return False  # ended meanwhile, or not ours to signal
    finally:
        os.close(pidfd)


def _belongs(entry: Path, scope: Scope) -> bool:
    """Whether the process behind /proc/PID carries the run's token or cgroup."""
    if _carries(entry, _token_entry(scope.token)):
        return True
    if scope.cgroup is None:
        return False
    try:
        lines = (entry / "cgroup").read_text().splitlines()
    except OSError:
        return False
    relative = next((line[3:] for line in lines if line.startswith("0::")), None)
    return relative is not None and scope.cgroup.as_posix().endswith(relative)


class _Stat(NamedTuple):
    group: int
    zombie: bool


def _stat(entry: Path) -> _Stat | None:
    """The process group and whether the process is a zombie, from /proc/PID/stat."""
    try:
        text = (entry / "stat").read_bytes()
    except OSError:
        return None
    fields = text[text.rfind(b")") + 2 :].split()  # the name may hold spaces and ')'
    try:
        return _Stat(int(fields[2]), fields[0] in (b"Z", b"X"))
    except (IndexError, ValueError):
        return None


def _token_entry(token: str) -> bytes:
    return f"\0{TOKEN_VARIABLE}={token}\0".encode()


def _carries(entry: Path, needle: bytes) -> bool:
    """Whether a process's environment (as it was at exec) holds the entry."""
    try:
        environ = (entry / "environ").read_bytes()
    except OSError:
        return False  # gone, or another user's: not provably ours
    return needle in b"\0" + environ


def _process_dirs() -> list[Path]:
    try:
        return [entry for entry in PROC.iterdir() if entry.name.isdigit()]
    except OSError:
        return []


# --------------------------------------------------------------------------- cgroups


def cgroup_root() -> Path | None:
    """The directory under which this process can make a cgroup per run: a
    `pycron` cgroup beside this process's own (cgroup v2 only, with
    `cgroup.kill`), or None where it cannot be made or written."""
    mount = _cgroup2_mount()
    own = _own_cgroup()
    if mount is None or own is None:
        return None
    root = mount / own.lstrip("/") / "pycron"
    try:
        root.mkdir(mode=0o755, exist_ok=True)
    except OSError:
        return None
    if not (root / "cgroup.kill").exists() or not os.access(root / "cgroup.procs", os.W_OK):
        return None
    return root


def sweep_cgroups(root: Path) -> None:
    """Remove the empty run cgroups under `root` that ended runs left behind
    (a run whose background processes outlived its pycron). Populated ones
    refuse removal, so a run still going keeps its cgroup; one made less than
    SWEEP_AGE ago is left alone, as another pycron may be about to move its
    job (or its probe) in."""
    made_before = time.time() - SWEEP_AGE
    with contextlib.suppress(OSError):
        for path in root.glob("run-*"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < made_before:
                    path.rmdir()


def remove_cgroup(scope: Scope) -> bool:
    """Remove the run's cgroup once it is empty; True if it is gone (or never was)."""
    if scope.cgroup is None:
        return True
    try:
        scope.cgroup.rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False  # still populated: its processes live on
    return True


def move_to_cgroup(pid: int, scope: Scope) -> bool:
    """Move a just-started job leader into the run's cgroup; True if it got there.

    The job is not held back for it: a move between cgroups waits for the
    kernel (tens of milliseconds on a quiet machine), which a job's start
    should not. What the job starts in those first moments stays in pycron's
    cgroup, and is still found by the run's token; what it starts later is
    born in the run's cgroup.
    """
    if scope.cgroup is None:
        return False
    try:
        (scope.cgroup / "cgroup.procs").write_text(str(pid))
    except OSError:
        return False  # it has ended already, or the cgroup cannot take it
    return True


def in_cgroup(pid: int, scope: Scope) -> bool:
    """Whether the process `pid` sits in the run's cgroup."""
    return scope.cgroup is not None and pid in _cgroup_pids(scope.cgroup)


def _cgroup_pids(cgroup: Path) -> list[int]:
    try:
        return [int(word) for word in (cgroup / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def _cgroup2_mount() -> Path | None:
    """Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or .../unified)."""
    try:
        lines = (PROC / "self" / "mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        before, _, after = line.partition(" - ")
        if after.split(" ", 1)[0] == "cgroup2":
            return Path(before.split(" ")[4])
    return None


def _own_cgroup() -> str | None:
    """This process's cgroup v2 path (the `0::` line of /proc/self/cgroup)."""
    try:
        lines = (PROC / "self" / "cgroup").read_text().splitlines()
    except OSError:
        return None
    return next((line[3:] for line in lines if line.startswith("0::")), None)


# --------------------------------------------------------------------------- orphans


def become_subreaper() -> bool:
    """Make this process the child subreaper of everything it starts (Linux): a
    job's processes whose parent exits are re-parented to pycron instead of
    init, so pycron can reap them (init may reap slowly) and they stay below
    pycron in the process tree. A process-wide change, made once by the
    daemon and `run-now` at start. Returns whether it took effect."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes  # noqa: PLC0415 - only supervising processes needs it

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def reap_adopted(leaders: set[int]) -> int:
    """Collect ended children that are not job leaders (`leaders`, reaped by their
    own Popen): the adopted processes of jobs. Returns how many were reaped.

    The caller holds the lock under which leaders are started and registered,
    so a leader that ends the moment it starts is never taken for an orphan.
    """
    reaped = 0
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return reaped
        if info is None or info.si_pid in leaders:
            return reaped  # nothing ended, or a leader whose Popen reaps it soon
        with contextlib.suppress(ChildProcessError):
            os.waitpid(info.si_pid, 0)
            reaped += 1
