"""Cheap checks over the space: build many configurations without fitting them.

A fit costs seconds; a build of a small model costs milliseconds. Built, a configuration tells what a trial's
build would: whether it raises, its parameter count (KerasTuner's ``max_model_size``), and the memory its
training would need (the memory budget). A few hundred builds give the failure share of the space a random tuner
draws from, which the plan's extremes and corners over-weight; the forecast judges the draws it built by them.

Keras is imported only where a build runs: a ``Screen`` crosses to the pytest process with its ``Preflight``
(pickled), and that process imports no backend.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_hypermodel.rules import offline, outcomes
from pytest_hypermodel.rules.forecasts.protocol import Built
from pytest_hypermodel.space.hyperparameters import SearchSpace

#: The most configurations built per hypermodel, and the seconds spent on them at most (whichever comes first):
#: a space this small is built whole, a larger one at as many of a random tuner's draws as fit.
MAX_SCREENED = 256
SCREEN_SECONDS = 3.0
#: A sample of the draws stops after this many builds when none of them failed: the space's share of failing
#: builds is then under 3/32 (9%, the rule of three at 95%), which aborts a 10-trial search (3 FAILED in a row)
#: with under 1% probability; a healthy space pays 32 builds, not the whole budget.
MIN_SCREENED = 32
#: Builds between two garbage collections: KerasTuner's ``clear_session`` collects at every build, which is most
#: of a small build's time (7 builds a second instead of 47, measured); the session is still cleared each time.
COLLECT_EVERY = 32
#: The batch the memory estimate is made at when the search's own ``batch_size`` is not known: Keras's default.
BATCH_SIZE = 32


@dataclass(frozen=True)
class Limits:
    """What a built model is held to: KerasTuner's ``max_model_size`` and the memory budget (None: no limit)."""

    max_model_size: int | None = None
    memory_budget: int | None = None

    def fails(self, built: Built) -> bool:
        """Whether a build fails: it raised, or its model is over a limit."""
        return built.outcome is not None or bool(
            (self.max_model_size and (built.size or 0) > self.max_model_size)
            or (self.memory_budget and (built.memory_bytes or 0) > self.memory_budget)
        )


@dataclass
class Screen:
    """Configurations built without a fit: one record per build (``Built``)."""

    results: list[Built] = field(default_factory=list)
    seconds: float = 0.0
    #: Whether every configuration of the space is known (built here, or run as a case).
    whole: bool = False
    #: Configurations offered that the budget left unbuilt.
    skipped: int = 0

    @property
    def failures(self) -> list[Built]:
        """The builds that raised."""
        return [r for r in self.results if r.outcome is not None]

    @property
    def rate(self) -> float:
        """Configurations built per second."""
        return len(self.results) / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "built": len(self.results),
            "failed": len(self.failures),
            "seconds": round(self.seconds, 3),
            "per_second": round(self.rate, 1),
            "whole": self.whole,
            "skipped": self.skipped,
        }


def check(
    hypermodel: Any,
    space: SearchSpace,
    configurations: Iterable[Mapping[str, Any]],
    timeout: float | None = None,
    most: int = MAX_SCREENED,
    seconds: float | None = None,
    whole: bool = False,
    limits: Limits | None = None,
    batch_size: int = BATCH_SIZE,
) -> Screen:
    """Build each configuration (at most ``most``, within ``seconds``), as a trial's build would, and estimate its
    training memory at ``batch_size`` (the search's). ``whole``: the configurations, with the cases, are the whole
    space; the screen says so only if it built every one. A sample (not ``whole``) held to ``limits`` stops after
    MIN_SCREENED builds when none of them fails. ``seconds`` None: ``SCREEN_SECONDS``, read at the call."""
    import keras
    from keras_tuner.src.engine.tuner import maybe_compute_model_size

    from pytest_hypermodel.probe import discovery, fit

    seconds = SCREEN_SECONDS if seconds is None else seconds
    screen = Screen()
    unknown = 0  # builds that ran past the time limit or tried a download: they tell nothing
    started = time.perf_counter()
    pending = list(configurations)
    for i, values in enumerate(pending):
        calm = limits is not None and not whole and i >= MIN_SCREENED and not any(map(limits.fails, screen.results))
        if i >= most or time.perf_counter() - started > seconds or calm:
            screen.skipped = len(pending) - i
            break
        hp = discovery.hyperparameters(space, values)
        measured: dict[str, Any] = {}
        try:
            with outcomes.time_limit(timeout) as limit:
                model = hypermodel.build(hp)
                if limit.struck:
                    raise limit.error()
            if isinstance(model, keras.Model):
                try:
                    measured["params"] = int(model.count_params())
                    measured["size"] = maybe_compute_model_size(model)  # what max_model_size is held to
                    measured["memory_bytes"] = fit.estimate_memory(model, batch_size)
                except ValueError:  # an unbuilt subclassed model has no weights yet
                    pass
        except Exception as exc:
            if isinstance(exc, outcomes.CaseTimeout) or offline.attempted_download(outcomes.text_of(exc)):
                unknown += 1
                continue  # a slow build is no failed trial (KerasTuner has no time limit); a download says nothing
            measured.update(
                outcome=outcomes.classify(exc),
                exception=type(exc).__name__,
                exception_bases=outcomes.exception_bases(exc),
            )
        finally:
            _clear_session(keras, collect=(i + 1) % COLLECT_EVERY == 0)
        screen.results.append(Built(dict(hp.values), **measured))
    screen.seconds = time.perf_counter() - started
    screen.whole = whole and not screen.skipped and not unknown
    return screen


def _clear_session(keras: Any, collect: bool) -> None:
    try:
        keras.backend.clear_session(free_memory=collect)
    except TypeError:  # Keras before 3.4 always collects
        keras.backend.clear_session()
