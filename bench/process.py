"""Whole-process start-up of `pycron next`, from a regular (non-editable) install.

An editable install puts an import hook or a path file in front of the package,
which is not what users run, so this part keeps its own virtual environment,
bench/.venv-release, with `pip install <repo root>[EXTRAS]`. It is built once and
refreshed when pyproject.toml or a source file of the package is newer than the
last install, or when the extras differ from those it was installed with. Then
`pycron next '*/5 * * * *'` and `python -c pass` of that environment are run
alternately, N times each, and their medians compared.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
import venv
from dataclasses import dataclass
from pathlib import Path

from terminal import progress

EXPRESSION = "*/5 * * * *"
WARM_UP_RUNS = 3
# The extras of the release environment, which the daemon benchmark's daemons run
# from: the crontab watched by events (as `make run` has it), the status page,
# cluster mode.
EXTRAS = "watch,web,cluster"


@dataclass
class ProcessResult:
    """Outcome of the start-up measurement; `skipped` says why there is none."""

    runs: int = 0
    pycron_ms: list[float] | None = None
    python_ms: list[float] | None = None
    skipped: str = ""

    @property
    def difference_ms(self) -> float:
        """Median `pycron next` minus median `python -c pass`, in ms."""
        assert self.pycron_ms
        assert self.python_ms
        return statistics.median(self.pycron_ms) - statistics.median(self.python_ms)


def clean_env() -> dict[str, str]:
    """The environment without PYTHON* variables: a PYTHONPATH pointing at the
    work tree would make the release environment import the editable sources."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}


def _sources(root: Path) -> list[Path]:
    """The files whose change calls for a reinstall."""
    return [root / "pyproject.toml", *sorted((root / "pycron").rglob("*.py"))]


def _is_stale(stamp: Path, root: Path) -> bool:
    """True if nothing was installed yet, with other extras (the stamp names
    them), or a source is newer than the install."""
    try:
        if stamp.read_text(encoding="utf-8") != EXTRAS:
            return True
    except OSError:
        return True
    installed = stamp.stat().st_mtime
    return any(path.stat().st_mtime > installed for path in _sources(root) if path.exists())


def _pip(python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run pip of the release environment quietly, capturing its output."""
    command = [str(python), "-m", "pip", "-q", "--disable-pip-version-check", *args]
    return subprocess.run(command, capture_output=True, text=True, env=clean_env(), check=False)


def ensure_release_env(root: Path, where: Path) -> tuple[Path | None, str]:
    """Create or refresh the release environment; (its bin folder, "") or (None, why not)."""
    python = where / "bin" / "python"
    stamp = where / ".installed"
    if not python.exists():
        print(f"creating {where} (once) ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(where)
    if _is_stale(stamp, root):
        print(f"installing {root} into {where.name} (regular install) ...", flush=True)
        # Started before the install, so that a source saved meanwhile counts as newer.
        began = time.time()
        # Dependencies first (a no-op when they are there), then the project
        # itself rebuilt from the current sources whatever its version says.
        steps = (
            ("install", f"{root}[{EXTRAS}]"),
            ("install", "--no-deps", "--force-reinstall", str(root)),
        )
        for args in steps:
            done = _pip(python, *args)
            if done.returncode != 0:
                tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
                return None, f"pip {' '.join(args)} failed:\n{tail}"
        stamp.write_text(EXTRAS, encoding="utf-8")
        os.utime(stamp, (began, began))
    return where / "bin", ""


def _run_once(command: list[str], env: dict[str, str]) -> float:
    """Wall time of one run in ms; raises CalledProcessError on failure."""
    begin = time.perf_counter_ns()
    subprocess.run(command, stdout=subprocess.DEVNULL, env=env, check=True)
    return (time.perf_counter_ns() - begin) / 1e6


def _cli_problem(pycron: Path, env: dict[str, str]) -> str:
    """Why `pycron next` cannot be measured ("" if it can)."""
    if not pycron.exists():
        return "no pycron command in the release environment"
    done = subprocess.run(
        [str(pycron), "next", EXPRESSION],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0 or not done.stdout.strip():
        lines = (done.stderr or done.stdout).strip().splitlines()
        return f"`pycron next` exited {done.returncode}: {lines[-1] if lines else 'no output'}"
    return ""


def measure_process(root: Path, where: Path, runs: int) -> ProcessResult:
    """Median wall times of `pycron next` and `python -c pass`, interleaved."""
    bin_dir, problem = ensure_release_env(root, where)
    if bin_dir is None:
        return ProcessResult(skipped=f"could not build the release environment: {problem}")
    env = clean_env()
    problem = _cli_problem(bin_dir / "pycron", env)
    if problem:
        return ProcessResult(skipped=f"CLI not available ({problem})")
    commands = {
        "pycron": [str(bin_dir / "pycron"), "next", EXPRESSION],
        "python": [str(bin_dir / "python"), "-c", "pass"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    order = list(commands)
    for number in range(WARM_UP_RUNS + runs):
        for name in order if number % 2 else order[::-1]:
            elapsed = _run_once(commands[name], env)
            if number >= WARM_UP_RUNS:
                times[name].append(elapsed)
        progress(f"process runs {number + 1}/{WARM_UP_RUNS + runs}")
    progress("")
    return ProcessResult(runs=runs, pycron_ms=times["pycron"], python_ms=times["python"])
