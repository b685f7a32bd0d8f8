"""One protocol for every tuner's forecast: what a forecast is given, and what it answers.

As pytest-xdist's schedulers share one protocol (``xdist/scheduler/protocol.py``), one module a strategy, chosen by a
factory, each tuner family's forecast is a module of ``rules.forecasts`` that answers ``TunerForecast.forecast``,
and ``factory.forecast_for`` picks it by the tuner's name. What they read is typed here, once: the cases' records,
the grid's order, the oracle's draws and the builds without a fit, all prepared by the probe; and what they answer,
a ``ForecastRecord``, which becomes a dict only in the JSON report (``engine.payload``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pytest_hypermodel.rules.policy import Policy
from pytest_hypermodel.rules.record import CaseRecord

if TYPE_CHECKING:
    from pytest_hypermodel.rules.abort_rules import Forecast
    from pytest_hypermodel.rules.timing import TrialTiming
    from pytest_hypermodel.space.hyperparameters import SearchSpace


@dataclass(frozen=True, kw_only=True)
class ForecastRecord:
    """One hypermodel's forecast, as the terminal and JUnit read it; the JSON report's ``forecasts[]`` holds
    :meth:`to_dict` (docs/reference/json-report.md). Each tuner family's record adds its own fields."""

    spec: str
    tuner: str
    aborts: bool
    #: The forecast in a sentence, with how it was computed: the terminal's line under ``-v``, the failing test's
    #: message when it fails the run, the JSON and HTML reports'.
    message: str
    fails_run: bool
    #: The verdict alone (what KerasTuner would do, the chance, what to change): the terminal's line by default,
    #: as short as pytest's own summary lines. Empty where the message is as short (``short`` gives it then).
    headline: str = ""
    #: The chance of an abort within the trials (a random-order tuner's; None for GridSearch's walk).
    abort_probability: float | None = None
    #: Seconds per trial (``timing.timing``); None before the default case ran.
    timing: TrialTiming | None = None
    #: The KerasTuner tuner whose search was simulated, when ``tuner`` (the user's tuner's class) is another;
    #: ``""`` when it is ``tuner`` itself.
    simulated: str = ""
    #: What the forecast approximates, in a phrase, where it does not simulate the tuner's own oracle ("its
    #: GreedyOracle simulated as RandomSearch's"); ``""`` where it does.
    approximation: str = ""

    def short(self) -> str:
        """The verdict, for the terminal's default line: the headline, else the message."""
        return self.headline or self.message

    def to_dict(self) -> dict[str, Any]:
        """The record as the JSON report holds it: plain builtins, in the report's order."""
        return self._with_timing(
            {
                "spec": self.spec,
                "tuner": self.tuner,
                "aborts": self.aborts,
                "message": self.message,
                "fails_run": self.fails_run,
            }
        )

    def _with_timing(self, fields: dict[str, Any]) -> dict[str, Any]:
        fields = {**fields, "headline": self.short()}
        fields.update({k: v for k, v in (("simulated", self.simulated), ("approximation", self.approximation)) if v})
        return {**fields, "timing": self.timing.to_dict()} if self.timing is not None else fields


@dataclass(frozen=True, kw_only=True)
class RandomOrderForecast(ForecastRecord):
    """A random-order tuner's forecast (``risk``): a probability of aborting within ``max_trials``, or a
    constructor that cannot build the defaults (``reason``)."""

    max_trials: int
    #: Why it aborts whatever the draws (``abort_rules.REASON_DEFAULT_BUILD``, ``REASON_CANNOT_START``); None for an
    #: estimated risk.
    reason: str | None = None
    failure_rate: float | None = None
    fatal_rate: float | None = None
    #: The builds without a fit, summed up (``Screened.to_dict``); None when there were none.
    screen: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "spec": self.spec,
            "tuner": self.tuner,
            "max_trials": self.max_trials,
            "aborts": self.aborts,
        }
        if self.reason is not None:
            fields["reason"] = self.reason
        if self.abort_probability is not None:
            fields.update(
                abort_probability=self.abort_probability, failure_rate=self.failure_rate, fatal_rate=self.fatal_rate
            )
        fields.update(message=self.message, fails_run=self.fails_run)
        if self.screen is not None:
            fields["screen"] = self.screen
        return self._with_timing(fields)


@dataclass(frozen=True, kw_only=True)
class GridForecast(ForecastRecord):
    """GridSearch's forecast: KerasTuner's own trials walked (``abort_rules.forecast_sequence``)."""

    #: The walk: where the search dies, the trials' statuses and runs (its ``message`` is the record's at first).
    walk: Forecast

    @classmethod
    def of(cls, spec: str, walk: Forecast) -> GridForecast:
        """The record of ``spec``'s walk: it fails the run when the search aborts."""
        return cls(
            spec=spec, tuner=walk.tuner, aborts=walk.aborts, message=walk.message, fails_run=walk.aborts, walk=walk
        )

    def to_dict(self) -> dict[str, Any]:
        fields = {"spec": self.spec, **self.walk.to_dict(), "fails_run": self.fails_run}
        fields["message"] = self.message  # the walk's, with what the run added (``rerun.note_sources``)
        return self._with_timing(fields)


@dataclass(frozen=True)
class Built:
    """One configuration built without a fit (``probe.screen.check``): what a trial's build would tell."""

    values: dict[str, Any]
    #: The model's parameters, and its trainable ones (``size``, which KerasTuner holds to ``max_model_size``);
    #: None when the build raised or the model has no weights yet.
    params: int | None = None
    size: int | None = None
    #: The estimated training memory (``fit.estimate_memory``).
    memory_bytes: int | None = None
    #: For a build that raised: its outcome, exception and the exception's bases (as a case reports them).
    outcome: str | None = None
    exception: str | None = None
    exception_bases: Sequence[str] = field(default_factory=tuple)


class Screened(Protocol):
    """What a forecast reads of the configurations built without a fit (``probe.screen.Screen``)."""

    #: One record per build.
    results: list[Built]
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
    #: Its cases' records, but those whose build downloads.
    cases: list[CaseRecord]
    #: The cases left out: a build that downloads says nothing about the space (the search node may have the file).
    downloads: list[CaseRecord]
    #: The policy the cases were judged by.
    policy: Policy
    #: The tuner's name, as the forecast names it (``RandomSearch``, a user's tuner's class: ``Greedy``), and its
    #: ``max_trials`` (None: not given).
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
    #: Why KerasTuner cannot make the tuner here (``Preflight.cannot_start``); ``""`` when it can.
    cannot_start: str = ""
    #: The KerasTuner tuner whose search the forecast simulates (``GridSearch``, ``RandomSearch``, ...), when
    #: ``tuner`` is another class (a subclass, AutoKeras's ``Greedy``); ``""``: ``tuner`` itself.
    simulated: str = ""
    #: The tuner's own oracle class, when it is not KerasTuner's (``GreedyOracle``): the forecast drives
    #: ``family``'s in its place. ``""``: the tuner's oracle is KerasTuner's, simulated as is.
    own_oracle: str = ""

    @property
    def family(self) -> str:
        """The KerasTuner tuner whose search the forecast simulates."""
        return self.simulated or self.tuner

    def approximation(self) -> str:
        """What the forecast approximates, in a phrase; ``""`` where it simulates the tuner's own oracle."""
        return f"its {self.own_oracle} simulated as {self.family}'s" if self.own_oracle else ""


class TunerForecast(Protocol):
    """What a search with one tuner would do with the probed cases, before it runs."""

    def forecast(self, probed: Probed) -> ForecastRecord:
        """The forecast's record: ``spec``, ``tuner``, ``aborts``, ``message``, ``fails_run`` and the family's own
        fields (docs/reference/json-report.md), without its ``timing`` (the engine adds it)."""
        ...
