"""What does a fresh state per request cost? Restoring it in the probe process, against starting a new one.

    python benchmarks/fresh_state.py

Each probe request starts from the state a fresh probe process has (``child.Fresh``: Keras's config and
dtype policy, the working directory, ``sys.path``, ``os.environ``, the standard streams, the random
generators). Two ways to get there: restore a snapshot in the running process (what the probe process
does), or start a fresh one (what ``--hypermodel-isolate`` does, a backend import each time). Prints the
median of restoring after a build changed everything, and the time from starting a probe process to its
first answer.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def restore_seconds(repeat: int = 2000) -> float:
    import keras

    from pytest_hypermodel.probe import child, devices

    devices.load_backend()
    child._streams = child.Streams.take()
    fresh = child.Fresh.take()
    times = []
    cwd = os.getcwd()
    for _ in range(repeat):
        keras.config.set_floatx("float16")
        os.environ["CHANGED_BY_A_BUILD"] = "1"
        sys.path.insert(0, "/changed")
        os.chdir("/")
        started = time.perf_counter()
        fresh.restore()
        times.append(time.perf_counter() - started)
    assert keras.config.floatx() == "float32" and os.getcwd() == cwd and "/changed" not in sys.path
    return statistics.median(times)


def start_seconds(repeat: int = 3) -> float:
    from pytest_hypermodel.probe import parent

    times = []
    for _ in range(repeat):
        runner = parent.ProbeProcess(ROOT)
        started = time.perf_counter()
        try:
            runner.ready()
            times.append(time.perf_counter() - started)
        finally:
            runner.close()
    return statistics.median(times)


def main() -> None:
    start = start_seconds()
    restore = restore_seconds()
    print(f"restore in the probe process: {restore * 1e6:.0f} µs (median of 2000)")
    print(f"a fresh probe process, to ready: {start:.2f} s (median of 3)")
    print(f"ratio: {start / restore:,.0f}x")


if __name__ == "__main__":
    main()
