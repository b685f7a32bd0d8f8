"""Time a KerasTuner GridSearch (epochs=1) against the plugin's probe of the same configurations.

    python benchmarks/probe_vs_search.py                 # every installed backend
    python benchmarks/probe_vs_search.py --backends jax

Each backend runs in its own process (Keras picks its backend at import).
Within one process, on the same configurations: the GridSearch over the
failed-trials guide's grid (12 trials, 100 samples, validation data,
epochs=1, as in the guide) and the plugin's probe of each of those 12 trials
(build, then fit its default 3 epochs on 32 synthesized samples), then the
probe of the plan the preflight actually runs (default + extremes). Ratios
are computed within one run, since these machines are shared and noisy.

The lookalike is the probe before each case ran as a trial: the same build and checks, then the hypermodel's ``fit()``
called directly, not through the tuner's ``run_trial`` (no checkpoint callback, no ``trial.json``, no copy
of the callbacks, no oracle update). ``trial/lookalike`` is what running each case as KerasTuner's own
trial costs (the limit it is held to: 1.3).

The floor is what no probe can go below: for each of the same 12 trials, a
fresh session, the bare build and one training step (``train_on_batch``) on
the same 32 samples, in the same process. ``--epochs 1`` probes with the
fit the floor is made of (one step), so the remaining gap is the probe's own.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def floor(hypermodel, space, trials: list[dict]) -> float:
    """Seconds for the bare build and one train step of each trial, as tight as Keras allows."""
    import keras
    import numpy as np

    from pytest_hypermodel.probe import discovery

    x, y = np.zeros((32, 20), "float32"), np.zeros((32, 1), "float32")
    started = time.perf_counter()
    for values in trials:
        keras.backend.clear_session()
        model = hypermodel.build(discovery.hyperparameters(space, values))
        model.train_on_batch(x, y)
    return time.perf_counter() - started


def lookalike(hypermodel, space, trials: list[dict], epochs: int) -> float:
    """Seconds for the model-only probe of each trial: build, KerasTuner's model checks, the hypermodel's own
    fit() on 32 synthesized samples with a loss recorder, and KerasTuner's check of what fit() returned."""
    import math

    import keras
    import keras_tuner as kt
    from keras_tuner.src.engine import tuner_utils

    from pytest_hypermodel.probe import data, discovery, fit

    started = time.perf_counter()
    for values in trials:
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        hp = discovery.hyperparameters(space, values)
        model = hypermodel.build(hp)
        assert isinstance(model, keras.Model)
        fit.estimate_memory(model)
        x, y = data.synthesize(model, 32, 0)
        losses: list[float] = []
        recorder = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: losses.append(  # noqa: B023  (called within this iteration)
                float((logs or {}).get("loss", math.nan))
            )
        )
        results = hypermodel.fit(hp, model, x, y, epochs=epochs, verbose=0, callbacks=[recorder])
        tuner_utils.validate_trial_results(results, kt.Objective("loss", "min"), "HyperModel.fit()")
    return time.perf_counter() - started


def measure(epochs: int) -> dict:
    import keras_tuner as kt
    import numpy as np
    from keras_tuner.src.engine.hypermodel import DefaultHyperModel

    sys.path.insert(0, str(ROOT))
    from pytest_hypermodel.probe import fit
    from pytest_hypermodel.probe.discovery import discover
    from pytest_hypermodel.space import plan
    from tests.hypermodels.guide import guide_grid

    hypermodel = DefaultHyperModel(guide_grid(None))
    rng = np.random.default_rng(0)
    x, y = rng.random((100, 20)), rng.random((100, 1))
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        tuner = kt.GridSearch(hypermodel, objective="val_loss", directory=directory, overwrite=True)
        tuner.search(x, y, validation_data=(x, y), epochs=1, verbose=0)
        search_seconds = time.perf_counter() - started
    trials = [t.hyperparameters.values for t in tuner.oracle.trials.values()]

    started = time.perf_counter()
    space = discover(hypermodel)
    discover_seconds = time.perf_counter() - started
    settings = fit.FitSettings(epochs=epochs)
    fit.run(hypermodel, space, plan.Case("warm-up", "trial", trials[0]), settings=settings)  # both start warm
    floor(hypermodel, space, trials[:1])
    started = time.perf_counter()
    for i, values in enumerate(trials):
        fit.run(hypermodel, space, plan.Case(f"trial{i}", "trial", values), settings=settings)
    probe_seconds = time.perf_counter() - started
    lookalike(hypermodel, space, trials[:1], epochs)  # warm, as the probe is
    lookalike_seconds = lookalike(hypermodel, space, trials, epochs)
    floor_seconds = floor(hypermodel, space, trials)
    cases = plan.cases(space)
    started = time.perf_counter()
    for case in cases:
        fit.run(hypermodel, space, case, settings=settings)
    plan_seconds = time.perf_counter() - started
    import keras

    return {
        "backend": keras.backend.backend(),
        "trials": len(trials),
        "search_s": search_seconds,
        "probe_same_s": probe_seconds,
        "lookalike_s": lookalike_seconds,
        "floor_s": floor_seconds,
        "discover_s": discover_seconds,
        "plan_cases": len(cases),
        "plan_s": plan_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="tensorflow,jax,torch")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of each probe's fit (the plugin's default: 3)")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        print(json.dumps(measure(args.epochs)))
        return
    rows = []
    for backend in args.backends.split(","):
        module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[backend]
        if importlib.util.find_spec(module) is None:
            print(f"{backend}: not installed, skipped")
            continue
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
        out = subprocess.run(
            [sys.executable, __file__, "--inner", "--epochs", str(args.epochs)], env=env, capture_output=True, text=True
        )
        if out.returncode != 0:
            print(f"{backend}: failed\n{out.stderr[-2000:]}")
            continue
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"probe epochs: {args.epochs}")
    print(
        f"{'backend':<11} {'trials':>6} {'search s':>9} {'probe s':>8} {'lookalike s':>11} {'floor s':>8} "
        f"{'probe/search':>12} {'trial/lookalike':>15} "
        f"{'probe/floor':>11} {'plan':>5} {'plan s':>7} {'(plan+discover)/search':>23}"
    )
    for r in rows:
        print(
            f"{r['backend']:<11} {r['trials']:>6} {r['search_s']:>9.2f} {r['probe_same_s']:>8.2f} "
            f"{r['lookalike_s']:>11.2f} {r['floor_s']:>8.2f} {r['probe_same_s'] / r['search_s']:>12.2f} "
            f"{r['probe_same_s'] / r['lookalike_s']:>15.2f} "
            f"{r['probe_same_s'] / r['floor_s']:>11.2f} {r['plan_cases']:>5} {r['plan_s']:>7.2f} "
            f"{(r['plan_s'] + r['discover_s']) / r['search_s']:>23.2f}"
        )


if __name__ == "__main__":
    main()
