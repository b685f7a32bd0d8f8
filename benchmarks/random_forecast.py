"""The RandomSearch forecast against real KerasTuner searches, model by model.

    python benchmarks/random_forecast.py              # 40 real searches a model
    python benchmarks/random_forecast.py --seeds 100
    python benchmarks/random_forecast.py --seeds 0    # the forecasts alone

Three kinds of space: failures at the corners, failures only inside a range (heads that must divide the units), and
a share of the space over ``max_model_size``. For each: what the forecast said from the extremes' and corners'
share alone ("plan only", before the interior cases), the preflight's forecast (``preflight(...)``, in this
process, epochs=1: the cases and the builds without a fit judge KerasTuner's own draws), the same oracle driven
with the space's true failure rule (what the forecast would say if it knew every configuration's fate), and real
``keras_tuner.RandomSearch`` searches (max_trials=10, the default policy, epochs=1 on 32 random examples) over
seeds drawn, as KerasTuner draws them when given none, from 1 to 10000. A real abort is KerasTuner's RuntimeError
for consecutive failures. Ratios and rates are measured in one run.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras_tuner as kt
import numpy as np

from pytest_hypermodel import preflight
from pytest_hypermodel.rules import abort_rules
from pytest_hypermodel.rules.policy import Policy
from tests.hypermodels import distributed_guide, thresholds
from tests.hypermodels.guide import LIMIT, guide_grid


def _guide_fails(values: dict) -> bool:
    u1, u2 = values["units_1"], values["units_2"]
    return 21 * u1 + u1 * u2 + 2 * u2 + 1 > LIMIT


def _pooling_fails(values: dict) -> bool:
    return any(values[f"pooling{i}"] == "avg" for i in range(values["conv_layers"]))


def _heads_fail(values: dict) -> bool:
    return values["units"] % values["heads"] != 0


def _oversized(values: dict) -> bool:
    w1, w2 = values["width_1"], values["width_2"]
    return 9 * w1 + w1 * w2 + 2 * w2 + 1 > thresholds.MAX_MODEL_SIZE


MODELS = {
    # name: (build, x, y, true failure rule, max_model_size)
    "corners: failed-trials guide grid": (guide_grid(), (32, 20), "regression", _guide_fails, None),
    "corners: distributed-tuning conv": (
        distributed_guide.build_model,
        (32, 28, 28, 1),
        "classes",
        _pooling_fails,
        None,
    ),
    "interior: heads divide units": (thresholds.heads_and_units, (32, 8), "regression", _heads_fail, None),
    "share: 77% over max_model_size": (
        thresholds.oversized_widths,
        (32, 8),
        "regression",
        _oversized,
        thresholds.MAX_MODEL_SIZE,
    ),
}


def _data(shape, kind):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape).astype("float32")
    y = rng.normal(size=(shape[0], 1)).astype("float32") if kind == "regression" else rng.integers(0, 10, shape[0])
    return x, y


def real_abort_rate(build, x, y, seeds: list[int], max_model_size: int | None = None) -> float:
    aborted = 0
    for seed in seeds:
        tuner = kt.RandomSearch(
            build,
            objective="loss",
            max_trials=10,
            seed=seed,
            directory=tempfile.mkdtemp(),
            project_name="bench",
            max_model_size=max_model_size,
        )
        try:
            tuner.search(x, y, epochs=1, verbose=0)
        except RuntimeError:
            aborted += 1
    return aborted / len(seeds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=40, help="real searches per model")
    parser.add_argument("--only", default="", help="only the spaces whose name holds this text")
    args = parser.parse_args()
    seeds = random.Random(1).sample(range(1, 10001), args.seeds)
    rows = []
    for name, (build, shape, kind, fails, max_model_size) in MODELS.items():
        if args.only and args.only not in name:
            continue
        x, y = _data(shape, kind)
        started = time.perf_counter()
        report = preflight(
            build,
            x,
            y,
            epochs=1,
            tuner="RandomSearch",
            max_trials=10,
            boundaries=False,
            rootpath=tempfile.mkdtemp(),
            isolation="off",
            policy=Policy(max_model_size=max_model_size),
        )
        preflight_s = time.perf_counter() - started
        predicted = report.forecast["abort_probability"]
        screen = report.forecast.get("screen") or {}
        started = time.perf_counter()
        observed = real_abort_rate(build, x, y, seeds, max_model_size) if seeds else float("nan")
        search_s = time.perf_counter() - started
        rows.append(
            (
                name,
                predicted,
                _truth(build, fails),
                observed,
                preflight_s,
                search_s / max(1, len(seeds)),
                _plan_only(report, max_model_size),
                screen.get("built", 0),
                screen.get("per_second", 0.0),
            )
        )
    print(
        f"{'space':34} {'plan only':>9} {'forecast':>9} {'true rule':>9} {'real':>9}   builds   per s   "
        f"preflight s   s per search"
    )
    for name, predicted, truth, observed, preflight_s, per_search, plan_only, built, rate in rows:
        print(
            f"{name:34} {plan_only:9.0%} {predicted:9.0%} {truth:9.0%} {observed:9.0%}   {built:6}   {rate:5.0f}   "
            f"{preflight_s:11.1f}   {per_search:12.1f}"
        )
    print(f"real: {args.seeds} RandomSearch searches a model (max_trials=10, max_consecutive_failed_trials=3)")


def _plan_only(report, max_model_size) -> float:
    """What the forecast said before the interior cases: the share of the extremes' and corners' cases that end
    FAILED, trials taken as independent (``abort_rules.abort_probability``)."""
    from pytest_hypermodel.rules.policy import Disposition

    planned = [c for c in report.cases if c["case.kind"] in ("default", "extreme", "choice", "corner")]
    rate, fatal = abort_rules.failure_rates([Disposition(c["disposition"], int(c["runs"])) for c in planned])
    return abort_rules.abort_probability(rate, 10, Policy(max_model_size=max_model_size), fatal)


def _truth(build, fails) -> float:
    """The oracle driven over the forecast's seeds with the model's true failure rule."""
    from pathlib import Path as _Path

    from keras_tuner.src.engine.hypermodel import get_hypermodel

    from pytest_hypermodel.probe.prepare import PlanOptions, prepare_target
    from pytest_hypermodel.space.target import Target

    pre = prepare_target(
        Target("m", _Path("m.py"), "m", get_hypermodel(build)), PlanOptions(tuner="RandomSearch", max_trials=10)
    )
    judge = lambda values: "failed" if fails(values) else None  # noqa: E731
    return abort_rules.judge_draws(pre.draws, judge, Policy()).probability


if __name__ == "__main__":
    main()
