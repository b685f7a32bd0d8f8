"""The risk that a RandomSearch aborts, as the engine estimates it from the cases and the builds without a fit: the
guide's grid, whose 5 failing configurations of 12 make 3 FAILED trials in a row likely."""

from __future__ import annotations

from fnmatch import fnmatch

from conftest import HYPERMODELS
from hypermodels.guide import failed_trial

from pytest_hypermodel.engine import settings
from pytest_hypermodel.engine.engine import Engine
from pytest_hypermodel.space.target import Target

#: What the plugin's tests run with (tests/conftest.py's hypermodel_dir), in this process.
OPTIONS = {
    "hypermodel_isolation": "off",
    "hypermodel_boundaries": "off",
    "hypermodel_strategy": "extremes,corners",
    "hypermodel_memory_growth": "0",
}


def _forecast_lines(tmp_path) -> list[str]:
    with Engine(settings.read(settings.MappingSource(OPTIONS)), tmp_path) as engine:
        data = engine.run([Target("guide.py:failed_trial", HYPERMODELS / "guide.py", "failed_trial", failed_trial)])
    return [line for forecast in data["forecasts"] for line in forecast["message"].splitlines()]


def test_random_search_risk_under_the_default_limit_is_the_oracle_s(tmp_path):
    """Under the default max_consecutive_failed_trials (3) the guide's grid aborts a RandomSearch of 10 trials in
    29% of the oracle's seeds (test_forecast_lines.py: 0% under a limit of 8)."""
    lines = _forecast_lines(tmp_path)
    risk = "*RandomSearch would abort within 10 trials with probability 2?% ±*"  # exact: 29%
    assert any(fnmatch(line, risk) for line in lines), lines
    pattern = (
        f"{risk}(KerasTuner's oracle over 200 seeds, each trial judged by the 4 cases run and 8 builds without a fit (*"
    )
    assert any(fnmatch(line, pattern) for line in lines), lines
