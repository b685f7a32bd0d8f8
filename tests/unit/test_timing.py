"""Time per trial (issue 22, item 5): the search's own epochs and batches scale what the cases measured."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from pytest_hypermodel import preflight
from pytest_hypermodel.probe import data
from pytest_hypermodel.probe.fit import step_costs

HYPERMODELS = Path(__file__).parent / "hypermodels"


def test_the_search_s_epochs_and_batches_come_from_its_arguments():
    x = np.zeros((1000, 4), "float32")
    assert data.search_size({"x": x, "y": x, "epochs": 5, "batch_size": 64}) == (5, 16)
    assert data.search_size({"x": x, "y": x}) == (1, 32)  # Keras's defaults: one epoch, batches of 32
    assert data.search_size({"x": x, "y": x, "epochs": 3, "steps_per_epoch": 7}) == (3, 7)
    assert data.search_size({"x": {"image": x, "meta": x[:, :1]}, "y": x, "epochs": 2}) == (2, 32)
    assert data.search_size({"x": [x, x], "y": x, "batch_size": 500}) == (1, 2)
    assert data.search_size((x, x)) == (1, 32)
    assert data.search_size(None) is None and data.search_size(lambda model, values: (x, x)) is None


def test_a_dataset_s_length_is_its_batches_and_an_endless_one_is_unknown():
    tf = pytest.importorskip("tensorflow")
    batched = tf.data.Dataset.from_tensor_slices((np.zeros((100, 4)), np.zeros((100, 1)))).batch(10)
    assert data.search_size({"x": batched, "epochs": 4}) == (4, 10)
    assert data.search_size({"x": batched.repeat(), "epochs": 4}) is None  # its steps_per_epoch would say
    assert data.search_size({"x": batched.repeat(), "epochs": 4, "steps_per_epoch": 6}) == (4, 6)


def test_a_batch_costs_the_median_gap_within_an_epoch_and_an_epoch_its_gap_beyond_a_batch():
    # epoch 0: a slow first batch (the step is traced), then 0.1 s a batch; the epoch's end takes 0.5 s more.
    ends = [(0, 1.0), (0, 1.1), (0, 1.2), (1, 1.8), (1, 1.9), (1, 2.0)]
    assert step_costs(ends) == pytest.approx((0.1, 0.5))
    assert step_costs([(0, 1.0), (1, 2.0)]) == (None, None)  # one batch an epoch: no batch's own time
    assert step_costs([]) == (None, None)


@pytest.mark.proof
def test_the_estimated_search_time_is_near_a_real_search_s(tmp_path):
    """The preflight's estimate, from its cases' batches, against a real RandomSearch of 4 trials of 5 epochs of
    125 batches, on the same model and data, in one process (a ratio, on a shared machine)."""
    kt = pytest.importorskip("keras_tuner")
    shutil.copy(HYPERMODELS / "speed.py", tmp_path)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(4000, 32)).astype("float32"), rng.normal(size=(4000, 1)).astype("float32")
    report = preflight("speed.py:dense_mlp", data={"x": x, "y": y, "epochs": 5, "batch_size": 32},
                       boundaries=False, max_trials=4, rootpath=tmp_path)
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
