"""The pipeline commands: `pycron graph` in its formats, `pycron history
--pipeline RUN` and `pycron run-now ID --downstream`, through the click
interface and real `pycron` processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from test_cli_runs import Pycron as RunsPycron

from pycron.cli import pipelines
from pycron.cli.app import cli

# fetch -> transform -> report, transform -> alert on failure, and a join of
# fetch and other; `lonely` is in no pipeline.
PIPELINE = """\
# pycron: name=fetch
@daily echo fetch
# pycron: name=other
@hourly echo other
# pycron: name=transform
@after fetch echo transform
# pycron: name=report
@after transform echo report
# pycron: name=alert when=failure
@after transform echo alert
# pycron: name=join
@after fetch,other echo join
# pycron: name=lonely
@daily echo lonely
"""


def _graph(tmp_path: Path, crontab: str, *args: str) -> Result:
    path = tmp_path / "crontab"
    path.write_text(crontab)
    return CliRunner().invoke(cli, ["--crontab", str(path), "graph", *args])


GRAPH_CASES = {
    "pipeline tree": (
        PIPELINE,
        (),
        "fetch  (@daily)\n"
        "  transform\n"
        "    report\n"
        "    alert  (on failure)\n"
        "  join  (after fetch, other)\n"
        "other  (@hourly)\n"
        "  join  (after fetch, other; see above)\n",
    ),
    "unknown upstream, disabled job": (
        "# pycron: name=a enabled=false\n@after ghost true\n",
        (),
        "ghost  (no such job)\n  a  (disabled)\n",
    ),
    "a cycle and what follows it": (
        "# pycron: name=a\n@after b true\n# pycron: name=b\n@after a true\n"
        "# pycron: name=c\n@after b true\n",
        (),
        "a  (@after b; never runs: cycle a -> b -> a)\n"
        "b  (@after a; never runs: cycle a -> b -> a)\n"
        "  c\n",
    ),
    "dot": (
        "# pycron: name=a\n@daily true\n# pycron: name=b when=always\n@after a true\n",
        ("--dot",),
        "digraph pycron {\n"
        "  rankdir=LR;\n"
        "  node [shape=box];\n"
        '  "a" [label="a\\n@daily"];\n'
        '  "b" [label="b"];\n'
        '  "a" -> "b" [label="always"];\n'
        "}\n",
    ),
    "dot, unknown job dashed": (
        "# pycron: name=b\n@after a true\n",
        ("--dot",),
        "digraph pycron {\n"
        "  rankdir=LR;\n"
        "  node [shape=box];\n"
        '  "b" [label="b"];\n'
        '  "a" [label="a\\nno such job", style=dashed];\n'
        '  "a" -> "b";\n'
        "}\n",
    ),
    "mermaid": (
        "# pycron: name=x-1\n0 2 * * * true\n# pycron: name=y\n@after x-1 true\n"
        "# pycron: name=z when=failure\n@after y true\n",
        ("--mermaid",),
        "```mermaid\n"
        "flowchart LR\n"
        '  j0["x-1<br>0 2 * * *"]\n'
        '  j1["y"]\n'
        '  j2["z"]\n'
        "  j0 --> j1\n"
        "  j1 -- failure --> j2\n"
        "```\n",
    ),
    "no @after jobs: an empty graph": (
        "@daily true\n",
        ("--dot",),
        "digraph pycron {\n  rankdir=LR;\n  node [shape=box];\n}\n",
    ),
}


@pytest.mark.parametrize(("crontab", "args", "expected"), GRAPH_CASES.values(), ids=GRAPH_CASES)
def test_graph_outputs(tmp_path: Path, crontab: str, args: tuple[str, ...], expected: str) -> None:
    result = _graph(tmp_path, crontab, *args)
    assert result.exit_code == 0, result.output
    assert result.stdout == expected


def test_graph_says_a_cycle_on_stderr(tmp_path: Path) -> None:
    result = _graph(tmp_path, "# pycron: name=a\n@after b true\n# pycron: name=b\n@after a true\n")
    assert result.exit_code == 0
    assert "pycron: warning: cycle: a -> b -> a: these jobs never run" in result.stderr


def test_graph_without_after_jobs_says_so(tmp_path: Path) -> None:
    result = _graph(tmp_path, "@daily true\n")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "no @after jobs" in result.stderr


def test_graph_on_a_terminal_is_a_rich_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipelines, "on_terminal", lambda: True)
    result = _graph(tmp_path, PIPELINE)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        "fetch  (@daily)",
        "├── transform",
        "│   ├── report",
        "│   └── alert  (on failure)",
    ]
    assert "└── join  (after fetch, other; see above)" in lines


# --------------------------------------------------------------------------- real runs


class Pycron(RunsPycron):
    """`python -m pycron` on a private crontab and state directory, with the
    runs `history` lists."""

    def runs(self, *args: str) -> list[tuple[str, str, list[int] | None]]:
        """(job, outcome, trigger) of each run `history --json ARGS` lists."""
        done = self("history", "--json", *args)
        assert done.returncode == 0, done.stderr
        return [(r["job"], r["outcome"], r["trigger"]) for r in json.loads(done.stdout)]


FAILING = PIPELINE.replace("@after fetch echo transform", "@after fetch echo transform; exit 3")

DOWNSTREAM_CASES = {
    # crontab, job, exit code, (job, outcome) of the runs in order
    "the chain in order": (
        PIPELINE,
        "fetch",
        0,
        [("fetch", "success"), ("transform", "success"), ("report", "success")],
    ),
    "a failure stops the chain and starts its handler": (
        FAILING,
        "fetch",
        3,
        [("fetch", "success"), ("transform", "failed"), ("alert", "success")],
    ),
    "a failure of the job itself starts nothing": (
        PIPELINE.replace("@daily echo fetch", "@daily exit 4"),
        "fetch",
        4,
        [("fetch", "failed")],
    ),
    "a job that nothing follows": (PIPELINE, "lonely", 0, [("lonely", "success")]),
}


@pytest.mark.parametrize(
    ("crontab", "job", "code", "expected"), DOWNSTREAM_CASES.values(), ids=DOWNSTREAM_CASES
)
def test_run_now_downstream(
    tmp_path: Path, crontab: str, job: str, code: int, expected: list[tuple[str, str]]
) -> None:
    pycron = Pycron(tmp_path, crontab)
    done = pycron("run-now", job, "--downstream")
    assert done.returncode == code, done.stderr
    runs = pycron.runs()[::-1]  # oldest first
    assert [(job_id, outcome) for job_id, outcome, _ in runs] == expected


def test_run_now_downstream_records_triggers_and_runs_a_join_once(tmp_path: Path) -> None:
    pycron = Pycron(tmp_path, PIPELINE)
    assert pycron("run-now", "fetch", "--downstream").returncode == 0  # runs 1-3
    assert pycron("run-now", "other", "--downstream").returncode == 0  # 4, and join (5)
    assert pycron("run-now", "other", "--downstream").returncode == 0  # 6: fetch is not new
    assert pycron.runs()[::-1] == [
        ("fetch", "success", None),
        ("transform", "success", [1]),
        ("report", "success", [2]),
        ("other", "success", None),
        ("join", "success", [1, 4]),
        ("other", "success", None),
    ]


def test_run_now_without_downstream_runs_only_the_job(tmp_path: Path) -> None:
    pycron = Pycron(tmp_path, PIPELINE)
    assert pycron("run-now", "fetch").returncode == 0
    assert pycron.runs() == [("fetch", "success", None)]


def test_history_pipeline_shows_the_whole_pipeline_run(tmp_path: Path) -> None:
    pycron = Pycron(tmp_path, FAILING)
    pycron("run-now", "fetch", "--downstream")  # 1 fetch, 2 transform, 3 alert
    pycron("run-now", "lonely")  # 4: in no pipeline
    pycron("run-now", "fetch", "--downstream")  # 5 fetch, 6 transform, 7 alert: another one
    pycron("run-now", "other", "--downstream")  # 8 other, 9 join (after 5 and 8)
    first = [("fetch", "success", None), ("transform", "failed", [1]), ("alert", "success", [2])]
    second = [
        ("fetch", "success", None),
        ("transform", "failed", [5]),
        ("alert", "success", [6]),
        ("other", "success", None),
        ("join", "success", [5, 8]),
    ]
    cases = {"1": first, "2": first, "3": first, "4": [("lonely", "success", None)]}
    cases |= {str(run): second for run in range(5, 10)}
    for run, expected in cases.items():
        assert pycron.runs("--pipeline", run) == expected, run
    table = pycron("history", "--pipeline", "2").stdout.splitlines()
    assert [line.split()[:2] for line in table] == [
        ["RUN", "JOB"],
        ["1", "fetch"],
        ["2", "transform"],
        ["3", "alert"],
    ]


def test_history_pipeline_refusals(tmp_path: Path) -> None:
    pycron = Pycron(tmp_path, PIPELINE)
    pycron("run-now", "fetch")
    unknown = pycron("history", "--pipeline", "99")
    assert unknown.returncode == 1
    assert "no run 99 in the history" in unknown.stderr
    both = pycron("history", "fetch", "--pipeline", "1")
    assert both.returncode == 2
    assert "--pipeline" in both.stderr
