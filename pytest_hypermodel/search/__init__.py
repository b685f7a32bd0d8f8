"""The face ``python -m pytest_hypermodel search``: the real KerasTuner search, gated on a green preflight."""
