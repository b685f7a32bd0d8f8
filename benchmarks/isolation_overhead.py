"""What does containment cost? The same 64-case preflight with each --hypermodel-isolation mode.

    python benchmarks/isolation_overhead.py                    # off and process, twice each, interleaved
    python benchmarks/isolation_overhead.py --modes off process case --repeat 1
    python benchmarks/isolation_overhead.py --modes process process+warm case case+warm --repeat 1

Every run is the real plugin on the same plan (``benchmarks/hypermodels.py:dense6``,
``--hypermodel-strategy grid``: 64 tiny cases, so per-case overhead dominates):

    python -m pytest --hypermodel benchmarks/hypermodels.py:dense6 --hypermodel-strategy grid \\
        -p no:cacheprovider -q --hypermodel-isolation MODE

Modes (see pytest_hypermodel/probe/parent.py): ``off`` runs the user's code in the pytest process (a crash
ends the run), ``process`` in one persistent probe process (the default: a crash is that case's
result), ``case`` in a fresh process per case; ``+warm``: the same, with each probe process forked from a warm
process that imported the backend once (``pytest_hypermodel.probe.warm``, started once by this script). Runs are
interleaved (off, process, off, process, ...)
and the best of each mode is kept, since these machines are shared and noisy; ratios are to ``off``
within this one invocation.

Columns: wall (seconds a user waits, launch to exit), CPU s (all processes of the run; for a ``+warm`` mode
without the forked probe processes, which are the warm process's children: "-"), and wall / off.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from pytest_hypermodel.probe import warm

ROOT = Path(__file__).resolve().parents[1]
WARM_VARIABLE = warm.VARIABLE
MODES = ["off", "process", "case", "process+warm", "case+warm"]
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


def run(mode: str, warm_address: str | None) -> tuple[float, float]:
    """Wall and CPU seconds of one preflight."""
    isolation, _, warm = mode.partition("+")
    env = {name: value for name, value in os.environ.items() if name != WARM_VARIABLE}
    if warm:
        env[WARM_VARIABLE] = str(warm_address)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [*COMMAND, "--hypermodel-isolation", isolation], cwd=ROOT, capture_output=True, text=True, env=env
    )
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
    parser.add_argument("--modes", nargs="+", default=["off", "process"], choices=MODES)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    best: dict[str, tuple[float, float]] = {}
    with warm.Server() as server:
        for _ in range(args.repeat):
            for mode in args.modes:
                wall, cpu = run(mode, server.address)
                print(f"  {mode:12} wall {wall:6.1f} s  CPU {cpu:6.1f} s", file=sys.stderr)
                if mode not in best or wall < best[mode][0]:
                    best[mode] = (wall, cpu)
    reference = best.get("off", next(iter(best.values())))[0]
    print(f"64 cases ({os.cpu_count()} cores), best of {args.repeat}:")
    print(f"{'mode':12} {'wall s':>7} {'CPU s':>7} {'/ off':>6}")
    for mode, (wall, cpu) in best.items():
        shown = "-" if "+warm" in mode else f"{cpu:.1f}"
        print(f"{mode:12} {wall:7.1f} {shown:>7} {wall / reference:6.2f}")


if __name__ == "__main__":
    main()
