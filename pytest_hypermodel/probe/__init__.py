"""What runs the user's code: the probe process (``child``) and the pytest side that drives it (``parent``), and
each step that builds, fits or drives KerasTuner (discovery, a case's fit, a trial, the cheap builds).

Above ``rules`` and ``space``, below the engine. The pytest process imports ``parent`` only: Keras and KerasTuner
are imported in the child.
"""
