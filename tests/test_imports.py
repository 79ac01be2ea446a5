"""The module dependency rules of the design, checked on the source."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pycron"

# Which pycron modules each module may import (the README's module map). The
# core (errors, records, expr, explain, crontab, lint) never reaches the
# machinery of running jobs; the history and its readers never load the runner.
GRAPH: dict[str, set[str]] = {
    "errors": set(),
    "records": set(),
    "expr": {"errors"},
    "explain": {"errors", "expr"},
    "crontab": {"errors", "expr"},
    "lint": {"errors", "expr", "explain", "crontab"},
    "processes": set(),
    "runner": {"errors", "crontab", "records", "processes"},
    "history": {"errors", "records", "processes"},
    "views": {"expr", "crontab", "history"},
    "jobtable": {"errors", "crontab"},
    "supervisor": {"errors", "crontab", "records", "runner", "history"},
    "daemon": {
        "errors",
        "expr",
        "crontab",
        "records",
        "processes",
        "runner",
        "history",
        "views",
        "jobtable",
        "supervisor",
    },
    # The process entry point hands every command but `next` to the click
    # interface, which it imports only then.
    "launch": {"errors", "expr", "cli"},
    "cli": {
        "errors",
        "records",
        "expr",
        "explain",
        "crontab",
        "lint",
        "runner",
        "history",
        "views",
        "daemon",
        "launch",
    },
}
# Third-party and process modules each belong to one layer.
CONFINED = {
    "click": {"cli"},
    "rich": {"cli"},
    "tabulate": {"cli"},
    "subprocess": {"runner"},
}


def _imports(path: Path) -> set[str]:
    """Top-level names of every module imported anywhere in a file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            if node.module == "pycron":
                names.update(f"pycron.{alias.name}" for alias in node.names)
    return names


MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("__"))


def test_the_graph_names_every_module() -> None:
    assert set(MODULES) == set(GRAPH)


@pytest.mark.parametrize("module", MODULES)
def test_a_module_imports_only_what_the_graph_allows(module: str) -> None:
    imported = {
        name.split(".")[1]
        for name in _imports(PACKAGE / f"{module}.py")
        if name.startswith("pycron.") and name.split(".")[1] in GRAPH
    }
    unexpected = imported - GRAPH[module]
    assert not unexpected, f"{module} imports {sorted(unexpected)}, which the graph does not allow"


def test_the_graph_has_no_cycle_but_the_entry_hand_over() -> None:
    """Apart from launch's lazy hand-over to the click interface, importing a
    module never comes back to it."""
    graph = {
        module: allowed - ({"cli"} if module == "launch" else set())
        for module, allowed in GRAPH.items()
    }
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import cycle: {' -> '.join((*path, module))}"
        if module in done:
            return
        for other in graph[module]:
            visit(other, (*path, module))
        done.add(module)

    for module in graph:
        visit(module, ())


@pytest.mark.parametrize("module", MODULES)
def test_confined_imports_stay_in_their_layer(module: str) -> None:
    imported = {name.split(".")[0] for name in _imports(PACKAGE / f"{module}.py")}
    misplaced = {
        lib for lib, owners in CONFINED.items() if lib in imported and module not in owners
    }
    assert not misplaced, f"{module} imports {sorted(misplaced)}"


def _run_without_site(script: str) -> subprocess.CompletedProcess[str]:
    """Run a script with only the standard library and this checkout importable
    (-S: no site-packages, so no editable-install hooks add imports of their own)."""
    return subprocess.run(
        [
            sys.executable,
            "-S",
            "-c",
            f"import sys; sys.path.insert(0, {str(PACKAGE.parent)!r})\n" + script,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )


def test_next_starts_without_heavy_imports() -> None:
    """`pycron next` in a pipeline loads neither click, rich, tabulate, filelock nor zoneinfo."""
    script = (
        "import sys\n"
        "from pycron.launch import main\n"
        "try:\n"
        "    main(['next', '*/5 * * * *', '--from', '2026-01-01T00:00', '--count', '2'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = _run_without_site(script)
    assert done.stdout == "2026-01-01T00:05:00\n2026-01-01T00:10:00\n"
    loaded = set(done.stderr.split())
    heavy = {"click", "rich", "tabulate", "filelock", "zoneinfo", "typing", "json", "enum"}
    assert not loaded & heavy


def test_a_zone_loads_zoneinfo_only_then() -> None:
    script = (
        "import sys\n"
        "from pycron.launch import main\n"
        "try:\n"
        "    main(['next', '0 0 * * *', '--from', '2026-01-01T00:00', '--tz', 'UTC'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('zoneinfo' in sys.modules, 'click' in sys.modules, file=sys.stderr)\n"
    )
    done = _run_without_site(script)
    assert done.stdout == "2026-01-02T00:00:00+00:00\n"
    assert done.stderr.split() == ["True", "False"]


def test_reading_the_history_loads_nothing_that_starts_processes() -> None:
    """The history's readers (the CLI's run commands, a status page) share the
    run records with the runner, not the runner itself."""
    heavy = "{'subprocess', 'ctypes', 'pycron.runner'}"
    probe = f"import sys, pycron.history; print(sorted({heavy} & set(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
