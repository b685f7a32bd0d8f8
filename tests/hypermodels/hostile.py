"""Hostile spaces: a huge Choice, names with control characters, values that look like ids, an exception whose
text cannot be read."""

import keras
from keras import layers

#: Values of the huge Choice: more than any plan can hold.
HUGE = 10_000


def _dense(units):
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(units), layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    return model


def huge_choice(hp):
    """A Choice of 10,000 seeds and an Int of a billion values beside two small hyperparameters."""
    hp.Choice("seed", list(range(HUGE)))
    hp.Int("offset", 0, 10**9)
    hp.Boolean("flag")
    return _dense(hp.Int("units", 1, 2))


def control_names(hp):
    """Names holding a BEL and ANSI colour escapes: none of them may reach the JUnit file raw."""
    units = hp.Int("units\x07", 1, 2)
    hp.Choice("\x1b[31mred\x1b[0m", ["a", "b\x1b[0m"])
    return _dense(units)


def dashed_values(hp):
    """``a='y-b=2'`` alone and ``a='y'`` with ``b=2`` would both be the id ``a=y-b=2``."""
    hp.Choice("a", ["x", "y", "y-b=2"])
    return _dense(hp.Int("b", 1, 2))


class Unreadable(Exception):
    """An exception whose text raises: what a broken ``__str__`` in user code gives."""

    def __str__(self):
        raise RuntimeError("__str__ is broken too")


def unreadable_error(hp):
    """Raises at units=2, with everything else at its default."""
    units = hp.Int("units", 1, 2)
    if units == 2:
        raise Unreadable("units=2 is not allowed")
    return _dense(units)


def unreadable_at_defaults(hp):
    """Raises at its defaults: discovery's first build fails."""
    units = hp.Int("units", 1, 2)
    raise Unreadable(units)
