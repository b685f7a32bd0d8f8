"""KerasTuner's abort rules applied to the probed trials: does a search abort, where, and at what cost.

Plain logic over dispositions and values: no Keras, no KerasTuner, no user code (what drives KerasTuner's own
oracles and the tuner's constructor is ``probe.oracle``; the per-tuner forecasts that use these rules are
``rules.forecasts``).

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
  luck (see ``probe.oracle.constructor_forecast``).
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

Grid order is not re-implemented: ``probe.oracle.grid_order`` drives KerasTuner's own
``GridSearchOracle`` trial by trial.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from pytest_hypermodel.rules.policy import COMPLETED as D_COMPLETED
from pytest_hypermodel.rules.policy import FAILED as D_FAILED
from pytest_hypermodel.rules.policy import RETRIED_THEN_FAILED as D_RETRIED_THEN_FAILED
from pytest_hypermodel.rules.policy import STOPS_SEARCH as D_FATAL
from pytest_hypermodel.rules.policy import Disposition, Policy
from pytest_hypermodel.space.words import plural

#: Per-trial statuses of a forecast: KerasTuner's own for the first two; a trial
#: that raised FatalError never ends (KerasTuner leaves it RUNNING): "fatal".
COMPLETED = "COMPLETED"
FAILED = "FAILED"
FATAL = "fatal"

#: Why the search dies.
REASON_CONSECUTIVE = "max_consecutive_failed_trials"
REASON_FATAL = "fatal"
REASON_DEFAULT_BUILD = "default_build"
#: KerasTuner cannot make the tuner here (a missing optional dependency): the search fails before its first trial.
REASON_CANNOT_START = "cannot_start"

_FAILED_DISPOSITIONS = (D_FAILED, D_RETRIED_THEN_FAILED)


def trial_id(index: int, max_trials: int | None = None) -> str:
    """KerasTuner's id of the ``index``-th trial (``Oracle.create_trial``): ``"0009"`` when max_trials is None."""
    return f"{index:0{len(str(max_trials))}d}"


def first_line(text: str, limit: int = 200) -> str:
    """The first non-blank line of an error, shortened to ``limit`` characters."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    line = lines[0] if lines else "an exception"
    return line if len(line) <= limit else line[: limit - 3] + "..."


class ConstructorBuilds(Protocol):
    """What the rules read of the builds a tuner's constructor does before trial 0 (``probe.oracle``'s
    ``ConstructorForecast``, made where KerasTuner is loaded)."""

    #: Probability that the constructor raises (1.0: it always does).
    crash_probability: float

    def describe(self) -> str:
        """The first crashing build, in a phrase (empty when none crashes)."""
        ...


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

    def to_dict(self) -> dict[str, Any]:
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


def join_words(words: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _blame(trials: Sequence[int], values: Sequence[Mapping[str, Any]] | None, names: Sequence[str] | None) -> list[str]:
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
    constructor: ConstructorBuilds | None = None,
) -> Forecast:
    """Apply KerasTuner's rules to the trials' dispositions, in trial order.

    ``dispositions``: what KerasTuner does with each trial, in the order the
    tuner runs them (for GridSearch, ``probe.oracle.grid_order``). ``values``: each
    trial's hyperparameter values, to name the culprits in the message;
    ``names``: the hyperparameter names to consider for that, in space order
    (default: every name in ``values``). ``planned``: how many trials the
    search would run (default: ``len(dispositions)``; more when the
    dispositions stop early, as ``probe.oracle.forecast_grid``'s do).
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
        why = f"building the defaults raises {first_line(default_error)}"
    elif constructor is not None and constructor.crash_probability >= 1.0:
        why = constructor.describe()
    if why is not None:
        return Forecast(
            tuner,
            planned,
            aborts=True,
            abort_trial=None,
            reason=REASON_DEFAULT_BUILD,
            default_build_risk=1.0,
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
        forecast.message = (
            f"{tuner} would abort at trial {forecast.abort_id} of {planned}: {plural(len(streak), 'FAILED trial')} "
            f"in a row ({ids}{retried}); raise max_consecutive_failed_trials to {'' if complete else 'at least '}"
            f"{needed}" + (f", or constrain {join_words(blamed)}" if blamed else "")
        )
    elif forecast.reason == REASON_FATAL and forecast.abort_trial is not None:
        blamed = _blame([forecast.abort_trial], values, names)
        forecast.message = (
            f"{tuner} would stop at trial {forecast.abort_id} of {planned}: a FatalError ends the search whatever "
            f"max_consecutive_failed_trials is" + (f"; fix or constrain {join_words(blamed)}" if blamed else "")
        )
    else:
        completed = forecast.statuses.count(COMPLETED)
        failed = forecast.statuses.count(FAILED)
        tail = f"; {forecast.wasted_runs} of {plural(forecast.runs, 'run')} wasted on FAILED trials" if failed else ""
        if failed:
            tail += f" (longest FAILED streak {len(longest)} < max_consecutive_failed_trials {limit})"
        forecast.message = (
            f"{tuner} would run {len(forecast.statuses)} of {plural(planned, 'trial')} without aborting: "
            f"{completed} COMPLETED, {failed} FAILED{tail}"
        )
    if constructor is not None and constructor.crash_probability > 0.0:
        forecast.default_build_risk = constructor.crash_probability
        forecast.message += (
            f"; before that, its constructor crashes with probability {constructor.crash_probability:.0%}: "
            f"{constructor.describe()}"
        )
    return forecast


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


def judge_draws(
    draws: Sequence[tuple[int, Sequence[dict[str, Any]]]], judge: Callable[[dict[str, Any]], str | None], policy: Policy
) -> DrivenForecast:
    """Each seed's search (``draws``: ``probe.oracle.random_draws``) with each trial ended as ``judge(values)``
    says: None completes it, else a disposition name (FAILED after its retries, or fatal). A fatal trial stops the
    search; FAILED trials stop it when ``policy.max_consecutive_failed_trials`` come in a row, counted as
    ``Oracle._check_consecutive_failures`` counts them (retries change no streak: a trial joins the count once,
    after its last run)."""
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
    return DrivenForecast(
        len(draws),
        probability,
        math.sqrt(probability * (1 - probability) / n),
        failed / max(drawn, 1),
        fatal / max(drawn, 1),
        aborted,
    )


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
