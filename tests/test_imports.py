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
    "digest": set(),
    "locks": set(),
    "expr": {"errors"},
    "explain": {"errors", "expr"},
    "crontab": {"errors", "digest", "locks", "expr"},
    "graph": {"crontab", "records"},
    "lint": {"errors", "expr", "explain", "crontab", "graph", "notify"},
    "processes": set(),
    "runner": {"errors", "digest", "locks", "crontab", "records", "processes"},
    "notify": {"errors"},
    "store.cluster": {"errors"},
    "store": {"errors", "digest", "records", "processes", "notify", "store.cluster"},
    "store.logs": {"errors"},
    "store.sql": {"errors", "records", "notify", "store", "store.cluster"},
    "store.sqlite": {"errors", "locks", "records", "store", "store.sql"},
    "store.postgresql": {"errors", "records", "store", "store.sql", "store.cluster"},
    "store.redis": {"errors", "store", "store.cluster"},
    "views": {"expr", "crontab", "records", "store"},
    "notify.alerts": {"crontab", "records", "notify", "store"},
    "notify.mail": {"errors", "crontab", "records", "notify"},
    "notify.outbox": {"errors", "crontab", "records", "notify", "store"},
    "notify.compose": {
        "crontab",
        "records",
        "runner",
        "store",
        "notify",
        "notify.alerts",
        "notify.mail",
        "notify.outbox",
    },
    "jobtable": {"errors", "digest", "crontab"},
    "watch": set(),
    "wakeups": set(),
    "supervisor": {
        "errors",
        "crontab",
        "graph",
        "records",
        "runner",
        "store",
        "store.cluster",
        "notify.mail",
    },
    # A daemon's membership of a cluster, and the cluster's backends it opens.
    "member": {"errors", "store.cluster", "store.postgresql", "store.redis"},
    "daemon": {
        "errors",
        "locks",
        "expr",
        "crontab",
        "records",
        "processes",
        "runner",
        "store",
        "store.sqlite",
        "store.postgresql",
        "store.cluster",
        "member",
        "views",
        "jobtable",
        "graph",
        "supervisor",
        "notify",
        "notify.outbox",
        "watch",
        "wakeups",
    },
    # The status page, its API and /metrics (the optional web extra): what they
    # read, the application, and the server that runs it in a thread.
    "web": set(),
    "web.source": {
        "errors",
        "records",
        "explain",
        "crontab",
        "runner",
        "store",
        "store.sqlite",
        "views",
        "daemon",
    },
    "web.api": {"errors", "records", "crontab", "web.source"},
    "web.metrics": {"errors", "records", "store", "web.source"},
    "web.charts": {"explain"},
    "web.pages": {"errors", "explain", "store", "web.charts", "web.source"},
    "web.auth": set(),
    "web.health": {"web.source"},
    "web.app": {"web.api", "web.auth", "web.health", "web.metrics", "web.pages", "web.source"},
    "web.server": {"errors"},
    # What the `pycron` command needs before click is loaded (the quick `next`).
    "launch": {"errors", "expr"},
    # The process entry point, which loads the click group only when a command needs it,
    # and serves `pycron daemon` without it when it reads the line.
    "cli": {"launch", "cli.app", "cli.daemonline"},
    # What `pycron daemon` shares with the click interface, without click: where the
    # crontab, the state and the history are; the senders and composers of messages;
    # the status page's address and serving; the daemon's command line and its start.
    "cli.given": {
        "errors",
        "crontab",
        "runner",
        "store",
        "store.cluster",
        "store.postgresql",
    },
    "cli.messages": {
        "records",
        "crontab",
        "lint",
        "notify",
        "notify.alerts",
        "notify.compose",
        "notify.mail",
        "notify.outbox",
    },
    "cli.serving": {
        "errors",
        "store",
        "daemon",
        "web.app",
        "web.server",
        "web.source",
        "cli.given",
    },
    "cli.daemonline": {
        "errors",
        "expr",
        "store.cluster",
        "daemon",
        "launch",
        "cli.given",
        "cli.messages",
        "cli.serving",
    },
    # The click interface: what every command shares and how data is shown,
    # then one module per family of commands, then the group of them all.
    # The readers' history: the state directory's, or the one a PostgreSQL cluster shares.
    "cli.invocation": {"errors", "store", "store.sqlite", "launch", "cli.given"},
    "cli.render": {"records", "crontab", "store", "daemon"},
    "cli.engine": {"errors", "expr", "explain", "launch", "cli.invocation", "cli.render"},
    "cli.crontab": {
        "errors",
        "crontab",
        "lint",
        "notify.alerts",
        "views",
        "daemon",
        "launch",
        "cli.invocation",
        "cli.render",
        "cli.messages",
        "cli.cluster",
        "store.cluster",
    },
    "cli.notify": {
        "errors",
        "records",
        "notify",
        "notify.outbox",
        "cli.invocation",
        "cli.messages",
    },
    "cli.runs": {
        "errors",
        "records",
        "explain",
        "crontab",
        "graph",
        "runner",
        "store",
        "store.logs",
        "store.sqlite",
        "views",
        "daemon",
        "launch",
        "notify",
        "notify.mail",
        "notify.outbox",
        "cli.given",
        "cli.invocation",
        "cli.render",
        "cli.messages",
        "cli.cluster",
    },
    "cli.pipelines": {"crontab", "graph", "cli.invocation", "cli.render"},
    "cli.daemon": {
        "cli.invocation",
        "cli.messages",
        "cli.serving",
        "cli.daemonline",
        "cli.web",
        "cli.cluster",
    },
    "cli.cluster": {
        "errors",
        "crontab",
        "explain",
        "store.cluster",
        "member",
        "cli.given",
        "cli.invocation",
        "cli.render",
    },
    "cli.web": {
        "errors",
        "expr",
        "daemon",
        "store.cluster",
        "store.sqlite",
        "web.app",
        "web.server",
        "web.source",
        "cli.invocation",
        "cli.serving",
        "cli.cluster",
    },
    "cli.app": {
        "launch",
        "cli.given",
        "cli.invocation",
        "cli.render",
        "cli.engine",
        "cli.crontab",
        "cli.pipelines",
        "cli.runs",
        "cli.daemon",
        "cli.notify",
        "cli.web",
        "cli.cluster",
    },
}
# Third-party and process modules each belong to one layer (a package: all its modules).
CONFINED = {
    "click": {"cli"},
    "rich": {"cli"},
    "tabulate": {"cli"},
    "subprocess": {"runner", "notify"},  # notify: a local sendmail program
    "apprise": {"notify"},
    "watchdog": {"watch"},
    "starlette": {"web"},
    "uvicorn": {"web"},
    "jinja2": {"web"},
    "prometheus_client": {"web"},
    "psycopg": {"store"},
    "redis": {"store"},
}


def _imports(path: Path) -> set[str]:
    """Names of every module imported anywhere in a file (for `from pycron.X
    import Y`, also `pycron.X.Y`, which may be a module)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            named = {f"{node.module}.{alias.name}" for alias in node.names}
            if node.module.split(".")[0] == "pycron":
                names.update(named)
            if not all(map(_is_module, named)):  # not only modules of a package
                names.add(node.module)
    return names


def _is_module(name: str) -> bool:
    """True if a dotted `pycron.` name is a module or package of this checkout."""
    parts = name.split(".")
    if parts[0] != "pycron":
        return False
    path = PACKAGE.joinpath(*parts[1:])
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


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


def _importers_text() -> str:
    """The graph as the README shows it: per module, the modules that may import
    it (the click interface's modules counted as `cli`), in the graph's order."""
    layer = {
        module: module.split(".")[0] if module.startswith("cli.") else module for module in GRAPH
    }
    rows = []
    for module in GRAPH:
        if layer[module] != module:
            continue
        users = dict.fromkeys(layer[user] for user, allowed in GRAPH.items() if module in allowed)
        users.pop(module, None)
        if users:
            rows.append((module, ", ".join(users)))
    width = max(len(module) for module, _ in rows)
    return "\n".join(f"{module:<{width}} <- {users}" for module, users in rows)


def test_the_readme_shows_the_graph() -> None:
    readme = (PACKAGE.parent / "README.md").read_text()
    assert f"```\n{_importers_text()}\n```" in readme


def test_the_graph_names_every_module() -> None:
    assert set(MODULES) == set(GRAPH)


@pytest.mark.parametrize("module", MODULES)
def test_a_module_imports_only_what_the_graph_allows(module: str) -> None:
    imported = {_graph_module(name) for name in _imports(SOURCES[module])} - {None, module}
    unexpected = imported - GRAPH[module]
    assert not unexpected, f"{module} imports {sorted(unexpected)}, which the graph does not allow"


def test_the_graph_has_no_cycle() -> None:
    """Importing a module never comes back to it."""
    graph = GRAPH
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
    layer = module.split(".", maxsplit=1)[0]
    misplaced = {lib for lib, owners in CONFINED.items() if lib in imported and layer not in owners}
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


STORE_IMPORTS = {
    # The store's readers (the CLI's run commands, a status page) share the run
    # records with the runner, not the runner itself.
    "readers load no runner": ("pycron.store.sqlite", {"subprocess", "ctypes", "pycron.runner"}),
    # Without the cluster extra, the default store still opens: only the
    # PostgreSQL store's own module loads its driver.
    "sqlite loads no other driver": (
        "pycron.store, pycron.store.sql, pycron.store.sqlite",
        {"psycopg", "redis"},
    ),
}


@pytest.mark.parametrize(("modules", "unloaded"), STORE_IMPORTS.values(), ids=STORE_IMPORTS.keys())
def test_the_store_loads_only_what_it_needs(modules: str, unloaded: set[str]) -> None:
    probe = f"import sys, {modules}; print(sorted({unloaded!r} & set(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
