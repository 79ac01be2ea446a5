"""The README's console examples that need no clock, run as a user would type
them: their output must be what the README shows, so that it stays true. Its
table of job options lists the options there are, with their defaults."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from pycron.crontab import JOB_OPTIONS, Options, build_options

README = Path(__file__).resolve().parent.parent / "README.md"
OPTIONS_HEADER = "| key | value | default | meaning |"


class Example(NamedTuple):
    line: int
    command: str
    output: list[str]


def console_examples(text: str) -> list[Example]:
    """Every `$ command` of the README's console blocks with the lines shown below it."""
    examples: list[Example] = []
    inside = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("```"):
            inside = line == "```console"
            continue
        if not inside:
            continue
        if line.startswith("$ "):
            examples.append(Example(number, line[2:], []))
        elif examples:
            examples[-1].output.append(line)
    return examples


def clock_free(example: Example) -> bool:
    """`next` and `explain` with a start given (or failing): their output is the
    same on any day; an example that elides its output (`...`) is not compared."""
    words = shlex.split(example.command, comments=True)
    if words[:2] not in (["pycron", "next"], ["pycron", "explain"]):
        return False
    if any("..." in line for line in example.output):
        return False
    failing = bool(example.output) and example.output[0].startswith("pycron: error:")
    return "--from" in words or failing


EXAMPLES = [example for example in console_examples(README.read_text()) if clock_free(example)]


def test_the_readme_has_clock_free_examples() -> None:
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"line-{e.line}" for e in EXAMPLES])
def test_a_readme_example_prints_what_the_readme_shows(example: Example) -> None:
    words = shlex.split(example.command, comments=True)
    done = subprocess.run(
        [sys.executable, "-m", "pycron", *words[1:]],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.stdout + done.stderr).splitlines() == example.output


def option_rows(text: str) -> list[list[str]]:
    """The cells of each row of the README's table of job options."""
    lines = text.splitlines()
    start = lines.index(OPTIONS_HEADER) + 2  # below the header and its rule
    rows: list[list[str]] = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


OPTION_ROWS = option_rows(README.read_text())


def test_the_readme_lists_every_job_option_and_no_other() -> None:
    assert [row[0] for row in OPTION_ROWS] == [f"`{key}`" for key in JOB_OPTIONS]


def test_a_default_the_readme_shows_is_that_of_a_job_without_options() -> None:
    """A default shown as a value (`10s`, not words or a variable like `HOME`) is
    the option's value in a job without options."""
    cells = [(row[0].strip("`"), row[2]) for row in OPTION_ROWS]
    shown = [(key, cell.strip("`")) for key, cell in cells if cell[0] == "`" and not cell.isupper()]
    assert len(shown) >= 5
    for key, default in shown:
        assert build_options([(key, default)])._replace(given=()) == Options(), key
