"""Hypermodels whose bad value kills, hangs or exits the process that builds it: in discovery and in its case."""

import ctypes
import os
import signal
import sys
import time

import keras
import keras_tuner as kt
from keras import layers


def _dense(size):
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(size), layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    return model


def aborts(hp):
    size = hp.Choice("size", [1, 2])
    if size == 2:
        os.abort()  # as a failed assertion in C++ code would end it
    return _dense(size)


def segfaults(hp):
    size = hp.Choice("size", [1, 2])
    if size == 2:
        ctypes.string_at(0)  # reads address 0: SIGSEGV
    return _dense(size)


def oom_killed(hp):
    size = hp.Choice("size", [1, 2])
    if size == 2:
        os.kill(os.getpid(), signal.SIGKILL)  # what the kernel's OOM killer sends
    return _dense(size)


def exits_hard(hp):
    size = hp.Choice("size", [1, 2])
    if size == 2:
        os._exit(3)  # no exception to catch: the process is gone
    return _dense(size)


def hangs(hp):
    size = hp.Choice("size", [1, 2])
    if size == 2:
        time.sleep(600)  # a Python-level hang: the time limit interrupts it
    return _dense(size)


def hangs_hard(hp):
    size = hp.Choice("size", [1, 2])
    if size == 2:
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])  # as a hang inside C code would ignore it
        time.sleep(600)
    return _dense(size)


def aborts_at_defaults(hp):
    hp.Choice("size", [1, 2])
    os.abort()


class _StrikesInFit(kt.HyperModel):
    """Builds fine: the fault strikes in fit(), which discovery runs for the defaults only (size=1)."""

    def build(self, hp):
        return _dense(hp.Choice("size", [1, 2]))

    def fit(self, hp, model, *args, **kwargs):
        if hp.get("size") == 2:
            self.strike()
        return model.fit(*args, **kwargs)


class AbortsInFit(_StrikesInFit):
    def strike(self):
        os.abort()


class HangsInFit(_StrikesInFit):
    def strike(self):
        time.sleep(600)


def exits(hp):
    size = hp.Choice("size", [1, 2])
    print(f"building size={size}")
    if size == 2:
        sys.exit(3)  # a build that "gives up" the way a script would
    return _dense(size)


def interrupts(hp):
    size = hp.Choice("size", [1, 2])
    if size == 2:
        raise KeyboardInterrupt  # raised by the code itself: no Ctrl-C was pressed
    return _dense(size)


class StopsTheSearch(BaseException):
    """Neither an Exception nor SystemExit/KeyboardInterrupt: KerasTuner's search loop does not catch it either."""


def raises_base_exception(hp):
    size = hp.Choice("size", [1, 2])
    if size == 2:
        raise StopsTheSearch("size 2 gives up")
    return _dense(size)


def _fork_helper():
    """A helper process that outlives its case, as a data loader's worker or a local server might: it holds every
    descriptor of the process that forked it, the probe process's end of its pipe among them."""
    pid = os.fork()
    if pid == 0:
        try:
            time.sleep(600)
        finally:
            os._exit(0)
    with open(os.environ.get("HYPERMODEL_HELPERS_LOG", "helpers.log"), "a") as log:
        log.write(f"{pid}\n")


class ForksThenAbortsInFit(_StrikesInFit):
    """Every fit leaves a helper running; size=2 then aborts."""

    def fit(self, hp, model, *args, **kwargs):
        _fork_helper()
        return super().fit(hp, model, *args, **kwargs)

    def strike(self):
        os.abort()
