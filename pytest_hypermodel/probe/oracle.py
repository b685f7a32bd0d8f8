"""Drives KerasTuner's own oracles and the tuner's constructor, for the forecast.

What KerasTuner would hand out is not re-implemented: a GridSearch's trial order comes from its own
``GridSearchOracle`` driven trial by trial, a random tuner's draws from its own ``RandomSearchOracle`` seed by seed,
and the builds a tuner's constructor does before trial 0 are done here on the user's hypermodel. So this runs where
the user's code runs (the probe process, or the caller's with isolation off); Keras and KerasTuner load inside
the functions. What it returns is plain data (values, a ``ConstructorForecast``) that ``rules.abort_rules``
judges without Keras.
"""

from __future__ import annotations

import copy
import itertools
import random
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_hypermodel.rules import outcomes
from pytest_hypermodel.rules.abort_rules import (
    Forecast,
    first_line,
    forecast_sequence,
    join_words,
)
from pytest_hypermodel.rules.policy import (
    FAILED,
    RETRIED_THEN_FAILED,
    STOPS_SEARCH,
    Disposition,
    Policy,
)
from pytest_hypermodel.space.hyperparameters import SearchSpace

# --------------------------------------------------------------------------- the constructor's builds


@dataclass
class ConstructorForecast:
    """The builds a tuner's constructor does before trial 0, and their chance to crash it."""

    #: Probability that the constructor raises (1.0: it always does; a lower bound when draws were capped).
    crash_probability: float = 0.0
    #: ``"ExceptionClass: message"`` of the first crashing build.
    error: str | None = None
    #: Which build crashed: ``"defaults"`` or the activated scope, e.g. ``"arch='wide'"``.
    scope: str | None = None
    #: The values that build had.
    values: dict | None = None
    #: Hyperparameters drawn at random for that build (KerasTuner's ``ensure_active_values``).
    drawn: list[str] = field(default_factory=list)
    builds: int = 0
    #: The space the constructor registers (a ``kt.HyperParameters``; None when the crash is certain).
    hyperparameters: Any = None

    def describe(self) -> str:
        """The first crashing build, in a phrase (empty when none crashes)."""
        if self.error is None:
            return ""
        if self.scope == "defaults":
            return f"building the defaults raises {first_line(self.error)}"
        values = ", ".join(f"{k}={v!r}" for k, v in (self.values or {}).items() if k in self.drawn)
        how = f" with {join_words(self.drawn)} drawn at random" if self.drawn else ""
        return f"building {self.scope}{how} raises {first_line(self.error)}" + (f" (at {values})" if values else "")


def _draw_values(hp) -> list:
    """The values ``hp.random_sample()`` picks among, equally likely (decile midpoints for a long or continuous
    range)."""
    values = list(itertools.islice(hp.values, 17))  # not the billion values of hp.Int("seed", 0, 10**9)
    if len(values) <= 16:
        return values
    return list(dict.fromkeys(hp.prob_to_value((i + 0.5) / 10) for i in range(10)))


def _draws(hp, budget: int) -> list[tuple[Any, float, list[str]]]:
    """Every outcome of ``hp.ensure_active_values()`` with its probability, instead of one random one.

    KerasTuner drops inactive values and gives each active hyperparameter
    without a value ``random_sample()`` (``hyperparameters.py``
    ``ensure_active_values``); here each such value is tried, recursively
    for what it activates in turn, up to ``budget`` outcomes.
    """
    for h in hp.space:
        if not hp.is_active(h):
            hp.values.pop(h.name, None)
    outcomes_: list[tuple[Any, float, list[str]]] = []

    def expand(current, weight: float, drawn: list[str]) -> None:
        if len(outcomes_) >= budget:
            return
        missing = next((h for h in current.space if current.is_active(h) and h.name not in current.values), None)
        if missing is None:
            outcomes_.append((current, weight, drawn))
            return
        values = _draw_values(missing)
        for value in values:
            nxt = current.copy()
            nxt.values[missing.name] = value
            expand(nxt, weight / len(values), [*drawn, missing.name])

    expand(hp, 1.0, [])
    return outcomes_


def constructor_forecast(hypermodel, max_draws: int = 16, max_scopes: int = 100) -> ConstructorForecast:
    """What a tuner's constructor does before any trial, without constructing one.

    Mirrors ``BaseTuner._populate_initial_space`` and
    ``_activate_all_conditions`` (``engine/base_tuner.py``): declare, build
    with the defaults, then, while a conditional scope has never been
    active, build again with its parents set to the first value of each
    condition. None of these builds is inside a ``try``: any exception
    kills the tuner before trial 0. KerasTuner fills the hyperparameters
    that such a build newly activates with ``random_sample()``, so the
    crash can be a matter of luck: each of their values is built here
    instead (up to ``max_draws`` per scope, the rest counted as not
    crashing), giving the probability that the constructor crashes. The
    first draw that builds carries the walk on, as one random draw would.
    """
    import keras
    import keras_tuner as kt
    from keras_tuner.src.engine import hypermodel as hm_module

    builder = hm_module.get_hypermodel(hypermodel)
    oracle = kt.oracles.GridSearchOracle()
    forecast = ConstructorForecast()

    def build(hp) -> str | None:
        forecast.builds += 1
        try:
            builder.build(hp)
        except Exception as exc:  # the user's build failing is the forecast
            return f"{type(exc).__name__}: {outcomes.text_of(exc)}"
        finally:
            keras.backend.clear_session()
        return None

    hp = oracle.get_space()
    try:
        builder.declare_hyperparameters(hp)
    except Exception as exc:
        forecast.crash_probability, forecast.error, forecast.scope = (
            1.0,
            f"{type(exc).__name__}: {outcomes.text_of(exc)}",
            "defaults",
        )
        return forecast
    oracle.update_space(hp)

    never_active: list = []
    once_active: list = []
    draws: list[tuple[Any, float, list[str]]] = [(oracle.get_space(), 1.0, [])]
    scope = "defaults"
    survives = 1.0
    for _ in range(max_scopes):
        built = None
        crashed = 0.0
        for candidate, weight, drawn in draws:
            error = build(candidate)
            if error is None:
                built = built or candidate
                continue
            crashed += weight
            if forecast.error is None:
                forecast.error, forecast.scope = error, scope
                forecast.values, forecast.drawn = dict(candidate.values), list(drawn)
        survives *= 1.0 - crashed
        if built is None:
            forecast.crash_probability = 1.0
            return forecast
        oracle.update_space(built)
        for conditions in built.active_scopes:
            if conditions not in once_active:
                once_active.append(copy.deepcopy(conditions))
            if conditions in never_active:
                never_active.remove(conditions)
        for conditions in built.inactive_scopes:
            if conditions not in once_active:
                never_active.append(copy.deepcopy(conditions))
        if not never_active:
            break
        hp = oracle.get_space()
        for condition in never_active[0]:
            hp.values[condition.name] = condition.values[0]
        scope = ", ".join(f"{condition.name}={condition.values[0]!r}" for condition in never_active[0])
        draws = _draws(hp, max_draws)
    forecast.crash_probability = 1.0 - survives
    forecast.hyperparameters = oracle.hyperparameters
    return forecast


# --------------------------------------------------------------------------- grid order


def _hp_objects(kt_config: Mapping) -> list:
    import keras_tuner as kt

    # from_config rewrites the config it is given: always hand it a copy.
    return list(kt.HyperParameters.from_config({"space": copy.deepcopy(list(kt_config["space"])), "values": {}}).space)


def _walk_grid(
    space: SearchSpace,
    max_trials: int | None = None,
    hypermodel=None,
    start=None,
) -> Iterator[tuple[str, dict]]:
    """Yield ``(trial_id, values)`` as KerasTuner's GridSearchOracle hands trials out.

    Each trial is ended COMPLETED with a dummy score, as the tuner's loop does
    (``create_trial`` -> run -> ``end_trial``); the oracle's order does not
    depend on a trial's status (``GridSearchOracle.end_trial`` re-queues every
    trial), nor on retries (the retry queue serves the same trial again).
    """
    import keras
    import keras_tuner as kt
    from keras_tuner.src.engine import hypermodel as hm_module
    from keras_tuner.src.engine import trial as trial_module

    builder = hm_module.get_hypermodel(hypermodel) if hypermodel is not None else None
    hps = _hp_objects(space.kt_config)
    dynamic = [hp for hp in hps if hp.name in space.by_name and space.by_name[hp.name].dynamic]
    if start is not None:
        pass
    elif hypermodel is not None:
        constructor = constructor_forecast(hypermodel)
        if constructor.hyperparameters is None:
            raise ValueError(f"the tuner's constructor cannot build this hypermodel: {constructor.describe()}")
        start = constructor.hyperparameters
    else:
        start = kt.HyperParameters()
        dynamic_ids = {id(hp) for hp in dynamic}
        start.merge([hp for hp in hps if id(hp) not in dynamic_ids])
    defaults = space.defaults()

    with tempfile.TemporaryDirectory(prefix="hypermodel-grid-") as directory, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # KerasTuner's oracle calls threading.currentThread()
        oracle = kt.oracles.GridSearchOracle(objective=kt.Objective("score", "min"), max_trials=max_trials)
        oracle._set_project_dir(directory, "forecast")
        # Persistence only (oracle.json, trial.json: five file writes a trial through
        # TensorFlow's file_io); the order never reads them back.
        _quiet_oracle(oracle)
        # What the tuner's constructor does: merge the declared space, defaults as values.
        oracle.update_space(start)
        while True:
            trial = oracle.create_trial("forecast")
            if trial.status == trial_module.TrialStatus.STOPPED:
                return
            if trial.status != trial_module.TrialStatus.RUNNING:  # IDLE: only with parallel tuners
                raise RuntimeError(f"GridSearchOracle answered {trial.status} to a single tuner")
            hp = trial.hyperparameters
            # Build or infer only while the space can still grow: names discovery found
            # that the defaults and the conditional scopes did not reveal.
            known = {h.name for h in oracle.hyperparameters.space}
            grows = any(p.name not in known for p in space.params)
            if grows and builder is not None:
                # As the tuner's build does: new names register into the trial's hp.
                try:
                    builder.build(hp)
                except Exception:  # a failing trial still declared what it read
                    pass
                finally:
                    keras.backend.clear_session()
            elif grows:
                # Without the build: a dynamic hp registers at the first trial whose
                # values make it read, as far as discovery saw (SearchSpace.is_active).
                current = {**defaults, **hp.values}
                new = [d for d in dynamic if not hp._exists(d.name, d.conditions) and space.is_active(d.name, current)]
                hp.merge(new, overwrite=False)
            yield trial.trial_id, dict(hp.values)
            oracle.update_trial(trial.trial_id, {"score": 0.0})
            trial.status = trial_module.TrialStatus.COMPLETED
            oracle.end_trial(trial)


def grid_order(space: SearchSpace, max_trials: int | None = None, hypermodel=None) -> list[dict]:
    """The values of every trial KerasTuner's GridSearch would run, in its order.

    Drives KerasTuner's own ``GridSearchOracle`` (in a temporary project
    directory) over ``space.kt_config``, so the values are exactly what the
    tuner passes to the build: the defaults first, the last-declared
    hyperparameter bumped first, floats such as ``4.0`` for an ``Int`` with
    log sampling and a step, only active values.

    A space that grows during the search (a hyperparameter read only under
    some values of another, ``units_{i} for i < num_layers``) registers its
    new names when a trial first reads them, which changes the rest of the
    grid. With ``hypermodel`` each trial is built once, as the tuner does,
    and the order is exact (the initial space then comes from
    :func:`constructor_forecast`, and a constructor certain to crash raises
    ValueError); without it the trial that first reads a dynamic
    hyperparameter is inferred from discovery's activation conditions, which
    only saw the levels discovery built (an approximation).
    """
    return [values for _, values in _walk_grid(space, max_trials, hypermodel)]


def forecast_grid(
    space: SearchSpace,
    probe_values: Callable[[dict], Disposition],
    policy: Policy,
    max_trials: int | None = None,
    *,
    hypermodel=None,
) -> Forecast:
    """Forecast a GridSearch over ``space``: its own trial order, each trial's disposition, the abort.

    ``probe_values(values)`` returns KerasTuner's disposition of one trial
    (the caller probes it and applies ``policy.disposition``); it is not asked again once the search would
    have died. A default build that fails (``space.default_error``, or, with
    ``hypermodel``, a build the tuner's constructor does whatever it draws,
    conditional scopes included: :func:`constructor_forecast`) ends the
    forecast before trial 0 without asking; a constructor that crashes for
    some of its random draws only sets ``default_build_risk``.
    ``hypermodel`` also makes the order exact for spaces that grow during
    the search (see :func:`grid_order`).
    """
    names = [p.name for p in space.params]
    constructor = constructor_forecast(hypermodel) if hypermodel is not None and not space.default_error else None
    if space.default_error or (constructor is not None and constructor.hyperparameters is None):
        return forecast_sequence(
            [],
            policy,
            "GridSearch",
            names,
            planned=len(grid_order(space, max_trials)),
            max_trials=max_trials,
            default_error=space.default_error,
            constructor=constructor,
        )
    start = constructor.hyperparameters if constructor is not None else None
    order = [values for _, values in _walk_grid(space, max_trials, hypermodel, start)]
    dispositions: list[Disposition] = []
    streak = 0
    for values in order:
        disposition = probe_values(values)
        dispositions.append(disposition)
        if disposition.name == STOPS_SEARCH:
            break
        streak = streak + 1 if disposition.name in (FAILED, RETRIED_THEN_FAILED) else 0
        if streak >= policy.max_consecutive_failed_trials:
            break
    return forecast_sequence(
        dispositions,
        policy,
        "GridSearch",
        names,
        values=order,
        planned=len(order),
        max_trials=max_trials,
        constructor=constructor,
    )


def _quiet_oracle(oracle):
    """An oracle that writes nothing: its persistence (oracle.json, trial.json) is never read back here."""
    oracle.verbose = 0
    oracle.save = lambda *args, **kwargs: None
    oracle._save_trial = lambda trial: None
    return oracle


#: How many of KerasTuner's seeds the forecast drives its oracle over (a fraction of a second; ±7 points at most).
SEEDS = 200


def cannot_start(tuner: str) -> str:
    """Why KerasTuner cannot make ``tuner`` (a tuner's name) here: the ImportError its oracle's constructor
    raises where an optional dependency is missing (BayesianOptimization's scikit-learn or scipy), as the tuner's
    own constructor would, before any trial; ``""`` when it can, or the name is no tuner of KerasTuner's."""
    import keras_tuner as kt

    objective = kt.Objective("score", "min")
    makers = {
        "RandomSearch": lambda: kt.oracles.RandomSearchOracle(objective=objective, max_trials=1),
        "GridSearch": lambda: kt.oracles.GridSearchOracle(objective=objective, max_trials=1),
        "BayesianOptimization": lambda: kt.oracles.BayesianOptimizationOracle(objective=objective, max_trials=1),
        "Hyperband": lambda: kt.oracles.HyperbandOracle(objective=objective, max_epochs=2),
    }
    make = makers.get(tuner)
    if make is None:
        return ""
    try:
        make()
    except ImportError as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


def random_draws(
    space: SearchSpace, max_trials: int, seeds: int | Sequence[int] = SEEDS
) -> list[tuple[int, list[dict]]]:
    """The trials KerasTuner's random oracle hands out over ``space``, seed by seed: ``(seed, [values, ...])``.

    ``seeds``: the seeds themselves, or how many to sample from those KerasTuner picks when given none
    (``random.randint(1, 10000)``; consecutive seeds would draw shifted copies of one sequence).

    What a random oracle draws does not depend on how its trials end (a failed trial's values count as tried
    too), so the draws are made once, where KerasTuner is loaded (the probe process), and judged later
    (``rules.abort_rules.judge_draws``). The oracle draws without repeating values, and the space grows as
    discovery saw it grow: a dynamic hyperparameter joins the first trial whose values make the build read it.
    Each trial's values are completed with the defaults. BayesianOptimization's random start draws the same
    (``_random_populate_space`` is ``_random_values``, as RandomSearch's), and is taken to stay random after it;
    its own oracle is not made here, since it needs scikit-learn.
    """
    import keras_tuner as kt
    from keras_tuner.src.engine import trial as trial_module

    hps = _hp_objects(space.kt_config)
    dynamic = [hp for hp in hps if hp.name in space.by_name and space.by_name[hp.name].dynamic]
    dynamic_ids = {id(hp) for hp in dynamic}
    defaults = space.defaults()
    chosen = random.Random(0).sample(range(1, 10001), seeds) if isinstance(seeds, int) else list(seeds)
    draws = []
    with tempfile.TemporaryDirectory(prefix="hypermodel-random-") as directory, warnings.catch_warnings():
        # KerasTuner's synchronized oracle calls threading.currentThread(): thousands of DeprecationWarnings here.
        warnings.simplefilter("ignore", DeprecationWarning)
        for seed in chosen:
            start = kt.HyperParameters()
            start.merge([hp for hp in hps if id(hp) not in dynamic_ids])
            oracle = kt.oracles.RandomSearchOracle(
                objective=kt.Objective("score", "min"), max_trials=max_trials, seed=seed
            )
            oracle._set_project_dir(directory, f"seed{seed}")
            _quiet_oracle(oracle)
            oracle.update_space(start)
            if not dynamic:  # each trial's copy of a space that never grows: the same space, values of its own
                space_now = oracle.hyperparameters
                space_now.copy = lambda space_now=space_now: copy.copy(space_now)
            trials: list[dict] = []
            while True:
                # A tuner id a trial: with none ended, the oracle would hand the same tuner its running trial again.
                trial = oracle.create_trial(f"forecast{len(trials)}")
                if trial.status != trial_module.TrialStatus.RUNNING:
                    break
                hp = trial.hyperparameters
                current = {**defaults, **hp.values}
                grown = [
                    d for d in dynamic if not hp._exists(d.name, d.conditions) and space.is_active(d.name, current)
                ]
                if grown:  # ending the trial merges them into the space, and records its values again
                    hp.merge(grown, overwrite=False)
                    oracle.update_trial(trial.trial_id, {"score": 0.0})
                    trial.status = trial_module.TrialStatus.COMPLETED
                    oracle.end_trial(trial)
                trials.append({**defaults, **hp.values})
            draws.append((seed, trials))
    return draws
