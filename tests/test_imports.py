"""The module dependency rules of the design, checked on the source."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pycron"

# Which pycron modules each module may import (the README's module map); a
# package's modules are named by their dotted path below `pycron`, the package
# itself by its name (its __init__). The core (errors, records, expr, explain,
# crontab, lint) never reaches the machinery of running jobs; the store and its
# readers never load the runner, and only those who open a store know its backend.
GRAPH: dict[str, set[str]] = {
    "errors": set(),
    "records": set(),
    "expr": {"errors"},
    "explain": {"errors", "expr"},
    "crontab": {"errors", "expr"},
    "lint": {"errors", "expr", "explain", "crontab"},
    "processes": set(),
    "runner": {"errors", "crontab", "records", "processes"},
    "store": {"errors", "records", "processes"},
    "store.logs": {"errors"},
    "store.sqlite": {"errors", "records", "store"},
    "views": {"expr", "crontab", "store"},
    "jobtable": {"errors", "crontab"},
    "supervisor": {"errors", "crontab", "records", "runner", "store"},
    "daemon": {
        "errors",
        "expr",
        "crontab",
        "records",
        "processes",
        "runner",
        "store",
        "store.sqlite",
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
        "store",
        "store.logs",
        "store.sqlite",
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
    """Names of every module imported anywhere in a file (for `from pycron.X
    import Y`, also `pycron.X.Y`, which may be a module)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            if node.module.split(".")[0] == "pycron":
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _module_name(path: Path) -> str:
    """A source file's name in the graph: `store.sqlite`, `store` for its __init__."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph_module(name: str) -> str | None:
    """The graph's module that an imported `pycron.` name is or lies in (the
    longest match: `pycron.store.sqlite.X` is store.sqlite), if any."""
    parts = name.split(".")[1:] if name.startswith("pycron.") else []
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in GRAPH:
            return ".".join(parts[:end])
    return None


SOURCES = {
    _module_name(p): p
    for p in sorted(PACKAGE.rglob("*.py"))
    if p.parent != PACKAGE or not p.stem.startswith("__")
}
MODULES = sorted(SOURCES)


def test_the_graph_names_every_module() -> None:
    assert set(MODULES) == set(GRAPH)


@pytest.mark.parametrize("module", MODULES)
def test_a_module_imports_only_what_the_graph_allows(module: str) -> None:
    imported = {_graph_module(name) for name in _imports(SOURCES[module])} - {None, module}
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
    imported = {name.split(".")[0] for name in _imports(SOURCES[module])}
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


def test_reading_the_store_loads_nothing_that_starts_processes() -> None:
    """The store's readers (the CLI's run commands, a status page) share the
    run records with the runner, not the runner itself."""
    heavy = "{'subprocess', 'ctypes', 'pycron.runner'}"
    probe = f"import sys, pycron.store.sqlite; print(sorted({heavy} & set(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
