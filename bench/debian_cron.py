"""Debian's cron, run beside pycron by the daemon benchmark's footprint part.

Nothing is installed or started for good. The `cron` package is downloaded
(`apt-get download`) and unpacked (`dpkg-deb -x`) into a directory of the
benchmark, and its `cron -f` runs in a private mount namespace in which what
it reads and writes are the benchmark's own directories, bound over the
system's: the crontab spool (/var/spool), /run (its pid file and its @reboot
mark), /etc/cron.d and /etc/crontab (empty, where the system has them) and
/etc/pam.d (the system's files plus the package's `cron`, as an installed
cron has them). Outside the namespace nothing changes. This needs root and
the commands of TOOLS; where something is missing, `Unavailable` says what.
"""

from __future__ import annotations

import contextlib
import os
import select
import shlex
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

TOOLS = ("apt-get", "dpkg-deb", "unshare", "nsenter", "mount", "sh", "sleep")
READY_TIMEOUT_S = 10.0  # longest wait for the namespace's mounts


class Unavailable(Exception):
    """Debian's cron cannot be run on this machine; the message says why, on one line."""


@dataclass(frozen=True)
class Package:
    """The unpacked `cron` package: its files under `root`, and its version."""

    root: Path
    version: str

    @property
    def binary(self) -> Path:
        """The daemon, `cron`."""
        return self.root / "usr" / "sbin" / "cron"


def _run(command: list[str], cwd: Path | None = None) -> str:
    """A command's output; Unavailable with the last line it wrote if it fails."""
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise Unavailable(f"`{shlex.join(command)}` failed: {lines[-1] if lines else '?'}")
    return done.stdout


def unpack(where: Path) -> Package:
    """Download the `cron` package into the new directory `where` and unpack it there."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        raise Unavailable(f"no {', '.join(missing)} on this machine")
    if os.geteuid() != 0:
        raise Unavailable("a private mount namespace needs root")
    where.mkdir()
    _run(["apt-get", "download", "cron"], cwd=where)
    debs = sorted(where.glob("cron_*.deb"))
    if not debs:
        raise Unavailable("`apt-get download cron` left no cron_*.deb (run `apt-get update`)")
    package = Package(where / "root", _run(["dpkg-deb", "-f", str(debs[0]), "Version"]).strip())
    _run(["dpkg-deb", "-x", str(debs[0]), str(package.root)])
    if not package.binary.is_file():
        raise Unavailable(f"the package has no {package.binary.relative_to(package.root)}")
    return package


class Namespace:
    """The private mount namespace cron runs in, held by a process that
    sleeps until leaving. `crontab` writes root's crontab in its spool;
    `command` is how a command runs inside it (through `nsenter`)."""

    def __init__(self, package: Package, where: Path) -> None:
        self.package = package
        self.where = where
        self.spool = where / "spool" / "cron" / "crontabs"
        self._holder: subprocess.Popen[str] | None = None

    def _binds(self) -> list[tuple[Path, Path]]:
        """(the benchmark's directory or file, the system's it hides), made ready."""
        self.spool.mkdir(parents=True)
        pam = self.where / "pam.d"
        shutil.copytree("/etc/pam.d", pam, symlinks=True)
        shutil.copy(self.package.root / "etc" / "pam.d" / "cron", pam / "cron")
        run, empty, blank = self.where / "run", self.where / "cron.d", self.where / "crontab"
        run.mkdir()
        empty.mkdir()
        blank.touch()
        binds = [
            (self.where / "spool", Path("/var/spool")),
            (run, Path("/var/run").resolve()),
            (pam, Path("/etc/pam.d")),
        ]
        for source, target in ((empty, Path("/etc/cron.d")), (blank, Path("/etc/crontab"))):
            if target.exists():
                binds.append((source, target))
        return binds

    def __enter__(self) -> Namespace:
        mounts = " && ".join(
            f"mount --bind {shlex.quote(str(source))} {shlex.quote(str(target))}"
            for source, target in self._binds()
        )
        script = f"{mounts} && echo ready && exec sleep infinity"
        self._holder = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self._holder.stdout is not None
        readable, _, _ = select.select([self._holder.stdout], [], [], READY_TIMEOUT_S)
        if not readable or self._holder.stdout.readline().strip() != "ready":
            why = self._why()
            self.close()
            raise Unavailable(f"the private mount namespace could not be made: {why}")
        return self

    def _why(self) -> str:
        """What the holder said before it failed (or that it said nothing in time)."""
        assert self._holder is not None
        if self._holder.poll() is None:
            return f"no answer within {READY_TIMEOUT_S:g} s"
        assert self._holder.stderr is not None
        lines = self._holder.stderr.read().strip().splitlines()
        return lines[-1] if lines else f"exit status {self._holder.returncode}"

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """End the holder: the namespace goes with the last process in it."""
        holder = self._holder
        if holder is None:
            return
        with contextlib.suppress(ProcessLookupError):
            holder.send_signal(signal.SIGKILL)
        holder.wait()
        for stream in (holder.stdout, holder.stderr):
            if stream is not None:
                stream.close()
        self._holder = None

    def crontab(self, text: str) -> None:
        """Make `text` root's crontab, as `crontab -` would (mode 0600: cron
        ignores a crontab others can read)."""
        path = self.spool / "root"
        temporary = path.with_name(".root.new")
        temporary.write_text(text, encoding="utf-8")
        temporary.chmod(0o600)
        os.replace(temporary, path)

    def command(self, *arguments: str) -> list[str]:
        """The package's cron with these arguments, run inside the namespace."""
        assert self._holder is not None
        target = f"--target={self._holder.pid}"
        return ["nsenter", target, "--mount", "--", str(self.package.binary), *arguments]
