"""A module that kills the process importing it."""

import os

os.abort()


def build_model(hp):
    raise AssertionError("never reached")
