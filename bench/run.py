"""Speed benchmark of pycron's expression engine against croniter and cronsim.

Run with `make bench` (or `python bench/run.py --quick` for a smoke run). See
bench/README.md for what is measured and how; the results also go to
bench/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from corpus import CORPUS, ITER_STEPS, Case
from libraries import Library, Pycron, load_peers
from measure import SCENARIOS, Scenario, build_cells, measure
from parsing import CrontabResult, crontab_block, crontab_json, measure_crontab
from process import ProcessResult, measure_process
from report import (
    evaluate,
    exclusions,
    index_cells,
    process_block,
    process_json,
    scenario_json,
    scenario_table,
    slowest,
    targets_block,
    verdict_json,
)

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RELEASE_ENV = BENCH / ".venv-release"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line; --quick changes the defaults of the sizes it names."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run, figures rough")
    parser.add_argument("--filter", metavar="REGEX", help="only expressions matching REGEX")
    parser.add_argument(
        "--scenarios",
        metavar="KEYS",
        help="comma-separated scenario keys: " + ", ".join(s.key for s in SCENARIOS),
    )
    parser.add_argument("--rounds", type=int, help="timing rounds (default 15, quick 3)")
    parser.add_argument(
        "--batch-ms", type=float, help="target length of one timed batch (default 5, quick 1)"
    )
    parser.add_argument("--process-runs", type=int, help="`pycron next` runs (default 30, quick 5)")
    parser.add_argument("--no-process", action="store_true", help="skip the start-up part")
    parser.add_argument(
        "--no-crontab", action="store_true", help="skip the crontab part (10,000-job parse())"
    )
    parser.add_argument(
        "--daemon",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="then run the daemon benchmark, bench/daemon.py (default: yes; quick with --quick)",
    )
    parser.add_argument(
        "--json", type=Path, default=BENCH / "results.json", help="where to write the results"
    )
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (3 if args.quick else 15)
    args.batch_ms = args.batch_ms or (1.0 if args.quick else 5.0)
    args.process_runs = args.process_runs or (5 if args.quick else 30)
    return args


def choose_cases(pattern: str | None) -> list[Case]:
    """The corpus, or the expressions matching --filter."""
    if not pattern:
        return list(CORPUS)
    found = [case for case in CORPUS if re.search(pattern, case.text)]
    if not found:
        sys.exit(f"bench: --filter {pattern!r} matches no corpus expression")
    return found


def choose_scenarios(keys: str | None) -> list[Scenario]:
    """All scenarios, or those named by --scenarios."""
    if not keys:
        return list(SCENARIOS)
    wanted = [key.strip() for key in keys.split(",") if key.strip()]
    known = {scenario.key: scenario for scenario in SCENARIOS}
    unknown = [key for key in wanted if key not in known]
    if unknown:
        sys.exit(f"bench: unknown scenario {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[key] for key in wanted]


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or what platform knows)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_revision() -> str:
    """The work tree's commit, with "+dirty" if it has changes ("?" without git)."""
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "pycron"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return head + ("+dirty" if dirty else "")


def machine(libraries: Sequence[Library]) -> dict[str, object]:
    """What the figures were measured on."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else [],
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "versions": {library.name: library.version for library in libraries},
        "pycron_revision": git_revision(),
    }


def print_machine(info: dict[str, object]) -> None:
    """The header of the report."""
    versions = info["versions"]
    assert isinstance(versions, dict)
    print("pycron speed benchmark")
    print(f"  cpu      {info['cpu']} ({info['cores']} cores, {info['usable_cores']} usable)")
    print(f"  load     {info['load_average']}")
    print(f"  python   {info['python']} on {info['platform']}")
    print("  versions " + ", ".join(f"{name} {version}" for name, version in versions.items()))
    print(f"  pycron   revision {info['pycron_revision']}")


def main(argv: Sequence[str] | None = None) -> int:
    """Check, time, print and save; the exit status is 0 whatever the figures."""
    args = parse_args(argv)
    began = time.monotonic()
    cases = choose_cases(args.filter)
    scenarios = choose_scenarios(args.scenarios)
    try:
        pycron = Pycron()
    except ImportError as error:
        sys.exit(f"bench: cannot import pycron ({error}); run `make bench` from the repo root")
    peers, missing = load_peers()
    libraries: list[Library] = [pycron, *peers]
    names = [library.name for library in libraries]

    info = machine(libraries)
    print_machine(info)
    for note in missing:
        print(f"  missing  {note}")
    print(
        f"  settings {len(cases)} expressions, {args.rounds} rounds, batches of ~{args.batch_ms:g}"
        f" ms, {ITER_STEPS} items per iterator" + (" (QUICK RUN)" if args.quick else "")
    )
    print()

    cells = build_cells(scenarios, cases, pycron, peers)
    print(exclusions(cells))
    print()
    measure(cells, args.rounds, int(args.batch_ms * 1e6))
    index = index_cells(cells)
    for scenario in scenarios:
        print(scenario_table(index, scenario, cases, names, args.rounds))
        print(slowest(index, scenario, cases, 3))
        print()

    crontab: CrontabResult | None = None
    if not args.no_crontab:
        crontab = measure_crontab(libraries, args.rounds)
        print(crontab_block(crontab))
        print()

    process: ProcessResult | None = None
    if not args.no_process:
        process = measure_process(ROOT, RELEASE_ENV, args.process_runs)
        print(process_block(process))
        print()

    caveats = [
        name for flag, name in ((args.quick, "quick run"), (args.filter, "filtered")) if flag
    ]
    if len(scenarios) < len(SCENARIOS):
        caveats.append("some scenarios only")
    verdicts = evaluate(index, scenarios, cases, process, crontab)
    print(targets_block(verdicts, ", ".join(caveats)))

    daemon: dict[str, object] | None = None
    if args.daemon:
        import daemon as daemon_bench  # noqa: PLC0415 - starts daemons; only when asked

        print()
        daemon_options = daemon_bench.parse_args(["--quick"] if args.quick else [])
        daemon = daemon_bench.run_benchmark(daemon_options, header=False)

    results = {
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": info,
        "settings": {
            "quick": args.quick,
            "filter": args.filter,
            "rounds": args.rounds,
            "batch_ms": args.batch_ms,
            "iter_items_per_iterator": ITER_STEPS,
            "expressions": len(cases),
        },
        "scenarios": [scenario_json(index, s, cases, names) for s in scenarios],
        "process": process_json(process),
        "crontab": crontab_json(crontab),
        "targets": [verdict_json(verdict) for verdict in verdicts],
        "daemon": daemon,
        "seconds": round(time.monotonic() - began, 1),
    }
    args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"\nresults written to {args.json}; took {results['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
