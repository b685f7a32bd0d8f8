"""A user's script over the Python API, as the docs show it: ``mypy --strict`` must accept it (py.typed is honest)."""

from __future__ import annotations

from typing import Any

import keras
import keras_tuner
import numpy as np
import numpy.typing as npt

import pytest_hypermodel
from pytest_hypermodel import HypermodelWarning, Policy, PreflightFailed, Report, preflight


def build_model(hp: keras_tuner.HyperParameters) -> keras.Model:
    model = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(hp.Int("units", 4, 32, step=4))])
    model.compile(loss="mse", optimizer="adam")
    return model


def gate(x: npt.NDArray[np.float32], y: npt.NDArray[np.float32]) -> bool:
    report: Report = preflight(build_model, x, y, epochs=1, policy=Policy(max_consecutive_failed_trials=5))
    green: bool = report.green
    cases: list[dict[str, Any]] = report.cases
    html: str = report._repr_html_()
    text: str = report.to_json()
    version: str = pytest_hypermodel.__version__
    tuner = keras_tuner.RandomSearch(build_model, objective="val_loss", max_trials=2)
    try:
        report.guard(tuner).search(x, y, validation_data=(x, y))
    except PreflightFailed as exc:
        print(exc, HypermodelWarning.__name__)
    return green and bool(cases) and bool(html) and bool(text) and bool(version)
