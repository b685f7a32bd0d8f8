"""KerasTuner's own BayesianOptimization in an environment without scikit-learn: its constructor raises
ImportError before any trial, as the preflight's ``cannot_start`` forecast says (``engine/test_tuner_cannot_start``).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.engine.test_tuner_cannot_start import without_sklearn

SEARCH = """
import keras, keras_tuner as kt, numpy as np

def build(hp):
    model = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(hp.Int("units", 4, 16, step=4)),
                              keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    return model

try:
    tuner = kt.BayesianOptimization(build, objective="loss", max_trials=3, directory=DIRECTORY, project_name="b")
except ImportError as exc:
    print("IMPORT ERROR:", exc)
else:
    tuner.search(np.zeros((8, 8)), np.zeros((8, 1)), epochs=1, verbose=0)
    print("SEARCHED")
"""


@pytest.mark.proof  # a real KerasTuner tuner in a fresh Python: with the proofs, after the default suite
def test_keras_tuner_s_bayesian_optimization_cannot_start_without_scikit_learn(tmp_path, monkeypatch):
    without_sklearn(tmp_path / "shim", monkeypatch)
    script = SEARCH.replace("DIRECTORY", repr(str(tmp_path / "kt")))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert "IMPORT ERROR: Please install scikit-learn (sklearn) before using the `BayesianOptimization`" in done.stdout
    assert not (tmp_path / "kt" / "b").exists() or not list((tmp_path / "kt" / "b").glob("trial_*"))
