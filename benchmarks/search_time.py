"""The preflight's estimate of a search's time against a real KerasTuner search's (time per trial).

    python benchmarks/search_time.py
    python benchmarks/search_time.py --trials 6

For each model of ``tests/hypermodels/speed.py`` (a Dense net, a small conv net, an LSTM), on random data of the
search's size: the preflight (``preflight(..., data={x, y, epochs, batch_size})``, in a probe process, its
default plan) and its ``forecast.timing``: the trials' seconds estimated from the cases' own batches and epochs,
and a real ``keras_tuner.RandomSearch`` of as many trials with the same ``epochs`` and ``batch_size``, timed, in
this process, one after the other (a ratio measured in one run). "cases only" is the estimate without the
search's data: trials as small as the cases.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras_tuner as kt
import numpy as np

from pytest_hypermodel import preflight
from tests.hypermodels import speed

RUNS = {
    # name: (build, x shape, y kind, epochs, batch_size)
    "dense: 4000 x 32, 5 epochs of 125": ("dense_mlp", (4000, 32), "regression", 5, 32),
    "conv: 2000 x 28x28, 3 epochs of 32": ("small_conv", (2000, 28, 28, 1), "classes", 3, 64),
    "lstm: 2000 x 20x8, 3 epochs of 63": ("lstm_stack", (2000, 20, 8), "regression", 3, 32),
}


def _data(shape, kind):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape).astype("float32")
    y = rng.normal(size=(shape[0], 1)).astype("float32") if kind == "regression" else rng.integers(0, 10, shape[0])
    return x, y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4, help="max_trials of the search")
    args = parser.parse_args()
    print(
        f"{'model':36} {'cases only s':>12} {'estimate s':>10} {'real s':>8} {'estimate/real':>13} {'preflight s':>11}"
    )
    for name, (build, shape, kind, epochs, batch_size) in RUNS.items():
        x, y = _data(shape, kind)
        started = time.perf_counter()
        report = preflight(
            f"tests/hypermodels/speed.py:{build}",
            data={"x": x, "y": y, "epochs": epochs, "batch_size": batch_size},
            boundaries=False,
            max_trials=args.trials,
            rootpath=ROOT,
        )
        preflight_s = time.perf_counter() - started
        timing = report.forecast["timing"]
        cases_only = (
            sum(c["seconds"] for c in report.cases if c["disposition"] == "completed")
            / max(1, sum(c["disposition"] == "completed" for c in report.cases))
            * args.trials
        )
        tuner = kt.RandomSearch(
            getattr(speed, build),
            objective="loss",
            max_trials=args.trials,
            seed=1,
            directory=tempfile.mkdtemp(),
            project_name="time",
        )
        started = time.perf_counter()
        tuner.search(x, y, epochs=epochs, batch_size=batch_size, verbose=0)
        real = time.perf_counter() - started
        print(
            f"{name:36} {cases_only:12.1f} {timing['search_seconds']:10.1f} {real:8.1f} "
            f"{timing['search_seconds'] / real:13.2f} {preflight_s:11.1f}"
        )


if __name__ == "__main__":
    main()
