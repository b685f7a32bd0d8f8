"""Forecast what a KerasTuner search does with the probed cases: does it abort, where, and at what cost.

KerasTuner's rules, as read in keras_tuner 1.4.8 (``keras_tuner/src/``):

- The tuner's constructor builds the hypermodel with the default values, and
  once more with each conditional scope that is inactive at the defaults
  switched on, *outside* any ``try`` (``engine/base_tuner.py``
  ``BaseTuner.__init__`` -> ``_populate_initial_space`` ->
  ``_activate_all_conditions``): if one of those builds raises, the tuner is
  never created and the search crashes before trial 0 (``default_build``).
  The hyperparameters a scope activates get *random* values for that build
  (``hp.ensure_active_values()`` -> ``random_sample()``, unseeded), so a
  scope that crashes for some of its values crashes the constructor by
  luck (see :func:`constructor_forecast`).
- A trial's run is wrapped in ``_try_run_and_update_trial``: a ``FatalError``
  is re-raised and ends the search at that trial, which never reaches
  ``end_trial`` (its status stays RUNNING, it is not counted as FAILED);
  ``FailedTrialError`` makes the trial FAILED; any other exception makes it
  INVALID (``engine/base_tuner.py``).
- ``Oracle.end_trial`` turns a COMPLETED trial whose score is NaN into
  INVALID; an INVALID trial is put back on the retry queue, which the next
  ``create_trial`` serves first, until it has run ``max_retries_per_trial + 1``
  times; then it is FAILED (``engine/oracle.py`` ``end_trial``, ``_retry``).
- Only a trial that is not retried joins ``end_order``; right after, the
  oracle counts FAILED trials in a row along ``end_order`` and raises
  ``RuntimeError`` the moment the count equals
  ``max_consecutive_failed_trials`` (``_check_consecutive_failures``). The
  trial that reaches the count has spent all its retries first.
- The score of a trial fitted with ``model.fit`` is the objective at the
  "best" epoch, found by starting at epoch 0 and moving only to a strictly
  better epoch (``engine/tuner_utils.py``
  ``_get_best_value_and_best_epoch_from_history``). Nothing compares better
  than NaN, so the score is NaN exactly when the *first* epoch's objective is
  NaN: a NaN after a finite epoch still completes, a finite epoch after a NaN
  first one does not (``Policy.disposition`` applies this rule).
- Trial ids are the trial's index zero-padded to ``len(str(max_trials))``
  digits: ``"0009"`` when ``max_trials`` is None (``len("None") == 4``),
  ``"09"`` when it is 12 (``Oracle.create_trial``).

Grid order is not re-implemented: :func:`grid_order` drives KerasTuner's own
``GridSearchOracle`` trial by trial.
"""

from __future__ import annotations

import copy
import itertools
import math
import random
import tempfile
import warnings
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence

from pytest_hypermodel.rules import outcomes
from pytest_hypermodel.rules.policy import COMPLETED as D_COMPLETED
from pytest_hypermodel.rules.policy import FAILED as D_FAILED
from pytest_hypermodel.rules.policy import RETRIED_THEN_FAILED as D_RETRIED_THEN_FAILED
from pytest_hypermodel.rules.policy import STOPS_SEARCH as D_FATAL
from pytest_hypermodel.rules.policy import Disposition, Policy

if TYPE_CHECKING:  # keras and TensorFlow load only when a grid or a build is needed
    from pytest_hypermodel.space.hyperparameters import SearchSpace

#: Per-trial statuses of a forecast: KerasTuner's own for the first two; a trial
#: that raised FatalError never ends (KerasTuner leaves it RUNNING): "fatal".
COMPLETED = "COMPLETED"
FAILED = "FAILED"
FATAL = "fatal"

#: Why the search dies.
REASON_CONSECUTIVE = "max_consecutive_failed_trials"
REASON_FATAL = "fatal"
REASON_DEFAULT_BUILD = "default_build"

_FAILED_DISPOSITIONS = (D_FAILED, D_RETRIED_THEN_FAILED)


def trial_id(index: int, max_trials: int | None = None) -> str:
    """KerasTuner's id of the ``index``-th trial (``Oracle.create_trial``): ``"0009"`` when max_trials is None."""
    return f"{index:0{len(str(max_trials))}d}"


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
        if self.error is None:
            return ""
        if self.scope == "defaults":
            return f"building the defaults raises {_first_line(self.error)}"
        values = ", ".join(f"{k}={v!r}" for k, v in (self.values or {}).items() if k in self.drawn)
        how = f" with {_join(self.drawn)} drawn at random" if self.drawn else ""
        return f"building {self.scope}{how} raises {_first_line(self.error)}" + (f" (at {values})" if values else "")


def _first_line(text: str, limit: int = 200) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    line = lines[0] if lines else "an exception"
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _draw_values(hp) -> list:
    """The values ``hp.random_sample()`` picks among, equally likely (decile midpoints for a long or continuous range)."""
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
        forecast.crash_probability, forecast.error, forecast.scope = 1.0, f"{type(exc).__name__}: {outcomes.text_of(exc)}", "defaults"
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


# --------------------------------------------------------------------------- NaN objective


def kerastuner_best_epoch(values: Sequence[float], direction: str = "min") -> int:
    """The epoch whose objective KerasTuner scores (``tuner_utils._get_best_value_and_best_epoch_from_history``).

    It starts at epoch 0 and moves only to a strictly better epoch; a NaN
    compares false both ways, so a NaN epoch 0 is never left and a NaN later
    epoch is never taken.
    """
    best = 0
    for epoch, value in enumerate(values):
        if (direction == "min" and value < values[best]) or (direction == "max" and value > values[best]):
            best = epoch
    return best


def kerastuner_objective_is_nan(losses: Sequence[float]) -> bool:
    """Whether KerasTuner's score for a trial with these epoch losses is NaN (the trial is INVALID).

    True exactly when the first epoch is NaN (``inf`` is a number to it);
    later epochs cannot change that, whatever their values, and cannot
    spoil a finite first epoch.
    """
    if not losses:
        return False
    return math.isnan(losses[kerastuner_best_epoch(list(losses))])


# --------------------------------------------------------------------------- forecast


@dataclass
class Forecast:
    """What a search would do with the probed trials, before it runs."""

    tuner: str
    #: Trials the search would run if nothing stopped it.
    planned: int
    aborts: bool = False
    #: 0-based index of the trial at which the search dies (None: it does not, or dies before trial 0).
    abort_trial: int | None = None
    reason: str | None = None
    #: Model builds/fits KerasTuner would spend, retries included.
    runs: int = 0
    #: Runs on trials that end FAILED, retries included.
    wasted_runs: int = 0
    #: Per trial run: COMPLETED, FAILED or fatal.
    statuses: list[str] = field(default_factory=list)
    message: str = ""
    #: KerasTuner's id of each trial run ("0009").
    trial_ids: list[str] = field(default_factory=list)
    #: Runs of each trial run.
    trial_runs: list[int] = field(default_factory=list)
    #: Probability that the tuner's constructor crashes before trial 0 (1.0 with reason "default_build").
    default_build_risk: float = 0.0

    @property
    def abort_id(self) -> str | None:
        return self.trial_ids[self.abort_trial] if self.abort_trial is not None else None

    def to_dict(self) -> dict:
        """Plain builtins (JSON-ready), with ``abort_id`` added."""
        return {**asdict(self), "abort_id": self.abort_id}


def _status(disposition: Disposition) -> str:
    if disposition.name == D_COMPLETED:
        return COMPLETED
    if disposition.name in _FAILED_DISPOSITIONS:
        return FAILED
    if disposition.name == D_FATAL:
        return FATAL
    raise ValueError(f"unknown disposition {disposition.name!r}")


def _join(words: Sequence[str]) -> str:
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _blame(trials: Sequence[int], values: Sequence[Mapping] | None, names: Sequence[str] | None) -> list[str]:
    """Hyperparameters set off their first-trial (default) value, or varying, among ``trials``."""
    if not values or not trials:
        return list(names or [])
    base = values[0]
    picked = [values[i] for i in trials if i < len(values)]
    order = list(names) if names is not None else list(dict.fromkeys(k for v in [base, *picked] for k in v))
    blamed = []
    for name in order:
        seen = [v.get(name) for v in picked]
        if any(s != base.get(name) for s in seen) or len({repr(s) for s in seen}) > 1:
            blamed.append(name)
    return blamed


def forecast_sequence(
    dispositions: Sequence[Disposition],
    policy: Policy,
    tuner: str = "GridSearch",
    names: Sequence[str] | None = None,
    *,
    values: Sequence[Mapping[str, Any]] | None = None,
    planned: int | None = None,
    max_trials: int | None = None,
    default_error: str | None = None,
    constructor: ConstructorForecast | None = None,
) -> Forecast:
    """Apply KerasTuner's rules to the trials' dispositions, in trial order.

    ``dispositions``: what KerasTuner does with each trial, in the order the
    tuner runs them (for GridSearch, :func:`grid_order`). ``values``: each
    trial's hyperparameter values, to name the culprits in the message;
    ``names``: the hyperparameter names to consider for that, in space order
    (default: every name in ``values``). ``planned``: how many trials the
    search would run (default: ``len(dispositions)``; more when the
    dispositions stop early, as :func:`forecast_grid`'s do).
    ``max_trials``: the tuner's, which sets the trial ids' padding.
    ``default_error`` (``SearchSpace.default_error``: the defaults build
    raises) or a ``constructor`` forecast certain to crash: the search dies
    before trial 0 (reason ``default_build``); a constructor that crashes
    only for some random draws is reported in ``default_build_risk`` and
    the message.

    A "fatal" disposition stops the search at its trial (which is not counted
    as FAILED); "failed" and "retried_then_failed" count in a row, and the
    trial that brings the count to ``max_consecutive_failed_trials`` ends the
    search (RuntimeError) after all of its own retries; "completed" resets it.
    """
    planned = len(dispositions) if planned is None else planned
    why = None
    if default_error is not None:
        why = f"building the defaults raises {_first_line(default_error)}"
    elif constructor is not None and constructor.crash_probability >= 1.0:
        why = constructor.describe()
    if why is not None:
        return Forecast(
            tuner, planned, aborts=True, abort_trial=None, reason=REASON_DEFAULT_BUILD, default_build_risk=1.0,
            message=(
                f"{tuner} would crash before trial {trial_id(0, max_trials)}: its constructor builds the hypermodel "
                f"at the defaults and with each conditional scope switched on, outside any try, and {why}; "
                "make those builds succeed"
            ),
        )

    limit = policy.max_consecutive_failed_trials
    forecast = Forecast(tuner, planned)
    streak: list[int] = []
    longest: list[int] = []
    for index, disposition in enumerate(dispositions):
        status = _status(disposition)
        forecast.statuses.append(status)
        forecast.trial_ids.append(trial_id(index, max_trials))
        forecast.trial_runs.append(disposition.runs)
        forecast.runs += disposition.runs
        if status == FATAL:
            forecast.aborts, forecast.abort_trial, forecast.reason = True, index, REASON_FATAL
            break
        if status == FAILED:
            forecast.wasted_runs += disposition.runs
            streak.append(index)
            if len(streak) > len(longest):
                longest = list(streak)
            if len(streak) >= limit:
                forecast.aborts, forecast.abort_trial, forecast.reason = True, index, REASON_CONSECUTIVE
                break
        else:
            streak = []

    # How high the limit must go: the longest FAILED streak among all the dispositions given
    # (beyond the abort too), up to the first fatal one.
    if forecast.reason == REASON_CONSECUTIVE:
        run = longest_run = 0
        for disposition in dispositions:
            if disposition.name == D_FATAL:
                break
            run = run + 1 if disposition.name in _FAILED_DISPOSITIONS else 0
            longest_run = max(longest_run, run)
        needed = longest_run + 1
        complete = len(dispositions) >= planned
        ids = ", ".join(forecast.trial_ids[i] for i in streak)
        blamed = _blame(streak, values, names)
        most = max(forecast.trial_runs[i] for i in streak)
        retried = f", each run {most} times" if most > 1 else ""
        plural = "s" if len(streak) > 1 else ""
        forecast.message = (
            f"{tuner} would abort at trial {forecast.abort_id} of {planned}: {len(streak)} FAILED trial{plural} "
            f"in a row ({ids}{retried}); raise max_consecutive_failed_trials to {'' if complete else 'at least '}"
            f"{needed}" + (f", or constrain {_join(blamed)}" if blamed else "")
        )
    elif forecast.reason == REASON_FATAL:
        blamed = _blame([forecast.abort_trial], values, names)
        forecast.message = (
            f"{tuner} would stop at trial {forecast.abort_id} of {planned}: a FatalError ends the search whatever "
            f"max_consecutive_failed_trials is" + (f"; fix or constrain {_join(blamed)}" if blamed else "")
        )
    else:
        completed = forecast.statuses.count(COMPLETED)
        failed = forecast.statuses.count(FAILED)
        tail = f"; {forecast.wasted_runs} of {forecast.runs} runs wasted on FAILED trials" if failed else ""
        if failed:
            tail += f" (longest FAILED streak {len(longest)} < max_consecutive_failed_trials {limit})"
        forecast.message = (
            f"{tuner} would run {len(forecast.statuses)} of {planned} trials without aborting: "
            f"{completed} COMPLETED, {failed} FAILED{tail}"
        )
    if constructor is not None and constructor.crash_probability > 0.0:
        forecast.default_build_risk = constructor.crash_probability
        forecast.message += (
            f"; before that, its constructor crashes with probability {constructor.crash_probability:.0%}: "
            f"{constructor.describe()}"
        )
    return forecast


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
        return forecast_sequence([], policy, "GridSearch", names, planned=len(grid_order(space, max_trials)),
                                 max_trials=max_trials, default_error=space.default_error, constructor=constructor)
    start = constructor.hyperparameters if constructor is not None else None
    order = [values for _, values in _walk_grid(space, max_trials, hypermodel, start)]
    dispositions: list[Disposition] = []
    streak = 0
    for values in order:
        disposition = probe_values(values)
        dispositions.append(disposition)
        if disposition.name == D_FATAL:
            break
        streak = streak + 1 if disposition.name in _FAILED_DISPOSITIONS else 0
        if streak >= policy.max_consecutive_failed_trials:
            break
    return forecast_sequence(
        dispositions, policy, "GridSearch", names,
        values=order, planned=len(order), max_trials=max_trials, constructor=constructor,
    )


# --------------------------------------------------------------------------- random-order tuners


#: Tuners whose trials KerasTuner's oracle draws at random: the driven forecast covers them (Bayesian: its random
#: start, and beyond it as if it stayed random; it steers towards completed trials, so that is an upper bound).
RANDOM_ORACLES = ("RandomSearch", "BayesianOptimization")


@dataclass
class DrivenForecast:
    """KerasTuner's own oracle driven over many seeds, each trial judged by a predicate (``culprits.Predicate``)."""

    seeds: int
    #: Share of seeds whose search aborted within ``max_trials`` (consecutive FAILED trials, or a fatal one).
    probability: float
    #: Its standard error over the seeds.
    error: float
    #: Share of the trials drawn that ended FAILED, and that stopped the search.
    failure_rate: float
    fatal_rate: float
    #: The seeds whose search aborted.
    aborted: list[int] = field(default_factory=list)


def _quiet_oracle(oracle):
    """An oracle that writes nothing: its persistence (oracle.json, trial.json) is never read back here."""
    oracle.verbose = 0
    oracle.save = lambda *args, **kwargs: None
    oracle._save_trial = lambda trial: None
    return oracle


#: How many of KerasTuner's seeds the forecast drives its oracle over (a fraction of a second; ±7 points at most).
SEEDS = 200


def random_draws(space: SearchSpace, max_trials: int,
                 seeds: int | Sequence[int] = SEEDS) -> list[tuple[int, list[dict]]]:
    """The trials KerasTuner's random oracle hands out over ``space``, seed by seed: ``(seed, [values, ...])``.

    ``seeds``: the seeds themselves, or how many to sample from those KerasTuner picks when given none
    (``random.randint(1, 10000)``; consecutive seeds would draw shifted copies of one sequence).

    What a random oracle draws does not depend on how its trials end (a failed trial's values count as tried
    too), so the draws are made once, where KerasTuner is loaded (the probe process), and judged later
    (:func:`judge_draws`). The oracle draws without repeating values, and the space grows as discovery saw it
    grow: a dynamic hyperparameter joins the first trial whose values make the build read it. Each trial's
    values are completed with the defaults. BayesianOptimization's random start draws the same
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
            oracle = kt.oracles.RandomSearchOracle(objective=kt.Objective("score", "min"), max_trials=max_trials,
                                                   seed=seed)
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
                grown = [d for d in dynamic if not hp._exists(d.name, d.conditions) and space.is_active(d.name, current)]
                if grown:  # ending the trial merges them into the space, and records its values again
                    hp.merge(grown, overwrite=False)
                    oracle.update_trial(trial.trial_id, {"score": 0.0})
                    trial.status = trial_module.TrialStatus.COMPLETED
                    oracle.end_trial(trial)
                trials.append({**defaults, **hp.values})
            draws.append((seed, trials))
    return draws


def judge_draws(draws: Sequence[tuple[int, Sequence[dict]]], judge: Callable[[dict], str | None],
                policy: Policy) -> DrivenForecast:
    """Each seed's search with each trial ended as ``judge(values)`` says: None completes it, else a disposition
    name (FAILED after its retries, or fatal). A fatal trial stops the search; FAILED trials stop it when
    ``policy.max_consecutive_failed_trials`` come in a row, counted as ``Oracle._check_consecutive_failures``
    counts them (retries change no streak: a trial joins the count once, after its last run)."""
    failed = fatal = drawn = 0
    aborted: list[int] = []
    for seed, trials in draws:
        streak = 0
        for values in trials:
            drawn += 1
            disposition = judge(values)
            if disposition == D_FATAL:
                fatal += 1
                aborted.append(seed)
                break
            streak = streak + 1 if disposition is not None else 0
            failed += disposition is not None
            if streak == policy.max_consecutive_failed_trials:
                aborted.append(seed)
                break
    n = max(len(draws), 1)
    probability = len(aborted) / n
    return DrivenForecast(len(draws), probability, math.sqrt(probability * (1 - probability) / n),
                          failed / max(drawn, 1), fatal / max(drawn, 1), aborted)


def failure_rates(dispositions: Sequence[Disposition]) -> tuple[float, float]:
    """``(failure_rate, fatal_rate)``: the share of cases that end FAILED, and that stop the search."""
    if not dispositions:
        return 0.0, 0.0
    failed = sum(d.name in _FAILED_DISPOSITIONS for d in dispositions)
    fatal = sum(d.name == D_FATAL for d in dispositions)
    return failed / len(dispositions), fatal / len(dispositions)


def abort_probability(failure_rate: float, max_trials: int, policy: Policy, fatal_rate: float = 0.0) -> float:
    """Probability that a RandomSearch/BayesianOptimization/Hyperband search dies within ``max_trials`` trials.

    Estimated, not simulated: each trial independently ends FAILED with
    probability ``failure_rate``, stops the search (FatalError) with
    probability ``fatal_rate``, and completes otherwise; an exact dynamic
    programme over the length of the current FAILED streak gives the
    probability that ``policy.max_consecutive_failed_trials`` FAILED trials
    come in a row, or a fatal one comes, within ``max_trials`` trials.

    The rates are meant to be measured on the planned cases (see
    :func:`failure_rates`): the share of cases whose disposition is FAILED
    (after its retries) or fatal. Limits: the cases are extremes and corners,
    not a uniform sample, so they usually over-weight the failing edges of
    the space; a case that fails deterministically fails all its retries,
    while a transient failure with per-run probability f ends FAILED with
    probability f ** (max_retries_per_trial + 1), which the caller must fold
    in; RandomSearch draws without repeating values, BayesianOptimization
    steers towards completed regions (a FAILED trial is not a data point)
    and Hyperband's trial count comes from its brackets rather than
    ``max_trials``, so for them the independence assumption is approximate.
    """
    if not 0.0 <= failure_rate <= 1.0 or not 0.0 <= fatal_rate <= 1.0 or failure_rate + fatal_rate > 1.0 + 1e-12:
        raise ValueError(
            f"failure_rate={failure_rate} and fatal_rate={fatal_rate} must be probabilities summing to at most 1"
        )
    if max_trials < 0:
        raise ValueError(f"max_trials={max_trials} must be >= 0")
    limit = policy.max_consecutive_failed_trials
    complete = max(0.0, 1.0 - failure_rate - fatal_rate)
    # alive[k]: probability the search is still running with a FAILED streak of length k.
    alive = [1.0] + [0.0] * (limit - 1)
    for _ in range(max_trials):
        total = sum(alive)
        nxt = [0.0] * limit
        nxt[0] = total * complete
        for k in range(limit - 1):
            nxt[k + 1] = alive[k] * failure_rate
        alive = nxt
    return min(1.0, max(0.0, 1.0 - sum(alive)))
