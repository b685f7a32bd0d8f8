"""A user's own KerasTuner tuner: made without touching its project, and read for the settings it implies.

A SPEC may name a function that returns the tuner the search uses (``train.py:make_tuner``); the Python API
takes the tuner itself. Its hypermodel, objective, retry policy, size limit, class and ``max_trials`` are then the
preflight's, and its project directory is only read (``project.check``): the tuner is created, and its trials run,
in a throwaway directory.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

#: What KerasTuner names a project when its tuner is given no directory or project_name.
DEFAULT_DIRECTORY, DEFAULT_PROJECT = ".", "untitled_project"

_directory: str | None = None
_projects = itertools.count()


def throwaway_directory() -> str:
    """Where this process's tuners keep their projects (checkpoints, ``trial.json``): removed when it exits."""
    global _directory
    if _directory is None or not os.path.isdir(_directory):
        _directory = tempfile.mkdtemp(prefix="pytest-hypermodel-trials-")
        atexit.register(shutil.rmtree, _directory, True)
    return _directory


def is_tuner(obj: Any) -> bool:
    """A KerasTuner tuner (or anything with its oracle, search and hypermodel)."""
    return hasattr(obj, "oracle") and hasattr(obj, "search") and hasattr(obj, "hypermodel")


def is_auto_model(obj: Any) -> bool:
    """An AutoKeras ``AutoModel`` (``StructuredDataClassifier``, ``ImageClassifier``...): it holds the tuner and
    prepares the data for it in its own ``fit()``."""
    return (
        hasattr(obj, "tuner")
        and hasattr(obj, "fit")
        and all(hasattr(obj, name) for name in ("_analyze_data", "_check_and_adapt", "_build_hyper_pipeline"))
    )


def is_auto_tuner(tuner: Any) -> bool:
    """An AutoKeras tuner (``AutoTuner``: ``Greedy``, ``BayesianOptimization``...): its ``AutoModel`` sets up its
    preprocessing (``hyper_pipeline``) from the data before its search."""
    return hasattr(tuner, "_prepare_model_build") and hasattr(tuner, "hyper_pipeline")


def refusal(tuner: Any) -> str | None:
    """One line for a tuner the preflight cannot drive alone (AutoKeras's, which its AutoModel prepares); None
    for one it can."""
    if is_auto_tuner(tuner):
        return (
            f"{type(tuner).__name__} is AutoKeras's tuner, which its AutoModel prepares for the data in fit() (the "
            "preprocessing, the input and output shapes) before the search: preflight the AutoModel itself, "
            "preflight(clf, x, y), with the x and y that clf.fit(x, y) takes"
        )
    return None


def is_factory(obj: Any) -> bool:
    """A function called with no argument (a tuner's maker), not a build function ``fn(hp)``."""
    import inspect

    if not inspect.isfunction(obj):
        return False
    try:
        inspect.signature(obj).bind()
    except TypeError:
        return False
    return True


@contextlib.contextmanager
def redirected(projects: list[str | None]) -> Iterator[None]:
    """Tuners created inside get a throwaway project (``overwrite=True`` there); ``projects`` receives the
    ``DIR/NAME`` each was given (None with ``overwrite=True``: the search starts afresh). Without this, creating
    the user's tuner would reload its old project, or delete it."""

    def throwaway(kwargs: dict[str, Any]) -> dict[str, Any]:
        projects.append(
            None
            if kwargs.get("overwrite")
            else os.path.join(
                str(kwargs.get("directory") or DEFAULT_DIRECTORY), str(kwargs.get("project_name") or DEFAULT_PROJECT)
            )
        )
        return {"directory": throwaway_directory(), "project_name": f"tuner_{next(_projects)}", "overwrite": True}

    with _projects_of_tuners_made(throwaway):
        yield


@contextlib.contextmanager
def _projects_of_tuners_made(project: Callable[[dict[str, Any]], dict[str, Any]]) -> Iterator[None]:
    """Inside, every tuner KerasTuner makes gets ``project(its arguments)`` as its ``directory``, ``project_name``
    and ``overwrite``: the one place ``BaseTuner.__init__`` is patched (its positional arguments named first)."""
    from keras_tuner.src.engine import base_tuner

    original = base_tuner.BaseTuner.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.update(zip(("oracle", "hypermodel", "directory", "project_name", "overwrite"), args))
        kwargs.update(project(kwargs))
        original(self, **kwargs)

    base_tuner.BaseTuner.__init__ = __init__
    try:
        yield
    finally:
        base_tuner.BaseTuner.__init__ = original


def make(factory: Any, spec: str) -> tuple[Any, str | None]:
    """Call ``factory()`` with its tuner's project redirected: the tuner and the project it names (ValueError
    with one line when it returns something else)."""
    projects: list[str | None] = []
    with redirected(projects):
        tuner = factory()
    if is_auto_model(tuner):
        raise ValueError(
            f"--hypermodel {spec}: {getattr(factory, '__name__', 'it')}() returned an AutoKeras "
            f"{type(tuner).__name__}, which prepares its search in fit() from the data: preflight it from Python, "
            "preflight(clf, x, y), with the x and y that clf.fit(x, y) takes"
        )
    refused = refusal(tuner)
    if refused is not None:
        raise ValueError(f"--hypermodel {spec}: {refused}")
    if not is_tuner(tuner):
        raise ValueError(
            f"--hypermodel {spec}: {getattr(factory, '__name__', 'it')}() returned {type(tuner).__name__}, not a "
            "KerasTuner tuner; point the SPEC at a build function fn(hp), a keras_tuner.HyperModel, or a function "
            "that returns the tuner the search uses"
        )
    return tuner, projects[0] if projects else None


@dataclass(frozen=True)
class TunerSettings:
    """What a user's own tuner sets (``describe``): plain data, which crosses from the probe process with its
    ``Preflight`` (pickled). A field the tuner does not set is None, and the options' value stands."""

    #: Its class as the forecast knows it: a subclass of a known tuner as its base, a tuner of another class with
    #: KerasTuner's oracle (or a subclass of one) as that oracle's tuner; None for another (AutoKeras's Greedy).
    tuner: str | None = None
    #: Its class's own name, which the forecast names ("Greedy would abort ..."), whatever it searches as.
    name: str | None = None
    #: Its oracle's class, when it is not one of KerasTuner's own (AutoKeras's ``GreedyOracle``, a user's subclass):
    #: the forecast simulates KerasTuner's in its place, and says so. None: KerasTuner's oracle, simulated as is.
    oracle: str | None = None
    max_trials: int | None = None
    #: Its objective as ``--hypermodel-objective`` writes it (``val_loss:min``, comma-joined); None for none.
    objective: str | None = None
    #: Its project directory, which the preflight only reads (``project.check``).
    project: str | None = None
    #: Its retry policy's fields (``Policy``).
    max_retries_per_trial: int = 0
    max_consecutive_failed_trials: int = 3
    max_model_size: int | None = None
    #: Hyperband's ``max_epochs``: it sets each trial's ``epochs`` (up to it) over the search's own argument.
    max_epochs: int | None = None
    #: Whether its constructor builds the defaults (KerasTuner's do; AutoKeras's leave them to its search()).
    builds_defaults_when_created: bool = True

    @property
    def policy_fields(self) -> dict[str, Any]:
        """The retry policy's fields the tuner sets, by ``Policy``'s names (every one: a tuner has them all)."""
        return {
            "max_retries_per_trial": self.max_retries_per_trial,
            "max_consecutive_failed_trials": self.max_consecutive_failed_trials,
            "max_model_size": self.max_model_size,
        }

    def settings(self) -> dict[str, Any]:
        """The settings the tuner implies, by the settings' names (``settings.DEFAULTS``): those it sets."""
        named = {
            "hypermodel_tuner": self.tuner,
            "hypermodel_max_trials": self.max_trials,
            "hypermodel_objective": self.objective,
            "hypermodel_project": self.project,
        }
        return {name: value for name, value in named.items() if value is not None}


#: KerasTuner's oracles, by the tuner whose search each makes.
KERAS_TUNER_ORACLES = {
    "RandomSearchOracle": "RandomSearch",
    "GridSearchOracle": "GridSearch",
    "BayesianOptimizationOracle": "BayesianOptimization",
    "HyperbandOracle": "Hyperband",
}


def _keras_tuners(cls: type) -> bool:
    return cls.__module__.startswith("keras_tuner")


def _oracle_family(oracle: Any, known: tuple[str, ...]) -> str | None:
    """The tuner in ``known`` whose oracle ``oracle`` is, or subclasses; None for another oracle."""
    for cls in type(oracle).__mro__:
        family = KERAS_TUNER_ORACLES.get(cls.__name__) if _keras_tuners(cls) else None
        if family in known:
            return family
    return None


def describe(tuner: Any, known: tuple[str, ...], project: str | None = None) -> TunerSettings:
    """The settings ``tuner`` implies: a class in ``known`` (its own, its base's, else its oracle's), its name and
    its oracle's when not KerasTuner's, its ``max_trials``, its objective, its project (``project``, else read from
    the tuner without creating it), and its policy fields."""
    oracle = tuner.oracle
    name = type(tuner).__name__
    # a subclass (its own run_trial) is searched as its base class searches; another class, as its oracle's tuner
    base = next((cls.__name__ for cls in type(tuner).__mro__ if cls.__name__ in known), None) or _oracle_family(
        oracle, known
    )
    goals = getattr(oracle.objective, "objectives", None) or [oracle.objective]
    directory = getattr(tuner, "directory", None)
    if (
        project is None
        and directory is not None
        and getattr(tuner, "project_name", None)
        and not os.path.abspath(str(directory)).startswith(throwaway_directory())
    ):
        project = os.path.join(str(directory), tuner.project_name)  # not tuner.project_dir: it creates it
    return TunerSettings(
        tuner=(name if name in known else base) if base is not None else None,
        name=name,
        oracle=None if _keras_tuners(type(oracle)) else type(oracle).__name__,
        max_trials=getattr(oracle, "max_trials", None) or None,
        objective=(
            ",".join(f"{g.name}:{g.direction}" for g in goals)
            if all(getattr(g, "name", "default_objective") != "default_objective" for g in goals)
            else None
        ),
        project=project,
        max_retries_per_trial=getattr(oracle, "max_retries_per_trial", 0),
        max_consecutive_failed_trials=getattr(oracle, "max_consecutive_failed_trials", 3),
        max_model_size=getattr(tuner, "max_model_size", None),
        max_epochs=getattr(oracle, "max_epochs", None) if hasattr(oracle, "hyperband_iterations") else None,
        builds_defaults_when_created=not any(
            "_populate_initial_space" in vars(cls) and not cls.__module__.startswith("keras_tuner")
            for cls in type(tuner).__mro__
        ),
    )


@contextlib.contextmanager
def repointed(tuner: Any) -> Iterator[None]:
    """The tuner's trials write into a throwaway project while inside (a tuner the user created holds their
    project: nothing of the preflight's lands there)."""
    oracle = tuner.oracle
    saved = (tuner.directory, tuner.project_name, oracle._directory, oracle._project_name)
    if saved[0] != throwaway_directory():
        tuner.directory, tuner.project_name = throwaway_directory(), f"repointed_{id(tuner)}"
        oracle._directory, oracle._project_name = tuner.directory, tuner.project_name
    try:
        yield
    finally:
        tuner.directory, tuner.project_name, oracle._directory, oracle._project_name = saved


@contextlib.contextmanager
def pointed(directory: str, project_name: str, overwrite: bool) -> Iterator[None]:
    """Tuners created inside keep their project in ``directory/project_name``, with ``overwrite`` (the
    rehearsal's throwaway project: made afresh, then reloaded by a new tuner as a resumed search reloads it)."""
    given = {"directory": directory, "project_name": project_name, "overwrite": overwrite}
    with _projects_of_tuners_made(lambda kwargs: given):
        yield
