"""pytest-hypermodel: a robustness preflight for KerasTuner hypermodels.

Importing this package imports no deep-learning framework.
"""

from .expect import Expectation, expect
from .policy import Disposition, Policy

__all__ = ["Disposition", "Expectation", "Policy", "expect"]
