"""The forecast of a tuner whose trials are taken as independent: Hyperband, or any tuner the others do not know.

Estimated, not driven: the share of planned cases that end FAILED or fatal is each trial's chance
(``abort_rules.abort_probability``). Also a random oracle's forecast when it has no draws or no cases to judge them.
"""

from __future__ import annotations

from pytest_hypermodel.rules import abort_rules
from pytest_hypermodel.rules.forecasts import risk
from pytest_hypermodel.rules.forecasts.protocol import Probed, RandomOrderForecast
from pytest_hypermodel.rules.policy import Disposition
from pytest_hypermodel.space.words import noun, plural


class IndependentTrialsForecast:
    """Trials assumed independent, each failing as the planned cases do."""

    def forecast(self, probed: Probed) -> RandomOrderForecast:
        return risk.forecast(probed, estimate)


def estimate(probed: Probed) -> risk.AbortRisk:
    """The abort's probability from the share of planned cases that end FAILED or fatal."""
    dispositions = [Disposition(c.disposition or "", c.runs) for c in probed.cases]
    trials = risk.trials(probed)
    failure_rate, fatal_rate = abort_rules.failure_rates(dispositions)
    probability = (
        abort_rules.abort_probability(failure_rate, trials, probed.policy, fatal_rate) if dispositions else 0.0
    )
    if probed.own_oracle:
        order = f", an approximation: {probed.approximation()}"
    elif probed.family == "RandomSearch":
        order = ""
    else:
        order = f", an approximation: {probed.tuner}'s own oracle is not simulated"
    message = (
        f"{probed.tuner} would abort within {plural(trials, 'trial')} with probability {probability:.0%} "
        f"(estimated from {failure_rate:.0%} FAILED and {fatal_rate:.0%} fatal among the "
        f"{len(dispositions)} planned {noun(len(dispositions), 'case')}, trials assumed independent{order}; the "
        "plan over-weights the extremes)"
    )
    headline = (
        f"{probed.tuner} would abort within {plural(trials, 'trial')}: {probability:.0%}, estimated from the "
        "planned cases alone"
    )
    return risk.AbortRisk(probability, failure_rate, fatal_rate, message, headline)
