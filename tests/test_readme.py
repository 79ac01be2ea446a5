"""The README's console examples that need no clock, run as a user would type
them: their output must be what the README shows, so that it stays true."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


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
