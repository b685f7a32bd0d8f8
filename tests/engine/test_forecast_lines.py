"""The forecasts the plugin prints at the end of a run, as the engine makes them in this process: the guide's grid
under GridSearch (its abort, its trials' statuses, its time per trial) and the RandomSearch risk (the plugin's
tests show them on the terminal)."""

from __future__ import annotations

from fnmatch import fnmatch

import pytest
from in_process import preflight_here  # tests/ is on sys.path


def test_gridsearch_abort_is_forecast_with_its_statuses_and_its_time(tmp_path):
    data = preflight_here(tmp_path, "guide.py:failed_trial", hypermodel_tuner="GridSearch")
    # Every case is a pass or a declared failure (xfail), yet the search would die: the run fails.
    assert {c["test_outcome"] for c in data["cases"]} == {"passed", "xfailed"}
    assert len(data["cases"]) == 12  # the whole grid, in KerasTuner's order
    [forecast] = data["forecasts"]
    assert forecast["fails_run"]
    assert forecast["message"].startswith(
        "GridSearch would abort at trial 0009 of 12: 3 FAILED trials in a row (0007, 0008, 0009); raise "
        "max_consecutive_failed_trials to 6"
    )
    assert (forecast["aborts"], forecast["abort_id"], forecast["reason"]) == (
        True,
        "0009",
        "max_consecutive_failed_trials",
    )
    assert forecast["statuses"] == ["COMPLETED"] * 7 + ["FAILED"] * 3
    timing = forecast["timing"]
    assert timing["trials"] == 12 and timing["default_seconds"] > 0 and timing["slowest_ratio"] >= 1
    assert timing["search_seconds"] == pytest.approx(12 * timing["trial_seconds"], abs=0.01)
    assert timing["line"].startswith("guide.py:failed_trial: the default case took ")


def test_random_search_risk_is_estimated(tmp_path):
    [healthy] = preflight_here(tmp_path, "outcomes.py:healthy")["forecasts"]
    assert healthy["message"].startswith("RandomSearch would abort within 10 trials with probability 0%")
    assert not healthy["fails_run"]
    [grid] = preflight_here(tmp_path, "guide.py:failed_trial", hypermodel_max_consecutive_failed_trials="8")[
        "forecasts"
    ]
    # 5 of the grid's 12 points fail (its 4 cases and 8 builds without a fit show which): 8 FAILED in a row
    # cannot happen. Under the default limit of 3 the risk is 29%: test_random_risk.py.
    assert fnmatch(
        grid["message"],
        "RandomSearch would abort within 10 trials with probability 0% ±0% (KerasTuner's oracle over 200 seeds, "
        "each trial judged by the 4 cases run and 8 builds without a fit (*/s; with the cases, the whole space: 5 "
        "of its 12 configurations fail)*",
    ), grid["message"]
    assert not grid["fails_run"]
