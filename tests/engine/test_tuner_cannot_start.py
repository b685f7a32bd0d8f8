"""A tuner the environment cannot make is the search's first failure: KerasTuner's BayesianOptimization needs
scikit-learn, imported where keras_tuner is. The probe process here finds no scikit-learn (a ``sitecustomize`` on
its PYTHONPATH blocks the import, installed or not), as a search's environment without it would.
(``tests/proofs/test_tuner_cannot_start_search.py``: KerasTuner's own tuner in the same environment.)"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np
from keras import layers

from pytest_hypermodel import preflight

#: A module-level ``import sklearn`` raises ImportError where this runs first, as where it is not installed.
WITHOUT_SKLEARN = "import sys\nsys.modules['sklearn'] = None\n"


def without_sklearn(folder: Path, monkeypatch) -> Path:
    """A PYTHONPATH entry whose ``sitecustomize`` blocks scikit-learn in every Python started with it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(WITHOUT_SKLEARN)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")])))
    return folder


def build(hp):
    model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(hp.Int("units", 4, 16, step=4)), layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    return model


def test_bayesian_optimization_without_scikit_learn_cannot_start_and_says_so(tmp_path, monkeypatch):
    without_sklearn(tmp_path / "shim", monkeypatch)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 8)).astype("float32"), rng.normal(size=(32, 1)).astype("float32")
    report = preflight(
        build, x, y, tuner="BayesianOptimization", epochs=2, strategy="extremes", boundaries=False, rootpath=tmp_path
    )  # the probe process (isolation on by default): a fresh Python, with the shim
    forecast = report.forecast
    assert forecast is not None and forecast["fails_run"] and forecast["reason"] == "cannot_start", forecast
    assert forecast["message"].startswith(
        "BayesianOptimization cannot start here, whatever the space: KerasTuner raises ImportError where the tuner "
        "is made, before its first trial (Please install scikit-learn (sklearn) before using the `BayesianOptimization`"
    )
    assert "would abort" not in forecast["message"] and "seeds" not in forecast["message"]
    assert {c["outcome"] for c in report.cases} == {"ok"}  # the space itself is fine
    assert not report.green
