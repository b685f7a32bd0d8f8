"""Does the same preflight give the same verdict run after run, on every backend?

    python benchmarks/verdict_stability.py                          # 20 runs each of tensorflow, jax, torch
    python benchmarks/verdict_stability.py --runs 5 --backends jax  # 5 runs under JAX

Each run is a fresh Python process (``KERAS_BACKEND`` set to the backend, ``TF_CPP_MIN_LOG_LEVEL=3``), in an empty
temporary directory that is its project (a preflight puts its project's files back as it found them when it ends:
run with this checkout as its project, it would undo edits made meanwhile), that preflights the getting-started
guide's ``build_model`` (``tests/hypermodels/guides.py``: Flatten, 1-3 Dense layers, an optional Dropout, Adam;
no ``keras.Input``, so ``input_shape=(28, 28)``) with
``preflight(..., strategy="default", boundaries=False)``: only the default case, which is the case whose further
trials measure the memory a trial leaves behind (``rss_growth_bytes``). The model keeps nothing between trials, so
every verdict should be green; a red one is a false alarm that a CI gate would show on a healthy model.

Per backend it prints each run's verdict (green/red), the default case's outcome and its growth per trial (MiB),
then the counts and the growth's median and largest; a last line sums the false reds. Exit status 0 when every
run of every backend was green, 1 when any was red, 2 when a run could not give a verdict (it crashed or printed
no report).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ("tensorflow", "jax", "torch")

#: One run, in its own process: the JSON line it prints last is its verdict.
RUN = """
import json, sys
sys.path.insert(0, sys.argv[1])
from pytest_hypermodel import api
from tests.hypermodels.guides import build_model

report = api.preflight(
    build_model, input_shape=(28, 28), strategy="default", boundaries=False, rootpath=sys.argv[2]
)
case = next(c for c in report.cases if c["nodeid"].endswith("[defaults]"))
print(json.dumps({
    "green": report.green,
    "outcome": case.get("outcome"),
    "rss_growth_bytes": case.get("rss_growth_bytes"),
    "message": case.get("message") if case.get("outcome") != "ok" else None,
    "reasons": report.reasons(),
}))
"""


def one_run(backend: str, timeout: float) -> dict:
    """Preflight the guide's model once in a fresh process under ``backend``: its verdict, or ``error``."""
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="verdict-stability-") as project:
            done = subprocess.run(
                [sys.executable, "-c", RUN, str(ROOT), project],
                capture_output=True,
                text=True,
                env=env,
                timeout=timeout,
                cwd=project,
            )
    except subprocess.TimeoutExpired:
        return {"error": f"no verdict in {timeout:.0f} s", "seconds": time.perf_counter() - started}
    seconds = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": f"exit {done.returncode}: {(done.stderr or done.stdout).strip()[-400:]}", "seconds": seconds}
    return {**json.loads(lines[-1]), "seconds": seconds}


def mib(value: float | None) -> str:
    return "-" if value is None else f"{value / 2**20:+.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per backend (default 20)")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated (default: all three)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds one run may take (default 600)")
    args = parser.parse_args()
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    unknown = [name for name in backends if name not in BACKENDS]
    if unknown:
        parser.error(f"unknown backend {', '.join(unknown)}: choose from {', '.join(BACKENDS)}")
    reds = errors = 0
    summaries = []
    for backend in backends:
        print(f"\n{backend}: {args.runs} runs of guides.py:build_model, strategy=default, boundaries=False", flush=True)
        growths, greens, outcomes = [], 0, {}
        for index in range(1, args.runs + 1):
            run = one_run(backend, args.timeout)
            if "error" in run:
                errors += 1
                print(f"  run {index:>2}: ERROR ({run['seconds']:.0f} s) {run['error']}", flush=True)
                continue
            outcomes[run["outcome"]] = outcomes.get(run["outcome"], 0) + 1
            if run["rss_growth_bytes"] is not None:
                growths.append(run["rss_growth_bytes"])
            greens += bool(run["green"])
            verdict = "green" if run["green"] else "RED"
            print(
                f"  run {index:>2}: {verdict:<5} {run['outcome']:<14} growth {mib(run['rss_growth_bytes'])} MiB/trial"
                f"  ({run['seconds']:.0f} s)" + ("" if run["green"] else f"  {'; '.join(run['reasons'])[:300]}"),
                flush=True,
            )
        ran = sum(outcomes.values())
        reds += ran - greens
        line = (
            f"{backend}: {greens} green, {ran - greens} red of {ran} runs; outcomes {outcomes}; growth per trial "
            f"median {mib(statistics.median(growths) if growths else None)} MiB, "
            f"largest {mib(max(growths) if growths else None)} MiB"
        )
        summaries.append(line)
        print(line, flush=True)
    print("\n" + "\n".join(summaries))
    print(f"false reds: {reds}" + (f"; runs without a verdict: {errors}" if errors else ""))
    return 2 if errors else 1 if reds else 0


if __name__ == "__main__":
    sys.exit(main())
