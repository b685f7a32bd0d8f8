"""Which forecast a tuner gets, by its name; and the forecast of one hypermodel, from its preflight and cases."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from pytest_hypermodel.rules.abort_rules import RANDOM_ORACLES
from pytest_hypermodel.rules.forecasts.driven import DrivenOracleForecast
from pytest_hypermodel.rules.forecasts.grid import GridSearchForecast
from pytest_hypermodel.rules.forecasts.independent import IndependentTrialsForecast
from pytest_hypermodel.rules.forecasts.judging import policy_of
from pytest_hypermodel.rules.forecasts.protocol import (
    ForecastRecord,
    Probed,
    TunerForecast,
)
from pytest_hypermodel.rules.policy import Policy
from pytest_hypermodel.rules.record import CaseRecord

GRID_SEARCH = "GridSearch"


def forecast_for(tuner: str) -> TunerForecast:
    """GridSearch walks its own order; RandomSearch and BayesianOptimization drive KerasTuner's random oracle;
    Hyperband and any other tuner take the trials as independent."""
    if tuner == GRID_SEARCH:
        return GridSearchForecast()
    if tuner in RANDOM_ORACLES:
        return DrivenOracleForecast()
    return IndependentTrialsForecast()


def probed(
    pre: Any,
    cases: Sequence[CaseRecord],
    fallback: Policy,
    tuner: str,
    max_trials: int | None,
    max_abort_risk: float,
    named: str | None = None,
    own_oracle: str | None = None,
) -> Probed:
    """What a forecast reads of one hypermodel: its preflight (``probe.prepare.Preflight``) and its cases among
    ``cases``, judged by their own policy (``fallback`` when they carry none). ``tuner`` is the KerasTuner tuner
    simulated; ``named``, the user's tuner's class, which the forecast names; ``own_oracle``, its oracle's class
    when not KerasTuner's."""
    mine = [c for c in cases if c.spec == pre.target.spec]
    return Probed(
        spec=pre.target.spec,
        space=pre.space,
        cases=[c for c in mine if not c.download],
        downloads=[c for c in mine if c.download],
        policy=policy_of(mine, fallback),
        tuner=named or tuner,
        simulated=tuner if named and named != tuner else "",
        own_oracle=own_oracle or "",
        max_trials=max_trials,
        max_abort_risk=max_abort_risk,
        trials=pre.trials,
        draws=pre.draws,
        screen=pre.screen,
        cannot_start=getattr(pre, "cannot_start", ""),
    )


def forecast(
    pre: Any,
    cases: Sequence[CaseRecord],
    fallback: Policy,
    tuner: str,
    max_trials: int | None,
    max_abort_risk: float,
    named: str | None = None,
    own_oracle: str | None = None,
) -> ForecastRecord:
    """What the search over one hypermodel would do, from the cases its preflight probed (see ``forecast_for``):
    ``tuner``'s search simulated, the forecast named ``named`` (the user's tuner's class) when given."""
    given = probed(pre, cases, fallback, tuner, max_trials, max_abort_risk, named, own_oracle)
    record = forecast_for(tuner).forecast(given)
    return dataclasses.replace(record, simulated=given.simulated, approximation=given.approximation())
