"""The face ``python -m pytest_hypermodel search``: the real KerasTuner search, gated on a green preflight.

``cli``: the arguments and ``main``; ``gate``: the preflight report that lets a search run; ``run``: the search
itself; ``chief``: KerasTuner's distributed chief, kept serving until its last worker has its answer.
"""
