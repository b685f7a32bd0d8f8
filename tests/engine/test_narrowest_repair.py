"""The narrowest verified repair keeps every value that passed.

``rows`` in 2..5 where only 3 fails: the range cut to max_value 2 keeps one of the three values that pass, a
raised min_value 4 keeps two, and a Choice of 2, 4, 5 keeps all three. The Choice is proposed and verified, with
the range cut beside it.
"""

from __future__ import annotations

import keras
from keras import layers

from pytest_hypermodel import preflight


def grid(hp):
    rows = hp.Int("rows", 2, 5)
    if rows == 3:
        raise ValueError("three rows cannot be tiled")
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(rows), layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    return model


def test_a_failing_value_between_passing_ones_is_repaired_by_a_choice_of_the_passing_values(tmp_path):
    report = preflight(grid, epochs=2, rehearsal=False, isolation="off", rootpath=tmp_path)
    found = report.repair
    assert found is not None
    assert found["changes"] == [{"hyperparameter": "rows", "kind": "choice", "old": [2, 5], "new": [2, 4, 5]}]
    assert found["verified"] and not found["still_failing"]
    assert '+    rows = hp.Choice("rows", [2, 4, 5])' in found["diff"]
    cut = found["range_cut"]
    assert cut["changes"] == [{"hyperparameter": "rows", "kind": "max_value", "old": 5, "new": 2}]
    assert cut["verified"]
