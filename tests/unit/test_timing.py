"""Time per trial: the search's own epochs and batches scale what the cases measured."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_hypermodel.probe import data
from pytest_hypermodel.probe.fit import step_costs


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
