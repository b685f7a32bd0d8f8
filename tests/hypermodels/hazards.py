"""Hypermodels whose bad corner kills or hangs the process running it."""

import os
import sys
import time

import keras
from keras import layers


def _dense(size):
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(size), layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    return model


def aborts(hp):
    size = hp.Choice("size", [1, 2])
    if size == 2 and os.environ.get("HYPERMODEL_PROBING"):
        os.abort()  # as a segfault or the kernel's OOM killer would end it
    return _dense(size)


def hangs(hp):
    size = hp.Choice("size", [1, 2])
    if size == 2 and os.environ.get("HYPERMODEL_PROBING"):
        time.sleep(600)
    return _dense(size)


def exits(hp):
    size = hp.Choice("size", [1, 2])
    if size == 2:
        sys.exit(3)  # a build that "gives up" the way a script would
    return _dense(size)


def interrupts(hp):
    size = hp.Choice("size", [1, 2])
    if size == 2:
        raise KeyboardInterrupt  # raised by the code itself: no Ctrl-C was pressed
    return _dense(size)
