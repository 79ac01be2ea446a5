"""The module dependency rules of the design, checked on the source."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pycron"

# A module may import only modules to its left (the README's module map).
ORDER = [
    "errors",
    "records",
    "expr",
    "explain",
    "crontab",
    "lint",
    "processes",
    "runner",
    "history",
    "views",
    "daemon",
    "launch",
    "cli",
]
# The process entry point hands every command but `next` to the click interface.
ALLOWED_UPWARD = {("launch", "cli")}
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


MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem in ORDER)


@pytest.mark.parametrize("module", MODULES)
def test_imports_only_modules_to_the_left(module: str) -> None:
    imported = {
        name.split(".")[1]
        for name in _imports(PACKAGE / f"{module}.py")
        if name.startswith("pycron.") and name.split(".")[1] in ORDER
    }
    upward = {
        other
        for other in imported
        if ORDER.index(other) >= ORDER.index(module) and (module, other) not in ALLOWED_UPWARD
    }
    assert not upward, f"{module} imports {sorted(upward)}, which come after it"


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
