"""A case past its time limit names the values that make it slow, when the defaults passed in time.

A fit with work of its own after each batch (a callback's): ``batch_size=1`` runs 32 batches where the defaults
(``batch_size=32``) run one, so it takes 16 s where they take a fraction of one: past a limit of 6 s, which leaves
the defaults' build and fit room on a loaded machine (3 s timed them out under load). The hint names ``batch_size=1`` and the edit that keeps it out, not only the option to raise.
"""

from __future__ import annotations

import time

import keras
import keras_tuner as kt
import numpy as np
from keras import layers

from pytest_hypermodel import preflight

SAMPLES = 32  # one epoch: one batch of 32, or 32 batches of 1
#: The callback's work after each batch.
BATCH_SECONDS = 0.5


class PerBatchWork(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        time.sleep(BATCH_SECONDS)


class BatchSized(kt.HyperModel):
    def build(self, hp):
        model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(4), layers.Dense(1)])
        model.compile(loss="mse", optimizer="sgd")
        return model

    def fit(self, hp, model, *args, **kwargs):
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), PerBatchWork()]
        return model.fit(*args, batch_size=hp.Choice("batch_size", [1, 32], default=32), **kwargs)


def test_a_slow_value_is_named_with_its_edit_when_the_defaults_are_fast(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(SAMPLES, 4)).astype("float32"), rng.normal(size=(SAMPLES, 1)).astype("float32")
    report = preflight(
        BatchSized(), x, y, epochs=1, timeout=6, boundaries=False, rehearsal=False, isolation="off", rootpath=tmp_path
    )
    by_id = {c["case.id"]: c for c in report.cases}
    assert by_id["defaults"]["outcome"] == "ok"
    slow = by_id["batch_size=1"]
    assert slow["outcome"] == "timeout"
    fix = slow["message"].partition("Likely fix: ")[2]
    assert fix.startswith("batch_size=1 makes a trial slow (the defaults passed in "), fix
    assert "batch_size: remove it from the values, or raise --hypermodel-timeout" in fix
