"""The failed-trials guide's grid, the one copy the tests and benchmarks share.

units_1 in 10..40 and units_2 in 10..30 (step 10) on 20 inputs: KerasTuner's
GridSearch runs 12 trials, and 5 of them (0007 to 0011 in its order) are over
1200 parameters.
"""

from collections import Counter

import keras
import keras_tuner
from keras import layers

LIMIT = 1200


def guide_grid(error=keras_tuner.errors.FailedTrialError, builds: Counter | None = None, run_eagerly: bool = False):
    """A build function for the guide's grid that raises ``error`` over LIMIT parameters (None: it never raises).

    ``builds`` counts the builds of each ``(units_1, units_2)``; ``run_eagerly``
    skips tracing, which makes a one-step fit faster.
    """

    def build_model(hp):
        units_1 = hp.Int("units_1", 10, 40, step=10)
        units_2 = hp.Int("units_2", 10, 30, step=10)
        if builds is not None:
            builds[units_1, units_2] += 1
        model = keras.Sequential([keras.Input(shape=(20,)), layers.Dense(units_1), layers.Dense(units_2), layers.Dense(1)])
        if error is not None and model.count_params() > LIMIT:
            raise error(f"Model too large! It contains {model.count_params()} params.")
        model.compile(loss="mse", optimizer="sgd", run_eagerly=run_eagerly)
        return model

    return build_model


failed_trial = guide_grid()
