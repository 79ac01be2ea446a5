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
    "daemon": {"errors", "expr", "crontab", "records", "processes", "runner", "history", "views"},
    # What the `pycron` command needs before click is loaded (the quick `next`).
    "launch": {"errors", "expr"},
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
# Inside the `cli` package: the command families share the invocation and the
# rendering, and only the group (`app`) knows the families. The package's
# `__init__` is the process entry point, which loads `app` when click is needed.
CLI_GRAPH: dict[str, set[str]] = {
    "__init__": {"app"},
    "invocation": set(),
    "render": set(),
    "engine": {"invocation", "render"},
    "crontab": {"invocation", "render"},
    "runs": {"invocation", "render"},
    "daemon": {"invocation"},
    "app": {"invocation", "render", "engine", "crontab", "runs", "daemon"},
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
            names.add(node.module)  # and each name, which may be a module of that package:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


# A module of the graph is a file of the package or a subpackage (all its files).
MODULES = sorted(
    p.stem if p.is_file() else p.name
    for p in PACKAGE.iterdir()
    if (p.suffix == ".py" and not p.stem.startswith("__")) or (p / "__init__.py").is_file()
)


def _files(module: str) -> list[Path]:
    package = PACKAGE / module
    return sorted(package.glob("*.py")) if package.is_dir() else [PACKAGE / f"{module}.py"]


def test_the_graph_names_every_module() -> None:
    assert set(MODULES) == set(GRAPH)


@pytest.mark.parametrize("module", MODULES)
def test_a_module_imports_only_what_the_graph_allows(module: str) -> None:
    imported = {
        name.split(".")[1]
        for path in _files(module)
        for name in _imports(path)
        if name.startswith("pycron.") and name.split(".")[1] in GRAPH
    }
    unexpected = imported - GRAPH[module] - {module}
    assert not unexpected, f"{module} imports {sorted(unexpected)}, which the graph does not allow"


def test_the_cli_graph_names_every_file_of_the_package() -> None:
    assert {path.stem for path in _files("cli")} == set(CLI_GRAPH)


@pytest.mark.parametrize("member", sorted(CLI_GRAPH))
def test_a_cli_module_imports_only_what_its_graph_allows(member: str) -> None:
    imported = {
        name.removeprefix("pycron.cli.").split(".")[0]
        for name in _imports(PACKAGE / "cli" / f"{member}.py")
        if name.startswith("pycron.cli.")
    } & set(CLI_GRAPH)
    unexpected = imported - CLI_GRAPH[member]
    assert not unexpected, f"cli.{member} imports {sorted(unexpected)}"


@pytest.mark.parametrize("graph", [GRAPH, CLI_GRAPH], ids=["package", "cli"])
def test_the_graph_has_no_cycle(graph: dict[str, set[str]]) -> None:
    """Importing a module never comes back to it."""
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
    imported = {name.split(".")[0] for path in _files(module) for name in _imports(path)}
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
        "from pycron.cli import main\n"
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
        "from pycron.cli import main\n"
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
