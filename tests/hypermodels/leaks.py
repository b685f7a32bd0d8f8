"""A build that changes its process's global state, and one that records the state it finds."""

import json
import os
import sys

import keras
from keras import layers


def _dense(size):
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(size), layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    return model


def leaks_state(hp):
    """Everything a build may change for the rest of its process (and forget to change back)."""
    model = _dense(hp.Choice("size", [1, 2]))
    keras.config.set_floatx("float16")
    keras.config.set_epsilon(0.1)
    keras.config.set_image_data_format("channels_first")
    keras.mixed_precision.set_global_policy("mixed_float16")
    os.environ["LEAKED_BY_A_BUILD"] = "1"
    sys.path.insert(0, "/leaked/by/a/build")
    os.chdir("/")
    sys.stdout.close()
    return model


def records_state(hp):
    """Appends what it finds to $HYPERMODEL_STATE_LOG (one JSON line a build), then builds a healthy model."""
    state = {
        "floatx": keras.config.floatx(),
        "epsilon": keras.config.epsilon(),
        "image_data_format": keras.config.image_data_format(),
        "dtype_policy": keras.config.dtype_policy().name,
        "cwd": os.getcwd(),
        "environ": "LEAKED_BY_A_BUILD" in os.environ,
        "path": "/leaked/by/a/build" in sys.path,
        "stdout": not sys.stdout.closed,
        "pid": os.getpid(),
    }
    with open(os.environ["HYPERMODEL_STATE_LOG"], "a") as log:
        log.write(json.dumps(state) + "\n")
    print("records_state can print")
    return _dense(hp.Choice("size", [1, 2]))
