"""Run one case as one KerasTuner trial: the tuner's own ``run_trial`` (its checkpoint callback, its deep copy
of the search's callbacks, its ``TunerCallback``), its check of what ``fit()`` returned and the oracle's update.

The case's hyperparameter values are the trial's; the tuner is the user's own (a SPEC that names a function
returning one) or a plain one made here for a bare build function. Either way its project lives in a throwaway
directory: the preflight never writes into, reloads from or deletes the user's project.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pytest_hypermodel.space.user_tuner import repointed, throwaway_directory

#: The objective a tuner is given when the search's is not known: every fit logs it.
STAND_IN_OBJECTIVE = "loss"

_ids = itertools.count()
#: The plain tuners made for bare hypermodels, one per (hypermodel, objective, size limit) in this process.
_tuners: dict[tuple, tuple[Any, Any]] = {}


#: Where in a trial something raised (``Hooks.phase``): the build function, KerasTuner's checks of the built model,
#: the tuner's ``run_trial``, the fit (``HyperModel.fit`` or ``model.fit``), a callback of the fit, and KerasTuner's
#: handling of what the trial returned (its checks, the objective's value, the oracle's update).
BUILD = "build"
MODEL_CHECKS = "model_checks"
RUN_TRIAL = "run_trial"
FIT = "fit"
CALLBACK = "callback"
RESULT = "result"


@dataclass
class Outcome:
    """What the trial left: whether it wrote the checkpoint that ``get_best_models()`` reloads after the search
    (what ``run_trial`` returned goes to ``Hooks.on_return``), and the score KerasTuner recorded for it."""

    checkpoint: bool
    #: The single objective's name and direction (``""`` for a multi-objective or the stand-in), and the value the
    #: oracle recorded for it: what ``score_trial`` makes the trial's score, which the search ranks by.
    objective: str = ""
    direction: str = ""
    score: float | None = None
    #: With no objective named: the keys of the dict the trial returned when it lacks the stand-in, the
    #: objectives the search must choose among (empty otherwise).
    offered: tuple[str, ...] = ()


def plain_tuner(hypermodel: Any, objective: Any, max_model_size: int | None) -> Any:
    """A RandomSearch over ``hypermodel`` that only runs trials handed to it. Its constructor does not build the
    defaults again (discovery did: a failing default is reported there)."""
    key = (id(hypermodel), repr(objective), max_model_size)
    if key in _tuners:
        return _tuners[key][1]
    import keras_tuner as kt

    class Trials(kt.RandomSearch):
        def _populate_initial_space(self) -> None:
            pass

    tuner = Trials(
        hypermodel,
        objective=objective,
        max_trials=1,
        max_model_size=max_model_size,
        directory=throwaway_directory(),
        project_name=f"plain_{len(_tuners)}",
        overwrite=True,
    )
    _tuners[key] = (hypermodel, tuner)  # the hypermodel is kept alive, so its id is not reused
    return tuner


@dataclass
class Hooks:
    """What the probe adds to KerasTuner's trial: ``before_build()`` (the seed, after the trial's
    ``clear_session``), ``on_build(model)`` for each model built (before KerasTuner's model checks and the fit),
    ``on_return(results)`` with what ``run_trial`` returned (before KerasTuner checks it)."""

    before_build: Callable[[], None]
    on_build: Callable[[Any], None]
    on_return: Callable[[Any], None]
    #: Where the trial is (``BUILD``, ``FIT``...): what raised, when it raises (``failed_in`` refines it).
    phase: str = BUILD


@contextlib.contextmanager
def _hooked_build(tuner: Any, hooks: Hooks) -> Iterator[None]:
    original = tuner._build_hypermodel

    def built(values: Any) -> Any:
        hooks.phase = BUILD
        hooks.before_build()
        model = original(values)
        hooks.phase = MODEL_CHECKS
        hooks.on_build(model)
        return model

    tuner._build_hypermodel = built
    try:
        yield
    finally:
        del tuner._build_hypermodel


@contextlib.contextmanager
def _one_checkpoint_write() -> Iterator[None]:
    """The trial's ``SaveBestEpoch`` writes the weights at its first better epoch, as in a search; at the later
    ones it only notes the call. Writing the same model's weights again cannot fail differently, and each write
    costs about a sixth of a tiny case (``benchmarks/probe_vs_search.py``)."""
    from keras_tuner.src.engine import tuner_utils

    original = tuner_utils.SaveBestEpoch._save_model
    written: set[int] = set()

    def save(self: Any) -> None:
        if id(self) not in written:
            written.add(id(self))
            original(self)

    tuner_utils.SaveBestEpoch._save_model = save
    try:
        yield
    finally:
        tuner_utils.SaveBestEpoch._save_model = original


def build(tuner: Any, hp: Any, hooks: Hooks) -> Any:
    """The trial's model, built as ``_build_and_fit_model`` builds it: KerasTuner's ``_try_build``
    (``clear_session``, a full collection, the build, the tuner's compile arguments, the model checks). Done
    before the trial when the data must be made for the model; :func:`run` then fits this model."""
    with _hooked_build(tuner, hooks):
        return tuner._try_build(hp)


def run(
    tuner: Any, hp: Any, args: tuple, kwargs: dict, hooks: Hooks, objective_known: bool = True, prebuilt: Any = None
) -> Outcome:
    """Run ``hp`` as a trial of ``tuner`` with the search's ``args``/``kwargs``. Raises what the trial raises,
    as ``tuner.search`` would see it. ``prebuilt``: the model :func:`build` returned, which the trial's first
    build returns instead of building again (later executions build their own).

    ``objective_known`` False: the tuner's objective is a stand-in, so a dict that ``fit()`` returns without it
    is checked against its own first key instead, and its keys are the outcome's ``offered``.
    """
    from keras_tuner.src.engine import trial as trial_module

    trial = trial_module.Trial(hp, trial_id=f"preflight_{next(_ids)}")
    oracle = tuner.oracle
    oracle.trials[trial.trial_id] = trial
    try_build, run_trial, chosen = tuner._try_build, tuner.run_trial, oracle.objective
    pending = [prebuilt] if prebuilt is not None else []

    def tried(values: Any) -> Any:
        model = pending.pop() if pending else try_build(values)
        hooks.phase = FIT  # what follows the build in KerasTuner's _build_and_fit_model
        return model

    def ran(trial: Any, *a: Any, **k: Any) -> Any:
        hooks.phase = RUN_TRIAL
        results = run_trial(trial, *a, **k)
        hooks.phase = RESULT
        hooks.on_return(results)
        return results

    offered: list[str] = []
    tuner._try_build, tuner.run_trial = tried, ran
    stand_in = contextlib.nullcontext() if objective_known else objective_offered(oracle, offered)
    with repointed(tuner), _hooked_build(tuner, hooks), _one_checkpoint_write(), stand_in:
        try:
            tuner._run_and_update_trial(trial, *args, **kwargs)
            checkpoint = os.path.exists(tuner._get_checkpoint_fname(trial.trial_id))
            outcome = Outcome(checkpoint, *(_recorded(oracle.objective, trial) if objective_known else ()))
            outcome.offered = tuple(offered)
        finally:
            del tuner._try_build, tuner.run_trial
            oracle.objective = chosen
            oracle.trials.pop(trial.trial_id, None)
            shutil.rmtree(tuner.get_trial_dir(trial.trial_id), ignore_errors=True)
    return outcome


@contextlib.contextmanager
def objective_offered(oracle: Any, offered: list[str]) -> Iterator[None]:
    """No objective named, and ``fit()`` returns a dict without the stand-in: checked against the stand-in,
    KerasTuner would stop the trial for an objective the user never chose. The dict's own first key stands in
    instead, wherever KerasTuner checks a result (``HyperModel.fit()``'s, ``run_trial``'s), and the dict's keys
    go to ``offered``: the objectives the search must name one of."""
    import keras_tuner as kt
    from keras_tuner.src.engine import tuner_utils

    original = tuner_utils.validate_trial_results

    def validate(results: Any, objective: Any, func_name: str) -> Any:
        first = results[0] if isinstance(results, list) and results else results
        stand_in = getattr(objective, "name", None) == STAND_IN_OBJECTIVE
        if stand_in and isinstance(first, dict) and first and STAND_IN_OBJECTIVE not in first:
            offered[:] = [str(key) for key in first]
            objective = oracle.objective = kt.Objective(offered[0], "min")
        return original(results, objective, func_name)

    tuner_utils.validate_trial_results = validate
    try:
        yield
    finally:
        tuner_utils.validate_trial_results = original


def _recorded(objective: Any, trial: Any) -> tuple[str, str, float | None]:
    """The objective's name, direction and the value the oracle recorded for it (``Oracle.score_trial``'s
    ``trial.metrics.get_best_value``); the name empty for a multi-objective or the probe's stand-in."""
    import keras_tuner as kt

    if type(objective) is not kt.Objective or objective.name == "default_objective":  # a bare number's own name
        return "", "", None
    value = None
    with contextlib.suppress(Exception):
        if trial.metrics.exists(objective.name):
            value = trial.metrics.get_best_value(objective.name)
    try:
        score = float(value) if value is not None else None
    except (TypeError, ValueError):
        score = None
    return objective.name, objective.direction, score


def failed_in(exc: BaseException, phase: str, running: str = "") -> tuple[str, str]:
    """Where in the trial ``exc`` was raised: ``phase`` (where the trial was), refined: a callback's hook
    (``running``, the hook that did not return, else a callback frame of the user's in the traceback: Keras
    filters its own), KerasTuner's check of the result. Returns ``(phase, the callback's hook)``."""
    import keras

    callback, checked = running, False
    tb = exc.__traceback__
    while tb is not None:  # outermost to innermost: the first hook of a callback (its on_* method) names it
        frame = tb.tb_frame
        owner = frame.f_locals.get("self")
        if (
            not callback
            and frame.f_code.co_name.startswith("on_")
            and isinstance(owner, keras.callbacks.Callback)
            and not isinstance(owner, keras.callbacks.CallbackList)
        ):
            callback = f"{type(owner).__qualname__}.{frame.f_code.co_name}"
        if frame.f_code.co_name in ("validate_trial_results", "convert_to_metrics_dict", "_check_objective_found"):
            checked = True
        tb = tb.tb_next
    if checked:
        return RESULT, ""
    if callback and phase in (FIT, RUN_TRIAL):
        return CALLBACK, callback
    return phase, ""
