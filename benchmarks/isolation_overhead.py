"""What does containment cost? The same 64-case preflight with each --hypermodel-isolation mode.

    python benchmarks/isolation_overhead.py                    # off and process, twice each, interleaved
    python benchmarks/isolation_overhead.py --modes off process case --repeat 1

Every run is the real plugin on the same plan (``benchmarks/hypermodels.py:dense6``,
``--hypermodel-strategy grid``: 64 tiny cases, so per-case overhead dominates):

    python -m pytest --hypermodel benchmarks/hypermodels.py:dense6 --hypermodel-strategy grid \\
        -p no:cacheprovider -q --hypermodel-isolation MODE

Modes (see pytest_hypermodel/probe/parent.py): ``off`` runs the user's code in the pytest process (a crash
ends the run), ``process`` in one persistent probe process (the default: a crash is that case's
result), ``case`` in a fresh process per case. Runs are interleaved (off, process, off, process, ...)
and the best of each mode is kept, since these machines are shared and noisy; ratios are to ``off``
within this one invocation.

Columns: wall (seconds a user waits, launch to exit), CPU s (all processes of the run), and
wall / off.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMAND = [
    sys.executable,
    "-m",
    "pytest",
    "--hypermodel",
    "benchmarks/hypermodels.py:dense6",
    "--hypermodel-strategy",
    "grid",
    "-p",
    "no:cacheprovider",
    "-q",
    "-p",
    "no:xdist",
]


def run(mode: str) -> tuple[float, float]:
    """Wall and CPU seconds of one preflight."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([*COMMAND, "--hypermodel-isolation", mode], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if "64 passed" not in done.stdout:
        raise SystemExit(
            f"--hypermodel-isolation {mode}: not 64 passing cases:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", default=["off", "process"], choices=["off", "process", "case"])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.repeat):
        for mode in args.modes:
            wall, cpu = run(mode)
            print(f"  {mode:8} wall {wall:6.1f} s  CPU {cpu:6.1f} s", file=sys.stderr)
            if mode not in best or wall < best[mode][0]:
                best[mode] = (wall, cpu)
    reference = best.get("off", next(iter(best.values())))[0]
    print(f"64 cases ({os.cpu_count()} cores), best of {args.repeat}:")
    print(f"{'mode':8} {'wall s':>7} {'CPU s':>7} {'/ off':>6}")
    for mode, (wall, cpu) in best.items():
        print(f"{mode:8} {wall:7.1f} {cpu:7.1f} {wall / reference:6.2f}")


if __name__ == "__main__":
    main()
