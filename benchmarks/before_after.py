"""The preflight's wall time at an earlier commit and now, in one run, alternating (the interior cases and
the builds without a fit must leave a healthy space about as cheap as it was).

    python benchmarks/before_after.py fe2c400            # 3 runs of each, alternating
    python benchmarks/before_after.py fe2c400 --runs 5
    python benchmarks/before_after.py d504505 --only getting-started --now-args="--hypermodel-rehearsal on"

Each run is a fresh ``python -m pytest --hypermodel SPEC`` process (start-up and discovery included), with
``PYTHONPATH`` on a checkout of the earlier commit or on this one; the median of each and their ratio is
printed, with the cases each planned.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

NO_INI = ["-c", "/dev/null", "--rootdir", "."]
RUNS = {
    # name: (directory, pytest arguments)
    "example_project (7 spaces)": ("example_project", ["-c", "pytest.ini"]),
    "getting-started guide": (
        "example_project",
        [*NO_INI, "--hypermodel", "getting_started.py:build_model", "--hypermodel-input-shape", "28,28"],
    ),
    "guides: build_model": (
        "tests/hypermodels",
        [*NO_INI, "--hypermodel", "guides.py:build_model", "--hypermodel-input-shape", "28,28"],
    ),
    "guides: MyHyperModel": (
        "tests/hypermodels",
        [*NO_INI, "--hypermodel", "guides.py:MyHyperModel", "--hypermodel-input-shape", "28,28"],
    ),
}


def checkout(rev: str) -> Path:
    target = Path(tempfile.mkdtemp(prefix="before-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def run(code: Path, directory: str, args: list[str]) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(code)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=code / directory,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    found = re.search(r"(\d+) cases planned", done.stdout)
    return seconds, found.group(1) if found else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the earlier commit")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="")
    parser.add_argument("--now-args", default="", help="options only this commit knows (its new checks turned on)")
    args = parser.parse_args()
    before, after = checkout(args.rev), checkout("HEAD")  # copies: the runs write their reports there
    print(f"{'preflight':28} {'cases then':>10} {'cases now':>9} {'then s':>7} {'now s':>7} {'ratio':>6}")
    for name, (directory, argv) in RUNS.items():
        if args.only and args.only not in name:
            continue
        times: dict[str, list[float]] = {"then": [], "now": []}
        cases = {}
        for _ in range(args.runs):
            for label, code in (("then", before), ("now", after)):
                extra = args.now_args.split() if label == "now" else []
                seconds, cases[label] = run(code, directory, [*argv, *extra])
                times[label].append(seconds)
        then, now = statistics.median(times["then"]), statistics.median(times["now"])
        print(f"{name:28} {cases['then']:>10} {cases['now']:>9} {then:7.1f} {now:7.1f} {now / then:6.2f}", flush=True)
    print(f"medians of {args.runs} runs each, alternating, in one run; then: {args.rev}")


if __name__ == "__main__":
    main()
