"""What a search would do with the probed cases, one tuner family a module, behind one protocol.

``protocol``: ``TunerForecast`` and what it reads (``Probed``); ``grid``: GridSearch's own order; ``driven``:
RandomSearch and BayesianOptimization, KerasTuner's random oracle driven over its seeds; ``independent``:
Hyperband and the rest, trials taken as independent; ``risk``: what the random-order ones share; ``judging``: how a
configuration is judged by the cases and the builds without a fit; ``factory``: the forecast a tuner gets. KerasTuner's
rules themselves are ``rules.abort_rules``.
"""

from pytest_hypermodel.rules.forecasts.factory import forecast, forecast_for
from pytest_hypermodel.rules.forecasts.judging import policy_of

__all__ = ["forecast", "forecast_for", "policy_of"]
