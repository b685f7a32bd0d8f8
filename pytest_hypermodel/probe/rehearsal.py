"""Rehearse the search: cases that passed alone, run again one after another through KerasTuner's own ``search()``.

Each case ran as one trial from the state a fresh process has; a real search runs its trials one after another in
one process, and what a trial leaves behind (``keras.config.set_floatx`` in a build, a layer made once at module
level and reused) reaches the next. Here the user's tuner (a new one, made as the cases' tuner is made, in a
throwaway project), or a plain one for a bare build function, searches with an oracle that hands out the chosen
cases' values in order, between the defaults first and the defaults again last. What each trial's model is (its
variables' dtypes and shapes, a fingerprint of its starting weights, the variable objects themselves) and the global
state each build starts from are recorded, and after the search the calls a user makes next are made on the
rehearsal's project: ``get_best_models()``, ``get_best_hyperparameters()``, ``results_summary()`` and a reload by a
new tuner, as a resumed search does it. What it all means is ``rules.sequence``'s.

The search's data reaches the trials as the search passes it: arrays are cut as for the cases, but an object whose
state its use changes (a ``keras.utils.PyDataset``, a ``tf.data.Dataset`` of unknown length, a generator) is
passed as it is, in the state the user gave it, so that what a trial leaves of it (used up, shrunk, moved on) is
what the next trial meets. Each trial's training batches are counted, and a failure raised while the data was
read is told apart, for ``rules.sequence`` to blame the data rather than the build.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import inspect
import io
import itertools
import os
import re
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from pytest_hypermodel.rules.outcomes import meaningful_line, text_of
from pytest_hypermodel.rules.policy import Policy
from pytest_hypermodel.space import user_tuner
from pytest_hypermodel.space.hyperparameters import SearchSpace
from pytest_hypermodel.space.plan import Case
from pytest_hypermodel.space.words import plural

#: The label of the defaults' trials (the first and the last of the rehearsal).
DEFAULTS = "defaults"
#: What the user calls after a search, in the order the rehearsal calls them.
GET_BEST_MODELS = "get_best_models(1)"
GET_BEST_HYPERPARAMETERS = "get_best_hyperparameters(1)"
RESULTS_SUMMARY = "results_summary()"
RELOAD = "a new tuner on the project (overwrite=False), as a resumed search makes it"

_projects = itertools.count()

#: The most training batches a trial's fit runs on data passed as it is (a dataset of unknown length runs whole):
#: the rehearsal stays short, and data used up within that many batches a trial is seen so.
MAX_BATCHES = 100

#: What Keras and TensorFlow say when a fit fails reading its data, or gets none from it.
DATA_MARKERS = (
    "data_adapters",
    "from_generator_op",
    "epoch_iterator",
    "IteratorGetNext",
    "ran out of data",
    "empty generator",
    "Empty logs",
)


@dataclass
class TrialSeen:
    """One trial of the rehearsal: its values, what KerasTuner made of it, and its model as first built."""

    label: str
    values: dict[str, Any]
    #: KerasTuner's status after the search (``COMPLETED``, ``FAILED``, ``INVALID``); ``""``: it never ran.
    status: str = ""
    #: A trial that did not complete: the last line of KerasTuner's message (its traceback).
    message: str = ""
    #: ``(path, dtype, shape)`` of each variable of its model, as built (before the fit).
    variables: list[tuple[str, str, tuple[int, ...]]] = field(default_factory=list)
    params: int | None = None
    #: A digest of the starting weights (each build is seeded as the probe seeds a case's).
    weights: str = ""
    #: The global state its build started from: what a later build reads (``keras.config``, the dtype policy...).
    state: dict[str, str] = field(default_factory=dict)
    #: ``(variable path, label of the earlier trial whose model holds the same variable object)``.
    shared: list[tuple[str, str]] = field(default_factory=list)
    #: The training batches its fits ran; None: no fit started.
    batches: int | None = None
    #: Its fit raised while reading the search's data (in the data object's own code, or Keras's reading of it).
    reading_data: bool = False


@dataclass
class AfterSearch:
    """A call after the search that raised: what the user would meet."""

    call: str
    exception: str
    message: str
    traceback: str = ""


@dataclass
class Rehearsed:
    """What the rehearsal saw: plain builtins, to cross the pipe."""

    tuner: str = ""
    #: The search's data passed to every trial as it is (``search_data.described``); ``""``: none (arrays, cut).
    data: str = ""
    trials: list[TrialSeen] = field(default_factory=list)
    #: The global state after the last trial (after the session is cleared, as a next build would find it).
    final_state: dict[str, str] = field(default_factory=dict)
    #: The search itself raised (too many consecutive failures, a fatal error), in one line; ``""``: it ended.
    stopped: str = ""
    after_search: list[AfterSearch] = field(default_factory=list)
    #: Why nothing was rehearsed (a tuner that cannot be made again); ``""``: it ran.
    skipped: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ----------------------------------------------------------------------------------- global state


def global_state() -> dict[str, str]:
    """What a build reads from the process: Keras's configuration, its global dtype policy, the working directory.
    Each as text, so two snapshots compare and cross the pipe."""
    import keras
    from keras.src.backend.common import global_state as keras_state

    state: dict[str, str] = {}
    for getter in ("floatx", "epsilon", "image_data_format", "max_epochs", "max_steps_per_epoch"):
        if hasattr(keras.config, getter):
            state[f"keras.config.{getter}()"] = repr(getattr(keras.config, getter)())
    policy = keras_state.get_global_attribute("dtype_policy")
    state["keras.config.dtype_policy()"] = repr(getattr(policy, "name", None))  # None: none set, floatx's
    with contextlib.suppress(OSError):
        state["the working directory"] = os.getcwd()
    if keras.config.backend() == "tensorflow":
        import tensorflow as tf

        state["tf.config.functions_run_eagerly()"] = repr(tf.config.functions_run_eagerly())
    return state


@contextlib.contextmanager
def _state_restored() -> Iterator[None]:
    """Put back what the rehearsal's builds changed (in the probe process each request starts fresh anyway; with
    isolation off this is the caller's process)."""
    import keras
    from keras.src.backend.common import global_state as keras_state

    settings = {
        setter: getattr(keras.config, getter)()
        for getter, setter in (
            ("floatx", "set_floatx"),
            ("epsilon", "set_epsilon"),
            ("image_data_format", "set_image_data_format"),
        )
    }
    policy, cwd = keras_state.get_global_attribute("dtype_policy"), os.getcwd()
    try:
        yield
    finally:
        for setter, value in settings.items():
            getattr(keras.config, setter)(value)
        keras_state.set_global_attribute("dtype_policy", policy)
        with contextlib.suppress(OSError):
            os.chdir(cwd)


# ----------------------------------------------------------------------------------- the model of a trial


def _describe(model: Any, seen: TrialSeen) -> list[Any]:
    """Record ``model``'s variables on ``seen``; the variables themselves (kept alive, so an id is never reused)."""
    import numpy as np

    variables = list(getattr(model, "variables", []) or [])
    digest = hashlib.sha1()
    for v in variables:
        shape = tuple(int(d) for d in v.shape)
        seen.variables.append((str(getattr(v, "path", v.name)), str(v.dtype), shape))
        with contextlib.suppress(Exception):
            digest.update(np.asarray(v.numpy() if hasattr(v, "numpy") else v).tobytes())
    seen.weights = digest.hexdigest()[:16] if variables else ""
    with contextlib.suppress(Exception):
        seen.params = int(model.count_params())
    return variables


# ----------------------------------------------------------------------------------- the tuner


def _plain_class() -> Any:
    import keras_tuner as kt

    class Rehearsal(kt.RandomSearch):
        """A RandomSearch whose constructor does not build the defaults again (discovery did)."""

        def _populate_initial_space(self) -> None:
            pass

    return Rehearsal


def tuner_maker(
    hypermodel: Any, space: SearchSpace, tuner: Any, factory: Any, objective: Any, policy: Policy
) -> tuple[Callable[[bool], Any], str]:
    """``make(reload)``: a tuner on the rehearsal's own throwaway project, made as the cases' tuner is made (the
    user's factory called again; a copy of the user's tuner; a plain RandomSearch for a bare build function), made
    afresh (``reload`` False) or reloading that project as a resumed search does. The second value names it."""
    directory, project = user_tuner.throwaway_directory(), f"rehearsal_{next(_projects)}"
    if factory is not None:

        def from_factory(reload: bool) -> Any:
            quiet = contextlib.redirect_stdout(io.StringIO())  # "Reloading Tuner from ..."
            with user_tuner.pointed(directory, project, overwrite=not reload), quiet:
                return factory()

        return from_factory, type(tuner).__name__ if tuner is not None else "the tuner"
    if tuner is not None:  # the user's tuner object: a copy, on the rehearsal's project

        def copied(reload: bool) -> Any:
            made = copy.deepcopy(tuner)
            made.directory, made.project_name = directory, project
            made.oracle._set_project_dir(directory, project)
            if reload:
                with contextlib.redirect_stdout(io.StringIO()):
                    made.reload()
            return made

        return copied, type(tuner).__name__
    plain = _plain_class()

    def made_plain(reload: bool) -> Any:
        import keras_tuner as kt

        made = plain(
            hypermodel,
            objective=objective,
            max_trials=1,
            max_model_size=policy.max_model_size,
            max_retries_per_trial=policy.max_retries_per_trial,
            max_consecutive_failed_trials=policy.max_consecutive_failed_trials,
            directory=directory,
            project_name=project,
            overwrite=not reload,
        )
        if not reload:
            with contextlib.suppress(Exception):
                made.oracle.hyperparameters = kt.HyperParameters.from_config(space.kt_config)
        return made

    return made_plain, "RandomSearch"


def _handing_out(oracle: Any, order: Sequence[tuple[str, dict[str, Any]]], labels: dict[str, str]) -> None:
    """The oracle's ``populate_space`` hands out ``order``'s values, then stops the search; the rest of the oracle
    (its trials, its retries, its count of consecutive failures, its scores) is the user's own."""
    pending = iter(order)

    def populate_space(trial_id: str) -> dict[str, Any]:
        try:
            label, values = next(pending)
        except StopIteration:
            return {"status": "STOPPED", "values": None}
        labels[trial_id] = label
        return {"status": "RUNNING", "values": dict(values)}

    oracle.populate_space = populate_space
    oracle.max_trials = len(order)


# ----------------------------------------------------------------------------------- the rehearsal


def run(
    hypermodel: Any,
    space: SearchSpace,
    cases: Sequence[Case],
    policy: Policy,
    settings: Any,
    provided_data: Any = None,
    tuner: Any = None,
    factory: Any = None,
    before_trial: Callable[[], None] | None = None,
) -> Rehearsed:
    """Search over the defaults, ``cases`` in order, and the defaults again, as KerasTuner's ``search()`` runs it;
    then the calls after the search. ``before_trial()`` is told before each trial (the probe process's clock)."""
    import time

    from pytest_hypermodel.probe import discovery, heap, search_data
    from pytest_hypermodel.probe import fit as fit_mod
    from pytest_hypermodel.probe import trial as trial_mod

    started = time.perf_counter()
    defaults = dict(discovery.hyperparameters(space, {}).values)
    order = [(DEFAULTS, defaults)]
    order += [(case.id, dict(discovery.hyperparameters(space, case.values).values)) for case in cases]
    order.append((DEFAULTS, defaults))
    objective = None
    if tuner is None:
        objective = fit_mod.search_objective(settings.objective or (("loss", "min"),))
    make, name = tuner_maker(hypermodel, space, tuner, factory, objective, policy)
    rehearsed = Rehearsed(tuner=name, data=search_data.described(provided_data))
    heap.settle(recheck=True)
    with _state_restored():
        try:
            searching = make(False)
        except Exception as exc:
            rehearsed.skipped = f"the tuner could not be made again ({type(exc).__name__}: {exc})"
            return rehearsed
        # No objective named: the dict a fit() returns is searched by its own first key, as the cases run it (the
        # objective_unnamed finding tells the user to name one); else every trial would stop on "loss".
        unnamed = tuner is None and not settings.objective
        with trial_mod.objective_offered(searching.oracle, []) if unnamed else contextlib.nullcontext():
            _search(searching, order, rehearsed, settings, provided_data, before_trial)
        if any(t.status == "COMPLETED" for t in rehearsed.trials):
            _after_search(searching, make, rehearsed)
    rehearsed.seconds = round(time.perf_counter() - started, 3)
    return rehearsed


def _search(
    tuner: Any,
    order: Sequence[tuple[str, dict[str, Any]]],
    rehearsed: Rehearsed,
    settings: Any,
    provided_data: Any,
    before_trial: Callable[[], None] | None,
) -> None:
    """``tuner.search()`` over ``order``, each trial's model and starting state recorded on ``rehearsed``."""
    import keras

    labels: dict[str, str] = {}
    _handing_out(tuner.oracle, order, labels)
    by_trial: dict[str, TrialSeen] = {}
    owners: dict[int, tuple[str, TrialSeen]] = {}  # id of a variable -> (its path, the trial whose model made it)
    kept: list[Any] = []  # every trial's variables, alive: an id is never reused
    current: list[TrialSeen] = []
    synthesized: dict[str, Any] = {}
    reading = _data_sources(provided_data)
    original_build = tuner._build_hypermodel
    original_begin = tuner.on_trial_begin

    def on_trial_begin(trial: Any) -> None:
        if trial.trial_id not in by_trial:  # a retry is the same trial
            label = labels.get(trial.trial_id, trial.trial_id)
            seen = by_trial[trial.trial_id] = TrialSeen(label, dict(trial.hyperparameters.values))
            rehearsed.trials.append(seen)
        current[:] = [by_trial[trial.trial_id]]
        if before_trial is not None:
            before_trial()
        original_begin(trial)

    def record(model: Any, seen: TrialSeen) -> None:
        """The trial's model as first built (at its fit's start, for a model that builds its variables there)."""
        if seen.variables:
            return
        for v, (path, _, _) in zip(_describe(model, seen), seen.variables):
            owner = owners.get(id(v))
            if owner is not None and owner[1] is not seen:
                seen.shared.append((path, owner[1].label))
            else:
                owners[id(v)] = (path, seen)
            kept.append(v)

    def built(hp: Any) -> Any:
        seen = current[0] if current else None
        if seen is not None and not seen.state:
            seen.state = global_state()  # after KerasTuner's clear_session: what this build starts from
        keras.utils.set_random_seed(settings.seed)
        model = original_build(hp)
        if seen is not None and isinstance(model, keras.Model):
            if model.variables:
                record(model, seen)
            _watch_fit(model, dict(hp.values), synthesized, settings, lambda: record(model, seen), seen, reading)
        return model

    tuner.on_trial_begin, tuner._build_hypermodel = on_trial_begin, built
    try:
        args, kwargs = _search_arguments(tuner, dict(order[0][1]), provided_data, settings, synthesized)
        with contextlib.redirect_stdout(io.StringIO()):
            tuner.search(*args, **kwargs)
    except Exception as exc:  # too many consecutive failures, a fatal error: the search stops, as the user's would
        rehearsed.stopped = f"{type(exc).__name__}: {meaningful_line(text_of(exc))}"
    finally:
        del tuner.on_trial_begin, tuner._build_hypermodel
    for trial_id, seen in by_trial.items():
        trial = tuner.oracle.trials.get(trial_id)
        if trial is not None:
            seen.status = str(trial.status)
            if seen.status != "COMPLETED" and trial.message:
                seen.message = meaningful_line(str(trial.message))
                if seen.reading_data:  # the data's own error, not TensorFlow's node that quotes it
                    seen.message = _raised_line(str(trial.message)) or seen.message
    keras.backend.clear_session()
    rehearsed.final_state = global_state()


def _search_arguments(
    tuner: Any, defaults: dict[str, Any], provided: Any, settings: Any, synthesized: dict[str, Any]
) -> tuple[tuple, dict]:
    """What ``tuner.search`` gets: the user's data cut as for the cases (an object whose use changes it passed as
    it is), the cases' epochs and batches. Data made for a model (synthesized, or a callable's) is made for the
    defaults' model here, and for each trial's own model when its fit is called (``_watch_fit``)."""
    from pytest_hypermodel.probe import fit as fit_mod

    if provided is None or callable(provided):
        import keras_tuner as kt

        hp = kt.HyperParameters()
        hp.values = dict(defaults)
        model = tuner.hypermodel.build(hp)
        args, kwargs = fit_mod.fit_arguments(provided, model, dict(defaults), settings)
        synthesized["data"] = (provided, args)
    else:
        args, kwargs = fit_mod.fit_arguments(provided, None, dict(defaults), settings, as_given=True)
    kwargs.setdefault("epochs", settings.epochs)
    kwargs.setdefault("verbose", 0)
    return args, kwargs


@dataclass(frozen=True)
class DataSources:
    """Where a failure raised while reading the search's data shows: the data objects' own methods (by file)."""

    #: ``(file, method)`` of each method the data objects' classes define (a PyDataset's ``__getitem__``...).
    methods: frozenset[tuple[str, str]] = frozenset()
    #: Whether the data is passed as it is (its batches capped at ``MAX_BATCHES`` a fit).
    as_given: bool = False


def _data_sources(provided: Any) -> DataSources:
    """The search's consumable data objects' methods, where a failure of reading them is raised."""
    from pytest_hypermodel.probe import search_data

    kwargs = search_data.search_arguments(provided) or {}
    methods: set[tuple[str, str]] = set()
    for name in ("x", "validation_data"):
        value = kwargs.get(name)
        if search_data.kind_of(value) not in search_data.CONSUMABLE_KINDS:
            continue
        for cls in type(value).__mro__:
            if cls.__module__.startswith(("keras", "tensorflow", "builtins")):
                continue
            with contextlib.suppress(TypeError, OSError):
                source = inspect.getsourcefile(cls)
                if source:
                    methods.update((source, n) for n, f in vars(cls).items() if inspect.isfunction(f))
    return DataSources(frozenset(methods), search_data.consumable(provided))


_RAISED = re.compile(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception|StopIteration|Exhausted)\b:? .*)$")


def _raised_line(text: str) -> str:
    """The last ``IndexError: ...`` line of a trial's message: what the data raised, where TensorFlow's error about
    its pipeline quotes it (its own last line names a graph node)."""
    lines = [m.group(1).strip() for m in map(_RAISED.match, text.splitlines()) if m]
    return lines[-1] if lines else ""


def raised_reading_data(exc: BaseException, sources: DataSources) -> bool:
    """Whether ``exc``, raised by a fit, was raised reading its data: in a data object's own method (its frame, or
    the traceback TensorFlow quotes from the pipeline's Python function), or in Keras's reading of the data."""
    for frame in traceback.extract_tb(exc.__traceback__):
        if (frame.filename, frame.name) in sources.methods:
            return True
    text = text_of(exc)
    for file, method in sources.methods:
        if re.search(rf'File "{re.escape(file)}", line \d+, in {re.escape(method)}\b', text):
            return True
    return any(marker in text for marker in DATA_MARKERS)


def _watch_fit(
    model: Any,
    values: dict[str, Any],
    synthesized: dict[str, Any],
    settings: Any,
    on_start: Callable[[], None],
    seen: TrialSeen | None = None,
    sources: DataSources = DataSources(),
) -> None:
    """The model's ``fit`` tells ``on_start()`` once the model is built, before its first update; given the search's
    data made for the defaults' model, it fits data made for this model instead, as its case did. On ``seen``: the
    batches it trains on (at most ``MAX_BATCHES`` on data passed as it is), and whether it raised reading them."""
    import keras

    from pytest_hypermodel.probe import fit as fit_mod

    original = model.fit

    def fit(*args: Any, **kwargs: Any) -> Any:
        if "data" in synthesized and len(args) >= 2 and args[0] is synthesized["data"][1][0]:
            own, extra = fit_mod.fit_arguments(synthesized["data"][0], model, values, settings)
            args = (*own, *args[2:])
            if "validation_data" in extra and "validation_data" in kwargs:
                kwargs["validation_data"] = extra["validation_data"]

        def began(logs: Any) -> None:
            if seen is not None and seen.batches is None:
                seen.batches = 0
            on_start()

        def counted(batch: int, logs: Any) -> None:
            if seen is None:
                return
            seen.batches = (seen.batches or 0) + 1
            if sources.as_given and seen.batches >= MAX_BATCHES:
                model.stop_training = True

        watcher = keras.callbacks.LambdaCallback(on_train_begin=began, on_train_batch_end=counted)
        kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), watcher]
        try:
            return original(*args, **kwargs)
        except Exception as exc:
            if seen is not None and raised_reading_data(exc, sources):
                seen.reading_data = True
            raise

    model.fit = fit


def _after_search(tuner: Any, make: Callable[[bool], Any], rehearsed: Rehearsed) -> None:
    """The calls a user makes once the search ended, on the rehearsal's project; each that raises is recorded."""

    def summary() -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            tuner.results_summary()

    def reload() -> None:
        with contextlib.redirect_stdout(io.StringIO()):  # KerasTuner says "Reloading Tuner from ..."
            again = make(True)
        have, had = len(again.oracle.trials), len(tuner.oracle.trials)
        if have != had:
            raise RuntimeError(f"the new tuner reloaded {have} of the project's {plural(had, 'trial')}")
        again.get_best_hyperparameters(1)

    for call, function in (
        (GET_BEST_MODELS, lambda: tuner.get_best_models(1)),
        (GET_BEST_HYPERPARAMETERS, lambda: tuner.get_best_hyperparameters(1)),
        (RESULTS_SUMMARY, summary),
        (RELOAD, reload),
    ):
        try:
            function()
        except Exception as exc:
            rehearsed.after_search.append(
                AfterSearch(
                    call,
                    type(exc).__name__,
                    meaningful_line(text_of(exc)),
                    "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
                )
            )
