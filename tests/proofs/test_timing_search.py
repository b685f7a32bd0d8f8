"""The estimated search time against a real RandomSearch's (a real KerasTuner search: with the proofs)."""

from __future__ import annotations

import shutil
import tempfile
import time

import numpy as np
import pytest
from conftest import HYPERMODELS

from pytest_hypermodel import preflight


@pytest.mark.proof
def test_the_estimated_search_time_is_near_a_real_search_s(tmp_path):
    """The preflight's estimate, from its cases' batches, against a real RandomSearch of 4 trials of 5 epochs of
    125 batches, on the same model and data, in one process (a ratio, on a shared machine)."""
    kt = pytest.importorskip("keras_tuner")
    shutil.copy(HYPERMODELS / "speed.py", tmp_path)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(4000, 32)).astype("float32"), rng.normal(size=(4000, 1)).astype("float32")
    report = preflight(
        "speed.py:dense_mlp",
        data={"x": x, "y": y, "epochs": 5, "batch_size": 32},
        boundaries=False,
        max_trials=4,
        rootpath=tmp_path,
    )
    timing = report.forecast["timing"]
    assert (timing["search_epochs"], timing["search_batches"], timing["trials"]) == (5, 125, 4)
    assert "4 trials of the search's 5 epochs of 125 batches" in timing["line"]

    from hypermodels.speed import dense_mlp

    tuner = kt.RandomSearch(dense_mlp, objective="loss", max_trials=4, directory=tempfile.mkdtemp(dir=tmp_path), seed=1)
    started = time.perf_counter()
    tuner.search(x, y, epochs=5, batch_size=32, verbose=0)
    real = time.perf_counter() - started
    # Measured 13.2 s against 13.9 s; the cases alone (4 trials as small as they are) said about 5 s.
    assert 0.5 * real < timing["search_seconds"] < 2 * real, (timing, real)
