"""A real KerasTuner search tunes a hyperparameter that the model declares in ``call()``: the trials after the
first draw it (``engine/test_run_time_hyperparameters.py``: the preflight varies it too)."""

from __future__ import annotations

import keras_tuner as kt
import numpy as np

from tests.hypermodels.run_time import INPUT_DIM, NUM_CLASSES, build_subclass_model


def test_a_real_search_tunes_a_hyperparameter_declared_in_call(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.random((32, INPUT_DIM)).astype("float32"), rng.integers(0, NUM_CLASSES, size=(32,))
    tuner = kt.RandomSearch(
        build_subclass_model, objective="loss", max_trials=5, seed=1, directory=tmp_path, project_name="p"
    )
    tuner.search(x, y, epochs=1, verbose=0)
    biases = {t.hyperparameters.values.get("bias") for t in tuner.oracle.trials.values()}
    assert "bias" in tuner.oracle.get_space().values and len(biases - {None}) >= 3, biases
