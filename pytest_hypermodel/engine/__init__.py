"""One engine that runs a whole preflight (``engine.Engine``), its settings, its refinement and its progress lines.

No pytest here: each face (the plugin, the Python API) drives the engine.
"""
