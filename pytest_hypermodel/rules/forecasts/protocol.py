"""One protocol for every tuner's forecast: what a forecast is given, and what it answers.

As pytest-xdist's schedulers share one protocol (``xdist/scheduler/protocol.py``), one module a strategy, chosen by a
factory, each tuner family's forecast is a module of ``rules.forecasts`` that answers ``TunerForecast.forecast``,
and ``factory.forecast_for`` picks it by the tuner's name. What they read is typed here, once: the cases' records,
the grid's order, the oracle's draws and the builds without a fit, all prepared by the probe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pytest_hypermodel.rules.policy import Policy

if TYPE_CHECKING:
    from pytest_hypermodel.space.hyperparameters import SearchSpace

#: A forecast as the JSON report's ``forecasts[]`` holds it (plain builtins, in the order the report writes them).
ForecastRecord = dict[str, Any]


class Screened(Protocol):
    """What a forecast reads of the configurations built without a fit (``probe.screen.Screen``)."""

    #: One entry per build: ``{"values", "params", "size", "memory_bytes"}``, and ``"outcome"`` and its exception
    #: for a build that raised.
    results: list[dict[str, Any]]
    #: Whether the builds and the cases are the whole space.
    whole: bool

    @property
    def rate(self) -> float:
        """Configurations built per second."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """The builds, summed up for the report."""
        ...


@dataclass(frozen=True)
class Probed:
    """One hypermodel's probed cases, and what its preflight prepared for the forecast (``probe.prepare``)."""

    #: The hypermodel's SPEC, which names its forecast.
    spec: str
    space: SearchSpace
    #: Its cases' records (``verdict.entry``), but those whose build downloads.
    cases: list[dict[str, Any]]
    #: The cases left out: a build that downloads says nothing about the space (the search node may have the file).
    downloads: list[dict[str, Any]]
    #: The policy the cases were judged by.
    policy: Policy
    #: The tuner's name (``GridSearch``, ``RandomSearch``, ...) and its ``max_trials`` (None: not given).
    tuner: str
    max_trials: int | None
    #: The abort probability above which a random-order search's forecast fails the run.
    max_abort_risk: float
    #: GridSearch's own trial order (``Preflight.trials``).
    trials: list[dict[str, Any]] | None = None
    #: The trials a random tuner's oracle draws, seed by seed (``Preflight.draws``).
    draws: list[tuple[int, list[dict[str, Any]]]] | None = None
    #: The configurations built without a fit (``Preflight.screen``).
    screen: Screened | None = None


class TunerForecast(Protocol):
    """What a search with one tuner would do with the probed cases, before it runs."""

    def forecast(self, probed: Probed) -> ForecastRecord:
        """The forecast's record: ``spec``, ``tuner``, ``aborts``, ``message``, ``fails_run`` and the family's own
        fields (docs/reference/json-report.md)."""
        ...
