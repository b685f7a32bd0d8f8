"""The rules: KerasTuner's failure semantics, outcomes, the forecast, boundaries, repairs and verdicts.

Plain logic over the space's records and the probe's results; above ``space``, below everything else.
"""
