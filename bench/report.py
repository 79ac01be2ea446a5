"""Ratios, medians, the targets and how they are printed and saved.

A ratio is a peer's median time per call divided by pycron's for the same
expression and scenario: "20x" means pycron is 20 times faster. A scenario's
figure against a peer is the median of those ratios over the expressions
where the peer's cell is "ok" (supported and agreeing with pycron).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from corpus import Case
from measure import OK, SKIPPED, UNSUPPORTED, Cell, Scenario
from parsing import MAXIMUM_PARSE_MS, PARSE, CrontabResult, crontab_ratio
from process import ProcessResult

PER_EXPRESSION_PEER = "cronsim"
PER_EXPRESSION_MINIMUM = 3.0
PROCESS_MAXIMUM_MS = 15.0

CellIndex = dict[tuple[str, str, str], Cell]


@dataclass(frozen=True)
class Target:
    """A speed target: the median ratio against `peer` in `scenario` is at least `minimum`."""

    label: str
    scenario: str
    peer: str
    minimum: float


TARGETS: tuple[Target, ...] = (
    Target("naive next() vs croniter", "next-naive", "croniter", 20),
    Target("naive next() vs cronsim", "next-naive", "cronsim", 12),
    Target("aware next() vs croniter", "next-aware", "croniter", 15),
    Target("aware next() vs cronsim", "next-aware", "cronsim", 8),
    Target("iter() step vs croniter (naive)", "iter-naive", "croniter", 20),
    Target("iter() step vs cronsim (naive)", "iter-naive", "cronsim", 10),
    Target("iter() step vs croniter (aware)", "iter-aware", "croniter", 20),
    Target("iter() step vs cronsim (aware)", "iter-aware", "cronsim", 10),
    Target("CronExpression(text) vs CronSim(text, start)", "parse", "cronsim", 2),
)


@dataclass
class Verdict:
    """One line of the targets block."""

    label: str
    required: str
    measured: str
    met: bool | None  # None: nothing to measure
    detail: str = ""

    @property
    def word(self) -> str:
        """MET, NOT MET or NO DATA."""
        return {True: "MET", False: "NOT MET", None: "NO DATA"}[self.met]


def index_cells(cells: Sequence[Cell]) -> CellIndex:
    """Cells by (scenario key, expression, library)."""
    return {(cell.scenario.key, cell.case.text, cell.library): cell for cell in cells}


def ratio(index: CellIndex, scenario: str, text: str, peer: str) -> float | None:
    """Peer time / pycron time for one expression, if both cells were timed."""
    mine = index.get((scenario, text, "pycron"))
    theirs = index.get((scenario, text, peer))
    if mine is None or theirs is None or mine.status != OK or theirs.status != OK:
        return None
    return theirs.median / mine.median


def ratios(index: CellIndex, scenario: str, cases: Sequence[Case], peer: str) -> dict[str, float]:
    """The ratios of every timed expression of a scenario against one peer."""
    found = {case.text: ratio(index, scenario, case.text, peer) for case in cases}
    return {text: value for text, value in found.items() if value is not None}


def median_ratio(index: CellIndex, scenario: str, cases: Sequence[Case], peer: str) -> float | None:
    """The scenario's median ratio against a peer (None if no expression counts)."""
    values = ratios(index, scenario, cases, peer)
    return statistics.median(values.values()) if values else None


# --------------------------------------------------------------------------- targets


def evaluate(
    index: CellIndex,
    scenarios: Sequence[Scenario],
    cases: Sequence[Case],
    process: ProcessResult | None,
    crontab: CrontabResult | None,
) -> list[Verdict]:
    """Every target with its measured figure."""
    keys = {scenario.key for scenario in scenarios}
    verdicts = []
    for target in TARGETS:
        if target.scenario not in keys:
            continue
        values = ratios(index, target.scenario, cases, target.peer)
        if not values:
            verdicts.append(Verdict(target.label, f">= {target.minimum:g}x", "-", None))
            continue
        value = statistics.median(values.values())
        counted = f"median of {len(values)}/{len(cases)} expressions"
        verdicts.append(
            Verdict(
                target.label,
                f">= {target.minimum:g}x",
                f"{value:.1f}x",
                value >= target.minimum,
                counted,
            )
        )
    verdicts.append(_every_expression(index, scenarios, cases))
    verdicts.append(_process_verdict(process))
    verdicts += _crontab_verdicts(crontab)
    return verdicts


def _every_expression(
    index: CellIndex, scenarios: Sequence[Scenario], cases: Sequence[Case]
) -> Verdict:
    """Each expression at least PER_EXPRESSION_MINIMUM times faster than the peer,
    in every headline scenario."""
    label = f"every expression vs {PER_EXPRESSION_PEER}"
    required = f">= {PER_EXPRESSION_MINIMUM:g}x"
    found: list[tuple[float, str, str]] = []
    for scenario in scenarios:
        if scenario.headline:
            values = ratios(index, scenario.key, cases, PER_EXPRESSION_PEER)
            found += [(value, text, scenario.key) for text, value in values.items()]
    if not found:
        return Verdict(label, required, "-", None)
    found.sort()
    lowest, text, where = found[0]
    failing = [f"'{t}' {s} {v:.1f}x" for v, t, s in found if v < PER_EXPRESSION_MINIMUM]
    detail = f"lowest: '{text}' in {where}; {len(found)} cells"
    if failing:
        detail += "; below: " + ", ".join(failing)
    return Verdict(label, required, f"{lowest:.1f}x", lowest >= PER_EXPRESSION_MINIMUM, detail)


def _process_verdict(process: ProcessResult | None) -> Verdict:
    """`pycron next` at most PROCESS_MAXIMUM_MS slower than `python -c pass`."""
    label = "`pycron next` process"
    required = f"<= {PROCESS_MAXIMUM_MS:g} ms over `python -c pass`"
    if process is None:
        return Verdict(label, required, "-", None, "not run (--no-process)")
    if process.skipped:
        return Verdict(label, required, "-", None, f"skipped: {process.skipped}")
    difference = process.difference_ms
    detail = f"medians of {process.runs} runs each"
    return Verdict(
        label, required, f"{difference:+.1f} ms", difference <= PROCESS_MAXIMUM_MS, detail
    )


def _crontab_verdicts(crontab: CrontabResult | None) -> list[Verdict]:
    """The crontab's parse(): no slower than cronsim building its expressions
    alone, and under MAXIMUM_PARSE_MS."""
    jobs = f"{crontab.jobs if crontab else 0:,}"
    against = Verdict(f"crontab parse() vs cronsim, {jobs} jobs", ">= 1x", "-", None)
    alone = Verdict(f"crontab parse(), {jobs} jobs", f"< {MAXIMUM_PARSE_MS:g} ms", "-", None)
    if crontab is None:
        against.detail = alone.detail = "not run (--no-crontab)"
        return [against, alone]
    value = crontab_ratio(crontab, PER_EXPRESSION_PEER)
    if value is not None:
        against.measured, against.met = f"{value:.2f}x", value >= 1
        against.detail = f"cronsim's time for the {jobs} expressions alone / parse() of the file"
    parse_ms = crontab.median_ms(PARSE)
    if parse_ms is not None:
        alone.measured, alone.met = f"{parse_ms:.1f} ms", parse_ms < MAXIMUM_PARSE_MS
        alone.detail = f"median of {crontab.rounds} rounds, garbage collector on"
    return [against, alone]


# --------------------------------------------------------------------------- text


def micros(ns: float) -> str:
    """ns as microseconds with about three significant digits."""
    us = ns / 1000
    if us < 10:
        return f"{us:.2f}"
    if us < 100:
        return f"{us:.1f}"
    return f"{us:.0f}"


def _cell_text(cell: Cell | None) -> str:
    """A time, or the status of a cell that was not timed."""
    if cell is None:
        return "-"
    return micros(cell.median) if cell.status == OK else cell.status


def scenario_table(
    index: CellIndex,
    scenario: Scenario,
    cases: Sequence[Case],
    libraries: Sequence[str],
    rounds: int,
) -> str:
    """The per-expression table of one scenario, with its median ratios."""
    peers = [name for name in libraries if name != "pycron"]
    width = max(len(case.text) for case in cases)
    head = f"{'kind':<10} {'expression':<{width}}"
    head += "".join(f" {name:>9}" for name in libraries)
    head += "".join(f" {'x ' + name:>11}" for name in peers)
    lines = [
        f"== {scenario.title} [{scenario.key}]",
        f"   us per call, median of {rounds} rounds; x peer = peer time / pycron time"
        f" (! = below {PER_EXPRESSION_MINIMUM:g}x vs {PER_EXPRESSION_PEER})",
        head,
    ]
    for case in cases:
        row = f"{case.kind:<10} {case.text:<{width}}"
        row += "".join(
            f" {_cell_text(index.get((scenario.key, case.text, name))):>9}" for name in libraries
        )
        for peer in peers:
            value = ratio(index, scenario.key, case.text, peer)
            flag = (
                "!"
                if scenario.headline
                and peer == PER_EXPRESSION_PEER
                and value is not None
                and value < PER_EXPRESSION_MINIMUM
                else " "
            )
            row += f" {f'{value:.1f}x' if value is not None else '-':>10}{flag}"
        lines.append(row)
    summary = f"{'':<10} {'median ratio (expressions counted)':<{width + 10 * len(libraries)}}"
    for peer in peers:
        values = ratios(index, scenario.key, cases, peer)
        text = f"{statistics.median(values.values()):.1f}x ({len(values)})" if values else "-"
        summary += f" {text:>11}"
    lines.append(summary)
    return "\n".join(lines)


def slowest(index: CellIndex, scenario: Scenario, cases: Sequence[Case], count: int) -> str:
    """pycron's slowest expressions in a scenario, for whoever optimises the engine."""
    timed = [
        (cell.median, case.text)
        for case in cases
        if (cell := index.get((scenario.key, case.text, "pycron"))) and cell.status == OK
    ]
    timed.sort(reverse=True)
    shown = ", ".join(f"'{text}' {micros(ns)} us" for ns, text in timed[:count])
    return f"   slowest for pycron: {shown}" if shown else ""


def exclusions(cells: Sequence[Cell]) -> str:
    """Every cell left out of the medians, with the reason. A peer rejects an
    expression whatever the scenario, so "n/a" is listed once per expression;
    "differs" and pycron's own errors are listed per scenario."""
    rejected: dict[tuple[str, str], str] = {}
    lines = []
    for cell in cells:
        if cell.status == UNSUPPORTED:
            rejected.setdefault((cell.library, cell.case.text), cell.detail)
        elif cell.status not in (OK, SKIPPED):
            lines.append(
                f"  {cell.library:<9} {cell.status:<8} {cell.scenario.key:<17} "
                f"'{cell.case.text}': {cell.detail}"
            )
    head = "Left out of the medians and ratios (n/a: the peer rejects the expression, in every"
    head += (
        " scenario;\n  differs: the peer's answer is not pycron's, on some start of that scenario):"
    )
    if not rejected and not lines:
        return "Left out of the medians: nothing (every peer supports and agrees on every cell)."
    if not lines:
        lines.append("  (no peer answered differently from pycron on any start)")
    unsupported = [
        f"  {library:<9} n/a      {'':<17} '{text}': {detail}"
        for (library, text), detail in sorted(rejected.items(), key=lambda item: item[0][0])
    ]
    return "\n".join([head, *unsupported, *lines])


def targets_block(verdicts: Sequence[Verdict], caveat: str) -> str:
    """The final block: each target, the measured figure and MET / NOT MET."""
    width = max(len(v.label) for v in verdicts)
    need = max(len(v.required) for v in verdicts)
    lines = ["== targets" + (f" ({caveat})" if caveat else "")]
    for verdict in verdicts:
        line = f"  {verdict.label:<{width}}  {verdict.required:<{need}}  "
        line += f"{verdict.measured:>9}  {verdict.word:<7}"
        if verdict.detail:
            line += f"  {verdict.detail}"
        lines.append(line)
    return "\n".join(lines)


def process_block(process: ProcessResult) -> str:
    """The start-up figures, or why there are none."""
    if process.skipped:
        return f"== `pycron next` whole process: skipped: {process.skipped}"
    assert process.pycron_ms
    assert process.python_ms
    mine, base = process.pycron_ms, process.python_ms
    return "\n".join(
        [
            f"== `pycron next` whole process (regular install, {process.runs} runs each,"
            " interleaved)",
            f"   pycron next '*/5 * * * *'  median {statistics.median(mine):6.1f} ms"
            f"  min {min(mine):6.1f} ms",
            f"   python -c pass            median {statistics.median(base):6.1f} ms"
            f"  min {min(base):6.1f} ms",
            f"   difference of medians {process.difference_ms:+.1f} ms"
            f" (of minimums {min(mine) - min(base):+.1f} ms)",
        ]
    )


# --------------------------------------------------------------------------- JSON


def cell_json(cell: Cell) -> dict[str, object]:
    """One cell for results.json (times in microseconds)."""
    data: dict[str, object] = {"status": cell.status}
    if cell.detail:
        data["detail"] = cell.detail
    if cell.status == OK and cell.samples:
        data["median_us"] = round(cell.median / 1000, 4)
        data["min_us"] = round(cell.minimum / 1000, 4)
        data["reps_per_batch"] = cell.reps
        data["samples_us"] = [round(sample / 1000, 4) for sample in cell.samples]
    return data


def scenario_json(
    index: CellIndex, scenario: Scenario, cases: Sequence[Case], libraries: Sequence[str]
) -> dict[str, object]:
    """One scenario for results.json: per-expression cells and ratios, medians."""
    peers = [name for name in libraries if name != "pycron"]
    rows = []
    for case in cases:
        cells = {
            name: cell_json(cell)
            for name in libraries
            if (cell := index.get((scenario.key, case.text, name)))
        }
        found = {peer: ratio(index, scenario.key, case.text, peer) for peer in peers}
        rows.append(
            {
                "expression": case.text,
                "kind": case.kind,
                "cells": cells,
                "ratios": {peer: round(v, 3) for peer, v in found.items() if v is not None},
            }
        )
    medians = {peer: median_ratio(index, scenario.key, cases, peer) for peer in peers}
    return {
        "key": scenario.key,
        "title": scenario.title,
        "median_ratio": {peer: round(v, 3) for peer, v in medians.items() if v is not None},
        "rows": rows,
    }


def verdict_json(verdict: Verdict) -> dict[str, object]:
    """One target for results.json."""
    return {
        "target": verdict.label,
        "required": verdict.required,
        "measured": verdict.measured,
        "result": verdict.word,
        "detail": verdict.detail,
    }


def process_json(process: ProcessResult | None) -> dict[str, object] | None:
    """The start-up measurement for results.json."""
    if process is None:
        return None
    if process.skipped:
        return {"skipped": process.skipped}
    assert process.pycron_ms
    assert process.python_ms
    return {
        "runs": process.runs,
        "pycron_next_ms": [round(t, 3) for t in process.pycron_ms],
        "python_pass_ms": [round(t, 3) for t in process.python_ms],
        "pycron_next_median_ms": round(statistics.median(process.pycron_ms), 3),
        "python_pass_median_ms": round(statistics.median(process.python_ms), 3),
        "difference_ms": round(process.difference_ms, 3),
    }
