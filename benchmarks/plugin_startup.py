"""The CPU cost of an installed but unused plugin at pytest's start, against the same run without it.

    python benchmarks/plugin_startup.py               # 11 pairs
    python benchmarks/plugin_startup.py --pairs 21

Every pytest run of a project that installs pytest-hypermodel loads the plugin, whether or not it preflights
anything, so what the plugin's import and its hooks cost there is paid by every test run. Each pair runs

    python -m pytest --co -q                    # the plugin loaded from its entry point
    python -m pytest --co -q -p no:hypermodel   # the plugin left out

in a temporary folder that holds one trivial test and an empty ``pytest.ini`` (so no project's settings reach
it), with ``PYTEST_ADDOPTS`` cleared. The figure is each child's CPU time (user + system, from ``os.wait4``):
wall time on a shared machine measures its neighbours. The two runs of a pair alternate which goes first, a
warm-up of each runs before the pairs (the disk cache and the bytecode), and the medians are of the runs and of
the pairs' differences, so that a machine whose load drifts moves both sides alike. The target: at most 20 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

COMMAND = [sys.executable, "-m", "pytest", "--co", "-q"]
WITHOUT = ["-p", "no:hypermodel"]
TARGET_MS = 20.0


def cpu_seconds(arguments: list[str], folder: Path, environment: dict[str, str]) -> float:
    """The CPU seconds (user + system) of one collection run in ``folder``, which must collect its one test."""
    child = subprocess.Popen(
        [*COMMAND, *arguments], cwd=folder, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    _, status, usage = os.wait4(child.pid, 0)  # the output is a few lines: the pipe never fills
    child.returncode = os.waitstatus_to_exitcode(status)
    assert child.stdout is not None
    output = child.stdout.read().decode(errors="replace")
    child.stdout.close()
    if child.returncode != 0 or "1 test collected" not in output:
        raise SystemExit(f"{' '.join([*COMMAND, *arguments])} exited {child.returncode}:\n{output[-2000:]}")
    return usage.ru_utime + usage.ru_stime


def plugin_is_loaded(folder: Path, environment: dict[str, str]) -> bool:
    """Whether pytest loads the plugin here at all (its ``--no-hypermodel`` option exists only then)."""
    done = subprocess.run(
        [*COMMAND, "--no-hypermodel"], cwd=folder, env=environment, capture_output=True, text=True, check=False
    )
    return done.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pairs", type=int, default=11, help="pairs of runs, at least 9 (default: 11)")
    args = parser.parse_args()
    if args.pairs < 9:
        parser.error("--pairs: at least 9")
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    }
    with tempfile.TemporaryDirectory(prefix="plugin-startup-") as name:
        folder = Path(name)
        (folder / "pytest.ini").write_text("[pytest]\n")
        (folder / "test_one.py").write_text("def test_one():\n    assert True\n")
        if not plugin_is_loaded(folder, environment):
            raise SystemExit("pytest does not load pytest-hypermodel here: install it (pip install -e .) first")
        cpu_seconds([], folder, environment)  # warm-up of each side: the disk cache and the bytecode
        cpu_seconds(WITHOUT, folder, environment)
        loaded: list[float] = []
        left_out: list[float] = []
        for pair in range(args.pairs):
            if pair % 2 == 0:
                loaded.append(cpu_seconds([], folder, environment))
                left_out.append(cpu_seconds(WITHOUT, folder, environment))
            else:
                left_out.append(cpu_seconds(WITHOUT, folder, environment))
                loaded.append(cpu_seconds([], folder, environment))
            print(
                f"  pair {pair + 1:2}: with {loaded[-1] * 1000:7.1f} ms  without {left_out[-1] * 1000:7.1f} ms",
                file=sys.stderr,
            )
    difference = statistics.median(a - b for a, b in zip(loaded, left_out)) * 1000
    print(f"pytest --co -q on one test, CPU ms, median of {args.pairs} alternating pairs")
    print(f"with the plugin          {statistics.median(loaded) * 1000:7.1f}")
    print(f"with -p no:hypermodel    {statistics.median(left_out) * 1000:7.1f}")
    print(
        f"the plugin's cost        {difference:+7.1f}  (target: at most {TARGET_MS:.0f}; "
        f"{'met' if difference <= TARGET_MS else 'not met'})"
    )


if __name__ == "__main__":
    main()
