"""Model builds a real KerasTuner GridSearch spends, with and without the policy's mapping.

    python benchmarks/search_builds.py

The failed-trials guide's grid (units_1 10..40 step 10, units_2 10..30 step
10, 20 inputs, a plain ValueError above 1200 parameters: 5 of the 12
configurations) with max_retries_per_trial=3, searched through
``Policy.tuner`` twice: without a mapping (KerasTuner retries each
ValueError 3 times in vain) and with ``on={"ValueError": "fail_trial"}``
(the wrapper raises FailedTrialError: one build). Once with
max_consecutive_failed_trials=8 (the search reaches the end of the grid)
and once with KerasTuner's default of 3 (the search aborts). Builds are
counted inside the build function, during ``search()`` (the tuner's one
build of the defaults at construction is not counted). 100 samples,
validation data, epochs=1, as in the guide; TensorFlow backend.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(max_consecutive_failed_trials: int, on: dict) -> dict:
    import keras_tuner as kt
    import numpy as np

    from pytest_hypermodel.rules.policy import Policy
    from tests.hypermodels.guide import guide_grid

    builds: Counter = Counter()
    build_model = guide_grid(ValueError, builds)

    rng = np.random.default_rng(0)
    x, y = rng.random((100, 20)), rng.random((100, 1))
    policy = Policy(max_retries_per_trial=3, max_consecutive_failed_trials=max_consecutive_failed_trials, on=on)
    with tempfile.TemporaryDirectory() as directory:
        tuner = policy.tuner(kt.GridSearch, hypermodel=build_model, objective="val_loss", directory=directory)
        builds.clear()
        started = time.perf_counter()
        aborted = ""
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # KerasTuner's "Trial 0007 failed 1 times." lines
                tuner.search(x, y, validation_data=(x, y), epochs=1, verbose=0)
        except RuntimeError as exc:
            aborted = str(exc).splitlines()[0]
        seconds = time.perf_counter() - started
    statuses = Counter(str(t.status) for t in tuner.oracle.trials.values())
    return {
        "builds": sum(builds.values()),
        "failing_builds": sum(n for (u1, u2), n in builds.items() if 20 * u1 + u1 + u1 * u2 + u2 + u2 + 1 > 1200),
        "trials": len(tuner.oracle.trials),
        "statuses": ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())),
        "aborted": aborted,
        "seconds": seconds,
    }


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, str(ROOT))
    import keras  # noqa: F401  (import first, then freeze: see below)
    import keras_tuner  # noqa: F401

    # KerasTuner runs gc.collect() twice per build; freezing the start-up heap keeps that off the clock,
    # as `python -m pytest_hypermodel search` does. It changes no count.
    gc.collect()
    gc.freeze()
    rows = []
    for limit in (8, 3):
        for label, on in (("none (KerasTuner retries)", {}), ("ValueError=fail_trial", {"ValueError": "fail_trial"})):
            rows.append((limit, label, measure(limit, on)))
    print("guide grid, 12 configurations (5 raise a plain ValueError), GridSearch, max_retries_per_trial=3")
    print(
        f"{'max_consec':>10}  {'mapping':<26} {'builds':>6} {'failing':>7} {'trials':>6}  {'statuses':<22} "
        f"{'seconds':>7}  result"
    )
    for limit, label, r in rows:
        result = f"aborted: {r['aborted']}" if r["aborted"] else "completed the grid"
        print(
            f"{limit:>10}  {label:<26} {r['builds']:>6} {r['failing_builds']:>7} {r['trials']:>6}  "
            f"{r['statuses']:<22} {r['seconds']:>7.2f}  {result}"
        )


if __name__ == "__main__":
    main()
