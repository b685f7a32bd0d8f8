"""What the rehearsal of the search (``--hypermodel-rehearsal``) adds to a preflight: the getting-started guide's
model, with the rehearsal on and off, alternating, in one run.

    python benchmarks/rehearsal_cost.py            # 3 runs of each, alternating
    python benchmarks/rehearsal_cost.py --runs 5

Each run is a fresh ``python -m pytest --hypermodel SPEC`` process (start-up and discovery included), as a user
runs it; the median of each and their ratio is printed. The rehearsal and the checks after it may add at most
half of the preflight (ratio 1.5).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARGS = [
    "-c",
    "/dev/null",
    "--rootdir",
    ".",
    "--hypermodel",
    "getting_started.py:build_model",
    "--hypermodel-input-shape",
    "28,28",
]


def run(rehearsal: str) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *ARGS, "--hypermodel-rehearsal", rehearsal],
        cwd=ROOT / "example_project",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr.strip()[-200:]
    return seconds, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    times: dict[str, list[float]] = {"off": [], "on": []}
    for index in range(runs):
        for mode in ("off", "on") if index % 2 == 0 else ("on", "off"):
            seconds, last = run(mode)
            times[mode].append(seconds)
            print(f"rehearsal {mode:3}: {seconds:6.1f} s  ({last})", flush=True)
    off, on = statistics.median(times["off"]), statistics.median(times["on"])
    print(f"median: off {off:.1f} s, on {on:.1f} s, ratio {on / off:.2f} ({runs} runs of each, alternating)")


if __name__ == "__main__":
    main()
