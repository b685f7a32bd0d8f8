"""A tuner whose own ``search()`` prepares the search (AutoKeras's), driven through that code up to its first trial.

KerasTuner's ``BaseTuner.search(*fit_args, **fit_kwargs)`` hands its arguments to each trial's ``run_trial``
unchanged. A subclass that overrides ``search`` (AutoKeras's ``AutoTuner``: it sets the hypermodel's input shapes
from the data, builds the defaults, inserts its early stopping) does its preparation and then calls
``super().search(...)``; an AutoKeras ``AutoModel``'s ``fit()`` adapts and analyses the data and builds its
preprocessing before it calls ``tuner.search(x=..., y=...)``. Here that code runs for real, as the user's own call
would run it, and stops where KerasTuner's ``BaseTuner.search`` would start its trials: what it would have passed to
``run_trial`` is what each case's trial gets (``SearchArguments``, keywords kept as keywords).

Only the probe process runs this (it runs the user's code); nothing here imports AutoKeras: its objects are
recognised by what they have.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


class SearchArguments(dict):
    """The arguments a search passes to each ``run_trial``, by name (``x``, ``y``, ``validation_data``, ...):
    ``keywords`` True when ``x`` and ``y`` reach ``run_trial`` as keywords (AutoKeras reads ``kwargs["x"]``),
    False when they come first, positionally."""

    keywords: bool = True


class _Reached(Exception):
    """KerasTuner's own ``BaseTuner.search`` was reached: the preparation is done, the trials would start."""

    def __init__(self, args: tuple, kwargs: dict) -> None:
        super().__init__("the search reached its first trial")
        self.args, self.kwargs = args, kwargs


@dataclass(frozen=True)
class Prepared:
    """What the tuner's own preparation left: the tuner (prepared for the data) and what its trials get."""

    tuner: Any
    arguments: SearchArguments


class PreparationFailed(Exception):
    """The tuner's own preparation raised before the search's first trial: the search would raise it too.
    ``in_default_build``: it raised while building the defaults (KerasTuner's ``_try_build``), which discovery
    finds again and the forecast names; else ``line`` says what raised and where."""

    def __init__(self, line: str, error: BaseException, in_default_build: bool) -> None:
        super().__init__(line)
        self.error, self.in_default_build = error, in_default_build


def overrides_search(tuner: Any) -> bool:
    """Whether the tuner's class has a ``search()`` of its own (not KerasTuner's)."""
    return any("search" in vars(cls) and not cls.__module__.startswith("keras_tuner") for cls in type(tuner).__mro__)


@contextlib.contextmanager
def _stopped_at_first_trial() -> Iterator[None]:
    """Inside, KerasTuner's ``BaseTuner.search`` raises ``_Reached`` with its arguments instead of searching."""
    from keras_tuner.src.engine import base_tuner

    original = base_tuner.BaseTuner.search

    def search(self: Any, *fit_args: Any, **fit_kwargs: Any) -> Any:
        raise _Reached(fit_args, fit_kwargs)

    base_tuner.BaseTuner.search = search
    try:
        yield
    finally:
        base_tuner.BaseTuner.search = original


def prepare(owner: Any, tuner: Any, args: tuple, kwargs: dict) -> Prepared:
    """Call ``owner.fit(*args, **kwargs)`` (an AutoModel) or ``tuner.search(*args, **kwargs)`` (a tuner with its own
    ``search``) for real, up to where KerasTuner's search would start its first trial. PreparationFailed when it
    raises before: what the user's own call would raise."""
    call = owner.fit if owner is not None else tuner.search
    named = f"{type(owner if owner is not None else tuner).__name__}.{'fit' if owner is not None else 'search'}()"
    try:
        with _stopped_at_first_trial():
            call(*args, **kwargs)
    except _Reached as reached:
        return Prepared(tuner, _arguments(reached.args, reached.kwargs))
    except Exception as exc:
        from pytest_hypermodel.rules.outcomes import meaningful_line, text_of

        line = f"{named} raises before its first trial: {type(exc).__name__}: {meaningful_line(text_of(exc))}"
        raise PreparationFailed(line, exc, _in_build(exc)) from None
    raise PreparationFailed(
        f"{named} returned without reaching KerasTuner's search (a search already finished?): nothing to preflight",
        RuntimeError("no search"),
        False,
    )


def _arguments(args: tuple, kwargs: dict) -> SearchArguments:
    """What ``BaseTuner.search`` received, by name: ``x`` and ``y`` from the first two positions, or keywords."""
    found = SearchArguments(kwargs)
    found.keywords = not args
    if found.get("epochs", 0) is None:  # the preflight called it without epochs: each case fits the probe's
        del found["epochs"]
    for name, value in zip(("x", "y"), args):
        found[name] = value
    if len(args) > 2:
        raise PreparationFailed(
            f"the search passes {len(args)} positional arguments to its trials; the preflight drives x and y only",
            TypeError("positional"),
            False,
        )
    return found


def _in_build(exc: BaseException) -> bool:
    """Whether ``exc`` was raised inside KerasTuner's build of a model (``Tuner._try_build``)."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name in ("_try_build", "_build_hypermodel"):
            return True
        tb = tb.tb_next
    return False
