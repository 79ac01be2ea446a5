"""The run verbs through real `pycron` processes: run-now, history, logs,
status, stats, history prune; exit codes as documented."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import sqlite3
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

CRONTAB = """\
# pycron: name=hello
@daily echo hello; echo oops >&2
# pycron: name=flaky retries=2 retry-delay=0s
@daily n=$(cat count 2>/dev/null || echo 0); echo $((n+1)) > count; echo try $n; [ $n -ge 2 ]
# pycron: name=broken
@daily exit 3
# pycron: name=killed
@daily kill -TERM $$
# pycron: name=slow timeout=1s kill-grace=1s
@daily echo started; sleep 30
# pycron: name=sleeper
@daily echo sleeping; sleep 30
# pycron: name=nowhere cwd=/does/not/exist
@daily true
"""


class Pycron:
    """Runs `python -m pycron` with a private crontab and state directory."""

    def __init__(self, root: Path, crontab: str | None = None) -> None:
        """The crontab is `crontab`, else this module's (its jobs run in `root`)."""
        self.root = root
        self.crontab = root / "crontab"
        self.state = root / "state"
        if crontab is None:
            crontab = CRONTAB.replace("@daily ", f"@daily cd {root} && ")
        self.crontab.write_text(crontab)
        self.env = {
            **os.environ,
            "PYCRON_CRONTAB": str(self.crontab),
            "PYCRON_STATE_DIR": str(self.state),
        }

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pycron", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "pycron", *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def json(self, *args: str) -> object:
        done = self(*args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture
def pycron(tmp_path: Path) -> Iterator[Pycron]:
    tool = Pycron(tmp_path)
    yield tool
    subprocess.run(["pkill", "-f", f"cd {tmp_path} "], check=False)


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


EXIT_CASES = [
    pytest.param("hello", 0, "success", id="success"),
    pytest.param("broken", 3, "failed", id="exit-code"),
    pytest.param("killed", 128 + 15, "failed", id="signal"),
    pytest.param("slow", 124, "timeout", id="timeout"),
    pytest.param("nowhere", 1, "error", id="cannot-start"),
]


@pytest.mark.parametrize(("job", "code", "outcome"), EXIT_CASES)
def test_run_now_exits_as_documented(pycron: Pycron, job: str, code: int, outcome: str) -> None:
    done = pycron("run-now", job)
    assert done.returncode == code, done.stderr
    assert f"pycron: {job}: {outcome}" in done.stderr
    (record,) = pycron.json("history", job)
    assert record["outcome"] == outcome
    measured = outcome != "error"  # the others ran, and were reaped
    assert (record["cpu_user"] is not None, record["cpu_system"] is not None) == (measured,) * 2


UNSAFE_FOR_RUN_NOW = {
    "crontab-writable-by-others": ("crontab", 0o666, "writable by others (mode 0666)"),
    "state-writable-by-others": ("state", 0o757, "writable by others (mode 0757)"),
}


@pytest.mark.parametrize(
    ("name", "mode", "message"), UNSAFE_FOR_RUN_NOW.values(), ids=UNSAFE_FOR_RUN_NOW.keys()
)
def test_run_now_refuses_what_other_users_could_write(
    pycron: Pycron, name: str, mode: int, message: str
) -> None:
    pycron.state.mkdir(mode=0o700)
    target = pycron.root / name
    target.chmod(mode)
    done = pycron("run-now", "hello")
    assert done.returncode == 1
    assert done.stdout == ""  # the job never ran
    assert done.stderr.startswith(f"pycron: error: {target}: {message}, who could then run")
    assert done.stderr.rstrip().endswith(f"`chmod go-w {target}`")


def test_run_now_keeps_its_files_private(pycron: Pycron) -> None:
    assert pycron("run-now", "hello").returncode == 0
    modes = {p.name: p.stat().st_mode & 0o777 for p in pycron.state.rglob("*")}
    logs = [name for name in modes if name.endswith((".out", ".err", ".lock"))]
    assert len(logs) == 3
    assert {modes[name] for name in logs} == {0o600}
    assert modes["logs"] == modes["locks"] == 0o700
    assert pycron.state.stat().st_mode & 0o777 == 0o700


def test_run_now_streams_output_and_keeps_it(pycron: Pycron) -> None:
    done = pycron("run-now", "hello")
    assert done.stdout == "hello\n"
    assert "oops" in done.stderr
    assert pycron("logs", "hello").stdout == "hello\n"
    assert pycron("logs", "hello", "--stderr").stdout == "oops\n"


def test_retries_are_recorded_one_row_per_attempt(pycron: Pycron) -> None:
    done = pycron("run-now", "flaky")
    assert done.returncode == 0
    assert done.stdout.splitlines() == ["try 0", "try 1", "try 2"]
    records = pycron.json("history", "flaky")
    assert [(r["attempt"], r["outcome"]) for r in records] == [
        (3, "success"),
        (2, "failed"),
        (1, "failed"),
    ]
    assert len({r["scheduled_for"] for r in records}) == 1
    first = records[-1]["run"]
    assert pycron("logs", "flaky", "--run", str(first)).stdout == "try 0\n"


def test_a_second_run_while_one_runs_is_skipped_with_75(pycron: Pycron) -> None:
    first = pycron.start("run-now", "sleeper")
    try:
        wait_until(lambda: any(r["outcome"] == "running" for r in _history(pycron, "sleeper")))
        second = pycron("run-now", "sleeper")
        assert second.returncode == 75
        assert "skipped-overlap" in second.stderr
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(timeout=30)
    assert first.returncode == 130
    outcomes = sorted(r["outcome"] for r in _history(pycron, "sleeper"))
    assert outcomes == ["interrupted", "skipped-overlap"]


def _history(pycron: Pycron, job: str) -> list[dict[str, object]]:
    records = pycron.json("history", job)
    assert isinstance(records, list)
    return records


def test_kill_9_of_run_now_leaves_evidence_then_interrupted(pycron: Pycron) -> None:
    process = pycron.start("run-now", "sleeper")
    wait_until(lambda: any(r["outcome"] == "running" for r in _history(pycron, "sleeper")))
    (running,) = _history(pycron, "sleeper")
    process.kill()
    process.wait(timeout=30)
    os.killpg(running["pid"], signal.SIGKILL)  # the orphaned job itself
    # The next command that opens the history finds the dead recorder.
    (record,) = _history(pycron, "sleeper")
    assert record["outcome"] == "interrupted"
    # And the lock died with its holder: a new run is not skipped.
    assert pycron("run-now", "hello").returncode == 0


def _history_files(state: Path) -> dict[str, bytes]:
    """The history's database and its WAL file, byte for byte."""
    return {
        p.name: p.read_bytes() for p in state.glob("history.db*") if not p.name.endswith("-shm")
    }


def test_readers_show_an_orphaned_run_interrupted_without_writing(pycron: Pycron) -> None:
    process = pycron.start("run-now", "sleeper")
    wait_until(lambda: any(r["outcome"] == "running" for r in _history(pycron, "sleeper")))
    (running,) = _history(pycron, "sleeper")
    process.kill()
    process.wait(timeout=30)
    os.killpg(running["pid"], signal.SIGKILL)
    before = _history_files(pycron.state)
    for _ in range(2):  # the second reader finds the row as the first left it
        (record,) = _history(pycron, "sleeper")
        assert (record["outcome"], record["message"]) == (
            "interrupted",
            "pycron stopped before this attempt ended",
        )
        jobs = {job["id"]: job for job in pycron.json("status")}
        assert jobs["sleeper"]["last"]["outcome"] == "interrupted"
    assert _history_files(pycron.state) == before
    # run-now does the upkeep, and writes it down.
    assert pycron("run-now", "hello").returncode == 0
    db = sqlite3.connect(pycron.state / "history.db")
    try:
        stored = db.execute("SELECT outcome FROM runs WHERE job_id = 'sleeper'").fetchall()
    finally:
        db.close()
    assert stored == [("interrupted",)]


def test_status_lists_last_results_and_a_summary(pycron: Pycron) -> None:
    pycron("run-now", "hello")
    pycron("run-now", "broken")
    jobs = {job["id"]: job for job in pycron.json("status")}
    assert jobs["hello"]["last"]["outcome"] == "success"
    assert jobs["broken"]["last"]["exit_code"] == 3
    assert jobs["slow"]["last"] is None
    assert jobs["hello"]["running"] is False
    plain = pycron("status")
    assert plain.stdout.splitlines()[-1] == "7 jobs, 1 failing, 0 running"


def test_stats_counts_and_rates(pycron: Pycron) -> None:
    pycron("run-now", "hello")
    pycron("run-now", "hello")
    pycron("run-now", "broken")
    stats = pycron.json("stats")
    assert isinstance(stats, dict)
    assert (stats["runs"], stats["successes"]) == (3, 2)
    assert stats["success_rate"] == pytest.approx(2 / 3)
    assert stats["failures"] == {"failed": 1}
    one = pycron.json("stats", "broken")
    assert isinstance(one, dict)
    assert one["runs"] == 1


MIB = 1024 * 1024
# A child of the job's shell that burns 0.3 s of CPU time and writes 64 MiB.
HUNGRY = (
    f"{sys.executable} -c \"import time; data = b'x' * (64 << 20); "
    'any(time.process_time() >= 0.3 for _ in iter(int, 1))"; true'
)


def test_history_and_stats_show_what_runs_used(pycron: Pycron) -> None:
    pycron.crontab.write_text(f"# pycron: name=hungry\n@daily {HUNGRY}\n")
    assert pycron("run-now", "hungry").returncode == 0
    (record,) = pycron.json("history")
    assert isinstance(record, dict)
    cpu = record["cpu_user"] + record["cpu_system"]
    assert cpu >= 0.3
    assert record["max_rss"] >= 64 * MIB
    # In a pipe: seconds and bytes, as numbers.
    (_, row) = pycron("history").stdout.splitlines()
    assert f"  {cpu:.3f}  " in row
    assert f"  {record['max_rss']}  " in row
    # On a terminal: for people.
    shown = ANSI.sub("", on_terminal(pycron, 120, "history")[0])
    assert re.search(r"\sCPU\s+MAX RSS\s", shown)
    assert re.search(rf"\s{cpu:.2f}s\s+{record['max_rss'] / MIB:.1f} MiB\s", shown)
    stats = pycron.json("stats")
    assert isinstance(stats, dict)
    assert stats["cpu_seconds"] == pytest.approx(cpu)
    assert stats["max_rss"] == record["max_rss"]
    text = pycron("stats").stdout
    assert f"cpu: {cpu:.2f}s   max rss: {record['max_rss'] / MIB:.1f} MiB" in text.splitlines()


def test_a_job_smaller_than_pycron_has_no_peak_memory(pycron: Pycron) -> None:
    pycron("run-now", "hello")
    (record,) = pycron.json("history")
    assert isinstance(record, dict)
    assert record["cpu_user"] is not None
    assert record["max_rss"] is None
    (_, row) = pycron("history").stdout.splitlines()
    assert row.split()[-3:] == ["-", "-", "-"]  # MAX RSS, TRIGGER, NOTIFY
    stats = pycron.json("stats")
    assert isinstance(stats, dict)
    assert stats["max_rss"] is None


def test_history_filters_and_prune(pycron: Pycron) -> None:
    pycron("run-now", "hello")
    pycron("run-now", "broken")
    failed = pycron.json("history", "--outcome", "failed")
    assert isinstance(failed, list)
    assert [r["job"] for r in failed] == ["broken"]
    assert pycron.json("history", "--since", "1h") != []
    assert pycron.json("history", "--since", "2999-01-01T00:00") == []
    logs = [Path(p) for r in _history(pycron, "hello") for p in (r["stdout"], r["stderr"])]
    assert all(p.exists() for p in logs)
    pruned = pycron("history", "prune", "--older-than", "0s")
    assert pruned.returncode == 0
    assert "removed 2 runs" in pruned.stderr
    assert pycron.json("history") == []
    assert not any(p.exists() for p in logs)


def test_twenty_parallel_run_nows_record_twenty_complete_rows(pycron: Pycron) -> None:
    pycron.crontab.write_text("# pycron: name=par overlap=allow\n@daily echo hi\n")
    processes = [pycron.start("run-now", "par") for _ in range(20)]
    for process in processes:
        process.wait(timeout=120)
    assert [p.returncode for p in processes] == [0] * 20
    records = _history(pycron, "par")
    assert len(records) == 20
    assert {r["outcome"] for r in records} == {"success"}


# The README's exit-code table: 0 ok; 1 an operational error (an expression that
# never runs, an unknown job id, nothing recorded to show); 2 a usage or syntax error.
EXIT_TABLE = [
    pytest.param(["list"], 0, "", id="0-ok"),
    pytest.param(["next", "0 0 30 2 *"], 1, "never", id="1-next-never-runs"),
    pytest.param(["explain", "0 0 30 2 *"], 1, "", id="1-explain-never-runs"),
    pytest.param(["run-now", "nope"], 1, "no job 'nope'", id="1-run-now-unknown-id"),
    pytest.param(["logs", "nope"], 1, "no job 'nope'", id="1-logs-unknown-id"),
    pytest.param(["logs", "hello"], 1, "no run of 'hello'", id="1-logs-nothing-recorded"),
    pytest.param(["logs", "hello", "--run", "99"], 1, "no run 99 of", id="1-logs-unknown-run"),
    pytest.param(["history", "nope"], 1, "no job 'nope'", id="1-history-unknown-id"),
    pytest.param(["history", "--job", "nope"], 1, "no job 'nope'", id="1-history-job-option"),
    pytest.param(["stats", "nope"], 1, "no job 'nope'", id="1-stats-unknown-id"),
    pytest.param(["disable", "nope"], 1, "no job 'nope'", id="1-disable-unknown-id"),
    pytest.param(["remove", "nope", "--yes"], 1, "no job 'nope'", id="1-remove-unknown-id"),
    pytest.param(["next", "61 * * * *"], 2, "out of range", id="2-syntax"),
    pytest.param(["next", "@daily", "--count", "0"], 2, "--count", id="2-bad-option-value"),
    pytest.param(["nosuch"], 2, "no such command", id="2-unknown-command"),
    pytest.param(
        ["add", "--timeout", "5x", "* * * * * true"],
        2,
        "--timeout: bad duration '5x'",
        id="2-add-bad-option",
    ),
]


@pytest.mark.parametrize(("args", "code", "said"), EXIT_TABLE)
def test_every_command_exits_as_the_readme_table_says(
    pycron: Pycron, args: list[str], code: int, said: str
) -> None:
    done = pycron(*args)
    assert done.returncode == code, done.stderr
    if code:
        (first, *_) = done.stderr.splitlines()
        assert first.startswith("pycron: error:"), done.stderr
        assert said in done.stderr
    assert "Traceback" not in done.stderr


def test_an_option_error_of_add_is_said_once(pycron: Pycron) -> None:
    before = pycron.crontab.read_bytes()
    done = pycron("add", "--timeout", "5x", "* * * * * true")
    assert done.stderr == (
        "pycron: error: --timeout: bad duration '5x': write it like 90s, 5m, 1h30m or 2d\n"
    )
    assert pycron.crontab.read_bytes() == before


def test_edits_of_a_crontab_with_an_error_say_where_it_is(pycron: Pycron) -> None:
    with pycron.crontab.open("a") as stream:
        stream.write("61 * * * * true\n")
    broken = pycron.crontab.read_bytes()
    line = broken.decode().count("\n")
    for args in (["add", "@daily true"], ["disable", "hello"], ["remove", "hello", "--yes"]):
        done = pycron(*args)
        assert done.returncode == 2
        assert f"already has an error at line {line} " in done.stderr
        assert f"see `pycron check {pycron.crontab}`" in done.stderr
        assert pycron.crontab.read_bytes() == broken
    status = pycron("status")
    assert status.returncode == 0
    assert f"has 1 error (the first at line {line})" in status.stderr


def test_log_retention_is_configurable(pycron: Pycron) -> None:
    for _ in range(4):
        assert pycron("--keep-runs", "2", "run-now", "hello").returncode == 0
    kept = sorted(p.name for p in (pycron.state / "logs" / "hello").iterdir())
    assert len(kept) == 6  # .out, .err and marker of the 2 newest runs
    newest = _history(pycron, "hello")[0]
    assert Path(str(newest["stdout"])).name in kept


# --------------------------------------------------------------------------- terminal tables

ANSI = re.compile(r"\x1b\[[0-9;]*m")
LONG_ID = "a-job-with-a-rather-long-name-to-type"


def on_terminal(pycron: Pycron, columns: int, *args: str, color: bool = True) -> tuple[str, str]:
    """Run `pycron ARGS` with its stdout on a pseudo-terminal `columns` wide;
    returns what it printed there (with any colour codes) and its stderr."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in pycron.env.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env.update(TERM="xterm-256color", COLUMNS=str(columns), LINES="50")
    if not color:
        env["NO_COLOR"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-m", "pycron", *args],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1)
            if not ready:
                continue
            try:
                data = os.read(master, 1 << 16)
            except OSError:  # the terminal closed: the command has ended
                break
            if not data:
                break
            chunks.append(data)
        assert process.stderr is not None
        errors = process.stderr.read().decode()
        assert process.wait(timeout=60) == 0, errors
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
            process.wait()
    return b"".join(chunks).decode().replace("\r\n", "\n"), errors


@pytest.fixture
def tables(pycron: Pycron) -> Pycron:
    """A crontab with a long job id and a long command, and runs that succeeded and failed."""
    with pycron.crontab.open("a") as stream:
        stream.write(f"# pycron: name={LONG_ID}\n@daily echo {'x' * 80}\n")
    assert pycron("run-now", "hello").returncode == 0
    assert pycron("run-now", "broken").returncode == 3
    return pycron


@pytest.mark.parametrize("columns", [60, 80, 120])
@pytest.mark.parametrize("command", ["list", "status", "history"])
def test_tables_fit_the_terminal_and_never_cut_ids_or_times(
    tables: Pycron, command: str, columns: int
) -> None:
    shown, notice = on_terminal(tables, columns, command)
    plain = ANSI.sub("", shown)
    lines = [line for line in plain.splitlines() if line.strip()]
    assert max(len(line) for line in lines) <= columns
    header = lines[0]
    assert "\u2026" not in header  # no header is cut
    ids = [LONG_ID, "hello", "broken", "nowhere"] if command != "history" else ["hello", "broken"]
    for job_id in ids:
        assert re.search(rf"(^|\s){re.escape(job_id)}(\s|$)", plain, re.MULTILINE), job_id
    for date in re.findall(r"\d{4}-[\d:-]*(?: [\d:]+)?\S?", plain):  # never `2026-1…`
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?", date), date
    if command != "list":  # only a command may be shortened
        assert "\u2026" not in plain
    hidden = re.search(r"not shown: (.*); --wide", notice)
    for name in hidden.group(1).split(", ") if hidden else []:
        assert name not in header.split()
    if columns == 120 and command != "list":
        assert not hidden  # everything fits


def test_wide_shows_every_column_in_full(tables: Pycron) -> None:
    shown, notice = on_terminal(tables, 60, "list", "--wide")
    plain = ANSI.sub("", shown)
    assert "x" * 80 in plain
    assert "not shown" not in notice
    assert all(name in plain for name in ("SCHEDULE", "ENABLED", "LAST RUN", "RESULT"))


@pytest.mark.parametrize("color", [True, False], ids=["colour", "NO_COLOR"])
def test_outcomes_are_coloured_by_meaning_unless_no_color(tables: Pycron, color: bool) -> None:
    shown, _ = on_terminal(tables, 120, "history", color=color)
    red = re.search(r"\x1b\[31m\s*failed", shown)
    green = re.search(r"\x1b\[32m\s*success", shown)
    assert (red is not None, green is not None) == (color, color), shown
    if not color:
        assert not re.search(r"\x1b\[3\dm", shown)
