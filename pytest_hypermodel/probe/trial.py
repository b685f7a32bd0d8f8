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


@dataclass
class Outcome:
    """What the trial left: whether it wrote the checkpoint that ``get_best_models()`` reloads after the search
    (what ``run_trial`` returned goes to ``Hooks.on_return``)."""

    checkpoint: bool


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


@contextlib.contextmanager
def _hooked_build(tuner: Any, hooks: Hooks) -> Iterator[None]:
    original = tuner._build_hypermodel

    def built(values: Any) -> Any:
        hooks.before_build()
        model = original(values)
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

    ``objective_known`` False: the tuner's objective is a stand-in, so a dict that ``fit()`` returns is checked
    against its own first key instead.
    """
    from keras_tuner.src.engine import trial as trial_module

    trial = trial_module.Trial(hp, trial_id=f"preflight_{next(_ids)}")
    oracle = tuner.oracle
    oracle.trials[trial.trial_id] = trial
    try_build, run_trial, chosen = tuner._try_build, tuner.run_trial, oracle.objective
    pending = [prebuilt] if prebuilt is not None else []

    def tried(values: Any) -> Any:
        return pending.pop() if pending else try_build(values)

    def ran(trial: Any, *a: Any, **k: Any) -> Any:
        results = run_trial(trial, *a, **k)
        hooks.on_return(results)
        first = results[0] if isinstance(results, list) and results else results
        if not objective_known and isinstance(first, dict) and first and STAND_IN_OBJECTIVE not in first:
            import keras_tuner as kt

            oracle.objective = kt.Objective(str(next(iter(first))), "min")
        return results

    tuner._try_build, tuner.run_trial = tried, ran
    with repointed(tuner), _hooked_build(tuner, hooks), _one_checkpoint_write():
        try:
            tuner._run_and_update_trial(trial, *args, **kwargs)
            checkpoint = os.path.exists(tuner._get_checkpoint_fname(trial.trial_id))
        finally:
            del tuner._try_build, tuner.run_trial
            oracle.objective = chosen
            oracle.trials.pop(trial.trial_id, None)
            shutil.rmtree(tuner.get_trial_dir(trial.trial_id), ignore_errors=True)
    return Outcome(checkpoint)
