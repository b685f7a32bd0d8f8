"""The RandomSearch forecast against real KerasTuner searches, model by model.

    python benchmarks/random_forecast.py              # 40 real searches a model
    python benchmarks/random_forecast.py --seeds 100
    python benchmarks/random_forecast.py --seeds 0    # the forecasts alone

For each model: the preflight's forecast (``preflight(...)``, in this process, epochs=1), the same oracle
driven with the model's true failure rule (what the forecast would say if it knew every configuration's fate),
and real ``keras_tuner.RandomSearch`` searches (max_trials=10, the default policy, epochs=1 on 32 random
examples) over seeds drawn, as KerasTuner draws them when given none, from 1 to 10000. A real abort is
KerasTuner's RuntimeError for consecutive failures. Ratios and rates are measured in one run.
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

import keras_tuner as kt  # noqa: E402
import numpy as np  # noqa: E402

from tests.hypermodels import distributed_guide  # noqa: E402
from tests.hypermodels.guide import LIMIT, guide_grid  # noqa: E402
from pytest_hypermodel import forecast, preflight  # noqa: E402
from pytest_hypermodel.policy import Policy  # noqa: E402


def _guide_fails(values: dict) -> bool:
    u1, u2 = values["units_1"], values["units_2"]
    return 21 * u1 + u1 * u2 + 2 * u2 + 1 > LIMIT


def _pooling_fails(values: dict) -> bool:
    return any(values[f"pooling{i}"] == "avg" for i in range(values["conv_layers"]))


MODELS = {
    # name: (build, x, y, true failure rule)
    "failed-trials guide grid": (guide_grid(), (32, 20), "regression", _guide_fails),
    "distributed-tuning conv model": (distributed_guide.build_model, (32, 28, 28, 1), "classes", _pooling_fails),
}


def _data(shape, kind):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape).astype("float32")
    y = rng.normal(size=(shape[0], 1)).astype("float32") if kind == "regression" else rng.integers(0, 10, shape[0])
    return x, y


def real_abort_rate(build, x, y, seeds: list[int]) -> float:
    aborted = 0
    for seed in seeds:
        tuner = kt.RandomSearch(build, objective="loss", max_trials=10, seed=seed, directory=tempfile.mkdtemp(),
                                project_name="bench")
        try:
            tuner.search(x, y, epochs=1, verbose=0)
        except RuntimeError:
            aborted += 1
    return aborted / len(seeds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=40, help="real searches per model")
    args = parser.parse_args()
    seeds = random.Random(1).sample(range(1, 10001), args.seeds)
    rows = []
    for name, (build, shape, kind, fails) in MODELS.items():
        x, y = _data(shape, kind)
        started = time.perf_counter()
        report = preflight(build, x, y, epochs=1, tuner="RandomSearch", max_trials=10, boundaries=False,
                           rootpath=tempfile.mkdtemp(), isolation="off")
        preflight_s = time.perf_counter() - started
        predicted = report.forecast["abort_probability"]
        started = time.perf_counter()
        observed = real_abort_rate(build, x, y, seeds) if seeds else float("nan")
        search_s = time.perf_counter() - started
        rows.append((name, predicted, _truth(build, fails), observed, preflight_s, search_s / max(1, len(seeds))))
    print(f"{'model':32} {'forecast':>9} {'true rule':>9} {'real':>9}   preflight s   s per search")
    for name, predicted, truth, observed, preflight_s, per_search in rows:
        print(f"{name:32} {predicted:9.0%} {truth:9.0%} {observed:9.0%}   {preflight_s:11.1f}   {per_search:12.1f}")
    print(f"real: {args.seeds} RandomSearch searches a model (max_trials=10, max_consecutive_failed_trials=3)")


def _truth(build, fails) -> float:
    """The oracle driven over the forecast's seeds with the model's true failure rule."""
    from pathlib import Path as _Path

    from keras_tuner.src.engine.hypermodel import get_hypermodel

    from pytest_hypermodel.prepare import PlanOptions, prepare_target
    from pytest_hypermodel.spec import Target

    pre = prepare_target(Target("m", _Path("m.py"), "m", get_hypermodel(build)), PlanOptions(tuner="RandomSearch",
                                                                                            max_trials=10))
    judge = lambda values: "failed" if fails(values) else None  # noqa: E731
    return forecast.judge_draws(pre.draws, judge, Policy()).probability


if __name__ == "__main__":
    main()
