"""The blamed combination is the real cause: a real KerasTuner search over the conv stack that the preflight
blames on conv_blocks and kernel_size (tests/engine/test_bystanders.py) fails at conv_blocks=4 with kernel_size=5
and completes with kernel_size=3, whatever its blocks' filters are."""

from __future__ import annotations

import keras_tuner as kt
import numpy as np
import pytest

from tests.engine.test_bystanders import DEPENDENTS, IMAGE, conv_stack


@pytest.mark.proof  # a real KerasTuner search: with the proofs, after the default suite
@pytest.mark.parametrize("filters", [4, 8])
def test_kernel_size_not_the_filters_decides_whether_four_blocks_fail(tmp_path, filters):
    hp = kt.HyperParameters()
    hp.Fixed("conv_blocks", 4)
    hp.Choice("kernel_size", [3, 5])
    for name in ("filters_0", *DEPENDENTS):
        hp.Fixed(name, filters)
    tuner = kt.GridSearch(
        conv_stack,
        objective="loss",
        hyperparameters=hp,
        tune_new_entries=False,
        max_consecutive_failed_trials=3,
        directory=tmp_path,
        project_name="stack",
    )
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, IMAGE, IMAGE, 1)).astype("float32")
    y = rng.integers(0, 10, size=(32,))
    tuner.search(x, y, epochs=1, verbose=0)
    statuses = {t.hyperparameters.get("kernel_size"): t.status for t in tuner.oracle.trials.values()}
    assert statuses == {3: "COMPLETED", 5: "FAILED"}
