"""The forecast of RandomSearch and BayesianOptimization: KerasTuner's own random oracle, driven over its seeds.

The draws were made where KerasTuner is loaded (``probe.oracle.random_draws``); each drawn trial is judged here by
the cases and the builds without a fit (``judging.predicate``), and a seed's search aborts as KerasTuner's rules
say (``abort_rules.judge_draws``). BayesianOptimization: its random start, and beyond it as if it stayed random.
With no draws or no cases, the trials are taken as independent (``independent``).
"""

from __future__ import annotations

from pytest_hypermodel.rules import abort_rules
from pytest_hypermodel.rules.culprits import off_defaults
from pytest_hypermodel.rules.forecasts import independent, risk
from pytest_hypermodel.rules.forecasts.judging import predicate, screened_text
from pytest_hypermodel.rules.forecasts.protocol import Probed, RandomOrderForecast
from pytest_hypermodel.space.words import plural


class DrivenOracleForecast:
    """The share of KerasTuner's seeds whose search aborts within ``max_trials``, each trial judged by the cases."""

    def forecast(self, probed: Probed) -> RandomOrderForecast:
        return risk.forecast(probed, estimate)


def estimate(probed: Probed) -> risk.AbortRisk:
    """The abort's probability over the oracle's seeds; the independent estimate without draws or cases."""
    if not (probed.cases and probed.draws):
        return independent.estimate(probed)
    space = probed.space
    judge = predicate(probed.cases, space, probed.screen, probed.policy)
    driven = abort_rules.judge_draws(probed.draws, lambda values: judge(off_defaults(values, space)), probed.policy)
    oracle = simulated_oracle(probed)
    message = (
        f"{probed.tuner} would abort within {plural(risk.trials(probed), 'trial')} with probability "
        f"{driven.probability:.0%} "
        f"±{2 * driven.error:.0%} ({oracle} over {plural(driven.seeds, 'seed')}, each trial judged by "
        f"the {plural(len(probed.cases), 'case')} run{screened_text(probed.screen, judge, space, probed.cases)}: "
        f"{driven.failure_rate:.0%} of the trials drawn FAILED, {driven.fatal_rate:.0%} fatal)"
    )
    headline = (
        f"{probed.tuner} would abort within {plural(risk.trials(probed), 'trial')}: {driven.probability:.0%} "
        f"±{2 * driven.error:.0%}"
    )
    return risk.AbortRisk(driven.probability, driven.failure_rate, driven.fatal_rate, message, headline)


def simulated_oracle(probed: Probed) -> str:
    """The oracle the draws are KerasTuner's, in a phrase: the tuner's own (RandomSearch's), else what stands in."""
    if probed.own_oracle:  # a tuner with an oracle of its own (AutoKeras's GreedyOracle): not simulated
        return f"{probed.approximation()}: KerasTuner's random oracle"
    return "KerasTuner's oracle" if probed.family == "RandomSearch" else approximated(probed.family)


def approximated(tuner: str) -> str:
    """What stands in for a tuner whose own oracle is not driven: KerasTuner's random oracle, which draws its
    random start (BayesianOptimization's first trials) and is taken to stay random after it, where its own
    oracle would choose from the scores."""
    return (
        f"an approximation of {tuner}: KerasTuner's random oracle, as its random start, taken to stay random after it"
    )
