"""`pycron graph`: the `@after` graph of the crontab, drawn as a tree on a
terminal (indented plain text in a pipe), or written for Graphviz (`--dot`)
or Markdown (`--mermaid`).

The tree starts from the jobs nothing starts (time-scheduled jobs, unknown
ids, jobs on a cycle) and shows under each job the `@after` jobs that follow
it; a join is drawn whole under its first upstream job and named again,
marked `see above`, under the others. The files of the other formats hold
the graph as it is, cycles included, as Graphviz and Mermaid draw any graph.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import click

from pycron.cli.invocation import command, invocation_of, warn
from pycron.cli.render import on_terminal
from pycron.crontab import After, When
from pycron.graph import downstreams, upstreams, without_cycles

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from rich.tree import Tree

    from pycron.crontab import Entry


class Edge(NamedTuple):
    """`job` runs after `upstream` when `upstream` ends as `when` says."""

    upstream: str
    job: str
    when: When


class Drawing(NamedTuple):
    """What every format draws: the jobs linked by `@after` (in crontab order,
    then the unknown ids) with their notes, the edges, and the tree's shape
    (the jobs nothing starts, and each job's followers, cycles left out)."""

    notes: dict[str, list[str]]
    edges: list[Edge]
    roots: list[str]
    followers: dict[str, tuple[str, ...]]
    cycles: list[tuple[str, ...]]


def drawing(entries: Sequence[Entry]) -> Drawing:
    """The drawing of the `@after` graph of `entries`."""
    graph = upstreams(entries)
    kept, cycles = without_cycles(graph)
    by_id = {entry.id: entry for entry in entries}
    linked = set(graph) | {upstream for after in graph.values() for upstream in after}
    order = [entry.id for entry in entries if entry.id in linked]
    order += [job for after in graph.values() for job in after if job not in by_id]
    on_cycle = {job: cycle for cycle in cycles for job in cycle}
    notes = {job: _notes(by_id.get(job), on_cycle.get(job)) for job in dict.fromkeys(order)}
    edges = [
        Edge(upstream, job, by_id[job].options.when)
        for job, after in graph.items()
        for upstream in after
    ]
    roots = [job for job in notes if job not in kept]
    return Drawing(notes, edges, roots, downstreams(kept), cycles)


def _notes(entry: Entry | None, cycle: tuple[str, ...] | None) -> list[str]:
    """What a job's node says besides its id: its schedule unless it is
    `@after` (the edges say that), or that it never runs."""
    if entry is None:
        return ["no such job"]
    notes = [] if isinstance(entry.schedule, After) and cycle is None else [entry.schedule.text]
    if cycle is not None:
        notes.append("never runs: cycle " + " -> ".join(cycle))
    if not entry.enabled:
        notes.append("disabled")
    return notes


def tree_lines(drawn: Drawing) -> list[tuple[int, str]]:
    """The tree as (depth, text) lines, depth first from each root."""
    lines: list[tuple[int, str]] = []
    shown: set[str] = set()
    when_of = {(edge.upstream, edge.job): edge.when for edge in drawn.edges}

    def visit(job: str, depth: int, upstream: str | None) -> None:
        notes = list(drawn.notes[job])
        if upstream is not None and when_of[upstream, job] is not When.SUCCESS:
            notes.insert(0, f"on {when_of[upstream, job].value}")
        joined = [edge.upstream for edge in drawn.edges if edge.job == job]
        if len(joined) > 1:
            notes.insert(0, "after " + ", ".join(joined))
        if job in shown:
            notes.append("see above")
        lines.append((depth, job + (f"  ({'; '.join(notes)})" if notes else "")))
        if job not in shown:
            shown.add(job)
            for follower in drawn.followers.get(job, ()):
                visit(follower, depth + 1, job)

    for root in drawn.roots:
        visit(root, 0, None)
    return lines


def dot_text(drawn: Drawing) -> str:
    """The graph in Graphviz's language: an edge from each job to the jobs
    after it, labelled with the outcome that starts them unless success."""
    lines = ["digraph pycron {", "  rankdir=LR;", "  node [shape=box];"]
    for job, notes in drawn.notes.items():
        label = "\\n".join(_dot_quoted(text) for text in (job, *notes))
        style = ", style=dashed" if notes[:1] == ["no such job"] else ""
        lines.append(f'  "{job}" [label="{label}"{style}];')
    for edge in drawn.edges:
        label = "" if edge.when is When.SUCCESS else f' [label="{edge.when.value}"]'
        lines.append(f'  "{edge.upstream}" -> "{edge.job}"{label};')
    return "\n".join([*lines, "}"])


def _dot_quoted(text: str) -> str:
    """`text` inside a Graphviz string."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def mermaid_text(drawn: Drawing) -> str:
    """The graph as a Mermaid flowchart in a Markdown code block. Nodes are
    named j0, j1, ... (a job id may hold characters Mermaid reads as syntax)
    and labelled with the job id and notes."""
    names = {job: f"j{index}" for index, job in enumerate(drawn.notes)}
    lines = ["```mermaid", "flowchart LR"]
    for job, notes in drawn.notes.items():
        label = "<br>".join(_mermaid_quoted(text) for text in (job, *notes))
        lines.append(f'  {names[job]}["{label}"]')
    for edge in drawn.edges:
        arrow = "-->" if edge.when is When.SUCCESS else f"-- {edge.when.value} -->"
        lines.append(f"  {names[edge.upstream]} {arrow} {names[edge.job]}")
    return "\n".join([*lines, "```"])


def _mermaid_quoted(text: str) -> str:
    """`text` inside a Mermaid label (its entity codes for the characters
    that end or open one)."""
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def _rich_tree(lines: Iterable[tuple[int, str]]) -> list[Tree]:
    """The tree lines as rich trees, one per root, ids in bold."""
    from rich.markup import escape  # noqa: PLC0415 - rich is slow to import
    from rich.tree import Tree  # noqa: PLC0415

    trees: list[Tree] = []
    path: list[Tree] = []
    for depth, text in lines:
        job, _, rest = text.partition("  ")
        label = f"[bold]{escape(job)}[/bold]" + (f"  [dim]{escape(rest)}[/dim]" if rest else "")
        if depth == 0:
            node = Tree(label)
            trees.append(node)
        else:
            node = path[depth - 1].add(label)
        path[depth:] = [node]
    return trees


@command("graph")
@click.option("--dot", "form", flag_value="dot", help="Print it in Graphviz's language.")
@click.option("--mermaid", "form", flag_value="mermaid", help="Print it as Mermaid for Markdown.")
@click.pass_context
def graph_command(ctx: click.Context, form: str | None) -> None:
    """Draw the @after graph: which jobs start which.

    On a terminal, a tree from the jobs nothing starts (a join appears under
    each of its upstream jobs, whole under the first); in a pipe, the same
    tree indented by two spaces per level. A cycle is said on stderr: its
    jobs never run (`pycron check` reports it as an error).

    \b
    Examples:
      pycron graph
      pycron graph --dot | dot -Tsvg > pipeline.svg
      pycron graph --mermaid >> README.md
    """
    invocation = invocation_of(ctx)
    crontab, _ = invocation.crontab_file().load()
    drawn = drawing(crontab.entries)
    for cycle in drawn.cycles:
        warn(f"cycle: {' -> '.join(cycle)}: these jobs never run")
    if form == "dot":
        click.echo(dot_text(drawn))
    elif form == "mermaid":
        click.echo(mermaid_text(drawn))
    elif not drawn.notes:
        warn(f"no @after jobs in {invocation.crontab}: nothing to draw")
    elif on_terminal():
        from rich.console import Console  # noqa: PLC0415 - rich is slow to import

        console = Console()
        for tree in _rich_tree(tree_lines(drawn)):
            console.print(tree)
    else:
        for depth, text in tree_lines(drawn):
            click.echo("  " * depth + text)


COMMANDS = (graph_command,)
