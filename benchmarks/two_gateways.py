"""The preflight over two xdist gateways, one of them remote (on loopback), against a serial run.

    python benchmarks/two_gateways.py            # 64 grid cases of benchmarks/hypermodels.py:dense6

xdist's remote execution (``--tx ssh=host//python=python3//chdir=/srv/project``) is what spreads the preflight
beyond one machine; an execnet socket gateway on 127.0.0.1 takes the same code path as ``ssh=`` (a worker that is
not ``popen``: it plans its own cases, detects its own devices and keeps its backends' thread pools), so this
measures that route on one machine:

    serial:        python -m pytest --hypermodel SPEC --hypermodel-strategy grid
    two gateways:  ... --dist load --tx socket=127.0.0.1:PORT//chdir=ROOT --tx popen

and prints each run's wall time and how many cases each gateway ran. On a 2-core machine both gateways share the
same two cores, so the figure says what the route costs, not what a second machine would add.

Both runs work in a scratch copy of the SPEC's file: xdist rsyncs pytest and _pytest into the ``//chdir=`` of every
gateway that is not ``popen``, which must not be this repository.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = "benchmarks/hypermodels.py:dense6"


def run(args: list[str], env: dict, cwd: Path) -> tuple[float, Counter, int]:
    """Wall seconds, cases per xdist worker (from ``-v``'s ``[gw0] PASSED`` lines; serially, all "main"), exit code."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    per_worker: Counter = Counter()
    for line in done.stdout.splitlines():
        match = re.match(r"^\[(gw\d+)\] (\[\s*\d+%\] )?(PASSED|FAILED|XFAIL)", line)
        if match:
            per_worker[match.group(1)] += 1
        elif re.search(r"::\S+\[.*\] (PASSED|FAILED|XFAIL)", line):
            per_worker["main"] += 1
    return wall, per_worker, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=SPEC)
    args = parser.parse_args()
    plan = ["--hypermodel", args.spec, "--hypermodel-strategy", "grid", "--hypermodel-boundaries", "off"]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        source = args.spec.rpartition(":")[0]
        (work / source).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / source, work / source)
        server = subprocess.Popen(
            [sys.executable, "-u", "-m", "execnet.script.socketserver", f"127.0.0.1:{port}"],
            cwd=work,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert "Entering Accept loop" in server.stdout.readline()
            serial = run(plan, env, work)
            remote = run(
                [*plan, "--dist", "load", "--tx", f"socket=127.0.0.1:{port}//chdir={work}", "--tx", "popen"], env, work
            )
        finally:
            server.kill()
            server.wait()
    print(f"{'run':<30} {'wall s':>7} {'speedup':>8}  cases per gateway")
    for name, (wall, per_worker, code) in (("serial", serial), ("socket gateway + popen", remote)):
        print(f"{name:<30} {wall:>7.1f} {serial[0] / wall:>8.2f}  {dict(sorted(per_worker.items()))} (exit {code})")


if __name__ == "__main__":
    main()
