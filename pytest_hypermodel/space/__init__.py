"""The space and the plan: plain data about a hypermodel's hyperparameters and the cases planned over them.

The lowest layer: imports nothing else of the package, and no deep-learning framework.
"""
