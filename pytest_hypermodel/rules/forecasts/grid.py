"""The forecast of GridSearch: KerasTuner's own trial order, each trial as its case ended, KerasTuner's rules.

The order was walked where KerasTuner is loaded (``probe.oracle.grid_order``, ``Preflight.trials``); each trial is
the case probed at its values, and ``abort_rules.forecast_sequence`` says where the search dies. A trial not probed
(capped, or the run cut short) ends the forecast there: the prefix is forecast.
"""

from __future__ import annotations

import dataclasses

from pytest_hypermodel.rules import abort_rules, evidence
from pytest_hypermodel.rules.forecasts.protocol import GridForecast, Probed
from pytest_hypermodel.rules.policy import Disposition


class GridSearchForecast:
    """Where a GridSearch aborts, if it does, trial by trial."""

    def forecast(self, probed: Probed) -> GridForecast:
        space = probed.space
        value_free = evidence.value_free(probed.cases)  # then no value is blamed for the trials that fail
        by_values = {frozenset(c.values.items()): c for c in probed.cases}
        dispositions, values = [], []
        for trial in probed.trials or []:
            case = by_values.get(frozenset(space.complete(trial).items()))
            if case is None:  # not probed (capped, or the run was cut short): forecast the prefix
                break
            dispositions.append(Disposition(case.disposition or "", case.runs))
            values.append(trial)
        result = abort_rules.forecast_sequence(
            dispositions,
            probed.policy,
            probed.tuner,
            [] if value_free else [p.name for p in space],
            values=values,
            planned=len(probed.trials or []) or None,
            max_trials=probed.max_trials,
            default_error=space.default_error,
        )
        record = GridForecast.of(probed.spec, result)
        if value_free is not None and result.aborts:  # the trials it names fail whatever their values
            record = dataclasses.replace(record, message=f"{record.message}; {value_free.text()}")
        if probed.own_oracle:  # the order walked is KerasTuner's grid, not the tuner's own oracle's
            record = dataclasses.replace(record, message=f"{record.message} ({probed.approximation()})")
        return record
