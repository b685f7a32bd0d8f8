"""A hyperparameter declared when the model runs (a subclass's ``call()``) is varied like any other: discovery
runs the default model once on the search's data, as the first trial does
(``proofs/test_run_time_hyperparameters_search.py``: KerasTuner tunes it)."""

from __future__ import annotations

import numpy as np

from pytest_hypermodel import preflight
from tests.hypermodels.run_time import INPUT_DIM, NUM_CLASSES, build_subclass_model


def test_a_hyperparameter_declared_in_call_is_varied_on_the_search_s_data():
    rng = np.random.default_rng(0)
    x, y = rng.random((32, INPUT_DIM)).astype("float32"), rng.integers(0, NUM_CLASSES, size=(32,))
    report = preflight(build_subclass_model, x, y, strategy="extremes", boundaries=False, isolation="off")
    assert report.green
    ids = [c["nodeid"].partition("[")[2] for c in report.cases]
    assert "bias=10.0]" in ids, ids  # its range's other end; the defaults run at its min, 0.0
